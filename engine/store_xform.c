/* SPDX-License-Identifier: MIT
 * engine/store_xform.c: the SQL mode of local_transform (see engine/xform.h).
 *
 * Each input file becomes a virtual table of the module weir_csv or weir_jsonl, created in a
 * private temporary database with CREATE VIRTUAL TABLE temp."name" USING weir_csv('path').
 * A cursor owns its own FILE* and reads one record per xNext, so a self-join works and no
 * file is ever held in memory. The query's rows are written as sqlite3_step() yields them.
 *
 * DESIGN: memory stays flat because nothing here buffers more than one record, and SQLite is
 * told to keep its own working set small: the main database is a temporary on-disk one (""),
 * temp_store=FILE puts DISTINCT/GROUP BY b-trees and sort runs in temporary files, and
 * cache_size bounds both the page cache and the sorter's in-memory run (vdbesort.c sizes it
 * from the main database's cache_size). SQLite's unix VFS finds the temporary directory in
 * $SQLITE_TMPDIR, then $TMPDIR.
 *
 * A join on an input is served by a lookup copy of it (table_best_index() says why): a second
 * private temporary database per input, filled on first use, with an index per join column.
 *
 * Errors raised inside the virtual table callbacks travel two ways: as the vtab's zErrMsg,
 * which SQLite reports from the failing step, and as a wr_err_t in the shared xform_ctx_t,
 * which keeps the weir code (WR_EPARSE, UV_E*) that SQLite's SQLITE_ERROR would lose. */
#include "engine/xform.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>
#include <uv.h>

#include "engine/csv.h"

#define JSONL_SAMPLE_LINES 1000                       /* lines whose keys make the columns */
#define JSONL_MAX_LINE     ((size_t)64 << 20)         /* a longer line is reported, not loaded */
#define IN_SIZE            ((size_t)64 * 1024)        /* read window of the JSON-lines reader */
#define OUT_BUF_SIZE       ((size_t)1024 * 1024)      /* stdio buffer of the output file */
#define CACHE_SIZE_PRAGMA  "PRAGMA cache_size=-16000" /* 16 MB page cache and sort runs */

/* errno as a negative UV code; never 0, so that a failure cannot pass for success. */
static int errno_code(void)
{
    return errno != 0 ? -errno : UV_EIO;
}

typedef enum { FMT_CSV, FMT_JSONL } fmt_t;

typedef struct {
    wr_err_t err;                   /* first error raised by a virtual table; err.code 0 if none */
    const wr_xform_input_t *inputs; /* wr_xform_run()'s, for the weir_files tables */
    size_t n_inputs;
} xform_ctx_t;

/* Keeps the first error only: later ones are usually consequences. */
static void ctx_fail(xform_ctx_t *ctx, const wr_err_t *err)
{
    if (ctx->err.code == 0)
        ctx->err = *err;
}

static bool has_ext(const char *path, const char *ext)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash != NULL ? slash : path, '.');

    return dot != NULL && strcasecmp(dot + 1, ext) == 0;
}

/* ==== JSON-lines reader ==== */

typedef struct {
    FILE *fp;              /* borrowed from the owner */
    const char *name;      /* borrowed: file name for messages */
    char *in;              /* read window of IN_SIZE bytes */
    size_t in_len, in_pos; /* valid bytes, next byte */
    bool at_eof;           /* no more input */
    bool started;          /* BOM check done */
    wr_buf_t line;         /* the current line, without its LF */
    long lineno;           /* 1-based number of the current line */
} jsonl_reader_t;

static void jsonl_reader_init(jsonl_reader_t *jr, FILE *fp, const char *name)
{
    memset(jr, 0, sizeof(*jr));
    jr->fp = fp;
    jr->name = name;
    jr->in = wr_xmalloc(IN_SIZE);
    wr_buf_init(&jr->line);
}

static void jsonl_reader_dispose(jsonl_reader_t *jr)
{
    free(jr->in);
    wr_buf_dispose(&jr->line);
    memset(jr, 0, sizeof(*jr));
}

static int jsonl_fill(jsonl_reader_t *jr, wr_err_t *err)
{
    size_t n;

    if (jr->in_pos < jr->in_len)
        return 1;
    if (jr->at_eof)
        return 0;
    n = fread(jr->in, 1, IN_SIZE, jr->fp);
    jr->in_pos = 0;
    jr->in_len = n;
    if (n > 0)
        return 1;
    jr->at_eof = true;
    if (ferror(jr->fp)) {
        int code = errno_code();
        return wr_err_set(err, code, "%s:%ld: read error: %s", jr->name, jr->lineno + 1,
                          uv_strerror(code));
    }
    return 0;
}

/* Reads the next line into jr->line (NUL-terminated, without LF). Returns 1, 0 at end of
 * input, or a negative code. */
static int jsonl_read_line(jsonl_reader_t *jr, wr_err_t *err)
{
    int rc;

    jr->line.len = 0;
    rc = jsonl_fill(jr, err);
    if (rc <= 0)
        return rc;
    if (!jr->started) {
        jr->started = true;
        if (jr->in_len >= 3 && memcmp(jr->in, "\xEF\xBB\xBF", 3) == 0)
            jr->in_pos = 3;
    }
    jr->lineno++;
    for (;;) {
        const char *p, *nl;
        size_t n;

        rc = jsonl_fill(jr, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break; /* a last line without LF */
        p = jr->in + jr->in_pos;
        nl = memchr(p, '\n', jr->in_len - jr->in_pos);
        n = nl != NULL ? (size_t)(nl - p) : jr->in_len - jr->in_pos;
        if (jr->line.len + n > JSONL_MAX_LINE)
            return wr_err_set_at(err, WR_EPARSE, (int)jr->lineno, 0,
                                 "%s:%ld: line longer than %zu MiB", jr->name, jr->lineno,
                                 JSONL_MAX_LINE >> 20);
        wr_buf_append(&jr->line, p, n);
        jr->in_pos += n;
        if (nl != NULL) {
            jr->in_pos++;
            break;
        }
    }
    wr_buf_append(&jr->line, "", 0); /* terminates it, even when nothing was read */
    return 1;
}

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    default:
        return "an object";
    }
}

/* Reads the next non-blank line and parses it into *out (a new reference). Returns 1, 0 at
 * end of input, or a negative code (WR_EPARSE naming file:line). */
static int jsonl_next_object(jsonl_reader_t *jr, json_t **out, wr_err_t *err)
{
    json_error_t jerr;
    json_t *v;
    int rc;

    do {
        rc = jsonl_read_line(jr, err);
        if (rc <= 0)
            return rc;
    } while (is_blank(jr->line.data, jr->line.len));
    v = json_loadb(jr->line.data, jr->line.len, JSON_ALLOW_NUL, &jerr);
    if (v == NULL)
        return wr_err_set_at(err, WR_EPARSE, (int)jr->lineno, jerr.column,
                             "%s:%ld: invalid JSON: %s (column %d)", jr->name, jr->lineno,
                             jerr.text, jerr.column);
    if (!json_is_object(v)) {
        rc = wr_err_set_at(err, WR_EPARSE, (int)jr->lineno, 0,
                           "%s:%ld: expected one JSON object per line, found %s", jr->name,
                           jr->lineno, json_type_name(v));
        json_decref(v);
        return rc;
    }
    *out = v;
    return 1;
}

/* ==== Virtual tables: weir_csv, weir_jsonl and weir_files ==== */

/* One file of a weir_files table (several files read as one table). */
typedef struct {
    const char *path; /* borrowed from the wr_xform_input_t */
    fmt_t fmt;
    bool skip;   /* schema only: gives columns, never rows */
    int width;   /* CSV: fields in its header */
    int *map;    /* CSV: table data column -> field index, -1 when the file lacks it */
    char **hive; /* value of each key=value column (NULL: the path has no such folder) */
} tfile_t;

typedef struct {
    sqlite3_vtab base; /* must be first */
    xform_ctx_t *ctx;  /* borrowed from wr_xform_run() */
    fmt_t fmt;
    char *path; /* the input file (weir_files: the table name, for messages) */
    int ncols;
    char **keys;        /* JSON lines: the key of each column in the objects */
    double est_rows;    /* for xBestIndex */
    sqlite3 *side;      /* lookup copy of the rows, built on first use (see lookup_*) */
    bool *side_indexed; /* per column: side has an index on it */
    tfile_t *files;     /* weir_files: the files in reading order; NULL for one file */
    size_t n_files;
    int n_data; /* weir_files: columns from the files; the key=value ones follow */
} table_t;

