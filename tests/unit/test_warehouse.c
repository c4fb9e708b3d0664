/* SPDX-License-Identifier: MIT
 * tests/unit/test_warehouse.c: the SQLite warehouse (engine/store_warehouse.c) through its
 * operations table, and `weir load` (engine/cli_load.c) run in-process on files in a fresh
 * directory: types created and read back, commit vs rollback, the weir_loads token record,
 * type inference, date/time formats, atomic failure with file:line, SQL mode. */
#include "engine/warehouse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "engine/cli_load.h"
#include "engine/common.h"
#include "tests/unit/harness.h"

static char *tmpdir_new(void)
{
    const char *base = getenv("TMPDIR"); /* NOLINT(concurrency-mt-unsafe): tests run alone */
    char *dir = wr_xasprintf("%s/weir-wh-XXXXXX", base != NULL && *base ? base : "/tmp");
    ASSERT(mkdtemp(dir) != NULL);
    return dir;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs(text, f);
    ASSERT_OK(fclose(f));
}

static void remove_dir(const char *dir, const char *const *names)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        char *p = wr_xasprintf("%s/%s", dir, names[i]);
        unlink(p);
        free(p);
    }
    ASSERT_OK(rmdir(dir));
}

/* Runs SQL on the warehouse file and returns the records as compact JSON (caller frees). */
static char *query(const char *db, const char *sql)
{
    wr_wh_t *wh = NULL;
    json_t *records = NULL;
    int64_t rows = 0;
    wr_err_t err;
    char *s;

    ASSERT_OK(wr_wh_open_sqlite(db, &wh, &err));
    if (wh->ops->exec(wh, sql, 100, &records, &rows, &err) != 0) {
        wh->ops->close(wh);
        return wr_xasprintf("error: %s", err.msg);
    }
    s = json_dumps(records, JSON_COMPACT);
    json_decref(records);
    wh->ops->close(wh);
    return s;
}

static int load(const char *const *args)
{
    char *argv[32];
    int argc = 0;

    for (; args[argc] != NULL; argc++)
        argv[argc] = (char *)args[argc];
    argv[argc] = NULL;
    fflush(stdout);
    return wr_cli_load(argc, argv);
}

/* ==== Tests ==== */

static void ops_commit_and_types(void)
{
    char *dir = tmpdir_new(), *db = wr_xasprintf("%s/wh.db", dir), *got;
    wr_wh_t *wh = NULL;
    char c_id[] = "id", c_price[] = "price", c_ok[] = "ok", c_day[] = "day", c_at[] = "at",
         c_note[] = "note";
    wr_wh_column_t cols[] = {{c_id, WR_WH_BIGINT}, {c_price, WR_WH_DOUBLE}, {c_ok, WR_WH_BOOLEAN},
                             {c_day, WR_WH_DATE},  {c_at, WR_WH_TIMESTAMP}, {c_note, WR_WH_TEXT}};
    const char *row1[] = {"1", "2.5", "true", "2026-01-01", "2026-01-01 10:00:00", "a \"q\""};
    const char *row2[] = {"-7", NULL, "false", NULL, NULL, NULL};
    wr_wh_column_t *back = NULL;
    size_t n = 0;
    int64_t bad = -1;
    json_t *prev = NULL, *files = json_pack("[s]", "x.csv");
    wr_err_t err;
    static const char *const names[] = {"wh.db", "wh.db-wal", "wh.db-shm", NULL};

    ASSERT_OK(wr_wh_open_sqlite(db, &wh, &err));
    ASSERT_OK(wh->ops->begin(wh, &err));
    ASSERT_OK(wh->ops->columns(wh, "t", &back, &n, &err));
    ASSERT_EQ(n, 0);
    ASSERT_OK(wh->ops->create_table(wh, "t", cols, 6, &err));
    ASSERT_OK(wh->ops->insert_start(wh, "t", cols, 6, &err));
    ASSERT_OK(wh->ops->insert_row(wh, row1, &err));
    ASSERT_OK(wh->ops->insert_row(wh, row2, &err));
    ASSERT_OK(wh->ops->insert_finish(wh, &bad, &err));
    ASSERT_EQ(bad, 0);
    ASSERT_OK(wh->ops->record(wh, "tok", "t", 2, files, &err));
    ASSERT_OK(wh->ops->end(wh, true, &err));
    /* Read back: the types survive, and the token finds the load. */
    ASSERT_OK(wh->ops->columns(wh, "t", &back, &n, &err));
    ASSERT_EQ(n, 6);
    for (size_t i = 0; i < n; i++) {
        ASSERT_STR_EQ(back[i].name, cols[i].name);
        ASSERT_EQ(back[i].type, cols[i].type);
    }
    wr_wh_columns_free(back, n);
    ASSERT_OK(wh->ops->begin(wh, &err));
    ASSERT_OK(wh->ops->token_lookup(wh, "tok", &prev, &err));
    ASSERT(prev != NULL);
    ASSERT_EQ(json_integer_value(json_object_get(prev, "rows")), 2);
    ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(prev, "files"), 0)), "x.csv");
    json_decref(prev);
    ASSERT_OK(wh->ops->token_lookup(wh, "other", &prev, &err));
    ASSERT(prev == NULL);
    ASSERT_OK(wh->ops->end(wh, false, &err));
    wh->ops->close(wh);
    got = query(db, "SELECT * FROM t ORDER BY id");
    ASSERT_STR_EQ(got,
                  "[{\"id\":-7,\"price\":null,\"ok\":0,\"day\":null,\"at\":null,\"note\":null},"
                  "{\"id\":1,\"price\":2.5,\"ok\":1,\"day\":\"2026-01-01\",\"at\":"
                  "\"2026-01-01 10:00:00\",\"note\":\"a \\\"q\\\"\"}]");
    free(got);
    json_decref(files);
    remove_dir(dir, names);
    free(db);
    free(dir);
}

