/* SPDX-License-Identifier: MIT
 * tasks/local/glue_job_local.h: the local providers of the Glue task types (glue_job and
 * crawler). The provider is chosen in tasks/provider.c. Thread: loop only. */
#ifndef WR_TASKS_LOCAL_GLUE_JOB_LOCAL_H
#define WR_TASKS_LOCAL_GLUE_JOB_LOCAL_H

#include "tasks/task.h"

/** Runs the attempt's job with the local provider (tasks/local/glue_job_local.c). Same
 *  contract as a vtable `start`. */
WR_MUST_CHECK int wr__glue_job_local_start(wr_task_attempt_t *ta, wr_err_t *err);
/** Stops the job's process group (the attempt then ends). Idempotent; a no-op when the
 *  attempt holds no process. */
void wr__glue_job_local_cancel(wr_task_attempt_t *ta);

/** Runs the attempt's crawl with the local provider (tasks/local/crawler_local.c): a child
 *  `weir crawl`. Same contract as a vtable `start`. */
WR_MUST_CHECK int wr__crawler_local_start(wr_task_attempt_t *ta, wr_err_t *err);
/** Stops the crawl's process. Idempotent. */
void wr__crawler_local_cancel(wr_task_attempt_t *ta);

#endif
