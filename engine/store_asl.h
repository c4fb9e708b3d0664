/* SPDX-License-Identifier: MIT
 * engine/store_asl.h: what state machine executions read back from the store: the recorded
 * history an interrupted execution is rebuilt from (engine/asl_run.c, wr_asl_run_resume), and
 * the read-only questions of the Step Functions API (web/sfn.c) about state machines and their
 * executions. Nothing here writes: executions record through engine/store.h.
 *
 * Thread: any thread, each on its own store (the web threads use read-only connections);
 * every function resets its statements before it returns, so the next call sees the latest
 * commit. Errors: 0 or a negative code (WR_ENOTFOUND when the thing asked about does not
 * exist, WR_ESTORE), detail in *err. Ownership: every json_t **out receives a new reference;
 * strings passed in are borrowed for the call. Times are Unix milliseconds. */
#ifndef WR_ENGINE_STORE_ASL_H
#define WR_ENGINE_STORE_ASL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/store.h"

/** One run's row: {id, workflow, kind, status, trigger, input (text), output (text|null),
 *  error, cause, client_run_id, version_id, created_at, ended_at (ms|null)}. */
WR_MUST_CHECK int wr_store_asl_run(wr_store_t *store, const char *run_id, json_t **out,
                                   wr_err_t *err);
/** A run's history, oldest first: [{id, ts, type, state, attempt, detail (object)}]. */
WR_MUST_CHECK int wr_store_asl_events(wr_store_t *store, const char *run_id, json_t **out,
                                      wr_err_t *err);
/** The run of workflow `workflow` an API client named `name` (its client_run_id), or whose
 *  id is `name`; shaped as wr_store_asl_run(). */
WR_MUST_CHECK int wr_store_asl_execution(wr_store_t *store, const char *workflow, const char *name,
                                         json_t **out, wr_err_t *err);
/** A page of a workflow's runs, newest first, as wr_store_asl_run() rows without input and
 *  output; `status` NULL for all; skips `offset` rows, at most `limit`. */
WR_MUST_CHECK int wr_store_asl_executions(wr_store_t *store, const char *workflow,
                                          const char *status, int64_t offset, int limit,
                                          json_t **out, wr_err_t *err);
/** A workflow: {name, kind, removed, source (current version), version_id, created_at,
 *  updated_at}. WR_ENOTFOUND when there is none. */
WR_MUST_CHECK int wr_store_asl_machine(wr_store_t *store, const char *name, json_t **out,
                                       wr_err_t *err);
/** Every state machine (kind "asl", not removed), by name: [{name, created_at}]. */
WR_MUST_CHECK int wr_store_asl_machines(wr_store_t *store, json_t **out, wr_err_t *err);

#endif
