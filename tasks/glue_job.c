/* SPDX-License-Identifier: MIT
 * tasks/glue_job.c: the glue_job task type, an AWS Glue job: runs a script with Glue-style arguments.
 * Its fields are validated; it has no provider yet, so an attempt fails with
 * Weir.NotImplemented (see tasks/not_yet.c). */
#include "tasks/task.h"

#include <string.h>

#include "tasks/not_yet.h"

static const wr_param_t glue_job_params[] = {
    {"job_name", WR_PARAM_STRING, false},
    {"script", WR_PARAM_STRING, false},
    {"arguments", WR_PARAM_OBJECT, false},
    {"inputs", WR_PARAM_OBJECT, false},
    {"output", WR_PARAM_STRING, false},
    {"from_catalog", WR_PARAM_STRING, false},
    {"bookmark", WR_PARAM_BOOL, false},
    {"max_concurrent_runs", WR_PARAM_INT, false},
    {"worker_type", WR_PARAM_STRING, false},
    {"number_of_workers", WR_PARAM_INT, false},
    {"wait", WR_PARAM_BOOL, false},
    WR_PARAM_END,
};

static int glue_job_validate(const json_t *conf, wr_err_t *err)
{
    if (!json_object_get(conf, "job_name") && !json_object_get(conf, "script"))
        return wr_err_set(err, WR_EINVALID, "glue_job needs 'job_name' or 'script'");
    return 0;
}

const wr_task_type_t wr_task_glue_job = {
    .abi = WR_TASK_ABI,
    .name = "glue_job",
    .params = glue_job_params,
    .validate = glue_job_validate,
    .start = wr__task_start_not_implemented,
    .cancel = wr__task_cancel_nothing,
};
