/* SPDX-License-Identifier: MIT
 * tasks/not_yet.c: the shared hooks of task types that have no provider yet. */
#include "tasks/not_yet.h"

#include <string.h>

#include "engine/run.h"

int wr__task_start_not_implemented(wr_task_attempt_t *ta, wr_err_t *err)
{
    wr_task_result_t res;
    (void)err;
    memset(&res, 0, sizeof(res));
    wr_task_result_error(&res, "Weir.NotImplemented",
                         "task type '%s' has no provider in this version of weir yet",
                         ta->type->name);
    wr_task_attempt_done_later(ta, &res);
    return 0;
}

void wr__task_cancel_nothing(wr_task_attempt_t *ta)
{
    (void)ta; /* the attempt already ends on the next loop iteration */
}
