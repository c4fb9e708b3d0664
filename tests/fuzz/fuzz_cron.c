/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz_cron.c: 5-field cron expressions and macros (engine/cron.c). A parsed
 * expression is also searched: three fire times in a row in UTC from a few starting points
 * (the epoch, today, near the 9999-12-31 end of the search range, before 1970) and in zones
 * with DST (America/New_York, Australia/Lord_Howe's 30-minute shift). Expressions come from
 * DAG files and the command line; the input is capped at 4 KiB. */
#include "engine/cron.h"
#include "tests/fuzz/fuzz.h"

static void walk(const wr_cron_t *c, const char *tz, int64_t t)
{
    wr_err_t err;

    for (int i = 0; i < 3; i++) {
        int64_t next = 0;
        int off = 0;
        char text[32];
        if (wr_cron_next(c, tz, t, &next, &off, &err) != 0)
            return;
        if (next <= t)
            abort(); /* "strictly after" */
        wr_cron_format(next, off, text);
        t = next;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_cron_t *c = NULL;
    char *expr;
    wr_err_t err;

    if (size > 4096)
        return 0;
    expr = fuzz_cstr(data, size);
    memset(&err, 0, sizeof(err));
    if (wr_cron_parse(expr, &c, &err) == 0) {
        walk(c, NULL, 0);
        walk(c, "UTC", INT64_C(1767225600));                /* 2026-01-01 */
        walk(c, NULL, INT64_C(253402300799) - 86400 * 400); /* late 9998 */
        walk(c, NULL, INT64_C(-2208988800));                /* 1900-01-01 */
        walk(c, "America/New_York", INT64_C(1772323200));   /* 2026-03-01 */
        walk(c, "Australia/Lord_Howe", INT64_C(1775000000));
        wr_cron_free(c);
    }
    free(expr);
    return 0;
}
