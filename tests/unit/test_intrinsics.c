/* SPDX-License-Identifier: MIT
 * tests/unit/test_intrinsics.c: the States.* intrinsic functions (engine/intrinsics.c):
 * parsing (names, argument counts, escapes, nesting) and the AWS behaviour of each one. */
#include "engine/intrinsics.h"

#include <stdlib.h>
#include <string.h>

#include "tests/unit/harness.h"

static json_t *doc;

static int resolve(void *arg, const wr_jsonpath_t *p, json_t **out, const char **error,
                   wr_err_t *err)
{
    (void)arg;
    *error = "States.Runtime";
    return wr_jsonpath_eval(p, doc, out, err);
}

/* Evaluates `call` against the document `input`; compares the compact result with `want`,
 * or, when want starts with '!', expects that error name. */
static void check(const char *input, const char *call, const char *want)
{
    wr_intrinsic_t *f = NULL;
    json_t *out = NULL;
    const char *ename = NULL;
    wr_err_t err;
    int rc;

    doc = json_loads(input, JSON_DECODE_ANY, NULL);
    ASSERT(doc != NULL);
    ASSERT_OK(wr_intrinsic_parse(call, &f, &err));
    rc = wr_intrinsic_eval(f, resolve, NULL, &out, &ename, &err);
    if (want[0] == '!') {
        ASSERT(rc != 0);
        ASSERT_STR_EQ(ename, want + 1);
    } else {
        char *s;
        ASSERT_OK(rc);
        s = wr_json_dumps(out);
        ASSERT_STR_EQ(s, want);
        free(s);
    }
    json_decref(out);
    json_decref(doc);
    wr_intrinsic_free(f);
}

static void test_format(void)
{
    check("{\"n\":\"x\"}", "States.Format('Hello {}!', $.n)", "\"Hello x!\"");
    check("{\"o\":{\"A\":1,\"B\":[]}}", "States.Format('{}', $.o)", "\"{A=1, B=[]}\"");
    check("{\"v\":1.1,\"z\":null}", "States.Format('{} {}', $.v, $.z)", "\"1.1 null\"");
    check("{}", "States.Format('a \\{\\} b {}', 'c')", "\"a {} b c\"");
    check("{}", "States.Format('{} {}', 'only one')", "!States.IntrinsicFailure");
}

static void test_json_conversion(void)
{
    check("{\"s\":\"{\\\"a\\\": [1, 2]}\"}", "States.StringToJson($.s)", "{\"a\":[1,2]}");
    check("{\"s\":\" \"}", "States.StringToJson($.s)", "null");
    check("{\"o\":{\"a\":1.5,\"b\":\"x\"}}", "States.JsonToString($.o)",
          "\"{\\\"a\\\":1.5,\\\"b\\\":\\\"x\\\"}\"");
    check("{\"a\":{\"x\":{\"p\":1},\"y\":1},\"b\":{\"x\":{\"q\":2}}}",
          "States.JsonMerge($.a, $.b, false)", "{\"x\":{\"q\":2},\"y\":1}");
    check("{\"a\":{\"x\":{\"p\":1},\"y\":1},\"b\":{\"x\":{\"q\":2}}}",
          "States.JsonMerge($.a, $.b, true)", "{\"x\":{\"p\":1,\"q\":2},\"y\":1}");
}

static void test_arrays(void)
{
    check("{\"a\":[1,2,3,4,5]}", "States.ArrayPartition($.a, 2)", "[[1,2],[3,4],[5]]");
    check("{\"a\":[1,[2],{\"k\":3}]}", "States.ArrayContains($.a, States.Array(2))", "true");
    check("{}", "States.ArrayRange(1, 9, 2)", "[1,3,5,7,9]");
    check("{}", "States.ArrayRange(0, 10, 3)", "[0,3,6,9]");
    check("{}", "States.ArrayRange(0, 2000, 1)", "!States.IntrinsicFailure");
    check("{\"a\":[5,6]}", "States.ArrayGetItem($.a, 1)", "6");
    check("{\"a\":[5,6]}", "States.ArrayGetItem($.a, 2)", "!States.IntrinsicFailure");
    check("{\"a\":[1,1,\"a\",1.0,\"a\"]}", "States.ArrayUnique($.a)", "[1,\"a\"]");
    check("{\"a\":[1,2]}", "States.ArrayLength($.a)", "2");
    check("{}", "States.Array()", "[]");
}

