/* SPDX-License-Identifier: MIT
 * engine/cli_catalog.h: `weir catalog [--db F] [--config F] [--json] [DATABASE[.TABLE]]`,
 * a look at the data catalog the crawlers fill (engine/catalog.h): every database, the tables
 * of one database with their columns, or one table with its partitions, files and history.
 * Exit status: 0, 1 when the database or table is not found, 2 on bad usage. */
#ifndef WR_ENGINE_CLI_CATALOG_H
#define WR_ENGINE_CLI_CATALOG_H

/** `weir catalog ARGS` (argv[0] is "catalog"). Returns the exit status. */
int wr_cli_catalog(int argc, char **argv);

#endif
