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
    const char *run_id;              /* NULL: a new UUID */
    const char *trigger;             /* "manual", "schedule", "api"... */
    int64_t logical_ms;              /* logical date (Unix ms) */
    const char *ds;                  /* YYYY-MM-DD of the logical date in the DAG's zone */
    const char *logical_date;        /* ISO 8601 text of the logical date */
    const char *data_interval_start; /* NULL: the logical date */
    const char *data_interval_end;   /* NULL: the logical date */
    int64_t version_id;              /* the definition version the run uses */
    bool queued;                     /* create it QUEUED; it starts at wr_run_admit() */
    const char *client_run_id;       /* the id an API client chose, or NULL */
    bool schedule_fire;              /* a scheduled fire: also advances the scheduler's record */
    wr_limiter_t *task_limit;        /* the DAG's max_active_tasks limiter, or NULL; borrowed */
    const char *trigger_file;        /* a file trigger's file, recorded with the run */
} wr_run_opts_t;

/** Starts a run of `wf` (borrowed: it must outlive the run) with `input` (a JSON object,
 *  borrowed; copied). The run and its task instances are recorded before anything starts.
 *  On success the callback will be called exactly once. */
WR_MUST_CHECK int wr_run_start(wr_engine_t *eng, const wr_workflow_t *wf, const json_t *input,
                               const wr_run_opts_t *opts, wr_run_done_cb cb, void *data,
                               wr_run_t **out, wr_err_t *err);
/** Starts a run created queued: records it RUNNING and dispatches its first tasks. */
void wr_run_admit(wr_run_t *run);
/** True while a run created queued has not been admitted. */
bool wr_run_is_queued(const wr_run_t *run);

/** Continues a run recorded in the store (`state`, as wr_store_run_load() returns it) after a
 *  restart: succeeded and ended tasks stay as they are, tasks that were running when the
 *  process died fail their attempt with Weir.WorkerLost (their process group is stopped if
 *  it survived) and follow their Retry policy, retry waits resume, the rest is re-decided.
 *  With `retry`, a finished run is re-run instead: its failed, upstream_failed and aborted
 *  tasks and everything downstream of them go back to pending (attempt numbers continue)
 *  and the run is RUNNING again. `task_limit` as in wr_run_opts_t. */
WR_MUST_CHECK int wr_run_resume(wr_engine_t *eng, const wr_workflow_t *wf, const json_t *state,
                                bool retry, wr_limiter_t *task_limit, wr_run_done_cb cb, void *data,
                                wr_run_t **out, wr_err_t *err);

/** Shutdown: stops the running attempts and puts their tasks back to queued (recorded as
 *  TaskInterrupted, no retry used), so that the next start runs them again. The run does not
 *  end; its callback is never called after this. */
void wr_run_interrupt(wr_run_t *run);
/** Shutdown, first step: starts nothing new (tasks that become ready stay queued, retry waits
 *  stop) while running attempts go on. */
void wr_run_interrupt_waiting(wr_run_t *run);
/** Attempts started and not yet returned. */
int wr_run_in_flight(const wr_run_t *run);
/** The workflow the run uses. Borrowed. */
const wr_workflow_t *wr_run_workflow(const wr_run_t *run);

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
