/* SPDX-License-Identifier: MIT
 * engine/pg_load.c: the PostgreSQL warehouse backend (see engine/warehouse.h), through libpq.
 *
 * Rows go in with COPY ... FROM STDIN (FORMAT csv) inside the load's one transaction: every
 * value is written quoted, NULL as an unquoted empty field, so text survives exactly. When
 * the server rejects a row, its error's CONTEXT ("COPY sales, line 17") gives the row, which
 * the loader maps back to its file and line. A connection that drops rolls the transaction
 * back on the server, so a killed load leaves nothing behind. The DSN may hold a password,
 * so it is never printed; libpq's own messages do not repeat it. */
#include "engine/warehouse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define CONNECT_TIMEOUT "10" /* seconds; a DSN's own connect_timeout wins */

typedef struct {
    wr_wh_t base;
    PGconn *conn;
    wr_buf_t line; /* one CSV row being built */
    size_t n_cols; /* of the COPY in progress */
} pg_wh_t;

/* libpq's message without its trailing newline, into err. */
static int pg_err(pg_wh_t *w, const PGresult *res, wr_err_t *err, const char *what)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(w->conn);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return wr_err_set(err, PQstatus(w->conn) == CONNECTION_OK ? WR_EINVALID : WR_ENOTFOUND,
                      "postgresql: %s: %.*s", what, (int)n, msg);
}

static int run(pg_wh_t *w, const char *sql, wr_err_t *err)
{
    PGresult *res = PQexec(w->conn, sql);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_err(w, res, err, sql);
    PQclear(res);
    return rc;
}

static void quote_ident(wr_buf_t *b, const char *name)
{
    /* "schema.table" is two identifiers; column names never contain a dot we split. */
    wr_buf_puts(b, "\"");
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            wr_buf_puts(b, "\"\"");
        else
            wr_buf_append(b, p, 1);
    }
    wr_buf_puts(b, "\"");
}

static void quote_table(wr_buf_t *b, const char *table)
{
    const char *dot = strchr(table, '.');
    if (dot != NULL) {
        char *schema = wr_xstrndup(table, (size_t)(dot - table));
        quote_ident(b, schema);
        free(schema);
        wr_buf_puts(b, ".");
        quote_ident(b, dot + 1);
    } else {
        quote_ident(b, table);
    }
}

static int wh_begin(wr_wh_t *wh, wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    int rc = run(w, "BEGIN", err);
    if (rc == 0)
        rc = run(w,
                 "CREATE TABLE IF NOT EXISTS weir_loads (token TEXT PRIMARY KEY, tbl TEXT, "
                 "rows BIGINT NOT NULL, files TEXT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL "
                 "DEFAULT now())",
                 err);
    return rc;
}

static int wh_end(wr_wh_t *wh, bool commit, wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    if (commit)
        return run(w, "COMMIT", err);
    if (PQstatus(w->conn) == CONNECTION_OK) {
        PGresult *res = PQexec(w->conn, "ROLLBACK");
        PQclear(res);
    }
    return 0;
}

static int wh_token_lookup(wr_wh_t *wh, const char *token, json_t **prev, wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    const char *params[1] = {token};
    PGresult *res = PQexecParams(w->conn,
                                 "SELECT rows, tbl, files, loaded_at::text FROM weir_loads "
                                 "WHERE token = $1",
                                 1, NULL, params, NULL, NULL, 0);
    int rc = 0;

    *prev = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_err(w, res, err, "weir_loads");
    } else if (PQntuples(res) > 0) {
        json_error_t je;
        json_t *files = json_loads(PQgetvalue(res, 0, 2), 0, &je);
        *prev = json_pack("{s:I, s:s?, s:o, s:s}", "rows",
                          (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10), "table",
                          PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1), "files",
                          files ? files : json_array(), "loaded_at", PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return rc;
}

static wr_wh_type_t type_of(const char *t)
{
    if (strstr(t, "int") != NULL)
        return WR_WH_BIGINT;
    if (strncmp(t, "double", 6) == 0 || strcmp(t, "real") == 0 || strncmp(t, "numeric", 7) == 0)
        return WR_WH_DOUBLE;
    if (strcmp(t, "boolean") == 0)
        return WR_WH_BOOLEAN;
    if (strcmp(t, "date") == 0)
        return WR_WH_DATE;
    if (strncmp(t, "timestamp", 9) == 0)
        return WR_WH_TIMESTAMP;
    return WR_WH_TEXT;
}

