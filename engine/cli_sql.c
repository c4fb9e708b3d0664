/* SPDX-License-Identifier: MIT
 * engine/cli_sql.c: `weir sql`: parses the command line, checks the inputs, runs
 * wr_xform_run() and reports the outcome as one JSON line on stdout (see engine/cli_sql.h).
 *
 * The last stdout line is what the engine reads back as the task result, so nothing else is
 * ever printed there; diagnostics go to stderr. Inputs are opened once before the query so
 * that a missing or unreadable file is reported as Weir.InputError, as is a malformed one
 * (WR_EPARSE from the readers); everything else is Weir.SqlError. */
#include "engine/cli_sql.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "engine/catalog.h"
#include "engine/common.h"
#include "engine/store.h"
#include "engine/xform.h"

#define MAX_SQL_FILE \
    ((size_t)16 * 1024 * 1024) /* a query file larger than this is surely a mistake */

/* errno as a negative UV code; never 0, so that a failure cannot pass for success. */
static int errno_code(void)
{
    return errno != 0 ? -errno : UV_EIO;
}

static const char usage_text[] =
    "usage: weir sql --input NAME=PATH [--input NAME=PATH ...]\n"
    "                (--sql TEXT | --sql-file FILE) --output PATH\n"
    "                [--db F] [--skip-files LIST] [--report-files]\n"
    "\n"
    "Runs one SQL query over CSV and JSON-lines files and writes the result.\n"
    "  --input NAME=PATH  make PATH readable as table NAME (.csv: CSV with a header row;\n"
    "                     .json, .jsonl, .ndjson: one JSON object per line; otherwise sniffed)\n"
    "                     PATH may also be a folder (every .csv/.json/.jsonl/.ndjson file of\n"
    "                     its tree, in path order, as one table; key=value folder names become\n"
    "                     columns), a glob (quoted: 'data/*/x.csv'), @LISTFILE (paths, one a\n"
    "                     line; @- reads stdin) or catalog:DATABASE.TABLE (the files the\n"
    "                     crawler recorded for that catalog table)\n"
    "  --db F             the weir database holding the catalog (default ./weir.db)\n"
    "  --skip-files LIST  files of folder/glob/list/catalog inputs to read for their columns\n"
    "                     only, not their rows (a job bookmark); one path a line, - = stdin\n"
    "  --report-files     add \"files\": the files whose rows were read from those inputs\n"
    "  --sql TEXT         the query (exactly one statement)\n"
    "  --sql-file FILE    read the query from FILE\n"
    "  --output PATH      .csv, or .jsonl/.ndjson/.json for JSON lines; written atomically,\n"
    "                     parent directories created\n"
    "Prints {\"rows\": N, \"output\": \"PATH\"} on success; on failure\n"
    "{\"errorType\": \"Weir.SqlError\" or \"Weir.InputError\", \"errorMessage\": ...}, exit 1.\n";

WR_PRINTF(1, 2) static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("weir sql: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    fputs(usage_text, stderr);
    return 2;
}

/* A JSON string for `s`; bytes that are not valid UTF-8 text become '?'. Caller decrefs. */
static json_t *json_text(const char *s)
{
    json_t *v = json_string(s);
    char *copy;

    if (v != NULL)
        return v;
    copy = wr_xstrdup(s);
    for (char *p = copy; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v;
}

static void print_json_line(json_t *obj)
{
    char *line = json_dumps(obj, 0); /* one line: {"k": v, "k2": v2} */

    if (line != NULL) {
        puts(line);
        free(line);
    }
    fflush(stdout);
    json_decref(obj);
}

static int fail(const char *type, const char *msg)
{
    json_t *obj = json_object();

    json_object_set_new(obj, "errorType", json_string(type));
    json_object_set_new(obj, "errorMessage", json_text(msg));
    print_json_line(obj);
    fprintf(stderr, "weir sql: %s\n", msg);
    return 1;
}

static bool valid_table_name(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static int read_sql_file(const char *path, char **out, wr_err_t *err)
{
    FILE *fp = fopen(path, "rb");
    wr_buf_t b;
    char chunk[8192];
    size_t n;
    int rc = 0;

    wr_buf_init(&b);
    if (fp == NULL) {
        rc = errno_code();
        return wr_err_set(err, rc, "--sql-file %s: %s", path, uv_strerror(rc));
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (b.len + n > MAX_SQL_FILE) {
            rc = wr_err_set(err, WR_EINVALID, "--sql-file %s: larger than %zu MiB", path,
                            MAX_SQL_FILE >> 20);
            goto done;
        }
        wr_buf_append(&b, chunk, n);
    }
    if (ferror(fp)) {
        rc = errno_code();
        wr_err_set(err, rc, "--sql-file %s: %s", path, uv_strerror(rc));
        goto done;
    }
    wr_buf_append(&b, "", 0); /* NUL-terminated even when the file is empty */
    *out = wr_buf_steal(&b);
done:
    wr_buf_dispose(&b);
    fclose(fp);
    return rc;
}

/* Opens each input once, so a missing or unreadable file is told apart from a query error. */
static int check_input(const wr_xform_input_t *in, wr_err_t *err)
{
    FILE *fp = fopen(in->path, "rb");
    struct stat st;
    int rc = 0;

    if (fp == NULL) {
        rc = errno_code();
        return wr_err_set(err, rc, "input '%s': %s: %s", in->name, in->path, uv_strerror(rc));
    }
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode))
        rc = UV_EISDIR;
    else if (getc(fp) == EOF && ferror(fp)) /* readable, or empty */
        rc = errno_code();
    if (rc < 0)
        wr_err_set(err, rc, "input '%s': %s: %s", in->name, in->path, uv_strerror(rc));
    fclose(fp);
    return rc;
}

