/* SPDX-License-Identifier: MIT
 * engine/store_catalog.c: the SQL of the data catalog (engine/catalog.h, schema
 * 0003_catalog.sql). Statements live in the store's extension slots
 * WR_STORE_SLOTS_CATALOG.. (engine/store_int.h), prepared on first use. */
#include "engine/catalog.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "engine/store_int.h"

#define STMT_MAP(XX)                                                                           \
    XX(DB_LIST, "SELECT d.name, d.created_at, (SELECT count(*) FROM catalog_tables t "         \
                "WHERE t.database = d.name) FROM catalog_databases d ORDER BY d.name")         \
    XX(DB_GET, "SELECT 1 FROM catalog_databases WHERE name = ?1")                              \
    XX(DB_PUT, "INSERT INTO catalog_databases (name, created_at) VALUES (?1, ?2) "             \
               "ON CONFLICT DO NOTHING")                                                       \
    XX(TBL_LIST, "SELECT id, name, location, format, crawler, version, created_at, "           \
                 "updated_at, (SELECT count(*) FROM catalog_partitions p WHERE "               \
                 "p.table_id = t.id), (SELECT count(*) FROM catalog_files f WHERE "            \
                 "f.table_id = t.id) FROM catalog_tables t WHERE database = ?1 ORDER BY name") \
    XX(TBL_GET, "SELECT id, name, location, format, crawler, version, created_at, "            \
                "updated_at FROM catalog_tables WHERE database = ?1 AND name = ?2")            \
    XX(COLS, "SELECT name, type, is_partition FROM catalog_columns WHERE table_id = ?1 "       \
             "ORDER BY is_partition, position")                                                \
    XX(PARTS, "SELECT location, vals FROM catalog_partitions WHERE table_id = ?1 "             \
              "ORDER BY location")                                                             \
    XX(FILES, "SELECT path, size, mtime FROM catalog_files WHERE table_id = ?1 ORDER BY path") \
    XX(TBL_UPSERT, "INSERT INTO catalog_tables (database, name, location, format, crawler, "   \
                   "version, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) " \
                   "ON CONFLICT (database, name) DO UPDATE SET location = excluded.location, " \
                   "format = excluded.format, crawler = excluded.crawler, "                    \
                   "version = excluded.version, updated_at = excluded.updated_at")             \
    XX(TBL_ID, "SELECT id FROM catalog_tables WHERE database = ?1 AND name = ?2")              \
    XX(COLS_DEL, "DELETE FROM catalog_columns WHERE table_id = ?1")                            \
    XX(COL_INS, "INSERT INTO catalog_columns (table_id, position, name, type, is_partition) "  \
                "VALUES (?1, ?2, ?3, ?4, ?5)")                                                 \
    XX(PARTS_DEL, "DELETE FROM catalog_partitions WHERE table_id = ?1")                        \
    XX(PART_INS, "INSERT OR REPLACE INTO catalog_partitions (table_id, location, vals) "       \
                 "VALUES (?1, ?2, ?3)")                                                        \
    XX(FILES_DEL, "DELETE FROM catalog_files WHERE table_id = ?1")                             \
    XX(FILE_INS, "INSERT OR REPLACE INTO catalog_files (table_id, path, size, mtime) "         \
                 "VALUES (?1, ?2, ?3, ?4)")                                                    \
    XX(CHANGE_INS, "INSERT INTO catalog_changes (table_id, crawler, ts, kind, detail) "        \
                   "VALUES (?1, ?2, ?3, ?4, ?5)")                                              \
    XX(CHANGES, "SELECT kind, crawler, ts, detail FROM catalog_changes WHERE table_id = ?1 "   \
                "ORDER BY id")                                                                 \
    XX(CRAWLER_PUT, "INSERT OR REPLACE INTO catalog_crawlers (name, path, database, "          \
                    "last_crawl, last_result) VALUES (?1, ?2, ?3, ?4, ?5)")

enum {
#define XX(name, sql) C_##name,
    STMT_MAP(XX)
#undef XX
        C__COUNT
};

static const char *const stmt_sql[] = {
#define XX(name, sql) sql,
    STMT_MAP(XX)
#undef XX
};

_Static_assert(WR_STORE_SLOTS_CATALOG + C__COUNT <= 40, "catalog statements exceed 16..39");

static sqlite3_stmt *stmt(wr_store_t *store, int which, wr_err_t *err)
{
    return wr__store_stmt(store, WR_STORE_SLOTS_CATALOG + (size_t)which, stmt_sql[which], err);
}

