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

typedef struct {
    wr_engine_t eng;
    uv_signal_t sigint, sigterm;
    wr_asl_run_t *run;
    bool done;
} asl_cli_t;

static void on_signal(uv_signal_t *h, int signum)
{
    asl_cli_t *c = h->data;
    if (!c->done && c->run != NULL) {
        fprintf(stderr, "weir: %s: stopping the execution\n",
                signum == SIGINT ? "SIGINT" : "SIGTERM");
        wr_asl_run_abort(c->run,
                         signum == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
    }
}

static void on_done(wr_asl_run_t *run, void *data)
{
    asl_cli_t *c = data;
    (void)run;
    c->done = true;
    uv_signal_stop(&c->sigint);
    uv_signal_stop(&c->sigterm);
}

WR_PRINTF(1, 2) static int usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "weir run: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'weir run --help'.\n");
    return 2;
}

static json_t *load_input(const char *inline_json, const char *file)
{
    json_error_t je;
    json_t *v;

    if (inline_json != NULL)
        v = json_loads(inline_json, JSON_DECODE_ANY, &je);
    else if (file != NULL)
        v = json_load_file(file, JSON_DECODE_ANY, &je);
    else
        return json_object();
    if (v == NULL)
        fprintf(stderr, "weir run: %s:%d:%d: invalid JSON input: %s\n", file ? file : "--input",
                je.line, je.column, je.text);
    return v;
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

int wr_cli_run_asl(int argc, char **argv)
{
    const char *file = NULL, *input_json = NULL, *input_file = NULL, *functions = NULL;
    const char *db = NULL, *config = NULL;
    wr_config_t cfg;
    bool as_json = false, quiet = false, eng_ready = false;
    long parallelism = 0;
    wr_asl_t *asl = NULL;
    wr_store_t *store = NULL;
    json_t *input = NULL, *res = NULL;
    char *text = NULL, *problems = NULL;
    size_t len = 0;
    asl_cli_t c;
    wr_asl_run_opts_t opts;
    wr_err_t err;
    int status = 2;
    int64_t version_id = 0;
    char exe[4096];
    size_t exe_len = sizeof(exe);

    memset(&c, 0, sizeof(c));
    memset(&err, 0, sizeof(err));
    memset(&cfg, 0, sizeof(cfg));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--json") == 0) {
            as_json = true;
        } else if (strcmp(a, "--config") == 0 && has_val) {
            config = argv[++i];
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = true;
        } else if (strcmp(a, "--input") == 0 && has_val) {
            input_json = argv[++i];
        } else if (strcmp(a, "--input-file") == 0 && has_val) {
            input_file = argv[++i];
        } else if (strcmp(a, "--functions") == 0 && has_val) {
            functions = argv[++i];
        } else if (strcmp(a, "--db") == 0 && has_val) {
            db = argv[++i];
        } else if (strcmp(a, "--parallelism") == 0 && has_val) {
            char *end;
            parallelism = strtol(argv[++i], &end, 10);
            if (*end != '\0' || parallelism < 1 || parallelism > 100000)
                return usage("--parallelism must be a whole number >= 1, not '%s'", argv[i]);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage("unknown or incomplete option '%s'", a);
        } else if (file == NULL) {
            file = a;
        } else {
            return usage("one FILE only ('%s' is extra)", a);
        }
    }
    if (file == NULL)
        return usage("%s", "a FILE is required");
    if (input_json != NULL && input_file != NULL)
        return usage("%s", "--input and --input-file exclude each other");

    if (wr_config_load(config, &cfg, &err) != 0) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        goto done;
    }
    if (db == NULL)
        db = cfg.db ? cfg.db : "weir.db";
    if (functions == NULL)
        functions = cfg.functions_dir ? cfg.functions_dir : "functions";
    if (parallelism == 0)
        parallelism = cfg.parallelism;
    if (wr_read_file(file, WR_DEF_MAX_BYTES, &text, &len, &err) != 0) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        goto done;
    }
    if (wr_asl_load_string(file, text, len, &asl, &problems, &err) != 0) {
        fputs(problems ? problems : err.msg, stderr);
        goto done;
    }
    input = load_input(input_json, input_file);
    if (input == NULL)
        goto done;
    if (wr_store_open(db, &store, &err) != 0 ||
        wr_store_definition_put(store, asl->name, "asl", file, asl->source, asl->hash, &version_id,
                                &err) != 0) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        goto done;
    }
    if (wr_engine_init(&c.eng, &err) != 0) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        goto done;
    }
    eng_ready = true;
    c.eng.store = store;
    c.eng.config = &cfg;
    c.eng.quiet = quiet;
    if (parallelism == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        parallelism = (cores > 0 ? cores : 1) * 4;
    }
    c.eng.parallelism = (int)parallelism;
    c.eng.functions_dir = wr_xstrdup(functions);
    c.eng.db_path = wr_xstrdup(db);
    c.eng.self_exe = wr_xstrdup(uv_exepath(exe, &exe_len) == 0 ? exe : "weir");
    uv_signal_init(&c.eng.loop, &c.sigint);
    uv_signal_init(&c.eng.loop, &c.sigterm);
    c.sigint.data = c.sigterm.data = &c;
    uv_signal_start(&c.sigint, on_signal, SIGINT);
    uv_signal_start(&c.sigterm, on_signal, SIGTERM);
    uv_unref((uv_handle_t *)&c.sigint);
    uv_unref((uv_handle_t *)&c.sigterm);

    memset(&opts, 0, sizeof(opts));
    opts.trigger = "manual";
    opts.version_id = version_id;
    if (wr_asl_run_start(&c.eng, asl, input, &opts, on_done, &c, &c.run, &err) != 0) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        goto done;
    }
    uv_run(&c.eng.loop, UV_RUN_DEFAULT);
    if (!c.done) {
        fprintf(stderr, "weir run: internal error: the loop ended before the execution\n");
        status = 1;
        goto done;
    }
    res = wr_asl_run_result_json(c.run);
    if (as_json) {
        char *s = wr_json_dumps(res);
        printf("%s\n", s);
        free(s);
    } else {
        print_human(res);
    }
    fflush(stdout);
    status = strcmp(wr_asl_run_status(c.run), "SUCCEEDED") == 0 ? 0 : 1;
done:
    if (c.run != NULL)
        wr_asl_run_close(c.run);
    if (eng_ready)
        wr_engine_dispose(&c.eng);
    json_decref(res);
    json_decref(input);
    wr_store_close(store);
    wr_asl_free(asl);
    wr_config_dispose(&cfg);
    free(problems);
    free(text);
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
