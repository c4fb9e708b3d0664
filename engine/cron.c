/* SPDX-License-Identifier: MIT
 * engine/cron.c: cron expression parsing and next-fire computation with IANA time zones.
 *
 * Parsing turns each of the five fields into a bit set. The search then walks local calendar
 * dates (pure arithmetic, so a Feb 29 schedule skips years of dates in microseconds) and only
 * for a date that matches the month and day rules asks the C library about the zone: two
 * localtime_r() calls tell whether the offset is constant around that date, and only on a
 * transition date is the transition instant found by bisection. With the offset and the
 * transition known, every wall time of the date maps to its instants by arithmetic.
 *
 * DST (conformance/cron/README.md): a schedule is a fixed set of instants. "Interval"
 * schedules, whose hour set is all 24 hours, fire at every instant whose wall reading matches:
 * a non-existent time is skipped and a repeated one fires twice. Every other schedule is
 * "time-of-day": a wall time fires once, at its first occurrence, and a wall time that falls
 * in a gap fires at the transition instant, the first valid instant after the gap. Because the
 * set does not depend on where the search starts, asking again from any earlier point never
 * adds a fire time (a restart inside a repeated hour does not run a 01:30 job twice).
 *
 * The zone data is the C library's: the TZ variable names the zone file and tzset() loads it.
 * TZ is process-global, so the switch happens under tz_lock and the previous value is put
 * back before the lock is released. Nothing else in weir reads local time (it logs in UTC). */
#include "engine/cron.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZONEINFO_DIR  "/usr/share/zoneinfo"
#define ZONE_NAME_MAX 128

#define DAY_SECS INT64_C(86400)
/* Valid expressions fire at least once every 8 years (Feb 29 across a skipped leap year such
 * as 2100); 12 years of dates bounds the search with room to spare. */
#define SEARCH_DAYS 4392 /* 12 * 366 */
/* Searches stay inside years 1..9999, where every time_t and struct tm conversion is exact. */
#define T_MIN (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define T_MAX (253402300799LL) /* 9999-12-31T23:59:59Z */

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

struct wr_cron_s {
    uint64_t bits[F_COUNT]; /* bit v set: value v matches; day-of-week 7 is folded into 0 */
    bool dom_star;          /* day-of-month was written exactly "*" (Vixie OR rule) */
    bool dow_star;          /* day-of-week was written exactly "*" */
};

/* ==== Parsing ==== */

typedef struct {
    const char *name;         /* field name used in error messages */
    int min, max;             /* inclusive range of values that may be written */
    const char *const *names; /* three-letter names for values names_base.., or NULL */
    int names_base;
    const char *names_hint; /* "jan..dec" for error messages */
} field_spec_t;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const field_spec_t field_specs[F_COUNT] = {
    {"minute", 0, 59, NULL, 0, NULL},
    {"hour", 0, 23, NULL, 0, NULL},
    {"day-of-month", 1, 31, NULL, 0, NULL},
    {"month", 1, 12, month_names, 1, "jan..dec"},
    {"day-of-week", 0, 7, dow_names, 0, "sun..sat"},
};