static int db_error(wr_store_t *store, wr_err_t *err, const char *what)
{
    return wr_err_set(err, WR_ESTORE, "database: %s: %s", what,
                      sqlite3_errmsg(wr__store_db(store)));
}

static json_t *col_time(sqlite3_stmt *st, int i)
{
    char iso[32];
    wr_format_iso_ms(sqlite3_column_int64(st, i), iso);
    return json_string(iso);
}

/* Ends a SELECT loop: 0 when it ran to SQLITE_DONE. */
static int select_end(wr_store_t *store, sqlite3_stmt *st, int rc, wr_err_t *err)
{
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_error(store, err, "reading the catalog");
    return 0;
}

/* ==== Reads ==== */

int wr_catalog_databases(wr_store_t *store, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st = stmt(store, C_DB_LIST, err);
    json_t *a;
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    a = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(a, json_pack("{s:o, s:o, s:I}", "Name", wr__store_col_text(st, 0),
                                           "CreateTime", col_time(st, 1), "TableCount",
                                           (json_int_t)sqlite3_column_int64(st, 2)));
    if ((rc = select_end(store, st, rc, err)) != 0) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* Columns and PartitionKeys of table `id` into `t`. */
static int load_columns(wr_store_t *store, int64_t id, json_t *t, wr_err_t *err)
{
    sqlite3_stmt *st = stmt(store, C_COLS, err);
    json_t *cols = json_array(), *keys = json_array();
    int rc;

    json_object_set_new(t, "Columns", cols);
    json_object_set_new(t, "PartitionKeys", keys);
    if (st == NULL)
        return WR_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(sqlite3_column_int(st, 2) ? keys : cols,
                              json_pack("{s:o, s:o}", "Name", wr__store_col_text(st, 0), "Type",
                                        wr__store_col_text(st, 1)));
    return select_end(store, st, rc, err);
}

/* The common part of a table object from a TBL_LIST / TBL_GET row. */
static json_t *table_head(sqlite3_stmt *st, const char *database)
{
    return json_pack("{s:o, s:s, s:o, s:o, s:o, s:I, s:o, s:o}", "Name", wr__store_col_text(st, 1),
                     "DatabaseName", database, "Location", wr__store_col_text(st, 2),
                     "Classification", wr__store_col_text(st, 3), "Crawler",
                     wr__store_col_text(st, 4), "Version", (json_int_t)sqlite3_column_int64(st, 5),
                     "CreateTime", col_time(st, 6), "UpdateTime", col_time(st, 7));
}

static int database_exists(wr_store_t *store, const char *database, bool *found, wr_err_t *err)
{
    sqlite3_stmt *st = stmt(store, C_DB_GET, err);
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, database);
    rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(store, err, "reading the catalog");
    return 0;
}

