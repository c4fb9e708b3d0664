/* SPDX-License-Identifier: MIT
 * engine/cli_crawl.c: `weir crawl`, the local Glue crawler (see engine/cli_crawl.h): walks a
 * folder tree, infers each table's schema from sampled rows, merges it with what the catalog
 * holds and records the outcome in one transaction.
 *
 * It runs as a child process of the crawler task type, so reading files blocks nobody and a
 * timeout kills it cleanly: nothing is written before the single transaction at the end.
 *
 * Types are handled as JSON while merging: null is "unknown", a string a scalar type, an
 * object a struct (jansson keeps key order), an array of one element an array type. */
#include "engine/cli_crawl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "engine/catalog.h"
#include "engine/csv.h"
#include "engine/store.h"

#define MAX_DEPTH     32                /* nesting of folders, and of struct/array types */
#define MAX_JSON_LINE ((size_t)4 << 20) /* a longer JSON line is not sampled further */

/* ==== Scalar types of CSV cells ==== */

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool is_bigint(const char *s, size_t n)
{
    size_t i = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (!all_digits(s + i, n - i) || n - i > 19)
        return false;
    if (n - i > 1 && s[i] == '0')
        return false; /* "007" is a code, not a number */
    if (n - i == 19) {
        const char *max = s[0] == '-' ? "9223372036854775808" : "9223372036854775807";
        if (memcmp(s + i, max, 19) > 0)
            return false;
    }
    return true;
}

static bool is_double(const char *s, size_t n)
{
    size_t i = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    size_t digits = 0;
    bool dot = false;

    if (i + 1 < n && s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9')
        return false; /* "007", "00.5": codes, not numbers */
    for (; i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !dot)); i++) {
        if (s[i] == '.')
            dot = true;
        else
            digits++;
    }
    if (digits == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        if (!all_digits(s + i, n - i))
            return false;
        return true;
    }
    return i == n; /* with a dot, or a whole number too large for bigint */
}

static bool two_digits(const char *s, int lo, int hi)
{
    int v;
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return false;
    v = (s[0] - '0') * 10 + (s[1] - '0');
    return v >= lo && v <= hi;
}

/* YYYY-MM-DD with a plausible month and day. */
static bool is_date(const char *s, size_t n)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int month;

    if (n < 10 || !all_digits(s, 4) || s[4] != '-' || s[7] != '-' || !two_digits(s + 5, 1, 12))
        return false;
    month = (s[5] - '0') * 10 + (s[6] - '0');
    return two_digits(s + 8, 1, mdays[month - 1]);
}

/* YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|+HH:MM|-HH:MM|+HHMM]. */
static bool is_timestamp(const char *s, size_t n)
{
    size_t i = 16;

    if (n < 16 || !is_date(s, 10) || (s[10] != 'T' && s[10] != ' ') || !two_digits(s + 11, 0, 23) ||
        s[13] != ':' || !two_digits(s + 14, 0, 59))
        return false;
    if (i < n && s[i] == ':') {
        if (i + 3 > n || !two_digits(s + i + 1, 0, 60))
            return false;
        i += 3;
        if (i < n && (s[i] == '.' || s[i] == ',')) {
            size_t f = ++i;
            while (i < n && s[i] >= '0' && s[i] <= '9')
                i++;
            if (i == f)
                return false;
        }
    }
    if (i == n)
        return true;
    if (s[i] == 'Z')
        return i + 1 == n;
    if (s[i] == '+' || s[i] == '-') {
        const char *z = s + i + 1;
        size_t zl = n - i - 1;
        return (zl == 5 && two_digits(z, 0, 23) && z[2] == ':' && two_digits(z + 3, 0, 59)) ||
               (zl == 4 && two_digits(z, 0, 23) && two_digits(z + 2, 0, 59)) ||
               (zl == 2 && two_digits(z, 0, 23));
    }
    return false;
}

const char *wr_crawl_cell_type(const char *s, size_t len)
{
    if (len == 0)
        return NULL;
    if ((len == 4 && strncasecmp(s, "true", 4) == 0) ||
        (len == 5 && strncasecmp(s, "false", 5) == 0))
        return "boolean";
    if (is_bigint(s, len))
        return "bigint";
    if (is_double(s, len))
        return "double";
    if (len == 10 && is_date(s, len))
        return "date";
    if (is_timestamp(s, len))
        return "timestamp";
    return "string";
}

/* ==== Types as JSON: parse, print, widen ==== */

static json_t *type_parse_at(const char **p, int depth);

