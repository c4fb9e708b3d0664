/* SPDX-License-Identifier: MIT
 * engine/cli_crawl.h: the local Glue crawler: `weir crawl`, and the schema inference behind
 * it (exposed for tests/unit/test_catalog.c).
 *
 *   weir crawl --db DB --crawler NAME --path DIR --database D [--table-prefix P]
 *
 * scans DIR, infers tables and records them in the catalog of DB (engine/catalog.h) in one
 * transaction, and prints its result as one JSON line on stdout:
 *   {"Crawler", "Database", "Path", "TablesCreated", "TablesUpdated", "TablesUnchanged",
 *    "tables": [{"Name", "Status": "created"|"updated"|"unchanged", ...}],
 *    "changes": [{"Table", "Kind", ...}], "FilesSkipped": [{"Path", "Reason"}], ...}
 * or {"errorType", "errorMessage"} and exit status 1 (Glue.EntityNotFoundException for a
 * missing folder, Glue.InvalidInputException for a path that is not a folder,
 * Weir.StoreError for a database failure); 2 on bad usage.
 *
 * Layout rules. Files directly under DIR, or under `key=value` folders directly under DIR,
 * make one table named after DIR's last component; every other folder directly under DIR is
 * a table of its own, named after the folder. Below a table's folder, `key=value` folders are
 * Hive-style partitions (keys typed string); other folders are just layout. Names starting
 * with '.' or '_' (_SUCCESS, _temporary, .crc...) are ignored. Table names are lowercased,
 * characters other than [a-z0-9_] become '_', and the prefix is prepended.
 *
 * Inference. CSV (.csv): the header names the columns; up to WR_CRAWL_SAMPLE_ROWS rows are
 * sampled and each column gets the narrowest type holding every non-empty cell (boolean,
 * bigint, double, date, timestamp, else string; all empty: string). JSON lines (.json,
 * .jsonl, .ndjson): the keys of up to WR_CRAWL_SAMPLE_ROWS objects in first-seen order;
 * numbers are bigint or double, true/false boolean, strings string, objects
 * struct<k:T,...>, arrays array<T>. A file that cannot be read as its format (malformed
 * CSV, a line that is not a JSON object, no header) is left out of the catalog and listed in
 * FilesSkipped with the reason. A table's columns are the union over its files, widened.
 *
 * Widening: bigint -> double; date -> timestamp; any other mix of scalars -> string;
 * struct fields merge; array elements widen; a struct or array mixed with anything else ->
 * string. A re-crawl never narrows a type: new columns are added (ColumnAdded), widened ones
 * recorded (TypeChanged), columns gone from the files are kept. Thread: blocking, for the
 * `weir crawl` child process. */
#ifndef WR_ENGINE_CLI_CRAWL_H
#define WR_ENGINE_CLI_CRAWL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "engine/common.h"

#define WR_CRAWL_SAMPLE_ROWS 1000 /* rows (objects) sampled per file */

/** `weir crawl ARGS` (argv[0] is "crawl"). Returns the exit status. */
int wr_cli_crawl(int argc, char **argv);

/** The type of one CSV cell: "boolean", "bigint", "double", "date", "timestamp" or "string";
 *  NULL for an empty cell (no information). Static strings. */
const char *wr_crawl_cell_type(const char *s, size_t len);

/** Widens Glue type `a` by `b` (either may be NULL: unknown). Returns a new string (free()),
 *  or NULL when both are NULL. Malformed type text counts as string. */
char *wr_crawl_type_widen(const char *a, const char *b);

/** Splits a Hive-style folder name "key=value" (non-empty key). Returns false otherwise.
 *  *key / *value are new strings (free()). */
bool wr_crawl_partition_split(const char *name, char **key, char **value);

/** Infers the columns of one file, [{"Name", "Type"}] (new), and its classification ("csv"
 *  or "json", static). WR_EPARSE with "FILE:LINE: reason" for a file that cannot be read as
 *  its format; a UV_E* code when it cannot be opened. */
WR_MUST_CHECK int wr_crawl_infer_file(const char *path, json_t **columns, const char **format,
                                      wr_err_t *err);

/** Scans `dir` into tables (the engine/catalog.h shape, without times or Version) and the
 *  files left out, [{"Path", "Reason"}]. Both new. UV_ENOENT / UV_ENOTDIR for `dir`. */
WR_MUST_CHECK int wr_crawl_scan(const char *dir, const char *prefix, json_t **tables,
                                json_t **skipped, wr_err_t *err);

/** Merges a scanned table into what the catalog held (`old`, NULL when new): returns the
 *  table to record (new) and appends its changes to `changes`. *status is "created",
 *  "updated" or "unchanged". */
json_t *wr_crawl_merge(const json_t *old, const json_t *scanned, json_t *changes,
                       const char **status);

#endif
