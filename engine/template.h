/* SPDX-License-Identifier: MIT
 * engine/template.h: `{{ name.path }}` templates in DAG task fields.
 *
 * A template is plain text substitution: strings render as they are, numbers, booleans and
 * null as JSON literals, objects and arrays as compact JSON. An expression is a dotted path
 * (`tasks.load.output.rows`, `input.files[0]`); anything else (filters, operators) is a
 * syntax error. Thread: any; no global state. */
#ifndef WR_ENGINE_TEMPLATE_H
#define WR_ENGINE_TEMPLATE_H

#include <jansson.h>

#include "engine/common.h"

#define WR_TEMPLATE_MAX_PARTS 32

/** A parsed expression: parts[0] is the root name; an index `[N]` is a part "N" with
 *  is_index set. Strings point into `storage`. */
typedef struct wr_tpl_expr_s {
    size_t n;
    const char *parts[WR_TEMPLATE_MAX_PARTS];
    unsigned char is_index[WR_TEMPLATE_MAX_PARTS];
    char storage[256];
} wr_tpl_expr_t;

/** Parses the text between `{{` and `}}` (spaces around it are ignored). */
WR_MUST_CHECK int wr_template_parse_expr(const char *text, size_t len, wr_tpl_expr_t *out,
                                         wr_err_t *err);

typedef int (*wr_tpl_visit_cb)(void *ctx, const wr_tpl_expr_t *expr, wr_err_t *err);

/** Calls `visit` for each template in `s`, in order; stops at the first non-zero return.
 *  An unclosed `{{` or a malformed expression is WR_ETEMPLATE. */
WR_MUST_CHECK int wr_template_scan(const char *s, wr_tpl_visit_cb visit, void *ctx, wr_err_t *err);

/** Returns the value of `expr`, borrowed from the caller's data, or NULL with err set
 *  (a missing value). */
typedef json_t *(*wr_tpl_resolve_cb)(void *ctx, const wr_tpl_expr_t *expr, wr_err_t *err);

/** Renders `s` into *out (caller frees). On a missing value returns WR_ETEMPLATE. */
WR_MUST_CHECK int wr_template_render(const char *s, wr_tpl_resolve_cb resolve, void *ctx,
                                     char **out, wr_err_t *err);

/** Renders every string inside `v` (recursively, keys untouched) into a new value (caller
 *  owns it). */
WR_MUST_CHECK int wr_template_render_json(const json_t *v, wr_tpl_resolve_cb resolve, void *ctx,
                                          json_t **out, wr_err_t *err);

/** Follows parts[from..n) inside `v`; borrowed result or NULL when absent. */
json_t *wr_template_follow(json_t *v, const wr_tpl_expr_t *expr, size_t from);

/** Appends the text form of `v` (see the header) to `b`. */
void wr_template_append_value(wr_buf_t *b, const json_t *v);

#endif
