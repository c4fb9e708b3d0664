/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz_asl.c: Amazon States Language definitions (engine/def_asl.c): JSON or YAML
 * (a bare state machine or a `state_machine:` wrapper), parsed and fully validated (states,
 * transitions, Retry/Catch, Choice rules, paths, intrinsics, nested Parallel/Map). Also the
 * RFC 3339 timestamp parser on short inputs. Files over WR_DEF_MAX_BYTES are refused. */
#include <stdbool.h>

#include "engine/def_asl.h"
#include "engine/def_dag.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_asl_t *asl = NULL;
    char *text, *all = NULL;
    wr_err_t err;

    if (size > WR_DEF_MAX_BYTES)
        return 0;
    text = fuzz_cstr(data, size);
    memset(&err, 0, sizeof(err));
    if (size < 80) {
        int64_t secs;
        int32_t nanos;
        (void)wr_asl_parse_timestamp(text, &secs, &nanos);
    }
    if (wr_asl_load_string("fuzz.asl.json", text, size, &asl, &all, &err) == 0)
        wr_asl_free(asl);
    free(all);
    free(text);
    return 0;
}