typedef struct {
    sqlite3_vtab_cursor base;     /* must be first */
    FILE *fp;                     /* owned */
    wr_csv_reader_t *csv;         /* CSV: owned */
    const wr_csv_field_t *fields; /* CSV: the current row, borrowed from csv */
    jsonl_reader_t jl;            /* JSON lines */
    json_t *obj;                  /* JSON lines: the current row, owned */
    sqlite3_int64 rowid;          /* 1-based row number */
    bool eof;
    sqlite3_stmt *lookup; /* on tab->side: rows with one column equal to ?1 */
    int lookup_col;       /* the column `lookup` tests; -1 if none prepared */
    bool looking_up;      /* this scan reads `lookup` instead of the file */
    fmt_t fmt;            /* the format of the file being read */
    const char *path;     /* the file being read (borrowed) */
    size_t file;          /* weir_files: index of that file in tab->files */
} cursor_t;

/* Where a typed value goes: a result of xColumn, or a parameter of a statement. */
typedef struct {
    sqlite3_context *ctx; /* xColumn's context, or NULL */
    sqlite3_stmt *stmt;   /* else this statement's parameter `idx` */
    int idx;
} sink_t;

static void sink_null(const sink_t *k)
{
    if (k->ctx != NULL)
        sqlite3_result_null(k->ctx);
    else
        sqlite3_bind_null(k->stmt, k->idx);
}

static void sink_int(const sink_t *k, sqlite3_int64 v)
{
    if (k->ctx != NULL)
        sqlite3_result_int64(k->ctx, v);
    else
        sqlite3_bind_int64(k->stmt, k->idx, v);
}

static void sink_double(const sink_t *k, double v)
{
    if (k->ctx != NULL)
        sqlite3_result_double(k->ctx, v);
    else
        sqlite3_bind_double(k->stmt, k->idx, v);
}

/* `del` as for sqlite3_result_text(): SQLITE_TRANSIENT copies, free() takes the string. */
static void sink_text(const sink_t *k, const char *s, size_t len, void (*del)(void *))
{
    if (len > INT32_MAX) {
        if (k->ctx != NULL)
            sqlite3_result_error_toobig(k->ctx);
        if (del != SQLITE_TRANSIENT && del != SQLITE_STATIC)
            del((void *)s);
        if (k->ctx == NULL)
            sqlite3_bind_null(k->stmt, k->idx);
        return;
    }
    if (k->ctx != NULL)
        sqlite3_result_text(k->ctx, s, (int)len, del);
    else
        sqlite3_bind_text(k->stmt, k->idx, s, (int)len, del);
}

/* Reports an error from a table method: message to SQLite, code to the context. */
static int vtab_fail(table_t *tab, const wr_err_t *err)
{
    sqlite3_free(tab->base.zErrMsg);
    tab->base.zErrMsg = sqlite3_mprintf("%s", err->msg);
    ctx_fail(tab->ctx, err);
    return SQLITE_ERROR;
}

/* Strips SQL quotes from a module argument: 'a''b' -> a'b; unquoted text is kept as is. */
static char *dequote(const char *s)
{
    size_t n = strlen(s);
    char q = s[0];
    char *out, *o;

    if (n < 2 || (q != '\'' && q != '"') || s[n - 1] != q)
        return wr_xstrdup(s);
    out = o = wr_xmalloc(n);
    for (size_t i = 1; i < n - 1; i++) {
        *o++ = s[i];
        if (s[i] == q && s[i + 1] == q)
            i++;
    }
    *o = '\0';
    return out;
}

static int open_input(const char *path, FILE **out, double *size, wr_err_t *err)
{
    struct stat st;
    FILE *fp = fopen(path, "rb");
    int code;

    if (fp == NULL) {
        code = errno_code();
        return wr_err_set(err, code, "%s: %s", path, uv_strerror(code));
    }
    code = fstat(fileno(fp), &st) != 0 ? errno_code() : S_ISDIR(st.st_mode) ? UV_EISDIR : 0;
    if (code < 0) {
        fclose(fp);
        return wr_err_set(err, code, "%s: %s", path, uv_strerror(code));
    }
    if (size != NULL)
        *size = S_ISREG(st.st_mode) ? (double)st.st_size : 1e9;
    *out = fp;
    return 0;
}

/* Makes column names usable in CREATE TABLE: empty -> column<N>, and a name equal (ignoring
 * case, as SQLite does) to an earlier one takes a _2, _3... suffix. Takes ownership of each
 * names[i] and may replace it. */
static void unique_names(char **names, int n)
{
    for (int i = 0; i < n; i++) {
        char *base;

        if (names[i][0] == '\0') {
            free(names[i]);
            names[i] = wr_xasprintf("column%d", i + 1);
        }
        base = names[i];
        for (int suffix = 2;; suffix++) {
            bool clash = false;
            for (int j = 0; j < i && !clash; j++)
                clash = sqlite3_stricmp(names[i], names[j]) == 0;
            if (!clash)
                break;
            if (names[i] != base)
                free(names[i]);
            names[i] = wr_xasprintf("%s_%d", base, suffix);
        }
        if (names[i] != base)
            free(base);
    }
}

static int declare_columns(sqlite3 *db, table_t *tab, char **names, int n)
{
    sqlite3_str *s = sqlite3_str_new(db);
    char *sql;
    int rc;
    wr_err_t err;

    sqlite3_str_appendall(s, "CREATE TABLE x(");
    for (int i = 0; i < n; i++)
        sqlite3_str_appendf(s, "%s\"%w\"", i > 0 ? ", " : "", names[i]);
    sqlite3_str_appendall(s, ")");
    sql = sqlite3_str_finish(s);
    if (sql == NULL)
        return SQLITE_NOMEM;
    rc = sqlite3_declare_vtab(db, sql);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        wr_err_set(&err, WR_EPARSE, "%s: cannot use the columns as a table: %s", tab->path,
                   sqlite3_errmsg(db));
        return vtab_fail(tab, &err);
    }
    tab->ncols = n;
    return SQLITE_OK;
}

static int csv_schema(sqlite3 *db, table_t *tab, FILE *fp, wr_err_t *err)
{
    wr_csv_reader_t *r = wr_csv_reader_new(fp, tab->path);
    const wr_csv_field_t *f = NULL;
    size_t n = 0;
    char **names = NULL;
    int rc;

    rc = wr_csv_read(r, &f, &n, err);
    if (rc == 0)
        rc = wr_err_set(err, WR_EPARSE, "%s: empty file: expected a header row", tab->path);
    if (rc < 0)
        goto done;
    if (n > INT32_MAX / 2) {
        rc = wr_err_set(err, WR_EPARSE, "%s:1: too many columns", tab->path);
        goto done;
    }
    names = wr_xcalloc(n, sizeof(*names));
    for (size_t i = 0; i < n; i++)
        names[i] = wr_xstrdup(f[i].data);
    unique_names(names, (int)n);
    rc = declare_columns(db, tab, names, (int)n);
    if (rc != SQLITE_OK)
        rc = tab->ctx->err.code != 0 ? tab->ctx->err.code : WR_EPARSE;
done:
    for (size_t i = 0; names != NULL && i < n; i++)
        free(names[i]);
    free(names);
    wr_csv_reader_free(r);
    return rc < 0 ? rc : 0;
}

static int jsonl_schema(sqlite3 *db, table_t *tab, FILE *fp, wr_err_t *err)
{
    jsonl_reader_t jr;
    json_t *seen = json_object(); /* key -> its column index, in first-seen order */
    json_t *obj = NULL;
    char **names = NULL;
    const char *key;
    json_t *val;
    int n = 0;
    int rc = 0;

    jsonl_reader_init(&jr, fp, tab->path);
    for (int lines = 0; lines < JSONL_SAMPLE_LINES; lines++) {
        rc = jsonl_next_object(&jr, &obj, err);
        if (rc <= 0)
            break;
        json_object_foreach(obj, key, val)
        {
            if (json_object_get(seen, key) == NULL)
                json_object_set_new(seen, key, json_integer(n++));
        }
        json_decref(obj);
        obj = NULL;
    }
    if (rc < 0)
        goto done;
    if (n == 0) {
        rc = wr_err_set(err, WR_EPARSE, "%s: no keys in the first %d objects: no columns",
                        tab->path, JSONL_SAMPLE_LINES);
        goto done;
    }
    names = wr_xcalloc((size_t)n, sizeof(*names));
    tab->keys = wr_xcalloc((size_t)n, sizeof(*tab->keys));
    json_object_foreach(seen, key, val)
    {
        json_int_t i = json_integer_value(val);
        names[i] = wr_xstrdup(key);
        tab->keys[i] = wr_xstrdup(key);
    }
    unique_names(names, n);
    rc = declare_columns(db, tab, names, n);
    if (rc != SQLITE_OK)
        rc = tab->ctx->err.code != 0 ? tab->ctx->err.code : WR_EPARSE;
done:
    for (int i = 0; names != NULL && i < n; i++)
        free(names[i]);
    free(names);
    json_decref(seen);
    jsonl_reader_dispose(&jr);
    return rc < 0 ? rc : 0;
}

