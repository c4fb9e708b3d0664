/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz_dag.c: DAG YAML files (engine/def_dag.c: libyaml document, validation,
 * templates, cron schedules, cycles). The input is the file's text; files over
 * WR_DEF_MAX_BYTES are refused by wr_read_file() before the parser sees them. */
#include <stdbool.h>

#include "engine/def_dag.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_workflow_t *wf = NULL;
    char *text, *all = NULL;
    wr_err_t err;

    if (size > WR_DEF_MAX_BYTES)
        return 0;
    text = fuzz_cstr(data, size);
    memset(&err, 0, sizeof(err));
    (void)wr_def_is_asl(text, size);
    if (wr_dag_load_string("fuzz.yaml", text, size, &wf, &all, &err) == 0)
        wr_workflow_free(wf);
    free(all);
    free(text);
    return 0;
}
