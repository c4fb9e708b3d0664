/* SPDX-License-Identifier: MIT
 * engine/cli_load.h: `weir load`, the child process behind copy_to_redshift's local provider:
 * a Redshift COPY (or a SQL statement) against the local warehouse.
 *
 *   weir load --table T --from PATH [--format csv|json] [--columns A,B,...]
 *             [--ignore-header N] [--delimiter C] [--dateformat F] [--timeformat F]
 *             [--null-as S] [--truncate] [--manifest] [--token TOKEN]
 *             [--warehouse FILE | --dsn DSN]
 *   weir load --sql TEXT [--token TOKEN] [--warehouse FILE | --dsn DSN]
 *
 * The warehouse is the SQLite file --warehouse (default ./warehouse.db), or PostgreSQL when a
 * DSN is given with --dsn or in $WEIR_LOAD_DSN (how the engine passes it, so that a password
 * never shows in a process list). Success: one line on stdout, {"rows", "table",
 * "duration_ms", "files", "token", "duplicate"} (SQL mode: {"rows", "records",
 * "duration_ms", ...}), exit 0. Failure: one line {"errorType", "errorMessage"} on stdout, the
 * message on stderr, exit 1; the error names are listed in README.md ("Warehouse and
 * alerts"). Bad usage: exit 2. */
#ifndef WR_ENGINE_CLI_LOAD_H
#define WR_ENGINE_CLI_LOAD_H

/** Runs `weir load`; argv[0] is "load". Returns the exit status. Thread: blocking. */
int wr_cli_load(int argc, char **argv);

#endif
