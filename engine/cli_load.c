/* SPDX-License-Identifier: MIT
 * engine/cli_load.c: `weir load` (see engine/cli_load.h): a Redshift-style COPY of CSV or
 * JSON-lines files into the local warehouse (engine/warehouse.h), or a SQL statement.
 *
 * A load reads its files twice inside one warehouse transaction. The first pass parses every
 * record, checks its field count and, for an existing table, converts every value to its
 * column's type; for a missing table it infers the types instead (BIGINT, DOUBLE PRECISION,
 * BOOLEAN, DATE, TIMESTAMP, else TEXT). Only when every row is good does the second pass
 * insert them, so a bad row fails the load with its file, line and reason and nothing is
 * loaded, while memory stays bounded by one record (plus 8 bytes a row to map a row number
 * the server rejects back to its file and line). The load is recorded in the warehouse's
 * weir_loads table under the attempt's token in the same transaction as its rows: a retry
 * with that token finds it there and loads nothing twice.
 *
 * Errors are reported as the error names of the copy_to_redshift task (README.md):
 * Redshift.LoadError (a bad row, as Redshift's stl_load_errors would hold it), Redshift.
 * FileNotFound, Redshift.InvalidManifest, Redshift.SqlError, Redshift.ConnectionError. */
#include "engine/cli_load.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "engine/common.h"
#include "engine/csv.h"
#include "engine/warehouse.h"

#define MAX_RECORDS  1000 /* rows of a SQL result kept in the task result */
#define MAX_MANIFEST ((size_t)16 << 20)

#define E_LOAD     "Redshift.LoadError"
#define E_NOTFOUND "Redshift.FileNotFound"
#define E_MANIFEST "Redshift.InvalidManifest"
#define E_SQL      "Redshift.SqlError"
#define E_CONN     "Redshift.ConnectionError"

static const char usage_text[] =
    "usage: weir load --table T --from PATH [--format csv|json] [--columns A,B,...]\n"
    "                 [--ignore-header N] [--delimiter C] [--dateformat F] [--timeformat F]\n"
    "                 [--null-as S] [--truncate] [--manifest] [--token TOKEN]\n"
    "                 [--warehouse FILE | --dsn DSN]\n"
    "       weir load --sql TEXT [--token TOKEN] [--warehouse FILE | --dsn DSN]\n"
    "\n"
    "Loads CSV or JSON-lines files (a file, every file under a folder, or a Redshift manifest)\n"
    "into a warehouse table in one transaction, as Redshift's COPY does; or runs SQL.\n"
    "  --warehouse FILE  SQLite warehouse (default ./warehouse.db)\n"
    "  --dsn DSN         PostgreSQL instead (libpq connection string; or $WEIR_LOAD_DSN)\n"
    "  --ignore-header N header lines to skip per file (CSV default 1: the last one names the\n"
    "                    columns of a table created by the load)\n"
    "  --dateformat F    e.g. YYYY-MM-DD (default), MM/DD/YYYY, auto\n"
    "  --timeformat F    e.g. 'YYYY-MM-DD HH:MI:SS' (default), auto, epochsecs\n"
    "  --token TOKEN     idempotency token: a second load with it loads nothing\n"
    "Prints one JSON line: the result, or {\"errorType\", \"errorMessage\"} (exit 1).\n";

/* ==== Options and state ==== */

typedef struct {
    char *s;     /* the value's text, or NULL for a missing value; owned by the reader */
    bool quoted; /* CSV: it was quoted */
} field_t;

typedef struct {
    bool seen; /* a non-null value was seen */
    bool can[WR_WH_TIMESTAMP + 1];
} infer_t;

typedef struct {
    /* options */
    const char *table, *from, *format, *dateformat, *timeformat, *null_as, *token, *sql;
    const char *warehouse, *dsn;
    char **columns; /* --columns, lowercased; owned */
    size_t n_columns;
    long ignore_header; /* -1: the default */
    char delim;
    bool truncate, manifest, json;
    /* state */
    char *tbl;     /* table name as used in SQL (lowercased; "public." dropped) */
    json_t *files; /* paths to read, in order */
    wr_wh_t *wh;
    wr_wh_column_t *tcols; /* the existing table's columns; n_tcols 0 when missing */
    size_t n_tcols;
    wr_wh_column_t *cols; /* the loaded columns, in field (CSV) or key (JSON) order */
    size_t n;
    infer_t *inf; /* per loaded column, when the table is created */
    int64_t rows;
    struct rowpos_s *pos; /* row -> file, line (for a row the server rejects) */
    size_t pos_cap;
    /* outcome */
    const char *error; /* error name; NULL on success */
    wr_err_t err;
} load_t;

typedef struct rowpos_s {
    uint32_t file;
    uint32_t line;
} rowpos_t;

WR_PRINTF(3, 4) static int fail(load_t *l, const char *error, const char *fmt, ...)
{
    va_list ap;

    l->error = error;
    va_start(ap, fmt);
    vsnprintf(l->err.msg, sizeof(l->err.msg), fmt, ap);
    va_end(ap);
    return -1;
}

static char *lower_dup(const char *s)
{
    char *d = wr_xstrdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static char *trim_dup(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s))
        s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return wr_xstrndup(s, n);
}

/* ==== Values: checking and canonical forms ==== */

static bool parse_int(const char *s)
{
    const char *p = s;
    char *end;

    if (*p == '-' || *p == '+')
        p++;
    if (!isdigit((unsigned char)*p) || (p[0] == '0' && p[1] != '\0'))
        return false;
    errno = 0;
    (void)strtoll(s, &end, 10);
    return *end == '\0' && errno != ERANGE;
}

