/* SPDX-License-Identifier: MIT
 * tests/unit/test_xform.c: SQL over CSV and JSON-lines files (engine/store_xform.c) and the
 * `weir sql` command (engine/cli_sql.c): type affinity, JSON lines with nested values and
 * missing keys, DISTINCT / filters / computed columns with exact output files, joins through
 * the lookup index, errors naming file:line, one statement only, and atomic output.
 * Every test works in a fresh directory under $TMPDIR and removes it. */
#include "engine/xform.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "engine/cli_sql.h"
#include "engine/common.h"
#include "tests/unit/harness.h"

/* ==== Helpers ==== */

static char *tmpdir_new(void)
{
    const char *base = getenv("TMPDIR"); /* NOLINT(concurrency-mt-unsafe): tests run alone */
    char *dir = wr_xasprintf("%s/weir-xform-XXXXXX", base != NULL && *base ? base : "/tmp");

    ASSERT(mkdtemp(dir) != NULL);
    return dir;
}

/* rm -r: the tests only make plain files and directories, at most a few levels deep. */
static void remove_tree(const char *path) /* NOLINT(misc-no-recursion): shallow test dirs */
{
    struct stat st;
    DIR *d;
    struct dirent *e;

    ASSERT_OK(lstat(path, &st));
    if (S_ISDIR(st.st_mode)) {
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
    } else {
        ASSERT_OK(unlink(path));
    }
}

static char *join(const char *dir, const char *name)
{
    return wr_xasprintf("%s/%s", dir, name);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");

    ASSERT(fp != NULL);
    ASSERT_EQ(fwrite(text, 1, strlen(text), fp), strlen(text));
    ASSERT_OK(fclose(fp));
}

/* The whole file as a string, or NULL if it does not exist. */
static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    wr_buf_t b;
    char chunk[4096];
    size_t n;

    if (fp == NULL)
        return NULL;
    wr_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        wr_buf_append(&b, chunk, n);
    fclose(fp);
    wr_buf_append(&b, "", 0); /* NUL-terminated even for an empty file */
    return wr_buf_steal(&b);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ASSERT(d != NULL);
    while ((e = readdir(d)) != NULL) /* NOLINT(concurrency-mt-unsafe): one thread */
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* One input: writes `content` to dir/file, runs `sql` into dir/out, returns the code and
 * (on success) the output's text in *out_text. */
static int run_one(const char *dir, const char *table, const char *file, const char *content,
                   const char *sql, const char *out, char **out_text, int64_t *rows, wr_err_t *err)
{
    char *in_path = join(dir, file);
    char *out_path = join(dir, out);
    wr_xform_input_t in = {.name = table, .path = in_path};
    int rc;

    write_file(in_path, content);
    rc = wr_xform_run(&in, 1, sql, out_path, rows, err);
    if (out_text != NULL)
        *out_text = rc == 0 ? read_file(out_path) : NULL;
    free(in_path);
    free(out_path);
    return rc;
}

/* ==== CSV input: typing ==== */

static void test_csv_type_affinity(void)
{
    static const char csv[] = "i,r,t,e\n"
                              "42,3.5,hello,\n"
                              "-7,1e3,007,\"\"\n"
                              "0,-.5,\"12\",x\n"
                              "+5,2.,1.2.3,\" 4\"\n"
                              "99999999999999999999,5e,-,\"a\"\"b\"\n";
    char *dir = tmpdir_new(), *out = NULL;
    wr_err_t err = {0};
    int64_t rows = -1;

    ASSERT_OK(run_one(dir, "t", "in.csv", csv,
                      "SELECT typeof(i), typeof(r), typeof(t), typeof(e), i, r, t, e FROM t",
                      "out.csv", &out, &rows, &err));
    ASSERT_EQ(rows, 5);
    ASSERT_STR_EQ(out, "typeof(i),typeof(r),typeof(t),typeof(e),i,r,t,e\n"
                       "integer,real,text,null,42,3.5,hello,\n"
                       "integer,real,text,text,-7,1000.0,007,\"\"\n"
                       "integer,real,integer,text,0,-0.5,12,x\n"
                       "integer,real,text,text,5,2.0,1.2.3,\" 4\"\n"
                       "text,text,text,text,99999999999999999999,5e,-,\"a\"\"b\"\n");
    free(out);
    remove_tree(dir);
    free(dir);
}

