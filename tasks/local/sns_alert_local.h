/* SPDX-License-Identifier: MIT
 * tasks/local/sns_alert_local.h: the local provider of sns_alert (see the .c file).
 * Thread: loop only. */
#ifndef WR_TASKS_LOCAL_SNS_ALERT_LOCAL_H
#define WR_TASKS_LOCAL_SNS_ALERT_LOCAL_H

#include "tasks/task.h"

/** Publishes the attempt's alert: stored in the weir database, printed to stderr, POSTed to
 *  the topic's webhook when one is configured. `conn` is the task's connection entry from
 *  weir.yaml (borrowed; NULL for the built-in "local"). Same contract as a vtable `start`. */
WR_MUST_CHECK int wr__sns_alert_local_start(wr_task_attempt_t *ta, const json_t *conn,
                                            wr_err_t *err);
/** Stops a webhook delivery in progress (the attempt then ends). Idempotent. */
void wr__sns_alert_local_cancel(wr_task_attempt_t *ta);

#endif
