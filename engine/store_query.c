/* SPDX-License-Identifier: MIT
 * engine/store_query.c: the read side of the store for the REST API and the CLI (see
 * engine/query.h). Every statement lives in this file's slots (WR_STORE_SLOTS_QUERY) and is
 * reset as soon as its rows are read: a read-only WAL connection sees new commits only between
 * statements, and a long poll re-reads the same run many times on one connection. */
#include "engine/query.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "engine/cron.h"
#include "engine/store_int.h"

#define RUN_COLS                                                                          \
    "r.id, w.name, r.status, r.trigger, r.logical_date, r.ds, r.created_at, r.ended_at, " \
    "r.error"

#define QUERY_MAP(XX)                                                                            \
    XX(WF_LIST, "SELECT w.id, w.name, w.kind, w.path, w.schedule, w.timezone, w.paused, "        \
                "w.removed, w.load_error, w.current_version_id FROM workflows w "                \
                "ORDER BY w.name")                                                               \
    XX(WF_ONE, "SELECT w.id, w.name, w.kind, w.path, w.schedule, w.timezone, w.paused, "         \
               "w.removed, w.load_error, w.current_version_id, v.source FROM workflows w "       \
               "LEFT JOIN workflow_versions v ON v.id = coalesce(w.current_version_id, "         \
               "(SELECT max(id) FROM workflow_versions WHERE workflow_id = w.id)) "              \
               "WHERE w.name = ?1")                                                              \
    XX(WF_VERSIONS, "SELECT id, hash, path, created_at FROM workflow_versions "                  \
                    "WHERE workflow_id = ?1 ORDER BY id DESC")                                   \
    XX(WF_LAST_RUNS, "SELECT " RUN_COLS " FROM runs r JOIN workflows w ON w.id = "               \
                     "r.workflow_id WHERE r.workflow_id = ?1 "                                   \
                     "ORDER BY r.created_at DESC, r.id DESC LIMIT ?2")                           \
    XX(DEF_ERRORS, "SELECT path, errors, updated_at FROM definition_errors ORDER BY path")       \
    XX(RUNS_PAGE, "SELECT " RUN_COLS " FROM runs r JOIN workflows w ON w.id = r.workflow_id "    \
                  "WHERE r.workflow_id = ?1 AND (?2 IS NULL OR r.status = ?2) "                  \
                  "AND (?3 IS NULL OR r.created_at < ?3 OR (r.created_at = ?3 AND r.id < ?4)) "  \
                  "ORDER BY r.created_at DESC, r.id DESC LIMIT ?5")                              \
    XX(RUN_ONE, "SELECT " RUN_COLS ", r.input, r.output, r.cause, r.client_run_id, "             \
                "r.version_id, r.interval_start, r.interval_end FROM runs r "                    \
                "JOIN workflows w ON w.id = r.workflow_id WHERE r.id = ?1")                      \
    XX(TASKS, "SELECT task, state, attempts, output, error, cause, started_at, ended_at "        \
              "FROM task_instances WHERE run_id = ?1 ORDER BY coalesce(started_at, 1e18), task") \
    XX(ATTEMPTS, "SELECT task, attempt, state, started_at, ended_at, output, error, cause "      \
                 "FROM attempts WHERE run_id = ?1 ORDER BY task, attempt")                       \
    XX(EVENTS, "SELECT id, ts, type, task, attempt, detail FROM events "                         \
               "WHERE run_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3")                             \
    XX(LOG, "SELECT ti.attempts, a.attempt, a.ended_at IS NOT NULL, "                            \
            "length(CAST(l.data AS BLOB)), substr(CAST(l.data AS BLOB), ?5 + 1, ?6), "           \
            "coalesce(l.truncated, 0) FROM task_instances ti "                                   \
            "LEFT JOIN attempts a ON a.run_id = ti.run_id AND a.task = ti.task AND "             \
            "a.attempt = CASE WHEN ?3 > 0 THEN ?3 ELSE ti.attempts END "                         \
            "LEFT JOIN task_logs l ON l.run_id = ti.run_id AND l.task = ti.task AND "            \
            "l.attempt = a.attempt AND l.stream = ?4 "                                           \
            "WHERE ti.run_id = ?1 AND ti.task = ?2")                                             \
    XX(METRICS, "SELECT 'runs', status, count(*) FROM runs GROUP BY status UNION ALL "           \
                "SELECT 'attempts', state, count(*) FROM attempts GROUP BY state")               \
    XX(TOKEN_INSERT, "INSERT INTO api_tokens (name, role, hash, created_at) "                    \
                     "VALUES (?1, ?2, ?3, ?4)")                                                  \
    XX(TOKEN_FIND, "SELECT id, name, role, created_at FROM api_tokens "                          \
                   "WHERE hash = ?1 AND revoked = 0")                                            \
    XX(TOKEN_LIST, "SELECT id, name, role, created_at, revoked FROM api_tokens ORDER BY id")     \
    XX(TOKEN_REVOKE, "UPDATE api_tokens SET revoked = 1 WHERE id = ?1 AND revoked = 0")          \
    XX(RUN_EXISTS, "SELECT 1 FROM runs WHERE id = ?1")