static void test_csv_header_names_and_blank_lines(void)
{
    static const char csv[] = "a,A,,a,\"x y\"\n1,2,3,4,5\n\n6,7,8,9,10\n";
    char *dir = tmpdir_new(), *out = NULL;
    wr_err_t err = {0};

    ASSERT_OK(run_one(dir, "t", "in.csv", csv, "SELECT * FROM t", "out.csv", &out, NULL, &err));
    ASSERT_STR_EQ(out, "a,A_2,column3,a_3,x y\n1,2,3,4,5\n6,7,8,9,10\n");
    free(out);
    /* A header-only file is an empty table. */
    ASSERT_OK(
        run_one(dir, "t", "in.csv", "a,b\n", "SELECT b, a FROM t", "out.csv", &out, NULL, &err));
    ASSERT_STR_EQ(out, "b,a\n");
    free(out);
    remove_tree(dir);
    free(dir);
}

static void test_csv_rfc4180_through_sql(void)
{
    /* BOM, CRLF, quoted comma/quote/newline, no final newline. */
    static const char csv[] = "\xEF\xBB\xBFid,txt\r\n"
                              "1,\"a, b\"\r\n"
                              "2,\"two\r\nlines\"\r\n"
                              "3,\"q \"\"x\"\"\"";
    char *dir = tmpdir_new(), *out = NULL;
    wr_err_t err = {0};

    ASSERT_OK(run_one(dir, "t", "in.csv", csv,
                      "SELECT id, txt, length(txt) AS n FROM t ORDER BY id DESC", "out.jsonl", &out,
                      NULL, &err));
    ASSERT_STR_EQ(out, "{\"id\":3,\"txt\":\"q \\\"x\\\"\",\"n\":5}\n"
                       "{\"id\":2,\"txt\":\"two\\r\\nlines\",\"n\":10}\n"
                       "{\"id\":1,\"txt\":\"a, b\",\"n\":4}\n");
    free(out);
    remove_tree(dir);
    free(dir);
}

static void test_csv_errors_name_file_and_line(void)
{
    char *dir = tmpdir_new(), *out = NULL;
    wr_err_t err = {0};

    /* Too few fields, after a row with an embedded newline (so line != row number). */
    ASSERT_EQ(run_one(dir, "t", "r.csv", "a,b\n1,\"x\ny\"\n2\n", "SELECT * FROM t", "o.csv", &out,
                      NULL, &err),
              WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "r.csv:4: expected 2 fields (as in the header), found 1");
    ASSERT_EQ(err.line, 4);
    ASSERT_EQ(
        run_one(dir, "t", "r.csv", "a,b\n1,2,3\n", "SELECT * FROM t", "o.csv", &out, NULL, &err),
        WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "r.csv:2: expected 2 fields (as in the header), found 3");
    ASSERT_EQ(run_one(dir, "t", "u.csv", "a,b\n1,2\n3,\"open\n4,5\n", "SELECT * FROM t", "o.csv",
                      &out, NULL, &err),
              WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "u.csv:3: unterminated quoted field");
    ASSERT_EQ(run_one(dir, "t", "e.csv", "", "SELECT * FROM t", "o.csv", &out, NULL, &err),
              WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "e.csv: empty file");
    ASSERT(out == NULL);
    ASSERT_EQ(count_entries(dir), 3); /* the inputs only: no output, no temporary file */
    remove_tree(dir);
    free(dir);
}

/* ==== JSON-lines input ==== */

static void test_jsonl_nested_and_missing_keys(void)
{
    static const char jl[] = "{\"id\":1,\"name\":\"ann\",\"tags\":[1,\"x\"],"
                             "\"meta\":{\"vip\":true,\"n\":null}}\n"
                             "\n"
                             "  {\"id\":2,\"ok\":false,\"score\":1.5,\"name\":null}\r\n"
                             "{\"ok\":true,\"id\":3,\"big\":9007199254740993,\"uni\":\"\\u00e9\"}";
    char *dir = tmpdir_new(), *out = NULL;
    wr_err_t err = {0};
    int64_t rows = 0;

    ASSERT_OK(run_one(dir, "j", "in.jsonl", jl,
                      "SELECT *, typeof(tags) AS tt, typeof(score) AS ts, json_extract(meta, "
                      "'$.vip') AS vip FROM j",
                      "out.jsonl", &out, &rows, &err));
    ASSERT_EQ(rows, 3);
    ASSERT_STR_EQ(out, "{\"id\":1,\"name\":\"ann\",\"tags\":\"[1,\\\"x\\\"]\","
                       "\"meta\":\"{\\\"vip\\\":true,\\\"n\\\":null}\",\"ok\":null,"
                       "\"score\":null,\"big\":null,\"uni\":null,\"tt\":\"text\","
                       "\"ts\":\"null\",\"vip\":1}\n"
                       "{\"id\":2,\"name\":null,\"tags\":null,\"meta\":null,\"ok\":0,"
                       "\"score\":1.5,\"big\":null,\"uni\":null,\"tt\":\"null\","
                       "\"ts\":\"real\",\"vip\":null}\n"
                       "{\"id\":3,\"name\":null,\"tags\":null,\"meta\":null,\"ok\":1,"
                       "\"score\":null,\"big\":9007199254740993,\"uni\":\"\xC3\xA9\","
                       "\"tt\":\"null\",\"ts\":\"null\",\"vip\":null}\n");
    free(out);
    remove_tree(dir);
    free(dir);
}