static void ops_rollback_leaves_nothing(void)
{
    char *dir = tmpdir_new(), *db = wr_xasprintf("%s/wh.db", dir), *got;
    wr_wh_t *wh = NULL;
    char c_id[] = "id";
    wr_wh_column_t cols[] = {{c_id, WR_WH_BIGINT}};
    const char *row[] = {"1"};
    wr_err_t err;
    static const char *const names[] = {"wh.db", "wh.db-wal", "wh.db-shm", NULL};

    ASSERT_OK(wr_wh_open_sqlite(db, &wh, &err));
    ASSERT_OK(wh->ops->begin(wh, &err));
    ASSERT_OK(wh->ops->create_table(wh, "gone", cols, 1, &err));
    ASSERT_OK(wh->ops->insert_start(wh, "gone", cols, 1, &err));
    ASSERT_OK(wh->ops->insert_row(wh, row, &err));
    ASSERT_OK(wh->ops->end(wh, false, &err));
    wh->ops->close(wh);
    got = query(db, "SELECT count(*) AS n FROM sqlite_master WHERE name = 'gone'");
    ASSERT_STR_EQ(got, "[{\"n\":0}]");
    free(got);
    got = query(db, "SELECT nope FROM missing");
    ASSERT_CONTAINS(got, "no such table");
    free(got);
    remove_dir(dir, names);
    free(db);
    free(dir);
}

