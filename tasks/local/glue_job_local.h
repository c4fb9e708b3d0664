/* SPDX-License-Identifier: MIT
 * tasks/local/glue_job_local.h: the local providers of the Glue task types (glue_job and
 * crawler), and the connection lookup the two type files share. Thread: loop only. */
#ifndef WR_TASKS_LOCAL_GLUE_JOB_LOCAL_H
#define WR_TASKS_LOCAL_GLUE_JOB_LOCAL_H

#include "tasks/task.h"

typedef enum {
    WR_GLUE_PROVIDER_LOCAL = 0, /* the embedded provider */
    WR_GLUE_PROVIDER_AWS,       /* the AWS Glue API (not in this version) */
} wr_glue_provider_t;

/** The provider of `ta` from its connection: conf "connection", else weir.yaml's
 *  default_connection, else "local"; a name listed in weir.yaml `connections:` has a `type`
 *  (local or aws). Returns 0 with *provider and *name (borrowed) set, or -1 with `res` filled
 *  with Weir.InvalidConnection (undefined connection, bad type). */
int wr__glue_provider(const wr_task_attempt_t *ta, wr_glue_provider_t *provider, const char **name,
                      wr_task_result_t *res);

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
