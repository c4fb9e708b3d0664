/* SPDX-License-Identifier: MIT
 * engine/store_serve.c: the daemon's and resumable runs' part of the store (see
 * engine/store_serve.h). Statements live in the WR_STORE_SLOTS_SERVE slots. */
#include "engine/store_serve.h"

#include <stdlib.h>
#include <string.h>

#include "engine/store_int.h"

enum {
    Q_RUN_INSERT = WR_STORE_SLOTS_SERVE,
    Q_TI_INSERT,
    Q_SCHED_UPSERT,
    Q_RUN_STATUS,
    Q_WF_UPSERT,
    Q_WF_ID,
    Q_VER_INSERT,
    Q_VER_ID,
    Q_WF_CURRENT,
    Q_WF_REMOVED,
    Q_DEF_ERR_SET,
    Q_DEF_ERR_CLEAR,
    Q_WF_PAUSED,
    Q_SCHED_LAST,
    Q_FIRE_EXISTS,
    Q_CLIENT_ID,
    Q_ATTEMPT_PID,
    Q_FILE_ADD,
    Q_FILE_SEEN,
    Q_API_DEFS,
    Q__END,
};
_Static_assert(Q__END <= WR_STORE_SLOTS_QUERY, "serve statements overflow their slots");

#define SQL_RUN_INSERT                                                                      \
    "INSERT INTO runs (id, workflow_id, version_id, status, trigger, logical_date, input, " \
    "created_at, ds, interval_start, interval_end, logical_ts, client_run_id) "             \
    "SELECT ?1, workflow_id, id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 "                \
    "FROM workflow_versions WHERE id = ?2"

static sqlite3_stmt *q(wr_store_t *store, int slot, const char *sql, wr_err_t *err)
{
    return wr__store_stmt(store, (size_t)slot, sql, err);
}

int wr_store_run_insert(wr_store_t *store, const wr_run_row_t *row, const char *const *tasks,
                        size_t n_tasks, wr_err_t *err)
{
    int64_t now = wr_now_ms();
    sqlite3_stmt *st;
    int rc;

    if ((rc = wr__store_tx_begin(store, err)) != 0)
        return rc;
    if ((st = q(store, Q_RUN_INSERT, SQL_RUN_INSERT, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, row->id);
    sqlite3_bind_int64(st, 2, row->version_id);
    wr__store_bind_text(st, 3, row->status);
    wr__store_bind_text(st, 4, row->trigger);
    wr__store_bind_text(st, 5, row->logical_date);
    wr__store_bind_text(st, 6, row->input_json);
    sqlite3_bind_int64(st, 7, now);
    wr__store_bind_text(st, 8, row->ds);
    wr__store_bind_text(st, 9, row->interval_start);
    wr__store_bind_text(st, 10, row->interval_end);
    sqlite3_bind_int64(st, 11, row->logical_ts);
    wr__store_bind_text(st, 12, row->client_run_id);
    if ((rc = wr__store_step(store, st, err)) != 0)
        goto done;
    if (sqlite3_changes(wr__store_db(store)) != 1) {
        rc = wr_err_set(err, WR_ESTORE, "database: no definition version %lld",
                        (long long)row->version_id);
        goto done;
    }
    for (size_t i = 0; i < n_tasks; i++) {
        st = q(store, Q_TI_INSERT,
               "INSERT INTO task_instances (run_id, task, state) VALUES (?1, ?2, 'pending')", err);
        if (st == NULL) {
            rc = WR_ESTORE;
            goto done;
        }
        wr__store_bind_text(st, 1, row->id);
        wr__store_bind_text(st, 2, tasks[i]);
        if ((rc = wr__store_step(store, st, err)) != 0)
            goto done;
    }
    if (row->schedule_fire) {
        st = q(store, Q_SCHED_UPSERT,
               "INSERT INTO schedule_state (workflow_id, last_fire, last_fire_text) "
               "SELECT workflow_id, ?2, ?3 FROM workflow_versions WHERE id = ?1 "
               "ON CONFLICT (workflow_id) DO UPDATE SET last_fire = excluded.last_fire, "
               "last_fire_text = excluded.last_fire_text",
               err);
        if (st == NULL) {
            rc = WR_ESTORE;
            goto done;
        }
        sqlite3_bind_int64(st, 1, row->version_id);
        sqlite3_bind_int64(st, 2, row->logical_ts);
        wr__store_bind_text(st, 3, row->logical_date);
        if ((rc = wr__store_step(store, st, err)) != 0)
            goto done;
    }
    if (row->trigger_file != NULL) {
        st = q(store, Q_FILE_ADD,
               "INSERT INTO file_triggers (workflow_id, path, run_id, created_at) "
               "SELECT workflow_id, ?2, ?3, ?4 FROM workflow_versions WHERE id = ?1",
               err);
        if (st == NULL) {
            rc = WR_ESTORE;
            goto done;
        }
        sqlite3_bind_int64(st, 1, row->version_id);
        wr__store_bind_text(st, 2, row->trigger_file);
        wr__store_bind_text(st, 3, row->id);
        sqlite3_bind_int64(st, 4, now);
        if ((rc = wr__store_step(store, st, err)) != 0)
            goto done;
    }
    rc = wr__store_event_insert(store, row->id, now,
                                strcmp(row->status, "QUEUED") == 0 ? "RunQueued" : "RunStarted",
                                NULL, 0, NULL, err);
done:
    return wr__store_tx_end(store, rc, err);
}

int wr_store_run_set_status(wr_store_t *store, const char *run_id, const char *status,
                            const char *event, wr_err_t *err)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = wr__store_tx_begin(store, err)) != 0)
        return rc;
    st = q(store, Q_RUN_STATUS,
           "UPDATE runs SET status = ?2, ended_at = NULL, error = NULL, cause = NULL, "
           "output = NULL WHERE id = ?1",
           err);
    if (st == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, run_id);
    wr__store_bind_text(st, 2, status);
    if ((rc = wr__store_step(store, st, err)) != 0)
        goto done;
    rc = wr__store_event_insert(store, run_id, wr_now_ms(), event, NULL, 0, NULL, err);
