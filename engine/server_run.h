/* SPDX-License-Identifier: MIT
 * engine/server_run.h: starting the daemon (for `weir serve`). */
#ifndef WR_ENGINE_SERVER_RUN_H
#define WR_ENGINE_SERVER_RUN_H

#include "engine/config.h"
#include "engine/server.h"

typedef struct wr_server_opts_s {
    const char *dags_dir;          /* the DAG folder */
    const char *db_path;           /* the database */
    const char *listen;            /* HOST:PORT for the front end */
    const char *functions_dir;     /* local Lambda handlers */
    const char *self_exe;          /* this binary, for child helpers */
    int parallelism;               /* tasks running at once */
    const wr_config_t *config;     /* weir.yaml; borrowed, must outlive the call */
    const wr_frontend_t *frontend; /* the web front end, or NULL */
} wr_server_opts_t;

/** Runs the daemon until SIGTERM/SIGINT has stopped it (running tasks get the configured
 *  `shutdown_grace`, default 30 s, then are stopped and recorded so the next start runs them
 *  again). Returns 0 after a clean stop, or an error that prevented starting. */
WR_MUST_CHECK int wr_server_run(const wr_server_opts_t *opts, wr_err_t *err);

#endif
