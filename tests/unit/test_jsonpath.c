/* SPDX-License-Identifier: MIT
 * tests/unit/test_jsonpath.c: the ASL JSONPath dialect (engine/jsonpath.c): roots, definite
 * and indefinite paths, filters, slices, ResultPath-style assignment and serialising. */
#include "engine/jsonpath.h"

#include <stdlib.h>
#include <string.h>

#include "tests/unit/harness.h"

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    ASSERT(v != NULL);
    return v;
}

/* Evaluates `path` on `doc` and compares the compact result with `want` (NULL: must fail). */
static void check(const char *doc, const char *path, const char *want)
{
    json_t *d = J(doc), *out = NULL;
    wr_jsonpath_t *p = NULL;
    wr_err_t err;
    int rc;

    ASSERT_OK(wr_jsonpath_parse(path, &p, &err));
    rc = wr_jsonpath_eval(p, d, &out, &err);
    if (want == NULL) {
        ASSERT_EQ(rc, WR_ENOTFOUND);
    } else {
        char *s;
        ASSERT_OK(rc);
        s = wr_json_dumps(out);
        ASSERT_STR_EQ(s, want);
        free(s);
    }
    json_decref(out);
    json_decref(d);
    wr_jsonpath_free(p);
}

static void test_fields_and_indexes(void)
{
    check("{\"a\":{\"b\":[1,2,{\"c\":3}]}}", "$.a.b[2].c", "3");
    check("{\"a\":{\"b\":[1,2,3]}}", "$.a.b[-1]", "3");
    check("{\"a-b\":1}", "$.a-b", "1");
    check("{\"a\":1}", "$", "{\"a\":1}");
    check("{\"a\":1}", "$.b", NULL);
    check("{\"a\":\"x\"}", "$.a.b", NULL);
    check("{\"it's\":1}", "$['it\\'s']", "1");
    /* A backslash that does not escape the quote is kept (AWS). */
    check("{\"T\\\\\\\"x\":2}", "$['T\\\"x']", "2");
}

static void test_indefinite(void)
{
    check("{\"items\":[1,2,3,4]}", "$.items[*]", "[1,2,3,4]");
    check("{\"items\":[1,2,3,4]}", "$.items[1:3]", "[2,3]");
    check("{\"items\":[1,2,3,4]}", "$.items[:1]", "[1]");
    check("{\"items\":[1,2,3,4]}", "$.items[::2]", "[1,3]");
    check("{\"items\":[1,2,3,4]}", "$.items[0,3]", "[1,4]");
    check("{}", "$[*]", "[]");
    check("{}", "$.items[1:].itemValue", "[]");
    check("{\"a\":{\"x\":1},\"b\":{\"x\":2}}", "$..x", "[1,2]");
    check("{\"a\":1,\"b\":2}", "$.*", "[1,2]");
}

static void test_filters(void)
{
    const char *doc = "{\"users\":[{\"y\":1997,\"s\":0},{\"y\":1998,\"s\":1},{\"n\":\"z\"}]}";
    check(doc, "$.users[?(@.s == 0)]", "[{\"y\":1997,\"s\":0}]");
    check(doc, "$.users[?(@.y > 1997)].y", "[1998]");
    check(doc, "$.users[?(@.n)].n", "[\"z\"]");
    check(doc, "$.users[?(@.s == 1 || @.n == 'z')]", "[{\"y\":1998,\"s\":1},{\"n\":\"z\"}]");
    check(doc, "$.users[?(!(@.s == 0) && @.y)].y", "[1998]");
}

static void test_roots_and_errors(void)
{
    wr_jsonpath_t *p = NULL;
    wr_err_t err;

    ASSERT_OK(wr_jsonpath_parse("$$.Execution.Input", &p, &err));
    ASSERT_EQ(wr_jsonpath_root(p), WR_JP_ROOT_CONTEXT);
    ASSERT(wr_jsonpath_is_definite(p));
    wr_jsonpath_free(p);
    ASSERT_OK(wr_jsonpath_parse("$my_var.field[0]", &p, &err));
    ASSERT_EQ(wr_jsonpath_root(p), WR_JP_ROOT_VAR);
    ASSERT_STR_EQ(wr_jsonpath_var(p), "my_var");
    wr_jsonpath_free(p);
    ASSERT_OK(wr_jsonpath_parse("$.a[*]", &p, &err));
    ASSERT(!wr_jsonpath_is_definite(p));
    wr_jsonpath_free(p);
    ASSERT_EQ(wr_jsonpath_parse("a.b", &p, &err), WR_EPARSE);
    ASSERT_EQ(wr_jsonpath_parse("$.a[", &p, &err), WR_EPARSE);
    ASSERT_EQ(wr_jsonpath_parse("$.a[?(@.x ==)]", &p, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "invalid JSONPath");
}

static void test_set(void)
{
    json_t *doc = J("{\"a\":1}");
    wr_jsonpath_t *p = NULL;
    wr_err_t err;
    char *s;

    ASSERT_OK(wr_jsonpath_parse("$.x.y", &p, &err));
    ASSERT_OK(wr_jsonpath_set(p, &doc, json_integer(5), &err));
    s = wr_json_dumps(doc);
    ASSERT_STR_EQ(s, "{\"a\":1,\"x\":{\"y\":5}}");
    free(s);
    wr_jsonpath_free(p);
    ASSERT_OK(wr_jsonpath_parse("$.a.b", &p, &err));
    ASSERT_EQ(wr_jsonpath_set(p, &doc, json_integer(6), &err), WR_EINVALID);
    wr_jsonpath_free(p);
    ASSERT_OK(wr_jsonpath_parse("$", &p, &err));
    ASSERT_OK(wr_jsonpath_set(p, &doc, json_string("all"), &err));
    ASSERT_STR_EQ(json_string_value(doc), "all");
    wr_jsonpath_free(p);
    json_decref(doc);
}

static void test_dumps_and_equal(void)
{
    json_t *v = J("[1.1,0.1,2.22,1.0,-3,\"\\u00e9\"]");
    json_t *a = J("{\"x\":[1,2.0]}"), *b = J("{\"x\":[1.0,2]}");
    char *s = wr_json_dumps(v);

    ASSERT_STR_EQ(s, "[1.1,0.1,2.22,1.0,-3,\"\xc3\xa9\"]");
    ASSERT(wr_json_equal(a, b));
    json_object_set_new(b, "y", json_null());
    ASSERT(!wr_json_equal(a, b));
    free(s);
    json_decref(v);
    json_decref(a);
    json_decref(b);
}

static void test_depth_cap(void)
{
    char path[2000];
    wr_jsonpath_t *p = NULL;
    wr_err_t err;
    size_t n = 0;

    n += (size_t)snprintf(path + n, sizeof(path) - n, "$.a[?(");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(path + n, sizeof(path) - n, "(");
    snprintf(path + n, sizeof(path) - n, "@.x)]");
    ASSERT_EQ(wr_jsonpath_parse(path, &p, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "deeply");
}

static const wr_test_t tests[] = {
    {"fields_and_indexes", test_fields_and_indexes},
    {"indefinite", test_indefinite},
    {"filters", test_filters},
    {"roots_and_errors", test_roots_and_errors},
    {"set", test_set},
    {"dumps_and_equal", test_dumps_and_equal},
    {"depth_cap", test_depth_cap},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
