/* SPDX-License-Identifier: MIT
 * engine/catalog.h: the data catalog (the local Glue Data Catalog): databases, tables with
 * their columns and partition keys, partitions, the files behind each table, and the history
 * of what each crawl changed. Written by `weir crawl` (engine/cli_crawl.c), read by
 * `weir catalog`, `weir sql` (inputs "catalog:DB.TABLE") and the glue_job task type.
 *
 * Tables travel as JSON objects shaped like Glue's GetTable answer:
 *   {"Name", "DatabaseName", "Location", "Classification": "csv"|"json", "Crawler",
 *    "Version", "CreateTime", "UpdateTime",
 *    "Columns": [{"Name", "Type"}...], "PartitionKeys": [{"Name", "Type"}...],
 *    "Partitions": [{"Values": [..], "Location"}...],
 *    "Files": [{"Path", "Size", "MTime"}...]}
 * Types are Glue's: bigint double boolean date timestamp string struct<a:T,...> array<T>.
 *
 * SQL lives in engine/store_catalog.c. Thread: the store's (one wr_store_t per thread).
 * Errors: 0 or a negative code (WR_ESTORE, WR_ENOTFOUND), detail in *err. Strings passed in
 * are borrowed for the call; JSON returned is new (the caller decrefs it). */
#ifndef WR_ENGINE_CATALOG_H
#define WR_ENGINE_CATALOG_H

#include <jansson.h>

#include "engine/common.h"
#include "engine/store.h"

/** Every database: [{"Name", "CreateTime", "TableCount"}], by name. */
WR_MUST_CHECK int wr_catalog_databases(wr_store_t *store, json_t **out, wr_err_t *err);

/** The tables of `database` (by name), each with Columns and PartitionKeys, plus
 *  "PartitionCount" and "FileCount" instead of the lists. WR_ENOTFOUND when the database
 *  does not exist. */
WR_MUST_CHECK int wr_catalog_tables(wr_store_t *store, const char *database, json_t **out,
                                    wr_err_t *err);

/** One whole table (Partitions and Files included). WR_ENOTFOUND, with a message naming
 *  DATABASE.TABLE, when there is no such table. */
WR_MUST_CHECK int wr_catalog_table_get(wr_store_t *store, const char *database, const char *table,
                                       json_t **out, wr_err_t *err);

/** The recorded changes of a table, oldest first: [{"Kind", "Crawler", "Time", ...detail}]. */
WR_MUST_CHECK int wr_catalog_table_changes(wr_store_t *store, const char *database,
                                           const char *table, json_t **out, wr_err_t *err);

/** Records one crawl, in one transaction: creates `database` if new; for each table object
 *  in `tables` (the shape above; Files, Partitions, Columns and PartitionKeys replace what
 *  the catalog held, Version and CreateTime are taken as given), upserts it; appends each
 *  of `changes` ([{"Table": NAME, "Kind": K, ...detail}]) to the history; and stores
 *  `result` as the crawler's last result. Tables of the database not in `tables` are left
 *  alone. */
WR_MUST_CHECK int wr_catalog_crawl_apply(wr_store_t *store, const char *crawler, const char *path,
                                         const char *database, const json_t *tables,
                                         const json_t *changes, const json_t *result,
                                         wr_err_t *err);

#endif