/* NOLINTNEXTLINE(misc-no-recursion): depth is capped at MAX_DEPTH */
static json_t *type_parse_at(const char **p, int depth)
{
    const char *s = *p;
    size_t n = 0;

    if (depth > MAX_DEPTH)
        return NULL;
    while (s[n] != '\0' && s[n] != '<' && s[n] != '>' && s[n] != ',' && s[n] != ':')
        n++;
    if (n == 6 && strncmp(s, "struct", 6) == 0 && s[n] == '<') {
        json_t *o = json_object();
        s += 7;
        while (*s != '>') {
            const char *name = s;
            char *key;
            json_t *ft;
            while (*s != '\0' && *s != ':' && *s != '>' && *s != ',')
                s++;
            if (*s != ':') {
                json_decref(o);
                return NULL;
            }
            key = wr_xstrndup(name, (size_t)(s - name));
            s++;
            ft = type_parse_at(&s, depth + 1);
            if (ft == NULL) {
                free(key);
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, key, ft);
            free(key);
            if (*s == ',')
                s++;
            else if (*s != '>') {
                json_decref(o);
                return NULL;
            }
        }
        *p = s + 1;
        return o;
    }
    if (n == 5 && strncmp(s, "array", 5) == 0 && s[n] == '<') {
        json_t *elem;
        s += 6;
        elem = type_parse_at(&s, depth + 1);
        if (elem == NULL || *s != '>') {
            json_decref(elem);
            return NULL;
        }
        *p = s + 1;
        return json_pack("[o]", elem);
    }
    if (n == 0)
        return NULL;
    *p = s + n;
    return json_stringn(s, n);
}

/* A type from its text; "string" when the text is malformed. New. */
static json_t *type_parse(const char *text)
{
    const char *p = text;
    json_t *t;

    if (text == NULL)
        return json_null();
    t = type_parse_at(&p, 0);
    if (t == NULL || *p != '\0') {
        json_decref(t);
        return json_string("string");
    }
    return t;
}

/* NOLINTNEXTLINE(misc-no-recursion): types nest at most MAX_DEPTH deep */
static void type_print(const json_t *t, wr_buf_t *b)
{
    if (json_is_string(t)) {
        wr_buf_puts(b, json_string_value(t));
    } else if (json_is_object(t)) {
        const char *k;
        json_t *v;
        bool first = true;
        wr_buf_puts(b, "struct<");
        json_object_foreach((json_t *)t, k, v)
        {
            if (!first)
                wr_buf_puts(b, ",");
            first = false;
            wr_buf_printf(b, "%s:", k);
            type_print(v, b);
        }
        wr_buf_puts(b, ">");
    } else if (json_is_array(t)) {
        wr_buf_puts(b, "array<");
        type_print(json_array_get(t, 0), b);
        wr_buf_puts(b, ">");
    } else {
        wr_buf_puts(b, "string"); /* never saw a value */
    }
}

static char *type_text(const json_t *t)
{
    wr_buf_t b;
    wr_buf_init(&b);
    type_print(t, &b);
    return wr_buf_steal(&b);
}

static int scalar_rank(const char *s)
{
    if (strcmp(s, "bigint") == 0)
        return 1;
    if (strcmp(s, "double") == 0)
        return 2;
    if (strcmp(s, "date") == 0)
        return 11;
    if (strcmp(s, "timestamp") == 0)
        return 12;
    return 0;
}

/* The narrowest type holding both. New. */
/* NOLINTNEXTLINE(misc-no-recursion): types nest at most MAX_DEPTH deep */
static json_t *type_widen(const json_t *a, const json_t *b)
{
    if (a == NULL || json_is_null(a))
        return b != NULL ? json_deep_copy(b) : json_null();
    if (b == NULL || json_is_null(b))
        return json_deep_copy(a);
    if (json_is_string(a) && json_is_string(b)) {
        const char *x = json_string_value(a), *y = json_string_value(b);
        int rx = scalar_rank(x), ry = scalar_rank(y);
        if (strcmp(x, y) == 0)
            return json_string(x);
        if (rx != 0 && ry != 0 && rx / 10 == ry / 10)
            return json_string(rx > ry ? x : y); /* bigint < double, date < timestamp */
        return json_string("string");
    }
    if (json_is_object(a) && json_is_object(b)) {
        json_t *o = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v)
        {
            json_object_set_new(o, k, type_widen(v, json_object_get(b, k)));
        }
        json_object_foreach((json_t *)b, k, v)
        {
            if (json_object_get(o, k) == NULL)
                json_object_set_new(o, k, json_deep_copy(v));
        }
        return o;
    }
    if (json_is_array(a) && json_is_array(b))
        return json_pack("[o]", type_widen(json_array_get(a, 0), json_array_get(b, 0)));
    return json_string("string");
}

