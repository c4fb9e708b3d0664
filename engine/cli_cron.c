/* SPDX-License-Identifier: MIT
 * engine/cli_cron.c: `weir cron next`, a command-line view of engine/cron.h.
 *
 * Only fire times go to stdout, so scripts and the conformance runner can compare lines;
 * everything else goes to stderr. Exit status: 0 ok, 1 invalid expression or zone, 2 usage. */
#include "engine/cli_cron.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/common.h"
#include "engine/cron.h"

#define COUNT_MAX 100000

static void usage(FILE *fp)
{
    fputs("usage: weir cron next \"EXPR\" [--from ISO8601] [--count N] [--tz ZONE]\n"
          "\n"
          "Prints the next N fire times of a cron expression strictly after --from, one per\n"
          "line, as the local time in ZONE with its UTC offset (2026-03-29T03:00:00+01:00).\n"
          "EXPR has 5 fields (minute hour day-of-month month day-of-week) or is one of\n"
          "@yearly @annually @monthly @weekly @daily @midnight @hourly.\n"
          "\n"
          "  --from T   start instant with Z or an offset: 2026-03-29T01:00Z,\n"
          "             2026-03-29T01:00:00Z, 2026-03-29T02:00:00+01:00 (default: now)\n"
          "  --count N  how many fire times to print, 1-100000 (default: 1)\n"
          "  --tz ZONE  IANA time zone, e.g. Europe/London (default: UTC)\n"
          "  --help     print this help\n"
          "\n"
          "Exit status: 0 ok, 1 invalid expression or zone, 2 bad usage.\n",
          fp);
}

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Reads exactly n digits at *pp. */
static bool read_digits(const char **pp, int n, int *out)
{
    const char *p = *pp;
    int v = 0;

    for (int i = 0; i < n; i++, p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        v = v * 10 + (*p - '0');
    }
    *pp = p;
    *out = v;
    return true;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (after Howard Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* YYYY-MM-DDTHH:MM[:SS[.fff]] followed by Z or an offset (+HH:MM, +HHMM, +HH). A fraction is
 * dropped: fire times are whole minutes, so "strictly after" gives the same answer. */
static bool parse_instant(const char *s, int64_t *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 1;

    if (!read_digits(&p, 4, &y) || *p++ != '-' || !read_digits(&p, 2, &mo) || *p++ != '-' ||
        !read_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return false;
    p++;
    if (!read_digits(&p, 2, &h) || *p++ != ':' || !read_digits(&p, 2, &mi))
        return false;
    if (*p == ':') {
        p++;
        if (!read_digits(&p, 2, &sec))
            return false;
        if (*p == '.' || *p == ',') {
            p++;
            if (!isdigit((unsigned char)*p))
                return false;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (!read_digits(&p, 2, &oh))
            return false;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)*p) && !read_digits(&p, 2, &om))
            return false;
    } else {
        return false; /* a bare local time would be ambiguous: ask for the offset */
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 ||
        d > (mo == 2 && is_leap(y) ? 29 : mdays[mo - 1]) || h > 23 || mi > 59 || sec > 59 ||
        oh > 23 || om > 59)
        return false;
    *out = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec -
           (int64_t)sign * (oh * 3600 + om * 60);
    return true;
}

static bool parse_count(const char *s, int *out)
{
    long v = 0;

    if (*s == '\0')
        return false;
    for (const char *p = s; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        v = v * 10 + (*p - '0');
        if (v > COUNT_MAX)
            return false;
    }
    if (v < 1)
        return false;
    *out = (int)v;
    return true;
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "weir cron: %s%s%s%s\n", what, arg ? " \"" : "", arg ? arg : "",
            arg ? "\"" : "");
    fputs("usage: weir cron next \"EXPR\" [--from ISO8601] [--count N] [--tz ZONE]\n", stderr);
    return 2;
}

static int cron_next(const char *expr, const char *from, const char *count_text, const char *tz)
{
    wr_cron_t *cron = NULL;
    wr_err_t err;
    int64_t t;
    int count = 1;
    int rc;

    if (from == NULL)
        t = wr_now_ms() / 1000;
    else if (!parse_instant(from, &t)) {
        rc = usage_error("bad --from (expected e.g. 2026-03-29T01:00:00Z or "
                         "2026-03-29T02:00:00+01:00):",
                         from);
        goto done;
    }
    if (count_text != NULL && !parse_count(count_text, &count)) {
        rc = usage_error("bad --count (expected a whole number from 1 to 100000):", count_text);
        goto done;
    }
    if (wr_cron_parse(expr, &cron, &err) != 0) {
        fprintf(stderr, "weir cron: invalid expression \"%s\": %s\n", expr, err.msg);
        rc = 1;
        goto done;
    }
    if (!wr_cron_zone_valid(tz)) {
        fprintf(stderr, "weir cron: invalid time zone \"%s\": not a zone in the tz database\n", tz);
        rc = 1;
        goto done;
    }
    for (int i = 0; i < count; i++) {
        char buf[32];
        int off;

        if (wr_cron_next(cron, tz, t, &t, &off, &err) != 0) {
            fprintf(stderr, "weir cron: %s\n", err.msg);
            rc = 1;
            goto done;
        }
        wr_cron_format(t, off, buf);
        printf("%s\n", buf);
    }
    rc = 0;
done:
    wr_cron_free(cron);
    if (fflush(stdout) != 0 && rc == 0) {
        fputs("weir cron: cannot write to stdout\n", stderr);
        rc = 1;
    }
    return rc;
}

int wr_cli_cron(int argc, char **argv)
{
    const char *expr = NULL, *from = NULL, *count = NULL, *tz = "UTC";
    bool positional_only = false;

    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
    }
    if (argc < 2)
        return usage_error("missing subcommand (expected \"next\")", NULL);
    if (strcmp(argv[1], "next") != 0)
        return usage_error("unknown subcommand (expected \"next\"):", argv[1]);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        static const char *const opts[] = {"--from", "--count", "--tz"};
        const char **slots[] = {&from, &count, &tz};
        bool matched = false;

        if (positional_only || a[0] != '-' || a[1] == '\0') {
            if (expr != NULL)
                return usage_error("unexpected argument:", a);
            expr = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            positional_only = true;
            continue;
        }
        for (size_t k = 0; k < WR_ARRAY_SIZE(opts) && !matched; k++) {
            size_t n = strlen(opts[k]);
            if (strncmp(a, opts[k], n) != 0 || (a[n] != '\0' && a[n] != '='))
                continue;
            matched = true;
            if (a[n] == '=') {
                *slots[k] = a + n + 1;
            } else if (i + 1 < argc) {
                *slots[k] = argv[++i];
            } else {
                return usage_error("missing value for", opts[k]);
            }
        }
        if (!matched)
            return usage_error("unknown option:", a);
    }
    if (expr == NULL)
        return usage_error("missing cron expression", NULL);
    return cron_next(expr, from, count, tz);
}
