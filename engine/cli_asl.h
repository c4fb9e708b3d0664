/* SPDX-License-Identifier: MIT
 * engine/cli_asl.h: `weir run` and `weir validate` for Amazon States Language files. */
#ifndef WR_ENGINE_CLI_ASL_H
#define WR_ENGINE_CLI_ASL_H

#include <stddef.h>

#include "engine/cli_run.h"

/** `weir run FILE ...` when FILE is a state machine: `c` holds the parsed options, the
 *  configuration and the file (engine/cli_run.h); the caller disposes of it. Returns the exit
 *  status (0 SUCCEEDED, 1 FAILED, 2 usage/invalid). */
int wr_cli_run_asl(wr_run_cli_t *c);
/** Validates the state machine in `text` (read from `path`); prints each problem to stderr
 *  as `path: JSON.path: message` and returns non-zero if there is any, else prints
 *  `path: ok ...` to stdout and returns 0. */
int wr_cli_validate_asl(const char *path, const char *text, size_t len);

#endif
