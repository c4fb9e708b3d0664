/* SPDX-License-Identifier: MIT
 * engine/policy.h: Retry and Catch decisions shared by DAG files and state machines.
 *
 * Error names follow Step Functions: `States.ALL` matches every error, `States.TaskFailed`
 * every error except `States.Timeout`, any other name only itself. `States.Runtime` is
 * terminal: no retrier or catcher matches it. Thread: any; pure functions. */
#ifndef WR_ENGINE_POLICY_H
#define WR_ENGINE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/workflow.h"

/** True if `error` is matched by one of the names in `errors`. */
bool wr_policy_matches(char *const *errors, size_t n, const char *error);
/** Index of the first retrier matching `error`, or -1. */
int wr_policy_find_retrier(const wr_retrier_t *r, size_t n, const char *error);
/** Index of the first catcher matching `error`, or -1. */
int wr_policy_find_catcher(const wr_catcher_t *c, size_t n, const char *error);
/** Milliseconds to wait before retry number `retry_no` (1 for the first retry of this
 *  retrier): interval × backoff^(retry_no-1), capped by max_delay; with full jitter a value
 *  drawn as `rand01` × that delay, rand01 in [0, 1). */
int64_t wr_policy_retry_delay(const wr_retrier_t *r, int retry_no, double rand01);

#endif
