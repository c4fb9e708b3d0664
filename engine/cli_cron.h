/* SPDX-License-Identifier: MIT
 * engine/cli_cron.h: the `weir cron` command.
 *
 * `weir cron next "EXPR" [--from ISO8601] [--count N] [--tz ZONE]` prints the next N fire
 * times of a cron expression (engine/cron.h) strictly after --from, one per line, as local
 * wall time in ZONE with the UTC offset in force: 2026-03-29T03:00:00+01:00.
 * Thread: main thread only (writes to stdout and stderr). */
#ifndef WR_ENGINE_CLI_CRON_H
#define WR_ENGINE_CLI_CRON_H

/** Runs `weir cron`. argv[0] is "cron" and argv[1] the subcommand ("next"); the strings are
 *  borrowed. Fire times go to stdout, diagnostics to stderr. Returns the process exit status:
 *  0 on success (and for --help, which prints usage to stdout), 1 for an invalid expression
 *  or time zone, 2 for bad usage (unknown option, missing or malformed argument). */
int wr_cli_cron(int argc, char **argv);

#endif
