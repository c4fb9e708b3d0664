/* SPDX-License-Identifier: MIT
 * tests/unit/test_catalog.c: the crawler's schema inference and widening, Hive-style
 * partitions and the folder scan (engine/cli_crawl.c), merging a re-crawl with the catalog,
 * and the catalog store (engine/store_catalog.c) on ":memory:". Files are written in a fresh
 * directory under $TMPDIR, removed at the end of each test. */
#include "engine/catalog.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "engine/cli_crawl.h"
#include "engine/common.h"
#include "engine/store.h"
#include "tests/unit/harness.h"

/* ==== Helpers ==== */

static char *tmpdir_new(void)
{
    const char *base = getenv("TMPDIR"); /* NOLINT(concurrency-mt-unsafe): tests run alone */
    char *dir = wr_xasprintf("%s/weir-catalog-XXXXXX", base != NULL && *base ? base : "/tmp");
    ASSERT(mkdtemp(dir) != NULL);
    return dir;
}

static void remove_tree(const char *path) /* NOLINT(misc-no-recursion): shallow test dirs */
{
    struct stat st;
    DIR *d;
    struct dirent *e;

    ASSERT_OK(lstat(path, &st));
    if (!S_ISDIR(st.st_mode)) {
        ASSERT_OK(unlink(path));
        return;
    }
    d = opendir(path);
    ASSERT(d != NULL);
    while ((e = readdir(d)) != NULL) { /* NOLINT(concurrency-mt-unsafe) */
        char *child;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        child = wr_xasprintf("%s/%s", path, e->d_name);
        remove_tree(child);
        free(child);
    }
    closedir(d);
    ASSERT_OK(rmdir(path));
}

/* Writes `text` to DIR/REL, creating the folders on the way. */
static void put(const char *dir, const char *rel, const char *text)
{
    char *path = wr_xasprintf("%s/%s", dir, rel);
    FILE *fp;

    for (char *p = path + strlen(dir) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    fp = fopen(path, "wb");
    ASSERT(fp != NULL);
    fputs(text, fp);
    ASSERT_OK(fclose(fp));
    free(path);
}

/* The type of column `name` in a [{"Name","Type"}] list, or NULL. */
static const char *col_type(const json_t *cols, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "Name")), name) == 0)
            return json_string_value(json_object_get(c, "Type"));
    }
    return NULL;
}

static void widen_is(const char *a, const char *b, const char *want)
{
    char *w = wr_crawl_type_widen(a, b);
    ASSERT_STR_EQ(w, want);
    free(w);
    w = wr_crawl_type_widen(b, a); /* symmetric for scalars; structs keep a's order */
    if (strncmp(want, "struct", 6) != 0)
        ASSERT_STR_EQ(w, want);
    free(w);
}

/* ==== Cell types ==== */

static void cell_types(void)
{
    ASSERT(wr_crawl_cell_type("", 0) == NULL);
    ASSERT_STR_EQ(wr_crawl_cell_type("42", 2), "bigint");
    ASSERT_STR_EQ(wr_crawl_cell_type("-7", 2), "bigint");
    ASSERT_STR_EQ(wr_crawl_cell_type("0", 1), "bigint");
    ASSERT_STR_EQ(wr_crawl_cell_type("9223372036854775807", 19), "bigint");
    ASSERT_STR_EQ(wr_crawl_cell_type("9223372036854775808", 19), "double");
    ASSERT_STR_EQ(wr_crawl_cell_type("007", 3), "string");
    ASSERT_STR_EQ(wr_crawl_cell_type("3.5", 3), "double");
    ASSERT_STR_EQ(wr_crawl_cell_type("-.5", 3), "double");
    ASSERT_STR_EQ(wr_crawl_cell_type("1e3", 3), "double");
    ASSERT_STR_EQ(wr_crawl_cell_type("1e", 2), "string");
    ASSERT_STR_EQ(wr_crawl_cell_type("TRUE", 4), "boolean");
    ASSERT_STR_EQ(wr_crawl_cell_type("false", 5), "boolean");
    ASSERT_STR_EQ(wr_crawl_cell_type("2026-01-05", 10), "date");
    ASSERT_STR_EQ(wr_crawl_cell_type("2026-02-30", 10), "string");
    ASSERT_STR_EQ(wr_crawl_cell_type("2026-13-01", 10), "string");
    ASSERT_STR_EQ(wr_crawl_cell_type("05/01/2026", 10), "string");
    ASSERT_STR_EQ(wr_crawl_cell_type("2026-01-05T14:23:11", 19), "timestamp");
    ASSERT_STR_EQ(wr_crawl_cell_type("2026-01-05 14:23:11.250Z", 24), "timestamp");
    ASSERT_STR_EQ(wr_crawl_cell_type("2026-01-05T14:23+01:00", 22), "timestamp");
    ASSERT_STR_EQ(wr_crawl_cell_type("2026-01-05T25:00:00", 19), "string");
    ASSERT_STR_EQ(wr_crawl_cell_type("North", 5), "string");
}

