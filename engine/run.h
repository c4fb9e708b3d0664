/* SPDX-License-Identifier: MIT
 * engine/run.h: one run of a DAG: readiness, trigger rules, retries, timeouts and catches
 * (DESIGN.md §3.1.1), every state change written to the store before it is acted on.
 *
 * Thread: loop thread only. Lifecycle: wr_run_start() -> the done callback, exactly once,
 * from the loop -> wr_run_close(), which frees the run once its handles are closed. */
#ifndef WR_ENGINE_RUN_H
#define WR_ENGINE_RUN_H

#include <jansson.h>

#include "engine/loop.h"
#include "engine/workflow.h"
#include "tasks/task.h"

typedef struct wr_run_s wr_run_t;
typedef void (*wr_run_done_cb)(wr_run_t *run, void *data);

typedef struct wr_run_opts_s {
    const char *run_id;       /* NULL: a new UUID */
    const char *trigger;      /* "manual", "schedule", "api"... */
    int64_t logical_ms;       /* logical date (Unix ms) */
    const char *ds;           /* YYYY-MM-DD of the logical date in the DAG's zone */
    const char *logical_date; /* ISO 8601 text of the logical date */
    const char *data_interval_start; /* NULL: the logical date */
    const char *data_interval_end;   /* NULL: the logical date */
    int64_t version_id;       /* the definition version the run uses */
} wr_run_opts_t;

/** Starts a run of `wf` (borrowed: it must outlive the run) with `input` (a JSON object,
 *  borrowed; copied). The run and its task instances are recorded before anything starts.
 *  On success the callback will be called exactly once. */
WR_MUST_CHECK int wr_run_start(wr_engine_t *eng, const wr_workflow_t *wf, const json_t *input,
                               const wr_run_opts_t *opts, wr_run_done_cb cb, void *data,
                               wr_run_t **out, wr_err_t *err);
/** Cancels a run: waiting tasks are dropped, running ones stopped (process groups killed);
 *  the run ends ABORTED. Idempotent; a no-op once the run has ended. */
void wr_run_abort(wr_run_t *run, const char *why);
/** Frees a finished run (after its callback) once its handles are closed. NULL is a no-op. */
void wr_run_close(wr_run_t *run);

/** The run's id. Borrowed. */
const char *wr_run_id(const wr_run_t *run);
/** "RUNNING", "SUCCEEDED", "FAILED" or "ABORTED". */
const char *wr_run_status(const wr_run_t *run);
/** The result object of the `weir run --json` contract: status, output or error/cause, and
 *  tasks with state and attempts. New reference. */
json_t *wr_run_result_json(const wr_run_t *run);

/** Defers a task's completion to the next loop iteration (for failures known at start). */
void wr_task_attempt_done_later(wr_task_attempt_t *ta, wr_task_result_t *res);

#endif