done:
    return wr__store_tx_end(store, rc, err);
}

static int lookup_i64(wr_store_t *store, sqlite3_stmt *st, int64_t *out, bool *found, wr_err_t *err)
{
    int rc = sqlite3_step(st);
    *found = false;
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        *found = true;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return wr_err_set(err, WR_ESTORE, "database: %s", sqlite3_errmsg(wr__store_db(store)));
    return 0;
}

int wr_store_definition_loaded(wr_store_t *store, const char *name, const char *kind,
                               const char *path, const char *source, const char *hash,
                               const char *schedule, const char *timezone, int64_t *workflow_id,
                               int64_t *version_id, bool *paused, wr_err_t *err)
{
    int64_t now = wr_now_ms(), p = 0;
    sqlite3_stmt *st;
    bool found;
    int rc;

    if ((rc = wr__store_tx_begin(store, err)) != 0)
        return rc;
    st = q(store, Q_WF_UPSERT,
           "INSERT INTO workflows (name, kind, created_at, path, schedule, timezone, removed, "
           "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?3) ON CONFLICT (name) DO UPDATE SET "
           "kind = excluded.kind, path = excluded.path, schedule = excluded.schedule, "
           "timezone = excluded.timezone, removed = 0, load_error = NULL, "
           "updated_at = excluded.updated_at",
           err);
    if (st == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, name);
    wr__store_bind_text(st, 2, kind);
    sqlite3_bind_int64(st, 3, now);
    wr__store_bind_text(st, 4, path);
    wr__store_bind_text(st, 5, schedule);
    wr__store_bind_text(st, 6, timezone ? timezone : "UTC");
    if ((rc = wr__store_step(store, st, err)) != 0)
        goto done;
    st = q(store, Q_WF_ID, "SELECT id, paused FROM workflows WHERE name = ?1", err);
    if (st == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, name);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *workflow_id = sqlite3_column_int64(st, 0);
        p = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    *paused = p != 0;
    st = q(store, Q_VER_INSERT,
           "INSERT INTO workflow_versions (workflow_id, hash, path, source, created_at) "
           "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
           err);
    if (st == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    sqlite3_bind_int64(st, 1, *workflow_id);
    wr__store_bind_text(st, 2, hash);
    wr__store_bind_text(st, 3, path);
    wr__store_bind_text(st, 4, source);
    sqlite3_bind_int64(st, 5, now);
    if ((rc = wr__store_step(store, st, err)) != 0)
        goto done;
    st = q(store, Q_VER_ID, "SELECT id FROM workflow_versions WHERE workflow_id = ?1 AND hash = ?2",
           err);
    if (st == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    sqlite3_bind_int64(st, 1, *workflow_id);
    wr__store_bind_text(st, 2, hash);
    if ((rc = lookup_i64(store, st, version_id, &found, err)) != 0)
        goto done;
    st = q(store, Q_WF_CURRENT, "UPDATE workflows SET current_version_id = ?2 WHERE id = ?1", err);
    if (st == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    sqlite3_bind_int64(st, 1, *workflow_id);
    sqlite3_bind_int64(st, 2, *version_id);
    rc = wr__store_step(store, st, err);
done:
    return wr__store_tx_end(store, rc, err);
}

int wr_store_definition_removed(wr_store_t *store, const char *name, wr_err_t *err)
{
    sqlite3_stmt *st = q(store, Q_WF_REMOVED,
                         "UPDATE workflows SET removed = 1, updated_at = ?2 WHERE name = ?1", err);
    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, name);
    sqlite3_bind_int64(st, 2, wr_now_ms());
    return wr__store_step(store, st, err);
}

int wr_store_definition_errors(wr_store_t *store, const char *path, const char *problems,
                               wr_err_t *err)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = wr__store_tx_begin(store, err)) != 0)
        return rc;
    if (problems != NULL) {
        st = q(store, Q_DEF_ERR_SET,
               "INSERT INTO definition_errors (path, errors, updated_at) VALUES (?1, ?2, ?3) "
               "ON CONFLICT (path) DO UPDATE SET errors = excluded.errors, "
               "updated_at = excluded.updated_at",
               err);
    } else {
        st = q(store, Q_DEF_ERR_CLEAR, "DELETE FROM definition_errors WHERE path = ?1", err);
    }
    if (st == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, path);
    if (problems != NULL) {
        wr__store_bind_text(st, 2, problems);
        sqlite3_bind_int64(st, 3, wr_now_ms());
    }
    if ((rc = wr__store_step(store, st, err)) != 0)
        goto done;
    if (problems != NULL) {
        /* The workflow this file held keeps running its last good version. */
        char *sql =
            sqlite3_mprintf("UPDATE workflows SET load_error = %Q WHERE path = %Q", problems, path);
        char *msg = NULL;
        if (sqlite3_exec(wr__store_db(store), sql, NULL, NULL, &msg) != SQLITE_OK) {
            rc = wr_err_set(err, WR_ESTORE, "database: %s", msg ? msg : "?");
            sqlite3_free(msg);
        }
        sqlite3_free(sql);
    }