static void test_jsonl_columns_from_first_1000_lines(void)
{
    char *dir = tmpdir_new(), *out = NULL;
    wr_buf_t jl;
    wr_err_t err = {0};
    int64_t rows = 0;

    wr_buf_init(&jl);
    for (int i = 1; i <= 1000; i++)
        wr_buf_printf(&jl, "{\"n\":%d}\n", i);
    wr_buf_puts(&jl, "{\"n\":1001,\"late\":1}\n");
    ASSERT_OK(run_one(dir, "j", "in.ndjson", jl.data, "SELECT count(*), sum(n) FROM j", "o.csv",
                      &out, &rows, &err));
    ASSERT_STR_EQ(out, "count(*),sum(n)\n1001,501501\n");
    free(out);
    ASSERT_EQ(
        run_one(dir, "j", "in.ndjson", jl.data, "SELECT late FROM j", "o.csv", &out, NULL, &err),
        WR_EINVALID);
    ASSERT_CONTAINS(err.msg, "no such column: late");
    wr_buf_dispose(&jl);
    remove_tree(dir);
    free(dir);
}

static void test_jsonl_errors_name_file_and_line(void)
{
    char *dir = tmpdir_new();
    wr_err_t err = {0};

    ASSERT_EQ(run_one(dir, "j", "bad.jsonl", "{\"a\":1}\n\n{\"a\":2\n", "SELECT * FROM j", "o.csv",
                      NULL, NULL, &err),
              WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "bad.jsonl:3: invalid JSON");
    ASSERT_EQ(err.line, 3);
    /* Past the 1000 sampled lines, the error comes while the query runs. */
    {
        wr_buf_t jl;
        wr_buf_init(&jl);
        for (int i = 0; i < 1500; i++)
            wr_buf_puts(&jl, "{\"a\":1}\n");
        wr_buf_puts(&jl, "[1]\n");
        ASSERT_EQ(
            run_one(dir, "j", "late.json", jl.data, "SELECT * FROM j", "o.csv", NULL, NULL, &err),
            WR_EPARSE);
        ASSERT_CONTAINS(err.msg, "late.json:1501: expected one JSON object per line, found an "
                                 "array");
        wr_buf_dispose(&jl);
    }
    ASSERT_EQ(count_entries(dir), 2);
    remove_tree(dir);
    free(dir);
}

static void test_format_sniffing(void)
{
    char *dir = tmpdir_new(), *out = NULL;
    wr_err_t err = {0};

    ASSERT_OK(run_one(dir, "t", "data.txt", "\n  {\"a\": 1}\n", "SELECT a + 1 AS b FROM t", "o.csv",
                      &out, NULL, &err));
    ASSERT_STR_EQ(out, "b\n2\n");
    free(out);
    ASSERT_OK(run_one(dir, "t", "data.dat", "a\n1\n", "SELECT a + 1 AS b FROM t", "o.csv", &out,
                      NULL, &err));
    ASSERT_STR_EQ(out, "b\n2\n");
    free(out);
    remove_tree(dir);
    free(dir);
}

/* ==== Queries and output ==== */

/* The normalisation the example pipeline uses (see tools/gen_sales.py). */
static const char sales_sql[] =
    "SELECT DISTINCT order_id, customer_id, product, quantity, unit_price,\n"
    "       round(quantity * unit_price, 2) AS total,\n"
    "       date(CASE\n"
    "              WHEN order_date LIKE '__/__/____'\n"
    "                THEN substr(order_date, 7, 4) || '-' || substr(order_date, 4, 2) || '-' ||\n"
    "                     substr(order_date, 1, 2)\n"
    "              WHEN order_date LIKE '____/__/__' THEN replace(order_date, '/', '-')\n"
    "              ELSE order_date\n"
    "            END) AS order_date,\n"
    "       region\n"
    "FROM raw\n"
    "WHERE quantity IS NOT NULL AND unit_price IS NOT NULL AND quantity > 0\n";

static const char sales_csv[] =
    "order_id,customer_id,product,quantity,unit_price,order_date,region\n"
    "1,C001,Mouse,2,19.99,2026-01-05,North\n"
    "2,C002,\"Cable, USB-C 2m\",3,9.99,05/01/2026,South\n"
    "1,C001,Mouse,2,19.99,2026-01-05,North\n"
    "3,C003,Lamp,,24.75,2026/01/05,East\n"
    "4,C004,Desk,1,,2026-01-05,West\n"
    "5,C005,Pen,-1,7.25,2026-01-05,West\n"
    "6,C006,Hub,1,45.00,2026-01-05T14:23:11,East\n"
    "7,C007,Chair,2,249.99,2026/01/05,North\n"
    "2,C002,\"Cable, USB-C 2m\",3,9.99,2026-01-05,South\n";

