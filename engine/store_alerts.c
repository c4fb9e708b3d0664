/* SPDX-License-Identifier: MIT
 * engine/store_alerts.c: the alerts table (see engine/alerts.h). Statements live in the
 * store's extension slots WR_STORE_SLOTS_ALERTS.. (engine/store_int.h).
 *
 * Deduplication relies on the UNIQUE token column: INSERT ... ON CONFLICT (token) DO NOTHING,
 * then, when nothing was inserted, the first alert is read back in the same transaction. */
#include "engine/alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <uv.h>

#include "engine/store_int.h"

enum { S_INSERT = WR_STORE_SLOTS_ALERTS, S_BY_TOKEN, S_DELIVERY, S_LIST, S__END };

/* Every slot must stay inside the range store_int.h reserves for this file (56..63). */
typedef char slots_fit_[(S__END <= WR_STORE_SLOTS_ALERTS + 8) ? 1 : -1];

static const char sql_insert[] =
    "INSERT INTO alerts (message_id, token, run_id, task, topic, subject, message, attributes, "
    "created_at, delivery) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
    "ON CONFLICT (token) DO NOTHING";
static const char sql_by_token[] = "SELECT message_id, delivery FROM alerts WHERE token = ?1";
static const char sql_delivery[] =
    "UPDATE alerts SET delivery = ?2, delivery_detail = ?3, "
    "delivered_at = CASE WHEN ?2 = 'delivered' THEN ?4 END WHERE message_id = ?1";
static const char sql_list[] =
    "SELECT message_id, token, run_id, task, topic, subject, message, attributes, created_at, "
    "delivery, delivery_detail FROM alerts ORDER BY created_at DESC, id DESC LIMIT ?1";

int wr_alerts_publish(wr_store_t *store, const wr_alert_t *a, bool *dup, char **existing_id,
                      char **existing_delivery, wr_err_t *err)
{
    sqlite3_stmt *st;
    char *attrs = NULL;
    int rc;

    *dup = false;
    if ((rc = wr__store_tx_begin(store, err)) != 0)
        return rc;
    if ((st = wr__store_stmt(store, S_INSERT, sql_insert, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    attrs = a->attributes ? json_dumps(a->attributes, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    wr__store_bind_text(st, 1, a->message_id);
    wr__store_bind_text(st, 2, a->token);
    wr__store_bind_text(st, 3, a->run_id);
    wr__store_bind_text(st, 4, a->task);
    wr__store_bind_text(st, 5, a->topic);
    wr__store_bind_text(st, 6, a->subject);
    wr__store_bind_text(st, 7, a->message);
    wr__store_bind_text(st, 8, attrs ? attrs : "{}");
    sqlite3_bind_int64(st, 9, wr_now_ms());
    wr__store_bind_text(st, 10, a->delivery ? a->delivery : "none");
    if ((rc = wr__store_step(store, st, err)) != 0)
        goto done;
    if (sqlite3_changes(wr__store_db(store)) == 1)
        goto done;
    /* Nothing inserted: the token was seen before. */
    if ((st = wr__store_stmt(store, S_BY_TOKEN, sql_by_token, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, a->token);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = wr_err_set(err, WR_ESTORE, "database: alert with token '%s' not found: %s",
                        a->token ? a->token : "", sqlite3_errmsg(wr__store_db(store)));
        sqlite3_reset(st);
        goto done;
    }
    *dup = true;
    *existing_id = wr_xstrdup((const char *)sqlite3_column_text(st, 0));
    if (existing_delivery != NULL)
        *existing_delivery = wr_xstrdup((const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
done:
    free(attrs);
    return wr__store_tx_end(store, rc, err);
}

int wr_alerts_set_delivery(wr_store_t *store, const char *message_id, const char *delivery,
                           const char *detail, wr_err_t *err)
{
    sqlite3_stmt *st = wr__store_stmt(store, S_DELIVERY, sql_delivery, err);

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, message_id);
    wr__store_bind_text(st, 2, delivery);
    wr__store_bind_text(st, 3, detail);
    sqlite3_bind_int64(st, 4, wr_now_ms());
    return wr__store_step(store, st, err);
}

static json_t *column_json(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? json_string(s) : json_null();
}

int wr_alerts_list(wr_store_t *store, int limit, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = wr__store_stmt(store, S_LIST, sql_list, err);
    json_t *a;
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    a = json_array();
    sqlite3_bind_int(st, 1, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        static const char *const names[] = {"message_id", "token",   "run_id", "task",
                                            "topic",      "subject", "message"};
        json_t *o = json_object(), *attrs;
        json_error_t je;
        char when[32];

        for (int i = 0; i < 7; i++)
            json_object_set_new(o, names[i], column_json(st, i));
        attrs = json_loads((const char *)sqlite3_column_text(st, 7), 0, &je);
        json_object_set_new(o, "attributes", attrs ? attrs : json_object());
        wr_format_iso_ms(sqlite3_column_int64(st, 8), when);
        json_object_set_new(o, "created_at", json_string(when));
        json_object_set_new(o, "delivery", column_json(st, 9));
        json_object_set_new(o, "delivery_detail", column_json(st, 10));
        json_array_append_new(a, o);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        return wr_err_set(err, WR_ESTORE, "database: listing alerts: %s",
                          sqlite3_errmsg(wr__store_db(store)));
    }
    *out = a;
    return 0;
}