static bool parse_double(const char *s)
{
    char *end;
    double d;
    bool digit = false;

    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p))
            digit = true;
        else if (!strchr("+-.eE", *p))
            return false; /* no hex, inf, nan, spaces */
    }
    if (!digit)
        return false;
    if ((s[0] == '0' && isdigit((unsigned char)s[1])) ||
        ((s[0] == '-' || s[0] == '+') && s[1] == '0' && isdigit((unsigned char)s[2])))
        return false; /* "007" is a code (a zip, an id), not a number */
    d = strtod(s, &end);
    return *end == '\0' && isfinite(d);
}

static const char *parse_bool(const char *s)
{
    static const char *const yes[] = {"true", "t", "yes", "y", "1", "on", NULL};
    static const char *const no[] = {"false", "f", "no", "n", "0", "off", NULL};
    for (size_t i = 0; yes[i]; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return "true";
        if (strcasecmp(s, no[i]) == 0)
            return "false";
    }
    return NULL;
}

typedef struct {
    int y, mo, d, h, mi, s;
    char frac[8]; /* ".123456" or "" */
} dt_t;

static int days_in(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

static bool digits(const char **p, int min, int max, int *out)
{
    int n = 0, v = 0;
    while (n < max && isdigit((unsigned char)(*p)[n])) {
        v = v * 10 + ((*p)[n] - '0');
        n++;
    }
    if (n < min)
        return false;
    *p += n;
    *out = v;
    return true;
}

/* Parses s against a Redshift DATEFORMAT/TIMEFORMAT pattern: YYYY YY MM MON DD HH24 HH12 HH
 * MI SS (with an optional .fraction), AM/PM; other characters match themselves, and a space
 * also matches 'T'. */
static bool parse_fmt(const char *fmt, const char *s, dt_t *dt)
{
    static const char *const mons[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
    const char *f = fmt, *p = s;
    bool pm = false, ampm = false;

    memset(dt, 0, sizeof(*dt));
    dt->mo = dt->d = 1;
    while (*f) {
        if (strncmp(f, "YYYY", 4) == 0) {
            if (!digits(&p, 4, 4, &dt->y))
                return false;
            f += 4;
        } else if (strncmp(f, "YY", 2) == 0) {
            if (!digits(&p, 2, 2, &dt->y))
                return false;
            dt->y += dt->y < 70 ? 2000 : 1900;
            f += 2;
        } else if (strncasecmp(f, "MON", 3) == 0) {
            int m = -1;
            for (int i = 0; i < 12 && m < 0; i++)
                if (strncasecmp(p, mons[i], 3) == 0)
                    m = i;
            if (m < 0)
                return false;
            dt->mo = m + 1;
            p += 3;
            f += 3;
        } else if (strncmp(f, "MM", 2) == 0) {
            if (!digits(&p, 1, 2, &dt->mo))
                return false;
            f += 2;
        } else if (strncmp(f, "DD", 2) == 0) {
            if (!digits(&p, 1, 2, &dt->d))
                return false;
            f += 2;
        } else if (strncmp(f, "HH24", 4) == 0 || strncmp(f, "HH12", 4) == 0 ||
                   strncmp(f, "HH", 2) == 0) {
            if (!digits(&p, 1, 2, &dt->h))
                return false;
            f += strncmp(f, "HH", 2) == 0 && isdigit((unsigned char)f[2]) ? 4 : 2;
        } else if (strncmp(f, "MI", 2) == 0) {
            if (!digits(&p, 2, 2, &dt->mi))
                return false;
            f += 2;
        } else if (strncmp(f, "SS", 2) == 0) {
            size_t n = 0;
            if (!digits(&p, 2, 2, &dt->s))
                return false;
            if (*p == '.') {
                dt->frac[n++] = *p++;
                while (isdigit((unsigned char)*p) && n < 7)
                    dt->frac[n++] = *p++;
                while (isdigit((unsigned char)*p))
                    p++;
                if (n == 1)
                    return false;
            }
            f += 2;
        } else if (strncasecmp(f, "AM", 2) == 0 || strncasecmp(f, "PM", 2) == 0) {
            if (strncasecmp(p, "AM", 2) != 0 && strncasecmp(p, "PM", 2) != 0)
                return false;
            ampm = true;
            pm = strncasecmp(p, "PM", 2) == 0;
            p += 2;
            f += 2;
        } else {
            if (*p != *f && !(*f == ' ' && *p == 'T'))
                return false;
            p++;
            f++;
        }
    }
    if (ampm) {
        if (dt->h < 1 || dt->h > 12)
            return false;
        dt->h = dt->h % 12 + (pm ? 12 : 0);
    }
    if (*p == 'Z' && p[1] == '\0')
        p++;
    return *p == '\0' && dt->mo >= 1 && dt->mo <= 12 && dt->d >= 1 &&
           dt->d <= days_in(dt->y, dt->mo) && dt->h <= 23 && dt->mi <= 59 && dt->s <= 60;
}

static bool parse_date(const char *fmt, const char *s, dt_t *dt)
{
    static const char *const autos[] = {"YYYY-MM-DD",  "YYYY/MM/DD",  "MM/DD/YYYY", "YYYYMMDD",
                                        "DD-MON-YYYY", "MON DD YYYY", NULL};
    if (fmt != NULL && strcasecmp(fmt, "auto") != 0)
        return parse_fmt(fmt, s, dt) && dt->h == 0 && dt->mi == 0 && dt->s == 0;
    for (size_t i = 0; autos[i] != NULL; i++)
        if (parse_fmt(autos[i], s, dt))
            return true;
    return false;
}

static bool parse_ts(const char *fmt, const char *s, dt_t *dt)
{
    static const char *const autos[] = {"YYYY-MM-DD HH:MI:SS", "YYYY/MM/DD HH:MI:SS",
                                        "MM/DD/YYYY HH:MI:SS", "YYYY-MM-DD HH:MI", NULL};
    bool epoch = fmt != NULL && strncasecmp(fmt, "epoch", 5) == 0;

    if (epoch) {
        char *end;
        long long v;
        time_t t;
        struct tm tm;
        if (!parse_int(s))
            return false;
        v = strtoll(s, &end, 10);
        memset(dt, 0, sizeof(*dt));
        if (strcasecmp(fmt, "epochmillisecs") == 0) {
            snprintf(dt->frac, sizeof(dt->frac), ".%03lld", ((v % 1000) + 1000) % 1000);
            v = (v - ((v % 1000) + 1000) % 1000) / 1000;
        }
        t = (time_t)v;
        if (gmtime_r(&t, &tm) == NULL)
            return false;
        dt->y = tm.tm_year + 1900, dt->mo = tm.tm_mon + 1, dt->d = tm.tm_mday;
        dt->h = tm.tm_hour, dt->mi = tm.tm_min, dt->s = tm.tm_sec;
        return true;
    }
    if (fmt != NULL && strcasecmp(fmt, "auto") != 0)
        return parse_fmt(fmt, s, dt);
    for (size_t i = 0; autos[i] != NULL; i++)
        if (parse_fmt(autos[i], s, dt))
            return true;
    return false;
}

/* Checks `s` for a column of type t and writes its canonical text to out. Returns NULL, or
 * the reason it does not fit (static text). */
static const char *convert(const load_t *l, wr_wh_type_t t, const char *s, wr_buf_t *out)
{
    dt_t dt;
    const char *b;

    out->len = 0;
    switch (t) {
    case WR_WH_BIGINT:
        if (!parse_int(s))
            return "Invalid digit (err_code 1207)";
        wr_buf_puts(out, s[0] == '+' ? s + 1 : s);
        return NULL;
    case WR_WH_DOUBLE:
        if (!parse_double(s))
            return "Invalid number (err_code 1208)";
        wr_buf_puts(out, s);
        return NULL;
    case WR_WH_BOOLEAN:
        if ((b = parse_bool(s)) == NULL)
            return "Invalid boolean (err_code 1219)";
        wr_buf_puts(out, b);
        return NULL;
    case WR_WH_DATE:
        if (!parse_date(l->dateformat, s, &dt))
            return "Invalid date format (err_code 1205)";
        wr_buf_printf(out, "%04d-%02d-%02d", dt.y, dt.mo, dt.d);
        return NULL;
    case WR_WH_TIMESTAMP:
        if (!parse_ts(l->timeformat, s, &dt) && !parse_date(l->dateformat, s, &dt))
            return "Invalid timestamp format (err_code 1206)";
        wr_buf_printf(out, "%04d-%02d-%02d %02d:%02d:%02d%s", dt.y, dt.mo, dt.d, dt.h, dt.mi, dt.s,
                      dt.frac);
        return NULL;
    default:
        wr_buf_puts(out, s);
        return NULL;
    }
}

static void infer_init(infer_t *in)
{
    memset(in, 0, sizeof(*in));
    for (int t = 0; t <= WR_WH_TIMESTAMP; t++)
        in->can[t] = true;
}

static void infer_add(const load_t *l, infer_t *in, const char *s, wr_buf_t *tmp)
{
    in->seen = true;
    for (int t = WR_WH_BIGINT; t <= WR_WH_TIMESTAMP; t++)
        if (in->can[t] && convert(l, (wr_wh_type_t)t, s, tmp) != NULL)
            in->can[t] = false;
}

static wr_wh_type_t infer_type(const infer_t *in)
{
    static const wr_wh_type_t order[] = {WR_WH_BIGINT, WR_WH_DOUBLE, WR_WH_BOOLEAN, WR_WH_DATE,
                                         WR_WH_TIMESTAMP};
    if (!in->seen)
        return WR_WH_TEXT;
    for (size_t i = 0; i < WR_ARRAY_SIZE(order); i++)
        if (in->can[order[i]])
            return order[i];
    return WR_WH_TEXT;
}

/* ==== Files: a file, a folder, or a manifest ==== */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every regular file under dir, recursively, sorted; names starting with '.' or '_' (such as
 * _SUCCESS markers) are skipped, as Spark and Glue writers leave them. */
static int list_dir(const char *dir, json_t *files, int depth) /* NOLINT(misc-no-recursion) */
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;

    if (d == NULL)
        return -errno;
    while ((e = readdir(d)) != NULL) { /* NOLINT(concurrency-mt-unsafe): one thread */
        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        names = wr_xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = wr_xasprintf("%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0) {
            if (S_ISREG(st.st_mode))
                json_array_append_new(files, json_string(names[i]));
            else if (S_ISDIR(st.st_mode) && depth < 32)
                list_dir(names[i], files, depth + 1);
        }
        free(names[i]);
    }
    free(names);
    return 0;
}

static int read_manifest(load_t *l)
{
    json_error_t je;
    json_t *m = json_load_file(l->from, 0, &je), *entries, *e;
    const char *slash = strrchr(l->from, '/');
    size_t i;
    int rc = 0;

    if (m == NULL) {
        if (access(l->from, F_OK) != 0)
            return fail(l, E_NOTFOUND, "manifest '%s' does not exist", l->from);
        return fail(l, E_MANIFEST, "%s:%d:%d: %s", l->from, je.line, je.column, je.text);
    }
    entries = json_object_get(m, "entries");
    if (!json_is_array(entries)) {
        json_decref(m);
        return fail(l, E_MANIFEST, "manifest '%s': needs an \"entries\" array", l->from);
    }
    json_array_foreach(entries, i, e)
    {
        const char *url = json_string_value(json_object_get(e, "url"));
        json_t *mand = json_object_get(e, "mandatory");
        char *path;
        struct stat st;
        if (url == NULL) {
            rc = fail(l, E_MANIFEST, "manifest '%s': entry %zu has no \"url\"", l->from, i + 1);
            break;
        }
        if (strncmp(url, "s3://", 5) == 0) {
            rc = fail(l, E_MANIFEST,
                      "manifest '%s': '%s': s3:// URLs need an aws connection; the local "
                      "warehouse reads local paths or file:// URLs",
                      l->from, url);
            break;
        }
        if (strncmp(url, "file://", 7) == 0)
            url += 7;
        /* A relative path is relative to the manifest's folder. */
        if (url[0] != '/' && slash != NULL)
            path = wr_xasprintf("%.*s/%s", (int)(slash - l->from), l->from, url);
        else
            path = wr_xstrdup(url);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            json_array_append_new(l->files, json_string(path));
        } else if (json_is_true(mand)) {
            rc = fail(l, E_NOTFOUND, "manifest '%s': mandatory file '%s' does not exist", l->from,
                      path);
            free(path);
            break;
        }
        free(path);
    }
    json_decref(m);
    if (rc == 0 && json_array_size(l->files) == 0)
        rc = fail(l, E_NOTFOUND, "manifest '%s' lists no existing file", l->from);
    return rc;
}