static void table_free(table_t *tab)
{
    if (tab == NULL)
        return;
    for (int i = 0; tab->keys != NULL && i < tab->ncols; i++)
        free(tab->keys[i]);
    free(tab->keys);
    free(tab->path);
    free(tab->side_indexed);
    for (size_t i = 0; i < tab->n_files; i++) {
        free(tab->files[i].map);
        for (int h = 0; tab->files[i].hive != NULL && h < tab->ncols - tab->n_data; h++)
            free(tab->files[i].hive[h]);
        free(tab->files[i].hive);
    }
    free(tab->files);
    sqlite3_close(tab->side);
    sqlite3_free(tab->base.zErrMsg);
    free(tab);
}

/* xCreate and xConnect: argv = module, schema, table, 'path'. */
static int table_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, fmt_t fmt,
                         sqlite3_vtab **out, char **errmsg)
{
    table_t *tab = NULL;
    FILE *fp = NULL;
    wr_err_t err = {0};
    int rc;

    tab = wr_xcalloc(1, sizeof(*tab));
    tab->ctx = aux;
    tab->fmt = fmt;
    if (argc != 4) {
        rc = wr_err_set(&err, WR_EINVALID, "%s: expected one argument, the file path", argv[0]);
        goto done;
    }
    tab->path = dequote(argv[3]);
    rc = open_input(tab->path, &fp, &tab->est_rows, &err);
    if (rc < 0)
        goto done;
    tab->est_rows = tab->est_rows / 64 + 1; /* a guess: 64 bytes a row */
    if (fmt == FMT_CSV)
        rc = csv_schema(db, tab, fp, &err);
    else
        rc = jsonl_schema(db, tab, fp, &err);
    if (rc < 0 && tab->ctx->err.code != 0)
        err = tab->ctx->err; /* declare_columns() already reported it */
    if (rc == 0)
        tab->side_indexed = wr_xcalloc((size_t)tab->ncols, sizeof(*tab->side_indexed));
done:
    if (fp != NULL)
        fclose(fp);
    if (rc < 0) {
        ctx_fail(tab->ctx, &err);
        *errmsg = sqlite3_mprintf("%s", err.msg);
        table_free(tab);
        return SQLITE_ERROR;
    }
    *out = &tab->base;
    return SQLITE_OK;
}

static int csv_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                       sqlite3_vtab **out, char **errmsg)
{
    return table_connect(db, aux, argc, argv, FMT_CSV, out, errmsg);
}

static int jsonl_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                         sqlite3_vtab **out, char **errmsg)
{
    return table_connect(db, aux, argc, argv, FMT_JSONL, out, errmsg);
}

/* The format of one file of a weir_files table: by extension, else sniffed. */
static fmt_t files_format(const char *path, FILE *fp)
{
    int c;

    if (has_ext(path, "csv"))
        return FMT_CSV;
    if (has_ext(path, "jsonl") || has_ext(path, "ndjson") || has_ext(path, "json"))
        return FMT_JSONL;
    c = getc(fp);
    if (c == 0xEF && getc(fp) == 0xBB && getc(fp) == 0xBF)
        c = getc(fp);
    while (c == ' ' || c == '\t' || c == '\r' || c == '\n')
        c = getc(fp);
    rewind(fp);
    return c == '{' ? FMT_JSONL : FMT_CSV;
}

/* Adds the columns of one file to `seen` (name -> index, first-seen order); a CSV file's
 * header names go to *header (unique_names applied), its width to f->width. */
static int files_schema_one(tfile_t *f, FILE *fp, json_t *seen, char ***header, wr_err_t *err)
{
    int rc = 0;

    if (f->fmt == FMT_CSV) {
        wr_csv_reader_t *r = wr_csv_reader_new(fp, f->path);
        const wr_csv_field_t *fl = NULL;
        size_t n = 0;
        rc = wr_csv_read(r, &fl, &n, err);
        if (rc == 0)
            rc = wr_err_set(err, WR_EPARSE, "%s: empty file: expected a header row", f->path);
        if (rc > 0 && n > INT32_MAX / 2)
            rc = wr_err_set(err, WR_EPARSE, "%s:1: too many columns", f->path);
        if (rc > 0) {
            char **names = wr_xcalloc(n, sizeof(*names));
            for (size_t i = 0; i < n; i++)
                names[i] = wr_xstrdup(fl[i].data);
            unique_names(names, (int)n);
            for (size_t i = 0; i < n; i++)
                if (json_object_get(seen, names[i]) == NULL)
                    json_object_set_new(seen, names[i], json_integer(json_object_size(seen)));
            f->width = (int)n;
            *header = names;
            rc = 0;
        }
        wr_csv_reader_free(r);
    } else {
        jsonl_reader_t jr;
        json_t *obj = NULL;
        const char *key;
        json_t *val;
        jsonl_reader_init(&jr, fp, f->path);
        for (int lines = 0; lines < JSONL_SAMPLE_LINES; lines++) {
            rc = jsonl_next_object(&jr, &obj, err);
            if (rc <= 0)
                break;
            json_object_foreach(obj, key, val)
            {
                if (json_object_get(seen, key) == NULL)
                    json_object_set_new(seen, key, json_integer(json_object_size(seen)));
            }
            json_decref(obj);
            obj = NULL;
        }
        jsonl_reader_dispose(&jr);
        rc = rc < 0 ? rc : 0;
    }
    return rc;
}

/* The key=value folders of `path` below `base` (every folder when base is NULL) into
 * `values` (key -> value), their keys into `keys` (first-seen order). */
static void files_hive(const char *path, const char *base, json_t *keys, json_t *values)
{
    const char *rel = path, *p, *slash;
    size_t bl = base != NULL ? strlen(base) : 0;

    while (bl > 1 && base[bl - 1] == '/')
        bl--;
    if (base != NULL && strncmp(path, base, bl) == 0 && path[bl] == '/')
        rel = path + bl + 1;
    for (p = rel; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
        const char *eq = memchr(p, '=', (size_t)(slash - p));
        char *k;
        if (eq == NULL || eq == p)
            continue;
        k = wr_xstrndup(p, (size_t)(eq - p));
        if (json_object_get(keys, k) == NULL)
            json_object_set_new(keys, k, json_integer(json_object_size(keys)));
        json_object_set_new(values, k, json_stringn(eq + 1, (size_t)(slash - eq - 1)));
        free(k);
    }
}

