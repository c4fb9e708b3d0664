/* SPDX-License-Identifier: MIT
 * engine/store_warehouse.c: the embedded SQLite warehouse (see engine/warehouse.h).
 *
 * The warehouse is its own SQLite file (default ./warehouse.db), not the weir database: it
 * holds user data, may grow large, and is opened by the `weir load` child process only, so
 * the statement slots WR_STORE_SLOTS_WAREHOUSE of the weir store stay unused (as xform's).
 * A load is one BEGIN IMMEDIATE transaction; WAL mode lets readers (sqlite3, a dashboard)
 * query the tables while a load runs, and they see it all or nothing. Types map to SQLite
 * declared types that keep their meaning when read back: BIGINT -> INTEGER, DOUBLE -> REAL,
 * BOOLEAN -> BOOLEAN (stored 1/0), DATE -> DATE and TIMESTAMP -> TIMESTAMP (ISO text),
 * TEXT -> TEXT. */
#include "engine/warehouse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

typedef struct {
    wr_wh_t base;
    sqlite3 *db;
    char *path;
    sqlite3_stmt *insert; /* the current load's INSERT */
    wr_wh_type_t *types;  /* its column types */
    size_t n_types;
    int64_t rows; /* rows inserted by it */
} sqlite_wh_t;

static const char weir_loads_ddl[] =
    "CREATE TABLE IF NOT EXISTS weir_loads (token TEXT PRIMARY KEY, tbl TEXT, rows INTEGER "
    "NOT NULL, files TEXT NOT NULL, loaded_at TEXT NOT NULL)";

const char *wr_wh_type_name(wr_wh_type_t t)
{
    switch (t) {
    case WR_WH_BIGINT:
        return "BIGINT";
    case WR_WH_DOUBLE:
        return "DOUBLE PRECISION";
    case WR_WH_BOOLEAN:
        return "BOOLEAN";
    case WR_WH_DATE:
        return "DATE";
    case WR_WH_TIMESTAMP:
        return "TIMESTAMP";
    default:
        return "TEXT";
    }
}

void wr_wh_columns_free(wr_wh_column_t *cols, size_t n)
{
    for (size_t i = 0; cols != NULL && i < n; i++)
        free(cols[i].name);
    free(cols);
}

static const char *sqlite_decl(wr_wh_type_t t)
{
    switch (t) {
    case WR_WH_BIGINT:
        return "INTEGER";
    case WR_WH_DOUBLE:
        return "REAL";
    default:
        return wr_wh_type_name(t);
    }
}

/* The type a declared SQLite column type stands for (tables made by others included). */
static wr_wh_type_t type_of_decl(const char *declared)
{
    char decl[64];
    size_t i;

    if (declared == NULL)
        return WR_WH_TEXT;
    for (i = 0; declared[i] != '\0' && i < sizeof(decl) - 1; i++)
        decl[i] = (char)toupper((unsigned char)declared[i]);
    decl[i] = '\0';
    if (strstr(decl, "INT") != NULL)
        return WR_WH_BIGINT;
    if (strstr(decl, "BOOL") != NULL)
        return WR_WH_BOOLEAN;
    if (strstr(decl, "TIMESTAMP") != NULL || strstr(decl, "DATETIME") != NULL)
        return WR_WH_TIMESTAMP;
    if (strstr(decl, "DATE") != NULL)
        return WR_WH_DATE;
    if (strstr(decl, "REAL") != NULL || strstr(decl, "FLOA") != NULL ||
        strstr(decl, "DOUB") != NULL || strstr(decl, "NUMERIC") != NULL ||
        strstr(decl, "DECIMAL") != NULL)
        return WR_WH_DOUBLE;
    return WR_WH_TEXT;
}

/* Appends "name" with quotes doubled. */
static void quote_ident(wr_buf_t *b, const char *name)
{
    wr_buf_puts(b, "\"");
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            wr_buf_puts(b, "\"\"");
        else
            wr_buf_append(b, p, 1);
    }
    wr_buf_puts(b, "\"");
}

static int db_err(sqlite_wh_t *w, wr_err_t *err, const char *what)
{
    return wr_err_set(err, WR_EINVALID, "%s: %s: %s", w->path, what, sqlite3_errmsg(w->db));
}