static int resolve_files(load_t *l)
{
    struct stat st;
    const char *name = strrchr(l->from, '/');

    name = name ? name + 1 : l->from;
    if (l->manifest || (strlen(name) > 9 && strcmp(name + strlen(name) - 9, ".manifest") == 0))
        return read_manifest(l);
    if (stat(l->from, &st) != 0)
        return fail(l, E_NOTFOUND, "'%s' does not exist (no such file or folder)", l->from);
    if (S_ISREG(st.st_mode)) {
        json_array_append_new(l->files, json_string(l->from));
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return fail(l, E_NOTFOUND, "'%s' is not a file or a folder", l->from);
    if (list_dir(l->from, l->files, 0) != 0)
        return fail(l, E_NOTFOUND, "'%s': cannot list the folder", l->from);
    if (json_array_size(l->files) == 0)
        return fail(l, E_NOTFOUND, "folder '%s' holds no files", l->from);
    return 0;
}

/* ==== Readers: one record at a time ==== */

typedef struct {
    const load_t *l;
    const char *name;
    FILE *fp;
    wr_csv_reader_t *csv; /* comma-delimited CSV */
    char *line;           /* other delimiters and JSON lines */
    size_t cap;
    long lineno; /* of the current record */
    field_t *f;  /* the current CSV record */
    size_t nf, capf;
    json_t *obj; /* the current JSON record */
} reader_t;

static int reader_open(load_t *l, reader_t *r, const char *path)
{
    memset(r, 0, sizeof(*r));
    r->l = l;
    r->name = path;
    r->fp = fopen(path, "rb");
    if (r->fp == NULL)
        return fail(l, E_NOTFOUND, "%s: %s", path, uv_strerror(-errno));
    if (!l->json && l->delim == ',')
        r->csv = wr_csv_reader_new(r->fp, path);
    return 0;
}

static void reader_clear_fields(reader_t *r)
{
    for (size_t i = 0; i < r->nf; i++)
        free(r->f[i].s);
    r->nf = 0;
}

static void reader_close(reader_t *r)
{
    reader_clear_fields(r);
    free(r->f);
    wr_csv_reader_free(r->csv);
    free(r->line);
    json_decref(r->obj);
    if (r->fp != NULL)
        fclose(r->fp);
    memset(r, 0, sizeof(*r));
}

static void add_field(reader_t *r, const char *s, size_t n, bool quoted)
{
    if (r->nf == r->capf) {
        r->capf = r->capf ? r->capf * 2 : 16;
        r->f = wr_xrealloc(r->f, r->capf * sizeof(*r->f));
    }
    r->f[r->nf].s = wr_xstrndup(s, n);
    r->f[r->nf].quoted = quoted;
    r->nf++;
}

/* Splits one line on the delimiter; "quoted" fields may hold it and "" for a quote. */
static int split_line(reader_t *r, const char *s, size_t len)
{
    const char *end = s + len, *p = s;
    wr_buf_t b;

    wr_buf_init(&b);
    for (;;) {
        bool quoted = false;
        b.len = 0;
        if (p < end && *p == '"') {
            quoted = true;
            p++;
            for (;;) {
                if (p >= end) {
                    wr_buf_dispose(&b);
                    return fail((load_t *)r->l, E_LOAD, "%s:%ld: unterminated quoted field",
                                r->name, r->lineno);
                }
                if (*p == '"' && p + 1 < end && p[1] == '"') {
                    wr_buf_append(&b, "\"", 1);
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    wr_buf_append(&b, p++, 1);
                }
            }
            if (p < end && *p != r->l->delim) {
                wr_buf_dispose(&b);
                return fail((load_t *)r->l, E_LOAD, "%s:%ld: text after a closing quote", r->name,
                            r->lineno);
            }
        } else {
            const char *q = memchr(p, r->l->delim, (size_t)(end - p));
            size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
            wr_buf_append(&b, p, n);
            p += n;
        }
        add_field(r, wr_buf_cstr(&b), b.len, quoted);
        if (p >= end)
            break;
        p++; /* the delimiter */
    }
    wr_buf_dispose(&b);
    return 0;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/* Next record: 1, 0 at the end, -1 on error (l->error set). Blank lines are skipped. */
static int reader_next(reader_t *r)
{
    load_t *l = (load_t *)r->l;

    reader_clear_fields(r);
    json_decref(r->obj);
    r->obj = NULL;
    for (;;) {
        if (r->csv != NULL) {
            const wr_csv_field_t *fs;
            size_t n;
            wr_err_t e;
            int rc = wr_csv_read(r->csv, &fs, &n, &e);
            if (rc < 0)
                return fail(l, E_LOAD, "%s", e.msg);
            if (rc == 0)
                return 0;
            r->lineno = wr_csv_record_line(r->csv);
            if (n == 1 && fs[0].len == 0 && !fs[0].quoted)
                continue;
            for (size_t i = 0; i < n; i++)
                add_field(r, fs[i].data, fs[i].len, fs[i].quoted);
            return 1;
        } else {
            ssize_t n = getline(&r->line, &r->cap, r->fp);
            if (n < 0) {
                if (ferror(r->fp))
                    return fail(l, E_LOAD, "%s:%ld: read error", r->name, r->lineno + 1);
                return 0;
            }
            r->lineno++;
            while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
                r->line[--n] = '\0';
            if (r->lineno == 1 && n >= 3 && memcmp(r->line, "\xEF\xBB\xBF", 3) == 0) {
                memmove(r->line, r->line + 3, (size_t)n - 2);
                n -= 3;
            }
            if (blank(r->line, (size_t)n))
                continue;
            if (l->json) {
                json_error_t je;
                r->obj = json_loadb(r->line, (size_t)n, 0, &je);
                if (!json_is_object(r->obj))
                    return fail(l, E_LOAD, "%s:%ld: not a JSON object%s%s (err_code 1216)", r->name,
                                r->lineno, r->obj ? "" : ": ", r->obj ? "" : je.text);
                return 1;
            }
            if (split_line(r, r->line, (size_t)n) != 0)
                return -1;
            return 1;
        }
    }
}

/* The text of JSON value v for a column (new string; NULL for null). */
static char *json_text(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        return NULL;
    case JSON_STRING:
        return wr_xstrdup(json_string_value(v));
    case JSON_INTEGER:
        return wr_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        return wr_xasprintf("%.17g", json_real_value(v));
    case JSON_TRUE:
        return wr_xstrdup("true");
    case JSON_FALSE:
        return wr_xstrdup("false");
    default:
        return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    }
}

/* The member of obj named `name`, case-insensitively (Redshift's 'auto ignorecase'). */
static json_t *member(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    const char *k;

    if (v != NULL)
        return v;
    json_object_foreach(obj, k, v)
    {
        if (strcasecmp(k, name) == 0)
            return v;
    }
    return NULL;
}

/* The current record's values for the loaded columns, into vals[n] (owned strings or NULL).
 * Returns 0, or fails the load when the record does not fit the columns. */
static int record_values(reader_t *r, char **vals)
{
    load_t *l = (load_t *)r->l;

    if (l->json) {
        for (size_t i = 0; i < l->n; i++) {
            json_t *v = member(r->obj, l->cols[i].name);
            vals[i] = v ? json_text(v) : NULL;
        }
        return 0;
    }
    if (r->nf != l->n)
        return fail(l, E_LOAD, "%s:%ld: %s: %zu fields, %zu columns expected (err_code %d)",
                    r->name, r->lineno,
                    r->nf > l->n ? "Extra column(s) found" : "Delimiter not found", r->nf, l->n,
                    r->nf > l->n ? 1202 : 1214);
    for (size_t i = 0; i < l->n; i++) {
        field_t *f = &r->f[i];
        bool null = (!f->quoted && f->s[0] == '\0') ||
                    (l->null_as != NULL && strcmp(f->s, l->null_as) == 0);
        vals[i] = null ? NULL : f->s;
        f->s = null ? f->s : NULL; /* moved to vals */
    }
    return 0;
}

static void free_vals(char **vals, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(vals[i]);
        vals[i] = NULL;
    }
}

