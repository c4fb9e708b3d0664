/* SPDX-License-Identifier: MIT
 * engine/csv.c: streaming RFC 4180 CSV reader and writer (see engine/csv.h).
 *
 * DESIGN: the reader keeps a fixed 64 KiB input window and copies whole runs of ordinary
 * bytes (found with memchr-like scans) into the record buffer, rather than going through
 * getc() per byte; a 1 GB file is read in about the time it takes to copy it. Every field is
 * stored NUL-terminated in one growing buffer and the field array is rebuilt after the record
 * ends, because the buffer may move while the record grows. A record is capped at
 * WR_CSV_MAX_RECORD bytes so that a stray quote in a huge file is reported instead of pulling
 * the rest of the file into memory. */
#include "engine/csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#define IN_SIZE           ((size_t)64 * 1024)
#define WR_CSV_MAX_RECORD ((size_t)64 * 1024 * 1024)

/* errno as a negative UV code; never 0, so that a failure cannot pass for success. */
static int errno_code(void)
{
    return errno != 0 ? -errno : UV_EIO;
}

struct wr_csv_reader_s {
    FILE *fp;               /* borrowed */
    char *name;             /* file name for messages */
    char *in;               /* input window of IN_SIZE bytes */
    size_t in_len, in_pos;  /* valid bytes in `in`, next byte to read */
    bool at_eof;            /* fread() returned 0: no more input */
    bool started;           /* the BOM check has been done */
    long line;              /* 1-based line of the next byte */
    long record_line;       /* line where the last record started */
    wr_buf_t rec;           /* the record's fields, each NUL-terminated */
    size_t *offs;           /* start of each field in rec */
    bool *quoted;           /* whether each field was quoted */
    wr_csv_field_t *fields; /* rebuilt from offs after each record */
    size_t cap;             /* capacity of offs, quoted and fields */
};

wr_csv_reader_t *wr_csv_reader_new(FILE *fp, const char *name)
{
    wr_csv_reader_t *r = wr_xcalloc(1, sizeof(*r));

    r->fp = fp;
    r->name = wr_xstrdup(name != NULL ? name : "(csv)");
    r->in = wr_xmalloc(IN_SIZE);
    r->line = 1;
    wr_buf_init(&r->rec);
    return r;
}

void wr_csv_reader_free(wr_csv_reader_t *r)
{
    if (r == NULL)
        return;
    free(r->name);
    free(r->in);
    wr_buf_dispose(&r->rec);
    free(r->offs);
    free(r->quoted);
    free(r->fields);
    free(r);
}

long wr_csv_record_line(const wr_csv_reader_t *r)
{
    return r->record_line;
}

/* Makes at least one unread byte available. Returns 1 if there is one, 0 at end of input, or
 * a negative UV code on a read error. */
static int fill(wr_csv_reader_t *r, wr_err_t *err)
{
    size_t n;

    if (r->in_pos < r->in_len)
        return 1;
    if (r->at_eof)
        return 0;
    n = fread(r->in, 1, IN_SIZE, r->fp);
    r->in_pos = 0;
    r->in_len = n;
    if (n > 0)
        return 1;
    r->at_eof = true;
    if (ferror(r->fp)) {
        int code = errno_code();
        return wr_err_set_at(err, code, (int)r->line, 0, "%s:%ld: read error: %s", r->name, r->line,
                             uv_strerror(code));
    }
    return 0;
}

/* The next byte without consuming it, -1 at end of input, or a negative code below -1 on a
 * read error (UV codes are all below -1). */
static int peek(wr_csv_reader_t *r, wr_err_t *err)
{
    int rc = fill(r, err);

    if (rc < 0)
        return rc;
    if (rc == 0)
        return -1;
    return (unsigned char)r->in[r->in_pos];
}

static int append(wr_csv_reader_t *r, const char *p, size_t n, wr_err_t *err)
{
    if (r->rec.len + n > WR_CSV_MAX_RECORD)
        return wr_err_set_at(err, WR_EPARSE, (int)r->record_line, 0,
                             "%s:%ld: record longer than %zu MiB (a stray quote?)", r->name,
                             r->record_line, WR_CSV_MAX_RECORD >> 20);
    wr_buf_append(&r->rec, p, n);
    return 0;
}

static void begin_field(wr_csv_reader_t *r, size_t idx, bool quoted)
{
    if (idx == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->offs = wr_xrealloc(r->offs, r->cap * sizeof(*r->offs));
        r->quoted = wr_xrealloc(r->quoted, r->cap * sizeof(*r->quoted));
        r->fields = wr_xrealloc(r->fields, r->cap * sizeof(*r->fields));
    }
    r->offs[idx] = r->rec.len;
    r->quoted[idx] = quoted;
}

/* Copies a run of bytes up to (not including) one of the stop bytes. Returns the stop byte
 * found, -1 at end of input, or a negative code below -1 on error. */
static int copy_run(wr_csv_reader_t *r, bool in_quotes, wr_err_t *err)
{
    for (;;) {
        int rc = fill(r, err);
        const char *p, *end, *q;

        if (rc < 0)
            return rc;
        if (rc == 0)
            return -1;
        p = r->in + r->in_pos;
        end = r->in + r->in_len;
        for (q = p; q < end; q++) {
            char c = *q;
            if (c == '"' || c == '\n' || c == '\r' || (!in_quotes && c == ','))
                break;
        }
        rc = append(r, p, (size_t)(q - p), err);
        if (rc < 0)
            return rc;
        r->in_pos += (size_t)(q - p);
        if (q < end)
            return (unsigned char)*q;
    }
}

