/* SPDX-License-Identifier: MIT
 * engine/common.c: error helpers, aborting allocators, byte buffers, durations, time. */
#include "engine/common.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

static void oom(void)
{
    fputs("weir: out of memory\n", stderr);
    abort();
}

int wr_err_set(wr_err_t *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    err->line = 0;
    err->column = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int wr_err_set_at(wr_err_t *err, int code, int line, int column, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    err->line = line;
    err->column = column;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *wr_strerror(int code)
{
    switch (code) {
    case WR_OK:
        return "success";
#define XX(name, msg) \
    case WR_##name:   \
        return msg;
        WR_ERRNO_MAP(XX)
#undef XX
    default:
        return uv_strerror(code);
    }
}

void *wr_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom();
    return p;
}

void *wr_xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (p == NULL)
        oom();
    return p;
}

void *wr_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom();
    return q;
}

char *wr_xstrdup(const char *s)
{
    return wr_xstrndup(s, strlen(s));
}

char *wr_xstrndup(const char *s, size_t n)
{
    char *p = wr_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *wr_xvasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    char *p;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        oom();
    p = wr_xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *wr_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = wr_xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

/* ==== Byte buffer ==== */

void wr_buf_init(wr_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void wr_buf_dispose(wr_buf_t *b)
{
    free(b->data);
    wr_buf_init(b);
}

static void buf_reserve(wr_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = wr_xrealloc(b->data, cap);
    b->cap = cap;
}

void wr_buf_append(wr_buf_t *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void wr_buf_puts(wr_buf_t *b, const char *s)
{
    wr_buf_append(b, s, strlen(s));
}

void wr_buf_printf(wr_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = wr_xvasprintf(fmt, ap);
    va_end(ap);
    wr_buf_puts(b, s);
    free(s);
}

const char *wr_buf_cstr(wr_buf_t *b)
{
    buf_reserve(b, 0);
    b->data[b->len] = '\0'; /* a buffer nothing was appended to has no terminator yet */
    return b->data;
}

char *wr_buf_steal(wr_buf_t *b)
{
    char *s;

    buf_reserve(b, 0);
    b->data[b->len] = '\0';
    s = b->data;
    wr_buf_init(b);
    return s;
}

/* ==== Time and durations ==== */

int64_t wr_now_ms(void)
{
    uv_timeval64_t tv;

    if (uv_gettimeofday(&tv) != 0)
        return 0;
    return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void wr_format_iso_ms(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    struct tm tm;
    size_t n;

    if (frac < 0)
        frac += 1000;
    gmtime_r(&secs, &tm);
    n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0 || n > 26) {
        out[0] = '\0';
        return;
    }
    /* Digits by hand: snprintf's truncation checks cannot see that frac < 1000. */
    out[n] = '.';
    out[n + 1] = (char)('0' + frac / 100);
    out[n + 2] = (char)('0' + frac / 10 % 10);
    out[n + 3] = (char)('0' + frac % 10);
    out[n + 4] = 'Z';
    out[n + 5] = '\0';
}

int wr_duration_parse(const char *text, int64_t *out_ms, wr_err_t *err)
{
    const char *p = text;
    int64_t n = 0;
    int64_t unit;

    while (*p == ' ')
        p++;
    if (!isdigit((unsigned char)*p))
        goto bad;
    while (isdigit((unsigned char)*p)) {
        if (n > INT64_MAX / 10 / 86400000)
            goto bad;
        n = n * 10 + (*p - '0');
        p++;
    }
    if (strcmp(p, "") == 0 || strcmp(p, "s") == 0)
        unit = 1000;
    else if (strcmp(p, "ms") == 0)
        unit = 1;
    else if (strcmp(p, "m") == 0)
        unit = 60 * 1000;
    else if (strcmp(p, "h") == 0)
        unit = 3600 * 1000;
    else if (strcmp(p, "d") == 0)
        unit = 86400 * 1000;
    else
        goto bad;
    *out_ms = n * unit;
    return 0;
bad:
    return wr_err_set(err, WR_EPARSE,
                      "bad duration '%s' (expected a whole number with an optional unit: "
                      "90, 90s, 5m, 2h, 1d, 250ms)",
                      text);
}

void wr_uuid4(char out[37])
{
    unsigned char b[16];

    if (uv_random(NULL, NULL, b, sizeof(b), 0, NULL) != 0) {
        /* No entropy source: time, still unique enough within one process. */
        uint64_t x = (uint64_t)wr_now_ms() ^ (uint64_t)uv_hrtime();
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)((x >> ((i % 8) * 8)) ^ (i * 131));
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

size_t wr_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = wr_xcalloc(lb + 1, sizeof(*row));
    size_t result;

    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    result = row[lb];
    free(row);
    return result;
}

const char *wr_closest(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t limit = strlen(word) / 2 + 1;

    for (size_t i = 0; candidates[i] != NULL; i++) {
        size_t d = wr_edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    if (limit < 2)
        limit = 2;
    return best_d <= limit ? best : NULL;
}