enum {
#define XX(name, sql) Q_##name,
    QUERY_MAP(XX)
#undef XX
        Q__COUNT
};

static const char *const query_sql[] = {
#define XX(name, sql) sql,
    QUERY_MAP(XX)
#undef XX
};

_Static_assert(WR_STORE_SLOTS_QUERY + Q__COUNT <= WR_STORE_EXT_MAX,
               "store_query.c has more statements than its slots");

static sqlite3_stmt *q_stmt(wr_store_t *store, int which, wr_err_t *err)
{
    return wr__store_stmt(store, WR_STORE_SLOTS_QUERY + (size_t)which, query_sql[which], err);
}

static int q_error(wr_store_t *store, wr_err_t *err, const char *what)
{
    return wr_err_set(err, WR_ESTORE, "database: %s: %s", what,
                      sqlite3_errmsg(wr__store_db(store)));
}

/* ==== Column -> JSON ==== */

static json_t *col_int(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    return json_integer(sqlite3_column_int64(st, i));
}

static json_t *col_bool(sqlite3_stmt *st, int i)
{
    return json_boolean(sqlite3_column_int(st, i) != 0);
}

/* Unix ms -> ISO 8601 UTC, or null. */
static json_t *col_time(sqlite3_stmt *st, int i)
{
    char iso[32];

    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    wr_format_iso_ms(sqlite3_column_int64(st, i), iso);
    return json_string(iso);
}

/* Runs through the rows of `st`, calling `row` on each; always resets `st`. */
typedef int (*row_fn)(sqlite3_stmt *st, void *arg, wr_err_t *err);

static int each_row(wr_store_t *store, sqlite3_stmt *st, row_fn row, void *arg, wr_err_t *err)
{
    int rc, src;

    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = row(st, arg, err)) != 0) {
            sqlite3_reset(st);
            return rc;
        }
    }
    rc = src == SQLITE_DONE ? 0 : q_error(store, err, sqlite3_sql(st));
    sqlite3_reset(st);
    return rc;
}

/* ==== Workflows ==== */

/* The run summary of RUN_COLS, columns 0..8. */
static json_t *run_summary(sqlite3_stmt *st)
{
    json_t *r = json_object();

    json_object_set_new(r, "id", wr__store_col_text(st, 0));
    json_object_set_new(r, "workflow", wr__store_col_text(st, 1));
    json_object_set_new(r, "status", wr__store_col_text(st, 2));
    json_object_set_new(r, "trigger", wr__store_col_text(st, 3));
    json_object_set_new(r, "logical_date", wr__store_col_text(st, 4));
    json_object_set_new(r, "ds", wr__store_col_text(st, 5));
    json_object_set_new(r, "created_at", col_time(st, 6));
    json_object_set_new(r, "ended_at", col_time(st, 7));
    json_object_set_new(r, "error", wr__store_col_text(st, 8));
    return r;
}

static int append_run_row(sqlite3_stmt *st, void *arg, wr_err_t *err)
{
    (void)err;
    json_array_append_new(arg, run_summary(st));
    return 0;
}

static json_t *next_fires(const char *schedule, const char *tz, int64_t now_s)
{
    json_t *a = json_array();
    wr_cron_t *cron = NULL;
    int64_t t = now_s;

    if (schedule == NULL || wr_cron_parse(schedule, &cron, NULL) != 0)
        return a;
    for (int i = 0; i < WR_QUERY_NEXT_FIRES; i++) {
        char iso[32];
        int64_t next;
        int off;
        if (wr_cron_next(cron, tz, t, &next, &off, NULL) != 0)
            break;
        wr_cron_format(next, off, iso);
        json_array_append_new(a, json_string(iso));
        t = next;
    }
    wr_cron_free(cron);
    return a;
}

