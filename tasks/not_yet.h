/* SPDX-License-Identifier: MIT
 * tasks/not_yet.h: hooks for task types whose fields are known and validated but that have
 * no provider yet. Such an attempt fails with Weir.NotImplemented, which Retry and Catch can
 * handle like any other error. */
#ifndef WR_TASKS_NOT_YET_H
#define WR_TASKS_NOT_YET_H

#include "tasks/task.h"

/** A `start` that fails the attempt (on the next loop iteration) with Weir.NotImplemented. */
int wr__task_start_not_implemented(wr_task_attempt_t *ta, wr_err_t *err);
/** A `cancel` for attempts that end on their own at once. */
void wr__task_cancel_nothing(wr_task_attempt_t *ta);

#endif
