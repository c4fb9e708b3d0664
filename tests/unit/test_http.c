/* SPDX-License-Identifier: MIT
 * tests/unit/test_http.c: the loop's HTTP client (engine/http.c) against a tiny HTTP server
 * running on the same private loop (uv_tcp on 127.0.0.1, port 0): the POST body arrives
 * whole, 5xx and connection errors are retried with backoff, 4xx is not, a hung server times
 * out, cancel and close end requests with WR_ECANCELED, and every handle is closed at the
 * end (uv_loop_close() == 0). */
#include "engine/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "engine/common.h"
#include "tests/unit/harness.h"

/* ==== A scripted HTTP server on the test's loop ==== */

typedef struct conn_s conn_t;

typedef struct {
    uv_tcp_t tcp;
    int port;
    int statuses[8]; /* answers in order; 0 = never answer; after them, 200 */
    int n_statuses;
    int requests;    /* complete requests received */
    char *last_body; /* body of the last one (owned) */
    char last_type[64];
    conn_t *conns;
} server_t;

struct conn_s {
    uv_tcp_t tcp;
    server_t *srv;
    wr_buf_t in;
    conn_t *next;
    bool answered, closing;
    uv_write_t wr;
    char *reply;
};

static void on_conn_close(uv_handle_t *h)
{
    conn_t *c = h->data;
    server_t *s = c->srv;
    for (conn_t **pp = &s->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    wr_buf_dispose(&c->in);
    free(c->reply);
    free(c);
}

static void conn_close(conn_t *c)
{
    if (!c->closing) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, on_conn_close);
    }
}

static void on_written(uv_write_t *w, int status)
{
    conn_t *c = w->data;
    (void)status;
    conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = wr_xmalloc(suggested);
    buf->len = suggested;
}

/* Content-Length of the header block, case-insensitively; 0 when absent. */
static size_t content_length(const char *head, size_t n)
{
    static const char key[] = "content-length:";
    for (size_t i = 0; i + sizeof(key) - 1 < n; i++) {
        size_t k = 0;
        while (k < sizeof(key) - 1 && (head[i + k] | 0x20) == key[k])
            k++;
        if (k == sizeof(key) - 1)
            return (size_t)strtoul(head + i + k, NULL, 10);
    }
    return 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = st->data;
    server_t *s = c->srv;
    const char *data, *end;
    size_t head, len;
    int status;

    if (nread > 0)
        wr_buf_append(&c->in, buf->base, (size_t)nread);
    free(buf->base);
    if (nread < 0) {
        conn_close(c);
        return;
    }
    data = wr_buf_cstr(&c->in);
    end = strstr(data, "\r\n\r\n");
    if (end == NULL || c->answered)
        return;
    head = (size_t)(end - data) + 4;
    len = content_length(data, head);
    if (c->in.len < head + len)
        return;
    c->answered = true;
    s->requests++;
    free(s->last_body);
    s->last_body = wr_xstrndup(data + head, len);
    {
        const char *ct = strstr(data, "Content-Type: ");
        if (ct != NULL && ct < end)
            snprintf(s->last_type, sizeof(s->last_type), "%.*s", (int)strcspn(ct + 14, "\r"),
                     ct + 14);
    }
    status = s->requests <= s->n_statuses ? s->statuses[s->requests - 1] : 200;
    if (status == 0)
        return; /* hang: never answer */
    c->reply = wr_xasprintf("HTTP/1.1 %d X\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                            "hello",
                            status);
    uv_buf_t out = uv_buf_init(c->reply, (unsigned)strlen(c->reply));
    c->wr.data = c;
    uv_write(&c->wr, (uv_stream_t *)&c->tcp, &out, 1, on_written);
}

static void on_connection(uv_stream_t *l, int status)
{
    server_t *s = wr_container_of((uv_tcp_t *)l, server_t, tcp);
    conn_t *c;

    ASSERT_OK(status);
    c = wr_xcalloc(1, sizeof(*c));
    c->srv = s;
    wr_buf_init(&c->in);
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    c->next = s->conns;
    s->conns = c;
    ASSERT_OK(uv_accept(l, (uv_stream_t *)&c->tcp));
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void server_start(uv_loop_t *loop, server_t *s)
{
    struct sockaddr_in addr;
    struct sockaddr_storage name;
    int len = sizeof(name);

    memset(s, 0, sizeof(*s));
    ASSERT_OK(uv_ip4_addr("127.0.0.1", 0, &addr));
    ASSERT_OK(uv_tcp_init(loop, &s->tcp));
    ASSERT_OK(uv_tcp_bind(&s->tcp, (const struct sockaddr *)&addr, 0));
    ASSERT_OK(uv_listen((uv_stream_t *)&s->tcp, 16, on_connection));
    ASSERT_OK(uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&name, &len));
    s->port = ntohs(((struct sockaddr_in *)&name)->sin_port);
}