done:
    return wr__store_tx_end(store, rc, err);
}

int wr_store_workflow_set_paused(wr_store_t *store, const char *name, bool paused, wr_err_t *err)
{
    sqlite3_stmt *st = q(store, Q_WF_PAUSED,
                         "UPDATE workflows SET paused = ?2, updated_at = ?3 WHERE name = ?1", err);
    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, name);
    sqlite3_bind_int(st, 2, paused ? 1 : 0);
    sqlite3_bind_int64(st, 3, wr_now_ms());
    return wr__store_step(store, st, err);
}

int wr_store_schedule_last(wr_store_t *store, int64_t workflow_id, int64_t *ts, bool *found,
                           wr_err_t *err)
{
    sqlite3_stmt *st =
        q(store, Q_SCHED_LAST, "SELECT last_fire FROM schedule_state WHERE workflow_id = ?1", err);
    if (st == NULL)
        return WR_ESTORE;
    sqlite3_bind_int64(st, 1, workflow_id);
    return lookup_i64(store, st, ts, found, err);
}

int wr_store_fire_exists(wr_store_t *store, int64_t workflow_id, const char *logical_date,
                         bool *exists, wr_err_t *err)
{
    int64_t one = 0;
    sqlite3_stmt *st = q(store, Q_FIRE_EXISTS,
                         "SELECT 1 FROM runs WHERE workflow_id = ?1 AND logical_date = ?2 AND "
                         "trigger = 'schedule'",
                         err);
    if (st == NULL)
        return WR_ESTORE;
    sqlite3_bind_int64(st, 1, workflow_id);
    wr__store_bind_text(st, 2, logical_date);
    return lookup_i64(store, st, &one, exists, err);
}

