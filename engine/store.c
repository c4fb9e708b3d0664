/* SPDX-License-Identifier: MIT
 * engine/store.c: the SQLite store. Opens in WAL mode, applies the compiled-in migrations
 * (schema/NNNN_*.sql) in order, tracked by PRAGMA user_version, and prepares every statement
 * once. Each public call is one transaction; a failed statement rolls the whole call back so
 * that the database never holds half a state change. */
#include "engine/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "engine/store_int.h"
#include "engine/store_schema.h"

#define STMT_MAP(XX)                                                                          \
    XX(BEGIN, "BEGIN IMMEDIATE")                                                              \
    XX(COMMIT, "COMMIT")                                                                      \
    XX(ROLLBACK, "ROLLBACK")                                                                  \
    XX(WF_INSERT, "INSERT INTO workflows (name, kind, created_at) VALUES (?1, ?2, ?3) "       \
                  "ON CONFLICT (name) DO UPDATE SET kind = excluded.kind")                    \
    XX(WF_ID, "SELECT id FROM workflows WHERE name = ?1")                                     \
    XX(VER_INSERT, "INSERT INTO workflow_versions (workflow_id, hash, path, source, "         \
                   "created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING")          \
    XX(VER_ID, "SELECT id FROM workflow_versions WHERE workflow_id = ?1 AND hash = ?2")       \
    XX(RUN_INSERT, "INSERT INTO runs (id, workflow_id, version_id, status, trigger, "         \
                   "logical_date, input, created_at) SELECT ?1, workflow_id, id, 'RUNNING', " \
                   "?3, ?4, ?5, ?6 FROM workflow_versions WHERE id = ?2")                     \
    XX(TI_INSERT, "INSERT INTO task_instances (run_id, task, state) VALUES (?1, ?2, "         \
                  "'pending')")                                                               \
    XX(TI_UPDATE, "UPDATE task_instances SET state = ?3, attempts = ?4, "                     \
                  "output = coalesce(?5, output), error = coalesce(?6, error), "              \
                  "cause = coalesce(?7, cause), "                                             \
                  "started_at = coalesce(started_at, CASE WHEN ?3 = 'running' THEN ?8 END), " \
                  "ended_at = CASE WHEN ?9 THEN ?8 ELSE ended_at END, "                       \
                  "retry_counts = coalesce(?10, retry_counts), "                              \
                  "catch_error = coalesce(?11, catch_error), retry_at = ?12 "                 \
                  "WHERE run_id = ?1 AND task = ?2")                                          \
    XX(AT_INSERT, "INSERT INTO attempts (run_id, task, attempt, state, token, started_at) "   \
                  "VALUES (?1, ?2, ?3, 'running', ?4, ?5)")                                   \
    XX(AT_END, "UPDATE attempts SET state = ?4, ended_at = ?5, output = ?6, error = ?7, "     \
               "cause = ?8 WHERE run_id = ?1 AND task = ?2 AND attempt = ?3 "                 \
               "AND ended_at IS NULL")                                                        \
    XX(LOG_PUT, "INSERT OR REPLACE INTO task_logs (run_id, task, attempt, stream, data, "     \
                "truncated) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                 \
    XX(EV_INSERT, "INSERT INTO events (run_id, ts, type, task, attempt, detail) "             \
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                          \
    XX(RUN_FINISH, "UPDATE runs SET status = ?2, output = ?3, error = ?4, cause = ?5, "       \
                   "ended_at = ?6 WHERE id = ?1")                                             \
    XX(EV_COUNT, "SELECT count(*) FROM events WHERE run_id = ?1")                             \
    XX(RUN_STATUS, "SELECT status FROM runs WHERE id = ?1")                                   \
    XX(BM_ADD, "INSERT OR IGNORE INTO job_bookmarks (job, file, run_id, added_at) "           \
               "VALUES (?1, ?2, ?3, ?4)")                                                     \
    XX(BM_FILES, "SELECT file FROM job_bookmarks WHERE job = ?1 ORDER BY file")

enum {
#define XX(name, sql) S_##name,
    STMT_MAP(XX)
#undef XX
        S__COUNT
};

static const char *const stmt_sql[] = {
#define XX(name, sql) sql,
    STMT_MAP(XX)
#undef XX
};

struct wr_store_s {
    sqlite3 *db;
    sqlite3_stmt *stmt[S__COUNT];
    wr_store_ext_t ext; /* statements of the other store_*.c files */
    bool batch;         /* wr_store_batch_begin(): calls join one open transaction */
    bool batch_failed;  /* a call inside the batch failed: it will be rolled back */
};

sqlite3 *wr__store_db(wr_store_t *store)
{
    return store->db;
}

static int db_error(wr_store_t *store, wr_err_t *err, const char *what)
{
    return wr_err_set(err, WR_ESTORE, "database: %s: %s", what, sqlite3_errmsg(store->db));
}

static int exec_sql(wr_store_t *store, const char *sql, const char *what, wr_err_t *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        wr_err_set(err, WR_ESTORE, "database: %s: %s", what, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return WR_ESTORE;
    }
    return 0;
}

int wr_store_schema_version(wr_store_t *store)
{
    sqlite3_stmt *st = NULL;
    int v = -1;

    if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(wr_store_t *store, wr_err_t *err)
{
    int have = wr_store_schema_version(store);

    if (have < 0)
        return db_error(store, err, "reading user_version");
    for (size_t i = 0; i < wr_schema_migration_count; i++) {
        const wr_migration_t *m = &wr_schema_migrations[i];
        char pragma[64];
        if (m->version <= have)
            continue;
        if (exec_sql(store, "BEGIN IMMEDIATE", "migration", err) != 0)
            return WR_ESTORE;
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m->version);
        if (exec_sql(store, m->sql, m->name, err) != 0 ||
            exec_sql(store, pragma, m->name, err) != 0) {
            sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
            return WR_ESTORE;
        }
        if (exec_sql(store, "COMMIT", m->name, err) != 0)
            return WR_ESTORE;
    }
    return 0;
}

static int store_open(const char *path, bool readonly, wr_store_t **out, wr_err_t *err)
{
    wr_store_t *store = wr_xcalloc(1, sizeof(*store));
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc;

    rc = sqlite3_open_v2(path, &store->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = wr_err_set(err, WR_ESTORE, "%s: cannot open database: %s", path,
                        store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
        goto done;
    }
    /* A second writer (another `weir run` on the same file) waits briefly instead of failing
     * at once; each of our transactions is short. */
    sqlite3_busy_timeout(store->db, 5000);
    if (readonly) {
        int have = wr_store_schema_version(store);
        int want = wr_schema_migration_count > 0
                       ? wr_schema_migrations[wr_schema_migration_count - 1].version
                       : 0;
        if (have != want) {
            rc = wr_err_set(err, WR_ESTORE, "%s: database schema version %d, expected %d", path,
                            have, want);
            goto done;
        }
    } else {
        /* WAL + synchronous=NORMAL: a commit survives a crash or kill -9 of the process (only
         * a power loss may drop the last commits), and readers never block the writer. */
        if ((rc = exec_sql(store,
                           "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                           "PRAGMA foreign_keys=ON;",
                           path, err)) != 0)
            goto done;
        if ((rc = migrate(store, err)) != 0)
            goto done;
    }
    for (int i = 0; i < S__COUNT; i++) {
        if (sqlite3_prepare_v3(store->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &store->stmt[i], NULL) != SQLITE_OK) {
            rc = db_error(store, err, stmt_sql[i]);
            goto done;
        }
    }
    *out = store;
    store = NULL;
    rc = 0;
done:
    wr_store_close(store);
    return rc;
}

int wr_store_open(const char *path, wr_store_t **out, wr_err_t *err)
{
    return store_open(path, false, out, err);
}

int wr_store_open_readonly(const char *path, wr_store_t **out, wr_err_t *err)
{
    return store_open(path, true, out, err);
}

void wr_store_close(wr_store_t *store)
{
    if (store == NULL)
        return;
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(store->stmt[i]);
    for (size_t i = 0; i < WR_STORE_EXT_MAX; i++)
        sqlite3_finalize(store->ext.stmt[i]);
    sqlite3_close(store->db);
    free(store);
}

/* ==== Statement helpers ==== */

static sqlite3_stmt *stmt(wr_store_t *store, int which)
{
    sqlite3_stmt *st = store->stmt[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static int step_done(wr_store_t *store, sqlite3_stmt *st, wr_err_t *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_error(store, err, sqlite3_sql(st));
    return 0;
}

static int tx_begin(wr_store_t *store, wr_err_t *err)
{
    if (store->batch)
        return 0; /* the batch's transaction is open */
    return step_done(store, stmt(store, S_BEGIN), err);
}

int wr__store_tx_begin(wr_store_t *store, wr_err_t *err)
{
    return tx_begin(store, err);
}

static int tx_end(wr_store_t *store, int rc, wr_err_t *err);

int wr__store_tx_end(wr_store_t *store, int rc, wr_err_t *err)
{
    return tx_end(store, rc, err);
}

sqlite3_stmt *wr__store_stmt(wr_store_t *store, size_t slot, const char *sql, wr_err_t *err)
{
    sqlite3_stmt **st = &store->ext.stmt[slot];

    if (*st == NULL &&
        sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        db_error(store, err, sql);
        return NULL;
    }
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return *st;
}

int wr__store_step(wr_store_t *store, sqlite3_stmt *st, wr_err_t *err)
{
    return step_done(store, st, err);
}

static int tx_end(wr_store_t *store, int rc, wr_err_t *err)
{
    if (store->batch) {
        if (rc != 0)
            store->batch_failed = true;
        return rc;
    }
    if (rc == 0)
        rc = step_done(store, stmt(store, S_COMMIT), err);
    if (rc != 0 && !sqlite3_get_autocommit(store->db))
        sqlite3_step(stmt(store, S_ROLLBACK)), sqlite3_reset(store->stmt[S_ROLLBACK]);
    return rc;
}

int wr_store_batch_begin(wr_store_t *store, wr_err_t *err)
{
    int rc;

    if (store->batch)
        return 0;
    if ((rc = step_done(store, stmt(store, S_BEGIN), err)) != 0)
        return rc;
    store->batch = true;
    store->batch_failed = false;
    return 0;
}

int wr_store_batch_end(wr_store_t *store, wr_err_t *err)
{
    int rc = 0;

    if (!store->batch)
        return 0;
    store->batch = false;
    if (store->batch_failed)
        rc = wr_err_set(err, WR_ESTORE, "database: a change of the batch failed");
    return tx_end(store, rc, err);
}

int wr__store_event_insert(wr_store_t *store, const char *run_id, int64_t ts, const char *type,
                           const char *task, int attempt, const char *detail, wr_err_t *err)
{
    sqlite3_stmt *st = stmt(store, S_EV_INSERT);
    wr__store_bind_text(st, 1, run_id);
    sqlite3_bind_int64(st, 2, ts);
    wr__store_bind_text(st, 3, type);
    wr__store_bind_text(st, 4, task);
    if (attempt > 0)
        sqlite3_bind_int(st, 5, attempt);
    wr__store_bind_text(st, 6, detail ? detail : "{}");
    return step_done(store, st, err);
}

/* ==== Definitions ==== */

static int lookup_id(wr_store_t *store, sqlite3_stmt *st, int64_t *id, wr_err_t *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    return db_error(store, err, "lookup");
}

int wr_store_definition_put(wr_store_t *store, const char *name, const char *kind, const char *path,
                            const char *source, const char *hash, int64_t *version_id,
                            wr_err_t *err)
{
    int64_t now = wr_now_ms(), wf_id = 0;
    sqlite3_stmt *st;
    int rc;

    if ((rc = tx_begin(store, err)) != 0)
        return rc;
    st = stmt(store, S_WF_INSERT);
    wr__store_bind_text(st, 1, name);
    wr__store_bind_text(st, 2, kind);
    sqlite3_bind_int64(st, 3, now);
    if ((rc = step_done(store, st, err)) != 0)
        goto done;
    st = stmt(store, S_WF_ID);
    wr__store_bind_text(st, 1, name);
    if ((rc = lookup_id(store, st, &wf_id, err)) != 0)
        goto done;
    st = stmt(store, S_VER_INSERT);
    sqlite3_bind_int64(st, 1, wf_id);
    wr__store_bind_text(st, 2, hash);
    wr__store_bind_text(st, 3, path);
    wr__store_bind_text(st, 4, source);
    sqlite3_bind_int64(st, 5, now);
    if ((rc = step_done(store, st, err)) != 0)
        goto done;
    st = stmt(store, S_VER_ID);
    sqlite3_bind_int64(st, 1, wf_id);
    wr__store_bind_text(st, 2, hash);
    rc = lookup_id(store, st, version_id, err);
done:
    return tx_end(store, rc, err);
}

/* ==== Runs ==== */

int wr_store_run_create(wr_store_t *store, const char *run_id, int64_t version_id,
                        const char *trigger, const char *logical_date, const char *input_json,
                        const char *const *tasks, size_t n_tasks, wr_err_t *err)
{
    int64_t now = wr_now_ms();
    sqlite3_stmt *st;
    int rc;

    if ((rc = tx_begin(store, err)) != 0)
        return rc;
    st = stmt(store, S_RUN_INSERT);
    wr__store_bind_text(st, 1, run_id);
    sqlite3_bind_int64(st, 2, version_id);
    wr__store_bind_text(st, 3, trigger);
    wr__store_bind_text(st, 4, logical_date);
    wr__store_bind_text(st, 5, input_json);
    sqlite3_bind_int64(st, 6, now);
    if ((rc = step_done(store, st, err)) != 0)
        goto done;
    if (sqlite3_changes(store->db) != 1) {
        rc = wr_err_set(err, WR_ESTORE, "database: no definition version %lld",
                        (long long)version_id);
        goto done;
    }
    for (size_t i = 0; i < n_tasks; i++) {
        st = stmt(store, S_TI_INSERT);
        wr__store_bind_text(st, 1, run_id);
        wr__store_bind_text(st, 2, tasks[i]);
        if ((rc = step_done(store, st, err)) != 0)
            goto done;
    }
    rc = wr__store_event_insert(store, run_id, now, "RunStarted", NULL, 0, NULL, err);
done:
    return tx_end(store, rc, err);
}

static bool state_is_terminal(const char *s)
{
    return strcmp(s, "succeeded") == 0 || strcmp(s, "failed") == 0 || strcmp(s, "caught") == 0 ||
           strcmp(s, "upstream_failed") == 0 || strcmp(s, "skipped") == 0;
}

static int log_put(wr_store_t *store, const wr_task_change_t *ch, const char *stream,
                   const char *data, wr_err_t *err)
{
    sqlite3_stmt *st = stmt(store, S_LOG_PUT);
    wr__store_bind_text(st, 1, ch->run_id);
    wr__store_bind_text(st, 2, ch->task);
    sqlite3_bind_int(st, 3, ch->attempt);
    wr__store_bind_text(st, 4, stream);
    wr__store_bind_text(st, 5, data);
    sqlite3_bind_int(st, 6, ch->log_truncated ? 1 : 0);
    return step_done(store, st, err);
}

/* Effects that must commit with a task's success (and only with it). */
static int apply_commit(wr_store_t *store, const wr_task_change_t *ch, int64_t now, wr_err_t *err)
{
    json_t *bm = json_object_get(ch->commit, "bookmark");
    const char *job = json_string_value(json_object_get(bm, "job"));
    json_t *files = json_object_get(bm, "files"), *f;
    size_t i;
    int rc;

    if (bm == NULL)
        return 0;
    if (job == NULL || !json_is_array(files))
        return wr_err_set(err, WR_EINVALID, "bookmark: needs 'job' and 'files'");
    json_array_foreach(files, i, f)
    {
        sqlite3_stmt *st = stmt(store, S_BM_ADD);
        wr__store_bind_text(st, 1, job);
        wr__store_bind_text(st, 2, json_string_value(f));
        wr__store_bind_text(st, 3, ch->run_id);
        sqlite3_bind_int64(st, 4, now);
        if ((rc = step_done(store, st, err)) != 0)
            return rc;
    }
    return 0;
}

static int log_live(wr_store_t *store, const char *run_id, const char *task, int attempt,
                    const char *stream, const char *data, size_t len, wr_err_t *err)
{
    sqlite3_stmt *st = stmt(store, S_LOG_PUT);
    wr__store_bind_text(st, 1, run_id);
    wr__store_bind_text(st, 2, task);
    sqlite3_bind_int(st, 3, attempt);
    wr__store_bind_text(st, 4, stream);
    sqlite3_bind_text(st, 5, data, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 6, 0);
    return step_done(store, st, err);
}

int wr_store_logs_live(wr_store_t *store, const char *run_id, const char *task, int attempt,
                       const char *out, size_t out_len, const char *err_text, size_t err_len,
                       wr_err_t *err)
{
    int rc;

    if ((rc = tx_begin(store, err)) != 0)
        return rc;
    if ((rc = log_live(store, run_id, task, attempt, "stdout", out, out_len, err)) == 0)
        rc = log_live(store, run_id, task, attempt, "stderr", err_text, err_len, err);
    return tx_end(store, rc, err);
}

int wr_store_bookmark_files(wr_store_t *store, const char *job, json_t **files, wr_err_t *err)
{
    sqlite3_stmt *st = stmt(store, S_BM_FILES);
    json_t *a = json_array();
    int rc;

    wr__store_bind_text(st, 1, job);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(a, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        return db_error(store, err, "reading bookmarks");
    }
    *files = a;
    return 0;
}

int wr_store_task_change(wr_store_t *store, const wr_task_change_t *ch, wr_err_t *err)
{
    int64_t now = wr_now_ms();
    bool terminal = state_is_terminal(ch->state);
    sqlite3_stmt *st;
    wr_buf_t detail;
    int rc;

    wr_buf_init(&detail);
    if ((rc = tx_begin(store, err)) != 0)
        return rc;
    st = stmt(store, S_TI_UPDATE);
    wr__store_bind_text(st, 1, ch->run_id);
    wr__store_bind_text(st, 2, ch->task);
    wr__store_bind_text(st, 3, ch->state);
    sqlite3_bind_int(st, 4, ch->attempts);
    wr__store_bind_text(st, 5, ch->output);
    wr__store_bind_text(st, 6, ch->error);
    wr__store_bind_text(st, 7, ch->cause);
    sqlite3_bind_int64(st, 8, now);
    sqlite3_bind_int(st, 9, terminal ? 1 : 0);
    wr__store_bind_text(st, 10, ch->retry_counts);
    wr__store_bind_text(st, 11, ch->catch_error);
    if (ch->retry_at > 0)
        sqlite3_bind_int64(st, 12, ch->retry_at);
    if ((rc = step_done(store, st, err)) != 0)
        goto done;
    if (ch->event != NULL && strcmp(ch->event, "TaskStarted") == 0) {
        st = stmt(store, S_AT_INSERT);
        wr__store_bind_text(st, 1, ch->run_id);
        wr__store_bind_text(st, 2, ch->task);
        sqlite3_bind_int(st, 3, ch->attempt);
        wr__store_bind_text(st, 4, ch->token ? ch->token : "");
        sqlite3_bind_int64(st, 5, now);
        if ((rc = step_done(store, st, err)) != 0)
            goto done;
    } else if (ch->attempt > 0) {
        st = stmt(store, S_AT_END);
        wr__store_bind_text(st, 1, ch->run_id);
        wr__store_bind_text(st, 2, ch->task);
        sqlite3_bind_int(st, 3, ch->attempt);
        wr__store_bind_text(st, 4, ch->error ? "failed" : "succeeded");
        sqlite3_bind_int64(st, 5, now);
        wr__store_bind_text(st, 6, ch->output);
        wr__store_bind_text(st, 7, ch->error);
        wr__store_bind_text(st, 8, ch->cause);
        if ((rc = step_done(store, st, err)) != 0)
            goto done;
        if (ch->log_stdout != NULL && (rc = log_put(store, ch, "stdout", ch->log_stdout, err)))
            goto done;
        if (ch->log_stderr != NULL && (rc = log_put(store, ch, "stderr", ch->log_stderr, err)))
            goto done;
    }
    if (ch->commit != NULL && strcmp(ch->state, "succeeded") == 0 &&
        (rc = apply_commit(store, ch, now, err)) != 0)
        goto done;
    rc = wr__store_event_insert(store, ch->run_id, now, ch->event ? ch->event : ch->state, ch->task,
                                ch->attempt, ch->detail, err);
done:
    wr_buf_dispose(&detail);
    return tx_end(store, rc, err);
}

int wr_store_run_finish(wr_store_t *store, const char *run_id, const char *status,
                        const char *output_json, const char *error, const char *cause,
                        wr_err_t *err)
{
    int64_t now = wr_now_ms();
    sqlite3_stmt *st;
    char event[32];
    int rc;

    if ((rc = tx_begin(store, err)) != 0)
        return rc;
    st = stmt(store, S_RUN_FINISH);
    wr__store_bind_text(st, 1, run_id);
    wr__store_bind_text(st, 2, status);
    wr__store_bind_text(st, 3, output_json);
    wr__store_bind_text(st, 4, error);
    wr__store_bind_text(st, 5, cause);
    sqlite3_bind_int64(st, 6, now);
    if ((rc = step_done(store, st, err)) != 0)
        goto done;
    /* RunSucceeded, RunFailed, RunAborted */
    snprintf(event, sizeof(event), "Run%c%s", status[0], status + 1);
    for (char *p = event + 4; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    rc = wr__store_event_insert(store, run_id, now, event, NULL, 0, NULL, err);
done:
    return tx_end(store, rc, err);
}

int wr_store_event_append(wr_store_t *store, const char *run_id, const char *type, const char *task,
                          int attempt, const char *detail, wr_err_t *err)
{
    int rc;

    if ((rc = tx_begin(store, err)) != 0)
        return rc;
    rc = wr__store_event_insert(store, run_id, wr_now_ms(), type, task, attempt, detail, err);
    return tx_end(store, rc, err);
}

int64_t wr_store_event_count(wr_store_t *store, const char *run_id)
{
    sqlite3_stmt *st = stmt(store, S_EV_COUNT);
    int64_t n = -1;

    wr__store_bind_text(st, 1, run_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

int wr_store_run_status(wr_store_t *store, const char *run_id, char *out, size_t n)
{
    sqlite3_stmt *st = stmt(store, S_RUN_STATUS);
    int rc = WR_ENOTFOUND;

    wr__store_bind_text(st, 1, run_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 0;
    }
    sqlite3_reset(st);
    return rc;
}