char *wr_crawl_type_widen(const char *a, const char *b)
{
    json_t *ta, *tb, *w;
    char *out;

    if (a == NULL && b == NULL)
        return NULL;
    ta = type_parse(a);
    tb = type_parse(b);
    w = type_widen(ta, tb);
    out = type_text(w);
    json_decref(ta);
    json_decref(tb);
    json_decref(w);
    return out;
}

/* The type of a JSON value. New. */
/* NOLINTNEXTLINE(misc-no-recursion): capped at MAX_DEPTH */
static json_t *json_value_type(const json_t *v, int depth)
{
    if (depth > MAX_DEPTH)
        return json_string("string");
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        return json_string("bigint");
    case JSON_REAL:
        return json_string("double");
    case JSON_TRUE:
    case JSON_FALSE:
        return json_string("boolean");
    case JSON_STRING:
        return json_string("string");
    case JSON_OBJECT: {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            json_object_set_new(o, k, json_value_type(x, depth + 1));
        }
        return o;
    }
    case JSON_ARRAY: {
        json_t *elem = json_null();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            json_t *t = json_value_type(x, depth + 1), *w = type_widen(elem, t);
            json_decref(t);
            json_decref(elem);
            elem = w;
        }
        return json_pack("[o]", elem);
    }
    default:
        return json_null();
    }
}

/* ==== One file ==== */

/* Columns being inferred: names in order, with a JSON type each. */
typedef struct {
    json_t *types; /* object: column name -> type (JSON); keeps first-seen order */
} cols_t;

static void cols_add(cols_t *c, const char *name, const json_t *t)
{
    json_t *old = json_object_get(c->types, name);
    json_object_set_new(c->types, name, type_widen(old, t));
}

static json_t *cols_to_json(const cols_t *c)
{
    json_t *a = json_array();
    const char *k;
    json_t *v;

    json_object_foreach(c->types, k, v)
    {
        char *t = type_text(v);
        json_array_append_new(a, json_pack("{s:s, s:s}", "Name", k, "Type", t));
        free(t);
    }
    return a;
}

static bool has_ext(const char *path, const char *ext)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash != NULL ? slash : path, '.');
    return dot != NULL && strcasecmp(dot + 1, ext) == 0;
}

/* "csv", "json" or NULL for a file we do not read. */
static const char *format_of(const char *path)
{
    if (has_ext(path, "csv"))
        return "csv";
    if (has_ext(path, "jsonl") || has_ext(path, "ndjson") || has_ext(path, "json"))
        return "json";
    return NULL;
}

static int infer_csv(FILE *fp, const char *path, cols_t *c, wr_err_t *err)
{
    wr_csv_reader_t *r = wr_csv_reader_new(fp, path);
    const wr_csv_field_t *f;
    size_t n = 0, width = 0;
    char **names = NULL;
    json_t **types = NULL;
    int rc, rows = 0;

    rc = wr_csv_read(r, &f, &n, err);
    if (rc == 0) {
        rc = wr_err_set(err, WR_EPARSE, "%s: empty file (no header row)", path);
        goto done;
    }
    if (rc < 0)
        goto done;
    width = n;
    names = wr_xcalloc(width, sizeof(char *));
    types = wr_xcalloc(width, sizeof(json_t *));
    for (size_t i = 0; i < width; i++) {
        names[i] = f[i].len > 0 ? wr_xstrndup(f[i].data, f[i].len) : wr_xasprintf("col%zu", i);
        types[i] = json_null();
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], names[i]) == 0) {
                char *u = wr_xasprintf("%s_%zu", names[i], i);
                free(names[i]);
                names[i] = u;
                break;
            }
    }
    while (rows < WR_CRAWL_SAMPLE_ROWS && (rc = wr_csv_read(r, &f, &n, err)) > 0) {
        if (n == 1 && f[0].len == 0 && !f[0].quoted && width > 1)
            continue; /* a blank line */
        if (n != width) {
            rc = wr_err_set(err, WR_EPARSE, "%s:%ld: %zu fields where the header has %zu", path,
                            wr_csv_record_line(r), n, width);
            goto done;
        }
        for (size_t i = 0; i < width; i++) {
            const char *t = wr_crawl_cell_type(f[i].data, f[i].len);
            if (t != NULL) {
                json_t *tt = json_string(t), *w = type_widen(types[i], tt);
                json_decref(tt);
                json_decref(types[i]);
                types[i] = w;
            }
        }
        rows++;
    }
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < width; i++)
        cols_add(c, names[i], types[i]);
    rc = 0;