/* xCreate and xConnect of weir_files: argv = module, schema, table, 'INDEX' of the input. */
static int files_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                         sqlite3_vtab **out, char **errmsg)
{
    xform_ctx_t *ctx = aux;
    const wr_xform_input_t *in;
    table_t *tab = wr_xcalloc(1, sizeof(*tab));
    json_t *seen = json_object(), *hkeys = json_object(), **hvals = NULL;
    char ***headers = NULL, **names = NULL;
    wr_err_t err = {0};
    unsigned long idx;
    char *arg = NULL;
    int rc = 0, n_hive = 0;

    tab->ctx = ctx;
    if (argc != 4) {
        rc = wr_err_set(&err, WR_EINVALID, "%s: expected one argument", argv[0]);
        goto done;
    }
    arg = dequote(argv[3]);
    idx = strtoul(arg, NULL, 10);
    if (idx >= ctx->n_inputs || ctx->inputs[idx].files == NULL) {
        rc = wr_err_set(&err, WR_EINVALID, "weir_files: no input %s", arg);
        goto done;
    }
    in = &ctx->inputs[idx];
    tab->path = wr_xasprintf("input '%s'", in->name);
    if (in->n_files == 0) {
        rc = wr_err_set(&err, UV_ENOENT, "input '%s': no files to read", in->name);
        goto done;
    }
    tab->n_files = in->n_files;
    tab->files = wr_xcalloc(in->n_files, sizeof(*tab->files));
    headers = wr_xcalloc(in->n_files, sizeof(*headers));
    hvals = wr_xcalloc(in->n_files, sizeof(*hvals));
    for (size_t i = 0; i < in->n_files && rc == 0; i++) {
        tfile_t *f = &tab->files[i];
        FILE *fp = NULL;
        double size = 0;
        f->path = in->files[i];
        f->skip = in->schema_only != NULL && in->schema_only[i];
        if ((rc = open_input(f->path, &fp, &size, &err)) < 0)
            break;
        if (!f->skip)
            tab->est_rows += size / 64;
        f->fmt = files_format(f->path, fp);
        rc = files_schema_one(f, fp, seen, &headers[i], &err);
        fclose(fp);
        hvals[i] = json_object();
        files_hive(f->path, in->base, hkeys, hvals[i]);
    }
    if (rc < 0)
        goto done;
    tab->est_rows += 1;
    tab->n_data = (int)json_object_size(seen);
    n_hive = (int)json_object_size(hkeys);
    if (tab->n_data == 0) {
        rc = wr_err_set(&err, WR_EPARSE, "input '%s': no columns in its files", in->name);
        goto done;
    }
    names = wr_xcalloc((size_t)(tab->n_data + n_hive), sizeof(*names));
    tab->keys = wr_xcalloc((size_t)(tab->n_data + n_hive), sizeof(*tab->keys));
    {
        const char *key;
        json_t *val;
        json_object_foreach(seen, key, val)
        {
            json_int_t c = json_integer_value(val);
            names[c] = wr_xstrdup(key);
            tab->keys[c] = wr_xstrdup(key);
        }
        json_object_foreach(hkeys, key, val)
        {
            json_int_t c = tab->n_data + json_integer_value(val);
            names[c] = wr_xstrdup(key);
            tab->keys[c] = wr_xstrdup(key);
        }
    }
    tab->ncols = tab->n_data + n_hive;
    for (size_t i = 0; i < tab->n_files; i++) {
        tfile_t *f = &tab->files[i];
        const char *key;
        json_t *val;
        if (f->fmt == FMT_CSV) {
            f->map = wr_xcalloc((size_t)tab->n_data, sizeof(int));
            for (int c = 0; c < tab->n_data; c++) {
                f->map[c] = -1;
                for (int h = 0; h < f->width; h++)
                    if (strcmp(headers[i][h], tab->keys[c]) == 0) {
                        f->map[c] = h;
                        break;
                    }
            }
        }
        if (n_hive > 0) {
            f->hive = wr_xcalloc((size_t)n_hive, sizeof(char *));
            json_object_foreach(hvals[i], key, val)
            {
                f->hive[json_integer_value(json_object_get(hkeys, key))] =
                    wr_xstrdup(json_string_value(val));
            }
        }
    }
    unique_names(names, tab->ncols);
    rc = declare_columns(db, tab, names, tab->ncols);
    if (rc != SQLITE_OK) {
        rc = ctx->err.code != 0 ? ctx->err.code : WR_EPARSE;
        err = ctx->err;
        goto done;
    }
    tab->side_indexed = wr_xcalloc((size_t)tab->ncols, sizeof(*tab->side_indexed));
    rc = 0;
done:
    for (size_t i = 0; headers != NULL && i < tab->n_files; i++) {
        for (int h = 0; headers[i] != NULL && h < tab->files[i].width; h++)
            free(headers[i][h]);
        free(headers[i]);
        json_decref(hvals[i]);
    }
    free(headers);
    free(hvals);
    for (int c = 0; names != NULL && c < tab->ncols; c++)
        free(names[c]);
    free(names);
    free(arg);
    json_decref(seen);
    json_decref(hkeys);
    if (rc < 0) {
        ctx_fail(ctx, &err);
        *errmsg = sqlite3_mprintf("%s", err.msg);
        table_free(tab);
        return SQLITE_ERROR;
    }
    *out = &tab->base;
    return SQLITE_OK;
}

static int table_disconnect(sqlite3_vtab *vtab)
{
    table_free((table_t *)vtab);
    return SQLITE_OK;
}

/* Plans a scan. idxNum 0 is a full scan of the file, with SQLite doing all the filtering.
 *
 * SQLite builds automatic indexes for joins on ordinary tables only, so a join between two
 * inputs would read the inner file once per outer row. Instead, an equality constraint whose
 * value comes from another table (a join or a correlated subquery: its value is not known
 * while planning) is offered as idxNum = column + 1: the first such scan copies the file into
 * a private temporary database with an index on that column (see lookup_build()), and every
 * scan after is an index lookup. A constant (x = 'a') or IN list is left to a full scan, which
 * reads the file once and is cheaper than copying it. The constraint is not omitted, so
 * SQLite checks it again and the lookup only has to return the rows that may match. */
static int table_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info)
{
    table_t *tab = (table_t *)vtab;

    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        sqlite3_value *rhs = NULL;
        const char *coll;

        if (!c->usable || c->op != SQLITE_INDEX_CONSTRAINT_EQ || c->iColumn < 0 ||
            c->iColumn >= tab->ncols)
            continue;
        coll = sqlite3_vtab_collation(info, i);
        if (coll != NULL && sqlite3_stricmp(coll, "BINARY") != 0)
            continue;
        if (sqlite3_vtab_in(info, i, -1) || sqlite3_vtab_rhs_value(info, i, &rhs) == SQLITE_OK)
            continue;
        info->aConstraintUsage[i].argvIndex = 1;
        info->aConstraintUsage[i].omit = 0;
        info->idxNum = c->iColumn + 1;
        info->estimatedRows = 10;
        info->estimatedCost = 20 + log2(tab->est_rows + 1);
        return SQLITE_OK;
    }
    info->idxNum = 0;
    info->estimatedRows = (sqlite3_int64)tab->est_rows;
    info->estimatedCost = tab->est_rows * 10;
    return SQLITE_OK;
}

static int cursor_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out)
{
    table_t *tab = (table_t *)vtab;
    cursor_t *cur;
    FILE *fp = NULL;
    wr_err_t err;

    /* weir_files opens its files one after the other, as the scan reaches them. */
    if (tab->files == NULL && open_input(tab->path, &fp, NULL, &err) < 0)
        return vtab_fail(tab, &err);
    cur = wr_xcalloc(1, sizeof(*cur));
    cur->base.pVtab = vtab; /* SQLite sets it too; lookup_build() uses cursors of its own */
    cur->fp = fp;
    cur->eof = true;
    cur->lookup_col = -1;
    cur->fmt = tab->fmt;
    cur->path = tab->path;
    if (tab->files == NULL && tab->fmt == FMT_JSONL)
        jsonl_reader_init(&cur->jl, fp, tab->path);
    *out = &cur->base;
    return SQLITE_OK;
}

static int cursor_close(sqlite3_vtab_cursor *base)
{
    cursor_t *cur = (cursor_t *)base;

    wr_csv_reader_free(cur->csv);
    jsonl_reader_dispose(&cur->jl); /* a no-op when never initialized (zeroed) */
    json_decref(cur->obj);
    sqlite3_finalize(cur->lookup);
    if (cur->fp != NULL)
        fclose(cur->fp);
    free(cur);
    return SQLITE_OK;
}

static int files_next(cursor_t *cur, table_t *tab);
static int files_start(cursor_t *cur, table_t *tab);
static void files_value(const table_t *tab, const cursor_t *cur, int col, const sink_t *k);

/* Reads the next row of a full scan. */
static int scan_next(cursor_t *cur, table_t *tab)
{
    wr_err_t err;
    size_t n = 0;
    int rc;

    if (tab->files != NULL)
        return files_next(cur, tab);
    if (tab->fmt == FMT_JSONL) {
        json_decref(cur->obj);
        cur->obj = NULL;
        rc = jsonl_next_object(&cur->jl, &cur->obj, &err);
    } else {
        for (;;) {
            rc = wr_csv_read(cur->csv, &cur->fields, &n, &err);
            if (rc <= 0)
                break;
            /* A blank line is a row only when the file has one column. */
            if (tab->ncols > 1 && n == 1 && cur->fields[0].len == 0 && !cur->fields[0].quoted)
                continue;
            if (n != (size_t)tab->ncols) {
                long line = wr_csv_record_line(cur->csv);
                rc = wr_err_set_at(&err, WR_EPARSE, (int)line, 0,
                                   "%s:%ld: expected %d fields (as in the header), found %zu",
                                   tab->path, line, tab->ncols, n);
            }
            break;
        }
    }
    if (rc < 0) {
        cur->eof = true;
        return vtab_fail(tab, &err);
    }
    cur->eof = rc == 0;
    cur->rowid++;
    return SQLITE_OK;
}

