/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz_jsonpath.c: JSONPath as ASL uses it (engine/jsonpath.c). The input's first
 * line is the path; the rest, when it parses as JSON, is the document (else a fixed one).
 * A parsed path is evaluated on the document, and, when it is a definite `$` path, used to
 * store a value into a copy of it; results go through wr_json_dumps and wr_json_equal.
 * Paths come from JSON or YAML strings of definition files (valid UTF-8, at most
 * WR_DEF_MAX_BYTES), so other paths are skipped. */
#include <stdbool.h>

#include "engine/def_dag.h"
#include "engine/jsonpath.h"
#include "tests/fuzz/fuzz.h"

static const char fixed[] =
    "{\"a\": {\"b\": [1, 2.5, \"x\", null, true, {\"c\": [[]]}]}, \"store\": {\"book\": ["
    "{\"price\": 8.95, \"title\": \"S\"}, {\"price\": 12, \"isbn\": \"0-553\"}]},"
    " \"n\": -1, \"e\": {}, \"s\": \"\\u00e9\", \"big\": 1e308, \"i\": 9223372036854775807}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl;
    char *text;
    json_t *doc = NULL, *out = NULL;
    wr_jsonpath_t *p = NULL;
    wr_err_t err;

    if (size > WR_DEF_MAX_BYTES)
        return 0;
    nl = memchr(data, '\n', size);
    text = fuzz_cstr(data, nl != NULL ? (size_t)(nl - data) : size);
    if (nl != NULL && (size_t)(nl + 1 - data) < size)
        doc =
            json_loadb((const char *)nl + 1, size - (size_t)(nl + 1 - data), JSON_DECODE_ANY, NULL);
    if (doc == NULL)
        doc = json_loads(fixed, 0, NULL);
    memset(&err, 0, sizeof(err));
    if (!fuzz_utf8(text) || wr_jsonpath_parse(text, &p, &err) != 0)
        goto done;
    (void)wr_jsonpath_root(p);
    (void)wr_jsonpath_var(p);
    (void)wr_jsonpath_text(p);
    (void)wr_jsonpath_is_root(p);
    if (wr_jsonpath_eval(p, doc, &out, &err) == 0) {
        char *s = wr_json_dumps(out);
        (void)wr_json_equal(out, doc);
        free(s);
        json_decref(out);
    }
    if (wr_jsonpath_is_definite(p) && wr_jsonpath_root(p) == WR_JP_ROOT_INPUT) {
        json_t *copy = json_deep_copy(doc);
        if (wr_jsonpath_set(p, &copy, json_pack("{s:i}", "set", 1), &err) == 0) {
            char *s = wr_json_dumps(copy);
            free(s);
        }
        json_decref(copy);
    }
done:
    wr_jsonpath_free(p);
    json_decref(doc);
    free(text);
    return 0;
}
