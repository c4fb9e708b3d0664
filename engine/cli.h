/* SPDX-License-Identifier: MIT
 * engine/cli.h: the `weir` command line. */
#ifndef WR_ENGINE_CLI_H
#define WR_ENGINE_CLI_H

#include "engine/server.h"

/** A subcommand given to the CLI by the program that assembles weir (engine/main.c), for
 *  commands that live outside the engine (the web front end's `trigger`). */
typedef struct wr_cli_command_s {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command name */
} wr_cli_command_t;

/** Runs the command in argv (argv[0] is the program); returns the exit status. `extra`
 *  (ending with {NULL, NULL}, may be NULL) adds commands; `web` is the front end `weir serve`
 *  starts (NULL: serve runs without HTTP). */
int wr_cli_main(int argc, char **argv, const wr_cli_command_t *extra, const wr_frontend_t *web);

#endif