static void test_distinct_filter_computed_csv(void)
{
    char *dir = tmpdir_new(), *out = NULL;
    wr_err_t err = {0};
    int64_t rows = 0;

    ASSERT_OK(
        run_one(dir, "raw", "raw.csv", sales_csv, sales_sql, "out/sales.csv", &out, &rows, &err));
    ASSERT_EQ(rows, 4);
    ASSERT_STR_EQ(out, "order_id,customer_id,product,quantity,unit_price,total,order_date,region\n"
                       "1,C001,Mouse,2,19.99,39.98,2026-01-05,North\n"
                       "2,C002,\"Cable, USB-C 2m\",3,9.99,29.97,2026-01-05,South\n"
                       "6,C006,Hub,1,45.0,45.0,2026-01-05,East\n"
                       "7,C007,Chair,2,249.99,499.98,2026-01-05,North\n");
    free(out);
    remove_tree(dir);
    free(dir);
}

static void test_distinct_filter_computed_jsonl(void)
{
    char *dir = tmpdir_new(), *out = NULL;
    wr_err_t err = {0};
    int64_t rows = 0;

    ASSERT_OK(run_one(dir, "raw", "raw.csv", sales_csv,
                      "SELECT DISTINCT region, upper(substr(product, 1, 3)) AS p,\n"
                      "       quantity * 1.0 / 4 AS q, NULL AS missing, x'00ff' AS blob\n"
                      "FROM raw WHERE region IN ('North', 'South') ORDER BY region, p",
                      "sales.json", &out, &rows, &err));
    ASSERT_EQ(rows, 3);
    ASSERT_STR_EQ(out, "{\"region\":\"North\",\"p\":\"CHA\",\"q\":0.5,\"missing\":null,"
                       "\"blob\":\"00ff\"}\n"
                       "{\"region\":\"North\",\"p\":\"MOU\",\"q\":0.5,\"missing\":null,"
                       "\"blob\":\"00ff\"}\n"
                       "{\"region\":\"South\",\"p\":\"CAB\",\"q\":0.75,\"missing\":null,"
                       "\"blob\":\"00ff\"}\n");
    free(out);
    remove_tree(dir);
    free(dir);
}

static void test_join_two_inputs(void)
{
    char *dir = tmpdir_new();
    char *orders = join(dir, "orders.csv"), *products = join(dir, "products.jsonl");
    char *out_path = join(dir, "joined.csv"), *out;
    wr_xform_input_t in[] = {{.name = "orders", .path = orders},
                             {.name = "products", .path = products}};
    wr_buf_t big;
    wr_err_t err = {0};
    int64_t rows = 0;

    write_file(orders, "id,sku,qty\n1,A,2\n2,B,1\n3,Z,5\n4,A,1\n");
    write_file(products, "{\"sku\":\"A\",\"price\":2.5}\n{\"sku\":\"B\",\"price\":10}\n");
    ASSERT_OK(wr_xform_run(in, 2,
                           "SELECT o.id, o.sku, o.qty * p.price AS total FROM orders o "
                           "LEFT JOIN products p ON p.sku = o.sku ORDER BY o.id",
                           out_path, &rows, &err));
    out = read_file(out_path);
    ASSERT_STR_EQ(out, "id,sku,total\n1,A,5.0\n2,B,10\n3,Z,\n4,A,2.5\n");
    free(out);
    /* 3000 x 3000 rows: with a rescan per outer row this would read 9 million rows. */
    wr_buf_init(&big);
    wr_buf_puts(&big, "id,sku,qty\n");
    for (int i = 0; i < 3000; i++)
        wr_buf_printf(&big, "%d,S%d,1\n", i, i);
    write_file(orders, big.data);
    big.len = 0;
    for (int i = 0; i < 3000; i++)
        wr_buf_printf(&big, "{\"sku\":\"S%d\",\"price\":%d}\n", (i * 7) % 3000, i);
    write_file(products, big.data);
    ASSERT_OK(wr_xform_run(in, 2,
                           "SELECT count(*), sum(p.price), (SELECT count(*) FROM products q "
                           "WHERE q.sku = 'S5') FROM orders o JOIN products p ON p.sku = o.sku",
                           out_path, &rows, &err));
    out = read_file(out_path);
    ASSERT_STR_EQ(out, "count(*),sum(p.price),(SELECT count(*) FROM products q WHERE q.sku = "
                       "'S5')\n3000,4498500,1\n");
    free(out);
    wr_buf_dispose(&big);
    free(orders);
    free(products);
    free(out_path);
    remove_tree(dir);
    free(dir);
}

