/* SPDX-License-Identifier: MIT
 * tasks/local/copy_to_redshift_local.h: the local provider of copy_to_redshift (see the .c
 * file). Thread: loop only. */
#ifndef WR_TASKS_LOCAL_COPY_TO_REDSHIFT_LOCAL_H
#define WR_TASKS_LOCAL_COPY_TO_REDSHIFT_LOCAL_H

#include "tasks/task.h"

/** Starts the attempt's load (or SQL) as a child `weir load`. `conn` is the task's
 *  connection entry from weir.yaml (borrowed; NULL for the built-in "local"): its `dsn:`
 *  selects PostgreSQL, else its `warehouse:` (default ./warehouse.db) the SQLite file. Same
 *  contract as a vtable `start`. */
WR_MUST_CHECK int wr__copy_to_redshift_local_start(wr_task_attempt_t *ta, const json_t *conn,
                                                   wr_err_t *err);
/** Stops the child (its transaction is rolled back). Idempotent. */
void wr__copy_to_redshift_local_cancel(wr_task_attempt_t *ta);

#endif
