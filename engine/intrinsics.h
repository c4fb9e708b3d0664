/* SPDX-License-Identifier: MIT
 * engine/intrinsics.h: the States.* intrinsic functions of the Amazon States Language.
 *
 * An intrinsic call is the value of a `.$` field (or of ErrorPath/CausePath...):
 * `States.Format('x={}', $.x)`. Arguments are single-quoted strings (escapes `\'`, `\{`,
 * `\}`, `\\` only), numbers, true/false/null, paths (`$...`, `$$...`, `$var...`) and nested
 * calls. Parsing checks the function name and its argument count; evaluation resolves the
 * paths through a callback and applies the function as AWS Step Functions does (MathAdd
 * rounds its arguments, StringSplit splits on every character of the separator and drops
 * empty pieces, Format renders objects Java-style). Nesting is capped at
 * WR_INTRINSIC_MAX_DEPTH. Thread: any. */
#ifndef WR_ENGINE_INTRINSICS_H
#define WR_ENGINE_INTRINSICS_H

#include <stdbool.h>

#include <jansson.h>

#include "engine/common.h"
#include "engine/jsonpath.h"

#define WR_INTRINSIC_MAX_DEPTH 32

typedef struct wr_intrinsic_s wr_intrinsic_t; /* opaque */

/** Resolves a path argument: *out receives a new reference. On failure returns non-zero,
 *  with the error name (static, e.g. "States.Runtime") in *error and detail in err. */
typedef int (*wr_intrinsic_resolve_cb)(void *arg, const wr_jsonpath_t *path, json_t **out,
                                       const char **error, wr_err_t *err);

/** True when `text` is written as an intrinsic call (starts with "States."). */
bool wr_intrinsic_is_call(const char *text);
/** Parses a call. On success *out is owned by the caller (wr_intrinsic_free); WR_EPARSE with
 *  a message otherwise (unknown function, wrong argument count, bad syntax). */
WR_MUST_CHECK int wr_intrinsic_parse(const char *text, wr_intrinsic_t **out, wr_err_t *err);
/** Releases a parsed call. NULL is a no-op. */
void wr_intrinsic_free(wr_intrinsic_t *f);
/** Evaluates a call. *out receives a new reference. On failure returns non-zero with the
 *  error name in *error (static: "States.IntrinsicFailure", or what the resolver said). */
WR_MUST_CHECK int wr_intrinsic_eval(const wr_intrinsic_t *f, wr_intrinsic_resolve_cb resolve,
                                    void *arg, json_t **out, const char **error, wr_err_t *err);

#endif
