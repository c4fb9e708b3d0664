/* SPDX-License-Identifier: MIT
 * tests/unit/test_csv.c: the streaming CSV reader and writer (engine/csv.c): RFC 4180 quoting,
 * line ends, line numbers, BOM, empty vs quoted-empty fields, errors, 64 KiB window edges,
 * and writer quoting with a round trip through the reader. Reads from memory (fmemopen). */
#include "engine/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/common.h"
#include "tests/unit/harness.h"

/* A reader over a copy of `text` (len bytes). */
typedef struct {
    FILE *fp;
    char *copy;
    wr_csv_reader_t *r;
    const wr_csv_field_t *f;
    size_t n;
    wr_err_t err;
} rd_t;

static void rd_open(rd_t *rd, const char *text, size_t len)
{
    memset(rd, 0, sizeof(*rd));
    rd->copy = wr_xmalloc(len + 1);
    memcpy(rd->copy, text, len);
    /* fmemopen() of 0 bytes is not portable; an empty input is one unused byte. */
    rd->fp = fmemopen(rd->copy, len > 0 ? len : 1, "rb");
    ASSERT(rd->fp != NULL);
    if (len == 0)
        ASSERT_OK(fseek(rd->fp, 1, SEEK_SET));
    rd->r = wr_csv_reader_new(rd->fp, "t.csv");
}

static void rd_close(rd_t *rd)
{
    wr_csv_reader_free(rd->r);
    fclose(rd->fp);
    free(rd->copy);
}

static int rd_next(rd_t *rd)
{
    return wr_csv_read(rd->r, &rd->f, &rd->n, &rd->err);
}

/* Reads one record and checks it against `want` (fields joined with '|') and its line. */
static void expect_record(rd_t *rd, const char *want, long line)
{
    wr_buf_t got;

    ASSERT_EQ(rd_next(rd), 1);
    wr_buf_init(&got);
    for (size_t i = 0; i < rd->n; i++) {
        if (i > 0)
            wr_buf_puts(&got, "|");
        wr_buf_append(&got, rd->f[i].data, rd->f[i].len);
    }
    ASSERT_STR_EQ(wr_buf_cstr(&got), want);
    ASSERT_EQ(wr_csv_record_line(rd->r), line);
    wr_buf_dispose(&got);
}

static void test_simple_and_quoted(void)
{
    static const char in[] = "id,name,note\n"
                             "1,\"Cable, USB\",plain\n"
                             "2,\"say \"\"hi\"\"\",\"\"\"\"\n";
    rd_t rd;

    rd_open(&rd, in, strlen(in));
    expect_record(&rd, "id|name|note", 1);
    ASSERT_EQ(rd.n, 3);
    ASSERT(!rd.f[0].quoted);
    expect_record(&rd, "1|Cable, USB|plain", 2);
    ASSERT(rd.f[1].quoted);
    ASSERT(!rd.f[2].quoted);
    expect_record(&rd, "2|say \"hi\"|\"", 3);
    ASSERT_EQ(rd.f[2].len, 1);
    ASSERT_EQ(rd_next(&rd), 0);
    ASSERT_EQ(rd_next(&rd), 0); /* end of input is sticky */
    rd_close(&rd);
}

static void test_embedded_newline_line_numbers(void)
{
    static const char in[] = "a,b\n"
                             "1,\"two\n\nlines\"\n"
                             "2,\"three\r\nmore\nlines\"\n"
                             "3,x\n"
                             "4,\"open\n";
    rd_t rd;

    rd_open(&rd, in, strlen(in));
    expect_record(&rd, "a|b", 1);
    expect_record(&rd, "1|two\n\nlines", 2);
    expect_record(&rd, "2|three\r\nmore\nlines", 5);
    expect_record(&rd, "3|x", 8);
    ASSERT_EQ(rd_next(&rd), WR_EPARSE);
    ASSERT_STR_EQ(rd.err.msg, "t.csv:9: unterminated quoted field");
    ASSERT_EQ(rd.err.line, 9);
    rd_close(&rd);
}

static void test_crlf_and_cr(void)
{
    static const char in[] = "a,b\r\n1,2\r\n\"x\r\ny\",3\r\n4,5\r6,7";
    rd_t rd;

    rd_open(&rd, in, strlen(in));
    expect_record(&rd, "a|b", 1);
    expect_record(&rd, "1|2", 2);
    ASSERT_EQ(rd.f[1].len, 1); /* no CR left in the last field */
    expect_record(&rd, "x\r\ny|3", 3);
    expect_record(&rd, "4|5", 5);
    expect_record(&rd, "6|7", 6); /* a lone CR ends a line too */
    ASSERT_EQ(rd_next(&rd), 0);
    rd_close(&rd);
}