done:
    for (size_t i = 0; i < width; i++) {
        free(names[i]);
        json_decref(types[i]);
    }
    free(names);
    free(types);
    wr_csv_reader_free(r);
    return rc;
}

static int infer_jsonl(FILE *fp, const char *path, cols_t *c, wr_err_t *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int objects = 0, rc = 0;

    while (objects < WR_CRAWL_SAMPLE_ROWS && (len = getline(&line, &cap, fp)) >= 0) {
        json_error_t je;
        json_t *v;
        const char *k;
        json_t *x;
        size_t i = 0;

        lineno++;
        while (i < (size_t)len &&
               (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
            i++;
        if (i == (size_t)len)
            continue;
        if ((size_t)len > MAX_JSON_LINE)
            break;
        v = json_loadb(line, (size_t)len, JSON_DECODE_ANY, &je);
        if (!json_is_object(v)) {
            json_decref(v);
            rc = wr_err_set(err, WR_EPARSE, "%s:%ld: not a JSON object%s%s", path, lineno,
                            v == NULL ? ": " : "", v == NULL ? je.text : "");
            goto done;
        }
        json_object_foreach(v, k, x)
        {
            json_t *t = json_value_type(x, 0);
            cols_add(c, k, t);
            json_decref(t);
        }
        json_decref(v);
        objects++;
    }
    if (ferror(fp)) {
        rc = wr_err_set(err, UV_EIO, "%s: read error", path);
        goto done;
    }
    if (objects == 0)
        rc = wr_err_set(err, WR_EPARSE, "%s: no JSON object in the file", path);
done:
    free(line);
    return rc;
}

int wr_crawl_infer_file(const char *path, json_t **columns, const char **format, wr_err_t *err)
{
    const char *fmt = format_of(path);
    cols_t c = {json_object()};
    FILE *fp;
    int rc;

    if (fmt == NULL)
        fmt = "csv";
    fp = fopen(path, "rb");
    if (fp == NULL) {
        rc = errno != 0 ? -errno : UV_EIO;
        json_decref(c.types);
        return wr_err_set(err, rc, "%s: %s", path, uv_strerror(rc));
    }
    rc = strcmp(fmt, "csv") == 0 ? infer_csv(fp, path, &c, err) : infer_jsonl(fp, path, &c, err);
    fclose(fp);
    if (rc == 0) {
        *columns = cols_to_json(&c);
        *format = fmt;
    }
    json_decref(c.types);
    return rc;
}

/* ==== The folder walk ==== */

bool wr_crawl_partition_split(const char *name, char **key, char **value)
{
    const char *eq = strchr(name, '=');

    if (eq == NULL || eq == name)
        return false;
    *key = wr_xstrndup(name, (size_t)(eq - name));
    *value = wr_xstrdup(eq + 1);
    return true;
}

/* One table being built by the scan. */
typedef struct {
    char *name;      /* catalog name (prefix + sanitized) */
    char *location;  /* its folder */
    const char *fmt; /* "csv" / "json"; from its first good file */
    json_t *keys;    /* partition key names (array); NULL until the first good file */
    cols_t cols;
    json_t *parts; /* object: location -> {"Values", "Location"} */
    json_t *files; /* array of {"Path", "Size", "MTime"} */
} scan_table_t;

typedef struct {
    const char *root;
    const char *prefix;
    scan_table_t *tables;
    size_t n_tables;
    json_t *skipped;
} scan_t;

static char *table_name(const char *prefix, const char *base)
{
    char *s = wr_xasprintf("%s%s", prefix ? prefix : "", base);
    for (char *p = s; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            *p = '_';
    }
    return s;
}

static scan_table_t *scan_table(scan_t *s, const char *base, const char *location)
{
    char *name = table_name(s->prefix, base);
    scan_table_t *t;

    for (size_t i = 0; i < s->n_tables; i++)
        if (strcmp(s->tables[i].name, name) == 0) {
            free(name);
            return &s->tables[i];
        }
    s->tables = wr_xrealloc(s->tables, (s->n_tables + 1) * sizeof(*s->tables));
    t = &s->tables[s->n_tables++];
    memset(t, 0, sizeof(*t));
    t->name = name;
    t->location = wr_xstrdup(location);
    t->cols.types = json_object();
    t->parts = json_object();
    t->files = json_array();
    return t;
}

static void skip_file(scan_t *s, const char *path, const char *reason)
{
    json_array_append_new(s->skipped, json_pack("{s:s, s:s}", "Path", path, "Reason", reason));
}

/* The root's own name, for the table of files directly under it. */
static char *root_name(const char *root)
{
    size_t n = strlen(root);
    const char *b;
    char cwd[4096];

    while (n > 1 && root[n - 1] == '/')
        n--;
    b = root + n;
    while (b > root && b[-1] != '/')
        b--;
    if ((size_t)(root + n - b) == 1 && b[0] == '.' && getcwd(cwd, sizeof(cwd)) != NULL) {
        const char *slash = strrchr(cwd, '/');
        return wr_xstrdup(slash != NULL && slash[1] ? slash + 1 : "root");
    }
    return n > 0 ? wr_xstrndup(b, (size_t)(root + n - b)) : wr_xstrdup("root");
}

/* A data file at `path`; `rel` holds its folders below the root (dirs[0..n_dirs)). */
static void scan_file(scan_t *s, const char *path, char **dirs, size_t n_dirs,
                      const struct stat *st)
{
    scan_table_t *t;
    json_t *keys = json_array(), *vals = json_array(), *cols = NULL;
    char *base, *location, *part_loc = NULL, *k = NULL, *v = NULL;
    const char *fmt = NULL;
    size_t first = 0;
    wr_err_t err;
    int64_t mtime;

    memset(&err, 0, sizeof(err));
    if (n_dirs > 0 && !wr_crawl_partition_split(dirs[0], &k, &v)) {
        base = wr_xstrdup(dirs[0]);
        location = wr_xasprintf("%s/%s", s->root, dirs[0]);
        first = 1;
    } else {
        if (n_dirs > 0) {
            free(k);
            free(v);
        }
        base = root_name(s->root);
        location = wr_xstrdup(s->root);
    }
    {
        wr_buf_t b;
        wr_buf_init(&b);
        wr_buf_puts(&b, location);
        for (size_t i = first; i < n_dirs; i++) {
            wr_buf_printf(&b, "/%s", dirs[i]);
            if (wr_crawl_partition_split(dirs[i], &k, &v)) {
                json_array_append_new(keys, json_string(k));
                json_array_append_new(vals, json_string(v));
                free(k);
                free(v);
                free(part_loc);
                part_loc = wr_xstrdup(wr_buf_cstr(&b));
            }
        }
        wr_buf_dispose(&b);
    }
    t = scan_table(s, base, location);
    if (t->keys != NULL && !json_equal(t->keys, keys)) {
        char *want = json_dumps(t->keys, JSON_COMPACT), *got = json_dumps(keys, JSON_COMPACT);
        char *why = wr_xasprintf("partition keys %s differ from the table's %s", got, want);
        skip_file(s, path, why);
        free(why);
        free(want);
        free(got);
        goto done;
    }
    if (wr_crawl_infer_file(path, &cols, &fmt, &err) != 0) {
        skip_file(s, path, err.msg);
        goto done;
    }
    if (t->fmt != NULL && strcmp(t->fmt, fmt) != 0) {
        char *why = wr_xasprintf("a %s file in a %s table", fmt, t->fmt);
        skip_file(s, path, why);
        free(why);
        goto done;
    }
    t->fmt = fmt;
    if (t->keys == NULL)
        t->keys = json_incref(keys);
    {
        size_t i;
        json_t *c;
        json_array_foreach(cols, i, c)
        {
            json_t *ty = type_parse(json_string_value(json_object_get(c, "Type")));
            cols_add(&t->cols, json_string_value(json_object_get(c, "Name")), ty);
            json_decref(ty);
        }
    }
    if (part_loc != NULL && json_object_get(t->parts, part_loc) == NULL)
        json_object_set_new(t->parts, part_loc,
                            json_pack("{s:O, s:s}", "Values", vals, "Location", part_loc));
    mtime = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    json_array_append_new(t->files, json_pack("{s:s, s:I, s:I}", "Path", path, "Size",
                                              (json_int_t)st->st_size, "MTime", (json_int_t)mtime));
done:
    json_decref(cols);
    json_decref(keys);
    json_decref(vals);
    free(part_loc);
    free(base);
    free(location);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks `dir` (below the root by `dirs`), depth-first in name order. */
/* NOLINTNEXTLINE(misc-no-recursion): folder depth is capped at MAX_DEPTH */
static int scan_dir(scan_t *s, const char *dir, char **dirs, size_t n_dirs, wr_err_t *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (d == NULL) {
        rc = errno != 0 ? -errno : UV_EIO;
        if (n_dirs == 0)
            return wr_err_set(err, rc, "%s: %s", dir, uv_strerror(rc));
        skip_file(s, dir, uv_strerror(rc));
        return 0;
    }
    while ((e = readdir(d)) != NULL) { /* NOLINT(concurrency-mt-unsafe): one thread */
        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            names = wr_xrealloc(names, cap * sizeof(char *));
        }
        names[n++] = wr_xstrdup(e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *path = wr_xasprintf("%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0) {
            skip_file(s, path, "cannot stat (a dangling link?)");
        } else if (S_ISDIR(st.st_mode)) {
            if (n_dirs + 1 >= MAX_DEPTH) {
                skip_file(s, path, "folders nested too deep");
            } else {
                dirs[n_dirs] = names[i];
                rc = scan_dir(s, path, dirs, n_dirs + 1, err);
            }
        } else if (format_of(names[i]) == NULL) {
            skip_file(s, path, "not a CSV or JSON-lines file (.csv, .json, .jsonl, .ndjson)");
        } else {
            scan_file(s, path, dirs, n_dirs, &st);
        }
        free(path);
        if (rc != 0)
            break;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int wr_crawl_scan(const char *dir, const char *prefix, json_t **tables, json_t **skipped,
                  wr_err_t *err)
{
    scan_t s;
    char *dirs[MAX_DEPTH];
    char *root;
    struct stat st;
    json_t *out;
    size_t len;
    int rc;

    if (stat(dir, &st) != 0) {
        rc = errno != 0 ? -errno : UV_EIO;
        return wr_err_set(err, rc, "%s: %s", dir, uv_strerror(rc));
    }
    if (!S_ISDIR(st.st_mode))
        return wr_err_set(err, UV_ENOTDIR, "%s: not a folder", dir);
    len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    root = wr_xstrndup(dir, len);
    memset(&s, 0, sizeof(s));
    s.root = root;
    s.prefix = prefix;
    s.skipped = json_array();
    rc = scan_dir(&s, root, dirs, 0, err);
    out = json_array();
    for (size_t i = 0; i < s.n_tables; i++) {
        scan_table_t *t = &s.tables[i];
        if (rc == 0 && json_array_size(t->files) > 0) {
            json_t *keys = json_array(), *parts = json_array(), *k, *p;
            const char *loc;
            size_t j;
            json_array_foreach(t->keys, j, k)
            {
                json_array_append_new(keys, json_pack("{s:O, s:s}", "Name", k, "Type", "string"));
            }
            json_object_foreach(t->parts, loc, p)
            {
                json_array_append(parts, p);
            }
            json_array_append_new(out,
                                  json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:O}", "Name", t->name,
                                            "Location", t->location, "Classification", t->fmt,
                                            "Columns", cols_to_json(&t->cols), "PartitionKeys",
                                            keys, "Partitions", parts, "Files", t->files));
        }
        free(t->name);
        free(t->location);
        json_decref(t->keys);
        json_decref(t->cols.types);
        json_decref(t->parts);
        json_decref(t->files);
    }
    free(s.tables);
    free(root);
    if (rc != 0) {
        json_decref(out);
        json_decref(s.skipped);
        return rc;
    }
    *tables = out;
    *skipped = s.skipped;
    return 0;
}

/* ==== Merging with the catalog ==== */

static json_t *find_named(const json_t *list, const char *key, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, key)), name) == 0)
            return v;
    }
    return NULL;
}