/* Columns 0..9 of WF_LIST / WF_ONE -> a workflow object (without its last runs). */
static json_t *workflow_row(sqlite3_stmt *st, int64_t now_s, int64_t *wf_id)
{
    json_t *w = json_object();
    const char *schedule = (const char *)sqlite3_column_text(st, 4);
    const char *tz = (const char *)sqlite3_column_text(st, 5);
    bool paused = sqlite3_column_int(st, 6) != 0, removed = sqlite3_column_int(st, 7) != 0;

    *wf_id = sqlite3_column_int64(st, 0);
    json_object_set_new(w, "name", wr__store_col_text(st, 1));
    json_object_set_new(w, "kind", wr__store_col_text(st, 2));
    json_object_set_new(w, "path", wr__store_col_text(st, 3));
    json_object_set_new(w, "schedule", wr__store_col_text(st, 4));
    json_object_set_new(w, "timezone", tz ? json_string(tz) : json_string("UTC"));
    json_object_set_new(w, "paused", json_boolean(paused));
    json_object_set_new(w, "removed", json_boolean(removed));
    json_object_set_new(w, "load_error", wr__store_col_text(st, 8));
    json_object_set_new(w, "version_id", col_int(st, 9));
    json_object_set_new(w, "next_fire_times",
                        paused || removed ? json_array() : next_fires(schedule, tz, now_s));
    return w;
}

static int last_runs(wr_store_t *store, int64_t wf_id, int limit, json_t *w, wr_err_t *err)
{
    sqlite3_stmt *st = q_stmt(store, Q_WF_LAST_RUNS, err);
    json_t *runs = json_array();
    int rc;

    if (st == NULL) {
        json_decref(runs);
        return WR_ESTORE;
    }
    sqlite3_bind_int64(st, 1, wf_id);
    sqlite3_bind_int(st, 2, limit);
    rc = each_row(store, st, append_run_row, runs, err);
    json_object_set_new(w, "last_runs", runs);
    return rc;
}

static int def_error_row(sqlite3_stmt *st, void *arg, wr_err_t *err)
{
    json_t *e = json_object(), *lines = json_array();
    const char *text = (const char *)sqlite3_column_text(st, 1);

    (void)err;
    while (text != NULL && *text != '\0') {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        json_t *line = n > 0 ? json_stringn(text, n) : NULL;
        if (line != NULL)
            json_array_append_new(lines, line);
        text += n + (nl ? 1 : 0);
    }
    json_object_set_new(e, "path", wr__store_col_text(st, 0));
    json_object_set_new(e, "errors", lines);
    json_object_set_new(e, "updated_at", col_time(st, 2));
    json_array_append_new(arg, e);
    return 0;
}