static int wh_columns(wr_wh_t *wh, const char *table, wr_wh_column_t **cols, size_t *n,
                      wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    wr_buf_t q;
    const char *params[1];
    PGresult *res;
    int rc = 0;

    *cols = NULL;
    *n = 0;
    wr_buf_init(&q);
    quote_table(&q, table);
    params[0] = wr_buf_cstr(&q);
    res = PQexecParams(w->conn,
                       "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
                       "FROM pg_attribute a WHERE a.attrelid = to_regclass($1) "
                       "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_err(w, res, err, "reading the table's columns");
    } else if (PQntuples(res) > 0) {
        size_t count = (size_t)PQntuples(res);
        wr_wh_column_t *out = wr_xcalloc(count, sizeof(*out));
        for (size_t i = 0; i < count; i++) {
            out[i].name = wr_xstrdup(PQgetvalue(res, (int)i, 0));
            out[i].type = type_of(PQgetvalue(res, (int)i, 1));
        }
        *cols = out;
        *n = count;
    }
    PQclear(res);
    wr_buf_dispose(&q);
    return rc;
}

static int wh_create_table(wr_wh_t *wh, const char *table, const wr_wh_column_t *cols, size_t n,
                           wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    wr_buf_t b;
    int rc;

    wr_buf_init(&b);
    wr_buf_puts(&b, "CREATE TABLE ");
    quote_table(&b, table);
    wr_buf_puts(&b, " (");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            wr_buf_puts(&b, ", ");
        quote_ident(&b, cols[i].name);
        wr_buf_printf(&b, " %s", wr_wh_type_name(cols[i].type));
    }
    wr_buf_puts(&b, ")");
    rc = run(w, wr_buf_cstr(&b), err);
    wr_buf_dispose(&b);
    return rc;
}

static int wh_truncate(wr_wh_t *wh, const char *table, wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    wr_buf_t b;
    int rc;

    /* TRUNCATE is transactional in PostgreSQL (in Redshift it commits at once). */
    wr_buf_init(&b);
    wr_buf_puts(&b, "TRUNCATE ");
    quote_table(&b, table);
    rc = run(w, wr_buf_cstr(&b), err);
    wr_buf_dispose(&b);
    return rc;
}

static int wh_insert_start(wr_wh_t *wh, const char *table, const wr_wh_column_t *cols, size_t n,
                           wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    PGresult *res;
    wr_buf_t b;
    int rc = 0;

    wr_buf_init(&b);
    wr_buf_puts(&b, "COPY ");
    quote_table(&b, table);
    wr_buf_puts(&b, " (");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            wr_buf_puts(&b, ", ");
        quote_ident(&b, cols[i].name);
    }
    wr_buf_puts(&b, ") FROM STDIN WITH (FORMAT csv)");
    res = PQexec(w->conn, wr_buf_cstr(&b));
    if (PQresultStatus(res) != PGRES_COPY_IN)
        rc = pg_err(w, res, err, "COPY");
    PQclear(res);
    wr_buf_dispose(&b);
    w->n_cols = n;
    return rc;
}

static int wh_insert_row(wr_wh_t *wh, const char *const *values, wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;

    w->line.len = 0;
    for (size_t i = 0; i < w->n_cols; i++) {
        if (i > 0)
            wr_buf_puts(&w->line, ",");
        if (values[i] == NULL)
            continue; /* unquoted empty: NULL */
        wr_buf_puts(&w->line, "\"");
        for (const char *p = values[i]; *p; p++) {
            if (*p == '"')
                wr_buf_puts(&w->line, "\"\"");
            else
                wr_buf_append(&w->line, p, 1);
        }
        wr_buf_puts(&w->line, "\"");
    }
    wr_buf_puts(&w->line, "\n");
    if (PQputCopyData(w->conn, w->line.data, (int)w->line.len) != 1)
        return pg_err(w, NULL, err, "COPY data");
    return 0;
}

static int wh_insert_finish(wr_wh_t *wh, int64_t *bad_row, wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    PGresult *res;
    int rc = 0;

    *bad_row = 0;
    if (PQputCopyEnd(w->conn, NULL) != 1)
        return pg_err(w, NULL, err, "COPY end");
    while ((res = PQgetResult(w->conn)) != NULL) {
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) {
            const char *ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
            const char *at = ctx ? strstr(ctx, ", line ") : NULL;
            if (at != NULL)
                *bad_row = strtoll(at + 7, NULL, 10);
            rc = pg_err(w, res, err, "COPY");
        }
        PQclear(res);
    }
    return rc;
}

