/* SPDX-License-Identifier: MIT
 * engine/cli_asl.c: `weir run` and `weir validate` for Amazon States Language state machines
 * (DESIGN.md §3.2, §5).
 *
 * `run` loads and checks the definition (engine/def_asl.c), records it in the store, starts
 * one execution on a fresh engine loop (engine/asl_run.c) and prints the result: with --json
 * exactly one object, {"status":"SUCCEEDED","output":...} or {"status":"FAILED","error":...,
 * "cause":...}. The execution input may be any JSON value, as with StartExecution. SIGINT and
 * SIGTERM stop the execution (its task process groups are killed) and record it ABORTED. */
#include "engine/cli_asl.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "engine/asl_run.h"
#include "engine/config.h"
#include "engine/def_asl.h"
#include "engine/def_dag.h"
#include "engine/jsonpath.h"
#include "engine/loop.h"
#include "engine/store.h"

static void stop_execution(wr_run_cli_t *c, const char *why)
{
    wr_asl_run_abort(c->run, why);
}

static void on_done(wr_asl_run_t *run, void *data)
{
    (void)run;
    wr__run_cli_finished(data);
}

static void print_human(json_t *res)
{
    const char *status = json_string_value(json_object_get(res, "status"));

    printf("%s  execution %s\n", status, json_string_value(json_object_get(res, "run_id")));
    if (strcmp(status, "SUCCEEDED") == 0) {
        char *out = json_dumps(json_object_get(res, "output"), JSON_INDENT(2) | JSON_ENCODE_ANY);
        printf("output:\n%s\n", out ? out : "null");
        free(out);
    } else {
        const char *e = json_string_value(json_object_get(res, "error"));
        const char *c = json_string_value(json_object_get(res, "cause"));
        printf("error: %s\ncause: %s\n", e ? e : "(none)", c ? c : "(none)");
    }
}

int wr_cli_run_asl(wr_run_cli_t *c)
{
    wr_asl_t *asl = NULL;
    wr_asl_run_t *run = NULL;
    json_t *res = NULL;
    char *problems = NULL;
    wr_asl_run_opts_t opts;
    wr_err_t err;
    int status = 2;
    int64_t version_id = 0;

    memset(&err, 0, sizeof(err));
    if (wr_asl_load_string(c->file, c->text, c->len, &asl, &problems, &err) != 0) {
        fputs(problems ? problems : err.msg, stderr);
        goto done;
    }
    if (wr__run_cli_input(c, true) != 0 ||
        wr__run_cli_engine(c, asl->name, "asl", asl->source, asl->hash, &version_id) != 0)
        goto done;
    memset(&opts, 0, sizeof(opts));
    opts.trigger = "manual";
    opts.version_id = version_id;
    if (wr_asl_run_start(&c->eng, asl, c->input, &opts, on_done, c, &run, &err) != 0) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        goto done;
    }
    c->stop = stop_execution;
    c->run = run;
    uv_run(&c->eng.loop, UV_RUN_DEFAULT);
    if (!c->done) {
        fprintf(stderr, "weir run: internal error: the loop ended before the execution\n");
        status = 1;
        goto done;
    }
    res = wr_asl_run_result_json(run);
    wr__run_cli_print(c, res, print_human, wr_json_dumps);
    status = strcmp(wr_asl_run_status(run), "SUCCEEDED") == 0 ? 0 : 1;
done:
    wr_asl_run_close(run);
    /* The engine is disposed by the caller (wr__run_cli_dispose), after this run closed;
     * the definition must outlive both. */
    if (c->eng_ready) {
        wr_engine_dispose(&c->eng);
        c->eng_ready = false;
    }
    json_decref(res);
    wr_asl_free(asl);
    free(problems);
    return status;
}

/* Recursion follows nested machines, which the loader caps at WR_ASL_MAX_DEPTH. */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static size_t count_states(const wr_asl_machine_t *m)
{
    size_t n = 0;

    if (m == NULL)
        return 0;
    n = m->n_states;
    for (size_t i = 0; i < m->n_states; i++) {
        for (size_t b = 0; b < m->states[i].n_branches; b++)
            n += count_states(m->states[i].branches[b]);
        n += count_states(m->states[i].processor);
    }
    return n;
}

int wr_cli_validate_asl(const char *path, const char *text, size_t len)
{
    wr_asl_t *asl = NULL;
    char *problems = NULL;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (wr_asl_load_string(path, text, len, &asl, &problems, &err) != 0) {
        fputs(problems ? problems : err.msg, stderr);
        free(problems);
        return 1;
    }
    printf("%s: ok (state machine '%s', %zu states%s%s)\n", path, asl->name,
           count_states(asl->machine), asl->schedule ? ", schedule " : "",
           asl->schedule ? asl->schedule : "");
    wr_asl_free(asl);
    return 0;
}