/* Starts a full scan from the first row. */
static int scan_start(cursor_t *cur, table_t *tab)
{
    const wr_csv_field_t *f;
    size_t n;
    wr_err_t err;
    int rc;

    if (tab->files != NULL)
        return files_start(cur, tab);
    rewind(cur->fp);
    cur->rowid = 0;
    if (tab->fmt == FMT_JSONL) {
        jsonl_reader_dispose(&cur->jl);
        jsonl_reader_init(&cur->jl, cur->fp, tab->path);
    } else {
        wr_csv_reader_free(cur->csv);
        cur->csv = wr_csv_reader_new(cur->fp, tab->path);
        rc = wr_csv_read(cur->csv, &f, &n, &err); /* the header */
        if (rc <= 0) {
            if (rc == 0)
                wr_err_set(&err, WR_EPARSE, "%s: empty file: expected a header row", tab->path);
            cur->eof = true;
            return vtab_fail(tab, &err);
        }
    }
    return scan_next(cur, tab);
}

/* Sorts a CSV field into INTEGER (1, *iv), REAL (2, *dv) or TEXT (0); see engine/xform.h.
 * `s` is NUL-terminated at `len`. */
static int classify(const char *s, size_t len, sqlite3_int64 *iv, double *dv)
{
    size_t i = 0, int_digits = 0, frac_digits = 0, start;
    bool real = false;

    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    start = i;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    int_digits = i - start;
    if (int_digits > 1 && s[start] == '0')
        return 0; /* "007" is a code, not the number 7 */
    if (i < len && s[i] == '.') {
        real = true;
        start = ++i;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        frac_digits = i - start;
    }
    if (int_digits + frac_digits == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        real = true;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        start = i;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        if (i == start)
            return 0;
    }
    if (i != len)
        return 0;
    errno = 0;
    if (!real) {
        long long v = strtoll(s, NULL, 10);
        if (errno == ERANGE)
            return 0; /* keep a 20-digit id exact, as text */
        *iv = v;
        return 1;
    }
    *dv = strtod(s, NULL);
    return isfinite(*dv) ? 2 : 0;
}

static void csv_value(const cursor_t *cur, int col, const sink_t *k)
{
    const wr_csv_field_t *f = &cur->fields[col];
    sqlite3_int64 iv;
    double dv;

    if (f->len == 0 && !f->quoted) {
        sink_null(k);
        return;
    }
    switch (classify(f->data, f->len, &iv, &dv)) {
    case 1:
        sink_int(k, iv);
        break;
    case 2:
        sink_double(k, dv);
        break;
    default:
        sink_text(k, f->data, f->len, SQLITE_TRANSIENT);
        break;
    }
}

static void jsonl_value(const table_t *tab, const cursor_t *cur, int col, const sink_t *k)
{
    json_t *v = json_object_get(cur->obj, tab->keys[col]);
    char *s;

    switch (v != NULL ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        sink_text(k, json_string_value(v), json_string_length(v), SQLITE_TRANSIENT);
        break;
    case JSON_INTEGER:
        sink_int(k, json_integer_value(v));
        break;
    case JSON_REAL:
        sink_double(k, json_real_value(v));
        break;
    case JSON_TRUE:
        sink_int(k, 1);
        break;
    case JSON_FALSE:
        sink_int(k, 0);
        break;
    case JSON_OBJECT:
    case JSON_ARRAY:
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s == NULL)
            abort(); /* jansson fails here only when out of memory */
        sink_text(k, s, strlen(s), free);
        break;
    default:
        sink_null(k);
        break;
    }
}

/* The current row's value of column `col` of a full scan. */
static void scan_value(const table_t *tab, const cursor_t *cur, int col, const sink_t *k)
{
    if (tab->files != NULL) {
        files_value(tab, cur, col, k);
        return;
    }
    if (tab->fmt == FMT_CSV)
        csv_value(cur, col, k);
    else
        jsonl_value(tab, cur, col, k);
}

/* ==== weir_files: several files read as one table ==== */

/* Closes the file being read, if any. */
static void files_close_current(cursor_t *cur)
{
    wr_csv_reader_free(cur->csv);
    cur->csv = NULL;
    jsonl_reader_dispose(&cur->jl);
    json_decref(cur->obj);
    cur->obj = NULL;
    if (cur->fp != NULL)
        fclose(cur->fp);
    cur->fp = NULL;
}

/* Opens the next file that gives rows (past its CSV header). 1 when one is open, 0 when none
 * is left, or a negative code with *err. */
static int files_open_next(cursor_t *cur, table_t *tab, wr_err_t *err)
{
    files_close_current(cur);
    for (cur->file++; cur->file < tab->n_files; cur->file++) {
        const tfile_t *f = &tab->files[cur->file];
        const wr_csv_field_t *fields;
        size_t n;
        int rc;

        if (f->skip)
            continue;
        if ((rc = open_input(f->path, &cur->fp, NULL, err)) < 0)
            return rc;
        cur->fmt = f->fmt;
        cur->path = f->path;
        if (f->fmt == FMT_JSONL) {
            jsonl_reader_init(&cur->jl, cur->fp, f->path);
            return 1;
        }
        cur->csv = wr_csv_reader_new(cur->fp, f->path);
        rc = wr_csv_read(cur->csv, &fields, &n, err); /* the header */
        if (rc == 0)
            rc = wr_err_set(err, WR_EPARSE, "%s: empty file: expected a header row", f->path);
        if (rc < 0)
            return rc;
        return 1;
    }
    return 0;
}

static int files_next(cursor_t *cur, table_t *tab)
{
    wr_err_t err;
    int rc;

    for (;;) {
        if (cur->fp == NULL) {
            cur->eof = true;
            return SQLITE_OK;
        }
        if (cur->fmt == FMT_JSONL) {
            json_decref(cur->obj);
            cur->obj = NULL;
            rc = jsonl_next_object(&cur->jl, &cur->obj, &err);
        } else {
            const tfile_t *f = &tab->files[cur->file];
            size_t n = 0;
            for (;;) {
                rc = wr_csv_read(cur->csv, &cur->fields, &n, &err);
                if (rc <= 0)
                    break;
                if (f->width > 1 && n == 1 && cur->fields[0].len == 0 && !cur->fields[0].quoted)
                    continue;
                if (n != (size_t)f->width) {
                    long line = wr_csv_record_line(cur->csv);
                    rc = wr_err_set_at(&err, WR_EPARSE, (int)line, 0,
                                       "%s:%ld: expected %d fields (as in the header), found %zu",
                                       f->path, line, f->width, n);
                }
                break;
            }
        }
        if (rc == 0)
            rc = files_open_next(cur, tab, &err);
        else if (rc > 0)
            break;
        if (rc < 0) {
            cur->eof = true;
            return vtab_fail(tab, &err);
        }
    }
    cur->eof = false;
    cur->rowid++;
    return SQLITE_OK;
}

static int files_start(cursor_t *cur, table_t *tab)
{
    wr_err_t err;
    int rc;

    cur->file = (size_t)-1; /* files_open_next() steps to 0 */
    cur->rowid = 0;
    rc = files_open_next(cur, tab, &err);
    if (rc < 0) {
        cur->eof = true;
        return vtab_fail(tab, &err);
    }
    return files_next(cur, tab);
}

static void files_value(const table_t *tab, const cursor_t *cur, int col, const sink_t *k)
{
    const tfile_t *f = &tab->files[cur->file];

    if (col >= tab->n_data) {
        const char *v = f->hive != NULL ? f->hive[col - tab->n_data] : NULL;
        if (v == NULL)
            sink_null(k);
        else
            sink_text(k, v, strlen(v), SQLITE_TRANSIENT);
    } else if (cur->fmt == FMT_JSONL) {
        jsonl_value(tab, cur, col, k);
    } else if (f->map[col] < 0) {
        sink_null(k);
    } else {
        csv_value(cur, f->map[col], k);
    }
}