static void test_no_final_newline(void)
{
    static const char in[] = "a,b\n1,\"q\"";
    rd_t rd;

    rd_open(&rd, in, strlen(in));
    expect_record(&rd, "a|b", 1);
    expect_record(&rd, "1|q", 2);
    ASSERT(rd.f[1].quoted);
    ASSERT_EQ(rd_next(&rd), 0);
    rd_close(&rd);

    rd_open(&rd, "x,", 2); /* a trailing comma is one more, empty, field */
    expect_record(&rd, "x|", 1);
    ASSERT_EQ(rd.n, 2);
    ASSERT_EQ(rd_next(&rd), 0);
    rd_close(&rd);
}

static void test_bom(void)
{
    static const char in[] = "\xEF\xBB\xBFid,name\n1,\xEF\xBB\xBFx\n";
    rd_t rd;

    rd_open(&rd, in, strlen(in));
    expect_record(&rd, "id|name", 1);
    ASSERT_EQ(rd.f[0].len, 2);
    expect_record(&rd, "1|\xEF\xBB\xBFx", 2); /* only the file's first BOM is dropped */
    rd_close(&rd);

    rd_open(&rd, "\xEF\xBB\xBF", 3);
    ASSERT_EQ(rd_next(&rd), 0);
    rd_close(&rd);
}

static void test_empty_vs_quoted_empty(void)
{
    static const char in[] = ",\"\",a\n\n";
    rd_t rd;

    rd_open(&rd, in, strlen(in));
    expect_record(&rd, "||a", 1);
    ASSERT_EQ(rd.n, 3);
    ASSERT_EQ(rd.f[0].len, 0);
    ASSERT(!rd.f[0].quoted);
    ASSERT_EQ(rd.f[1].len, 0);
    ASSERT(rd.f[1].quoted);
    ASSERT_STR_EQ(rd.f[1].data, "");
    expect_record(&rd, "", 2); /* a blank line: one empty unquoted field */
    ASSERT_EQ(rd.n, 1);
    ASSERT(!rd.f[0].quoted);
    ASSERT_EQ(rd_next(&rd), 0);
    rd_close(&rd);

    rd_open(&rd, "", 0);
    ASSERT_EQ(rd_next(&rd), 0);
    rd_close(&rd);
}

static void test_ragged_rows_are_reported_as_read(void)
{
    static const char in[] = "a,b,c\n1,2\n1,2,3,4\n";
    rd_t rd;

    /* The reader returns what is there; the caller (the SQL table) judges the count. */
    rd_open(&rd, in, strlen(in));
    expect_record(&rd, "a|b|c", 1);
    expect_record(&rd, "1|2", 2);
    ASSERT_EQ(rd.n, 2);
    expect_record(&rd, "1|2|3|4", 3);
    ASSERT_EQ(rd.n, 4);
    rd_close(&rd);
}

static void test_quote_inside_unquoted_and_after_closing(void)
{
    rd_t rd;

    rd_open(&rd, "5\" pipe,x\n", 10);
    expect_record(&rd, "5\" pipe|x", 1);
    ASSERT(!rd.f[0].quoted);
    rd_close(&rd);

    rd_open(&rd, "a\n\"ab\"c,d\n", 10);
    expect_record(&rd, "a", 1);
    ASSERT_EQ(rd_next(&rd), WR_EPARSE);
    ASSERT_STR_EQ(rd.err.msg, "t.csv:2: unexpected character after closing quote");
    rd_close(&rd);
}

