/* SPDX-License-Identifier: MIT
 * engine/xform.h: the SQL mode of local_transform: one SQL query over CSV and JSON-lines
 * files, run with an embedded SQLite, written to a CSV or JSON-lines file.
 *
 * Inputs are streamed: each one is a virtual table that reads its file a row at a time, and
 * SQLite's sorts, DISTINCT and GROUP BY spill to temporary files in $SQLITE_TMPDIR or $TMPDIR
 * (else /var/tmp, /usr/tmp, /tmp), so memory stays flat whatever the size of the inputs.
 *
 * Input typing. CSV: the first record is the header (an empty name becomes column<N>, a repeated
 * name takes a _2, _3... suffix); an unquoted empty field is NULL, a quoted "" is ''; a field that
 * is a whole decimal integer in int64 range without a leading zero ("42", "-7", "0") is INTEGER,
 * a decimal or exponent number ("3.5", "-.5", "1e3") is REAL, anything else (including "007",
 * " 42" and 20-digit numbers) stays TEXT; blank lines are skipped in files with more than one
 * column; a record with a different number of fields than the header is an error.
 * JSON lines: one object per line, blank lines skipped; the columns are the keys of the first
 * 1000 objects in first-seen order (keys first seen later are ignored); string -> TEXT,
 * integer -> INTEGER, real -> REAL, true/false -> 1/0, null or a missing key -> NULL, objects
 * and arrays -> compact JSON text. Format by extension: .csv is CSV; .json, .jsonl and .ndjson
 * are JSON lines; otherwise the first non-blank byte decides ('{' means JSON lines).
 * An empty input (no header, no object) is an error, since it has no columns.
 *
 * Joins: SQLite has no automatic index for virtual tables, so an equality join on an input
 * (a.k = b.k, or a correlated subquery) would rescan its file once per outer row. Instead, the
 * first such lookup copies that input into a private temporary database with an index on the
 * join column, and later lookups use the index (still on disk: memory stays flat).
 *
 * Output format by extension (case-insensitive): .csv is CSV with a header row of the result
 * column names, NULL as an empty field, '' as "" (see engine/csv.h); .jsonl, .ndjson and .json
 * are one JSON object per line, INTEGER -> integer, REAL -> number (15 significant digits, as
 * SQLite prints them; infinities -> null in JSON, Inf in CSV), TEXT -> string (invalid UTF-8
 * replaced by U+FFFD), NULL -> null. Reals keep a ".0" in both formats ("45.0"); a BLOB is
 * written as lowercase hex in both.
 *
 * Thread: blocking; meant for the `weir sql` child process. Any thread may call it. */
#ifndef WR_ENGINE_XFORM_H
#define WR_ENGINE_XFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/common.h"

typedef struct {
    const char *name; /* table name the SQL uses; unique, case-insensitively */
    const char *path; /* the CSV or JSON-lines file (unused when `files` is set) */
    /* Several files read as one table, in this order (a folder, a glob, a catalog table).
     * The columns are the union of the files' columns by name, in first-seen order (a file
     * without a column gives NULL there; CSV and JSON-lines files may be mixed), followed by
     * one TEXT column per Hive-style `key=value` folder name found in the files' paths below
     * `base` (NULL for a file whose path has no such folder). */
    const char *const *files; /* NULL: a single file, `path` */
    size_t n_files;           /* may be 0: then the input is an error (no columns) */
    const bool *schema_only;  /* per file, may be NULL: the file gives its columns but no
                                 rows (already processed: a job bookmark) */
    const char *base;         /* the folder the key=value folders are below; NULL: every
                                 folder of each path counts */
} wr_xform_input_t;           /* table name -> file(s) */

/** Runs `sql` (exactly one query: SELECT, WITH or VALUES) with each input visible as a table
 *  and writes the result rows to `output_path`, creating its missing parent directories. The
 *  rows go to a temporary file in the same directory, renamed into place only on success, so a
 *  failed run leaves no partial output (and no temporary file). On success *rows (may be NULL)
 *  is the number of rows written.
 *  Errors: WR_EPARSE for a malformed input ("raw.csv:17: unterminated quoted field"),
 *  WR_EINVALID for a bad query (SQLite's message and position) or an unsupported output
 *  extension, a UV_E* code for an input that cannot be opened ("input 'raw': x.csv: no such
 *  file or directory") or an output that cannot be written. Detail in *err (may be NULL). */
WR_MUST_CHECK int wr_xform_run(const wr_xform_input_t *inputs, size_t n_inputs, const char *sql,
                               const char *output_path, int64_t *rows, wr_err_t *err);

#endif