/* ==== Lookups: an index for joins, built on first use ==== */

static int side_fail(table_t *tab, const char *what)
{
    wr_err_t err;

    wr_err_set(&err, WR_ESTORE, "%s: %s for a join lookup: %s", tab->path, what,
               sqlite3_errmsg(tab->side));
    return vtab_fail(tab, &err);
}

/* Copies every row of the file into tab->side as table r(c0, c1, ...), rowid = row number.
 * Memory stays bounded: the copy is an on-disk temporary database like the main one. */
static int lookup_load(table_t *tab)
{
    sqlite3_vtab_cursor *base = NULL;
    cursor_t *cur;
    sqlite3_stmt *ins = NULL;
    sqlite3_str *s;
    char *sql;
    int rc;

    if (sqlite3_open_v2("", &tab->side, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(tab->side,
                     "PRAGMA temp_store=FILE; " CACHE_SIZE_PRAGMA "; PRAGMA journal_mode=OFF;"
                     " PRAGMA synchronous=OFF",
                     NULL, NULL, NULL) != SQLITE_OK)
        return side_fail(tab, "cannot open a database");
    s = sqlite3_str_new(tab->side);
    sqlite3_str_appendall(s, "CREATE TABLE r(");
    for (int i = 0; i < tab->ncols; i++)
        sqlite3_str_appendf(s, "%sc%d", i > 0 ? ", " : "", i);
    sqlite3_str_appendall(s, ")");
    sql = sqlite3_str_finish(s);
    rc = sql != NULL ? sqlite3_exec(tab->side, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc != SQLITE_OK)
        return side_fail(tab, "cannot create a table");
    s = sqlite3_str_new(tab->side);
    sqlite3_str_appendall(s, "INSERT INTO r(rowid");
    for (int i = 0; i < tab->ncols; i++)
        sqlite3_str_appendf(s, ", c%d", i);
    sqlite3_str_appendall(s, ") VALUES (?");
    for (int i = 0; i < tab->ncols; i++)
        sqlite3_str_appendall(s, ", ?");
    sqlite3_str_appendall(s, ")");
    sql = sqlite3_str_finish(s);
    rc = sql != NULL ? sqlite3_prepare_v2(tab->side, sql, -1, &ins, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc != SQLITE_OK || sqlite3_exec(tab->side, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = side_fail(tab, "cannot prepare");
        goto done;
    }
    rc = cursor_open(&tab->base, &base);
    if (rc != SQLITE_OK)
        goto done;
    cur = (cursor_t *)base;
    for (rc = scan_start(cur, tab); rc == SQLITE_OK && !cur->eof; rc = scan_next(cur, tab)) {
        sqlite3_bind_int64(ins, 1, cur->rowid);
        for (int i = 0; i < tab->ncols; i++) {
            sink_t k = {.stmt = ins, .idx = i + 2};
            scan_value(tab, cur, i, &k);
        }
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = side_fail(tab, "cannot copy a row");
            break;
        }
        sqlite3_reset(ins);
    }
    if (rc == SQLITE_OK && sqlite3_exec(tab->side, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = side_fail(tab, "cannot commit");
done:
    if (base != NULL)
        cursor_close(base);
    sqlite3_finalize(ins);
    if (rc != SQLITE_OK) {
        sqlite3_close(tab->side);
        tab->side = NULL;
    }
    return rc;
}

/* Makes sure tab->side holds the rows with an index on column `col`. */
static int lookup_build(table_t *tab, int col)
{
    char *sql;
    int rc;

    if (tab->side == NULL) {
        rc = lookup_load(tab);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (tab->side_indexed[col])
        return SQLITE_OK;
    sql = sqlite3_mprintf("CREATE INDEX i%d ON r(c%d)", col, col);
    rc = sql != NULL ? sqlite3_exec(tab->side, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc != SQLITE_OK)
        return side_fail(tab, "cannot create an index");
    tab->side_indexed[col] = true;
    return SQLITE_OK;
}

static int lookup_start(cursor_t *cur, table_t *tab, int col, sqlite3_value *key)
{
    int rc = lookup_build(tab, col);

    if (rc != SQLITE_OK)
        return rc;
    if (cur->lookup_col != col) {
        char *sql = sqlite3_mprintf("SELECT rowid, * FROM r WHERE c%d = ?1", col);
        sqlite3_finalize(cur->lookup);
        cur->lookup = NULL;
        cur->lookup_col = -1;
        rc =
            sql != NULL ? sqlite3_prepare_v2(tab->side, sql, -1, &cur->lookup, NULL) : SQLITE_NOMEM;
        sqlite3_free(sql);
        if (rc != SQLITE_OK)
            return side_fail(tab, "cannot prepare a lookup");
        cur->lookup_col = col;
    }
    sqlite3_reset(cur->lookup);
    sqlite3_bind_value(cur->lookup, 1, key);
    return SQLITE_OK;
}

static int lookup_next(cursor_t *cur, table_t *tab)
{
    int rc = sqlite3_step(cur->lookup);

    if (rc == SQLITE_ROW) {
        cur->eof = false;
        cur->rowid = sqlite3_column_int64(cur->lookup, 0);
        return SQLITE_OK;
    }
    cur->eof = true;
    if (rc != SQLITE_DONE)
        return side_fail(tab, "lookup failed");
    return SQLITE_OK;
}

/* ==== Cursor methods ==== */

static int cursor_filter(sqlite3_vtab_cursor *base, int idx_num, const char *idx_str, int argc,
                         sqlite3_value **argv)
{
    cursor_t *cur = (cursor_t *)base;
    table_t *tab = (table_t *)base->pVtab;
    int rc;

    (void)idx_str;
    cur->looking_up = idx_num > 0 && idx_num <= tab->ncols && argc == 1;
    if (!cur->looking_up)
        return scan_start(cur, tab); /* each scan starts over */
    rc = lookup_start(cur, tab, idx_num - 1, argv[0]);
    if (rc != SQLITE_OK) {
        cur->eof = true;
        return rc;
    }
    return lookup_next(cur, tab);
}

static int cursor_next(sqlite3_vtab_cursor *base)
{
    cursor_t *cur = (cursor_t *)base;
    table_t *tab = (table_t *)base->pVtab;

    return cur->looking_up ? lookup_next(cur, tab) : scan_next(cur, tab);
}

static int cursor_eof(sqlite3_vtab_cursor *base)
{
    return ((cursor_t *)base)->eof;
}

static int cursor_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid)
{
    *rowid = ((cursor_t *)base)->rowid;
    return SQLITE_OK;
}

static int cursor_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int col)
{
    cursor_t *cur = (cursor_t *)base;
    table_t *tab = (table_t *)base->pVtab;
    sink_t k = {.ctx = ctx};

    if (col < 0 || col >= tab->ncols || cur->eof)
        sqlite3_result_null(ctx);
    else if (cur->looking_up)
        sqlite3_result_value(ctx, sqlite3_column_value(cur->lookup, col + 1));
    else
        scan_value(tab, cur, col, &k);
    return SQLITE_OK;
}

static const sqlite3_module csv_module = {
    .iVersion = 0,
    .xCreate = csv_connect,
    .xConnect = csv_connect,
    .xBestIndex = table_best_index,
    .xDisconnect = table_disconnect,
    .xDestroy = table_disconnect,
    .xOpen = cursor_open,
    .xClose = cursor_close,
    .xFilter = cursor_filter,
    .xNext = cursor_next,
    .xEof = cursor_eof,
    .xColumn = cursor_column,
    .xRowid = cursor_rowid,
};

static const sqlite3_module files_module = {
    .iVersion = 0,
    .xCreate = files_connect,
    .xConnect = files_connect,
    .xBestIndex = table_best_index,
    .xDisconnect = table_disconnect,
    .xDestroy = table_disconnect,
    .xOpen = cursor_open,
    .xClose = cursor_close,
    .xFilter = cursor_filter,
    .xNext = cursor_next,
    .xEof = cursor_eof,
    .xColumn = cursor_column,
    .xRowid = cursor_rowid,
};

static const sqlite3_module jsonl_module = {
    .iVersion = 0,
    .xCreate = jsonl_connect,
    .xConnect = jsonl_connect,
    .xBestIndex = table_best_index,
    .xDisconnect = table_disconnect,
    .xDestroy = table_disconnect,
    .xOpen = cursor_open,
    .xClose = cursor_close,
    .xFilter = cursor_filter,
    .xNext = cursor_next,
    .xEof = cursor_eof,
    .xColumn = cursor_column,
    .xRowid = cursor_rowid,
};

/* ==== Output writers ==== */

/* Formats a REAL as SQLite prints it (15 significant digits), keeping it visibly real. */
static void format_real(double d, char out[40])
{
    size_t n;

    if (isinf(d)) {
        memcpy(out, d > 0 ? "Inf" : "-Inf", d > 0 ? 4 : 5);
        return;
    }
    n = (size_t)snprintf(out, 40, "%.15g", d);
    if (strspn(out, "-0123456789") == n)
        memcpy(out + n, ".0", 3);
}

static void write_int(FILE *fp, sqlite3_int64 v)
{
    char buf[24], *p = buf + sizeof(buf);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    fwrite(p, 1, (size_t)(buf + sizeof(buf) - p), fp);
}

static void write_hex(FILE *fp, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        putc(digits[p[i] >> 4], fp);
        putc(digits[p[i] & 15], fp);
    }
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if it is not valid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        return 0; /* overlong, or a UTF-16 surrogate */
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))
        return 0;
    return len;
}