/* Fields and quotes that straddle the reader's 64 KiB window, and a long quoted field. */
static void test_window_boundaries(void)
{
    wr_buf_t in, big;
    rd_t rd;

    wr_buf_init(&in);
    wr_buf_init(&big);
    for (int i = 0; i < 70000; i++)
        wr_buf_append(&big, i % 1000 == 999 ? "\"" : "x", 1);
    wr_buf_puts(&in, "h\n");
    for (int k = 0; k < 10; k++) {
        /* A quoted field whose "" escape starts 5 bytes before to 4 bytes after a multiple
         * of 64 KiB, so the pair, or the closing quote, is split between two reads. */
        size_t target;
        wr_buf_puts(&in, "\"");
        target = (in.len / 65536 + 1) * 65536 + (size_t)k - 5;
        while (in.len < target)
            wr_buf_puts(&in, "y");
        wr_buf_puts(&in, "\"\"z\"\n");
    }
    wr_buf_puts(&in, "\"");
    for (size_t i = 0; i < big.len; i++) {
        if (big.data[i] == '"')
            wr_buf_puts(&in, "\"");
        wr_buf_append(&in, &big.data[i], 1);
    }
    wr_buf_puts(&in, "\"\r\nend");
    rd_open(&rd, in.data, in.len);
    expect_record(&rd, "h", 1);
    for (int k = 0; k < 10; k++) {
        ASSERT_EQ(rd_next(&rd), 1);
        ASSERT_EQ(rd.n, 1);
        ASSERT(rd.f[0].len >= 2);
        ASSERT_STR_EQ(rd.f[0].data + rd.f[0].len - 2, "\"z");
        ASSERT_EQ(strspn(rd.f[0].data, "y"), rd.f[0].len - 2);
        ASSERT_EQ(wr_csv_record_line(rd.r), k + 2);
    }
    ASSERT_EQ(rd_next(&rd), 1);
    ASSERT_EQ(rd.f[0].len, big.len);
    ASSERT(memcmp(rd.f[0].data, big.data, big.len) == 0);
    expect_record(&rd, "end", 13);
    ASSERT_EQ(rd_next(&rd), 0);
    rd_close(&rd);
    wr_buf_dispose(&in);
    wr_buf_dispose(&big);
}

static char *write_to_string(void (*fn)(FILE *))
{
    char *s = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&s, &n);

    ASSERT(fp != NULL);
    fn(fp);
    ASSERT_OK(fclose(fp));
    return s;
}

static void write_sample(FILE *fp)
{
    const char *row1[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\rx",
                          NULL,    "",    " lead",      "trail ",     "in side"};
    const char *row2[] = {"x", "y"};
    const size_t lens2[] = {1, 0};

    wr_csv_write_record(fp, row1, NULL, WR_ARRAY_SIZE(row1));
    wr_csv_write_record(fp, row2, lens2, 2);
    wr_csv_write_field(fp, NULL, 0);
    putc('\n', fp);
}

static void test_writer_quoting(void)
{
    char *s = write_to_string(write_sample);

    ASSERT_STR_EQ(s, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rx\",,\"\",\" lead\","
                     "\"trail \",in side\n"
                     "x,\"\"\n"
                     "\n");
    free(s);
}

static void test_writer_round_trip(void)
{
    char *s = write_to_string(write_sample);
    rd_t rd;

    rd_open(&rd, s, strlen(s));
    ASSERT_EQ(rd_next(&rd), 1);
    ASSERT_EQ(rd.n, 10);
    ASSERT_STR_EQ(rd.f[2].data, "say \"hi\"");
    ASSERT_STR_EQ(rd.f[3].data, "two\nlines");
    ASSERT_STR_EQ(rd.f[4].data, "cr\rx");
    ASSERT(rd.f[5].len == 0 && !rd.f[5].quoted); /* NULL comes back as unquoted empty */
    ASSERT(rd.f[6].len == 0 && rd.f[6].quoted);  /* "" comes back as quoted empty */
    ASSERT_STR_EQ(rd.f[7].data, " lead");
    ASSERT_STR_EQ(rd.f[8].data, "trail ");
    ASSERT_EQ(wr_csv_record_line(rd.r), 1);
    expect_record(&rd, "x|", 4); /* the embedded LF and lone CR each count as a line */
    ASSERT(rd.f[1].quoted);
    rd_close(&rd);
    free(s);
}

static const wr_test_t tests[] = {
    {"simple_and_quoted", test_simple_and_quoted},
    {"embedded_newline_line_numbers", test_embedded_newline_line_numbers},
    {"crlf_and_cr", test_crlf_and_cr},
    {"no_final_newline", test_no_final_newline},
    {"bom", test_bom},
    {"empty_vs_quoted_empty", test_empty_vs_quoted_empty},
    {"ragged_rows_are_reported_as_read", test_ragged_rows_are_reported_as_read},
    {"quote_inside_unquoted_and_after_closing", test_quote_inside_unquoted_and_after_closing},
    {"window_boundaries", test_window_boundaries},
    {"writer_quoting", test_writer_quoting},
    {"writer_round_trip", test_writer_round_trip},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
