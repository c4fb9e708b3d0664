/* SPDX-License-Identifier: MIT
 * engine/def_dag.h: DAG YAML files -> wr_workflow_t.
 *
 * Parsed with libyaml's document API; every node keeps its position, so every error names
 * `file:line:column`. Validation is complete at load: unknown and duplicate keys (with the
 * closest known key suggested), unknown task types, depends_on and catch targets, cycles,
 * bad durations, trigger rules, retry/catch lists and templates. Thread: any. */
#ifndef WR_ENGINE_DEF_DAG_H
#define WR_ENGINE_DEF_DAG_H

#include "engine/workflow.h"

#define WR_DEF_MAX_BYTES (4u << 20) /* definition files larger than this are refused */

/** Loads and validates the DAG in `path`. On success *out is owned by the caller
 *  (wr_workflow_free). On failure err holds the first problem (err->msg is the whole
 *  "file:line:column: message" text) and, if `all` is not NULL, *all receives every problem
 *  found, one per line (caller frees). */
WR_MUST_CHECK int wr_dag_load_file(const char *path, wr_workflow_t **out, char **all,
                                   wr_err_t *err);
/** As wr_dag_load_file(), from text in memory; `path` names it in messages and gives the
 *  default workflow name. */
WR_MUST_CHECK int wr_dag_load_string(const char *path, const char *text, size_t len,
                                     wr_workflow_t **out, char **all, wr_err_t *err);

/** Reads a whole file (at most `max` bytes) into a NUL-terminated heap string. */
WR_MUST_CHECK int wr_read_file(const char *path, size_t max, char **out, size_t *len,
                               wr_err_t *err);

/** True when the text looks like Amazon States Language (a top-level StartAt/States, or a
 *  `state_machine:` wrapper) rather than a DAG. */
bool wr_def_is_asl(const char *text, size_t len);

#endif