int wr_query_definition_errors(wr_store_t *store, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = q_stmt(store, Q_DEF_ERRORS, err);
    json_t *a;
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    a = json_array();
    if ((rc = each_row(store, st, def_error_row, a, err)) != 0) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

typedef struct {
    json_t *list;
    int64_t now_s;
    json_t *ids; /* workflow ids, parallel to list */
} wf_list_t;

static int wf_list_row(sqlite3_stmt *st, void *arg, wr_err_t *err)
{
    wf_list_t *l = arg;
    int64_t id;

    (void)err;
    json_array_append_new(l->list, workflow_row(st, l->now_s, &id));
    json_array_append_new(l->ids, json_integer(id));
    return 0;
}

int wr_query_workflows(wr_store_t *store, int64_t now_s, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = q_stmt(store, Q_WF_LIST, err);
    wf_list_t l = {json_array(), now_s, json_array()};
    json_t *errors = NULL, *res = NULL;
    int rc;

    if (st == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    /* Read the whole list first: the per-workflow queries below must not interleave with an
     * open statement (they would share its snapshot, and the list would stay open). */
    if ((rc = each_row(store, st, wf_list_row, &l, err)) != 0)
        goto done;
    for (size_t i = 0; i < json_array_size(l.list); i++) {
        int64_t id = json_integer_value(json_array_get(l.ids, i));
        if ((rc = last_runs(store, id, WR_QUERY_LAST_RUNS, json_array_get(l.list, i), err)) != 0)
            goto done;
    }
    if ((rc = wr_query_definition_errors(store, &errors, err)) != 0)
        goto done;
    res = json_object();
    json_object_set(res, "workflows", l.list);
    json_object_set_new(res, "definition_errors", errors);
    *out = res;
done:
    json_decref(l.list);
    json_decref(l.ids);
    return rc;
}

static int version_row(sqlite3_stmt *st, void *arg, wr_err_t *err)
{
    json_t *v = json_object();

    (void)err;
    json_object_set_new(v, "id", col_int(st, 0));
    json_object_set_new(v, "hash", wr__store_col_text(st, 1));
    json_object_set_new(v, "path", wr__store_col_text(st, 2));
    json_object_set_new(v, "created_at", col_time(st, 3));
    json_array_append_new(arg, v);
    return 0;
}

/* Looks a workflow up by name: its object (with source) and id. */
static int workflow_one(wr_store_t *store, const char *name, int64_t now_s, json_t **out,
                        int64_t *wf_id, wr_err_t *err)
{
    sqlite3_stmt *st = q_stmt(store, Q_WF_ONE, err);
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, name);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = workflow_row(st, now_s, wf_id);
        json_object_set_new(*out, "source", wr__store_col_text(st, 10));
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = wr_err_set(err, WR_ENOTFOUND, "no workflow named '%s'", name);
    } else {
        rc = q_error(store, err, "reading a workflow");
    }
    sqlite3_reset(st);
    return rc;
}