static const struct {
    const char *name;
    const char *expansion;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

static const char *const macro_names[] = {"@yearly", "@annually", "@monthly", "@weekly",
                                          "@daily",  "@midnight", "@hourly",  NULL};

/* Items are quoted in messages; a runaway item is cut so the message still fits. */
#define ITEM_SHOWN 40

WR_PRINTF(5, 6)
static int item_error(wr_err_t *err, const field_spec_t *f, const char *item, size_t len,
                      const char *fmt, ...)
{
    char problem[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    return wr_err_set(err, WR_EPARSE, "%s: item \"%.*s%s\": %s", f->name,
                      (int)(len > ITEM_SHOWN ? ITEM_SHOWN : len), item,
                      len > ITEM_SHOWN ? "..." : "", problem);
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The letters of Quartz/Jenkins extensions that Vixie cron and cronie reject. */
static bool is_extension_word(const char *w, size_t n)
{
    return (n == 1 && strchr("LlWwHh", w[0]) != NULL) || (n == 2 && strncasecmp(w, "lw", 2) == 0);
}

/* Explains why the character at p cannot appear where it does. */
static int bad_char(wr_err_t *err, const field_spec_t *f, const char *item, size_t len,
                    const char *p)
{
    const char *end = item + len;
    unsigned char ch = (unsigned char)*p;

    if (ch == '#' || ch == '?')
        return item_error(err, f, item, len, "'%c' is a non-standard extension (not supported)",
                          ch);
    if (isalpha(ch)) {
        const char *w = p;
        while (p < end && isalpha((unsigned char)*p))
            p++;
        if (is_extension_word(w, (size_t)(p - w)))
            return item_error(err, f, item, len,
                              "'%.*s' is a non-standard extension (not supported)", (int)(p - w),
                              w);
        return item_error(err, f, item, len, "unexpected \"%.*s\"", (int)(p - w), w);
    }
    if (ch == '-' || ch == '/')
        return item_error(err, f, item, len, "unexpected '%c'", ch);
    if (isgraph(ch))
        return item_error(err, f, item, len, "unexpected character '%c'", ch);
    return item_error(err, f, item, len, "unexpected character 0x%02x", ch);
}

/* Reads one number or name at *pp. *by_name tells which it was. */
static int parse_value(const field_spec_t *f, const char *item, size_t len, const char **pp,
                       int *out, bool *by_name, wr_err_t *err)
{
    const char *p = *pp, *end = item + len;

    if (p < end && isdigit((unsigned char)*p)) {
        const char *digits = p;
        long v = 0;
        while (p < end && isdigit((unsigned char)*p)) {
            if (v < 1000000) /* saturate: anything this big is out of range anyway */
                v = v * 10 + (*p - '0');
            p++;
        }
        if (v < f->min || v > f->max)
            return item_error(err, f, item, len, "%.*s is out of range %d-%d",
                              (int)(p - digits > ITEM_SHOWN ? ITEM_SHOWN : p - digits), digits,
                              f->min, f->max);
        *out = (int)v;
        *by_name = false;
        *pp = p;
        return 0;
    }
    if (p < end && isalpha((unsigned char)*p)) {
        const char *w = p;
        size_t n;
        while (p < end && isalpha((unsigned char)*p))
            p++;
        n = (size_t)(p - w);
        if (is_extension_word(w, n))
            return item_error(err, f, item, len,
                              "'%.*s' is a non-standard extension (not supported)", (int)n, w);
        if (f->names == NULL)
            return item_error(err, f, item, len, "names are not allowed in the %s field", f->name);
        for (int i = 0; n == 3 && f->names[i] != NULL; i++) {
            if (strncasecmp(w, f->names[i], 3) == 0) {
                *out = f->names_base + i;
                *by_name = true;
                *pp = p;
                return 0;
            }
        }
        return item_error(err, f, item, len, "unknown name \"%.*s\" (expected three letters: %s)",
                          (int)n, w, f->names_hint);
    }
    if (p == end)
        return item_error(err, f, item, len, "missing value at the end");
    if (*p == '-' || *p == '/')
        return item_error(err, f, item, len, "missing value before '%c'", *p);
    return bad_char(err, f, item, len, p);
}

/* One list item: "*", "N", "A-B", "*\/S" or "A-B/S". Sets its values in *bits. */
static int parse_item(const field_spec_t *f, const char *item, size_t len, uint64_t *bits,
                      wr_err_t *err)
{
    const char *p = item, *end = item + len;
    int lo = 0, hi = 0, step = 1, rc;
    bool range = false, by_name = false;

    if (*p == '*') {
        lo = f->min;
        hi = f->max;
        range = true;
        p++;
    } else {
        rc = parse_value(f, item, len, &p, &lo, &by_name, err);
        if (rc != 0)
            return rc;
        hi = lo;
        if (p < end && *p == '-') {
            p++;
            rc = parse_value(f, item, len, &p, &hi, &by_name, err);
            if (rc != 0)
                return rc;
            range = true;
            /* "sat-sun" means Saturday and Sunday, as cronie and croniter read it. */
            if (f->names == dow_names && by_name && hi == 0 && lo > 0)
                hi = 7;
        }
    }
    if (p < end && *p == '/') {
        p++;
        if (!range)
            return item_error(err, f, item, len,
                              "a step needs '*' or a range before it (write %d-%d/S)", lo, f->max);
        if (p == end)
            return item_error(err, f, item, len, "missing step after '/'");
        if (!isdigit((unsigned char)*p))
            return item_error(err, f, item, len, "the step after '/' must be a number");
        step = 0;
        while (p < end && isdigit((unsigned char)*p)) {
            if (step < 1000000)
                step = step * 10 + (*p - '0');
            p++;
        }
        if (step == 0)
            return item_error(err, f, item, len, "the step must be at least 1");
    }
    if (p != end)
        return bad_char(err, f, item, len, p);
    if (lo > hi)
        return item_error(err, f, item, len,
                          "reversed range (%d-%d: the start must not exceed the end)", lo, hi);
    for (int v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << v;
    return 0;
}

/* A comma list of items. */
static int parse_field(const field_spec_t *f, const char *text, size_t len, uint64_t *bits,
                       wr_err_t *err)
{
    const char *p = text, *end = text + len;

    *bits = 0;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;
        int rc;

        if (stop == p)
            return wr_err_set(err, WR_EPARSE, "%s: \"%.*s\" has an empty list item", f->name,
                              (int)(len > ITEM_SHOWN ? ITEM_SHOWN : len), text);
        rc = parse_item(f, p, (size_t)(stop - p), bits, err);
        if (rc != 0)
            return rc;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

static int days_in_month(int64_t year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

/* Rejects day fields that no real date satisfies, such as Feb 30. Only possible when the
 * day-of-week is "*" (AND rule): a restricted weekday occurs in every month. */
static int check_can_fire(const wr_cron_t *c, const char *const *tok, const size_t *tlen,
                          wr_err_t *err)
{
    if (!c->dow_star || c->dom_star)
        return 0;
    for (int m = 1; m <= 12; m++) {
        int last = days_in_month(2000, m); /* a leap year: Feb 29 is a real date */
        uint64_t days = (((uint64_t)1 << (last + 1)) - 1) & ~(uint64_t)1;
        if ((c->bits[F_MONTH] >> m & 1) && (c->bits[F_DOM] & days) != 0)
            return 0;
    }
    return wr_err_set(err, WR_EPARSE,
                      "never fires: day-of-month \"%.*s\" does not occur in month \"%.*s\"",
                      (int)(tlen[F_DOM] > ITEM_SHOWN ? ITEM_SHOWN : tlen[F_DOM]), tok[F_DOM],
                      (int)(tlen[F_MONTH] > ITEM_SHOWN ? ITEM_SHOWN : tlen[F_MONTH]), tok[F_MONTH]);
}

/* Expands a macro; `p` points at '@'. *fields gets the expansion. */
static int parse_macro(const char *p, const char **fields, wr_err_t *err)
{
    const char *w = p;
    size_t n;
    char word[32];
    const char *hint;

    while (*p != '\0' && !is_blank(*p))
        p++;
    n = (size_t)(p - w);
    while (is_blank(*p))
        p++;
    if (*p != '\0')
        return wr_err_set(err, WR_EPARSE, "macro \"%.*s\" must be the whole expression",
                          (int)(n > ITEM_SHOWN ? ITEM_SHOWN : n), w);
    for (size_t i = 0; i < WR_ARRAY_SIZE(macros); i++) {
        if (strlen(macros[i].name) == n && memcmp(macros[i].name, w, n) == 0) {
            *fields = macros[i].expansion;
            return 0;
        }
    }
    if (n == 7 && memcmp(w, "@reboot", 7) == 0)
        return wr_err_set(err, WR_EPARSE, "@reboot is not supported (it has no fire times)");
    if (n >= sizeof(word))
        n = sizeof(word) - 1;
    for (size_t i = 0; i < n; i++)
        word[i] = (char)tolower((unsigned char)w[i]);
    word[n] = '\0';
    hint = wr_closest(word, macro_names);
    return wr_err_set(err, WR_EPARSE,
                      "unknown macro \"%.*s\"%s%s%s (macros are lower case: @yearly @annually "
                      "@monthly @weekly @daily @midnight @hourly)",
                      (int)(n > ITEM_SHOWN ? ITEM_SHOWN : n), w, hint ? "; did you mean " : "",
                      hint ? hint : "", hint ? "?" : "");
}

int wr_cron_parse(const char *expr, wr_cron_t **out, wr_err_t *err)
{
    const char *tok[F_COUNT];
    size_t tlen[F_COUNT];
    const char *p;
    wr_cron_t *c = NULL;
    int n = 0;
    int rc;

    assert(expr != NULL && out != NULL);
    p = expr;
    while (is_blank(*p))
        p++;
    if (*p == '\0') {
        rc = wr_err_set(err, WR_EPARSE, "empty expression");
        goto done;
    }
    if (*p == '@') {
        rc = parse_macro(p, &p, err);
        if (rc != 0)
            goto done;
    }
    for (;;) {
        const char *start;
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            break;
        start = p;
        while (*p != '\0' && !is_blank(*p))
            p++;
        if (n < F_COUNT) {
            tok[n] = start;
            tlen[n] = (size_t)(p - start);
        }
        n++;
    }
    if (n != F_COUNT) {
        rc = wr_err_set(err, WR_EPARSE,
                        "expected 5 fields (minute hour day-of-month month day-of-week), got "
                        "%d%s",
                        n, n > F_COUNT ? "; seconds and year fields are not supported" : "");
        goto done;
    }
    c = wr_xcalloc(1, sizeof(*c));
    for (int i = 0; i < F_COUNT; i++) {
        rc = parse_field(&field_specs[i], tok[i], tlen[i], &c->bits[i], err);
        if (rc != 0)
            goto done;
    }
    if (c->bits[F_DOW] >> 7 & 1) /* 7 is Sunday too */
        c->bits[F_DOW] = (c->bits[F_DOW] | 1) & ~((uint64_t)1 << 7);
    c->dom_star = tlen[F_DOM] == 1 && tok[F_DOM][0] == '*';
    c->dow_star = tlen[F_DOW] == 1 && tok[F_DOW][0] == '*';
    rc = check_can_fire(c, tok, tlen, err);
    if (rc != 0)
        goto done;
    *out = c;
    c = NULL;
done:
    wr_cron_free(c);
    return rc;
}

void wr_cron_free(wr_cron_t *c)
{
    free(c);
}

/* ==== Calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ==== */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* After Howard Hinnant's days_from_civil / civil_from_days. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* ==== Zones ==== */

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

/* Offset east of UTC in force at instant t, in the zone tzset() loaded (or UTC). */
static int zone_offset(bool utc, int64_t t, int *off)
{
    time_t tt = (time_t)t;
    struct tm tm;
    int64_t local;

    if (utc) {
        *off = 0;
        return 0;
    }
    if (localtime_r(&tt, &tm) == NULL)
        return WR_ENOTFOUND;
    local = days_from_civil(tm.tm_year + (int64_t)1900, tm.tm_mon + 1, tm.tm_mday) * DAY_SECS +
            (int64_t)tm.tm_hour * 3600 + (int64_t)tm.tm_min * 60 + tm.tm_sec;
    *off = (int)(local - t);
    return 0;
}

static bool zone_name_ok(const char *tz)
{
    size_t n = strlen(tz);
    const char *comp = tz;

    if (n == 0 || n > ZONE_NAME_MAX || tz[0] == '/' || tz[n - 1] == '/')
        return false;
    for (const char *p = tz;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t cn = (size_t)(p - comp);
            /* No empty, "." or ".." component: the name must stay inside the database. */
            if (cn == 0 || (cn == 1 && comp[0] == '.') || (cn == 2 && memcmp(comp, "..", 2) == 0))
                return false;
            if (*p == '\0')
                return true;
            comp = p + 1;
        } else if (!isalnum((unsigned char)*p) && strchr("_+-.", *p) == NULL) {
            return false;
        }
    }
}

bool wr_cron_zone_valid(const char *tz)
{
    char path[sizeof(ZONEINFO_DIR) + ZONE_NAME_MAX + 2];
    char magic[4];
    struct stat st;
    bool ok = false;
    int fd;

    if (tz == NULL)
        return false;
    if (strcmp(tz, "UTC") == 0)
        return true;
    if (!zone_name_ok(tz))
        return false;
    snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, tz);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    /* A regular file that starts like a zone file: zoneinfo also holds zone.tab and friends,
     * which the C library would silently treat as UTC. */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4 &&
        memcmp(magic, "TZif", 4) == 0)
        ok = true;
    close(fd);
    return ok;
}

/* ==== Next fire time ==== */

typedef struct {
    const wr_cron_t *c;
    bool utc;      /* skip the C library: the offset is always 0 */
    bool interval; /* the hour set covers all 24 hours (see the file header) */
    int64_t after; /* fires must be strictly after this instant */
    int64_t best;  /* earliest fire found so far, INT64_MAX if none */
} search_t;

static void consider(search_t *s, int64_t t)
{
    if (t > s->after && t < s->best)
        s->best = t;
}

/* Adds the fires of local date `day` to the search. Every instant of a wall time on this date
 * lies in [d0 - 1 day, d0 + 2 days), since offsets are under a day. If the offset is the same
 * at both ends of that window, it is taken as constant; otherwise the window holds one
 * transition, found by bisection. No zone of the tz database (2025b) changes its offset twice
 * within three days after 1900, so one transition per window is all there is. */
static int scan_day(search_t *s, int64_t day)
{
    const wr_cron_t *c = s->c;
    int64_t d0 = day * DAY_SECS, lo = d0 - DAY_SECS, hi = d0 + 2 * DAY_SECS, t_tr = 0;
    int oa, ob, o, rc;

    rc = zone_offset(s->utc, lo, &oa);
    if (rc == 0)
        rc = zone_offset(s->utc, hi, &ob);
    if (rc != 0)
        return rc;
    if (oa != ob) {
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            rc = zone_offset(s->utc, mid, &o);
            if (rc != 0)
                return rc;
            if (o == oa)
                lo = mid;
            else
                hi = mid;
        }
        t_tr = hi; /* the first instant with the new offset */
    }
    for (int h = 0; h < 24; h++) {
        if (!(c->bits[F_HOUR] >> h & 1))
            continue;
        for (int m = 0; m < 60; m++) {
            int64_t w, t1, t2;
            bool ok1, ok2;

            if (!(c->bits[F_MINUTE] >> m & 1))
                continue;
            w = d0 + (int64_t)h * 3600 + (int64_t)m * 60; /* the wall time as if it were UTC */
            if (oa == ob) {
                /* Instants rise with wall times: the first one after `after` is this date's. */
                if (w - oa > s->after) {
                    consider(s, w - oa);
                    return 0;
                }
                continue;
            }
            t1 = w - oa; /* the reading under the old offset, real if before the transition */
            t2 = w - ob; /* under the new offset, real if at or after it */
            ok1 = t1 < t_tr;
            ok2 = t2 >= t_tr;
            if (s->interval) {
                if (ok1)
                    consider(s, t1);
                if (ok2)
                    consider(s, t2);
            } else if (ok1) {
                consider(s, t1); /* repeated or not, the first occurrence */
            } else if (ok2) {
                consider(s, t2);
            } else {
                consider(s, t_tr); /* in the gap: the first valid instant after it */
            }
        }
    }
    return 0;
}

static bool day_matches(const wr_cron_t *c, int dom, int dow)
{
    bool dom_ok = c->bits[F_DOM] >> dom & 1;
    bool dow_ok = c->bits[F_DOW] >> dow & 1;

    /* Vixie: when both day fields are restricted, either may match. */
    if (!c->dom_star && !c->dow_star)
        return dom_ok || dow_ok;
    return dom_ok && dow_ok;
}

static int search(search_t *s)
{
    const int64_t last_day = floor_div(T_MAX, DAY_SECS);
    int64_t day, stop;
    int off, rc;

    rc = zone_offset(s->utc, s->after, &off);
    if (rc != 0)
        return rc;
    /* Start a day early: the date of a wall time and of its instant may differ by one. */
    day = floor_div(s->after + off, DAY_SECS) - 1;
    stop = day + SEARCH_DAYS;
    for (; day <= stop && day <= last_day; day++) {
        int64_t y;
        int m, d;

        /* A wall time on this date or later is at least d0 - 1 day: nothing earlier to find. */
        if (s->best != INT64_MAX && (day - 1) * DAY_SECS > s->best)
            break;
        civil_from_days(day, &y, &m, &d);
        if (!(s->c->bits[F_MONTH] >> m & 1)) {
            day += days_in_month(y, m) - d; /* on to the 1st of the next month */
            continue;
        }
        /* 1970-01-01 was a Thursday (4). */
        if (!day_matches(s->c, d, (int)(day + 4 - floor_div(day + 4, 7) * 7)))
            continue;
        rc = scan_day(s, day);
        if (rc != 0)
            return rc;
    }
    return s->best == INT64_MAX ? WR_ENOTFOUND : 0;
}

/* The process-global TZ switched to one zone, and what to put back. */
typedef struct {
    bool locked;
    bool had_tz;
    char *saved_tz;
    char *tz_spec;
} zone_guard_t;

/* Loads zone `tz` (not UTC) for localtime_r(). localtime_r() reads the zone tzset() loaded
 * from the process-global TZ: switch it under a lock, so concurrent callers cannot see each
 * other's zone, and zone_leave() puts the old value back before unlocking. The absolute path
 * makes the C library read the very file wr_cron_zone_valid() checked, whatever TZDIR says. */
static int zone_enter(zone_guard_t *g, const char *tz, wr_err_t *err)
{
    const char *old;

    memset(g, 0, sizeof(*g));
    pthread_mutex_lock(&tz_lock);
    g->locked = true;
    old = getenv("TZ"); /* NOLINT(concurrency-mt-unsafe): serialized by tz_lock */
    g->had_tz = old != NULL;
    if (g->had_tz)
        g->saved_tz = wr_xstrdup(old);
    g->tz_spec = wr_xasprintf(":%s/%s", ZONEINFO_DIR, tz);
    if (setenv("TZ", g->tz_spec, 1) != 0) /* NOLINT(concurrency-mt-unsafe): tz_lock */
        return wr_err_set(err, -errno, "cannot set TZ for zone \"%s\"", tz);
    tzset();
    return 0;
}

static void zone_leave(zone_guard_t *g)
{
    if (g->locked) {
        if (g->had_tz)
            setenv("TZ", g->saved_tz, 1); /* NOLINT(concurrency-mt-unsafe): tz_lock */
        else
            unsetenv("TZ"); /* NOLINT(concurrency-mt-unsafe): tz_lock */
        tzset();
        pthread_mutex_unlock(&tz_lock);
    }
    free(g->saved_tz);
    free(g->tz_spec);
    memset(g, 0, sizeof(*g));
}

int wr_cron_next(const wr_cron_t *c, const char *tz, int64_t after, int64_t *next, int *utc_offset,
                 wr_err_t *err)
{
    search_t s;
    zone_guard_t g;
    int off = 0;
    int rc;

    assert(c != NULL && next != NULL && utc_offset != NULL);
    memset(&g, 0, sizeof(g));
    s.c = c;
    s.utc = tz == NULL || strcmp(tz, "UTC") == 0;
    s.interval = c->bits[F_HOUR] == ((uint64_t)1 << 24) - 1;
    s.after = after;
    s.best = INT64_MAX;
    if (!s.utc && !wr_cron_zone_valid(tz)) {
        rc = wr_err_set(err, WR_EPARSE, "unknown time zone \"%.*s\"", ZONE_NAME_MAX, tz);
        goto done;
    }
    if (after < T_MIN || after >= T_MAX) {
        rc = wr_err_set(err, WR_ENOTFOUND, "time %lld is outside years 1-9999", (long long)after);
        goto done;
    }
    if (!s.utc && (rc = zone_enter(&g, tz, err)) != 0)
        goto done;
    rc = search(&s);
    if (rc == WR_ENOTFOUND) {
        wr_err_set(err, rc, "no fire time within %d years (searches end at 9999-12-31)",
                   SEARCH_DAYS / 366);
        goto done;
    }
    if (rc == 0)
        rc = zone_offset(s.utc, s.best, &off);
    if (rc != 0) {
        wr_err_set(err, rc, "time out of range for zone \"%s\"", s.utc ? "UTC" : tz);
        goto done;
    }
    *next = s.best;
    *utc_offset = off;
done:
    zone_leave(&g);
    return rc;
}

int wr_cron_utc_offset(const char *tz, int64_t t, int *utc_offset, wr_err_t *err)
{
    bool utc = tz == NULL || strcmp(tz, "UTC") == 0;
    zone_guard_t g;
    int rc;

    memset(&g, 0, sizeof(g));
    if (!utc && !wr_cron_zone_valid(tz))
        return wr_err_set(err, WR_EPARSE, "unknown time zone \"%.*s\"", ZONE_NAME_MAX, tz);
    if (!utc && (rc = zone_enter(&g, tz, err)) != 0)
        goto done;
    rc = zone_offset(utc, t, utc_offset);
    if (rc != 0)
        wr_err_set(err, rc, "time out of range for zone \"%s\"", utc ? "UTC" : tz);
done:
    zone_leave(&g);
    return rc;
}

/* Writes v as exactly `width` decimal digits (v is never negative here). */
static char *put_digits(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void wr_cron_format(int64_t t, int utc_offset, char out[32])
{
    int64_t local, days, y;
    int secs, a, m, d;
    char *p = out;

    /* Clamp to the range the search uses, so every field has its usual width. */
    if (utc_offset <= -DAY_SECS || utc_offset >= DAY_SECS)
        utc_offset = 0;
    t = t < T_MIN ? T_MIN : t > T_MAX ? T_MAX : t;
    a = utc_offset < 0 ? -utc_offset : utc_offset;
    local = t + utc_offset;
    days = floor_div(local, DAY_SECS);
    secs = (int)(local - days * DAY_SECS);
    civil_from_days(days, &y, &m, &d);
    p = put_digits(p, y < 0 ? 0 : y > 9999 ? 9999 : (int)y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, secs / 3600, 2);
    *p++ = ':';
    p = put_digits(p, secs / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, secs % 60, 2);
    *p++ = utc_offset < 0 ? '-' : '+';
    p = put_digits(p, a / 3600, 2);
    *p++ = ':';
    p = put_digits(p, a / 60 % 60, 2);
    if (a % 60 != 0) { /* historical local mean time: keep the seconds so it stays exact */
        *p++ = ':';
        p = put_digits(p, a % 60, 2);
    }
    *p = '\0';
}
