/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz_csv.c: the streaming CSV reader (engine/csv.c) over the input as a file
 * (fmemopen), then a round trip: every record read is written back with wr_csv_write_record
 * and must read back the same, field for field (an unquoted empty field is a missing value).
 * CSV files have no size cap (memory is bounded by the longest record); the fuzzer's own
 * -max_len bounds the input. */
#include <stdbool.h>
#include <stdio.h>

#include "engine/csv.h"
#include "tests/fuzz/fuzz.h"

#define MAX_RECORDS 100000

/* Reads every record of fp and writes each back to `copy`; *status is the last
 * wr_csv_read() result (0: the whole input was read). */
static void read_all(FILE *fp, FILE *copy, int *status)
{
    wr_csv_reader_t *r = wr_csv_reader_new(fp, "fuzz.csv");
    const wr_csv_field_t *f;
    size_t n;
    wr_err_t err;
    int rc = 0;

    memset(&err, 0, sizeof(err));
    for (int i = 0; i < MAX_RECORDS && (rc = wr_csv_read(r, &f, &n, &err)) == 1; i++) {
        const char *data[64];
        size_t lens[64];
        if (n == 0)
            abort(); /* a record has at least one field */
        for (size_t j = 0; j < n; j++)
            if (f[j].data[f[j].len] != '\0')
                abort();
        (void)wr_csv_record_line(r);
        if (n > 64)
            continue;
        for (size_t j = 0; j < n; j++) {
            data[j] = f[j].len == 0 && !f[j].quoted ? NULL : f[j].data;
            lens[j] = f[j].len;
        }
        wr_csv_write_record(copy, data, lens, n);
    }
    *status = rc;
    wr_csv_reader_free(r);
}

/* Reads two sources side by side; aborts when a record differs. */
static void compare(FILE *a, FILE *b)
{
    wr_csv_reader_t *ra = wr_csv_reader_new(a, "a.csv"), *rb = wr_csv_reader_new(b, "b.csv");
    const wr_csv_field_t *fa, *fb;
    size_t na, nb;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    for (int i = 0; i < MAX_RECORDS; i++) {
        int rca = wr_csv_read(ra, &fa, &na, &err);
        int rcb;
        if (rca != 1)
            break;
        if (na > 64) /* not written back: stop comparing */
            break;
        rcb = wr_csv_read(rb, &fb, &nb, &err);
        if (rcb != 1 || na != nb)
            abort();
        for (size_t j = 0; j < na; j++) {
            bool missing_a = fa[j].len == 0 && !fa[j].quoted;
            bool missing_b = fb[j].len == 0 && !fb[j].quoted;
            if (missing_a != missing_b || fa[j].len != fb[j].len ||
                memcmp(fa[j].data, fb[j].data, fa[j].len) != 0)
                abort();
        }
    }
    wr_csv_reader_free(ra);
    wr_csv_reader_free(rb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *out = NULL;
    size_t out_len = 0;
    FILE *fp, *copy;
    int status = 0;

    if (size == 0 || size > (16u << 20))
        return 0; /* glibc's fmemopen wants a non-empty buffer */
    buf = fuzz_cstr(data, size);
    if ((fp = fmemopen(buf, size, "r")) == NULL || (copy = open_memstream(&out, &out_len)) == NULL)
        abort();
    read_all(fp, copy, &status);
    fclose(copy);
    /* Only a whole, well-formed file must survive the round trip. */
    if (status == 0 && out_len > 0) {
        FILE *a = fmemopen(buf, size, "r"), *b = fmemopen(out, out_len, "r");
        if (a == NULL || b == NULL)
            abort();
        compare(a, b);
        fclose(a);
        fclose(b);
    }
    fclose(fp);
    free(out);
    free(buf);
    return 0;
}
