/* SPDX-License-Identifier: MIT
 * engine/asl_run.h: one execution of an Amazon States Language state machine.
 *
 * The interpreter runs on the engine's loop and never blocks: Task states are task attempts
 * (tasks/task.h) that report back through a callback, Wait states and retry delays are
 * uv timers, and Parallel branches and Map iterations are child executions interleaved one
 * state transition at a time on a ready queue (up to MaxConcurrency at once). Every
 * transition is recorded as a Step Functions-style history event (ExecutionStarted,
 * <Type>StateEntered/Exited with input and output, TaskScheduled/Started/Succeeded/Failed/
 * TimedOut, ParallelState*, MapState*, MapIteration*, Execution*) before it is acted on.
 *
 * Thread: loop thread only. Lifecycle: wr_asl_run_start() -> the done callback, exactly
 * once, from the loop -> wr_asl_run_close(), which frees the run once its handles are
 * closed. */
#ifndef WR_ENGINE_ASL_RUN_H
#define WR_ENGINE_ASL_RUN_H

#include <jansson.h>

#include "engine/def_asl.h"
#include "engine/loop.h"

#define WR_ASL_PAYLOAD_MAX 262144 /* 256 KiB: AWS's limit on a state's input/output/result */

typedef struct wr_asl_run_s wr_asl_run_t;
typedef void (*wr_asl_run_done_cb)(wr_asl_run_t *run, void *data);

typedef struct wr_asl_run_opts_s {
    const char *run_id;  /* NULL: a new UUID */
    const char *trigger; /* "manual", "schedule", "api"...; NULL: "manual" */
    int64_t version_id;  /* the definition version (wr_store_definition_put) */
    /* For the daemon (all optional): */
    const char *logical_date;  /* the run's logical date (ISO 8601); NULL: its start */
    int64_t logical_ts;        /* Unix seconds of logical_date */
    const char *ds;            /* YYYY-MM-DD of the logical date */
    const char *client_run_id; /* the execution name a client chose */
    bool schedule_fire;        /* a scheduled fire: also advances the scheduler's record */
} wr_asl_run_opts_t;

/** Starts an execution of `asl` (borrowed: it must outlive the run) with `input` (any JSON
 *  value, borrowed; copied). The run row and ExecutionStarted are recorded before anything
 *  runs. On success the callback will be called exactly once, from the loop, and *out (if
 *  not NULL) is the run, owned by the caller (wr_asl_run_close after the callback). */
WR_MUST_CHECK int wr_asl_run_start(wr_engine_t *eng, const wr_asl_t *asl, const json_t *input,
                                   const wr_asl_run_opts_t *opts, wr_asl_run_done_cb cb, void *data,
                                   wr_asl_run_t **out, wr_err_t *err);
/** Continues execution `run_id` (RUNNING in the store) after a restart, rebuilt from the
 *  history it recorded: states that ended stay ended, a Wait waits what is left of it, a
 *  retry delay what is left of it, Map iterations and Parallel branches that ended are not
 *  run again (their outputs are in the history), variables and retry counters are restored,
 *  a waitForTaskToken task whose handler ended waits for its token again, and a Task attempt
 *  that was in flight fails with Weir.WorkerLost (its process group is killed if it outlived
 *  the previous daemon) and follows its Retry/Catch. `asl` must be the definition version
 *  the execution started with. Same contract as wr_asl_run_start() otherwise. Errors:
 *  WR_ENOTFOUND (no such run), WR_EINVALID (the run has ended, or its history does not fit
 *  the definition), WR_ESTORE. */
WR_MUST_CHECK int wr_asl_run_resume(wr_engine_t *eng, const wr_asl_t *asl, const char *run_id,
                                    wr_asl_run_done_cb cb, void *data, wr_asl_run_t **out,
                                    wr_err_t *err);

/** Stops an execution: running tasks are canceled, timers stopped; it ends ABORTED.
 *  Idempotent; a no-op once the run has ended. */
void wr_asl_run_abort(wr_asl_run_t *run, const char *why);
/** StopExecution: as wr_asl_run_abort(), and the execution's error and cause are `error`
 *  and `cause` (each may be NULL, as AWS allows). */
void wr_asl_run_stop(wr_asl_run_t *run, const char *error, const char *cause);
/** Shutdown: stops running task processes and every timer WITHOUT ending the execution (the
 *  stopped attempts are recorded as TaskInterrupted, no retry used), so that
 *  wr_asl_run_resume() continues it at the next start. The done callback is never called
 *  after this; close the run with wr_asl_run_close() once wr_asl_run_in_flight() is 0. */
void wr_asl_run_interrupt(wr_asl_run_t *run);
/** Task attempts started and not yet returned. */
int wr_asl_run_in_flight(const wr_asl_run_t *run);

/** A task token result for a `.waitForTaskToken` task of this run: `kind` is "success"
 *  (`output_json`: the task's result as JSON text), "failure" (`error`, `cause`; may be NULL)
 *  or "heartbeat" (restarts HeartbeatSeconds). Returns 0 when the token belongs to a task of
 *  this run that waits for it (the result is applied, or, while the handler still runs,
 *  applied when it ends), WR_ENOTFOUND otherwise (unknown, or that task is over), WR_EPARSE
 *  when output_json is not JSON, WR_EINVALID for an unknown kind or an output over 256 KiB. */
int wr_asl_run_task_token(wr_asl_run_t *run, const char *token, const char *kind,
                          const char *output_json, const char *error, const char *cause);
/** Task tokens end with ".<run id>": copies the run id of `token` into out (at most n bytes).
 *  False if it has none. Lets a daemon route a token without asking every run. */
bool wr_asl_token_run_id(const char *token, char *out, size_t n);
/** Frees a finished run once its handles are closed. NULL is a no-op. */
void wr_asl_run_close(wr_asl_run_t *run);

/** The run's id. Borrowed. */
const char *wr_asl_run_id(const wr_asl_run_t *run);
/** "RUNNING", "SUCCEEDED", "FAILED" or "ABORTED". */
const char *wr_asl_run_status(const wr_asl_run_t *run);
/** The `weir run --json` object: {"status","output"} or {"status","error","cause"} (error
 *  and cause may be null, as AWS reports a Fail state without them), plus "run_id".
 *  New reference. */
json_t *wr_asl_run_result_json(const wr_asl_run_t *run);

#endif