static int exec(sqlite_wh_t *w, const char *sql, wr_err_t *err)
{
    char *msg = NULL;
    if (sqlite3_exec(w->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = wr_err_set(err, WR_EINVALID, "%s: %s", w->path, msg ? msg : "error");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

static int wh_begin(wr_wh_t *wh, wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    int rc = exec(w, "BEGIN IMMEDIATE", err);
    if (rc == 0 && (rc = exec(w, weir_loads_ddl, err)) != 0)
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int wh_end(wr_wh_t *wh, bool commit, wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    sqlite3_finalize(w->insert);
    w->insert = NULL;
    if (commit)
        return exec(w, "COMMIT", err);
    if (!sqlite3_get_autocommit(w->db))
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    return 0;
}

static int wh_token_lookup(wr_wh_t *wh, const char *token, json_t **prev, wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    sqlite3_stmt *st = NULL;
    int rc;

    *prev = NULL;
    if (sqlite3_prepare_v2(w->db,
                           "SELECT rows, tbl, files, loaded_at FROM weir_loads WHERE token = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(w, err, "weir_loads");
    sqlite3_bind_text(st, 1, token, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        json_error_t je;
        const char *tbl = (const char *)sqlite3_column_text(st, 1);
        json_t *files = json_loads((const char *)sqlite3_column_text(st, 2), 0, &je);
        *prev = json_pack("{s:I, s:s?, s:o, s:s}", "rows", (json_int_t)sqlite3_column_int64(st, 0),
                          "table", tbl, "files", files ? files : json_array(), "loaded_at",
                          (const char *)sqlite3_column_text(st, 3));
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = db_err(w, err, "weir_loads");
    }
    sqlite3_finalize(st);
    return rc;
}

static int wh_columns(wr_wh_t *wh, const char *table, wr_wh_column_t **cols, size_t *n,
                      wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    sqlite3_stmt *st = NULL;
    wr_wh_column_t *out = NULL;
    size_t count = 0;
    int rc;

    *cols = NULL;
    *n = 0;
    /* pragma_table_info() is the table-valued form of PRAGMA table_info, so it binds. */
    if (sqlite3_prepare_v2(w->db, "SELECT name, type FROM main.pragma_table_info(?1) ORDER BY cid",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(w, err, "reading the table's columns");
    sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        out = wr_xrealloc(out, (count + 1) * sizeof(*out));
        out[count].name = wr_xstrdup((const char *)sqlite3_column_text(st, 0));
        out[count].type = type_of_decl((const char *)sqlite3_column_text(st, 1));
        count++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        wr_wh_columns_free(out, count);
        return db_err(w, err, "reading the table's columns");
    }
    *cols = out;
    *n = count;
    return 0;
}

static int wh_create_table(wr_wh_t *wh, const char *table, const wr_wh_column_t *cols, size_t n,
                           wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    wr_buf_t b;
    int rc;

    wr_buf_init(&b);
    wr_buf_puts(&b, "CREATE TABLE ");
    quote_ident(&b, table);
    wr_buf_puts(&b, " (");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            wr_buf_puts(&b, ", ");
        quote_ident(&b, cols[i].name);
        wr_buf_printf(&b, " %s", sqlite_decl(cols[i].type));
    }
    wr_buf_puts(&b, ")");
    rc = exec(w, wr_buf_cstr(&b), err);
    wr_buf_dispose(&b);
    return rc;
}

static int wh_truncate(wr_wh_t *wh, const char *table, wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    wr_buf_t b;
    int rc;

    wr_buf_init(&b);
    wr_buf_puts(&b, "DELETE FROM ");
    quote_ident(&b, table);
    rc = exec(w, wr_buf_cstr(&b), err);
    wr_buf_dispose(&b);
    return rc;
}

static int wh_insert_start(wr_wh_t *wh, const char *table, const wr_wh_column_t *cols, size_t n,
                           wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    wr_buf_t b;
    int rc = 0;

    wr_buf_init(&b);
    wr_buf_puts(&b, "INSERT INTO ");
    quote_ident(&b, table);
    wr_buf_puts(&b, " (");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            wr_buf_puts(&b, ", ");
        quote_ident(&b, cols[i].name);
    }
    wr_buf_puts(&b, ") VALUES (");
    for (size_t i = 0; i < n; i++)
        wr_buf_printf(&b, "%s?%zu", i > 0 ? ", " : "", i + 1);
    wr_buf_puts(&b, ")");
    sqlite3_finalize(w->insert);
    w->insert = NULL;
    if (sqlite3_prepare_v2(w->db, wr_buf_cstr(&b), -1, &w->insert, NULL) != SQLITE_OK)
        rc = db_err(w, err, "preparing the insert");
    wr_buf_dispose(&b);
    free(w->types);
    w->types = wr_xcalloc(n + 1, sizeof(*w->types));
    for (size_t i = 0; i < n; i++)
        w->types[i] = cols[i].type;
    w->n_types = n;
    w->rows = 0;
    return rc;
}

static int wh_insert_row(wr_wh_t *wh, const char *const *values, wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    sqlite3_stmt *st = w->insert;

    sqlite3_reset(st);
    for (size_t i = 0; i < w->n_types; i++) {
        const char *v = values[i];
        int col = (int)i + 1;
        if (v == NULL)
            sqlite3_bind_null(st, col);
        else if (w->types[i] == WR_WH_BIGINT)
            sqlite3_bind_int64(st, col, strtoll(v, NULL, 10));
        else if (w->types[i] == WR_WH_DOUBLE)
            sqlite3_bind_double(st, col, strtod(v, NULL));
        else if (w->types[i] == WR_WH_BOOLEAN)
            sqlite3_bind_int(st, col, strcmp(v, "true") == 0 ? 1 : 0);
        else
            sqlite3_bind_text(st, col, v, -1, SQLITE_TRANSIENT);
    }
    if (sqlite3_step(st) != SQLITE_DONE)
        return db_err(w, err, "insert");
    w->rows++;
    return 0;
}

static int wh_insert_finish(wr_wh_t *wh, int64_t *bad_row, wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    (void)err;
    *bad_row = 0;
    sqlite3_finalize(w->insert);
    w->insert = NULL;
    return 0;
}

static int wh_record(wr_wh_t *wh, const char *token, const char *table, int64_t rows,
                     const json_t *files, wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    sqlite3_stmt *st = NULL;
    char *f;
    char when[32];
    int rc = 0;

    if (token == NULL)
        return 0;
    wr_format_iso_ms(wr_now_ms(), when);
    f = json_dumps(files, JSON_COMPACT);
    if (sqlite3_prepare_v2(w->db,
                           "INSERT INTO weir_loads (token, tbl, rows, files, loaded_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK) {
        free(f);
        return db_err(w, err, "weir_loads");
    }
    sqlite3_bind_text(st, 1, token, -1, SQLITE_TRANSIENT);
    if (table != NULL)
        sqlite3_bind_text(st, 2, table, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, rows);
    sqlite3_bind_text(st, 4, f ? f : "[]", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, when, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_err(w, err, "recording the load in weir_loads");
    sqlite3_finalize(st);
    free(f);
    return rc;
}

static json_t *column_value(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, i));
    case SQLITE_NULL:
        return json_null();
    default: {
        const char *s = (const char *)sqlite3_column_text(st, i);
        json_t *v = json_string(s ? s : "");
        return v ? v : json_string("(not UTF-8)");
    }
    }
}

static int wh_exec(wr_wh_t *wh, const char *sql, size_t max_records, json_t **records,
                   int64_t *rows, wr_err_t *err)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    const char *tail = sql;
    json_t *last = json_array();
    int64_t returned = -1, changed = 0;
    int rc = 0;

    while (tail != NULL && *tail != '\0') {
        sqlite3_stmt *st = NULL;
        const char *next = NULL;
        int src;
        if (sqlite3_prepare_v2(w->db, tail, -1, &st, &next) != SQLITE_OK) {
            rc = db_err(w, err, "SQL");
            break;
        }
        tail = next;
        if (st == NULL)
            continue; /* whitespace or a comment */
        if (sqlite3_column_count(st) > 0) {
            json_array_clear(last);
            returned = 0;
        }
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
            returned++;
            if ((size_t)returned <= max_records) {
                json_t *o = json_object();
                for (int i = 0; i < sqlite3_column_count(st); i++)
                    json_object_set_new(o, sqlite3_column_name(st, i), column_value(st, i));
                json_array_append_new(last, o);
            }
        }
        if (src != SQLITE_DONE) {
            rc = db_err(w, err, "SQL");
            sqlite3_finalize(st);
            break;
        }
        if (sqlite3_column_count(st) == 0)
            changed += sqlite3_changes(w->db);
        sqlite3_finalize(st);
    }
    if (rc != 0) {
        json_decref(last);
        return rc;
    }
    *records = last;
    *rows = returned >= 0 ? returned : changed;
    return 0;
}

static void wh_close(wr_wh_t *wh)
{
    sqlite_wh_t *w = (sqlite_wh_t *)wh;
    if (w == NULL)
        return;
    sqlite3_finalize(w->insert);
    sqlite3_close(w->db);
    free(w->types);
    free(w->path);
    free(w);
}

static const wr_wh_ops_t sqlite_ops = {
    .kind = "sqlite",
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

int wr_wh_open_sqlite(const char *path, wr_wh_t **out, wr_err_t *err)
{
    sqlite_wh_t *w = wr_xcalloc(1, sizeof(*w));
    int rc;

    w->base.ops = &sqlite_ops;
    w->path = wr_xstrdup(path);
    if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = wr_err_set(err, WR_ENOTFOUND, "%s: cannot open the warehouse: %s", path,
                        w->db ? sqlite3_errmsg(w->db) : "out of memory");
        wh_close(&w->base);
        return rc;
    }
    /* Loads into one file from parallel tasks queue up behind each other's transaction. */
    sqlite3_busy_timeout(w->db, 60000);
    if ((rc = exec(w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", err)) != 0) {
        wh_close(&w->base);
        return rc;
    }
    *out = &w->base;
    return 0;
}