static void server_stop(server_t *s)
{
    for (conn_t *c = s->conns; c != NULL; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&s->tcp, NULL);
}

static void server_dispose(server_t *s)
{
    free(s->last_body);
}

/* ==== Client side ==== */

typedef struct {
    int calls;
    int code;
    long status;
    int tries;
    char body[64];
    wr_http_t *h; /* closed from the callback when set */
    bool closed;
    uint64_t ended; /* uv_now() at the callback */
} result_t;

static void on_closed(void *data)
{
    result_t *r = data;
    r->closed = true;
}

static void on_response(wr_http_req_t *req, const wr_http_response_t *res, void *data)
{
    result_t *r = data;
    (void)req;
    r->calls++;
    r->code = res->code;
    r->status = res->status;
    r->tries = res->tries;
    snprintf(r->body, sizeof(r->body), "%.*s", (int)res->body_len, res->body);
    ASSERT(res->error != NULL);
    if (r->h != NULL) {
        wr_http_close(r->h, on_closed, r);
        r->h = NULL;
    }
}

static char *url_of(int port)
{
    return wr_xasprintf("http://127.0.0.1:%d/hook", port);
}

static void opts_init(wr_http_opts_t *o, const char *url)
{
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    memset(o, 0, sizeof(*o));
    o->url = url;
    o->headers = headers;
    o->body = "{\"text\":\"hi\"}";
    o->body_len = strlen(o->body);
    o->timeout_ms = 5000;
    o->max_tries = 3;
    o->backoff_ms = 20;
}

static void close_loop(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    ASSERT_OK(uv_loop_close(loop));
}

/* One request against a server answering `statuses`; fills *r. */
static void request_with(const int *statuses, int n, int max_tries, int64_t timeout_ms, server_t *s,
                         result_t *r)
{
    uv_loop_t loop;
    wr_http_t *h = NULL;
    wr_http_opts_t o;
    char *url;

    ASSERT_OK(uv_loop_init(&loop));
    server_start(&loop, s);
    memcpy(s->statuses, statuses, (size_t)n * sizeof(int));
    s->n_statuses = n;
    url = url_of(s->port);
    opts_init(&o, url);
    o.max_tries = max_tries;
    o.timeout_ms = timeout_ms;
    memset(r, 0, sizeof(*r));
    ASSERT_OK(wr_http_new(&loop, &h, NULL));
    r->h = h;
    ASSERT_OK(wr_http_request(h, &o, on_response, r, NULL, NULL));
    while (!r->closed)
        uv_run(&loop, UV_RUN_ONCE);
    server_stop(s);
    close_loop(&loop);
    free(url);
}

/* ==== Tests ==== */

static void post_body(void)
{
    server_t s;
    result_t r;
    int ok[] = {200};

    request_with(ok, 1, 3, 5000, &s, &r);
    ASSERT_EQ(r.calls, 1);
    ASSERT_OK(r.code);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.tries, 1);
    ASSERT_STR_EQ(r.body, "hello");
    ASSERT_EQ(s.requests, 1);
    ASSERT_STR_EQ(s.last_body, "{\"text\":\"hi\"}");
    ASSERT_STR_EQ(s.last_type, "application/json");
    server_dispose(&s);
}

static void retry_on_500(void)
{
    server_t s;
    result_t r;
    int script[] = {500, 502, 200};

    request_with(script, 3, 4, 5000, &s, &r);
    ASSERT_EQ(r.calls, 1);
    ASSERT_OK(r.code);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.tries, 3);
    ASSERT_EQ(s.requests, 3);
    ASSERT_STR_EQ(s.last_body, "{\"text\":\"hi\"}"); /* the body is sent again on each try */
    server_dispose(&s);
}

static void retries_exhausted(void)
{
    server_t s;
    result_t r;
    int script[] = {503, 503, 503, 200};

    request_with(script, 4, 3, 5000, &s, &r);
    ASSERT_OK(r.code);
    ASSERT_EQ(r.status, 503);
    ASSERT_EQ(r.tries, 3);
    ASSERT_EQ(s.requests, 3);
    server_dispose(&s);
}

static void no_retry_on_404(void)
{
    server_t s;
    result_t r;
    int script[] = {404, 200};

    request_with(script, 2, 3, 5000, &s, &r);
    ASSERT_OK(r.code);
    ASSERT_EQ(r.status, 404);
    ASSERT_EQ(r.tries, 1);
    ASSERT_EQ(s.requests, 1);
    server_dispose(&s);
}

