/* SPDX-License-Identifier: MIT
 * tasks/proc_task.h: running an attempt as a child process, shared by the task types that
 * do (local_transform, the local lambda_invoke provider).
 *
 * The attempt's result comes from the child's stdout: its last non-empty line (command
 * mode) or all of it (a Lambda handler's response). A non-zero exit is a failure named by a
 * `{"errorType", "errorMessage"}` object on that line, else States.TaskFailed with the exit
 * code and the last lines of stderr as the cause. Thread: loop only. */
#ifndef WR_TASKS_PROC_TASK_H
#define WR_TASKS_PROC_TASK_H

#include "engine/proc.h"
#include "tasks/task.h"

typedef enum {
    WR_RESULT_LAST_LINE = 0, /* the last non-empty stdout line, JSON if it parses */
    WR_RESULT_WHOLE,         /* all of stdout as JSON, else as its last line */
} wr_result_mode_t;

/** Starts `opts` for `ta`; the attempt ends when the process does. `extra_env` ("K=V",
 *  NULL-terminated, may be NULL) is added to ours along with WEIR_RUN_ID, WEIR_TASK,
 *  WEIR_ATTEMPT and WEIR_TOKEN. */
WR_MUST_CHECK int wr__task_spawn(wr_task_attempt_t *ta, const wr_proc_opts_t *opts,
                                 char **extra_env, wr_result_mode_t mode, wr_err_t *err);
/** Stops the attempt's process group (TERM, KILL after the engine's grace period). */
void wr__task_spawn_cancel(wr_task_attempt_t *ta);

/** Builds a result from a finished process (exposed for unit tests). `res` is filled. */
void wr__task_result_from_proc(const wr_proc_result_t *pr, wr_result_mode_t mode,
                               wr_task_result_t *res);

#endif