/* The value of option argv[*i]: after '=' in --opt=VALUE, else the next argument. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);

    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static bool is_opt(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* The files of an input that names several (folder, glob, @LIST, catalog:). */
typedef struct {
    char **files; /* owned */
    size_t n, cap;
    bool *skip; /* owned: per file, schema only */
    char *base; /* owned; may be NULL */
} multi_t;

typedef struct {
    wr_xform_input_t *inputs; /* names point into `names`, paths into argv */
    char **names;             /* owned */
    multi_t *multi;           /* per input; empty for a single file */
    size_t n_inputs;
    const char *sql, *sql_file, *output; /* borrowed from argv */
    const char *db, *skip_files;         /* borrowed from argv */
    bool report_files;
    bool help;
} args_t;

/* Adds --input NAME=PATH. Returns 0 or an exit status (2). */
static int add_input(args_t *a, const char *v)
{
    const char *eq = v != NULL ? strchr(v, '=') : NULL;

    if (v == NULL)
        return usage_error("%s needs NAME=PATH", "--input");
    if (eq == NULL || eq[1] == '\0' || !valid_table_name(v, (size_t)(eq - v)))
        return usage_error("--input '%s': expected NAME=PATH, NAME a SQL identifier "
                           "(letters, digits, _)",
                           v);
    for (size_t j = 0; j < a->n_inputs; j++)
        if (strncasecmp(a->names[j], v, (size_t)(eq - v)) == 0 && a->names[j][eq - v] == '\0')
            return usage_error("--input: table name '%s' is given twice", a->names[j]);
    a->names[a->n_inputs] = wr_xstrndup(v, (size_t)(eq - v));
    a->inputs[a->n_inputs].name = a->names[a->n_inputs];
    a->inputs[a->n_inputs].path = eq + 1;
    a->n_inputs++;
    return 0;
}

/* ==== Inputs of several files ==== */

static void multi_add(multi_t *m, const char *path)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->files = wr_xrealloc(m->files, m->cap * sizeof(char *));
    }
    m->files[m->n++] = wr_xstrdup(path);
}

static void multi_dispose(multi_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->files[i]);
    free(m->files);
    free(m->skip);
    free(m->base);
}