/* ==== The load ==== */

/* Adds column `name` (lowercased) to the loaded columns if missing; returns its index. */
static size_t add_column(load_t *l, const char *name)
{
    char *low = lower_dup(name);
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->cols[i].name, low) == 0) {
            free(low);
            return i;
        }
    l->cols = wr_xrealloc(l->cols, (l->n + 1) * sizeof(*l->cols));
    l->inf = wr_xrealloc(l->inf, (l->n + 1) * sizeof(*l->inf));
    l->cols[l->n].name = low;
    l->cols[l->n].type = WR_WH_TEXT;
    infer_init(&l->inf[l->n]);
    return l->n++;
}

/* The loaded columns before the first pass: from --columns, the header of the first file
 * (CSV), or the existing table. JSON without either gathers keys during the first pass. */
static int plan_columns(load_t *l)
{
    if (l->n_columns > 0) {
        for (size_t i = 0; i < l->n_columns; i++)
            add_column(l, l->columns[i]);
    } else if (!l->json && l->ignore_header > 0) {
        reader_t r;
        int rc = 0;
        if (reader_open(l, &r, json_string_value(json_array_get(l->files, 0))) != 0)
            return -1;
        for (long i = 0; i < l->ignore_header && rc == 0; i++) {
            int got = reader_next(&r);
            if (got < 0)
                rc = -1;
            else if (got == 0 && l->n_tcols == 0)
                rc =
                    fail(l, E_LOAD, "%s: no header line to create table '%s' from", r.name, l->tbl);
            else if (got == 0) /* an empty file: nothing to load, the table's columns */
                break;
        }
        if (rc == 0 && r.nf == 0)
            for (size_t i = 0; i < l->n_tcols; i++)
                add_column(l, l->tcols[i].name);
        for (size_t i = 0; rc == 0 && i < r.nf; i++) {
            char *name = trim_dup(r.f[i].s, strlen(r.f[i].s));
            if (*name == '\0') {
                free(name);
                name = wr_xasprintf("column%zu", i + 1);
            }
            if (add_column(l, name) != i)
                rc = fail(l, E_LOAD, "%s:%ld: column '%s' appears twice in the header", r.name,
                          r.lineno, name);
            free(name);
        }
        reader_close(&r);
        if (rc != 0)
            return rc;
    } else if (l->n_tcols > 0) {
        for (size_t i = 0; i < l->n_tcols; i++)
            add_column(l, l->tcols[i].name);
    } else if (!l->json) {
        return fail(l, E_LOAD,
                    "table '%s' does not exist and the file has no header to create it from: "
                    "give 'columns' or 'ignore_header'",
                    l->tbl);
    }
    if (l->n_tcols > 0) {
        /* Match the table's columns and take their types. */
        for (size_t i = 0; i < l->n; i++) {
            bool found = false;
            for (size_t j = 0; j < l->n_tcols && !found; j++) {
                if (strcasecmp(l->cols[i].name, l->tcols[j].name) == 0) {
                    free(l->cols[i].name);
                    l->cols[i].name = wr_xstrdup(l->tcols[j].name);
                    l->cols[i].type = l->tcols[j].type;
                    found = true;
                }
            }
            if (!found)
                return fail(l, E_LOAD, "column '%s' does not exist in table '%s'", l->cols[i].name,
                            l->tbl);
        }
    }
    return 0;
}