int wr_store_run_by_client_id(wr_store_t *store, int64_t workflow_id, const char *client_run_id,
                              char out[64], wr_err_t *err)
{
    sqlite3_stmt *st = q(store, Q_CLIENT_ID,
                         "SELECT id FROM runs WHERE workflow_id = ?1 AND client_run_id = ?2", err);
    int rc;

    out[0] = '\0';
    if (st == NULL)
        return WR_ESTORE;
    sqlite3_bind_int64(st, 1, workflow_id);
    wr__store_bind_text(st, 2, client_run_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        size_t n = strlen(id);
        if (n > 63)
            n = 63;
        memcpy(out, id, n);
        out[n] = '\0';
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return wr_err_set(err, WR_ESTORE, "database: %s", sqlite3_errmsg(wr__store_db(store)));
    return 0;
}

/* ==== Loading runs to resume ==== */

/* Runs matching `where` (a fixed SQL fragment with ?1 bound to `arg` when not NULL). */
static int load_runs(wr_store_t *store, const char *where, const char *arg, json_t **out,
                     wr_err_t *err)
{
    sqlite3 *db = wr__store_db(store);
    sqlite3_stmt *st = NULL, *tst = NULL;
    json_t *runs = json_array();
    char *sql;
    int rc = 0, step;

    sql = sqlite3_mprintf(
        "SELECT r.id, w.name, r.version_id, r.status, r.trigger, r.input, r.ds, "
        "r.logical_date, r.logical_ts, r.interval_start, r.interval_end "
        "FROM runs r JOIN workflows w ON w.id = r.workflow_id WHERE %s ORDER BY r.created_at",
        where);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT t.task, t.state, t.attempts, t.output, t.error, t.cause, "
                           "t.retry_counts, t.catch_error, t.retry_at, "
                           "(SELECT a.pid FROM attempts a WHERE a.run_id = t.run_id AND "
                           "a.task = t.task AND a.attempt = t.attempts) "
                           "FROM task_instances t WHERE t.run_id = ?1",
                           -1, &tst, NULL) != SQLITE_OK) {
        rc = wr_err_set(err, WR_ESTORE, "database: %s", sqlite3_errmsg(db));
        goto done;
    }
    if (arg != NULL)
        wr__store_bind_text(st, 1, arg);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *r = json_object(), *tasks = json_object();
        json_object_set_new(r, "id", wr__store_col_text(st, 0));
        json_object_set_new(r, "workflow", wr__store_col_text(st, 1));
        json_object_set_new(r, "version_id", json_integer(sqlite3_column_int64(st, 2)));
        json_object_set_new(r, "status", wr__store_col_text(st, 3));
        json_object_set_new(r, "trigger", wr__store_col_text(st, 4));
        json_object_set_new(r, "input", wr__store_col_json(st, 5));
        json_object_set_new(r, "ds", wr__store_col_text(st, 6));
        json_object_set_new(r, "logical_date", wr__store_col_text(st, 7));
        json_object_set_new(r, "logical_ts", json_integer(sqlite3_column_int64(st, 8)));
        json_object_set_new(r, "interval_start", wr__store_col_text(st, 9));
        json_object_set_new(r, "interval_end", wr__store_col_text(st, 10));
        sqlite3_reset(tst);
        wr__store_bind_text(tst, 1, (const char *)sqlite3_column_text(st, 0));
        while (sqlite3_step(tst) == SQLITE_ROW) {
            json_t *t = json_object();
            json_object_set_new(t, "state", wr__store_col_text(tst, 1));
            json_object_set_new(t, "attempts", json_integer(sqlite3_column_int64(tst, 2)));
            json_object_set_new(t, "output", wr__store_col_json(tst, 3));
            json_object_set_new(t, "error", wr__store_col_text(tst, 4));
            json_object_set_new(t, "cause", wr__store_col_text(tst, 5));
            json_object_set_new(t, "retry_counts", wr__store_col_json(tst, 6));
            json_object_set_new(t, "catch_error", wr__store_col_json(tst, 7));
            json_object_set_new(t, "retry_at", json_integer(sqlite3_column_int64(tst, 8)));
            json_object_set_new(t, "pid", json_integer(sqlite3_column_int64(tst, 9)));
            json_object_set_new(tasks, (const char *)sqlite3_column_text(tst, 0), t);
        }
        json_object_set_new(r, "tasks", tasks);
        json_array_append_new(runs, r);
    }
    if (step != SQLITE_DONE)
        rc = wr_err_set(err, WR_ESTORE, "database: %s", sqlite3_errmsg(db));
