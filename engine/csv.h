/* SPDX-License-Identifier: MIT
 * engine/csv.h: streaming RFC 4180 CSV reading and writing over stdio.
 *
 * The reader pulls one record at a time from a FILE* through its own 64 KiB buffer, so memory
 * is bounded by the longest record, never by the file. It accepts quoted fields with ""
 * escapes, commas and line breaks inside quotes, CRLF, LF or lone CR line ends, a last record
 * without a line end, and skips a UTF-8 byte order mark at the start of the file. A quote
 * inside an unquoted field is kept as a literal character (as most producers expect). Each
 * field says whether it was quoted, so callers can tell an unquoted empty field (missing
 * value) from "" (an empty string). Errors name the file and the 1-based line.
 *
 * The writer quotes a field only when it must: when it contains a comma, a quote, CR or LF,
 * has leading or trailing space, or starts with a byte order mark; an empty string is written as ""
 * and a missing value (NULL) as nothing, which the reader above reads back faithfully. Records end
 * with LF.
 *
 * Thread: a reader is used by one thread at a time. No sqlite here. */
#ifndef WR_ENGINE_CSV_H
#define WR_ENGINE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/common.h"

typedef struct wr_csv_reader_s wr_csv_reader_t; /* opaque */

typedef struct wr_csv_field_s {
    const char *data; /* the unescaped bytes, NUL-terminated (data[len] == '\0') */
    size_t len;       /* length without the terminator; may hold embedded NULs */
    bool quoted;      /* true if the field was written between quotes */
} wr_csv_field_t;

/** Starts reading CSV from `fp`, which stays borrowed: the caller keeps it open while the
 *  reader lives and closes it afterwards. `name` (copied) is the file name used in error
 *  messages. The reader starts at fp's current position; a BOM there is skipped.
 *  Returns a reader owned by the caller (free it with wr_csv_reader_free()); never NULL. */
wr_csv_reader_t *wr_csv_reader_new(FILE *fp, const char *name);
/** Releases the reader (not the FILE*). NULL is a no-op. */
void wr_csv_reader_free(wr_csv_reader_t *r);

/** Reads the next record. Returns 1 with *fields / *n_fields set when a record was read,
 *  0 at end of input, or a negative code: WR_EPARSE for malformed input ("f.csv:17:
 *  unterminated quoted field"), a UV_E* code for a read error. An empty line is a record
 *  with one empty, unquoted field. The fields are borrowed from the reader and valid until
 *  the next call on it. err->line is set to the line of the error. */
WR_MUST_CHECK int wr_csv_read(wr_csv_reader_t *r, const wr_csv_field_t **fields, size_t *n_fields,
                              wr_err_t *err);
/** The 1-based line on which the record last returned by wr_csv_read() started (0 before the
 *  first record). */
long wr_csv_record_line(const wr_csv_reader_t *r);

/** Writes one field, escaping it as described above, without a separator. `data` NULL means a
 *  missing value and writes nothing; otherwise `len` bytes are written. Write errors are left
 *  in ferror(fp) for the caller to check once at the end. */
void wr_csv_write_field(FILE *fp, const char *data, size_t len);
/** Writes a whole record: fields separated by commas, then LF. data[i] NULL is a missing
 *  value; lens may be NULL when every field is a NUL-terminated string. Write errors are left
 *  in ferror(fp). */
void wr_csv_write_record(FILE *fp, const char *const *data, const size_t *lens, size_t n);

#endif