static int row_error(load_t *l, const reader_t *r, size_t col, const char *value,
                     const char *reason)
{
    return fail(l, E_LOAD, "Load into table '%s' failed: %s:%ld: column %s (%s): %s, value '%.60s'",
                l->tbl, r->name, r->lineno, l->cols[col].name, wr_wh_type_name(l->cols[col].type),
                reason, value);
}

/* Pass 1 over every file: record shapes, and values against their types (existing table) or
 * into the type inference (new table). Counts the rows. */
static int check_pass(load_t *l)
{
    bool fixed = l->n_tcols > 0;
    size_t i;
    json_t *f;
    wr_buf_t tmp;
    int rc = 0;

    wr_buf_init(&tmp);
    json_array_foreach(l->files, i, f)
    {
        reader_t r;
        long skip = l->json ? 0 : l->ignore_header;
        int got;
        if (reader_open(l, &r, json_string_value(f)) != 0) {
            rc = -1;
            break;
        }
        while (rc == 0 && (got = reader_next(&r)) > 0) {
            char **vals;
            if (skip > 0) {
                skip--;
                continue;
            }
            if (l->json && !fixed && l->n_columns == 0) {
                const char *k;
                json_t *v;
                json_object_foreach(r.obj, k, v)
                {
                    add_column(l, k);
                }
            }
            vals = wr_xcalloc(l->n + 1, sizeof(*vals));
            if (record_values(&r, vals) != 0) {
                rc = -1;
            } else {
                for (size_t c = 0; c < l->n && rc == 0; c++) {
                    const char *why;
                    if (vals[c] == NULL)
                        continue;
                    if (!fixed)
                        infer_add(l, &l->inf[c], vals[c], &tmp);
                    else if ((why = convert(l, l->cols[c].type, vals[c], &tmp)) != NULL)
                        rc = row_error(l, &r, c, vals[c], why);
                }
            }
            free_vals(vals, l->n);
            free(vals);
            l->rows++;
        }
        if (rc == 0 && got < 0)
            rc = -1;
        reader_close(&r);
        if (rc != 0)
            break;
    }
    wr_buf_dispose(&tmp);
    if (rc == 0 && !fixed) {
        if (l->n == 0)
            return fail(l, E_LOAD, "no columns: the JSON records hold no keys");
        for (size_t c = 0; c < l->n; c++)
            l->cols[c].type = infer_type(&l->inf[c]);
    }
    return rc;
}