static void write_json_string(FILE *fp, const unsigned char *s, size_t n)
{
    size_t run = 0, i = 0;

    putc('"', fp);
    while (i < n) {
        unsigned char c = s[i];
        size_t len;

        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80 && (len = utf8_seq_len(s + i, n - i)) > 0) {
            i += len;
            continue;
        }
        fwrite(s + run, 1, i - run, fp);
        switch (c) {
        case '"':
            fputs("\\\"", fp);
            break;
        case '\\':
            fputs("\\\\", fp);
            break;
        case '\n':
            fputs("\\n", fp);
            break;
        case '\r':
            fputs("\\r", fp);
            break;
        case '\t':
            fputs("\\t", fp);
            break;
        default:
            if (c < 0x20)
                fprintf(fp, "\\u%04x", c);
            else
                fputs("\xEF\xBF\xBD", fp); /* U+FFFD for a byte that is not UTF-8 */
            break;
        }
        run = ++i;
    }
    fwrite(s + run, 1, i - run, fp);
    putc('"', fp);
}

static void write_csv_row(FILE *fp, sqlite3_stmt *stmt, int ncols)
{
    char num[40];

    for (int i = 0; i < ncols; i++) {
        if (i > 0)
            putc(',', fp);
        switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_INTEGER:
            write_int(fp, sqlite3_column_int64(stmt, i));
            break;
        case SQLITE_FLOAT:
            format_real(sqlite3_column_double(stmt, i), num);
            fputs(num, fp);
            break;
        case SQLITE_TEXT:
            wr_csv_write_field(fp, (const char *)sqlite3_column_text(stmt, i),
                               (size_t)sqlite3_column_bytes(stmt, i));
            break;
        case SQLITE_BLOB:
            write_hex(fp, sqlite3_column_blob(stmt, i), (size_t)sqlite3_column_bytes(stmt, i));
            break;
        default:
            break; /* NULL: an empty field */
        }
    }
    putc('\n', fp);
}

static void write_json_row(FILE *fp, sqlite3_stmt *stmt, int ncols)
{
    char num[40];
    const char *name;
    double d;

    putc('{', fp);
    for (int i = 0; i < ncols; i++) {
        if (i > 0)
            putc(',', fp);
        name = sqlite3_column_name(stmt, i);
        write_json_string(fp, (const unsigned char *)name, strlen(name));
        putc(':', fp);
        switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_INTEGER:
            write_int(fp, sqlite3_column_int64(stmt, i));
            break;
        case SQLITE_FLOAT:
            d = sqlite3_column_double(stmt, i);
            if (!isfinite(d)) {
                fputs("null", fp); /* JSON has no infinities */
                break;
            }
            format_real(d, num);
            fputs(num, fp);
            break;
        case SQLITE_TEXT:
            write_json_string(fp, sqlite3_column_text(stmt, i),
                              (size_t)sqlite3_column_bytes(stmt, i));
            break;
        case SQLITE_BLOB:
            putc('"', fp);
            write_hex(fp, sqlite3_column_blob(stmt, i), (size_t)sqlite3_column_bytes(stmt, i));
            putc('"', fp);
            break;
        default:
            fputs("null", fp);
            break;
        }
    }
    fputs("}\n", fp);
}

/* ==== Running a query ==== */

/* Creates every missing directory of `dir` (mkdir -p). */
static int make_dirs(const char *dir, wr_err_t *err)
{
    char *p = wr_xstrdup(dir);
    struct stat st;
    int rc = 0;

    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            rc = errno_code();
            wr_err_set(err, rc, "output: cannot create directory %s: %s", p, uv_strerror(rc));
            goto done;
        }
        *s = saved;
        if (saved == '\0')
            break;
    }
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = wr_err_set(err, UV_ENOTDIR, "output: %s is not a directory", p);
        goto done;
    }
done:
    free(p);
    return rc;
}

