/* SPDX-License-Identifier: MIT
 * engine/store_asl.c: reads for state machine executions (engine/store_asl.h). Statements
 * live in the store's extension slots WR_STORE_SLOTS_ASL.. (engine/store_int.h). */
#include "engine/store_asl.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "engine/store_int.h"

#define RUN_COLS                                                                            \
    "r.id, w.name, w.kind, r.status, r.trigger, r.input, r.output, r.error, r.cause, "      \
    "r.client_run_id, r.version_id, r.created_at, r.ended_at FROM runs r JOIN workflows w " \
    "ON w.id = r.workflow_id "

enum { S_RUN = WR_STORE_SLOTS_ASL, S_EVENTS, S_EXEC, S_EXECS, S_MACHINE, S_MACHINES, S__END };

/* Every slot must stay inside the range store_int.h reserves for this file (128..159). */
typedef char slots_fit_[(S__END <= WR_STORE_SLOTS_ASL + 32) ? 1 : -1];

static const char sql_run[] = "SELECT " RUN_COLS "WHERE r.id = ?1";
static const char sql_events[] = "SELECT id, ts, type, task, attempt, detail FROM events "
                                 "WHERE run_id = ?1 ORDER BY id";
static const char sql_exec[] = "SELECT " RUN_COLS "WHERE w.name = ?1 AND (r.client_run_id = ?2 "
                               "OR (r.client_run_id IS NULL AND r.id = ?2)) "
                               "ORDER BY r.created_at DESC LIMIT 1";
static const char sql_execs[] = "SELECT " RUN_COLS "WHERE w.name = ?1 AND (?2 IS NULL OR "
                                "r.status = ?2) ORDER BY r.created_at DESC, r.id DESC "
                                "LIMIT ?3 OFFSET ?4";
static const char sql_machine[] =
    "SELECT w.name, w.kind, w.removed, v.source, v.id, w.created_at, "
    "coalesce(w.updated_at, w.created_at) FROM workflows w LEFT JOIN workflow_versions v ON "
    "v.id = coalesce(w.current_version_id, (SELECT max(id) FROM workflow_versions WHERE "
    "workflow_id = w.id)) WHERE w.name = ?1";
static const char sql_machines[] = "SELECT name, created_at FROM workflows WHERE kind = 'asl' "
                                   "AND removed = 0 ORDER BY name";

static json_t *col_int(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    return json_integer((json_int_t)sqlite3_column_int64(st, i));
}

static int db_fail(wr_store_t *store, sqlite3_stmt *st, wr_err_t *err)
{
    int rc = wr_err_set(err, WR_ESTORE, "database: %s", sqlite3_errmsg(wr__store_db(store)));
    sqlite3_reset(st);
    return rc;
}

static json_t *run_row(sqlite3_stmt *st, bool data)
{
    json_t *r = json_object();

    json_object_set_new(r, "id", wr__store_col_text(st, 0));
    json_object_set_new(r, "workflow", wr__store_col_text(st, 1));
    json_object_set_new(r, "kind", wr__store_col_text(st, 2));
    json_object_set_new(r, "status", wr__store_col_text(st, 3));
    json_object_set_new(r, "trigger", wr__store_col_text(st, 4));
    if (data) {
        json_object_set_new(r, "input", wr__store_col_text(st, 5));
        json_object_set_new(r, "output", wr__store_col_text(st, 6));
    }
    json_object_set_new(r, "error", wr__store_col_text(st, 7));
    json_object_set_new(r, "cause", wr__store_col_text(st, 8));
    json_object_set_new(r, "client_run_id", wr__store_col_text(st, 9));
    json_object_set_new(r, "version_id", col_int(st, 10));
    json_object_set_new(r, "created_at", col_int(st, 11));
    json_object_set_new(r, "ended_at", col_int(st, 12));
    return r;
}

/* Steps a statement expected to return at most one run row. */
static int one_run(wr_store_t *store, sqlite3_stmt *st, const char *what, json_t **out,
                   wr_err_t *err)
{
    int s = sqlite3_step(st);

    if (s == SQLITE_ROW) {
        *out = run_row(st, true);
        sqlite3_reset(st);
        return 0;
    }
    if (s != SQLITE_DONE)
        return db_fail(store, st, err);
    sqlite3_reset(st);
    return wr_err_set(err, WR_ENOTFOUND, "no execution '%s'", what);
}