/* Pass 2: converts and inserts every row. */
static int insert_pass(load_t *l)
{
    size_t i;
    json_t *f;
    wr_buf_t *canon = wr_xcalloc(l->n + 1, sizeof(*canon));
    const char **out = wr_xcalloc(l->n + 1, sizeof(*out));
    char **vals = wr_xcalloc(l->n + 1, sizeof(*vals));
    int64_t row = 0, bad = 0;
    wr_err_t e;
    int rc = 0;

    memset(&e, 0, sizeof(e));
    for (size_t c = 0; c < l->n; c++)
        wr_buf_init(&canon[c]);
    if (l->wh->ops->insert_start(l->wh, l->tbl, l->cols, l->n, &e) != 0) {
        rc = fail(l, E_SQL, "%s", e.msg);
        goto done;
    }
    json_array_foreach(l->files, i, f)
    {
        reader_t r;
        long skip = l->json ? 0 : l->ignore_header;
        int got;
        if (reader_open(l, &r, json_string_value(f)) != 0) {
            rc = -1;
            break;
        }
        while (rc == 0 && (got = reader_next(&r)) > 0) {
            if (skip > 0) {
                skip--;
                continue;
            }
            if (record_values(&r, vals) != 0) {
                rc = -1;
                break;
            }
            for (size_t c = 0; c < l->n && rc == 0; c++) {
                const char *why = NULL;
                out[c] = NULL;
                if (vals[c] != NULL &&
                    (why = convert(l, l->cols[c].type, vals[c], &canon[c])) != NULL)
                    rc = row_error(l, &r, c, vals[c], why);
                else if (vals[c] != NULL)
                    out[c] = wr_buf_cstr(&canon[c]);
            }
            if (rc == 0 && l->wh->ops->insert_row(l->wh, out, &e) != 0)
                rc = fail(l, E_LOAD, "Load into table '%s' failed: %s:%ld: %s", l->tbl, r.name,
                          r.lineno, e.msg);
            free_vals(vals, l->n);
            if ((size_t)row == l->pos_cap) {
                l->pos_cap = l->pos_cap ? l->pos_cap * 2 : 1024;
                l->pos = wr_xrealloc(l->pos, l->pos_cap * sizeof(*l->pos));
            }
            l->pos[row].file = (uint32_t)i;
            l->pos[row].line = (uint32_t)r.lineno;
            row++;
        }
        if (rc == 0 && got < 0)
            rc = -1;
        reader_close(&r);
        if (rc != 0)
            break;
    }
    if (rc == 0 && l->wh->ops->insert_finish(l->wh, &bad, &e) != 0) {
        if (bad >= 1 && bad <= row)
            rc = fail(l, E_LOAD, "Load into table '%s' failed: %s:%u: %s", l->tbl,
                      json_string_value(json_array_get(l->files, l->pos[bad - 1].file)),
                      l->pos[bad - 1].line, e.msg);
        else
            rc = fail(l, e.code == WR_ENOTFOUND ? E_CONN : E_LOAD, "%s", e.msg);
    }
    if (rc == 0 && row != l->rows)
        rc = fail(l, E_LOAD, "the files changed during the load (%lld rows, then %lld)",
                  (long long)l->rows, (long long)row);
done:
    for (size_t c = 0; c < l->n; c++)
        wr_buf_dispose(&canon[c]);
    free(canon);
    free(out);
    free(vals);
    return rc;
}

