/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz_template.c: `{{ name.path }}` templates (engine/template.c): the expression
 * parser on the raw bytes, then scanning, rendering and JSON rendering of the input as a task
 * field, with a resolver over a fixed document (strings, numbers, arrays, objects, a string
 * that is not UTF-8). Template strings come from DAG files (at most WR_DEF_MAX_BYTES). */
#include <stdbool.h>

#include "engine/def_dag.h"
#include "engine/template.h"
#include "tests/fuzz/fuzz.h"

static json_t *doc;

static json_t *fixed_doc(void)
{
    json_t *d =
        json_loads("{\"input\": {\"files\": [\"a.csv\", \"b.csv\"], \"n\": 3, \"x\": null},"
                   " \"tasks\": {\"load\": {\"output\": {\"rows\": 42, \"ok\": true,"
                   " \"ratio\": 0.5, \"list\": [1, [2, [3]], {\"k\": \"v\"}],"
                   " \"empty\": \"\"}}},"
                   " \"params\": {\"name\": \"w\\u00e9ir\", \"deep\": {\"a\": {\"b\": {}}}}}",
                   0, NULL);

    if (d == NULL)
        abort();
    /* Not valid UTF-8, with an embedded NUL: what a task's raw output may hold. */
    json_object_set_new(json_object_get(d, "params"), "bin", json_stringn_nocheck("\xff\0z", 3));
    return d;
}

static int visit(void *ctx, const wr_tpl_expr_t *expr, wr_err_t *err)
{
    (void)err;
    if (expr->n == 0 || expr->n > WR_TEMPLATE_MAX_PARTS)
        abort();
    (void)wr_template_follow((json_t *)ctx, expr, 0);
    return 0;
}

static json_t *resolve(void *ctx, const wr_tpl_expr_t *expr, wr_err_t *err)
{
    json_t *v = json_object_get((json_t *)ctx, expr->parts[0]);

    if (v != NULL)
        v = wr_template_follow(v, expr, 1);
    if (v == NULL)
        wr_err_set(err, WR_ETEMPLATE, "no value for '%s'", expr->parts[0]);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_tpl_expr_t expr;
    json_t *conf, *out = NULL;
    char *s, *rendered = NULL;
    wr_err_t err;

    if (size > WR_DEF_MAX_BYTES)
        return 0;
    if (doc == NULL)
        doc = fixed_doc();
    memset(&err, 0, sizeof(err));
    if (wr_template_parse_expr((const char *)data, size, &expr, &err) == 0)
        (void)wr_template_follow(doc, &expr, 0);
    s = fuzz_cstr(data, size);
    if (wr_template_scan(s, visit, doc, &err) != 0)
        memset(&err, 0, sizeof(err)); /* rejected: fine */
    if (wr_template_render(s, resolve, doc, &rendered, &err) == 0)
        free(rendered);
    conf = json_pack("{s:s?,s:[s?,{s:s?}],s:i}", "a", s, "b", s, "c", s, "n", 1);
    if (conf != NULL && wr_template_render_json(conf, resolve, doc, &out, &err) == 0)
        json_decref(out);
    json_decref(conf);
    free(s);
    return 0;
}