/* Where SQL text `sql` has byte offset `off`, as "line L, column C". */
static void sql_position(const char *sql, int off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (int i = 0; i < off && sql[i] != '\0'; i++) {
        if (sql[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Reports a failed sqlite3 call: a virtual table's error when one was raised, else SQLite's
 * message (with its position in the SQL when known) as WR_EINVALID. */
static int sql_fail(sqlite3 *db, const xform_ctx_t *ctx, const char *sql, wr_err_t *err)
{
    int off = sqlite3_error_offset(db);
    int line, col;

    if (ctx->err.code != 0) {
        if (err != NULL)
            *err = ctx->err;
        return ctx->err.code;
    }
    if (off >= 0 && sql != NULL) {
        sql_position(sql, off, &line, &col);
        return wr_err_set_at(err, WR_EINVALID, line, col, "SQL error at line %d, column %d: %s",
                             line, col, sqlite3_errmsg(db));
    }
    return wr_err_set(err, WR_EINVALID, "SQL error: %s", sqlite3_errmsg(db));
}

/* Creates the tables for the inputs. */
static int attach_inputs(sqlite3 *db, xform_ctx_t *ctx, const wr_xform_input_t *inputs,
                         size_t n_inputs, wr_err_t *err)
{
    for (size_t i = 0; i < n_inputs; i++) {
        const char *name = inputs[i].name, *path = inputs[i].path;
        const char *module;
        FILE *fp = NULL;
        char *sql;
        int rc, c;

        if (name == NULL || name[0] == '\0' ||
            (inputs[i].files == NULL && (path == NULL || path[0] == '\0')))
            return wr_err_set(err, WR_EINVALID, "input %zu: empty table name or path", i + 1);
        for (size_t j = 0; j < i; j++)
            if (sqlite3_stricmp(name, inputs[j].name) == 0)
                return wr_err_set(err, WR_EINVALID, "input '%s' is given twice", name);
        if (inputs[i].files != NULL) {
            sql = sqlite3_mprintf("CREATE VIRTUAL TABLE temp.\"%w\" USING weir_files('%zu')", name,
                                  i);
            if (sql == NULL)
                return wr_err_set(err, WR_ESTORE, "out of memory");
            rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
            sqlite3_free(sql);
            if (rc != SQLITE_OK) {
                if (ctx->err.code != 0)
                    return sql_fail(db, ctx, NULL, err);
                return wr_err_set(err, WR_EINVALID, "input '%s': %s", name, sqlite3_errmsg(db));
            }
            continue;
        }
        rc = open_input(path, &fp, NULL, err);
        if (rc < 0)
            return wr_err_set(err, rc, "input '%s': %s: %s", name, path, uv_strerror(rc));
        if (has_ext(path, "csv")) {
            module = "weir_csv";
        } else if (has_ext(path, "jsonl") || has_ext(path, "ndjson") || has_ext(path, "json")) {
            module = "weir_jsonl";
        } else {
            /* Sniff: JSON lines start with an object; skip a BOM and blank space first. */
            c = getc(fp);
            if (c == 0xEF && getc(fp) == 0xBB && getc(fp) == 0xBF)
                c = getc(fp);
            while (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                c = getc(fp);
            module = c == '{' ? "weir_jsonl" : "weir_csv";
        }
        fclose(fp);
        sql = sqlite3_mprintf("CREATE VIRTUAL TABLE temp.\"%w\" USING %s(%Q)", name, module, path);
        if (sql == NULL)
            return wr_err_set(err, WR_ESTORE, "out of memory");
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_free(sql);
        if (rc != SQLITE_OK) {
            if (ctx->err.code != 0)
                return sql_fail(db, ctx, NULL, err);
            return wr_err_set(err, WR_EINVALID, "input '%s': %s", name, sqlite3_errmsg(db));
        }
    }
    return 0;
}

/* Prepares the one statement in `sql`, rejecting anything after it and non-queries. */
static int prepare_query(sqlite3 *db, xform_ctx_t *ctx, const char *sql, sqlite3_stmt **out,
                         wr_err_t *err)
{
    sqlite3_stmt *stmt = NULL, *extra = NULL;
    const char *tail = NULL, *rest = NULL;
    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &stmt, &tail) != SQLITE_OK) {
        rc = sql_fail(db, ctx, sql, err);
        goto done;
    }
    if (stmt == NULL) {
        rc = wr_err_set(err, WR_EINVALID, "SQL error: no statement (the SQL is empty)");
        goto done;
    }
    /* What follows may only be blank space, comments and semicolons. */
    if (sqlite3_prepare_v2(db, tail, -1, &extra, &rest) != SQLITE_OK || extra != NULL) {
        int line, col;
        while (*tail == ' ' || *tail == '\t' || *tail == '\r' || *tail == '\n' || *tail == ';')
            tail++;
        sql_position(sql, (int)(tail - sql), &line, &col);
        rc = wr_err_set_at(err, WR_EINVALID, line, col,
                           "SQL error: only one SQL statement is allowed, but more follows "
                           "the first one (line %d, column %d)",
                           line, col);
        goto done;
    }
    if (sqlite3_column_count(stmt) == 0 || !sqlite3_stmt_readonly(stmt)) {
        rc = wr_err_set(err, WR_EINVALID,
                        "SQL error: the statement must be a query (SELECT, WITH or VALUES)");
        goto done;
    }
    *out = stmt;
    stmt = NULL;
    rc = 0;
done:
    sqlite3_finalize(extra);
    sqlite3_finalize(stmt);
    return rc;
}

typedef struct {
    char *dir;      /* directory of the output */
    char *tmp_path; /* the temporary file, NULL once renamed or removed */
    FILE *fp;
    char *buf; /* stdio buffer */
} out_file_t;

static int out_open(out_file_t *o, const char *path, wr_err_t *err)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    int fd, rc;

    if (base[0] == '\0') {
        wr_err_set(err, UV_EISDIR, "output: %s names a directory, not a file", path);
        return UV_EISDIR;
    }
    o->dir = slash == NULL   ? wr_xstrdup(".")
             : slash == path ? wr_xstrdup("/")
                             : wr_xstrndup(path, (size_t)(slash - path));
    rc = make_dirs(o->dir, err);
    if (rc < 0)
        return rc;
    o->tmp_path = wr_xasprintf("%s/.%s.tmp-XXXXXX", o->dir, base);
    fd = mkstemp(o->tmp_path);
    if (fd < 0) {
        rc = errno_code();
        free(o->tmp_path);
        o->tmp_path = NULL;
        return wr_err_set(err, rc, "output: cannot create a file in %s: %s", o->dir,
                          uv_strerror(rc));
    }
    (void)fchmod(fd, 0644); /* mkstemp() makes it 0600; outputs are meant to be shared */
    o->fp = fdopen(fd, "wb");
    if (o->fp == NULL) {
        rc = errno_code();
        close(fd);
        return wr_err_set(err, rc, "output: %s", uv_strerror(rc));
    }
    o->buf = wr_xmalloc(OUT_BUF_SIZE);
    setvbuf(o->fp, o->buf, _IOFBF, OUT_BUF_SIZE);
    return 0;
}

/* Flushes, syncs and renames the temporary file into place. */
static int out_commit(out_file_t *o, const char *path, wr_err_t *err)
{
    int rc = 0, dfd;

    if (fflush(o->fp) != 0 || ferror(o->fp) || fsync(fileno(o->fp)) != 0)
        rc = errno_code();
    if (fclose(o->fp) != 0 && rc == 0)
        rc = errno_code();
    o->fp = NULL;
    if (rc < 0)
        return wr_err_set(err, rc, "output: writing %s: %s", path, uv_strerror(rc));
    if (rename(o->tmp_path, path) != 0) {
        rc = errno_code();
        return wr_err_set(err, rc, "output: cannot rename into %s: %s", path, uv_strerror(rc));
    }
    free(o->tmp_path);
    o->tmp_path = NULL;
    /* Make the rename itself durable; failing here loses nothing already written. */
    dfd = open(o->dir, O_RDONLY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* Closes and, unless committed, removes the temporary file. */
static void out_dispose(out_file_t *o)
{
    if (o->fp != NULL)
        fclose(o->fp);
    if (o->tmp_path != NULL)
        unlink(o->tmp_path);
    free(o->tmp_path);
    free(o->dir);
    free(o->buf);
    memset(o, 0, sizeof(*o));
}

int wr_xform_run(const wr_xform_input_t *inputs, size_t n_inputs, const char *sql,
                 const char *output_path, int64_t *rows, wr_err_t *err)
{
    xform_ctx_t ctx = {{0}, NULL, 0};
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    out_file_t out = {0};
    bool csv_out;
    int64_t n = 0;
    int ncols, rc;

    if (sql == NULL || output_path == NULL || output_path[0] == '\0') {
        rc = wr_err_set(err, WR_EINVALID, "SQL and output path are required");
        goto done;
    }
    csv_out = has_ext(output_path, "csv");
    if (!csv_out && !has_ext(output_path, "jsonl") && !has_ext(output_path, "ndjson") &&
        !has_ext(output_path, "json")) {
        rc = wr_err_set(err, WR_EINVALID,
                        "output %s: unknown format (use .csv, .jsonl, .ndjson or .json)",
                        output_path);
        goto done;
    }
    /* A temporary on-disk database: its pages, too, may spill instead of growing memory. */
    if (sqlite3_open_v2("", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        rc = wr_err_set(err, WR_ESTORE, "cannot open SQLite: %s",
                        db != NULL ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    if (sqlite3_exec(db, "PRAGMA temp_store=FILE; " CACHE_SIZE_PRAGMA, NULL, NULL, NULL) !=
        SQLITE_OK) {
        rc = wr_err_set(err, WR_ESTORE, "SQLite setup: %s", sqlite3_errmsg(db));
        goto done;
    }
    ctx.inputs = inputs;
    ctx.n_inputs = n_inputs;
    if (sqlite3_create_module_v2(db, "weir_csv", &csv_module, &ctx, NULL) != SQLITE_OK ||
        sqlite3_create_module_v2(db, "weir_files", &files_module, &ctx, NULL) != SQLITE_OK ||
        sqlite3_create_module_v2(db, "weir_jsonl", &jsonl_module, &ctx, NULL) != SQLITE_OK) {
        rc = wr_err_set(err, WR_ESTORE, "SQLite setup: %s", sqlite3_errmsg(db));
        goto done;
    }
    rc = attach_inputs(db, &ctx, inputs, n_inputs, err);
    if (rc < 0)
        goto done;
    rc = prepare_query(db, &ctx, sql, &stmt, err);
    if (rc < 0)
        goto done;
    rc = out_open(&out, output_path, err);
    if (rc < 0)
        goto done;
    ncols = sqlite3_column_count(stmt);
    if (csv_out) {
        for (int i = 0; i < ncols; i++) {
            const char *name = sqlite3_column_name(stmt, i);
            if (i > 0)
                putc(',', out.fp);
            wr_csv_write_field(out.fp, name, strlen(name));
        }
        putc('\n', out.fp);
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (csv_out)
            write_csv_row(out.fp, stmt, ncols);
        else
            write_json_row(out.fp, stmt, ncols);
        n++;
        if ((n & 4095) == 0 && ferror(out.fp)) { /* e.g. a full disk: stop early */
            rc = errno_code();
            wr_err_set(err, rc, "output: writing %s: %s", output_path, uv_strerror(rc));
            goto done;
        }
    }
    if (rc != SQLITE_DONE) {
        rc = sql_fail(db, &ctx, NULL, err);
        goto done;
    }
    rc = out_commit(&out, output_path, err);
    if (rc < 0)
        goto done;
    if (rows != NULL)
        *rows = n;
done:
    out_dispose(&out);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rc;
}