/* A table name as Redshift takes it: [schema.]name, letters, digits, _ and $, lowercased. */
static int check_table(load_t *l)
{
    const char *t = l->table;
    int dots = 0;

    if (t == NULL || *t == '\0')
        return fail(l, E_LOAD, "a table is required");
    for (const char *p = t; *p; p++) {
        if (*p == '.')
            dots++;
        else if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '$'))
            return fail(l, E_LOAD, "'%s' is not a valid table name", t);
    }
    if (dots > 1 || t[0] == '.' || t[strlen(t) - 1] == '.' || isdigit((unsigned char)t[0]))
        return fail(l, E_LOAD, "'%s' is not a valid table name", t);
    l->tbl = lower_dup(t);
    if (l->dsn == NULL && dots == 1) {
        /* SQLite has no schemas; "public.x" is the same table x. */
        if (strncmp(l->tbl, "public.", 7) != 0)
            return fail(l, E_LOAD, "'%s': schemas other than public need a PostgreSQL warehouse",
                        t);
        memmove(l->tbl, l->tbl + 7, strlen(l->tbl + 7) + 1);
    }
    return 0;
}

static json_t *run_load(load_t *l)
{
    json_t *prev = NULL, *res = NULL;
    bool in_tx = false;
    wr_err_t e;

    memset(&e, 0, sizeof(e));
    if (check_table(l) != 0 || resolve_files(l) != 0)
        return NULL;
    if (l->wh->ops->begin(l->wh, &e) != 0) {
        fail(l, e.code == WR_ENOTFOUND ? E_CONN : E_SQL, "%s", e.msg);
        return NULL;
    }
    in_tx = true;
    if (l->token != NULL && l->wh->ops->token_lookup(l->wh, l->token, &prev, &e) != 0) {
        fail(l, E_SQL, "%s", e.msg);
        goto done;
    }
    if (prev != NULL) {
        /* Loaded before under this token: the retry is a no-op that reports that load. */
        json_object_set_new(prev, "duplicate", json_true());
        json_object_set_new(prev, "token", json_string(l->token));
        res = prev;
        goto done;
    }
    if (l->wh->ops->columns(l->wh, l->tbl, &l->tcols, &l->n_tcols, &e) != 0) {
        fail(l, E_SQL, "%s", e.msg);
        goto done;
    }
    if (plan_columns(l) != 0 || check_pass(l) != 0)
        goto done;
    if (l->n_tcols == 0 && l->wh->ops->create_table(l->wh, l->tbl, l->cols, l->n, &e) != 0) {
        fail(l, E_SQL, "%s", e.msg);
        goto done;
    }
    if (l->truncate && l->n_tcols > 0 && l->wh->ops->truncate(l->wh, l->tbl, &e) != 0) {
        fail(l, E_SQL, "%s", e.msg);
        goto done;
    }
    if (insert_pass(l) != 0)
        goto done;
    if (l->wh->ops->record(l->wh, l->token, l->tbl, l->rows, l->files, &e) != 0) {
        fail(l, E_SQL, "%s", e.msg);
        goto done;
    }
    in_tx = false;
    if (l->wh->ops->end(l->wh, true, &e) != 0) {
        fail(l, e.code == WR_ENOTFOUND ? E_CONN : E_SQL, "commit: %s", e.msg);
        goto done;
    }
    res = json_pack("{s:I, s:s, s:O, s:b, s:s?}", "rows", (json_int_t)l->rows, "table", l->tbl,
                    "files", l->files, "duplicate", 0, "token", l->token);
    {
        json_t *cols = json_object();
        for (size_t c = 0; c < l->n; c++)
            json_object_set_new(cols, l->cols[c].name,
                                json_string(wr_wh_type_name(l->cols[c].type)));
        json_object_set_new(res, "columns", cols);
        json_object_set_new(res, "created", json_boolean(l->n_tcols == 0));
    }
done:
    if (in_tx)
        (void)l->wh->ops->end(l->wh, false, &e);
    return res;
}

static json_t *run_sql(load_t *l)
{
    json_t *prev = NULL, *records = NULL, *res = NULL;
    int64_t rows = 0;
    wr_err_t e;

    memset(&e, 0, sizeof(e));
    if (l->wh->ops->begin(l->wh, &e) != 0) {
        fail(l, e.code == WR_ENOTFOUND ? E_CONN : E_SQL, "%s", e.msg);
        return NULL;
    }
    if (l->token != NULL && l->wh->ops->token_lookup(l->wh, l->token, &prev, &e) != 0) {
        fail(l, E_SQL, "%s", e.msg);
    } else if (prev != NULL) {
        json_object_set_new(prev, "duplicate", json_true());
        res = prev;
    } else if (l->wh->ops->exec(l->wh, l->sql, MAX_RECORDS, &records, &rows, &e) != 0) {
        fail(l, e.code == WR_ENOTFOUND ? E_CONN : E_SQL, "%s", e.msg);
    } else {
        json_t *none = json_array();
        if (l->wh->ops->record(l->wh, l->token, NULL, rows, none, &e) != 0 ||
            l->wh->ops->end(l->wh, true, &e) != 0)
            fail(l, e.code == WR_ENOTFOUND ? E_CONN : E_SQL, "%s", e.msg);
        else
            res = json_pack("{s:I, s:o, s:b}", "rows", (json_int_t)rows, "records", records,
                            "duplicate", 0),
            records = NULL;
        json_decref(none);
        if (res != NULL)
            return res;
    }
    json_decref(records);
    (void)l->wh->ops->end(l->wh, false, &e);
    return res;
}