/* ==== Widening ==== */

static void widening(void)
{
    widen_is("bigint", "bigint", "bigint");
    widen_is("bigint", "double", "double");
    widen_is("double", "string", "string");
    widen_is("bigint", "string", "string");
    widen_is("date", "timestamp", "timestamp");
    widen_is("date", "bigint", "string");
    widen_is("boolean", "bigint", "string");
    widen_is("array<bigint>", "array<double>", "array<double>");
    widen_is("struct<a:bigint>", "bigint", "string");
    widen_is("array<string>", "struct<a:bigint>", "string");
    widen_is("struct<a:bigint,b:struct<c:date>>",
             "struct<a:double,b:struct<c:timestamp,d:string>,e:boolean>",
             "struct<a:double,b:struct<c:timestamp,d:string>,e:boolean>");
    {
        char *w = wr_crawl_type_widen(NULL, "bigint");
        ASSERT_STR_EQ(w, "bigint");
        free(w);
        w = wr_crawl_type_widen("double", NULL);
        ASSERT_STR_EQ(w, "double");
        free(w);
        ASSERT(wr_crawl_type_widen(NULL, NULL) == NULL);
        /* Malformed stored type text counts as string. */
        w = wr_crawl_type_widen("struct<a", "bigint");
        ASSERT_STR_EQ(w, "string");
        free(w);
    }
}

/* ==== Partitions ==== */

static void partition_names(void)
{
    char *k = NULL, *v = NULL;

    ASSERT(wr_crawl_partition_split("dt=2026-01-05", &k, &v));
    ASSERT_STR_EQ(k, "dt");
    ASSERT_STR_EQ(v, "2026-01-05");
    free(k);
    free(v);
    ASSERT(wr_crawl_partition_split("a=b=c", &k, &v));
    ASSERT_STR_EQ(k, "a");
    ASSERT_STR_EQ(v, "b=c");
    free(k);
    free(v);
    ASSERT(wr_crawl_partition_split("region=", &k, &v));
    ASSERT_STR_EQ(v, "");
    free(k);
    free(v);
    ASSERT(!wr_crawl_partition_split("=x", &k, &v));
    ASSERT(!wr_crawl_partition_split("sales", &k, &v));
}

/* ==== One file ==== */

static void infer_csv_types(void)
{
    char *dir = tmpdir_new(), *path = wr_xasprintf("%s/s.csv", dir);
    json_t *cols = NULL;
    const char *fmt = NULL;
    wr_err_t err;

    put(dir, "s.csv",
        "id,qty,price,ok,day,at,note,empty,code\n"
        "1,2,3.5,true,2026-01-05,2026-01-05T10:00:00,hello,,007\n"
        "2,,4,false,2026-01-06,2026-01-06,\"a, b\",,008\n"
        "3,5,1e2,TRUE,2026-01-07,2026-01-07 11:00:00,x,,009\n");
    ASSERT_OK(wr_crawl_infer_file(path, &cols, &fmt, &err));
    ASSERT_STR_EQ(fmt, "csv");
    ASSERT_EQ(json_array_size(cols), 9);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(cols, 0), "Name")), "id");
    ASSERT_STR_EQ(col_type(cols, "id"), "bigint");
    ASSERT_STR_EQ(col_type(cols, "qty"), "bigint");
    ASSERT_STR_EQ(col_type(cols, "price"), "double");
    ASSERT_STR_EQ(col_type(cols, "ok"), "boolean");
    ASSERT_STR_EQ(col_type(cols, "day"), "date");
    ASSERT_STR_EQ(col_type(cols, "at"), "timestamp");
    ASSERT_STR_EQ(col_type(cols, "note"), "string");
    ASSERT_STR_EQ(col_type(cols, "empty"), "string");
    ASSERT_STR_EQ(col_type(cols, "code"), "string");
    json_decref(cols);
    free(path);
    remove_tree(dir);
    free(dir);
}

