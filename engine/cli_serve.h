/* SPDX-License-Identifier: MIT
 * engine/cli_serve.h: `weir serve`. */
#ifndef WR_ENGINE_CLI_SERVE_H
#define WR_ENGINE_CLI_SERVE_H

#include "engine/server.h"

/** `weir serve [--config F] [--dags DIR] [--db F] [--listen HOST:PORT] [--parallelism N]
 *  [--functions DIR]` with `web` as the HTTP front end (NULL: none). argv[0] is "serve". */
int wr_cli_serve(int argc, char **argv, const wr_frontend_t *web);

#endif