static int wh_record(wr_wh_t *wh, const char *token, const char *table, int64_t rows,
                     const json_t *files, wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    char nrows[32];
    char *f;
    const char *params[4];
    PGresult *res;
    int rc = 0;

    if (token == NULL)
        return 0;
    f = json_dumps(files, JSON_COMPACT);
    snprintf(nrows, sizeof(nrows), "%lld", (long long)rows);
    params[0] = token;
    params[1] = table;
    params[2] = nrows;
    params[3] = f ? f : "[]";
    res = PQexecParams(w->conn,
                       "INSERT INTO weir_loads (token, tbl, rows, files) VALUES ($1, $2, $3, $4)",
                       4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_err(w, res, err, "recording the load in weir_loads");
    PQclear(res);
    free(f);
    return rc;
}

static json_t *value_of(const PGresult *res, int row, int col)
{
    const char *v = PQgetvalue(res, row, col);
    json_t *j;

    if (PQgetisnull(res, row, col))
        return json_null();
    switch (PQftype(res, col)) {
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
        return json_integer(strtoll(v, NULL, 10));
    case 700:  /* float4 */
    case 701:  /* float8 */
    case 1700: /* numeric */
        return json_real(strtod(v, NULL));
    case 16: /* bool */
        return json_boolean(v[0] == 't');
    default:
        j = json_string(v);
        return j ? j : json_string("(not UTF-8)");
    }
}

static int wh_exec(wr_wh_t *wh, const char *sql, size_t max_records, json_t **records,
                   int64_t *rows, wr_err_t *err)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    /* PQexec runs every statement of `sql` and returns the last one's result. */
    PGresult *res = PQexec(w->conn, sql);
    json_t *out;

    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        const char *n = PQcmdTuples(res);
        *rows = *n ? strtoll(n, NULL, 10) : 0;
        *records = json_array();
        PQclear(res);
        return 0;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int rc = pg_err(w, res, err, "SQL");
        PQclear(res);
        return rc;
    }
    out = json_array();
    for (int r = 0; r < PQntuples(res) && (size_t)r < max_records; r++) {
        json_t *o = json_object();
        for (int c = 0; c < PQnfields(res); c++)
            json_object_set_new(o, PQfname(res, c), value_of(res, r, c));
        json_array_append_new(out, o);
    }
    *rows = PQntuples(res);
    *records = out;
    PQclear(res);
    return 0;
}

static void wh_close(wr_wh_t *wh)
{
    pg_wh_t *w = (pg_wh_t *)wh;
    if (w == NULL)
        return;
    PQfinish(w->conn);
    wr_buf_dispose(&w->line);
    free(w);
}

static const wr_wh_ops_t pg_ops = {
    .kind = "postgresql",
    .begin = wh_begin,
    .end = wh_end,
    .token_lookup = wh_token_lookup,
    .columns = wh_columns,
    .create_table = wh_create_table,
    .truncate = wh_truncate,
    .insert_start = wh_insert_start,
    .insert_row = wh_insert_row,
    .insert_finish = wh_insert_finish,
    .record = wh_record,
    .exec = wh_exec,
    .close = wh_close,
};

int wr_wh_open_pg(const char *dsn, wr_wh_t **out, wr_err_t *err)
{
    /* Later keywords override earlier ones, and the expanded DSN comes last, so our
     * connect_timeout and application_name are only defaults. */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {CONNECT_TIMEOUT, "weir", dsn, NULL};
    pg_wh_t *w = wr_xcalloc(1, sizeof(*w));
    int rc;

    w->base.ops = &pg_ops;
    wr_buf_init(&w->line);
    w->conn = PQconnectdbParams(keys, vals, 1);
    if (w->conn == NULL || PQstatus(w->conn) != CONNECTION_OK) {
        const char *msg = w->conn ? PQerrorMessage(w->conn) : "out of memory";
        size_t n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            n--;
        rc = wr_err_set(err, WR_ENOTFOUND, "postgresql: cannot connect: %.*s", (int)n, msg);
        wh_close(&w->base);
        return rc;
    }
    PQsetClientEncoding(w->conn, "UTF8");
    {
        PGresult *res = PQexec(w->conn, "SET client_min_messages = warning");
        PQclear(res);
    }
    *out = &w->base;
    return 0;
}