static void infer_malformed(void)
{
    char *dir = tmpdir_new(), *a = wr_xasprintf("%s/a.csv", dir),
         *b = wr_xasprintf("%s/b.csv", dir);
    char *c = wr_xasprintf("%s/c.jsonl", dir), *e = wr_xasprintf("%s/e.csv", dir);
    json_t *cols = NULL;
    const char *fmt = NULL;
    wr_err_t err;

    put(dir, "a.csv", "x,y\n1,2\n3\n");
    put(dir, "b.csv", "x,y\n1,\"unterminated\n");
    put(dir, "c.jsonl", "{\"a\": 1}\n[1, 2]\n");
    put(dir, "e.csv", "");
    ASSERT_EQ(wr_crawl_infer_file(a, &cols, &fmt, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "a.csv:3: 1 fields where the header has 2");
    ASSERT_EQ(wr_crawl_infer_file(b, &cols, &fmt, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "b.csv");
    ASSERT_EQ(wr_crawl_infer_file(c, &cols, &fmt, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "c.jsonl:2: not a JSON object");
    ASSERT_EQ(wr_crawl_infer_file(e, &cols, &fmt, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "no header");
    free(a);
    free(b);
    free(c);
    free(e);
    remove_tree(dir);
    free(dir);
}

static void infer_jsonl_nested(void)
{
    char *dir = tmpdir_new(), *path = wr_xasprintf("%s/e.jsonl", dir);
    json_t *cols = NULL;
    const char *fmt = NULL;
    wr_err_t err;

    put(dir, "e.jsonl",
        "{\"id\": 1, \"user\": {\"name\": \"a\", \"age\": 3}, \"tags\": [\"x\"], \"n\": null}\n"
        "\n"
        "{\"id\": 2.5, \"user\": {\"name\": \"b\", \"vip\": true}, \"tags\": [], \"more\": 1}\n");
    ASSERT_OK(wr_crawl_infer_file(path, &cols, &fmt, &err));
    ASSERT_STR_EQ(fmt, "json");
    ASSERT_STR_EQ(col_type(cols, "id"), "double");
    ASSERT_STR_EQ(col_type(cols, "user"), "struct<name:string,age:bigint,vip:boolean>");
    ASSERT_STR_EQ(col_type(cols, "tags"), "array<string>");
    ASSERT_STR_EQ(col_type(cols, "n"), "string");
    ASSERT_STR_EQ(col_type(cols, "more"), "bigint");
    json_decref(cols);
    free(path);
    remove_tree(dir);
    free(dir);
}

/* ==== The folder scan ==== */

static void scan_partitions(void)
{
    char *dir = tmpdir_new(), *root = wr_xasprintf("%s/sales", dir);
    json_t *tables = NULL, *skipped = NULL, *t, *o;
    wr_err_t err;

    put(dir, "sales/dt=2026-01-01/part-0.csv", "id,qty\n1,2\n");
    put(dir, "sales/dt=2026-01-02/part-0.csv", "id,qty,price\n2,3.5,9.99\n");
    put(dir, "sales/dt=2026-01-02/_SUCCESS", "");
    put(dir, "sales/dt=2026-01-03/bad.csv", "id,qty\n1\n");
    put(dir, "sales/notes.txt", "hello");
    put(dir, "sales/Events/y=2026/m=01/e.jsonl", "{\"kind\": \"click\"}\n");
    put(dir, "sales/Events/y=2026/m=02/e.jsonl", "{\"kind\": \"view\", \"n\": 2}\n");
    ASSERT_OK(wr_crawl_scan(root, "raw_", &tables, &skipped, &err));
    ASSERT_EQ(json_array_size(tables), 2);
    /* Name order of the walk: "Events" < "dt=..." */
    o = json_array_get(tables, 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(o, "Name")), "raw_events");
    ASSERT_STR_EQ(json_string_value(json_object_get(o, "Classification")), "json");
    ASSERT_EQ(json_array_size(json_object_get(o, "PartitionKeys")), 2);
    ASSERT_EQ(json_array_size(json_object_get(o, "Partitions")), 2);
    ASSERT_STR_EQ(col_type(json_object_get(o, "Columns"), "n"), "bigint");
    t = json_array_get(tables, 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(t, "Name")), "raw_sales");
    ASSERT_STR_EQ(json_string_value(json_object_get(t, "Location")), root);
    ASSERT_STR_EQ(json_string_value(json_object_get(
                      json_array_get(json_object_get(t, "PartitionKeys"), 0), "Name")),
                  "dt");
    ASSERT_EQ(json_array_size(json_object_get(t, "Partitions")), 2);
    ASSERT_STR_EQ(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(t, "Partitions"), 1), "Values"), 0)),
        "2026-01-02");
    ASSERT_EQ(json_array_size(json_object_get(t, "Files")), 2);
    /* Columns are the union, widened: qty was bigint in one file and double in the other. */
    ASSERT_STR_EQ(col_type(json_object_get(t, "Columns"), "qty"), "double");
    ASSERT_STR_EQ(col_type(json_object_get(t, "Columns"), "price"), "double");
    /* The malformed file and the text file are listed; _SUCCESS is ignored. */
    ASSERT_EQ(json_array_size(skipped), 2);
    ASSERT_CONTAINS(json_string_value(json_object_get(json_array_get(skipped, 0), "Path")),
                    "bad.csv");
    ASSERT_CONTAINS(json_string_value(json_object_get(json_array_get(skipped, 0), "Reason")),
                    "fields where the header has");
    json_decref(tables);
    json_decref(skipped);
    {
        char *missing = wr_xasprintf("%s/nope", dir);
        ASSERT_EQ(wr_crawl_scan(missing, NULL, &tables, &skipped, &err), UV_ENOENT);
        free(missing);
    }
    free(root);
    remove_tree(dir);
    free(dir);
}

