/* SPDX-License-Identifier: MIT
 * engine/cli_run.c: the parts of `weir run` that DAGs and state machines share. */
#include "engine/cli_run.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/def_dag.h"

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

int wr__run_cli_parse(wr_run_cli_t *c, int argc, char **argv, const char *help)
{
    memset(c, 0, sizeof(*c));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(help, stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            c->as_json = true;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            c->quiet = true;
        } else if (strcmp(a, "--config") == 0 && has_val) {
            c->config = argv[++i];
        } else if (strcmp(a, "--input") == 0 && has_val) {
            c->input_json = argv[++i];
        } else if (strcmp(a, "--input-file") == 0 && has_val) {
            c->input_file = argv[++i];
        } else if (strcmp(a, "--functions") == 0 && has_val) {
            c->functions = argv[++i];
        } else if (strcmp(a, "--db") == 0 && has_val) {
            c->db = argv[++i];
        } else if (strcmp(a, "--parallelism") == 0 && has_val) {
            char *end;
            c->parallelism = strtol(argv[++i], &end, 10);
            if (*end != '\0' || c->parallelism < 1 || c->parallelism > 100000)
                return usage("--parallelism must be a whole number >= 1, not '%s'", argv[i]);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage("unknown or incomplete option '%s'", a);
        } else if (c->file == NULL) {
            c->file = a;
        } else {
            return usage("one FILE only ('%s' is extra)", a);
        }
    }
    if (c->file == NULL)
        return usage("%s", "a FILE is required");
    if (c->input_json != NULL && c->input_file != NULL)
        return usage("%s", "--input and --input-file exclude each other");
    return -1;
}

int wr__run_cli_load(wr_run_cli_t *c)
{
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (wr_config_load(c->config, &c->cfg, &err) != 0 ||
        wr_read_file(c->file, WR_DEF_MAX_BYTES, &c->text, &c->len, &err) != 0) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        return 2;
    }
    if (c->db == NULL)
        c->db = c->cfg.db ? c->cfg.db : "weir.db";
    if (c->functions == NULL)
        c->functions = c->cfg.functions_dir ? c->cfg.functions_dir : "functions";
    if (c->parallelism == 0)
        c->parallelism = c->cfg.parallelism;
    if (c->parallelism == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        c->parallelism = (cores > 0 ? cores : 1) * 4;
    }
    return 0;
}

int wr__run_cli_input(wr_run_cli_t *c, bool any)
{
    const char *where = c->input_file ? c->input_file : "--input";
    json_error_t je;

    if (c->input_json != NULL)
        c->input = json_loads(c->input_json, JSON_DECODE_ANY, &je);
    else if (c->input_file != NULL)
        c->input = json_load_file(c->input_file, JSON_DECODE_ANY, &je);
    else
        c->input = json_object();
    if (c->input == NULL) {
        fprintf(stderr, "weir run: %s:%d:%d: invalid JSON input: %s\n", where, je.line, je.column,
                je.text);
        return 2;
    }
    if (!any && !json_is_object(c->input)) {
        fprintf(stderr, "weir run: %s: the input must be a JSON object\n", where);
        return 2;
    }
    return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
    wr_run_cli_t *c = h->data;
    if (!c->done && c->stop != NULL) {
        fprintf(stderr, "weir: %s: stopping the run\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
        c->stop(c, signum == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
    }
}

int wr__run_cli_engine(wr_run_cli_t *c, const char *name, const char *kind, const char *source,
                       const char *hash, int64_t *version_id)
{
    char exe[4096];
    size_t exe_len = sizeof(exe);
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (wr_store_open(c->db, &c->store, &err) != 0 ||
        wr_store_definition_put(c->store, name, kind, c->file, source, hash, version_id, &err) !=
            0 ||
        wr_engine_init(&c->eng, &err) != 0) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        return 2;
    }
    c->eng_ready = true;
    c->eng.store = c->store;
    c->eng.db_path = wr_xstrdup(c->db);
    c->eng.config = &c->cfg;
    c->eng.quiet = c->quiet;
    c->eng.parallelism = (int)c->parallelism;
    c->eng.functions_dir = wr_xstrdup(c->functions);
    c->eng.self_exe = wr_xstrdup(uv_exepath(exe, &exe_len) == 0 ? exe : "weir");
    uv_signal_init(&c->eng.loop, &c->sigint);
    uv_signal_init(&c->eng.loop, &c->sigterm);
    c->sigint.data = c->sigterm.data = c;
    uv_signal_start(&c->sigint, on_signal, SIGINT);
    uv_signal_start(&c->sigterm, on_signal, SIGTERM);
    uv_unref((uv_handle_t *)&c->sigint);
    uv_unref((uv_handle_t *)&c->sigterm);
    return 0;
}

void wr__run_cli_finished(wr_run_cli_t *c)
{
    c->done = true;
    uv_signal_stop(&c->sigint);
    uv_signal_stop(&c->sigterm);
}

void wr__run_cli_print(const wr_run_cli_t *c, json_t *res, void (*human)(json_t *res),
                       char *(*dump)(const json_t *v))
{
    if (c->as_json) {
        char *s = dump ? dump(res) : json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s\n", s);
        free(s);
    } else {
        human(res);
    }
    fflush(stdout);
}

void wr__run_cli_dispose(wr_run_cli_t *c)
{
    if (c->eng_ready)
        wr_engine_dispose(&c->eng);
    json_decref(c->input);
    wr_store_close(c->store);
    wr_config_dispose(&c->cfg);
    free(c->text);
}
