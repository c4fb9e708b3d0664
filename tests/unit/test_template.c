/* SPDX-License-Identifier: MIT
 * tests/unit/test_template.c: `{{ }}` parsing and rendering. */
#include "engine/template.h"

#include <stdlib.h>

#include "tests/unit/harness.h"

static json_t *data;

static json_t *resolve(void *ctx, const wr_tpl_expr_t *e, wr_err_t *err)
{
    json_t *v;
    (void)ctx;
    v = wr_template_follow(data, e, 0);
    if (v == NULL)
        wr_err_set(err, WR_ETEMPLATE, "missing %s", e->parts[0]);
    return v;
}

static void parse_dotted_and_index(void)
{
    wr_tpl_expr_t e;
    ASSERT_OK(wr_template_parse_expr(" tasks.load.output.files[2].name ", 33, &e, NULL));
    ASSERT_EQ(e.n, 6);
    ASSERT_STR_EQ(e.parts[0], "tasks");
    ASSERT_STR_EQ(e.parts[3], "files");
    ASSERT_STR_EQ(e.parts[4], "2");
    ASSERT(e.is_index[4]);
    ASSERT(!e.is_index[5]);
}

static void parse_rejects_filters_and_junk(void)
{
    wr_tpl_expr_t e;
    wr_err_t err;
    ASSERT_EQ(wr_template_parse_expr("ds | upper", 10, &e, &err), WR_ETEMPLATE);
    ASSERT_CONTAINS(err.msg, "bad template");
    ASSERT_EQ(wr_template_parse_expr("   ", 3, &e, &err), WR_ETEMPLATE);
    ASSERT_EQ(wr_template_parse_expr("a..b", 4, &e, &err), WR_ETEMPLATE);
    ASSERT_EQ(wr_template_parse_expr("a[x]", 4, &e, &err), WR_ETEMPLATE);
    ASSERT_EQ(wr_template_parse_expr("1abc", 4, &e, &err), WR_ETEMPLATE);
}

static int count_cb(void *ctx, const wr_tpl_expr_t *e, wr_err_t *err)
{
    (void)e;
    (void)err;
    (*(int *)ctx)++;
    return 0;
}

static void scan_counts_and_unclosed(void)
{
    int n = 0;
    wr_err_t err;
    ASSERT_OK(wr_template_scan("a {{ x }} b {{y.z}} c", count_cb, &n, NULL));
    ASSERT_EQ(n, 2);
    ASSERT_EQ(wr_template_scan("a {{ x ", count_cb, &n, &err), WR_ETEMPLATE);
    ASSERT_CONTAINS(err.msg, "unclosed");
}

static void render_types_as_text(void)
{
    char *out = NULL;
    data = json_loads("{\"s\":\"str\",\"i\":42,\"r\":1.5,\"b\":true,\"n\":null,"
                      "\"o\":{\"k\":[1,2]},\"a\":[\"x\"]}",
                      0, NULL);
    ASSERT_OK(wr_template_render("{{s}}|{{ i }}|{{r}}|{{b}}|{{n}}|{{o}}|{{a}}|{{ o.k[1] }}",
                                 resolve, NULL, &out, NULL));
    ASSERT_STR_EQ(out, "str|42|1.5|true|null|{\"k\":[1,2]}|[\"x\"]|2");
    free(out);
    json_decref(data);
}

static void render_missing_is_error(void)
{
    char *out = NULL;
    wr_err_t err;
    data = json_object();
    ASSERT_EQ(wr_template_render("x {{ nope }}", resolve, NULL, &out, &err), WR_ETEMPLATE);
    ASSERT(out == NULL);
    ASSERT_CONTAINS(err.msg, "nope");
    json_decref(data);
}

static void render_json_recurses_values_not_keys(void)
{
    json_t *in, *out = NULL;
    char *s;
    data = json_pack("{s:s}", "ds", "2026-01-02");
    in = json_loads("{\"{{ds}}\":[\"a-{{ds}}\",3,{\"k\":\"{{ ds }}\"}]}", 0, NULL);
    ASSERT_OK(wr_template_render_json(in, resolve, NULL, &out, NULL));
    s = json_dumps(out, JSON_COMPACT);
    ASSERT_STR_EQ(s, "{\"{{ds}}\":[\"a-2026-01-02\",3,{\"k\":\"2026-01-02\"}]}");
    free(s);
    json_decref(in);
    json_decref(out);
    json_decref(data);
}

static const wr_test_t tests[] = {
    {"parse_dotted_and_index", parse_dotted_and_index},
    {"parse_rejects_filters_and_junk", parse_rejects_filters_and_junk},
    {"scan_counts_and_unclosed", scan_counts_and_unclosed},
    {"render_types_as_text", render_types_as_text},
    {"render_missing_is_error", render_missing_is_error},
    {"render_json_recurses_values_not_keys", render_json_recurses_values_not_keys},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
