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
#include <sys/stat.h>

#include <jansson.h>
#include <uv.h>

#include "engine/common.h"
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
    "\n"
    "Runs one SQL query over CSV and JSON-lines files and writes the result.\n"
    "  --input NAME=PATH  make PATH readable as table NAME (.csv: CSV with a header row;\n"
    "                     .json, .jsonl, .ndjson: one JSON object per line; otherwise sniffed)\n"
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

typedef struct {
    wr_xform_input_t *inputs; /* names point into `names`, paths into argv */
    char **names;             /* owned */
    size_t n_inputs;
    const char *sql, *sql_file, *output; /* borrowed from argv */
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
    status = parse_args(argc, argv, &a);
    if (status != 0)
        goto done;
    if (a.help) {
        fputs(usage_text, stdout);
        goto done;
    }
    for (size_t i = 0; i < a.n_inputs; i++) {
        if (check_input(&a.inputs[i], &err) < 0) {
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
    print_json_line(obj);
done:
    for (size_t i = 0; i < a.n_inputs; i++)
        free(a.names[i]);
    free(a.names);
    free(a.inputs);
    free(sql_text);
    return status;
}