int wr_store_asl_run(wr_store_t *store, const char *run_id, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = wr__store_stmt(store, S_RUN, sql_run, err);

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, run_id);
    return one_run(store, st, run_id, out, err);
}

int wr_store_asl_execution(wr_store_t *store, const char *workflow, const char *name, json_t **out,
                           wr_err_t *err)
{
    sqlite3_stmt *st = wr__store_stmt(store, S_EXEC, sql_exec, err);

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, workflow);
    wr__store_bind_text(st, 2, name);
    return one_run(store, st, name, out, err);
}

int wr_store_asl_events(wr_store_t *store, const char *run_id, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = wr__store_stmt(store, S_EVENTS, sql_events, err);
    json_t *a;
    int s;

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, run_id);
    a = json_array();
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 5);
        json_t *detail = d ? json_loads(d, 0, NULL) : NULL;
        json_t *e = json_object();
        json_object_set_new(e, "id", col_int(st, 0));
        json_object_set_new(e, "ts", col_int(st, 1));
        json_object_set_new(e, "type", wr__store_col_text(st, 2));
        json_object_set_new(e, "state", wr__store_col_text(st, 3));
        json_object_set_new(e, "attempt", col_int(st, 4));
        json_object_set_new(e, "detail", json_is_object(detail) ? detail : json_object());
        if (detail != NULL && !json_is_object(detail))
            json_decref(detail);
        json_array_append_new(a, e);
    }
    if (s != SQLITE_DONE) {
        json_decref(a);
        return db_fail(store, st, err);
    }
    sqlite3_reset(st);
    *out = a;
    return 0;
}

int wr_store_asl_executions(wr_store_t *store, const char *workflow, const char *status,
                            int64_t offset, int limit, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = wr__store_stmt(store, S_EXECS, sql_execs, err);
    json_t *a;
    int s;

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, workflow);
    wr__store_bind_text(st, 2, status);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int64(st, 4, offset);
    a = json_array();
    while ((s = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(a, run_row(st, false));
    if (s != SQLITE_DONE) {
        json_decref(a);
        return db_fail(store, st, err);
    }
    sqlite3_reset(st);
    *out = a;
    return 0;
}

int wr_store_asl_machine(wr_store_t *store, const char *name, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = wr__store_stmt(store, S_MACHINE, sql_machine, err);
    json_t *m;
    int s;

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, name);
    s = sqlite3_step(st);
    if (s != SQLITE_ROW) {
        if (s != SQLITE_DONE)
            return db_fail(store, st, err);
        sqlite3_reset(st);
        return wr_err_set(err, WR_ENOTFOUND, "no state machine '%s'", name);
    }
    m = json_object();
    json_object_set_new(m, "name", wr__store_col_text(st, 0));
    json_object_set_new(m, "kind", wr__store_col_text(st, 1));
    json_object_set_new(m, "removed", json_boolean(sqlite3_column_int(st, 2) != 0));
    json_object_set_new(m, "source", wr__store_col_text(st, 3));
    json_object_set_new(m, "version_id", col_int(st, 4));
    json_object_set_new(m, "created_at", col_int(st, 5));
    json_object_set_new(m, "updated_at", col_int(st, 6));
    sqlite3_reset(st);
    *out = m;
    return 0;
}

int wr_store_asl_machines(wr_store_t *store, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = wr__store_stmt(store, S_MACHINES, sql_machines, err);
    json_t *a;
    int s;

    if (st == NULL)
        return WR_ESTORE;
    a = json_array();
    while ((s = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(a, json_pack("{s:o, s:o}", "name", wr__store_col_text(st, 0),
                                           "created_at", col_int(st, 1)));
    if (s != SQLITE_DONE) {
        json_decref(a);
        return db_fail(store, st, err);
    }
    sqlite3_reset(st);
    *out = a;
    return 0;
}
