/* SPDX-License-Identifier: MIT
 * engine/cli.c: the `weir` command line (DESIGN.md §5): run, validate, and dispatch to the
 * other subcommands. Exit codes: 0 success, 1 a failed run or an invalid file, 2 bad usage
 * or a definition that cannot run. */
#include "engine/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "engine/cli_alerts.h"
#include "engine/cli_asl.h"
#include "engine/cli_catalog.h"
#include "engine/cli_crawl.h"
#include "engine/cli_cron.h"
#include "engine/cli_run.h"
#include "engine/cli_serve.h"
#include "engine/cli_load.h"
#include "engine/cli_sql.h"
#include "engine/config.h"
#include "engine/cron.h"
#include "engine/def_dag.h"
#include "engine/loop.h"
#include "engine/run.h"
#include "engine/store.h"

static const char main_usage[] =
    "usage: weir COMMAND [ARGS]\n"
    "\n"
    "weir runs data pipelines: DAG files (YAML) with cron schedules, retries, timeouts and\n"
    "catches, recorded in one SQLite file.\n"
    "\n"
    "commands:\n"
    "  run FILE        run a DAG or state machine once, now, and wait for it to end\n"
    "  validate FILE.. check definition files; print every problem as file:line:column\n"
    "  serve           run the scheduler and the REST API (loads every DAG in a folder)\n"
    "  trigger NAME    start a run through a server's API (the CI client); --wait follows it\n"
    "  token           create, list and revoke API tokens\n"
    "  cron next EXPR  print the next fire times of a cron expression\n"
    "  sql             run a SQL query over CSV / JSON-lines files (local_transform's engine)\n"
    "  crawl           scan a folder into the catalog (the crawler's engine)\n"
    "  catalog         show the catalog's databases, tables and columns\n"
    "  load            load files into the local warehouse (copy_to_redshift's engine)\n"
    "  alerts          list the alerts sns_alert recorded\n"
    "\n"
    "options:\n"
    "  --help          this text; `weir COMMAND --help` for a command\n"
    "  --version       print the version\n";

static const char run_usage[] =
    "usage: weir run FILE [--input JSON | --input-file F] [--functions DIR] [--json]\n"
    "                [--db F] [--parallelism N] [--quiet] [--config F]\n"
    "\n"
    "Runs the DAG in FILE once, now, and waits for it to end. Progress (each task's state,\n"
    "attempt and duration) goes to stderr; the result goes to stdout.\n"
    "\n"
    "  --input JSON       the run's input (a JSON object); overrides params of the same name\n"
    "  --input-file F     the same, read from file F\n"
    "  --functions DIR    folder of local Lambda handlers (default: functions_dir from the\n"
    "                     configuration, else ./functions)\n"
    "  --json             print exactly one JSON object: status, output or error/cause, tasks\n"
    "  --db F             database file (default: db from the configuration, else ./weir.db)\n"
    "  --parallelism N    tasks running at once (default: cores x 4)\n"
    "  --quiet            no progress on stderr\n"
    "  --config F         configuration file (default: ./weir.yaml when it exists)\n"
    "\n"
    "Exit status: 0 SUCCEEDED, 1 FAILED or aborted, 2 bad usage or an invalid definition.\n"
    "SIGINT or SIGTERM stops every running task (its whole process group) and records the\n"
    "run as ABORTED.\n";

static const char validate_usage[] =
    "usage: weir validate FILE...\n"
    "\n"
    "Checks each definition file and prints every problem as FILE:LINE:COLUMN: message.\n"
    "Exit status: 0 when all are valid, 1 otherwise, 2 on bad usage.\n";

/* ==== Shared helpers ==== */

static bool is_flag(const char *a, const char *name)
{
    return strcmp(a, name) == 0;
}

WR_PRINTF(2, 3) static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "weir %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'weir %s --help'.\n", cmd);
    return 2;
}

/* ds and logical_date for a run starting now, in the DAG's zone. */
static int logical_now(const char *tz, int64_t now_ms, char ds[16], char iso[40], wr_err_t *err)
{
    int64_t secs = now_ms / 1000;
    char full[32];
    int off = 0;
    int rc = wr_cron_utc_offset(tz, secs, &off, err);

    if (rc != 0)
        return rc;
    wr_cron_format(secs, off, full);
    snprintf(ds, 16, "%.10s", full);
    snprintf(iso, 40, "%s", full);
    return 0;
}

/* ==== weir run ==== */

static void stop_dag(wr_run_cli_t *c, const char *why)
{
    wr_run_abort(c->run, why);
}

static void on_run_done(wr_run_t *run, void *data)
{
    (void)run;
    wr__run_cli_finished(data);
}