static void cli_infers_and_converts(void)
{
    char *dir = tmpdir_new(), *db = wr_xasprintf("%s/wh.db", dir);
    char *csv = wr_xasprintf("%s/in.csv", dir), *got;
    static const char *const names[] = {"wh.db", "wh.db-wal", "wh.db-shm", "in.csv", NULL};

    write_file(csv, "Id,Zip,Amount,Flag,Day,At,Epoch\n"
                    "1,007,1e3,yes,03/15/2026,2026-03-15 08:00:00,1767225600\n"
                    "2,12345,-0.5,no,12/31/2025,2026-03-15T09:30:00.25,0\n");
    {
        const char *args[] = {"load", "--table",      "Mixed",      "--from",  csv,   "--warehouse",
                              db,     "--dateformat", "MM/DD/YYYY", "--token", "t-1", NULL};
        ASSERT_OK(load(args));
    }
    got = query(db, "SELECT name, type FROM pragma_table_info('mixed') ORDER BY cid");
    /* "007" keeps the zip code TEXT; the epoch column is a plain integer without a format. */
    ASSERT_STR_EQ(got,
                  "[{\"name\":\"id\",\"type\":\"INTEGER\"},{\"name\":\"zip\",\"type\":\"TEXT\"},"
                  "{\"name\":\"amount\",\"type\":\"REAL\"},{\"name\":\"flag\",\"type\":"
                  "\"BOOLEAN\"},{\"name\":\"day\",\"type\":\"DATE\"},{\"name\":\"at\","
                  "\"type\":\"TIMESTAMP\"},{\"name\":\"epoch\",\"type\":\"INTEGER\"}]");
    free(got);
    got = query(db, "SELECT zip, amount, flag, day, at FROM mixed ORDER BY id");
    ASSERT_STR_EQ(got, "[{\"zip\":\"007\",\"amount\":1000.0,\"flag\":1,\"day\":\"2026-03-15\","
                       "\"at\":\"2026-03-15 08:00:00\"},{\"zip\":\"12345\",\"amount\":-0.5,"
                       "\"flag\":0,\"day\":\"2025-12-31\",\"at\":\"2026-03-15 09:30:00.25\"}]");
    free(got);
    /* The same token again: nothing more. */
    {
        const char *args[] = {"load", "--table",      "mixed",      "--from",  csv,   "--warehouse",
                              db,     "--dateformat", "MM/DD/YYYY", "--token", "t-1", NULL};
        ASSERT_OK(load(args));
    }
    got = query(db, "SELECT count(*) AS n FROM mixed");
    ASSERT_STR_EQ(got, "[{\"n\":2}]");
    free(got);
    /* Epoch seconds into a TIMESTAMP column created by --columns on a new table. */
    write_file(csv, "1767225600\n");
    {
        const char *args[] = {"load", "--table",   "ts", "--from",          csv, "--warehouse",
                              db,     "--columns", "at", "--ignore-header", "0", NULL};
        ASSERT_OK(load(args));
    }
    got = query(db, "SELECT at FROM ts");
    ASSERT_STR_EQ(got, "[{\"at\":1767225600}]");
    free(got);
    {
        const char *args[] = {"load",        "--sql", "CREATE TABLE ev (at TIMESTAMP)",
                              "--warehouse", db,      NULL};
        ASSERT_OK(load(args));
    }
    {
        const char *args[] = {
            "load",      "--table",   "ev", "--from",          csv, "--warehouse",
            db,          "--columns", "at", "--ignore-header", "0", "--timeformat",
            "epochsecs", NULL};
        ASSERT_OK(load(args));
    }
    got = query(db, "SELECT at FROM ev");
    ASSERT_STR_EQ(got, "[{\"at\":\"2026-01-01 00:00:00\"}]");
    free(got);
    remove_dir(dir, names);
    free(csv);
    free(db);
    free(dir);
}

static void cli_bad_row_is_atomic(void)
{
    char *dir = tmpdir_new(), *db = wr_xasprintf("%s/wh.db", dir);
    char *a = wr_xasprintf("%s/a.csv", dir), *b = wr_xasprintf("%s/b.csv", dir), *got;
    static const char *const names[] = {"wh.db", "wh.db-wal", "wh.db-shm", "a.csv", "b.csv", NULL};

    write_file(a, "id,v\n1,x\n2,y\n");
    write_file(b, "id,v\n3,z\nfour,w\n");
    {
        const char *args[] = {"load", "--table", "t", "--from", a, "--warehouse", db, NULL};
        ASSERT_OK(load(args));
    }
    {
        const char *args[] = {"load", "--table", "t", "--from", b, "--warehouse", db, NULL};
        ASSERT_EQ(load(args), 1);
    }
    got = query(db, "SELECT count(*) AS n FROM t");
    ASSERT_STR_EQ(got, "[{\"n\":2}]");
    free(got);
    /* Truncate + bad file: the old rows stay too (the truncate rolls back). */
    {
        const char *args[] = {"load",        "--table", "t",          "--from", b,
                              "--warehouse", db,        "--truncate", NULL};
        ASSERT_EQ(load(args), 1);
    }
    got = query(db, "SELECT count(*) AS n FROM t");
    ASSERT_STR_EQ(got, "[{\"n\":2}]");
    free(got);
    /* Bad usage. */
    {
        const char *args[] = {"load", "--table", "t", NULL};
        ASSERT_EQ(load(args), 2);
    }
    {
        const char *args[] = {"load", "--table", "t", "--from", a, "--format", "xml", NULL};
        ASSERT_EQ(load(args), 2);
    }
    {
        const char *args[] = {"load", "--table", "bad-name", "--from", a, "--warehouse", db, NULL};
        ASSERT_EQ(load(args), 1);
    }
    remove_dir(dir, names);
    free(a);
    free(b);
    free(db);
    free(dir);
}

static const wr_test_t tests[] = {
    {"ops_commit_and_types", ops_commit_and_types},
    {"ops_rollback_leaves_nothing", ops_rollback_leaves_nothing},
    {"cli_infers_and_converts", cli_infers_and_converts},
    {"cli_bad_row_is_atomic", cli_bad_row_is_atomic},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