/* ==== Command line ==== */

WR_PRINTF(1, 2) static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("weir load: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    fputs(usage_text, stderr);
    return 2;
}

static void split_columns(load_t *l, const char *list)
{
    const char *p = list;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        char *name = trim_dup(p, n);
        if (*name != '\0') {
            l->columns = wr_xrealloc(l->columns, (l->n_columns + 1) * sizeof(char *));
            l->columns[l->n_columns++] = lower_dup(name);
        }
        free(name);
        p += n + (c ? 1 : 0);
    }
}

static void print_line(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    printf("%s\n", s ? s : "{}");
    fflush(stdout);
    free(s);
}

int wr_cli_load(int argc, char **argv)
{
    load_t l;
    json_t *res = NULL;
    uint64_t t0 = uv_hrtime();
    wr_err_t e;
    int status = 1;

    memset(&l, 0, sizeof(l));
    memset(&e, 0, sizeof(e));
    l.ignore_header = -1;
    l.delim = ',';
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            status = 0;
            goto done;
        } else if (strcmp(a, "--truncate") == 0) {
            l.truncate = true, takes = false;
        } else if (strcmp(a, "--manifest") == 0) {
            l.manifest = true, takes = false;
        } else if (v == NULL) {
            status = usage_error("unknown or incomplete option '%s'", a);
            goto done;
        } else if (strcmp(a, "--table") == 0) {
            l.table = v;
        } else if (strcmp(a, "--from") == 0) {
            l.from = v;
        } else if (strcmp(a, "--format") == 0) {
            l.format = v;
        } else if (strcmp(a, "--columns") == 0) {
            split_columns(&l, v);
        } else if (strcmp(a, "--ignore-header") == 0) {
            char *end;
            l.ignore_header = strtol(v, &end, 10);
            if (*end != '\0' || l.ignore_header < 0 || l.ignore_header > 1000000) {
                status = usage_error("--ignore-header must be a whole number >= 0, not '%s'", v);
                goto done;
            }
        } else if (strcmp(a, "--delimiter") == 0) {
            if (strcmp(v, "\\t") == 0)
                v = "\t";
            if (strlen(v) != 1 || *v == '"' || *v == '\n' || *v == '\r') {
                status = usage_error("--delimiter must be one character other than a quote, "
                                     "not '%s'",
                                     v);
                goto done;
            }
            l.delim = *v;
        } else if (strcmp(a, "--dateformat") == 0) {
            l.dateformat = v;
        } else if (strcmp(a, "--timeformat") == 0) {
            l.timeformat = v;
        } else if (strcmp(a, "--null-as") == 0) {
            l.null_as = v;
        } else if (strcmp(a, "--token") == 0) {
            l.token = *v ? v : NULL;
        } else if (strcmp(a, "--sql") == 0) {
            l.sql = v;
        } else if (strcmp(a, "--warehouse") == 0) {
            l.warehouse = v;
        } else if (strcmp(a, "--dsn") == 0) {
            l.dsn = v;
        } else {
            status = usage_error("unknown option '%s'", a);
            goto done;
        }
        if (takes)
            i++;
    }
    if (l.dsn == NULL) {
        const char *env = getenv("WEIR_LOAD_DSN"); /* NOLINT(concurrency-mt-unsafe) */
        l.dsn = env != NULL && *env != '\0' ? env : NULL;
    }
    if (l.sql == NULL && (l.table == NULL || l.from == NULL)) {
        status = usage_error("%s", "--table and --from (or --sql) are required");
        goto done;
    }
    if (l.format != NULL && strcasecmp(l.format, "csv") != 0 && strcasecmp(l.format, "json") != 0) {
        status = usage_error("--format must be csv or json, not '%s'", l.format);
        goto done;
    }
    l.json = l.format != NULL && strcasecmp(l.format, "json") == 0;
    if (l.ignore_header < 0)
        l.ignore_header = l.json ? 0 : 1;
    l.files = json_array();
    if ((l.dsn ? wr_wh_open_pg(l.dsn, &l.wh, &e)
               : wr_wh_open_sqlite(l.warehouse ? l.warehouse : "warehouse.db", &l.wh, &e)) != 0) {
        fail(&l, E_CONN, "%s", e.msg);
    } else {
        res = l.sql ? run_sql(&l) : run_load(&l);
    }
    if (res != NULL) {
        json_object_set_new(res, "duration_ms",
                            json_integer((json_int_t)((uv_hrtime() - t0) / 1000000)));
        json_object_set_new(
            res, "warehouse",
            json_string(l.dsn ? "postgresql" : (l.warehouse ? l.warehouse : "warehouse.db")));
        print_line(res);
        status = 0;
    } else {
        json_t *o = json_pack("{s:s, s:s}", "errorType", l.error ? l.error : E_SQL, "errorMessage",
                              l.err.msg);
        if (o == NULL) /* a message that is not UTF-8 */
            o = json_pack("{s:s, s:s}", "errorType", l.error ? l.error : E_SQL, "errorMessage",
                          "load failed (message not UTF-8)");
        print_line(o);
        json_decref(o);
        fprintf(stderr, "weir load: %s: %s\n", l.error ? l.error : E_SQL, l.err.msg);
    }
done:
    json_decref(res);
    json_decref(l.files);
    if (l.wh != NULL)
        l.wh->ops->close(l.wh);
    for (size_t i = 0; i < l.n_columns; i++)
        free(l.columns[i]);
    free(l.columns);
    wr_wh_columns_free(l.tcols, l.n_tcols);
    wr_wh_columns_free(l.cols, l.n);
    free(l.inf);
    free(l.pos);
    free(l.tbl);
    return status;
}
