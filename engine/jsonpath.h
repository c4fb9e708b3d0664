/* SPDX-License-Identifier: MIT
 * engine/jsonpath.h: JSONPath as the Amazon States Language uses it.
 *
 * A path starts at one of three roots: `$` (the state's input or result), `$$` (the context
 * object) or `$name` (the variable `name`). Then come selectors: `.field`, `['field']`,
 * `[n]` (negative counts from the end), `[*]` / `.*`, slices `[a:b:c]`, unions `[0,2]` /
 * `['a','b']`, recursive descent `..field` and filters `[?(@.x == 1 && @.y)]`.
 *
 * A *definite* path (only fields and single indexes: a "reference path" in ASL words)
 * selects one value and fails when it matches nothing; an indefinite one (wildcard, slice,
 * union, descent, filter) always yields an array of the matches, empty when nothing
 * matches, as AWS Step Functions does. Thread: any; parsed paths are immutable. */
#ifndef WR_ENGINE_JSONPATH_H
#define WR_ENGINE_JSONPATH_H

#include <stdbool.h>

#include <jansson.h>

#include "engine/common.h"

#define WR_JSONPATH_MAX_DEPTH 64   /* nesting of filters and descent: bounds the recursion */
#define WR_JSON_MAX_NESTING   2100 /* walks over documents: jansson parses at most 2048 levels */

typedef enum {
    WR_JP_ROOT_INPUT = 0, /* `$` */
    WR_JP_ROOT_CONTEXT,   /* `$$` */
    WR_JP_ROOT_VAR,       /* `$name` */
} wr_jp_root_t;

typedef struct wr_jsonpath_s wr_jsonpath_t; /* opaque */

/** Parses `text`. On success *out is owned by the caller (wr_jsonpath_free). On a syntax
 *  error returns WR_EPARSE with a message naming the position. */
WR_MUST_CHECK int wr_jsonpath_parse(const char *text, wr_jsonpath_t **out, wr_err_t *err);
/** Releases a parsed path. NULL is a no-op. */
void wr_jsonpath_free(wr_jsonpath_t *p);

/** The root the path starts from. */
wr_jp_root_t wr_jsonpath_root(const wr_jsonpath_t *p);
/** The variable name of a WR_JP_ROOT_VAR path (borrowed), else NULL. */
const char *wr_jsonpath_var(const wr_jsonpath_t *p);
/** The text the path was parsed from (borrowed). */
const char *wr_jsonpath_text(const wr_jsonpath_t *p);
/** True when the path has only field names and single indexes (a reference path). */
bool wr_jsonpath_is_definite(const wr_jsonpath_t *p);
/** True when the path is its root alone (`$`, `$$`, `$name`). */
bool wr_jsonpath_is_root(const wr_jsonpath_t *p);

/** Applies the path's selectors to `doc` (borrowed; the value of the path's root).
 *  A definite path: *out is the selected value (new reference), or WR_ENOTFOUND with a
 *  message when nothing matches. An indefinite path: *out is a new array of the matches.
 *  `doc` may be NULL (the root is missing): a definite path then fails. */
WR_MUST_CHECK int wr_jsonpath_eval(const wr_jsonpath_t *p, json_t *doc, json_t **out,
                                   wr_err_t *err);

/** Stores `value` (reference stolen, also on failure) at the definite input-rooted path `p`
 *  inside *doc, creating missing objects on the way; `$` alone replaces *doc. *doc is
 *  modified in place (the caller passes a copy it owns). Returns WR_EINVALID when the path
 *  runs into a value that is not an object (or an index outside an array). */
WR_MUST_CHECK int wr_jsonpath_set(const wr_jsonpath_t *p, json_t **doc, json_t *value,
                                  wr_err_t *err);

/** Deep JSON equality where numbers compare by value (1 == 1.0). */
bool wr_json_equal(const json_t *a, const json_t *b);
/** Compact JSON text of `v` (any JSON value) with reals in their shortest round-trip form
 *  (1.1, not jansson's 1.1000000000000001). Caller frees. Nesting is capped at
 *  WR_JSON_MAX_NESTING levels (deeper values are written as null). */
char *wr_json_dumps(const json_t *v);
/** Appends the shortest round-trip text of `d` (always with a '.' or exponent) to `b`. */
void wr_json_real_text(double d, wr_buf_t *b);

#endif