static bool data_file(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL && (strcasecmp(dot, ".csv") == 0 || strcasecmp(dot, ".json") == 0 ||
                           strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Adds the data files of the tree at `dir`, in name order, skipping names that start with
 * '.' or '_' (_SUCCESS, _temporary, hidden files), as a Glue job reading S3 does. */
/* NOLINTNEXTLINE(misc-no-recursion): folder depth is capped */
static int walk(multi_t *m, const char *dir, int depth, wr_err_t *err)
{
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (depth > 32)
        return wr_err_set(err, WR_EINVALID, "%s: folders nested too deep", dir);
    if ((d = opendir(dir)) == NULL) {
        rc = errno_code();
        return wr_err_set(err, rc, "%s: %s", dir, uv_strerror(rc));
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
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path = wr_xasprintf("%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            rc = walk(m, path, depth + 1, err);
        else if (data_file(names[i]))
            multi_add(m, path);
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Lines of `path` ("-": stdin), without line ends, blank lines dropped, as a JSON array. */
static int read_lines(const char *path, json_t **out, wr_err_t *err)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    json_t *a;
    int rc = 0;

    if (fp == NULL) {
        rc = errno_code();
        return wr_err_set(err, rc, "%s: %s", path, uv_strerror(rc));
    }
    a = json_array();
    while ((len = getline(&line, &cap, fp)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len > 0)
            json_array_append_new(a, json_text(line));
    }
    if (ferror(fp)) {
        rc = errno_code();
        wr_err_set(err, rc, "%s: %s", path, uv_strerror(rc));
    }
    free(line);
    if (fp != stdin)
        fclose(fp);
    if (rc < 0) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* catalog:DATABASE.TABLE -> the files the crawler recorded, below the table's location. */
static int resolve_catalog(const args_t *a, const char *ref, wr_store_t **store, multi_t *m,
                           wr_err_t *err)
{
    const char *db = a->db != NULL ? a->db : "weir.db";
    const char *dot = strchr(ref, '.');
    json_t *t = NULL, *f;
    char *database;
    size_t i;
    int rc;

    if (dot == NULL || dot == ref || dot[1] == '\0')
        return wr_err_set(err, WR_EINVALID, "catalog:%s: expected catalog:DATABASE.TABLE", ref);
    if (*store == NULL) {
        if (access(db, F_OK) != 0)
            return wr_err_set(err, UV_ENOENT, "catalog:%s: no weir database %s (--db)", ref, db);
        if ((rc = wr_store_open(db, store, err)) != 0)
            return rc;
    }
    database = wr_xstrndup(ref, (size_t)(dot - ref));
    rc = wr_catalog_table_get(*store, database, dot + 1, &t, err);
    free(database);
    if (rc != 0)
        return rc == WR_ENOTFOUND ? UV_ENOENT : rc;
    json_array_foreach(json_object_get(t, "Files"), i, f)
    {
        multi_add(m, json_string_value(json_object_get(f, "Path")));
    }
    m->base = wr_xstrdup(json_string_value(json_object_get(t, "Location")));
    json_decref(t);
    return 0;
}

/* Fills a->multi[i] when input i names several files. */
static int resolve_input(args_t *a, size_t i, wr_store_t **store, wr_err_t *err)
{
    const char *v = a->inputs[i].path;
    multi_t *m = &a->multi[i];
    struct stat st;
    int rc = 0;

    if (strncmp(v, "catalog:", 8) == 0) {
        rc = resolve_catalog(a, v + 8, store, m, err);
    } else if (v[0] == '@') {
        json_t *lines = NULL, *l;
        size_t k;
        if ((rc = read_lines(v + 1, &lines, err)) == 0) {
            json_array_foreach(lines, k, l)
            {
                multi_add(m, json_string_value(l));
            }
            json_decref(lines);
        }
    } else if (stat(v, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t n = strlen(v);
        while (n > 1 && v[n - 1] == '/')
            n--;
        m->base = wr_xstrndup(v, n);
        rc = walk(m, m->base, 0, err);
    } else if (strpbrk(v, "*?[") != NULL) {
        glob_t g;
        const char *magic = strpbrk(v, "*?[");
        memset(&g, 0, sizeof(g));
        if (glob(v, 0, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc && rc == 0; k++) {
                if (stat(g.gl_pathv[k], &st) == 0 && S_ISDIR(st.st_mode))
                    rc = walk(m, g.gl_pathv[k], 0, err);
                else if (data_file(g.gl_pathv[k]))
                    multi_add(m, g.gl_pathv[k]);
            }
        }
        globfree(&g);
        /* key=value folders count below the last folder before the first wildcard. */
        while (magic > v && magic[-1] != '/')
            magic--;
        if (magic > v)
            m->base = wr_xstrndup(v, (size_t)(magic - v - 1));
    } else {
        return 0; /* one file, read as before */
    }
    if (rc != 0) {
        char msg[WR_ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return wr_err_set(err, rc, "input '%s': %s", a->inputs[i].name, msg);
    }
    if (m->n == 0)
        return wr_err_set(err, UV_ENOENT,
                          "input '%s': no .csv, .json, .jsonl or .ndjson file in %s",
                          a->inputs[i].name, v);
    m->skip = wr_xcalloc(m->n, sizeof(bool));
    a->inputs[i].files = (const char *const *)m->files;
    a->inputs[i].n_files = m->n;
    a->inputs[i].schema_only = m->skip;
    a->inputs[i].base = m->base;
    return 0;
}

/* Resolves every input; marks the files listed by --skip-files. */
static int resolve_inputs(args_t *a, wr_err_t *err)
{
    wr_store_t *store = NULL;
    json_t *skip = NULL, *set = json_object(), *f;
    size_t k;
    int rc = 0;

    for (size_t i = 0; i < a->n_inputs && rc == 0; i++)
        rc = resolve_input(a, i, &store, err);
    wr_store_close(store);
    if (rc == 0 && a->skip_files != NULL && (rc = read_lines(a->skip_files, &skip, err)) != 0) {
        char msg[WR_ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        wr_err_set(err, rc, "--skip-files %s", msg);
    }
    json_array_foreach(skip, k, f)
    {
        json_object_set(set, json_string_value(f), json_true());
    }
    for (size_t i = 0; i < a->n_inputs && rc == 0; i++)
        for (size_t j = 0; j < a->multi[i].n; j++)
            a->multi[i].skip[j] = json_object_get(set, a->multi[i].files[j]) != NULL;
    json_decref(skip);
    json_decref(set);
    return rc;
}

/* Fills *a from the command line. Returns 0 or an exit status (2, usage printed). */
static int parse_args(int argc, char **argv, args_t *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int status = 0;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = true;
            return 0;
        } else if (is_opt(arg, "--input")) {
            status = add_input(a, opt_value(argc, argv, &i, "--input"));
        } else if (is_opt(arg, "--sql-file")) {
            if ((a->sql_file = opt_value(argc, argv, &i, "--sql-file")) == NULL)
                status = usage_error("%s needs a file", "--sql-file");
        } else if (is_opt(arg, "--sql")) {
            if ((a->sql = opt_value(argc, argv, &i, "--sql")) == NULL)
                status = usage_error("%s needs the query text", "--sql");
        } else if (is_opt(arg, "--db")) {
            if ((a->db = opt_value(argc, argv, &i, "--db")) == NULL)
                status = usage_error("%s needs a file", "--db");
        } else if (is_opt(arg, "--skip-files")) {
            if ((a->skip_files = opt_value(argc, argv, &i, "--skip-files")) == NULL)
                status = usage_error("%s needs a file (or -)", "--skip-files");
        } else if (strcmp(arg, "--report-files") == 0) {
            a->report_files = true;
        } else if (is_opt(arg, "--output")) {
            a->output = opt_value(argc, argv, &i, "--output");
            if (a->output == NULL || a->output[0] == '\0')
                status = usage_error("%s needs a path", "--output");
        } else {
            status = usage_error("unknown argument '%s'", arg);
        }
        if (status != 0)
            return status;
    }
    if ((a->sql == NULL) == (a->sql_file == NULL))
        return usage_error("%s", "give exactly one of --sql and --sql-file");
    if (a->output == NULL)
        return usage_error("%s", "--output is required");
    return 0;
}

int wr_cli_sql(int argc, char **argv)
{
    args_t a = {0};
    char *sql_text = NULL;
    wr_err_t err = {0};
    int64_t rows = 0;
    json_t *obj;
    int status, rc;

    a.inputs = wr_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(*a.inputs));
    a.names = wr_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(*a.names));
    a.multi = wr_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(*a.multi));
    status = parse_args(argc, argv, &a);
    if (status != 0)
        goto done;
    if (a.help) {
        fputs(usage_text, stdout);
        goto done;
    }
    if (resolve_inputs(&a, &err) < 0) {
        status = fail("Weir.InputError", err.msg);
        goto done;
    }
    for (size_t i = 0; i < a.n_inputs; i++) {
        if (a.inputs[i].files == NULL && check_input(&a.inputs[i], &err) < 0) {
            status = fail("Weir.InputError", err.msg);
            goto done;
        }
    }
    if (a.sql_file != NULL) {
        if (read_sql_file(a.sql_file, &sql_text, &err) < 0) {
            status = fail("Weir.SqlError", err.msg);
            goto done;
        }
        a.sql = sql_text;
    }
    rc = wr_xform_run(a.inputs, a.n_inputs, a.sql, a.output, &rows, &err);
    if (rc < 0) {
        status = fail(rc == WR_EPARSE ? "Weir.InputError" : "Weir.SqlError", err.msg);
        goto done;
    }
    obj = json_object();
    json_object_set_new(obj, "rows", json_integer(rows));
    json_object_set_new(obj, "output", json_text(a.output));
    if (a.report_files) {
        json_t *files = json_array();
        for (size_t i = 0; i < a.n_inputs; i++)
            for (size_t j = 0; j < a.multi[i].n; j++)
                if (!a.multi[i].skip[j])
                    json_array_append_new(files, json_text(a.multi[i].files[j]));
        json_object_set_new(obj, "files", files);
    }
    print_json_line(obj);
done:
    for (size_t i = 0; i < a.n_inputs; i++) {
        free(a.names[i]);
        multi_dispose(&a.multi[i]);
    }
    free(a.multi);
    free(a.names);
    free(a.inputs);
    free(sql_text);
    return status;
}