done:
    sqlite3_finalize(st);
    sqlite3_finalize(tst);
    sqlite3_free(sql);
    if (rc == 0)
        *out = runs;
    else
        json_decref(runs);
    return rc;
}

int wr_store_runs_unfinished(wr_store_t *store, json_t **out, wr_err_t *err)
{
    return load_runs(store, "r.status IN ('RUNNING', 'QUEUED')", NULL, out, err);
}

int wr_store_run_load(wr_store_t *store, const char *run_id, json_t **out, wr_err_t *err)
{
    json_t *runs = NULL;
    int rc = load_runs(store, "r.id = ?1", run_id, &runs, err);
    if (rc != 0)
        return rc;
    *out = json_incref(json_array_get(runs, 0));
    json_decref(runs);
    return 0;
}

int wr_store_version_source(wr_store_t *store, int64_t version_id, char **path, char **source,
                            wr_err_t *err)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(wr__store_db(store),
                           "SELECT path, source FROM workflow_versions WHERE id = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return wr_err_set(err, WR_ESTORE, "database: %s", sqlite3_errmsg(wr__store_db(store)));
    sqlite3_bind_int64(st, 1, version_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *path = wr_xstrdup((const char *)sqlite3_column_text(st, 0));
        *source = wr_xstrdup((const char *)sqlite3_column_text(st, 1));
    } else {
        rc = wr_err_set(err, WR_ENOTFOUND, "database: no definition version %lld",
                        (long long)version_id);
    }
    sqlite3_finalize(st);
    return rc;
}

int wr_store_attempt_pid(wr_store_t *store, const char *run_id, const char *task, int attempt,
                         int pid, wr_err_t *err)
{
    sqlite3_stmt *st = q(store, Q_ATTEMPT_PID,
                         "UPDATE attempts SET pid = ?4 WHERE run_id = ?1 AND task = ?2 AND "
                         "attempt = ?3",
                         err);
    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, run_id);
    wr__store_bind_text(st, 2, task);
    sqlite3_bind_int(st, 3, attempt);
    sqlite3_bind_int(st, 4, pid);
    return wr__store_step(store, st, err);
}

int wr_store_file_seen(wr_store_t *store, int64_t workflow_id, const char *path, bool *seen,
                       wr_err_t *err)
{
    int64_t one = 0;
    sqlite3_stmt *st = q(store, Q_FILE_SEEN,
                         "SELECT 1 FROM file_triggers WHERE workflow_id = ?1 AND path = ?2", err);
    if (st == NULL)
        return WR_ESTORE;
    sqlite3_bind_int64(st, 1, workflow_id);
    wr__store_bind_text(st, 2, path);
    return lookup_i64(store, st, &one, seen, err);
}

int wr_store_api_definitions(wr_store_t *store, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = q(store, Q_API_DEFS,
                         "SELECT w.name, v.path, v.source FROM workflows w JOIN workflow_versions "
                         "v ON v.id = w.current_version_id WHERE w.path LIKE 'api:%' AND "
                         "w.removed = 0 ORDER BY w.name",
                         err);
    json_t *a;
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    a = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name",
                                           (const char *)sqlite3_column_text(st, 0), "path",
                                           (const char *)sqlite3_column_text(st, 1), "source",
                                           (const char *)sqlite3_column_text(st, 2)));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        return wr_err_set(err, WR_ESTORE, "database: %s", sqlite3_errmsg(wr__store_db(store)));
    }
    *out = a;
    return 0;
}