static void timeout(void)
{
    server_t s;
    result_t r;
    int hang[] = {0, 0};
    uint64_t t0 = uv_hrtime();

    request_with(hang, 2, 2, 200, &s, &r);
    ASSERT_EQ(r.code, UV_ETIMEDOUT);
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(r.tries, 2);
    ASSERT_EQ(s.requests, 2);
    ASSERT((uv_hrtime() - t0) / 1000000 >= 400);
    server_dispose(&s);
}

static void connection_refused(void)
{
    uv_loop_t loop;
    server_t s;
    wr_http_t *h = NULL;
    wr_http_opts_t o;
    result_t r;
    char *url;
    int port;

    /* A port that was just free: bind, note it, close. */
    ASSERT_OK(uv_loop_init(&loop));
    server_start(&loop, &s);
    port = s.port;
    server_stop(&s);
    uv_run(&loop, UV_RUN_DEFAULT);
    url = url_of(port);
    opts_init(&o, url);
    o.max_tries = 3;
    memset(&r, 0, sizeof(r));
    ASSERT_OK(wr_http_new(&loop, &h, NULL));
    r.h = h;
    ASSERT_OK(wr_http_request(h, &o, on_response, &r, NULL, NULL));
    while (!r.closed)
        uv_run(&loop, UV_RUN_ONCE);
    ASSERT_EQ(r.calls, 1);
    ASSERT_EQ(r.code, UV_ECONNREFUSED);
    ASSERT_EQ(r.tries, 3);
    close_loop(&loop);
    server_dispose(&s);
    free(url);
}

typedef struct {
    uv_timer_t timer;
    wr_http_req_t *req;
    wr_http_t *h;
} canceler_t;

static void on_cancel_timer(uv_timer_t *t)
{
    canceler_t *c = wr_container_of(t, canceler_t, timer);
    if (c->req != NULL)
        wr_http_cancel(c->req);
    if (c->h != NULL)
        wr_http_close(c->h, NULL, NULL);
    uv_close((uv_handle_t *)t, NULL);
}

static void cancel_and_close(void)
{
    uv_loop_t loop;
    server_t s;
    wr_http_t *h = NULL, *h2 = NULL;
    wr_http_opts_t o;
    result_t r1, r2;
    canceler_t c1, c2;
    int hang[] = {0, 0};
    char *url;

    ASSERT_OK(uv_loop_init(&loop));
    server_start(&loop, &s);
    memcpy(s.statuses, hang, sizeof(hang));
    s.n_statuses = 2;
    url = url_of(s.port);
    opts_init(&o, url);
    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    memset(&c1, 0, sizeof(c1));
    memset(&c2, 0, sizeof(c2));
    /* One request canceled, one ended by closing its client, both while the server hangs. */
    ASSERT_OK(wr_http_new(&loop, &h, NULL));
    ASSERT_OK(wr_http_new(&loop, &h2, NULL));
    ASSERT_OK(wr_http_request(h, &o, on_response, &r1, &c1.req, NULL));
    ASSERT_OK(wr_http_request(h2, &o, on_response, &r2, NULL, NULL));
    c2.h = h2;
    uv_timer_init(&loop, &c1.timer);
    uv_timer_init(&loop, &c2.timer);
    uv_timer_start(&c1.timer, on_cancel_timer, 100, 0);
    uv_timer_start(&c2.timer, on_cancel_timer, 150, 0);
    while (r1.calls == 0 || r2.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    ASSERT_EQ(r1.code, WR_ECANCELED);
    ASSERT_EQ(r2.code, WR_ECANCELED);
    ASSERT_EQ(r1.calls, 1);
    ASSERT_EQ(r2.calls, 1);
    wr_http_close(h, on_closed, &r1);
    while (!r1.closed)
        uv_run(&loop, UV_RUN_ONCE);
    server_stop(&s);
    close_loop(&loop);
    server_dispose(&s);
    free(url);
}

static void bad_url_is_an_error(void)
{
    uv_loop_t loop;
    wr_http_t *h = NULL;
    wr_http_opts_t o;
    result_t r;
    wr_err_t err;

    ASSERT_OK(uv_loop_init(&loop));
    ASSERT_OK(wr_http_new(&loop, &h, NULL));
    opts_init(&o, "");
    memset(&r, 0, sizeof(r));
    ASSERT_EQ(wr_http_request(h, &o, on_response, &r, NULL, &err), WR_EINVALID);
    wr_http_close(h, on_closed, &r);
    close_loop(&loop);
    ASSERT(r.closed);
    ASSERT_EQ(r.calls, 0); /* an error return means no callback */
}

static const wr_test_t tests[] = {
    {"post_body", post_body},
    {"retry_on_500", retry_on_500},
    {"retries_exhausted", retries_exhausted},
    {"no_retry_on_404", no_retry_on_404},
    {"timeout", timeout},
    {"connection_refused", connection_refused},
    {"cancel_and_close", cancel_and_close},
    {"bad_url_is_an_error", bad_url_is_an_error},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
