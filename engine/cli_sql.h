/* SPDX-License-Identifier: MIT
 * engine/cli_sql.h: `weir sql`, the child process behind local_transform's SQL mode.
 *
 *   weir sql --input NAME=PATH [--input ...] (--sql TEXT | --sql-file F) --output PATH
 *
 * The engine spawns it so that a long query never blocks the loop and a timeout can kill it.
 * Success: one line on stdout, {"rows": N, "output": "PATH"}, exit 0. Failure: one line on
 * stdout, {"errorType": "Weir.SqlError" | "Weir.InputError", "errorMessage": "..."}, the
 * message again on stderr, exit 1 (Weir.InputError when an input file is missing, unreadable
 * or malformed). Bad usage: a message on stderr, exit 2. --help: usage on stdout, exit 0. */
#ifndef WR_ENGINE_CLI_SQL_H
#define WR_ENGINE_CLI_SQL_H

/** Runs `weir sql`; argv[0] is "sql". Returns the process exit status (0, 1 or 2).
 *  Thread: blocking; writes to stdout and stderr. */
int wr_cli_sql(int argc, char **argv);

#endif