static void test_failed_query_leaves_output_untouched(void)
{
    char *dir = tmpdir_new();
    char *out_path = join(dir, "out.csv"), *out;
    wr_buf_t csv;
    wr_err_t err = {0};

    write_file(out_path, "previous\n");
    /* Fails after 5000 rows were written: a ragged row near the end. */
    wr_buf_init(&csv);
    wr_buf_puts(&csv, "a,b\n");
    for (int i = 0; i < 5000; i++)
        wr_buf_printf(&csv, "%d,x\n", i);
    wr_buf_puts(&csv, "oops\n");
    ASSERT_EQ(run_one(dir, "t", "in.csv", csv.data, "SELECT * FROM t", "out.csv", NULL, NULL, &err),
              WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "in.csv:5002: expected 2 fields");
    /* Fails while running: a runtime SQL error. */
    ASSERT_EQ(run_one(dir, "t", "in.csv", "a\n1\n2\n", "SELECT a, json_extract('{', '$') FROM t",
                      "out.csv", NULL, NULL, &err),
              WR_EINVALID);
    ASSERT_CONTAINS(err.msg, "malformed JSON");
    out = read_file(out_path);
    ASSERT_STR_EQ(out, "previous\n");
    free(out);
    ASSERT_EQ(count_entries(dir), 2); /* in.csv and out.csv: no temporary file left */
    /* A success replaces it. */
    ASSERT_OK(
        run_one(dir, "t", "in.csv", "a\n1\n", "SELECT a FROM t", "out.csv", &out, NULL, &err));
    ASSERT_STR_EQ(out, "a\n1\n");
    ASSERT_EQ(count_entries(dir), 2);
    free(out);
    wr_buf_dispose(&csv);
    free(out_path);
    remove_tree(dir);
    free(dir);
}

static void test_one_statement_only(void)
{
    char *dir = tmpdir_new(), *out = NULL;
    wr_err_t err = {0};

    ASSERT_EQ(run_one(dir, "t", "in.csv", "a\n1\n", "SELECT a FROM t;\n  SELECT 2", "o.csv", NULL,
                      NULL, &err),
              WR_EINVALID);
    ASSERT_CONTAINS(err.msg, "only one SQL statement is allowed");
    ASSERT_EQ(err.line, 2);
    ASSERT_EQ(err.column, 3);
    ASSERT_EQ(run_one(dir, "t", "in.csv", "a\n1\n", "SELECT a FROM t; garbage", "o.csv", NULL, NULL,
                      &err),
              WR_EINVALID);
    ASSERT_CONTAINS(err.msg, "only one SQL statement is allowed");
    ASSERT_EQ(count_entries(dir), 1);
    /* Trailing semicolons and comments are not statements. */
    ASSERT_OK(run_one(dir, "t", "in.csv", "a\n1\n", "SELECT a FROM t; -- done\n;", "o.csv", &out,
                      NULL, &err));
    ASSERT_STR_EQ(out, "a\n1\n");
    free(out);
    remove_tree(dir);
    free(dir);
}

static void test_query_errors(void)
{
    char *dir = tmpdir_new(), *missing;
    wr_xform_input_t in = {.name = NULL};
    wr_err_t err = {0};

    ASSERT_EQ(run_one(dir, "t", "in.csv", "a\n1\n", "SELECT a,\n  nope FROM t", "o.csv", NULL, NULL,
                      &err),
              WR_EINVALID);
    ASSERT_STR_EQ(err.msg, "SQL error at line 2, column 3: no such column: nope");
    ASSERT_EQ(run_one(dir, "t", "in.csv", "a\n1\n", "DELETE FROM t", "o.csv", NULL, NULL, &err),
              WR_EINVALID);
    ASSERT_CONTAINS(err.msg, "may not be modified");
    ASSERT_EQ(run_one(dir, "t", "in.csv", "a\n1\n", "CREATE TABLE x(y)", "o.csv", NULL, NULL, &err),
              WR_EINVALID);
    ASSERT_CONTAINS(err.msg, "must be a query");
    ASSERT_EQ(run_one(dir, "t", "in.csv", "a\n1\n", " -- nothing\n", "o.csv", NULL, NULL, &err),
              WR_EINVALID);
    ASSERT_CONTAINS(err.msg, "empty");
    ASSERT_EQ(run_one(dir, "t", "in.csv", "a\n1\n", "SELECT 1", "o.txt", NULL, NULL, &err),
              WR_EINVALID);
    ASSERT_CONTAINS(err.msg, "unknown format");
    missing = join(dir, "missing.csv");
    in.name = "m";
    in.path = missing;
    ASSERT_EQ(wr_xform_run(&in, 1, "SELECT 1", "/nonexistent-dir-weir/o.csv", NULL, &err),
              UV_ENOENT);
    ASSERT_CONTAINS(err.msg, "input 'm': ");
    ASSERT_CONTAINS(err.msg, "missing.csv: no such file or directory");
    free(missing);
    remove_tree(dir);
    free(dir);
}