static void add_change(json_t *changes, const char *table, const char *kind, json_t *detail)
{
    json_object_set_new(detail, "Table", json_string(table));
    json_object_set_new(detail, "Kind", json_string(kind));
    json_array_append_new(changes, detail);
}

json_t *wr_crawl_merge(const json_t *old, const json_t *scanned, json_t *changes,
                       const char **status)
{
    const char *name = json_string_value(json_object_get(scanned, "Name"));
    json_t *t = json_deep_copy(scanned), *cols, *c;
    bool schema_changed = false, changed = false;
    size_t i;

    if (old == NULL) {
        json_object_set_new(t, "Version", json_integer(1));
        add_change(changes, name, "TableCreated",
                   json_pack("{s:I, s:I, s:I}", "Columns",
                             (json_int_t)json_array_size(json_object_get(t, "Columns")),
                             "Partitions",
                             (json_int_t)json_array_size(json_object_get(t, "Partitions")), "Files",
                             (json_int_t)json_array_size(json_object_get(t, "Files"))));
        *status = "created";
        return t;
    }
    /* Columns: the old ones in their order (widened, never narrowed), then new ones. */
    cols = json_array();
    json_array_foreach(json_object_get(old, "Columns"), i, c)
    {
        const char *cn = json_string_value(json_object_get(c, "Name"));
        const char *ot = json_string_value(json_object_get(c, "Type"));
        json_t *nc = find_named(json_object_get(scanned, "Columns"), "Name", cn);
        char *w =
            wr_crawl_type_widen(ot, nc ? json_string_value(json_object_get(nc, "Type")) : NULL);
        if (strcmp(w, ot) != 0) {
            add_change(changes, name, "TypeChanged",
                       json_pack("{s:s, s:s, s:s}", "Column", cn, "From", ot, "To", w));
            schema_changed = true;
        }
        json_array_append_new(cols, json_pack("{s:s, s:s}", "Name", cn, "Type", w));
        free(w);
    }
    json_array_foreach(json_object_get(scanned, "Columns"), i, c)
    {
        const char *cn = json_string_value(json_object_get(c, "Name"));
        if (find_named(json_object_get(old, "Columns"), "Name", cn) != NULL)
            continue;
        add_change(changes, name, "ColumnAdded",
                   json_pack("{s:s, s:O}", "Column", cn, "Type", json_object_get(c, "Type")));
        json_array_append(cols, c);
        schema_changed = true;
    }
    json_object_set_new(t, "Columns", cols);
    if (!json_equal(json_object_get(old, "PartitionKeys"),
                    json_object_get(scanned, "PartitionKeys"))) {
        add_change(changes, name, "PartitionKeysChanged",
                   json_pack("{s:O, s:O}", "From", json_object_get(old, "PartitionKeys"), "To",
                             json_object_get(scanned, "PartitionKeys")));
        schema_changed = true;
    }
    if (strcmp(json_string_value(json_object_get(old, "Classification")),
               json_string_value(json_object_get(scanned, "Classification"))) != 0) {
        add_change(changes, name, "ClassificationChanged",
                   json_pack("{s:O, s:O}", "From", json_object_get(old, "Classification"), "To",
                             json_object_get(scanned, "Classification")));
        schema_changed = true;
    }
    json_array_foreach(json_object_get(scanned, "Partitions"), i, c)
    {
        const char *loc = json_string_value(json_object_get(c, "Location"));
        if (find_named(json_object_get(old, "Partitions"), "Location", loc) == NULL) {
            add_change(
                changes, name, "PartitionAdded",
                json_pack("{s:O, s:s}", "Values", json_object_get(c, "Values"), "Location", loc));
            changed = true;
        }
    }
    json_array_foreach(json_object_get(old, "Partitions"), i, c)
    {
        const char *loc = json_string_value(json_object_get(c, "Location"));
        if (find_named(json_object_get(scanned, "Partitions"), "Location", loc) == NULL) {
            add_change(
                changes, name, "PartitionRemoved",
                json_pack("{s:O, s:s}", "Values", json_object_get(c, "Values"), "Location", loc));
            changed = true;
        }
    }
    json_object_set_new(t, "Version",
                        json_integer(json_integer_value(json_object_get(old, "Version")) +
                                     (schema_changed ? 1 : 0)));
    *status = schema_changed || changed ? "updated" : "unchanged";
    return t;
}

