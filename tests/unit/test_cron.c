/* SPDX-License-Identifier: MIT
 * tests/unit/test_cron.c: engine/cron.h, parsing and next fire times.
 *
 * The expected values follow ../shared/conformance/cron/README.md: Vixie day rule, Sunday as
 * 0 or 7, and the DST rules for interval schedules (hour set = all 24 hours) and time-of-day
 * schedules (everything else). Zones come from the system tz database. */
#include "engine/cron.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/harness.h"

/* ==== Helpers ==== */

static int digits(const char *s, int pos, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++)
        v = v * 10 + (s[pos + i] - '0');
    return v;
}

/* "2026-03-29T00:30:00Z" (UTC only) to Unix seconds. */
static int64_t utc(const char *iso)
{
    struct tm tm;

    ASSERT(strlen(iso) == 20 && iso[19] == 'Z');
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = digits(iso, 0, 4) - 1900;
    tm.tm_mon = digits(iso, 5, 2) - 1;
    tm.tm_mday = digits(iso, 8, 2);
    tm.tm_hour = digits(iso, 11, 2);
    tm.tm_min = digits(iso, 14, 2);
    tm.tm_sec = digits(iso, 17, 2);
    return (int64_t)timegm(&tm);
}

/* Checks the fire times of `expr` after `from`, chaining each one into the next call. */
static void expect_fires(const char *expr, const char *tz, const char *from,
                         const char *const *want, size_t n)
{
    wr_cron_t *c = NULL;
    wr_err_t err;
    int64_t t = utc(from);

    memset(&err, 0, sizeof(err));
    if (wr_cron_parse(expr, &c, &err) != 0)
        ASSERT_FAIL_("parse \"%s\": %s", expr, err.msg);
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        int off = -1;

        ASSERT_OK(wr_cron_next(c, tz, t, &t, &off, &err));
        wr_cron_format(t, off, buf);
        ASSERT_STR_EQ(buf, want[i]);
    }
    wr_cron_free(c);
}