static void test_output_parent_dirs_and_no_inputs(void)
{
    char *dir = tmpdir_new();
    char *out_path = join(dir, "a/b/c/out.ndjson"), *out;
    wr_err_t err = {0};
    int64_t rows = 0;

    ASSERT_OK(wr_xform_run(NULL, 0, "VALUES (1, 'x'), (2, NULL)", out_path, &rows, &err));
    ASSERT_EQ(rows, 2);
    out = read_file(out_path);
    ASSERT_STR_EQ(out, "{\"column1\":1,\"column2\":\"x\"}\n{\"column1\":2,\"column2\":null}\n");
    free(out);
    ASSERT_EQ(count_entries(dir), 1);
    free(out_path);
    remove_tree(dir);
    free(dir);
}

/* ==== weir sql ==== */

/* Runs wr_cli_sql() on the arguments (NULL-terminated) with stdout and stderr captured in
 * *out and *errout; returns the exit status. */
static int run_cli(const char *dir, char **out, char **errout, ...)
{
    char *out_path = join(dir, "stdout.txt"), *err_path = join(dir, "stderr.txt");
    char *argv[16];
    int argc = 0;
    int saved_out, saved_err, fo, fe, status;
    const char *arg;
    va_list ap;

    va_start(ap, errout);
    while ((arg = va_arg(ap, const char *)) != NULL) {
        ASSERT(argc < 15);
        argv[argc++] = wr_xstrdup(arg);
    }
    va_end(ap);
    argv[argc] = NULL;
    saved_out = dup(1);
    saved_err = dup(2);
    fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT(saved_out >= 0 && saved_err >= 0 && fo >= 0 && fe >= 0);
    fflush(stdout);
    fflush(stderr);
    ASSERT(dup2(fo, 1) == 1);
    ASSERT(dup2(fe, 2) == 2);
    status = wr_cli_sql(argc, argv);
    fflush(stdout);
    fflush(stderr);
    ASSERT(dup2(saved_out, 1) == 1);
    ASSERT(dup2(saved_err, 2) == 2);
    close(fo);
    close(fe);
    close(saved_out);
    close(saved_err);
    *out = read_file(out_path);
    *errout = read_file(err_path);
    unlink(out_path);
    unlink(err_path);
    free(out_path);
    free(err_path);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return status;
}

typedef struct {
    char *dir, *in_path, *sql_path, *input, *output;
} cli_fixture_t;

static void cli_setup(cli_fixture_t *f)
{
    f->dir = tmpdir_new();
    f->in_path = join(f->dir, "in.csv");
    f->sql_path = join(f->dir, "q.sql");
    f->input = wr_xasprintf("raw=%s", f->in_path);
    f->output = join(f->dir, "res/out.csv");
    write_file(f->in_path, "a,b\n1,2\n3,4\n1,2\n");
    write_file(f->sql_path, "SELECT DISTINCT a + b AS s FROM raw ORDER BY s;\n");
}

static void cli_teardown(cli_fixture_t *f)
{
    remove_tree(f->dir);
    free(f->dir);
    free(f->in_path);
    free(f->sql_path);
    free(f->input);
    free(f->output);
}

static void test_cli_success(void)
{
    cli_fixture_t f;
    char *out, *errout, *want;

    cli_setup(&f);
    ASSERT_EQ(run_cli(f.dir, &out, &errout, "sql", "--input", f.input, "--sql-file", f.sql_path,
                      "--output", f.output, NULL),
              0);
    want = wr_xasprintf("{\"rows\": 2, \"output\": \"%s\"}\n", f.output);
    ASSERT_STR_EQ(out, want);
    ASSERT_STR_EQ(errout, "");
    free(want);
    free(out);
    free(errout);
    out = read_file(f.output);
    ASSERT_STR_EQ(out, "s\n3\n7\n");
    free(out);
    cli_teardown(&f);
}