/* ==== Re-crawl merge ==== */

static json_t *table(const char *cols_json, const char *parts_json)
{
    json_t *t = json_pack("{s:s, s:s, s:s, s:o, s:[], s:o, s:[], s:i}", "Name", "t", "Location",
                          "d", "Classification", "csv", "Columns", json_loads(cols_json, 0, NULL),
                          "PartitionKeys", "Partitions", json_loads(parts_json, 0, NULL), "Files",
                          "Version", 1);
    return t;
}

static void merge_drift(void)
{
    json_t *old =
        table("[{\"Name\":\"a\",\"Type\":\"bigint\"},{\"Name\":\"b\",\"Type\":\"string\"}]",
              "[{\"Values\":[\"1\"],\"Location\":\"d/p=1\"}]");
    json_t *scan =
        table("[{\"Name\":\"a\",\"Type\":\"double\"},{\"Name\":\"c\",\"Type\":\"bigint\"}]",
              "[{\"Values\":[\"1\"],\"Location\":\"d/p=1\"},"
              "{\"Values\":[\"2\"],\"Location\":\"d/p=2\"}]");
    json_t *changes = json_array(), *m, *m2;
    const char *status = NULL;

    m = wr_crawl_merge(old, scan, changes, &status);
    ASSERT_STR_EQ(status, "updated");
    ASSERT_EQ(json_integer_value(json_object_get(m, "Version")), 2);
    /* Old columns first (b kept though gone from the files), then the new one. */
    ASSERT_EQ(json_array_size(json_object_get(m, "Columns")), 3);
    ASSERT_STR_EQ(col_type(json_object_get(m, "Columns"), "a"), "double");
    ASSERT_STR_EQ(col_type(json_object_get(m, "Columns"), "b"), "string");
    ASSERT_STR_EQ(col_type(json_object_get(m, "Columns"), "c"), "bigint");
    ASSERT_EQ(json_array_size(changes), 3);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(changes, 0), "Kind")),
                  "TypeChanged");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(changes, 0), "From")), "bigint");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(changes, 0), "To")), "double");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(changes, 1), "Kind")),
                  "ColumnAdded");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(changes, 2), "Kind")),
                  "PartitionAdded");
    /* A second crawl of the same files changes nothing; a narrower one never narrows. */
    json_array_clear(changes);
    m2 = wr_crawl_merge(m, scan, changes, &status);
    ASSERT_STR_EQ(status, "unchanged");
    ASSERT_EQ(json_array_size(changes), 0);
    ASSERT_EQ(json_integer_value(json_object_get(m2, "Version")), 2);
    json_decref(m2);
    json_decref(scan);
    scan = table("[{\"Name\":\"a\",\"Type\":\"bigint\"}]",
                 "[{\"Values\":[\"1\"],\"Location\":\"d/p=1\"},"
                 "{\"Values\":[\"2\"],\"Location\":\"d/p=2\"}]");
    m2 = wr_crawl_merge(m, scan, changes, &status);
    ASSERT_STR_EQ(status, "unchanged");
    ASSERT_STR_EQ(col_type(json_object_get(m2, "Columns"), "a"), "double");
    json_decref(m2);
    /* A new table. */
    json_array_clear(changes);
    m2 = wr_crawl_merge(NULL, scan, changes, &status);
    ASSERT_STR_EQ(status, "created");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(changes, 0), "Kind")),
                  "TableCreated");
    json_decref(m2);
    json_decref(m);
    json_decref(old);
    json_decref(scan);
    json_decref(changes);
}

