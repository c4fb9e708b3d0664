/* SPDX-License-Identifier: MIT
 * engine/cli_alerts.h: `weir alerts`, the alerts sns_alert published (engine/alerts.h).
 *
 *   weir alerts [--db F] [--limit N] [--json] [--config F]
 *
 * Newest first. Human output: one block per alert (time, topic, subject, delivery, message);
 * --json: one JSON array on stdout. Exit 0, 1 when the database cannot be read, 2 on bad
 * usage. */
#ifndef WR_ENGINE_CLI_ALERTS_H
#define WR_ENGINE_CLI_ALERTS_H

/** Runs `weir alerts`; argv[0] is "alerts". Returns the exit status. Thread: blocking. */
int wr_cli_alerts(int argc, char **argv);

#endif