static void test_cli_failures(void)
{
    cli_fixture_t f;
    char *out, *errout, *bad_input;

    cli_setup(&f);
    ASSERT_EQ(run_cli(f.dir, &out, &errout, "sql", "--input", f.input, "--sql=SELECT nope FROM raw",
                      "--output", f.output, NULL),
              1);
    ASSERT_STR_EQ(out, "{\"errorType\": \"Weir.SqlError\", \"errorMessage\": \"SQL error at "
                       "line 1, column 8: no such column: nope\"}\n");
    ASSERT_CONTAINS(errout, "no such column: nope");
    free(out);
    free(errout);
    bad_input = wr_xasprintf("raw=%s/nope.csv", f.dir);
    ASSERT_EQ(run_cli(f.dir, &out, &errout, "sql", "--input", bad_input, "--sql", "SELECT 1",
                      "--output", f.output, NULL),
              1);
    ASSERT_CONTAINS(out, "{\"errorType\": \"Weir.InputError\", \"errorMessage\": \"input "
                         "'raw': ");
    ASSERT_CONTAINS(out, "nope.csv: no such file or directory\"}\n");
    ASSERT_CONTAINS(errout, "nope.csv: no such file or directory");
    free(out);
    free(errout);
    free(bad_input);
    write_file(f.in_path, "a,b\n1\n");
    ASSERT_EQ(run_cli(f.dir, &out, &errout, "sql", "--input", f.input, "--sql", "SELECT a FROM raw",
                      "--output", f.output, NULL),
              1);
    ASSERT_CONTAINS(out, "\"Weir.InputError\"");
    ASSERT_CONTAINS(out, "in.csv:2: expected 2 fields");
    free(out);
    free(errout);
    ASSERT(read_file(f.output) == NULL);
    cli_teardown(&f);
}

static void test_cli_usage(void)
{
    cli_fixture_t f;
    char *out, *errout;

    cli_setup(&f);
    ASSERT_EQ(run_cli(f.dir, &out, &errout, "sql", "--input", "1bad=x.csv", "--sql", "SELECT 1",
                      "--output", "o.csv", NULL),
              2);
    ASSERT_STR_EQ(out, "");
    ASSERT_CONTAINS(errout, "expected NAME=PATH");
    free(out);
    free(errout);
    ASSERT_EQ(run_cli(f.dir, &out, &errout, "sql", "--sql", "SELECT 1", "--sql-file", f.sql_path,
                      "--output", "o.csv", NULL),
              2);
    ASSERT_STR_EQ(out, "");
    ASSERT_CONTAINS(errout, "exactly one of --sql and --sql-file");
    free(out);
    free(errout);
    ASSERT_EQ(run_cli(f.dir, &out, &errout, "sql", "--sql", "SELECT 1", NULL), 2);
    ASSERT_CONTAINS(errout, "--output is required");
    free(out);
    free(errout);
    ASSERT_EQ(run_cli(f.dir, &out, &errout, "sql", "--help", NULL), 0);
    ASSERT_CONTAINS(out, "usage: weir sql --input NAME=PATH");
    ASSERT_STR_EQ(errout, "");
    free(out);
    free(errout);
    cli_teardown(&f);
}

/* ==== Several files as one table ==== */

