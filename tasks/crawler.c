/* SPDX-License-Identifier: MIT
 * tasks/crawler.c: the crawler task type, an AWS Glue crawler: infers tables from a folder
 * tree into the data catalog (DESIGN.md §4, engine/catalog.h).
 *
 * One vtable entry; the provider is chosen per attempt from the task's connection (see
 * wr__task_provider() in tasks/provider.c): "local" runs a child `weir crawl`
 * (tasks/local/crawler_local.c); `type: aws` fails with Weir.NotImplemented naming the
 * connection. */
#include "tasks/task.h"
#include "tasks/provider.h"

#include <string.h>

#include "engine/run.h"
#include "tasks/local/glue_job_local.h"

static const wr_param_t crawler_params[] = {
    {"crawler", WR_PARAM_STRING, true},
    {"path", WR_PARAM_STRING, false},
    {"database", WR_PARAM_STRING, false},
    {"table_prefix", WR_PARAM_STRING, false},
    WR_PARAM_END,
};

static int crawler_start(wr_task_attempt_t *ta, wr_err_t *err)
{
    const json_t *conn = NULL;

    if (!wr__task_local_only(ta, "StartCrawler, GetCrawler", &conn))
        return 0;
    return wr__crawler_local_start(ta, err);
}

const wr_task_type_t wr_task_crawler = {
    .abi = WR_TASK_ABI,
    .name = "crawler",
    .params = crawler_params,
    .start = crawler_start,
    .cancel = wr__crawler_local_cancel,
};
