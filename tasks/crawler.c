/* SPDX-License-Identifier: MIT
 * tasks/crawler.c: the crawler task type, an AWS Glue crawler: infers tables from a folder into the catalog.
 * Its fields are validated; it has no provider yet, so an attempt fails with
 * Weir.NotImplemented (see tasks/not_yet.c). */
#include "tasks/task.h"

#include <string.h>

#include "tasks/not_yet.h"

static const wr_param_t crawler_params[] = {
    {"crawler", WR_PARAM_STRING, true},
    {"path", WR_PARAM_STRING, false},
    {"database", WR_PARAM_STRING, false},
    {"table_prefix", WR_PARAM_STRING, false},
    WR_PARAM_END,
};

const wr_task_type_t wr_task_crawler = {
    .abi = WR_TASK_ABI,
    .name = "crawler",
    .params = crawler_params,
    .start = wr__task_start_not_implemented,
    .cancel = wr__task_cancel_nothing,
};
