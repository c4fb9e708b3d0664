/* SPDX-License-Identifier: MIT
 * engine/query.h: read-only questions about workflows, runs, history, logs and API tokens,
 * answered in domain terms as JSON, for the REST API (web/) and the CLI.
 *
 * Thread: any thread, each on its own store; the web threads use read-only connections
 * (wr_store_open_readonly()). Every function leaves no statement open, so that the next call
 * on the same connection reads the latest commit (WAL snapshots end with each statement).
 * The only writes here are wr_query_token_create() and wr_query_token_revoke(), used by the
 * `weir token` CLI (a separate process with its own writable store), never by web threads.
 * Errors: 0 or a negative code (WR_ENOTFOUND when the thing asked about does not exist,
 * WR_EPARSE for a malformed argument such as a cursor, WR_ESTORE), detail in *err.
 * Ownership: every json_t **out receives a new reference the caller must json_decref(); strings
 * passed in are borrowed for the call. Times are ISO 8601 UTC strings ("...Z"). */
#ifndef WR_ENGINE_QUERY_H
#define WR_ENGINE_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/common.h"
#include "engine/store.h"

#define WR_QUERY_RUNS_LIMIT_DEFAULT   20
#define WR_QUERY_RUNS_LIMIT_MAX       200
#define WR_QUERY_EVENTS_LIMIT_DEFAULT 500
#define WR_QUERY_EVENTS_LIMIT_MAX     5000
#define WR_QUERY_LOG_CHUNK_MAX        (512u * 1024u) /* bytes of log returned per call */
#define WR_QUERY_NEXT_FIRES           3              /* next fire times listed per workflow */
#define WR_QUERY_LAST_RUNS            5              /* last runs listed per workflow */

/* ==== Workflows ==== */

/** Every workflow the store knows, as {"workflows": [W...], "definition_errors": [E...]},
 *  W = {name, kind, path, schedule, timezone, paused, removed, load_error, version_id,
 *  next_fire_times: [ISO...] (empty when unscheduled, paused or removed), last_runs: [R...]},
 *  E = {path, errors: [TEXT...], updated_at}. `now_s` (Unix seconds) anchors next fires. */
WR_MUST_CHECK int wr_query_workflows(wr_store_t *store, int64_t now_s, json_t **out, wr_err_t *err);

/** One workflow as in wr_query_workflows(), plus `source` (the current version's definition
 *  text) and `versions`: [{id, hash, path, created_at}], newest first. WR_ENOTFOUND if none. */
WR_MUST_CHECK int wr_query_workflow(wr_store_t *store, const char *name, int64_t now_s,
                                    json_t **out, wr_err_t *err);

/** Files of the DAG folder that do not load: [{path, errors: [TEXT...], updated_at}]. */
WR_MUST_CHECK int wr_query_definition_errors(wr_store_t *store, json_t **out, wr_err_t *err);

/* ==== Runs ==== */

typedef struct wr_query_runs_s {
    const char *workflow; /* required */
    const char *status;   /* RUNNING, QUEUED, SUCCEEDED, FAILED, ABORTED (any case); NULL: all */
    int limit;            /* 1..WR_QUERY_RUNS_LIMIT_MAX; 0: the default */
    const char *cursor;   /* from a previous page's next_cursor; NULL: the newest first */
} wr_query_runs_t;

/** A page of a workflow's runs, newest first: {"runs": [R...], "next_cursor": TEXT|null}.
 *  R = {id, workflow, status, trigger, logical_date, ds, created_at, ended_at, error}.
 *  WR_ENOTFOUND for an unknown workflow, WR_EPARSE for a bad cursor or status. */
WR_MUST_CHECK int wr_query_runs(wr_store_t *store, const wr_query_runs_t *q, json_t **out,
                                wr_err_t *err);

/** One run: the summary fields plus input, output, cause, client_run_id, version_id,
 *  interval_start, interval_end, and tasks: [{name, state, attempts, output, error, cause,
 *  started_at, ended_at, attempt_list: [{attempt, state, started_at, ended_at, output, error,
 *  cause}]}]. WR_ENOTFOUND if there is no such run. */
WR_MUST_CHECK int wr_query_run(wr_store_t *store, const char *run_id, json_t **out, wr_err_t *err);

/** True if `status` is a run status that will not change any more. */
bool wr_query_run_status_is_final(const char *status);

/** A run's history after event id `after` (0: from the start), oldest first, at most `limit`
 *  (0: the default): {"events": [{id, ts, type, task, attempt, detail}], "next_after": ID}.
 *  WR_ENOTFOUND if there is no such run. */
WR_MUST_CHECK int wr_query_events(wr_store_t *store, const char *run_id, int64_t after, int limit,
                                  json_t **out, wr_err_t *err);

/** The captured output of one attempt of a task, from byte `offset`, at most
 *  WR_QUERY_LOG_CHUNK_MAX bytes: {run_id, task, attempt, stream, offset, next_offset, size,
 *  data, truncated, complete}. `attempt` 0 means the latest; `stream` is "stdout" or
 *  "stderr". `complete` is true once the attempt has ended (its log will not grow).
 *  A task that has not started answers attempt 0 and no data. WR_ENOTFOUND for an unknown
 *  run, task or attempt. */
WR_MUST_CHECK int wr_query_task_logs(wr_store_t *store, const char *run_id, const char *task,
                                     int attempt, const char *stream, int64_t offset, json_t **out,
                                     wr_err_t *err);

/** Counters for /metrics: {"runs": {STATUS: N}, "attempts": {STATE: N}}. */
WR_MUST_CHECK int wr_query_metrics(wr_store_t *store, json_t **out, wr_err_t *err);

/* ==== Run list cursors (pure; exposed for tests) ==== */

/** Encodes the sort key of the last run of a page as an opaque URL-safe cursor. Caller owns
 *  the string (free()). */
char *wr_query_cursor_encode(int64_t created_at, const char *run_id);
/** Decodes a cursor; on success *run_id is a new string (free()). WR_EPARSE otherwise. */
WR_MUST_CHECK int wr_query_cursor_decode(const char *cursor, int64_t *created_at, char **run_id,
                                         wr_err_t *err);

/* ==== API tokens ==== */

/** Records a token by its SHA-256 hash (64 lowercase hex digits): role is viewer, operator or
 *  admin; name may be NULL. *id receives its id. A write: CLI only. */
WR_MUST_CHECK int wr_query_token_create(wr_store_t *store, const char *name, const char *role,
                                        const char *hash_hex, int64_t *id, wr_err_t *err);
/** The live (not revoked) token with this hash: {id, name, role, created_at}.
 *  WR_ENOTFOUND when there is none. */
WR_MUST_CHECK int wr_query_token_find(wr_store_t *store, const char *hash_hex, json_t **out,
                                      wr_err_t *err);
/** Every token, oldest first: [{id, name, role, created_at, revoked}] (never the hash). */
WR_MUST_CHECK int wr_query_tokens(wr_store_t *store, json_t **out, wr_err_t *err);
/** Revokes token `id`. WR_ENOTFOUND if there is no live token with that id. A write: CLI only. */
WR_MUST_CHECK int wr_query_token_revoke(wr_store_t *store, int64_t id, wr_err_t *err);

#endif