/* Reads a quoted field; the opening quote has been consumed. */
static int read_quoted(wr_csv_reader_t *r, wr_err_t *err)
{
    long open_line = r->line;

    for (;;) {
        int c = copy_run(r, true, err);

        if (c < -1)
            return c;
        if (c == -1)
            return wr_err_set_at(err, WR_EPARSE, (int)open_line, 0,
                                 "%s:%ld: unterminated quoted field", r->name, open_line);
        r->in_pos++;
        if (c == '\n' || c == '\r') {
            /* A line break inside quotes is data; CRLF counts as one line. */
            char ch = (char)c;
            int rc = append(r, &ch, 1, err);
            if (rc < 0)
                return rc;
            if (c == '\n')
                r->line++;
            else if ((c = peek(r, err)) != '\n') {
                if (c < -1)
                    return c;
                r->line++;
            }
            continue;
        }
        /* A quote: either "" (an escaped quote) or the end of the field. */
        c = peek(r, err);
        if (c < -1)
            return c;
        if (c != '"')
            break;
        r->in_pos++;
        {
            int rc = append(r, "\"", 1, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Reads field number `idx` of the current record, up to (not including) what ends it. */
static int read_field(wr_csv_reader_t *r, size_t idx, wr_err_t *err)
{
    int c = peek(r, err);

    if (c < -1)
        return c;
    if (c == '"') {
        r->in_pos++;
        begin_field(r, idx, true);
        c = read_quoted(r, err);
        if (c < 0)
            return c;
        c = peek(r, err);
        if (c < -1)
            return c;
        if (c != ',' && c != '\n' && c != '\r' && c != -1)
            return wr_err_set_at(err, WR_EPARSE, (int)r->line, 0,
                                 "%s:%ld: unexpected character after closing quote", r->name,
                                 r->line);
    } else {
        begin_field(r, idx, false);
        /* A quote inside an unquoted field is an ordinary character. */
        while ((c = copy_run(r, false, err)) == '"') {
            r->in_pos++;
            c = append(r, "\"", 1, err);
            if (c < 0)
                return c;
        }
        if (c < -1)
            return c;
    }
    return append(r, "", 1, err); /* the field's terminator */
}

/* Consumes what ends a field. Returns 1 if another field follows, 0 at the end of the record
 * (a line end or the end of input), or a negative code. */
static int end_field(wr_csv_reader_t *r, wr_err_t *err)
{
    int c = peek(r, err);

    if (c < -1)
        return c;
    if (c == ',') {
        r->in_pos++;
        return 1;
    }
    if (c == '\n' || c == '\r') {
        r->in_pos++;
        r->line++;
        if (c == '\r') {
            c = peek(r, err);
            if (c < -1)
                return c;
            if (c == '\n')
                r->in_pos++; /* CRLF */
        }
    }
    return 0;
}

int wr_csv_read(wr_csv_reader_t *r, const wr_csv_field_t **fields, size_t *n_fields, wr_err_t *err)
{
    size_t n = 0;
    int c;

    if (!r->started) {
        r->started = true;
        /* Skip a UTF-8 BOM; fill() may return fewer than 3 bytes only at end of input. */
        c = fill(r, err);
        if (c < 0)
            return c;
        if (r->in_len - r->in_pos >= 3 && memcmp(r->in + r->in_pos, "\xEF\xBB\xBF", 3) == 0)
            r->in_pos += 3;
    }
    c = peek(r, err);
    if (c < -1)
        return c;
    if (c == -1)
        return 0;
    r->record_line = r->line;
    r->rec.len = 0;
    do {
        c = read_field(r, n, err);
        if (c < 0)
            return c;
        n++;
        c = end_field(r, err);
        if (c < 0)
            return c;
    } while (c == 1);
    for (size_t i = 0; i < n; i++) {
        size_t end = i + 1 < n ? r->offs[i + 1] - 1 : r->rec.len - 1;
        r->fields[i].data = r->rec.data + r->offs[i];
        r->fields[i].len = end - r->offs[i];
        r->fields[i].quoted = r->quoted[i];
    }
    *fields = r->fields;
    *n_fields = n;
    return 1;
}

/* ==== Writer ==== */

static bool needs_quotes(const char *s, size_t len)
{
    if (len == 0)
        return true; /* "" keeps an empty string apart from a missing value */
    if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t')
        return true;
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        return true; /* a reader would skip it as the file's byte order mark */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ',' || c == '"' || c == '\r' || c == '\n')
            return true;
    }
    return false;
}

void wr_csv_write_field(FILE *fp, const char *data, size_t len)
{
    const char *p, *end, *q;

    if (data == NULL)
        return;
    if (!needs_quotes(data, len)) {
        fwrite(data, 1, len, fp);
        return;
    }
    putc('"', fp);
    p = data;
    end = data + len;
    while (p < end) {
        q = memchr(p, '"', (size_t)(end - p));
        if (q == NULL) {
            fwrite(p, 1, (size_t)(end - p), fp);
            break;
        }
        fwrite(p, 1, (size_t)(q - p) + 1, fp);
        putc('"', fp); /* double the quote */
        p = q + 1;
    }
    putc('"', fp);
}

void wr_csv_write_record(FILE *fp, const char *const *data, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            putc(',', fp);
        if (data[i] != NULL)
            wr_csv_write_field(fp, data[i], lens != NULL ? lens[i] : strlen(data[i]));
    }
    putc('\n', fp);
}