int wr_query_workflow(wr_store_t *store, const char *name, int64_t now_s, json_t **out,
                      wr_err_t *err)
{
    json_t *w = NULL, *versions = json_array();
    sqlite3_stmt *st;
    int64_t id = 0;
    int rc;

    if ((rc = workflow_one(store, name, now_s, &w, &id, err)) != 0)
        goto done;
    if ((st = q_stmt(store, Q_WF_VERSIONS, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    sqlite3_bind_int64(st, 1, id);
    if ((rc = each_row(store, st, version_row, versions, err)) != 0)
        goto done;
    json_object_set(w, "versions", versions);
    if ((rc = last_runs(store, id, WR_QUERY_LAST_RUNS, w, err)) != 0)
        goto done;
    *out = w;
    w = NULL;
done:
    json_decref(w);
    json_decref(versions);
    return rc;
}

/* ==== Runs ==== */

bool wr_query_run_status_is_final(const char *status)
{
    return status != NULL && (strcmp(status, "SUCCEEDED") == 0 || strcmp(status, "FAILED") == 0 ||
                              strcmp(status, "ABORTED") == 0);
}

static const char *const run_statuses[] = {"RUNNING", "QUEUED",  "SUCCEEDED",
                                           "FAILED",  "ABORTED", NULL};

typedef struct {
    json_t *runs;
    int limit;
    int64_t last_at; /* created_at of row number `limit` (the page's last) */
} runs_page_t;

static int page_row(sqlite3_stmt *st, void *arg, wr_err_t *err)
{
    runs_page_t *p = arg;

    json_array_append_new(p->runs, run_summary(st));
    if (json_array_size(p->runs) == (size_t)p->limit)
        p->last_at = sqlite3_column_int64(st, 6);
    (void)err;
    return 0;
}

int wr_query_runs(wr_store_t *store, const wr_query_runs_t *q, json_t **out, wr_err_t *err)
{
    runs_page_t page = {NULL, 0, 0};
    json_t *wf = NULL, *runs = json_array(), *res = NULL;
    char status[16] = "", *cursor_id = NULL;
    int64_t wf_id = 0, cursor_at = 0;
    int limit = q->limit > 0 ? q->limit : WR_QUERY_RUNS_LIMIT_DEFAULT;
    sqlite3_stmt *st;
    int rc;

    if (limit > WR_QUERY_RUNS_LIMIT_MAX)
        limit = WR_QUERY_RUNS_LIMIT_MAX;
    if (q->status != NULL && q->status[0] != '\0') {
        bool known = false;
        size_t n = strlen(q->status);
        for (size_t i = 0; i < n && i + 1 < sizeof(status); i++)
            status[i] = (char)toupper((unsigned char)q->status[i]);
        for (size_t i = 0; run_statuses[i] && !known; i++)
            known = n < sizeof(status) && strcmp(status, run_statuses[i]) == 0;
        if (!known) {
            rc = wr_err_set(err, WR_EPARSE,
                            "unknown status '%s' (RUNNING, QUEUED, SUCCEEDED, FAILED, ABORTED)",
                            q->status);
            goto done;
        }
    }
    if (q->cursor != NULL && q->cursor[0] != '\0' &&
        (rc = wr_query_cursor_decode(q->cursor, &cursor_at, &cursor_id, err)) != 0)
        goto done;
    if ((rc = workflow_one(store, q->workflow, 0, &wf, &wf_id, err)) != 0)
        goto done;
    if ((st = q_stmt(store, Q_RUNS_PAGE, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    sqlite3_bind_int64(st, 1, wf_id);
    wr__store_bind_text(st, 2, status[0] ? status : NULL);
    if (cursor_id != NULL) {
        sqlite3_bind_int64(st, 3, cursor_at);
        wr__store_bind_text(st, 4, cursor_id);
    }
    sqlite3_bind_int(st, 5, limit + 1); /* one more tells whether another page exists */
    page.runs = runs;
    page.limit = limit;
    if ((rc = each_row(store, st, page_row, &page, err)) != 0)
        goto done;
    res = json_object();
    if (json_array_size(runs) > (size_t)limit) {
        /* The cursor is the sort key (created_at, id) of the page's last run. */
        json_t *last = json_array_get(runs, (size_t)limit - 1);
        char *c =
            wr_query_cursor_encode(page.last_at, json_string_value(json_object_get(last, "id")));
        json_array_remove(runs, (size_t)limit);
        json_object_set_new(res, "next_cursor", json_string(c));
        free(c);
    } else {
        json_object_set_new(res, "next_cursor", json_null());
    }
    json_object_set(res, "runs", runs);
    *out = res;
    res = NULL;
done:
    json_decref(res);
    json_decref(runs);
    json_decref(wf);
    free(cursor_id);
    return rc;
}

typedef struct {
    json_t *tasks;  /* array of task objects, in order */
    json_t *byname; /* name -> task object (borrowed from tasks) */
} run_tasks_t;

static int task_row(sqlite3_stmt *st, void *arg, wr_err_t *err)
{
    run_tasks_t *rt = arg;
    json_t *t = json_object();

    (void)err;
    json_object_set_new(t, "name", wr__store_col_text(st, 0));
    json_object_set_new(t, "state", wr__store_col_text(st, 1));
    json_object_set_new(t, "attempts", col_int(st, 2));
    json_object_set_new(t, "output", wr__store_col_json(st, 3));
    json_object_set_new(t, "error", wr__store_col_text(st, 4));
    json_object_set_new(t, "cause", wr__store_col_text(st, 5));
    json_object_set_new(t, "started_at", col_time(st, 6));
    json_object_set_new(t, "ended_at", col_time(st, 7));
    json_object_set_new(t, "attempt_list", json_array());
    json_object_set(rt->byname, (const char *)sqlite3_column_text(st, 0), t);
    json_array_append_new(rt->tasks, t);
    return 0;
}

static int attempt_row(sqlite3_stmt *st, void *arg, wr_err_t *err)
{
    run_tasks_t *rt = arg;
    json_t *t = json_object_get(rt->byname, (const char *)sqlite3_column_text(st, 0));
    json_t *a;

    (void)err;
    if (t == NULL)
        return 0;
    a = json_object();
    json_object_set_new(a, "attempt", col_int(st, 1));
    json_object_set_new(a, "state", wr__store_col_text(st, 2));
    json_object_set_new(a, "started_at", col_time(st, 3));
    json_object_set_new(a, "ended_at", col_time(st, 4));
    json_object_set_new(a, "output", wr__store_col_json(st, 5));
    json_object_set_new(a, "error", wr__store_col_text(st, 6));
    json_object_set_new(a, "cause", wr__store_col_text(st, 7));
    json_array_append_new(json_object_get(t, "attempt_list"), a);
    return 0;
}

int wr_query_run(wr_store_t *store, const char *run_id, json_t **out, wr_err_t *err)
{
    run_tasks_t rt = {json_array(), json_object()};
    json_t *r = NULL;
    sqlite3_stmt *st;
    int rc;

    if ((st = q_stmt(store, Q_RUN_ONE, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, run_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r = run_summary(st);
        json_object_set_new(r, "input", wr__store_col_json(st, 9));
        json_object_set_new(r, "output", wr__store_col_json(st, 10));
        json_object_set_new(r, "cause", wr__store_col_text(st, 11));
        json_object_set_new(r, "client_run_id", wr__store_col_text(st, 12));
        json_object_set_new(r, "version_id", col_int(st, 13));
        json_object_set_new(r, "interval_start", wr__store_col_text(st, 14));
        json_object_set_new(r, "interval_end", wr__store_col_text(st, 15));
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = wr_err_set(err, WR_ENOTFOUND, "no run '%s'", run_id);
    } else {
        rc = q_error(store, err, "reading a run");
    }
    sqlite3_reset(st);
    if (rc != 0)
        goto done;
    if ((st = q_stmt(store, Q_TASKS, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, run_id);
    if ((rc = each_row(store, st, task_row, &rt, err)) != 0)
        goto done;
    if ((st = q_stmt(store, Q_ATTEMPTS, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, run_id);
    if ((rc = each_row(store, st, attempt_row, &rt, err)) != 0)
        goto done;
    json_object_set(r, "tasks", rt.tasks);
    *out = r;
    r = NULL;
done:
    json_decref(r);
    json_decref(rt.tasks);
    json_decref(rt.byname);
    return rc;
}

static int run_exists(wr_store_t *store, const char *run_id, wr_err_t *err)
{
    sqlite3_stmt *st = q_stmt(store, Q_RUN_EXISTS, err);
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, run_id);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return wr_err_set(err, WR_ENOTFOUND, "no run '%s'", run_id);
    return q_error(store, err, "reading a run");
}

typedef struct {
    json_t *events;
    int64_t last;
} events_t;

static int event_row(sqlite3_stmt *st, void *arg, wr_err_t *err)
{
    events_t *ev = arg;
    json_t *e = json_object();

    (void)err;
    ev->last = sqlite3_column_int64(st, 0);
    json_object_set_new(e, "id", json_integer(ev->last));
    json_object_set_new(e, "ts", col_time(st, 1));
    json_object_set_new(e, "type", wr__store_col_text(st, 2));
    json_object_set_new(e, "task", wr__store_col_text(st, 3));
    json_object_set_new(e, "attempt", col_int(st, 4));
    json_object_set_new(e, "detail", wr__store_col_json(st, 5));
    json_array_append_new(ev->events, e);
    return 0;
}

int wr_query_events(wr_store_t *store, const char *run_id, int64_t after, int limit, json_t **out,
                    wr_err_t *err)
{
    events_t ev = {json_array(), after > 0 ? after : 0};
    sqlite3_stmt *st;
    int rc;

    if (limit <= 0)
        limit = WR_QUERY_EVENTS_LIMIT_DEFAULT;
    if (limit > WR_QUERY_EVENTS_LIMIT_MAX)
        limit = WR_QUERY_EVENTS_LIMIT_MAX;
    if ((rc = run_exists(store, run_id, err)) != 0)
        goto done;
    if ((st = q_stmt(store, Q_EVENTS, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, run_id);
    sqlite3_bind_int64(st, 2, ev.last);
    sqlite3_bind_int(st, 3, limit);
    if ((rc = each_row(store, st, event_row, &ev, err)) != 0)
        goto done;
    *out = json_object();
    json_object_set(*out, "events", ev.events);
    json_object_set_new(*out, "next_after", json_integer(ev.last));
done:
    json_decref(ev.events);
    return rc;
}

/* ==== Logs ==== */

/* A log chunk as a JSON string: byte offsets may cut a UTF-8 sequence at either end, and a
 * captured stream may hold any bytes, so invalid sequences become U+FFFD. */
static json_t *utf8_string(const unsigned char *p, size_t n)
{
    wr_buf_t b;
    json_t *v;
    size_t i = 0;

    if ((v = json_stringn((const char *)p, n)) != NULL)
        return v;
    wr_buf_init(&b);
    while (i < n) {
        unsigned char c = p[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = (p[i + k] & 0xC0) == 0x80;
        if (ok && len > 1) {
            uint32_t cp = c & (0x7Fu >> len);
            for (size_t k = 1; k < len; k++)
                cp = cp << 6 | (p[i + k] & 0x3Fu);
            ok = (len == 2 && cp >= 0x80) ||
                 (len == 3 && cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) ||
                 (len == 4 && cp >= 0x10000 && cp <= 0x10FFFF);
        }
        if (ok) {
            wr_buf_append(&b, p + i, len);
            i += len;
        } else {
            wr_buf_puts(&b, "\xEF\xBF\xBD");
            i++;
        }
    }
    v = json_stringn(wr_buf_cstr(&b), b.len);
    wr_buf_dispose(&b);
    return v ? v : json_string("");
}

int wr_query_task_logs(wr_store_t *store, const char *run_id, const char *task, int attempt,
                       const char *stream, int64_t offset, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st;
    json_t *res = NULL;
    int rc;

    if (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0)
        return wr_err_set(err, WR_EPARSE, "stream must be stdout or stderr, not '%s'", stream);
    if (offset < 0 || attempt < 0)
        return wr_err_set(err, WR_EPARSE, "offset and attempt must not be negative");
    if ((rc = run_exists(store, run_id, err)) != 0)
        return rc;
    if ((st = q_stmt(store, Q_LOG, err)) == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, run_id);
    wr__store_bind_text(st, 2, task);
    sqlite3_bind_int(st, 3, attempt);
    wr__store_bind_text(st, 4, stream);
    sqlite3_bind_int64(st, 5, offset);
    sqlite3_bind_int64(st, 6, WR_QUERY_LOG_CHUNK_MAX);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int attempts = sqlite3_column_int(st, 0);
        bool has_attempt = sqlite3_column_type(st, 1) != SQLITE_NULL;
        int64_t size = sqlite3_column_int64(st, 3);
        const unsigned char *data = sqlite3_column_blob(st, 4);
        size_t n = (size_t)sqlite3_column_bytes(st, 4);

        if (!has_attempt && (attempt > 0 || attempts > 0)) {
            rc = wr_err_set(err, WR_ENOTFOUND, "task '%s' of run '%s' has no attempt %d", task,
                            run_id, attempt > 0 ? attempt : attempts);
        } else {
            int64_t start = offset < size ? offset : size;
            res = json_object();
            json_object_set_new(res, "run_id", json_string(run_id));
            json_object_set_new(res, "task", json_string(task));
            json_object_set_new(res, "attempt",
                                json_integer(has_attempt ? sqlite3_column_int(st, 1) : 0));
            json_object_set_new(res, "stream", json_string(stream));
            json_object_set_new(res, "offset", json_integer(start));
            json_object_set_new(res, "next_offset", json_integer(start + (int64_t)n));
            json_object_set_new(res, "size", json_integer(size));
            json_object_set_new(res, "data", utf8_string(data, data ? n : 0));
            json_object_set_new(res, "truncated", col_bool(st, 5));
            json_object_set_new(res, "complete",
                                json_boolean(has_attempt && sqlite3_column_int(st, 2) != 0));
            rc = 0;
        }
    } else if (rc == SQLITE_DONE) {
        rc = wr_err_set(err, WR_ENOTFOUND, "run '%s' has no task '%s'", run_id, task);
    } else {
        rc = q_error(store, err, "reading a task log");
    }
    sqlite3_reset(st);
    if (rc == 0)
        *out = res;
    else
        json_decref(res);
    return rc;
}

/* ==== Metrics ==== */

static int metrics_row(sqlite3_stmt *st, void *arg, wr_err_t *err)
{
    const char *group = (const char *)sqlite3_column_text(st, 0);
    const char *key = (const char *)sqlite3_column_text(st, 1);

    (void)err;
    if (group != NULL && key != NULL)
        json_object_set_new(json_object_get(arg, group), key,
                            json_integer(sqlite3_column_int64(st, 2)));
    return 0;
}

int wr_query_metrics(wr_store_t *store, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = q_stmt(store, Q_METRICS, err);
    json_t *m;
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    m = json_pack("{s:{},s:{}}", "runs", "attempts");
    if ((rc = each_row(store, st, metrics_row, m, err)) != 0) {
        json_decref(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* ==== Cursors ==== */

/* A cursor is the hex of "CREATED_AT:RUN_ID": opaque to clients, URL-safe, and checked on
 * the way back in. */
char *wr_query_cursor_encode(int64_t created_at, const char *run_id)
{
    static const char hex[] = "0123456789abcdef";
    char *plain = wr_xasprintf("%lld:%s", (long long)created_at, run_id ? run_id : "");
    size_t n = strlen(plain);
    char *out = wr_xmalloc(2 * n + 1);

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[(unsigned char)plain[i] >> 4];
        out[2 * i + 1] = hex[(unsigned char)plain[i] & 15];
    }
    out[2 * n] = '\0';
    free(plain);
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int wr_query_cursor_decode(const char *cursor, int64_t *created_at, char **run_id, wr_err_t *err)
{
    size_t n = strlen(cursor);
    char *plain = NULL, *colon, *end;
    long long at;
    int rc = wr_err_set(err, WR_EPARSE, "invalid cursor '%.40s'", cursor);

    if (n == 0 || n % 2 != 0 || n > 1024)
        return rc;
    plain = wr_xmalloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(cursor[2 * i]), lo = hexval(cursor[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            goto done;
        plain[i] = (char)(hi << 4 | lo);
    }
    plain[n / 2] = '\0';
    colon = strchr(plain, ':');
    if (colon == NULL || colon == plain || colon[1] == '\0')
        goto done;
    *colon = '\0';
    errno = 0;
    at = strtoll(plain, &end, 10);
    if (errno != 0 || *end != '\0' || at < 0)
        goto done;
    *created_at = at;
    *run_id = wr_xstrdup(colon + 1);
    rc = 0;
done:
    free(plain);
    return rc;
}

/* ==== API tokens ==== */

int wr_query_token_create(wr_store_t *store, const char *name, const char *role,
                          const char *hash_hex, int64_t *id, wr_err_t *err)
{
    sqlite3_stmt *st;
    int rc;

    if (strcmp(role, "viewer") != 0 && strcmp(role, "operator") != 0 && strcmp(role, "admin") != 0)
        return wr_err_set(err, WR_EPARSE, "role must be viewer, operator or admin, not '%s'", role);
    if ((st = q_stmt(store, Q_TOKEN_INSERT, err)) == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, name);
    wr__store_bind_text(st, 2, role);
    wr__store_bind_text(st, 3, hash_hex);
    sqlite3_bind_int64(st, 4, wr_now_ms());
    if ((rc = wr__store_step(store, st, err)) != 0)
        return rc;
    *id = sqlite3_last_insert_rowid(wr__store_db(store));
    return 0;
}

static json_t *token_obj(sqlite3_stmt *st)
{
    json_t *t = json_object();

    json_object_set_new(t, "id", col_int(st, 0));
    json_object_set_new(t, "name", wr__store_col_text(st, 1));
    json_object_set_new(t, "role", wr__store_col_text(st, 2));
    json_object_set_new(t, "created_at", col_time(st, 3));
    return t;
}

int wr_query_token_find(wr_store_t *store, const char *hash_hex, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = q_stmt(store, Q_TOKEN_FIND, err);
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, hash_hex);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = token_obj(st);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = wr_err_set(err, WR_ENOTFOUND, "unknown or revoked token");
    } else {
        rc = q_error(store, err, "reading tokens");
    }
    sqlite3_reset(st);
    return rc;
}

static int token_row(sqlite3_stmt *st, void *arg, wr_err_t *err)
{
    json_t *t = token_obj(st);

    (void)err;
    json_object_set_new(t, "revoked", col_bool(st, 4));
    json_array_append_new(arg, t);
    return 0;
}

int wr_query_tokens(wr_store_t *store, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = q_stmt(store, Q_TOKEN_LIST, err);
    json_t *a;
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    a = json_array();
    if ((rc = each_row(store, st, token_row, a, err)) != 0) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

int wr_query_token_revoke(wr_store_t *store, int64_t id, wr_err_t *err)
{
    sqlite3_stmt *st = q_stmt(store, Q_TOKEN_REVOKE, err);
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    if ((rc = wr__store_step(store, st, err)) != 0)
        return rc;
    if (sqlite3_changes(wr__store_db(store)) != 1)
        return wr_err_set(err, WR_ENOTFOUND, "no live token with id %lld", (long long)id);
    return 0;
}
