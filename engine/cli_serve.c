/* SPDX-License-Identifier: MIT
 * engine/cli_serve.c: `weir serve` — options, configuration, then engine/server.c. */
#include "engine/cli_serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/config.h"
#include "engine/server_run.h"

static const char usage[] =
    "usage: weir serve [--config F] [--dags DIR] [--db F] [--listen HOST:PORT]\n"
    "                  [--parallelism N] [--functions DIR]\n"
    "\n"
    "Runs weir as a service: loads every DAG file in DIR (and reloads them when they change),\n"
    "fires their cron schedules and file triggers, serves the REST API, and resumes every\n"
    "unfinished run after a restart. SIGTERM or SIGINT stops it: no new work starts, running\n"
    "tasks get `shutdown_grace` (weir.yaml, default 30s) to finish, then they are stopped and\n"
    "run again at the next start.\n"
    "\n"
    "  --config F         configuration file (default: ./weir.yaml when it exists)\n"
    "  --dags DIR         DAG folder (default: dags from the configuration, else ./dags)\n"
    "  --db F             database (default: db from the configuration, else ./weir.db)\n"
    "  --listen HOST:PORT address of the API (default: listen from the configuration, else\n"
    "                     127.0.0.1:8080)\n"
    "  --parallelism N    tasks running at once (default: cores x 4)\n"
    "  --functions DIR    local Lambda handlers (default: functions_dir, else ./functions)\n";

int wr_cli_serve(int argc, char **argv, const wr_frontend_t *web)
{
    const char *config = NULL, *dags = NULL, *db = NULL, *listen = NULL, *functions = NULL;
    long parallelism = 0;
    wr_config_t cfg;
    wr_server_opts_t opts;
    wr_err_t err;
    char exe[4096];
    size_t exe_len = sizeof(exe);
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--config") == 0 && has) {
            config = argv[++i];
        } else if (strcmp(a, "--dags") == 0 && has) {
            dags = argv[++i];
        } else if (strcmp(a, "--db") == 0 && has) {
            db = argv[++i];
        } else if (strcmp(a, "--listen") == 0 && has) {
            listen = argv[++i];
        } else if (strcmp(a, "--functions") == 0 && has) {
            functions = argv[++i];
        } else if (strcmp(a, "--parallelism") == 0 && has) {
            char *end;
            parallelism = strtol(argv[++i], &end, 10);
            if (*end != '\0' || parallelism < 1 || parallelism > 100000) {
                fprintf(stderr, "weir serve: --parallelism must be a whole number >= 1\n");
                return 2;
            }
        } else {
            fprintf(stderr, "weir serve: unknown or incomplete option '%s'\n%s", a, usage);
            return 2;
        }
    }
    memset(&err, 0, sizeof(err));
    if (wr_config_load(config, &cfg, &err) != 0) {
        fprintf(stderr, "weir serve: %s\n", err.msg);
        return 2;
    }
    if (parallelism == 0)
        parallelism = cfg.parallelism;
    if (parallelism == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        parallelism = (cores > 0 ? cores : 1) * 4;
    }
    memset(&opts, 0, sizeof(opts));
    opts.dags_dir = dags ? dags : cfg.dags ? cfg.dags : "dags";
    opts.db_path = db ? db : cfg.db ? cfg.db : "weir.db";
    opts.listen = listen ? listen : cfg.listen ? cfg.listen : "127.0.0.1:8080";
    opts.functions_dir = functions           ? functions
                         : cfg.functions_dir ? cfg.functions_dir
                                             : "functions";
    opts.self_exe = uv_exepath(exe, &exe_len) == 0 ? exe : argv[0];
    opts.parallelism = (int)parallelism;
    opts.config = &cfg;
    opts.frontend = web;
    if (access(opts.dags_dir, R_OK | X_OK) != 0) {
        fprintf(stderr, "weir serve: the DAG folder '%s' cannot be read\n", opts.dags_dir);
        wr_config_dispose(&cfg);
        return 2;
    }
    rc = wr_server_run(&opts, &err);
    if (rc != 0)
        fprintf(stderr, "weir serve: %s\n", err.msg);
    wr_config_dispose(&cfg);
    return rc == 0 ? 0 : 1;
}
