/* SPDX-License-Identifier: MIT
 * web/route.c: the pure helpers of the web front end — path patterns, request body limits,
 * numbers in query strings, listen addresses. No I/O, no libmicrohttpd: unit-tested in
 * tests/unit/test_web.c. */
#include "web/web_int.h"

#include <errno.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

/* ==== Path patterns ==== */

void wr__web_params_dispose(wr_web_params_t *params)
{
    for (size_t i = 0; i < params->n; i++)
        free(params->value[i]);
    params->n = 0;
}

bool wr__web_path_match(const char *pattern, const char *path, wr_web_params_t *params)
{
    const char *p = pattern, *s = path;

    wr__web_params_dispose(params);
    while (*p != '\0' && *s != '\0') {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t n = strcspn(s, "/");
            if (close == NULL || n == 0 || params->n == WR_WEB_PARAMS_MAX)
                goto no;
            params->value[params->n++] = wr_xstrndup(s, n);
            p = close + 1;
            s += n;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            goto no;
        }
    }
    if (*p == '\0' && *s == '\0')
        return true;
no:
    wr__web_params_dispose(params);
    return false;
}

/* ==== Bodies ==== */

void wr__web_body_init(wr_web_body_t *b, size_t limit)
{
    wr_buf_init(&b->buf);
    b->limit = limit;
    b->seen = 0;
    b->too_large = false;
}

bool wr__web_body_append(wr_web_body_t *b, const char *data, size_t n)
{
    b->seen += n;
    if (b->too_large || n > b->limit - b->buf.len) {
        /* Over the limit: keep nothing more (the request is answered 413 once read). */
        b->too_large = true;
        wr_buf_dispose(&b->buf);
        wr_buf_init(&b->buf);
        return false;
    }
    wr_buf_append(&b->buf, data, n);
    return true;
}

void wr__web_body_dispose(wr_web_body_t *b)
{
    wr_buf_dispose(&b->buf);
}

/* ==== Numbers and addresses ==== */

bool wr__web_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0' || !((*s >= '0' && *s <= '9') || *s == '-'))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool wr__web_split_listen(const char *listen, char *host, size_t host_n, int *port)
{
    const char *colon, *h = listen;
    size_t hn;
    int64_t p;

    if (listen == NULL || *listen == '\0')
        return false;
    if (*listen == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':')
            return false;
        h = listen + 1;
        hn = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL || memchr(listen, ':', (size_t)(colon - listen)) != NULL)
            return false; /* a bare IPv6 literal needs brackets */
        hn = (size_t)(colon - listen);
    }
    if (hn == 0 || hn >= host_n || !wr__web_parse_int(colon + 1, 0, 65535, &p))
        return false;
    memcpy(host, h, hn);
    host[hn] = '\0';
    *port = (int)p;
    return true;
}

bool wr__web_host_is_loopback(const char *host)
{
    unsigned char a[16];
    static const unsigned char v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1)
        return memcmp(a, v6_loopback, 16) == 0;
    return false;
}