/* ==== weir crawl ==== */

static const char usage_text[] =
    "usage: weir crawl --db DB --crawler NAME --path DIR --database D [--table-prefix P]\n"
    "\n"
    "Scans DIR (Hive-style key=value folders are partitions), infers the tables of its CSV\n"
    "and JSON-lines files and records them in the catalog of DB, in database D. Prints the\n"
    "result as one JSON line: TablesCreated, TablesUpdated, tables, changes, FilesSkipped;\n"
    "or {\"errorType\", \"errorMessage\"} and exits 1.\n";

static int fail(const char *type, const char *fmt, ...) WR_PRINTF(2, 3);

static int fail(const char *type, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    json_t *o;
    char *line;

    va_start(ap, fmt);
    msg = wr_xvasprintf(fmt, ap);
    va_end(ap);
    o = json_pack("{s:s, s:s}", "errorType", type, "errorMessage", msg);
    line = json_dumps(o, JSON_COMPACT);
    if (line != NULL)
        printf("%s\n", line);
    fflush(stdout);
    fprintf(stderr, "weir crawl: %s\n", msg);
    free(line);
    free(msg);
    json_decref(o);
    return 1;
}

static bool valid_name(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

int wr_cli_crawl(int argc, char **argv)
{
    const char *db = NULL, *crawler = NULL, *path = NULL, *database = NULL, *prefix = NULL;
    json_t *tables = NULL, *skipped = NULL, *out = NULL, *changes = NULL, *summary = NULL;
    wr_store_t *store = NULL;
    int created = 0, updated = 0, unchanged = 0, status = 1;
    int64_t started = wr_now_ms();
    char iso_start[32], iso_end[32];
    wr_err_t err;
    size_t i;
    json_t *t;

    memset(&err, 0, sizeof(err));
    for (int a = 1; a < argc; a++) {
        const char *o = argv[a];
        const char **dst = NULL;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (strcmp(o, "--db") == 0)
            dst = &db;
        else if (strcmp(o, "--crawler") == 0)
            dst = &crawler;
        else if (strcmp(o, "--path") == 0)
            dst = &path;
        else if (strcmp(o, "--database") == 0)
            dst = &database;
        else if (strcmp(o, "--table-prefix") == 0)
            dst = &prefix;
        if (dst == NULL || a + 1 >= argc) {
            fprintf(stderr, "weir crawl: unknown or incomplete option '%s'\n%s", o, usage_text);
            return 2;
        }
        *dst = argv[++a];
    }
    if (db == NULL || crawler == NULL || path == NULL || database == NULL) {
        fprintf(stderr, "weir crawl: --db, --crawler, --path and --database are required\n%s",
                usage_text);
        return 2;
    }
    if (!valid_name(database))
        return fail("Glue.InvalidInputException",
                    "database name '%s': use letters, digits, '_' and '-'", database);
    if (wr_crawl_scan(path, prefix, &tables, &skipped, &err) != 0) {
        if (err.code == UV_ENOENT)
            return fail("Glue.EntityNotFoundException", "crawler %s: path '%s' does not exist",
                        crawler, path);
        if (err.code == UV_ENOTDIR)
            return fail("Glue.InvalidInputException", "crawler %s: path '%s' is not a folder",
                        crawler, path);
        return fail("Glue.CrawlerRunningException", "crawler %s: %s", crawler, err.msg);
    }
    if (wr_store_open(db, &store, &err) != 0) {
        fail("Weir.StoreError", "%s", err.msg);
        goto done;
    }
    out = json_array();
    changes = json_array();
    summary = json_array();
    json_array_foreach(tables, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "Name"));
        json_t *old = NULL, *merged;
        const char *st = NULL;
        if (wr_catalog_table_get(store, database, name, &old, &err) != 0 &&
            err.code != WR_ENOTFOUND) {
            fail("Weir.StoreError", "%s", err.msg);
            goto done;
        }
        merged = wr_crawl_merge(old, t, changes, &st);
        json_decref(old);
        if (strcmp(st, "created") == 0)
            created++;
        else if (strcmp(st, "updated") == 0)
            updated++;
        else
            unchanged++;
        json_array_append_new(
            summary, json_pack("{s:s, s:s, s:s, s:O, s:O, s:I, s:I, s:O}", "Name", name, "Status",
                               st, "Location", json_string_value(json_object_get(t, "Location")),
                               "Classification", json_object_get(t, "Classification"), "Columns",
                               json_object_get(merged, "Columns"), "Partitions",
                               (json_int_t)json_array_size(json_object_get(t, "Partitions")),
                               "Files", (json_int_t)json_array_size(json_object_get(t, "Files")),
                               "PartitionKeys", json_object_get(t, "PartitionKeys")));
        json_array_append_new(out, merged);
    }
    wr_format_iso_ms(started, iso_start);
    wr_format_iso_ms(wr_now_ms(), iso_end);
    {
        json_t *res =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:O, s:O, s:O}", "Crawler",
                      crawler, "Database", database, "Path", path, "State", "READY", "StartedOn",
                      iso_start, "CompletedOn", iso_end, "TablesCreated", created, "TablesUpdated",
                      updated, "TablesUnchanged", unchanged, "tables", summary, "changes", changes,
                      "FilesSkipped", skipped);
        char *line;
        if (wr_catalog_crawl_apply(store, crawler, path, database, out, changes, res, &err) != 0) {
            json_decref(res);
            fail("Weir.StoreError", "%s", err.msg);
            goto done;
        }
        line = json_dumps(res, JSON_COMPACT);
        printf("%s\n", line ? line : "{}");
        fflush(stdout);
        free(line);
        json_decref(res);
    }
    status = 0;
done:
    wr_store_close(store);
    json_decref(tables);
    json_decref(skipped);
    json_decref(out);
    json_decref(changes);
    json_decref(summary);
    return status;
}
