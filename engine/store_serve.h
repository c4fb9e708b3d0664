/* SPDX-License-Identifier: MIT
 * engine/store_serve.h: what the daemon (engine/server.c) and resumable runs (engine/run.c)
 * record and read back: definitions as loaded from the DAG folder, the scheduler's last fire,
 * runs created queued or running, and everything needed to resume them after a crash.
 * Thread: the loop's writer connection. One call, one transaction. */
#ifndef WR_ENGINE_STORE_SERVE_H
#define WR_ENGINE_STORE_SERVE_H

#include <jansson.h>

#include "engine/store.h"

/** A new run's row. Strings borrowed for the call. */
typedef struct wr_run_row_s {
    const char *id;
    int64_t version_id;
    const char *status;  /* "RUNNING" or "QUEUED" (waiting for max_active_runs) */
    const char *trigger; /* manual, schedule, api, file */
    const char *logical_date;
    int64_t logical_ts; /* Unix seconds of the logical date */
    const char *ds;
    const char *interval_start, *interval_end;
    const char *input_json;
    const char *client_run_id; /* the id an API client chose, or NULL */
    bool schedule_fire;        /* also advance schedule_state to this logical date */
    const char *trigger_file;  /* a file trigger's file: recorded so it never fires twice */
} wr_run_row_t;

/** Creates a run, its pending task instances and its RunCreated/RunStarted event (and, for a
 *  scheduled fire, the scheduler's progress) in one transaction. */
WR_MUST_CHECK int wr_store_run_insert(wr_store_t *store, const wr_run_row_t *row,
                                      const char *const *tasks, size_t n_tasks, wr_err_t *err);
/** QUEUED -> RUNNING (or back to RUNNING for a retried run), with its event. */
WR_MUST_CHECK int wr_store_run_set_status(wr_store_t *store, const char *run_id, const char *status,
                                          const char *event, wr_err_t *err);

/** Records a definition loaded from `path`: the workflow row (created on first sight, marked
 *  present, its schedule/zone/path/current version updated) and its version. */
WR_MUST_CHECK int wr_store_definition_loaded(wr_store_t *store, const char *name, const char *kind,
                                             const char *path, const char *source, const char *hash,
                                             const char *schedule, const char *timezone,
                                             int64_t *workflow_id, int64_t *version_id,
                                             bool *paused, wr_err_t *err);
/** Marks a workflow whose file disappeared. */
WR_MUST_CHECK int wr_store_definition_removed(wr_store_t *store, const char *name, wr_err_t *err);
/** Records (problems != NULL) or clears the problems of a file that does not load; when the
 *  file held a known workflow, its load_error too. */
WR_MUST_CHECK int wr_store_definition_errors(wr_store_t *store, const char *path,
                                             const char *problems, wr_err_t *err);
/** Pauses or unpauses a workflow, with a history-free audit in its row. */
WR_MUST_CHECK int wr_store_workflow_set_paused(wr_store_t *store, const char *name, bool paused,
                                               wr_err_t *err);

/** The last scheduled fire of a workflow (Unix seconds), or *found = false. */
WR_MUST_CHECK int wr_store_schedule_last(wr_store_t *store, int64_t workflow_id, int64_t *ts,
                                         bool *found, wr_err_t *err);
/** True in *exists when a scheduled run exists for (workflow, logical_date). */
WR_MUST_CHECK int wr_store_fire_exists(wr_store_t *store, int64_t workflow_id,
                                       const char *logical_date, bool *exists, wr_err_t *err);
/** The run a client created with `client_run_id` for the workflow, copied into out[64]
 *  ("" when none). */
WR_MUST_CHECK int wr_store_run_by_client_id(wr_store_t *store, int64_t workflow_id,
                                            const char *client_run_id, char out[64], wr_err_t *err);

/** Every run not ended (RUNNING or QUEUED), oldest first, as a new JSON array of
 *  {id, workflow, version_id, status, trigger, input, ds, logical_date, logical_ts,
 *   interval_start, interval_end, tasks: {NAME: {state, attempts, output, error, cause,
 *   retry_counts, catch_error, retry_at, pid}}}. */
WR_MUST_CHECK int wr_store_runs_unfinished(wr_store_t *store, json_t **out, wr_err_t *err);
/** One run in the same shape (any status), or *out = NULL when there is none. */
WR_MUST_CHECK int wr_store_run_load(wr_store_t *store, const char *run_id, json_t **out,
                                    wr_err_t *err);
/** The source text and path of a definition version (caller frees both). */
WR_MUST_CHECK int wr_store_version_source(wr_store_t *store, int64_t version_id, char **path,
                                          char **source, wr_err_t *err);

/** True in *seen when `path` already started a run of the workflow (file triggers). */
WR_MUST_CHECK int wr_store_file_seen(wr_store_t *store, int64_t workflow_id, const char *path,
                                     bool *seen, wr_err_t *err);

/** The state machines created through the API (workflows whose path starts with "api:"
 *  and that are not removed), as a new array of {name, path, source}. */
WR_MUST_CHECK int wr_store_api_definitions(wr_store_t *store, json_t **out, wr_err_t *err);

/** Records the process group of a running attempt, so that a restart can stop it. */
WR_MUST_CHECK int wr_store_attempt_pid(wr_store_t *store, const char *run_id, const char *task,
                                       int attempt, int pid, wr_err_t *err);

#endif