#define EXPECT_FIRES(expr, tz, from, ...)                            \
    expect_fires(expr, tz, from, (const char *const[]){__VA_ARGS__}, \
                 sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void expect_invalid(const char *expr, const char *fragment)
{
    wr_cron_t *c = NULL;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (wr_cron_parse(expr, &c, &err) != WR_EPARSE)
        ASSERT_FAIL_("\"%s\" should be rejected", expr);
    ASSERT(c == NULL);
    ASSERT_EQ(err.code, WR_EPARSE);
    ASSERT_CONTAINS(err.msg, fragment);
}

/* ==== Parsing ==== */

static void parse_valid(void)
{
    static const char *const ok[] = {
        "* * * * *",
        "00 09 * * *",
        "  0  9\t*  * *  ",
        "5,10-15,30-45/5 * * * *",
        "0 0 1 feb-dec/2 *",
        "0 0 * * mon-fri/2",
        "0 0 * * 5-sat",
        "0 0 * * sat-sun",
        "0 0 * JAN,jul *",
        "30 8 * Dec Tue",
        "0 0 * * 1-7/2",
        "0-10/5,5 * * * *",
        "0,7 * * * 0,7",
        "*/60 * * * *",
        "0 0 29 2 *",
        "0 0 30 2 1",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
        "  @daily  ",
    };

    for (size_t i = 0; i < WR_ARRAY_SIZE(ok); i++) {
        wr_cron_t *c = NULL;
        wr_err_t err;

        memset(&err, 0, sizeof(err));
        if (wr_cron_parse(ok[i], &c, &err) != 0)
            ASSERT_FAIL_("\"%s\": %s", ok[i], err.msg);
        ASSERT(c != NULL);
        wr_cron_free(c);
    }
    wr_cron_free(NULL); /* a no-op */
}

static void parse_invalid_fields(void)
{
    expect_invalid("", "empty expression");
    expect_invalid(" \t ", "empty expression");
    expect_invalid("* * * *", "got 4");
    expect_invalid("0 0 12 * * *", "got 6");
    expect_invalid("0 0 1 1 * 2026", "seconds and year");
}

static void parse_invalid_values(void)
{
    expect_invalid("60 * * * *", "minute: item \"60\"");
    expect_invalid("0 24 * * *", "hour: item \"24\"");
    expect_invalid("0 0 32 * *", "day-of-month: item \"32\"");
    expect_invalid("0 0 0 * *", "out of range 1-31");
    expect_invalid("0 0 * 13 *", "month: item \"13\"");
    expect_invalid("0 0 * * 8", "day-of-week: item \"8\"");
    expect_invalid("1-60 * * * *", "60 is out of range 0-59");
    expect_invalid("1,99 * * * *", "item \"99\"");
    expect_invalid("99999999999999999999 * * * *", "out of range");
}

static void parse_invalid_steps_and_ranges(void)
{
    expect_invalid("*/0 * * * *", "at least 1");
    expect_invalid("*/ * * * *", "missing step");
    expect_invalid("*/x * * * *", "must be a number");
    expect_invalid("/5 * * * *", "missing value before '/'");
    expect_invalid("5/15 * * * *", "needs '*' or a range");
    expect_invalid("5-2 * * * *", "reversed range");
    expect_invalid("0 0 * dec-jan *", "reversed range");
    expect_invalid("0 0 * * sat-mon", "reversed range");
    expect_invalid("1- * * * *", "missing value");
}

static void parse_invalid_names(void)
{
    expect_invalid("0 0 * jam *", "unknown name \"jam\"");
    expect_invalid("0 0 * * sunday", "unknown name \"sunday\"");
    expect_invalid("0 0 * * mo", "unknown name \"mo\"");
    expect_invalid("0 0 * * JAN", "day-of-week");
    expect_invalid("MON * * * *", "names are not allowed in the minute field");
    expect_invalid("0 0 mon * *", "day-of-month");
}

static void parse_invalid_syntax(void)
{
    expect_invalid("1,,2 * * * *", "empty list item");
    expect_invalid("1, * * * *", "empty list item");
    expect_invalid("1-2-3 * * * *", "unexpected '-'");
    expect_invalid("*/5/2 * * * *", "unexpected '/'");
    expect_invalid("1.5 * * * *", "'.'");
    expect_invalid("0x10 * * * *", "unexpected \"x\"");
    expect_invalid("+5 * * * *", "'+'");
}

static void parse_invalid_macros(void)
{
    expect_invalid("@fortnightly", "unknown macro");
    expect_invalid("@dayly", "did you mean @daily?");
    expect_invalid("@reboot", "@reboot is not supported");
    expect_invalid("@daily 0", "must be the whole expression");
    expect_invalid("@hourly * * * * *", "must be the whole expression");
}

static void parse_invalid_extensions(void)
{
    expect_invalid("0 0 L * *", "'L' is a non-standard extension");
    expect_invalid("0 0 15W * *", "'W' is a non-standard extension");
    expect_invalid("0 0 LW * *", "non-standard");
    expect_invalid("0 0 * * 5#3", "'#' is a non-standard extension");
    expect_invalid("0 0 * * 5L", "'L'");
    expect_invalid("H * * * *", "'H'");
    expect_invalid("0 0 ? * *", "'?'");
}

static void parse_never_fires(void)
{
    expect_invalid("0 0 30 2 *", "never fires");
    expect_invalid("0 0 31 4,6,9,11 *", "never fires");
    expect_invalid("0 0 30,31 feb *", "never fires");
}

/* ==== Fire times ==== */

static void next_steps(void)
{
    /* A step of 7 minutes restarts at 0 in the next hour. */
    EXPECT_FIRES("*/7 * * * *", "UTC", "2026-01-01T00:50:00Z", "2026-01-01T00:56:00+00:00",
                 "2026-01-01T01:00:00+00:00", "2026-01-01T01:07:00+00:00");
    EXPECT_FIRES("0 0 1-30/7 * *", "UTC", "2026-01-02T00:00:00Z", "2026-01-08T00:00:00+00:00",
                 "2026-01-15T00:00:00+00:00", "2026-01-22T00:00:00+00:00",
                 "2026-01-29T00:00:00+00:00", "2026-02-01T00:00:00+00:00");
    EXPECT_FIRES("0-10/5,5 * * * *", NULL, "2026-01-01T00:00:00Z", "2026-01-01T00:05:00+00:00",
                 "2026-01-01T00:10:00+00:00", "2026-01-01T01:00:00+00:00");
}

static void next_strictly_after(void)
{
    /* `after` on a fire time excludes it, and seconds inside a minute are honoured. */
    EXPECT_FIRES("17 * * * *", "UTC", "2026-02-10T08:17:00Z", "2026-02-10T09:17:00+00:00");
    EXPECT_FIRES("17 * * * *", "UTC", "2026-02-10T08:16:59Z", "2026-02-10T08:17:00+00:00");
}

static void next_names(void)
{
    EXPECT_FIRES("30 8 * Dec Tue", "UTC", "2026-01-01T00:00:00Z", "2026-12-01T08:30:00+00:00",
                 "2026-12-08T08:30:00+00:00");
    EXPECT_FIRES("0 0 * * MON,wed,Fri", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00+00:00",
                 "2026-01-05T00:00:00+00:00", "2026-01-07T00:00:00+00:00");
    EXPECT_FIRES("0 0 1 feb-dec/2 *", "UTC", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00+00:00",
                 "2026-04-01T00:00:00+00:00");
}

static void next_sunday_is_0_and_7(void)
{
    EXPECT_FIRES("0 12 * * 7", "UTC", "2026-03-02T00:00:00Z", "2026-03-08T12:00:00+00:00",
                 "2026-03-15T12:00:00+00:00");
    EXPECT_FIRES("0 12 * * 0", "UTC", "2026-03-02T00:00:00Z", "2026-03-08T12:00:00+00:00",
                 "2026-03-15T12:00:00+00:00");
    EXPECT_FIRES("0 0 * * 5-7", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00+00:00",
                 "2026-01-03T00:00:00+00:00", "2026-01-04T00:00:00+00:00",
                 "2026-01-09T00:00:00+00:00");
    EXPECT_FIRES("0 0 * * sat-sun", "UTC", "2026-01-01T00:00:00Z", "2026-01-03T00:00:00+00:00",
                 "2026-01-04T00:00:00+00:00", "2026-01-10T00:00:00+00:00");
}

static void next_vixie_or(void)
{
    /* Both day fields restricted: the 13th OR a Friday. */
    EXPECT_FIRES("0 0 13 * 5", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00+00:00",
                 "2026-01-09T00:00:00+00:00", "2026-01-13T00:00:00+00:00",
                 "2026-01-16T00:00:00+00:00");
    /* A step is a restriction too: odd days OR Mondays. */
    EXPECT_FIRES("0 0 */2 * 1", "UTC", "2026-01-01T00:00:00Z", "2026-01-03T00:00:00+00:00",
                 "2026-01-05T00:00:00+00:00", "2026-01-07T00:00:00+00:00");
    /* A full range is a restriction: every day. */
    EXPECT_FIRES("0 0 1-31 * 1", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00+00:00",
                 "2026-01-03T00:00:00+00:00");
    /* One day field is "*": AND, so Mondays in February only. */
    EXPECT_FIRES("0 0 * 2 1", "UTC", "2026-01-01T00:00:00Z", "2026-02-02T00:00:00+00:00",
                 "2026-02-09T00:00:00+00:00", "2026-02-16T00:00:00+00:00",
                 "2026-02-23T00:00:00+00:00", "2027-02-01T00:00:00+00:00");
    /* @weekly is "0 0 * * 0": day-of-month is "*", so Sundays only. */
    EXPECT_FIRES("@weekly", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00+00:00",
                 "2026-01-11T00:00:00+00:00");
}

static void next_leap_day(void)
{
    /* Years apart, and across 2100, which is not a leap year. */
    EXPECT_FIRES("0 0 29 2 *", "Europe/London", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00+00:00",
                 "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00",
                 "2040-02-29T00:00:00+00:00", "2044-02-29T00:00:00+00:00");
    EXPECT_FIRES("0 0 29 2 *", "UTC", "2097-01-01T00:00:00Z", "2104-02-29T00:00:00+00:00");
}

static void next_zones(void)
{
    EXPECT_FIRES("17 * * * *", "Asia/Kolkata", "2026-02-10T08:00:00Z", "2026-02-10T14:17:00+05:30");
    EXPECT_FIRES("0 2 * * *", "America/New_York", "2026-01-20T12:00:00Z",
                 "2026-01-21T02:00:00-05:00");
    EXPECT_FIRES("0 9 * * *", "America/New_York", "2026-03-06T12:00:00Z",
                 "2026-03-06T09:00:00-05:00", "2026-03-07T09:00:00-05:00",
                 "2026-03-08T09:00:00-04:00");
}

static void next_utc_offset_dst(void)
{
    wr_cron_t *c = NULL;
    int64_t t = 0;
    int off = 0;

    ASSERT_OK(wr_cron_parse("0 12 * * *", &c, NULL));
    ASSERT_OK(wr_cron_next(c, "Europe/London", utc("2026-07-01T00:00:00Z"), &t, &off, NULL));
    ASSERT_EQ(t, utc("2026-07-01T11:00:00Z"));
    ASSERT_EQ(off, 3600);
    wr_cron_free(c);
}

static void next_utc_offset_winter_and_utc(void)
{
    wr_cron_t *c = NULL;
    int64_t t = 0;
    int off = 0;

    ASSERT_OK(wr_cron_parse("0 12 * * *", &c, NULL));
    ASSERT_OK(wr_cron_next(c, "America/New_York", utc("2026-01-01T00:00:00Z"), &t, &off, NULL));
    ASSERT_EQ(t, utc("2026-01-01T17:00:00Z"));
    ASSERT_EQ(off, -5 * 3600);
    ASSERT_OK(wr_cron_next(c, NULL, utc("2026-01-01T00:00:00Z"), &t, &off, NULL));
    ASSERT_EQ(t, utc("2026-01-01T12:00:00Z"));
    ASSERT_EQ(off, 0);
    wr_cron_free(c);
}

/* ==== DST ==== */

static void dst_gap_time_of_day(void)
{
    /* 01:30 does not exist in London on 2026-03-29: it fires at 02:00 BST, the end of the gap. */
    EXPECT_FIRES("30 1 * * *", "Europe/London", "2026-03-29T00:30:00Z", "2026-03-29T02:00:00+01:00",
                 "2026-03-30T01:30:00+01:00");
    /* From the transition instant itself, that fire is not after `from`. */
    EXPECT_FIRES("30 1 * * *", "Europe/London", "2026-03-29T01:00:00Z",
                 "2026-03-30T01:30:00+01:00");
    /* Several gap times collapse into one fire, merged with a real match at 02:00 BST. */
    EXPECT_FIRES("15 0-2 * * *", "Europe/London", "2026-03-29T00:30:00Z",
                 "2026-03-29T02:00:00+01:00", "2026-03-29T02:15:00+01:00",
                 "2026-03-30T00:15:00+01:00");
    EXPECT_FIRES("0,20,40 2 * * *", "America/New_York", "2026-03-08T06:00:00Z",
                 "2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00");
    /* Lord Howe's 30-minute gap: 02:00 becomes 02:30 LHDT. */
    EXPECT_FIRES("0 */2 * * *", "Australia/Lord_Howe", "2026-10-03T15:00:00Z",
                 "2026-10-04T02:30:00+11:00", "2026-10-04T04:00:00+11:00");
}

static void dst_gap_interval(void)
{
    /* All 24 hours: readings that do not exist are skipped. */
    EXPECT_FIRES("*/15 * * * *", "Europe/London", "2026-03-29T00:30:00Z",
                 "2026-03-29T00:45:00+00:00", "2026-03-29T02:00:00+01:00",
                 "2026-03-29T02:15:00+01:00");
    EXPECT_FIRES("15 * * * *", "Australia/Lord_Howe", "2026-10-03T15:00:00Z",
                 "2026-10-04T03:15:00+11:00");
    EXPECT_FIRES("30 * * * *", "America/New_York", "2026-03-08T06:30:00Z",
                 "2026-03-08T03:30:00-04:00");
}

static void dst_repeat_time_of_day(void)
{
    /* 01:30 happens twice in London on 2026-10-25: it fires at the first only. */
    EXPECT_FIRES("30 1 * * *", "Europe/London", "2026-10-24T23:30:00Z", "2026-10-25T01:30:00+01:00",
                 "2026-10-26T01:30:00+00:00");
    /* Resuming between the two occurrences: it already fired. */
    EXPECT_FIRES("30 1 * * *", "Europe/London", "2026-10-25T01:00:00Z",
                 "2026-10-26T01:30:00+00:00");
    EXPECT_FIRES("*/20 1 * * *", "Europe/London", "2026-10-24T23:30:00Z",
                 "2026-10-25T01:00:00+01:00", "2026-10-25T01:20:00+01:00",
                 "2026-10-25T01:40:00+01:00", "2026-10-26T01:00:00+00:00");
}

static void dst_repeat_interval(void)
{
    /* All 24 hours (however written): a repeated reading fires at both occurrences. */
    EXPECT_FIRES("30 * * * *", "Europe/London", "2026-10-24T23:30:00Z", "2026-10-25T01:30:00+01:00",
                 "2026-10-25T01:30:00+00:00", "2026-10-25T02:30:00+00:00");
    EXPECT_FIRES("30 0-23 * * *", "Europe/London", "2026-10-24T23:30:00Z",
                 "2026-10-25T01:30:00+01:00", "2026-10-25T01:30:00+00:00");
    EXPECT_FIRES("45 * * * *", "Australia/Lord_Howe", "2026-04-04T14:00:00Z",
                 "2026-04-05T01:45:00+11:00", "2026-04-05T01:45:00+10:30",
                 "2026-04-05T02:45:00+10:30");
}

/* ==== Limits, zones and formatting ==== */

static void next_not_found(void)
{
    wr_cron_t *c = NULL;
    wr_err_t err;
    int64_t t = 0;
    int off = 0;

    /* Searches end at 9999-12-31: the last yearly fire is 9999-01-01. */
    ASSERT_OK(wr_cron_parse("@yearly", &c, NULL));
    ASSERT_OK(wr_cron_next(c, "UTC", utc("9998-06-01T00:00:00Z"), &t, &off, &err));
    ASSERT_EQ(t, utc("9999-01-01T00:00:00Z"));
    ASSERT_EQ(wr_cron_next(c, "UTC", t, &t, &off, &err), WR_ENOTFOUND);
    ASSERT_EQ(err.code, WR_ENOTFOUND);
    ASSERT_EQ(wr_cron_next(c, "Europe/London", INT64_MAX / 2, &t, &off, &err), WR_ENOTFOUND);
    wr_cron_free(c);
}

static void zone_valid_names(void)
{
    ASSERT(wr_cron_zone_valid("UTC"));
    ASSERT(wr_cron_zone_valid("Europe/London"));
    ASSERT(wr_cron_zone_valid("Australia/Lord_Howe"));
    ASSERT(!wr_cron_zone_valid(NULL));
    ASSERT(!wr_cron_zone_valid(""));
    ASSERT(!wr_cron_zone_valid("Mars/Olympus_Mons"));
}

static void zone_refused_names(void)
{
    ASSERT(!wr_cron_zone_valid("Europe"));           /* a directory */
    ASSERT(!wr_cron_zone_valid("zone.tab"));         /* a file, but not a zone */
    ASSERT(!wr_cron_zone_valid("../../etc/passwd")); /* outside the database */
    ASSERT(!wr_cron_zone_valid("Europe/../Europe/London"));
    ASSERT(!wr_cron_zone_valid("/usr/share/zoneinfo/UTC"));
    ASSERT(!wr_cron_zone_valid("EST5EDT,M3.2.0,M11.1.0")); /* POSIX rules, not a name */
}

static void next_unknown_zone(void)
{
    wr_cron_t *c = NULL;
    wr_err_t err;
    int64_t t = 0;
    int off = 0;

    ASSERT_OK(wr_cron_parse("* * * * *", &c, NULL));
    ASSERT_EQ(wr_cron_next(c, "Mars/Olympus_Mons", 0, &t, &off, &err), WR_EPARSE);
    ASSERT_CONTAINS(err.msg, "Mars/Olympus_Mons");
    wr_cron_free(c);
}

static void tz_restored(void)
{
    wr_cron_t *c = NULL;
    int64_t t = 0;
    int off = 0;

    ASSERT_OK(wr_cron_parse("0 0 * * *", &c, NULL));
    /* The test is single-threaded here, so touching the environment is safe. */
    ASSERT_OK(setenv("TZ", "Asia/Tokyo", 1)); /* NOLINT(concurrency-mt-unsafe) */
    ASSERT_OK(wr_cron_next(c, "America/New_York", 0, &t, &off, NULL));
    ASSERT_STR_EQ(getenv("TZ"), "Asia/Tokyo"); /* NOLINT(concurrency-mt-unsafe) */
    ASSERT_OK(unsetenv("TZ"));                 /* NOLINT(concurrency-mt-unsafe) */
    ASSERT_OK(wr_cron_next(c, "Europe/London", 0, &t, &off, NULL));
    ASSERT(getenv("TZ") == NULL); /* NOLINT(concurrency-mt-unsafe) */
    wr_cron_free(c);
}

static void format_offsets(void)
{
    char buf[32];
    int64_t t = utc("2026-03-29T01:00:00Z");

    wr_cron_format(t, 3600, buf);
    ASSERT_STR_EQ(buf, "2026-03-29T02:00:00+01:00");
    wr_cron_format(t, 0, buf);
    ASSERT_STR_EQ(buf, "2026-03-29T01:00:00+00:00");
    wr_cron_format(t, -(3 * 3600 + 1800), buf);
    ASSERT_STR_EQ(buf, "2026-03-28T21:30:00-03:30");
    wr_cron_format(t, 5 * 3600 + 1800, buf);
    ASSERT_STR_EQ(buf, "2026-03-29T06:30:00+05:30");
    wr_cron_format(t, -75, buf); /* London's local mean time before 1847 */
    ASSERT_STR_EQ(buf, "2026-03-29T00:58:45-00:01:15");
}

/* Concurrent callers in different zones must each see their own zone. */
static void *zone_worker(void *arg)
{
    const char *tz = arg;
    int want = strcmp(tz, "Asia/Kolkata") == 0 ? 5 * 3600 + 1800 : -5 * 3600;
    wr_cron_t *c = NULL;
    int64_t t = utc("2026-01-05T00:00:00Z");
    int off = 0;

    ASSERT_OK(wr_cron_parse("*/10 * * * *", &c, NULL));
    for (int i = 0; i < 300; i++) {
        ASSERT_OK(wr_cron_next(c, tz, t, &t, &off, NULL));
        ASSERT_EQ(off, want);
    }
    wr_cron_free(c);
    return NULL;
}

static void next_threads(void)
{
    pthread_t th[4];
    static const char *const zones[4] = {"Asia/Kolkata", "America/New_York", "Asia/Kolkata",
                                         "America/New_York"};

    for (int i = 0; i < 4; i++)
        ASSERT_OK(pthread_create(&th[i], NULL, zone_worker, (void *)(uintptr_t)zones[i]));
    for (int i = 0; i < 4; i++)
        ASSERT_OK(pthread_join(th[i], NULL));
}

static const wr_test_t tests[] = {
    {"parse_valid", parse_valid},
    {"parse_invalid_fields", parse_invalid_fields},
    {"parse_invalid_values", parse_invalid_values},
    {"parse_invalid_steps_and_ranges", parse_invalid_steps_and_ranges},
    {"parse_invalid_names", parse_invalid_names},
    {"parse_invalid_syntax", parse_invalid_syntax},
    {"parse_invalid_macros", parse_invalid_macros},
    {"parse_invalid_extensions", parse_invalid_extensions},
    {"parse_never_fires", parse_never_fires},
    {"next_steps", next_steps},
    {"next_strictly_after", next_strictly_after},
    {"next_names", next_names},
    {"next_sunday_is_0_and_7", next_sunday_is_0_and_7},
    {"next_vixie_or", next_vixie_or},
    {"next_leap_day", next_leap_day},
    {"next_zones", next_zones},
    {"next_utc_offset_dst", next_utc_offset_dst},
    {"next_utc_offset_winter_and_utc", next_utc_offset_winter_and_utc},
    {"dst_gap_time_of_day", dst_gap_time_of_day},
    {"dst_gap_interval", dst_gap_interval},
    {"dst_repeat_time_of_day", dst_repeat_time_of_day},
    {"dst_repeat_interval", dst_repeat_interval},
    {"next_not_found", next_not_found},
    {"zone_valid_names", zone_valid_names},
    {"zone_refused_names", zone_refused_names},
    {"next_unknown_zone", next_unknown_zone},
    {"tz_restored", tz_restored},
    {"format_offsets", format_offsets},
    {"next_threads", next_threads},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
