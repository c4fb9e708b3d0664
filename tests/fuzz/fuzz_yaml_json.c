/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz_yaml_json.c: YAML -> JSON (engine/yaml_json.c), used for weir.yaml and for
 * state machines written in YAML: the whole input as a document, and as one plain and one
 * quoted scalar (the core schema: null, booleans, integers, floats). Files are capped at
 * WR_DEF_MAX_BYTES by their readers. */
#include <stdbool.h>

#include "engine/def_dag.h"
#include "engine/jsonpath.h"
#include "engine/yaml_json.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *out = NULL;
    char *text;
    wr_err_t err;

    if (size > WR_DEF_MAX_BYTES)
        return 0;
    text = fuzz_cstr(data, size);
    memset(&err, 0, sizeof(err));
    if (wr_yaml_to_json("fuzz.yaml", text, size, &out, &err) == 0) {
        char *s = wr_json_dumps(out);
        free(s);
        json_decref(out);
    }
    if (size <= 256) {
        json_decref(wr_yaml_scalar_json(text, size, true));
        json_decref(wr_yaml_scalar_json(text, size, false));
    }
    free(text);
    return 0;
}
