/* SPDX-License-Identifier: MIT
 * tasks/copy_to_redshift.c: the copy_to_redshift task type, a Redshift COPY: loads files into a warehouse table.
 * Its fields are validated; it has no provider yet, so an attempt fails with
 * Weir.NotImplemented (see tasks/not_yet.c). */
#include "tasks/task.h"

#include <string.h>

#include "tasks/not_yet.h"

static const wr_param_t copy_params[] = {
    {"table", WR_PARAM_STRING, false},
    {"from", WR_PARAM_STRING, false},
    {"columns", WR_PARAM_STRINGS, false},
    {"format", WR_PARAM_STRING, false},
    {"ignore_header", WR_PARAM_INT, false},
    {"delimiter", WR_PARAM_STRING, false},
    {"dateformat", WR_PARAM_STRING, false},
    {"timeformat", WR_PARAM_STRING, false},
    {"null_as", WR_PARAM_STRING, false},
    {"truncate", WR_PARAM_BOOL, false},
    {"iam_role", WR_PARAM_STRING, false},
    {"database", WR_PARAM_STRING, false},
    {"sql", WR_PARAM_STRING, false},
    WR_PARAM_END,
};

static int copy_validate(const json_t *conf, wr_err_t *err)
{
    bool sql = json_object_get(conf, "sql") != NULL;
    if (!sql && (!json_object_get(conf, "table") || !json_object_get(conf, "from")))
        return wr_err_set(err, WR_EINVALID,
                          "copy_to_redshift needs 'table' and 'from' (or 'sql')");
    return 0;
}

const wr_task_type_t wr_task_copy_to_redshift = {
    .abi = WR_TASK_ABI,
    .name = "copy_to_redshift",
    .params = copy_params,
    .validate = copy_validate,
    .start = wr__task_start_not_implemented,
    .cancel = wr__task_cancel_nothing,
};