static void test_math_and_strings(void)
{
    /* AWS rounds each argument half toward +infinity before adding. */
    check("{}", "States.MathAdd(1.5, 0)", "2");
    check("{}", "States.MathAdd(-2.5, 0)", "-2");
    check("{}", "States.MathAdd(1.49, 1.5)", "3");
    check("{}", "States.StringSplit('a,,b;c', ',;')", "[\"a\",\"b\",\"c\"]");
    check("{}", "States.StringSplit(',,,', ',')", "[]");
    check("{}", "States.Base64Encode('Data to encode')", "\"RGF0YSB0byBlbmNvZGU=\"");
    check("{}", "States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "\"Data to encode\"");
    check("{}", "States.Base64Encode('')", "\"\"");
    check("{}", "States.Hash('input data', 'SHA-1')",
          "\"aaff4a450a104cd177d28d18d74485e8cae074b7\"");
    check("{}", "States.Hash('x', 'CRC32')", "!States.IntrinsicFailure");
}

static void test_random_and_uuid(void)
{
    wr_intrinsic_t *f = NULL;
    json_t *out = NULL;
    const char *ename;
    wr_err_t err;

    doc = json_object();
    ASSERT_OK(wr_intrinsic_parse("States.MathRandom(10, 20)", &f, &err));
    for (int i = 0; i < 50; i++) {
        ASSERT_OK(wr_intrinsic_eval(f, resolve, NULL, &out, &ename, &err));
        ASSERT(json_integer_value(out) >= 10 && json_integer_value(out) < 20);
        json_decref(out);
    }
    wr_intrinsic_free(f);
    ASSERT_OK(wr_intrinsic_parse("States.UUID()", &f, &err));
    ASSERT_OK(wr_intrinsic_eval(f, resolve, NULL, &out, &ename, &err));
    ASSERT_EQ(strlen(json_string_value(out)), 36);
    ASSERT_EQ(json_string_value(out)[14], '4');
    json_decref(out);
    wr_intrinsic_free(f);
    json_decref(doc);
}

static void test_parse_errors(void)
{
    wr_intrinsic_t *f = NULL;
    wr_err_t err;

    ASSERT_EQ(wr_intrinsic_parse("States.Nope(1)", &f, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "unknown intrinsic function");
    ASSERT_EQ(wr_intrinsic_parse("States.ArrayLength(1, 2)", &f, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "takes 1");
    /* `\"` is not an escape of the intrinsic grammar (AWS rejects it). */
    ASSERT_EQ(wr_intrinsic_parse("States.StringToJson('{\\\"a\\\":1}')", &f, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "illegal escape");
    ASSERT_EQ(wr_intrinsic_parse("States.Format('x'", &f, &err), WR_EPARSE);
    ASSERT_EQ(wr_intrinsic_parse("States.Format('{}', $.a[)", &f, &err), WR_EPARSE);
    ASSERT(wr_intrinsic_is_call("States.UUID()"));
    ASSERT(!wr_intrinsic_is_call("$.States"));
}

static void test_nesting_cap(void)
{
    char text[4096];
    size_t n = 0;
    wr_intrinsic_t *f = NULL;
    wr_err_t err;

    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "States.Array(");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, ")");
    ASSERT_EQ(wr_intrinsic_parse(text, &f, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "nested too deeply");
}

static const wr_test_t tests[] = {
    {"format", test_format},
    {"json_conversion", test_json_conversion},
    {"arrays", test_arrays},
    {"math_and_strings", test_math_and_strings},
    {"random_and_uuid", test_random_and_uuid},
    {"parse_errors", test_parse_errors},
    {"nesting_cap", test_nesting_cap},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
