/* SPDX-License-Identifier: MIT
 * engine/cli.h: the `weir` command line. */
#ifndef WR_ENGINE_CLI_H
#define WR_ENGINE_CLI_H

/** Runs the command in argv (argv[0] is the program); returns the exit status. */
int wr_cli_main(int argc, char **argv);

#endif
