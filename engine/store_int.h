/* SPDX-License-Identifier: MIT
 * engine/store_int.h: what the store's own files (engine/store_*.c) share. Not for any other
 * module: everything outside engine/store*.c speaks to the store through engine/store.h and
 * the domain headers of the store_*.c files.
 *
 * A store_*.c file keeps its prepared statements in slots of wr_store_ext_t, reserved below
 * (one range per file), prepared on first use by wr__store_stmt() and finalized by
 * wr_store_close(). */
#ifndef WR_ENGINE_STORE_INT_H
#define WR_ENGINE_STORE_INT_H

#include <jansson.h>
#include <sqlite3.h>

#include "engine/store.h"

#define WR_STORE_EXT_MAX 160

/* Statement slots per file. */
#define WR_STORE_SLOTS_XFORM     0   /* engine/store_xform.c: 0..15 (unused: own db) */
#define WR_STORE_SLOTS_CATALOG   16  /* engine/store_catalog.c: 16..39 */
#define WR_STORE_SLOTS_WAREHOUSE 40  /* engine/store_warehouse.c: 40..55 */
#define WR_STORE_SLOTS_ALERTS    56  /* engine/store_alerts.c: 56..63 */
#define WR_STORE_SLOTS_SERVE     64  /* engine/store_serve.c: 64..95 */
#define WR_STORE_SLOTS_QUERY     96  /* engine/store_query.c: 96..127 */
#define WR_STORE_SLOTS_ASL       128 /* engine/store_asl.c: 128..159 */

typedef struct wr_store_ext_s {
    sqlite3_stmt *stmt[WR_STORE_EXT_MAX];
} wr_store_ext_t;

/* ==== Binding and reading columns, shared by the store's files ==== */

/** Binds a string (copied) or NULL. */
static inline void wr__store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/** A text column as a JSON string, or null. New reference. */
static inline json_t *wr__store_col_text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    json_t *v;

    if (s == NULL)
        return json_null();
    v = json_stringn(s, (size_t)sqlite3_column_bytes(st, i));
    return v ? v : json_string("(not valid UTF-8)");
}

/** A column holding JSON text, parsed; the text itself when it does not parse; or null. */
static inline json_t *wr__store_col_json(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    json_t *v;

    if (s == NULL)
        return json_null();
    v = json_loadb(s, (size_t)sqlite3_column_bytes(st, i), JSON_DECODE_ANY, NULL);
    return v ? v : wr__store_col_text(st, i);
}

/** The connection. Borrowed. */
sqlite3 *wr__store_db(wr_store_t *store);
/** Statement in `slot`, prepared from `sql` on first use, reset and unbound. NULL with err
 *  set if it does not prepare. Borrowed. */
sqlite3_stmt *wr__store_stmt(wr_store_t *store, size_t slot, const char *sql, wr_err_t *err);
/** Steps a statement that returns no row we need (or one row, ignored); resets it. */
int wr__store_step(wr_store_t *store, sqlite3_stmt *st, wr_err_t *err);
/** BEGIN IMMEDIATE. */
int wr__store_tx_begin(wr_store_t *store, wr_err_t *err);
/** COMMIT when rc is 0, else ROLLBACK; returns rc, or the commit's error. */
int wr__store_tx_end(wr_store_t *store, int rc, wr_err_t *err);
/** Appends a history event inside the caller's transaction. */
int wr__store_event_insert(wr_store_t *store, const char *run_id, int64_t ts, const char *type,
                           const char *task, int attempt, const char *detail, wr_err_t *err);

#endif