static void test_multi_file_union_hive_and_schema_only(void)
{
    char *dir = tmpdir_new();
    char *d1 = join(dir, "dt=1"), *d2 = join(dir, "dt=2");
    char *a, *b, *c, *out_path = join(dir, "o.csv"), *out;
    const char *files[3];
    bool skip[3] = {false, false, false};
    wr_xform_input_t in = {.name = "t"};
    wr_err_t err = {0};
    int64_t rows = -1;

    ASSERT_OK(mkdir(d1, 0755));
    ASSERT_OK(mkdir(d2, 0755));
    a = join(d1, "a.csv");
    b = join(d2, "b.csv");
    c = join(d2, "c.jsonl");
    write_file(a, "id,x\n1,10\n2,20\n");
    write_file(b, "x,id,y\n30,3,z\n");
    write_file(c, "{\"id\": 4, \"y\": \"j\"}\n");
    files[0] = a;
    files[1] = b;
    files[2] = c;
    in.files = files;
    in.n_files = 3;
    in.schema_only = skip;
    in.base = dir;
    /* Columns: the union by name in first-seen order, then the key=value folder. */
    ASSERT_OK(wr_xform_run(&in, 1, "SELECT * FROM t ORDER BY id", out_path, &rows, &err));
    ASSERT_EQ(rows, 4);
    out = read_file(out_path);
    ASSERT_STR_EQ(out, "id,x,y,dt\n1,10,,1\n2,20,,1\n3,30,z,2\n4,,j,2\n");
    free(out);
    /* Schema-only files give their columns, not their rows. */
    skip[0] = skip[2] = true;
    ASSERT_OK(wr_xform_run(&in, 1, "SELECT * FROM t", out_path, &rows, &err));
    out = read_file(out_path);
    ASSERT_STR_EQ(out, "id,x,y,dt\n3,30,z,2\n");
    free(out);
    skip[1] = true;
    ASSERT_OK(wr_xform_run(&in, 1, "SELECT count(*) AS n FROM t", out_path, &rows, &err));
    out = read_file(out_path);
    ASSERT_STR_EQ(out, "n\n0\n");
    free(out);
    /* Joins through the lookup index work on multi-file tables too. */
    skip[0] = skip[1] = skip[2] = false;
    ASSERT_OK(wr_xform_run(&in, 1,
                           "SELECT t.id, u.dt FROM t JOIN t AS u ON u.id = t.id + 1 ORDER BY 1",
                           out_path, &rows, &err));
    ASSERT_EQ(rows, 3);
    /* A malformed file names itself; an empty list is an error. */
    write_file(b, "x,id,y\n30,3\n");
    ASSERT_EQ(wr_xform_run(&in, 1, "SELECT * FROM t", out_path, &rows, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "b.csv:2");
    in.n_files = 0;
    ASSERT(wr_xform_run(&in, 1, "SELECT * FROM t", out_path, &rows, &err) < 0);
    ASSERT_CONTAINS(err.msg, "no files");
    free(a);
    free(b);
    free(c);
    free(d1);
    free(d2);
    free(out_path);
    remove_tree(dir);
    free(dir);
}

static void test_cli_folder_glob_list_and_skip(void)
{
    char *dir = tmpdir_new();
    char *sub = join(dir, "in"), *p1, *p2, *list = join(dir, "list.txt");
    char *out = NULL, *errout = NULL;
    char cwd[4096];
    int status;

    ASSERT_OK(mkdir(sub, 0755));
    p1 = join(sub, "1.csv");
    p2 = join(sub, "2.csv");
    write_file(p1, "a\n1\n");
    write_file(p2, "a\n2\n");
    write_file(list, "in/2.csv\n");
    ASSERT(getcwd(cwd, sizeof(cwd)) != NULL);
    ASSERT_OK(chdir(dir)); /* relative paths, as a task's child process sees them */
    status = run_cli(dir, &out, &errout, "sql", "--input", "t=in", "--sql",
                     "SELECT sum(a) AS s FROM t", "--output", "o.csv", "--report-files", NULL);
    ASSERT_EQ(status, 0);
    ASSERT_CONTAINS(out, "\"files\": [\"in/1.csv\", \"in/2.csv\"]");
    free(out);
    free(errout);
    status =
        run_cli(dir, &out, &errout, "sql", "--input", "t=in/*.csv", "--skip-files", "list.txt",
                "--sql", "SELECT sum(a) AS s FROM t", "--output", "o.csv", "--report-files", NULL);
    ASSERT_EQ(status, 0);
    ASSERT_CONTAINS(out, "\"files\": [\"in/1.csv\"]");
    free(out);
    free(errout);
    status = run_cli(dir, &out, &errout, "sql", "--input", "t=@list.txt", "--sql",
                     "SELECT sum(a) AS s FROM t", "--output", "o.csv", NULL);
    ASSERT_EQ(status, 0);
    free(out);
    free(errout);
    status = run_cli(dir, &out, &errout, "sql", "--input", "t=catalog:db.t", "--db", "none.db",
                     "--sql", "SELECT 1", "--output", "o.csv", NULL);
    ASSERT_EQ(status, 1);
    ASSERT_CONTAINS(out, "Weir.InputError");
    free(out);
    free(errout);
    ASSERT_OK(chdir(cwd));
    free(p1);
    free(p2);
    free(sub);
    free(list);
    remove_tree(dir);
    free(dir);
}

static const wr_test_t tests[] = {
    {"csv_type_affinity", test_csv_type_affinity},
    {"csv_header_names_and_blank_lines", test_csv_header_names_and_blank_lines},
    {"csv_rfc4180_through_sql", test_csv_rfc4180_through_sql},
    {"csv_errors_name_file_and_line", test_csv_errors_name_file_and_line},
    {"jsonl_nested_and_missing_keys", test_jsonl_nested_and_missing_keys},
    {"jsonl_columns_from_first_1000_lines", test_jsonl_columns_from_first_1000_lines},
    {"jsonl_errors_name_file_and_line", test_jsonl_errors_name_file_and_line},
    {"format_sniffing", test_format_sniffing},
    {"distinct_filter_computed_csv", test_distinct_filter_computed_csv},
    {"distinct_filter_computed_jsonl", test_distinct_filter_computed_jsonl},
    {"join_two_inputs", test_join_two_inputs},
    {"failed_query_leaves_output_untouched", test_failed_query_leaves_output_untouched},
    {"one_statement_only", test_one_statement_only},
    {"query_errors", test_query_errors},
    {"output_parent_dirs_and_no_inputs", test_output_parent_dirs_and_no_inputs},
    {"cli_success", test_cli_success},
    {"cli_failures", test_cli_failures},
    {"cli_usage", test_cli_usage},
    {"multi_file_union_hive_and_schema_only", test_multi_file_union_hive_and_schema_only},
    {"cli_folder_glob_list_and_skip", test_cli_folder_glob_list_and_skip},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