int wr_catalog_tables(wr_store_t *store, const char *database, json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st;
    json_t *a = NULL;
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    bool found = false;
    int rc;

    if ((rc = database_exists(store, database, &found, err)) != 0)
        return rc;
    if (!found)
        return wr_err_set(err, WR_ENOTFOUND, "database '%s' not found in the catalog", database);
    if ((st = stmt(store, C_TBL_LIST, err)) == NULL)
        return WR_ESTORE;
    a = json_array();
    wr__store_bind_text(st, 1, database);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *t = table_head(st, database);
        json_object_set_new(t, "PartitionCount", json_integer(sqlite3_column_int64(st, 8)));
        json_object_set_new(t, "FileCount", json_integer(sqlite3_column_int64(st, 9)));
        json_array_append_new(a, t);
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            ids = wr_xrealloc(ids, cap * sizeof(*ids));
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    if ((rc = select_end(store, st, rc, err)) != 0)
        goto done;
    /* Columns after the list: one statement steps at a time. */
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = load_columns(store, ids[i], json_array_get(a, i), err);
done:
    free(ids);
    if (rc != 0) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* Finds a table: *id and (when `head` is not NULL) its head object. WR_ENOTFOUND if none. */
static int table_find(wr_store_t *store, const char *database, const char *table, int64_t *id,
                      json_t **head, wr_err_t *err)
{
    sqlite3_stmt *st = stmt(store, C_TBL_GET, err);
    int rc;

    if (st == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, database);
    wr__store_bind_text(st, 2, table);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        if (head != NULL)
            *head = table_head(st, database);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_error(store, err, "reading the catalog");
    return wr_err_set(err, WR_ENOTFOUND, "table '%s.%s' not found in the catalog", database, table);
}

int wr_catalog_table_get(wr_store_t *store, const char *database, const char *table, json_t **out,
                         wr_err_t *err)
{
    sqlite3_stmt *st;
    json_t *t = NULL, *parts, *files;
    int64_t id = 0;
    int rc;

    if ((rc = table_find(store, database, table, &id, &t, err)) != 0)
        return rc;
    if ((rc = load_columns(store, id, t, err)) != 0)
        goto done;
    parts = json_array();
    json_object_set_new(t, "Partitions", parts);
    if ((st = stmt(store, C_PARTS, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *vals = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        json_array_append_new(parts, json_pack("{s:o, s:o}", "Values", vals ? vals : json_array(),
                                               "Location", wr__store_col_text(st, 0)));
    }
    if ((rc = select_end(store, st, rc, err)) != 0)
        goto done;
    files = json_array();
    json_object_set_new(t, "Files", files);
    if ((st = stmt(store, C_FILES, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(files, json_pack("{s:o, s:I, s:I}", "Path", wr__store_col_text(st, 0),
                                               "Size", (json_int_t)sqlite3_column_int64(st, 1),
                                               "MTime", (json_int_t)sqlite3_column_int64(st, 2)));
    rc = select_end(store, st, rc, err);
done:
    if (rc != 0) {
        json_decref(t);
        return rc;
    }
    *out = t;
    return 0;
}

int wr_catalog_table_changes(wr_store_t *store, const char *database, const char *table,
                             json_t **out, wr_err_t *err)
{
    sqlite3_stmt *st;
    json_t *a;
    int64_t id = 0;
    int rc;

    if ((rc = table_find(store, database, table, &id, NULL, err)) != 0)
        return rc;
    if ((st = stmt(store, C_CHANGES, err)) == NULL)
        return WR_ESTORE;
    a = json_array();
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *c = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
        if (!json_is_object(c)) {
            json_decref(c);
            c = json_object();
        }
        json_object_set_new(c, "Kind", wr__store_col_text(st, 0));
        json_object_set_new(c, "Crawler", wr__store_col_text(st, 1));
        json_object_set_new(c, "Time", col_time(st, 2));
        json_array_append_new(a, c);
    }
    if ((rc = select_end(store, st, rc, err)) != 0) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* ==== The crawl's write ==== */

static int put_columns(wr_store_t *store, int64_t id, const json_t *cols, int is_partition,
                       wr_err_t *err)
{
    size_t i;
    json_t *c;
    int rc;

    json_array_foreach(cols, i, c)
    {
        sqlite3_stmt *st = stmt(store, C_COL_INS, err);
        if (st == NULL)
            return WR_ESTORE;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        wr__store_bind_text(st, 3, json_string_value(json_object_get(c, "Name")));
        wr__store_bind_text(st, 4, json_string_value(json_object_get(c, "Type")));
        sqlite3_bind_int(st, 5, is_partition);
        if ((rc = wr__store_step(store, st, err)) != 0)
            return rc;
    }
    return 0;
}

/* Replaces the rows of table `id` that statement `del` deletes. */
static int clear_rows(wr_store_t *store, int del, int64_t id, wr_err_t *err)
{
    sqlite3_stmt *st = stmt(store, del, err);
    if (st == NULL)
        return WR_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    return wr__store_step(store, st, err);
}

static int put_table(wr_store_t *store, const char *crawler, const char *database, const json_t *t,
                     int64_t now, wr_err_t *err)
{
    const char *name = json_string_value(json_object_get(t, "Name"));
    sqlite3_stmt *st;
    int64_t id = 0;
    size_t i;
    json_t *v;
    int rc;

    if (name == NULL)
        return wr_err_set(err, WR_EINVALID, "catalog: a table without a Name");
    if ((st = stmt(store, C_TBL_UPSERT, err)) == NULL)
        return WR_ESTORE;
    wr__store_bind_text(st, 1, database);
    wr__store_bind_text(st, 2, name);
    wr__store_bind_text(st, 3, json_string_value(json_object_get(t, "Location")));
    wr__store_bind_text(st, 4, json_string_value(json_object_get(t, "Classification")));
    wr__store_bind_text(st, 5, crawler);
    sqlite3_bind_int64(st, 6, json_integer_value(json_object_get(t, "Version")));
    sqlite3_bind_int64(st, 7, now);
    if ((rc = wr__store_step(store, st, err)) != 0)
        return rc;
    if ((rc = table_find(store, database, name, &id, NULL, err)) != 0)
        return rc;
    if ((rc = clear_rows(store, C_COLS_DEL, id, err)) != 0 ||
        (rc = put_columns(store, id, json_object_get(t, "Columns"), 0, err)) != 0 ||
        (rc = put_columns(store, id, json_object_get(t, "PartitionKeys"), 1, err)) != 0 ||
        (rc = clear_rows(store, C_PARTS_DEL, id, err)) != 0 ||
        (rc = clear_rows(store, C_FILES_DEL, id, err)) != 0)
        return rc;
    json_array_foreach(json_object_get(t, "Partitions"), i, v)
    {
        char *vals = json_dumps(json_object_get(v, "Values"), JSON_COMPACT | JSON_ENCODE_ANY);
        if ((st = stmt(store, C_PART_INS, err)) == NULL) {
            free(vals);
            return WR_ESTORE;
        }
        sqlite3_bind_int64(st, 1, id);
        wr__store_bind_text(st, 2, json_string_value(json_object_get(v, "Location")));
        wr__store_bind_text(st, 3, vals ? vals : "[]");
        rc = wr__store_step(store, st, err);
        free(vals);
        if (rc != 0)
            return rc;
    }
    json_array_foreach(json_object_get(t, "Files"), i, v)
    {
        if ((st = stmt(store, C_FILE_INS, err)) == NULL)
            return WR_ESTORE;
        sqlite3_bind_int64(st, 1, id);
        wr__store_bind_text(st, 2, json_string_value(json_object_get(v, "Path")));
        sqlite3_bind_int64(st, 3, json_integer_value(json_object_get(v, "Size")));
        sqlite3_bind_int64(st, 4, json_integer_value(json_object_get(v, "MTime")));
        if ((rc = wr__store_step(store, st, err)) != 0)
            return rc;
    }
    return 0;
}

static int put_change(wr_store_t *store, const char *crawler, const char *database, const json_t *c,
                      int64_t now, wr_err_t *err)
{
    const char *table = json_string_value(json_object_get(c, "Table"));
    const char *kind = json_string_value(json_object_get(c, "Kind"));
    json_t *detail;
    char *text;
    sqlite3_stmt *st;
    int64_t id = 0;
    int rc;

    if (table == NULL || kind == NULL)
        return wr_err_set(err, WR_EINVALID, "catalog: a change needs Table and Kind");
    if ((rc = table_find(store, database, table, &id, NULL, err)) != 0)
        return rc;
    detail = json_deep_copy(c);
    json_object_del(detail, "Table");
    json_object_del(detail, "Kind");
    text = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    if ((st = stmt(store, C_CHANGE_INS, err)) == NULL) {
        free(text);
        return WR_ESTORE;
    }
    sqlite3_bind_int64(st, 1, id);
    wr__store_bind_text(st, 2, crawler);
    sqlite3_bind_int64(st, 3, now);
    wr__store_bind_text(st, 4, kind);
    wr__store_bind_text(st, 5, text ? text : "{}");
    rc = wr__store_step(store, st, err);
    free(text);
    return rc;
}

int wr_catalog_crawl_apply(wr_store_t *store, const char *crawler, const char *path,
                           const char *database, const json_t *tables, const json_t *changes,
                           const json_t *result, wr_err_t *err)
{
    int64_t now = wr_now_ms();
    sqlite3_stmt *st;
    char *text = NULL;
    size_t i;
    json_t *v;
    int rc;

    if ((rc = wr__store_tx_begin(store, err)) != 0)
        return rc;
    if ((st = stmt(store, C_DB_PUT, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    wr__store_bind_text(st, 1, database);
    sqlite3_bind_int64(st, 2, now);
    if ((rc = wr__store_step(store, st, err)) != 0)
        goto done;
    json_array_foreach(tables, i, v)
    {
        if ((rc = put_table(store, crawler, database, v, now, err)) != 0)
            goto done;
    }
    json_array_foreach(changes, i, v)
    {
        if ((rc = put_change(store, crawler, database, v, now, err)) != 0)
            goto done;
    }
    if ((st = stmt(store, C_CRAWLER_PUT, err)) == NULL) {
        rc = WR_ESTORE;
        goto done;
    }
    text = json_dumps(result, JSON_COMPACT);
    wr__store_bind_text(st, 1, crawler);
    wr__store_bind_text(st, 2, path);
    wr__store_bind_text(st, 3, database);
    sqlite3_bind_int64(st, 4, now);
    wr__store_bind_text(st, 5, text ? text : "{}");
    rc = wr__store_step(store, st, err);
done:
    free(text);
    return wr__store_tx_end(store, rc, err);
}