static void print_human(json_t *res)
{
    const char *status = json_string_value(json_object_get(res, "status"));
    json_t *tasks = json_object_get(res, "tasks");
    const char *name;
    json_t *t;

    printf("%s  run %s\n", status, json_string_value(json_object_get(res, "run_id")));
    json_object_foreach(tasks, name, t)
    {
        printf("  %-28s %-16s attempts %lld\n", name,
               json_string_value(json_object_get(t, "state")),
               (long long)json_integer_value(json_object_get(t, "attempts")));
    }
    if (strcmp(status, "SUCCEEDED") == 0) {
        char *out = json_dumps(json_object_get(res, "output"), JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("output:\n%s\n", out ? out : "{}");
        free(out);
    } else {
        printf("error: %s\ncause: %s\n", json_string_value(json_object_get(res, "error")),
               json_string_value(json_object_get(res, "cause")));
    }
}

static int cmd_run(int argc, char **argv)
{
    wr_run_cli_t c;
    wr_workflow_t *wf = NULL;
    wr_run_t *run = NULL;
    json_t *res = NULL;
    char *problems = NULL;
    char ds[16], logical[40];
    int64_t version_id = 0;
    wr_run_opts_t opts;
    wr_err_t err;
    int status = wr__run_cli_parse(&c, argc, argv, run_usage);

    if (status >= 0)
        return status;
    status = 2;
    memset(&err, 0, sizeof(err));
    if (wr__run_cli_load(&c) != 0)
        goto done;
    if (wr_def_is_asl(c.text, c.len)) {
        status = wr_cli_run_asl(&c);
        goto done;
    }
    if (wr_dag_load_string(c.file, c.text, c.len, &wf, &problems, &err) != 0) {
        fputs(problems ? problems : err.msg, stderr);
        goto done;
    }
    if (wr__run_cli_input(&c, false) != 0)
        goto done;
    if (logical_now(wf->timezone, wr_now_ms(), ds, logical, &err) != 0) {
        fprintf(stderr, "weir run: %s: timezone: %s\n", c.file, err.msg);
        goto done;
    }
    if (wr__run_cli_engine(&c, wf->name, "dag", wf->source, wf->hash, &version_id) != 0)
        goto done;
    memset(&opts, 0, sizeof(opts));
    opts.trigger = "manual";
    opts.logical_ms = wr_now_ms();
    opts.ds = ds;
    opts.logical_date = logical;
    opts.version_id = version_id;
    if (wr_run_start(&c.eng, wf, c.input, &opts, on_run_done, &c, &run, &err) != 0) {
        fprintf(stderr, "weir run: %s\n", err.msg);
        goto done;
    }
    c.stop = stop_dag;
    c.run = run;
    uv_run(&c.eng.loop, UV_RUN_DEFAULT);
    if (!c.done) {
        fprintf(stderr, "weir run: internal error: the loop ended before the run\n");
        status = 1;
        goto done;
    }
    res = wr_run_result_json(run);
    wr__run_cli_print(&c, res, print_human, NULL);
    status = strcmp(wr_run_status(run), "SUCCEEDED") == 0 ? 0 : 1;
done:
    wr_run_close(run);
    wr__run_cli_dispose(&c);
    json_decref(res);
    wr_workflow_free(wf);
    free(problems);
    return status;
}

/* ==== weir validate ==== */

static int cmd_validate(int argc, char **argv)
{
    int bad = 0, files = 0;

    for (int i = 1; i < argc; i++) {
        if (is_flag(argv[i], "--help") || is_flag(argv[i], "-h")) {
            fputs(validate_usage, stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return usage_error("validate", "unknown option '%s'", argv[i]);
    }
    for (int i = 1; i < argc; i++) {
        wr_workflow_t *wf = NULL;
        char *problems = NULL, *text = NULL;
        size_t len = 0;
        wr_err_t err;

        files++;
        memset(&err, 0, sizeof(err));
        if (wr_read_file(argv[i], WR_DEF_MAX_BYTES, &text, &len, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            bad++;
            continue;
        }
        if (wr_def_is_asl(text, len)) {
            if (wr_cli_validate_asl(argv[i], text, len) != 0)
                bad++;
        } else if (wr_dag_load_string(argv[i], text, len, &wf, &problems, &err) != 0) {
            fputs(problems ? problems : err.msg, stderr);
            bad++;
        } else {
            printf("%s: ok (DAG '%s', %zu tasks%s%s)\n", argv[i], wf->name, wf->n_tasks,
                   wf->schedule ? ", schedule " : "", wf->schedule ? wf->schedule : "");
        }
        wr_workflow_free(wf);
        free(problems);
        free(text);
    }
    if (files == 0)
        return usage_error("validate", "%s", "at least one FILE is required");
    return bad ? 1 : 0;
}

/* ==== Dispatch ==== */

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} command_t;

static const command_t commands[] = {
    {"run", cmd_run},        {"validate", cmd_validate},  {"cron", wr_cli_cron},
    {"sql", wr_cli_sql},     {"load", wr_cli_load},       {"alerts", wr_cli_alerts},
    {"crawl", wr_cli_crawl}, {"catalog", wr_cli_catalog}, {NULL, NULL},
};

int wr_cli_main(int argc, char **argv, const wr_cli_command_t *extra, const wr_frontend_t *web)
{
    if (argc < 2) {
        fputs(main_usage, stderr);
        return 2;
    }
    if (is_flag(argv[1], "--help") || is_flag(argv[1], "-h") || is_flag(argv[1], "help")) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (is_flag(argv[1], "--version") || is_flag(argv[1], "version")) {
        printf("weir %s\n", WR_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return wr_cli_serve(argc - 1, argv + 1, web);
    for (const command_t *c = commands; c->name != NULL; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->fn(argc - 1, argv + 1);
    for (const wr_cli_command_t *c = extra; c != NULL && c->name != NULL; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "weir: unknown command '%s'\n\n%s", argv[1], main_usage);
    return 2;
}