/* ==== The store ==== */

static void store_roundtrip(void)
{
    wr_store_t *store = NULL;
    wr_err_t err;
    json_t *t = table("[{\"Name\":\"a\",\"Type\":\"bigint\"}]",
                      "[{\"Values\":[\"1\"],\"Location\":\"d/p=1\"}]");
    json_t *changes =
        json_pack("[{s:s, s:s, s:i}]", "Table", "t", "Kind", "TableCreated", "Columns", 1);
    json_t *res = json_pack("{s:i}", "TablesCreated", 1), *got = NULL, *list = NULL;
    json_t *one = json_pack("[O]", t); /* the same object: later edits show through */

    json_object_set_new(t, "PartitionKeys",
                        json_pack("[{s:s, s:s}]", "Name", "p", "Type", "string"));
    json_array_append_new(
        json_object_get(t, "Files"),
        json_pack("{s:s, s:i, s:i}", "Path", "d/p=1/x.csv", "Size", 10, "MTime", 1000));
    ASSERT_OK(wr_store_open(":memory:", &store, &err));
    ASSERT_EQ(wr_catalog_table_get(store, "db", "t", &got, &err), WR_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "db.t");
    ASSERT_EQ(wr_catalog_tables(store, "db", &got, &err), WR_ENOTFOUND);
    ASSERT_OK(wr_catalog_crawl_apply(store, "c1", "d", "db", one, changes, res, &err));
    ASSERT_OK(wr_catalog_table_get(store, "db", "t", &got, &err));
    ASSERT_STR_EQ(json_string_value(json_object_get(got, "Crawler")), "c1");
    ASSERT_STR_EQ(json_string_value(json_object_get(got, "Location")), "d");
    ASSERT_STR_EQ(col_type(json_object_get(got, "Columns"), "a"), "bigint");
    ASSERT_STR_EQ(col_type(json_object_get(got, "PartitionKeys"), "p"), "string");
    ASSERT_EQ(json_array_size(json_object_get(got, "Partitions")), 1);
    ASSERT_STR_EQ(json_string_value(
                      json_object_get(json_array_get(json_object_get(got, "Files"), 0), "Path")),
                  "d/p=1/x.csv");
    json_decref(got);
    ASSERT_OK(wr_catalog_databases(store, &list, &err));
    ASSERT_EQ(json_array_size(list), 1);
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(list, 0), "TableCount")), 1);
    json_decref(list);
    ASSERT_OK(wr_catalog_tables(store, "db", &list, &err));
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(list, 0), "FileCount")), 1);
    json_decref(list);
    ASSERT_OK(wr_catalog_table_changes(store, "db", "t", &list, &err));
    ASSERT_EQ(json_array_size(list), 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(list, 0), "Kind")),
                  "TableCreated");
    json_decref(list);
    /* A second apply replaces the columns and files. */
    json_object_set_new(t, "Columns",
                        json_pack("[{s:s, s:s}, {s:s, s:s}]", "Name", "a", "Type", "double", "Name",
                                  "z", "Type", "string"));
    json_object_set_new(t, "Files", json_array());
    json_object_set_new(t, "Version", json_integer(2));
    ASSERT_OK(wr_catalog_crawl_apply(store, "c1", "d", "db", one, NULL, res, &err));
    ASSERT_OK(wr_catalog_table_get(store, "db", "t", &got, &err));
    ASSERT_EQ(json_array_size(json_object_get(got, "Columns")), 2);
    ASSERT_STR_EQ(col_type(json_object_get(got, "Columns"), "a"), "double");
    ASSERT_EQ(json_array_size(json_object_get(got, "Files")), 0);
    ASSERT_EQ(json_integer_value(json_object_get(got, "Version")), 2);
    json_decref(got);
    wr_store_close(store);
    json_decref(one);
    json_decref(t);
    json_decref(changes);
    json_decref(res);
}

static const wr_test_t tests[] = {
    {"cell_types", cell_types},           {"widening", widening},
    {"partition_names", partition_names}, {"infer_csv_types", infer_csv_types},
    {"infer_malformed", infer_malformed}, {"infer_jsonl_nested", infer_jsonl_nested},
    {"scan_partitions", scan_partitions}, {"merge_drift", merge_drift},
    {"store_roundtrip", store_roundtrip}, {NULL, NULL},
};

WR_TEST_MAIN(tests)
