/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz_intrinsics.c: the States.* intrinsic functions (engine/intrinsics.c): the
 * input is a call such as `States.Format('x={}', $.x)`, parsed and, when valid, evaluated
 * against a fixed state input, context object and variables. Calls come from JSON or YAML
 * strings of definition files (valid UTF-8, at most WR_DEF_MAX_BYTES): others are skipped. */
#include <stdbool.h>

#include "engine/def_dag.h"
#include "engine/intrinsics.h"
#include "tests/fuzz/fuzz.h"

static json_t *input, *context, *vars;

static int resolve(void *arg, const wr_jsonpath_t *p, json_t **out, const char **error,
                   wr_err_t *err)
{
    json_t *root = input;

    (void)arg;
    *error = "States.Runtime";
    if (wr_jsonpath_root(p) == WR_JP_ROOT_CONTEXT)
        root = context;
    else if (wr_jsonpath_root(p) == WR_JP_ROOT_VAR)
        root = json_object_get(vars, wr_jsonpath_var(p));
    return wr_jsonpath_eval(p, root, out, err);
}

static void setup(void)
{
    input = json_loads("{\"x\": 1, \"s\": \"a,b;;c\", \"arr\": [1, 2, 3, \"x\", {\"k\": 1}, [2]],"
                       " \"dup\": [1, 1, 2.0, \"1\", null], \"obj\": {\"a\": {\"b\": 2}},"
                       " \"n\": 2.5, \"big\": 1e300, \"neg\": -3, \"imax\": 9223372036854775807,"
                       " \"imin\": -9223372036854775808, \"json\": \"{\\\"a\\\": [1, {}]}\","
                       " \"u\": \"\\u00e9\\ud83d\\ude00\", \"b64\": \"aGVsbG8=\", \"t\": true,"
                       " \"z\": null, \"e\": \"\", \"empty\": [], \"eo\": {}}",
                       0, NULL);
    context = json_loads("{\"Execution\": {\"Id\": \"run-1\", \"Input\": {\"x\": 1}},"
                         " \"State\": {\"Name\": \"S\", \"EnteredTime\": \"2026-01-01T00:00:00Z\"},"
                         " \"Map\": {\"Item\": {\"Index\": 0, \"Value\": \"v\"}}}",
                         0, NULL);
    vars = json_loads("{\"v\": 5, \"list\": [3, 2, 1], \"str\": \"hi\", \"o\": {\"k\": [1]}}", 0,
                      NULL);
    if (input == NULL || context == NULL || vars == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_intrinsic_t *f = NULL;
    json_t *out = NULL;
    const char *ename = NULL;
    char *text;
    wr_err_t err;

    if (size > WR_DEF_MAX_BYTES)
        return 0;
    if (input == NULL)
        setup();
    text = fuzz_cstr(data, size);
    memset(&err, 0, sizeof(err));
    (void)wr_intrinsic_is_call(text);
    if (fuzz_utf8(text) && wr_intrinsic_parse(text, &f, &err) == 0) {
        if (wr_intrinsic_eval(f, resolve, NULL, &out, &ename, &err) == 0) {
            char *s = wr_json_dumps(out);
            free(s);
            json_decref(out);
        } else if (ename == NULL) {
            abort(); /* a failure always names its error */
        }
        wr_intrinsic_free(f);
    }
    free(text);
    return 0;
}
