/* SPDX-License-Identifier: MIT
 * engine/store.h: durable state (definitions, runs, task instances, attempts, history, logs).
 *
 * The only module that speaks SQL. A wr_store_t owns one sqlite3 connection (WAL) and its
 * prepared statements, created by wr_store_open() and finalized by wr_store_close().
 * Thread: one wr_store_t per thread; only the loop's may write. One call, one transaction,
 * and every call that changes a state also appends its history event in that transaction.
 * Errors: 0 or a negative code (WR_ESTORE), detail in *err. Strings passed in are borrowed
 * for the duration of the call. */
#ifndef WR_ENGINE_STORE_H
#define WR_ENGINE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/common.h"

typedef struct wr_store_s wr_store_t; /* opaque */

/** Opens (creating and migrating) the database at `path`; ":memory:" for tests.
 *  On success *out is owned by the caller: release it with wr_store_close(). */
WR_MUST_CHECK int wr_store_open(const char *path, wr_store_t **out, wr_err_t *err);
/** Opens an existing database read-only (for the web threads: one per thread). It must be
 *  at the schema version this binary knows. Released with wr_store_close(). */
WR_MUST_CHECK int wr_store_open_readonly(const char *path, wr_store_t **out, wr_err_t *err);
/** Finalizes every statement and closes the connection. NULL is a no-op. */
void wr_store_close(wr_store_t *store);
/** The schema version the database is at (PRAGMA user_version). */
int wr_store_schema_version(wr_store_t *store);

/** Records a definition version (kind "dag" or "asl"): the workflow row is created on first
 *  sight, a version row when `hash` is new for it. *version_id receives the version's id. */
WR_MUST_CHECK int wr_store_definition_put(wr_store_t *store, const char *name, const char *kind,
                                          const char *path, const char *source, const char *hash,
                                          int64_t *version_id, wr_err_t *err);

/** Creates run `run_id` in state RUNNING with a task instance per name in `tasks` (state
 *  pending), and its RunStarted event. `input_json` is compact JSON. */
WR_MUST_CHECK int wr_store_run_create(wr_store_t *store, const char *run_id, int64_t version_id,
                                      const char *trigger, const char *logical_date,
                                      const char *input_json, const char *const *tasks,
                                      size_t n_tasks, wr_err_t *err);

/** A change of one task instance's state, with its history event. NULL fields are left as
 *  they are in the row (output/error/cause), or omitted from the event. */
typedef struct wr_task_change_s {
    const char *run_id;
    const char *task;
    const char *state;        /* the new task-instance state */
    int attempts;             /* tries started so far */
    int attempt;              /* the attempt this change concerns; 0 for none */
    const char *event;        /* history event type, e.g. "TaskSucceeded" */
    const char *output;       /* compact JSON, or NULL */
    const char *error;        /* error name, or NULL */
    const char *cause;        /* error cause, or NULL */
    const char *detail;       /* extra event detail as a JSON object text, or NULL */
    const char *token;        /* with event "TaskStarted": the attempt's idempotency token */
    const char *log_stdout;   /* with an attempt's end: captured stdout (tail), or NULL */
    const char *log_stderr;   /* with an attempt's end: captured stderr (tail), or NULL */
    bool log_truncated;       /* the logs hold only their tails */
    const json_t *commit;     /* with a success: effects recorded in the same transaction,
                                 {"bookmark": {"job": J, "files": [PATH...]}}; or NULL */
    const char *retry_counts; /* resume data: JSON array of retries used per retrier */
    const char *catch_error;  /* resume data: JSON {"Error","Cause"} for a catch target */
    int64_t retry_at;         /* resume data: when a retrying task runs again (Unix ms) */
} wr_task_change_t;

/** Applies `ch` in one transaction: the task_instances row, the attempts row (inserted on
 *  "TaskStarted", closed when the state is terminal or "retrying"), logs, and the event. */
WR_MUST_CHECK int wr_store_task_change(wr_store_t *store, const wr_task_change_t *ch,
                                       wr_err_t *err);

/** Ends a run: status SUCCEEDED, FAILED or ABORTED, with its output or error, and the
 *  matching Run* event. */
WR_MUST_CHECK int wr_store_run_finish(wr_store_t *store, const char *run_id, const char *status,
                                      const char *output_json, const char *error, const char *cause,
                                      wr_err_t *err);

/** Appends one history event (type, optional task/state name and attempt, detail as a JSON
 *  object text or NULL) in its own transaction. */
WR_MUST_CHECK int wr_store_event_append(wr_store_t *store, const char *run_id, const char *type,
                                        const char *task, int attempt, const char *detail,
                                        wr_err_t *err);

/** Replaces the logs of a running attempt with what it has written so far (one transaction;
 *  no history event: logs are not state). */
WR_MUST_CHECK int wr_store_logs_live(wr_store_t *store, const char *run_id, const char *task,
                                     int attempt, const char *out, size_t out_len,
                                     const char *err_text, size_t err_len, wr_err_t *err);

/** The files job `job` has already processed (its bookmark), as a new JSON array. */
WR_MUST_CHECK int wr_store_bookmark_files(wr_store_t *store, const char *job, json_t **files,
                                          wr_err_t *err);

/** Group commit: until wr_store_batch_end(), the changes of every call join one transaction,
 *  committed (or, if one of them failed, rolled back) at the end. For bursts of changes made
 *  in one loop turn that have no effect outside the database before the end (a caller about
 *  to act on a change ends the batch first). Not nested: a second begin is a no-op. */
WR_MUST_CHECK int wr_store_batch_begin(wr_store_t *store, wr_err_t *err);
/** Commits the batch; WR_ESTORE (rolled back) if a change inside it failed. */
WR_MUST_CHECK int wr_store_batch_end(wr_store_t *store, wr_err_t *err);

/** Number of history events recorded for `run_id` (-1 on error). */
int64_t wr_store_event_count(wr_store_t *store, const char *run_id);
/** Copies the run's status into out (NUL-terminated, at most `n` bytes). 0 if found. */
int wr_store_run_status(wr_store_t *store, const char *run_id, char *out, size_t n);

#endif
