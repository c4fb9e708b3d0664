/* SPDX-License-Identifier: MIT
 * engine/http.c: the loop's HTTP client (see engine/http.h).
 *
 * curl tells us which sockets to watch through CURLMOPT_SOCKETFUNCTION (each gets a uv_poll_t,
 * attached to the socket with curl_multi_assign()) and when to wake it up through
 * CURLMOPT_TIMERFUNCTION (one uv_timer_t); both feed curl_multi_socket_action(), after which
 * finished transfers are collected from curl_multi_info_read().
 *
 * DESIGN: every user callback runs from the request's own uv_timer_t, never from inside a
 * curl callback or from inside the call that caused it, so a callback may start, cancel or
 * close anything without re-entering curl. The same timer waits out retry backoffs.
 * Memory: a request is freed in its timer's close callback; a socket context in its poll's;
 * the client once its timer, its polls and its requests are all closed (`open` counts them). */
#include "engine/http.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define RESPONSE_MAX ((size_t)1 << 20) /* response bytes kept per try */

struct wr_http_s {
    uv_loop_t *loop;
    CURLM *multi;         /* NULL once cleaned up */
    uv_timer_t timer;     /* curl's timeout */
    wr_http_req_t *reqs;  /* requests not yet freed (doubly linked) */
    struct sock_s *socks; /* watched sockets (doubly linked) */
    size_t open;          /* handles and requests not yet released */
    bool closing;
    wr_http_close_cb close_cb;
    void *close_data;
};

struct wr_http_req_s {
    wr_http_t *h;
    wr_http_req_t *prev, *next; /* in h->reqs */
    CURL *easy;
    struct curl_slist *headers;
    uv_timer_t timer; /* backoff wait and deferred completion */
    wr_http_cb cb;
    void *data;
    int max_tries, tries;
    int64_t backoff_ms, max_backoff_ms;
    bool in_multi; /* a try is in flight */
    bool finished; /* outcome known; the callback is due */
    bool called;   /* the callback has run */
    int code;      /* outcome, see wr_http_response_t */
    long status;
    wr_buf_t body; /* response of the current try */
    bool body_truncated;
    char error[CURL_ERROR_SIZE];
};

typedef struct sock_s {
    uv_poll_t poll;
    curl_socket_t fd;
    wr_http_t *h;
    struct sock_s *prev, *next; /* in h->socks */
    bool closing;
} sock_t;

static void check_multi_info(wr_http_t *h);
static void maybe_closed(wr_http_t *h);

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ==== Sockets and timer: curl -> libuv ==== */

static void on_sock_close(uv_handle_t *handle)
{
    sock_t *s = wr_container_of((uv_poll_t *)handle, sock_t, poll);
    wr_http_t *h = s->h;

    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        h->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    free(s);
    h->open--;
    maybe_closed(h);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_t *s = wr_container_of(p, sock_t, poll);
    wr_http_t *h = s->h;
    int flags = 0, running = 0;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    check_multi_info(h);
}

/* Stops watching now (curl closes the socket right after telling us); freed on close. */
static void sock_close(sock_t *s)
{
    if (s->closing)
        return;
    s->closing = true;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_sock_close);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    wr_http_t *h = userp;
    sock_t *s = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            sock_close(s);
            if (h->multi != NULL)
                curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = wr_xcalloc(1, sizeof(*s));
        s->fd = fd;
        s->h = h;
        if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        h->open++;
        s->next = h->socks;
        if (h->socks != NULL)
            h->socks->prev = s;
        h->socks = s;
        curl_multi_assign(h->multi, fd, s);
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, on_poll);
    return 0;
}

static void on_curl_timeout(uv_timer_t *t)
{
    wr_http_t *h = wr_container_of(t, wr_http_t, timer);
    int running = 0;

    if (h->multi == NULL)
        return;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(h);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    wr_http_t *h = userp;

    (void)multi;
    if (h->closing && h->reqs == NULL)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else /* 0 means "now": libuv runs a 0 ms timer on the next iteration, outside curl */
        uv_timer_start(&h->timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ==== Requests ==== */

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    wr_http_req_t *r = userdata;
    size_t n = size * nmemb, room = RESPONSE_MAX - r->body.len;

    if (n > room) {
        r->body_truncated = true;
        n = room;
    }
    wr_buf_append(&r->body, ptr, n);
    return size * nmemb; /* keep reading: dropping the rest is our choice, not an error */
}

static void on_req_close(uv_handle_t *handle)
{
    wr_http_req_t *r = wr_container_of((uv_timer_t *)handle, wr_http_req_t, timer);
    wr_http_t *h = r->h;

    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        h->reqs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    wr_buf_dispose(&r->body);
    free(r);
    h->open--;
    maybe_closed(h);
}

static void on_req_timer(uv_timer_t *t);

static int start_try(wr_http_req_t *r)
{
    CURLMcode mc;

    r->tries++;
    r->body.len = 0;
    r->body_truncated = false;
    r->error[0] = '\0';
    r->status = 0;
    mc = curl_multi_add_handle(r->h->multi, r->easy);
    if (mc != CURLM_OK) {
        snprintf(r->error, sizeof(r->error), "curl: %s", curl_multi_strerror(mc));
        return UV_EIO;
    }
    r->in_multi = true;
    return 0;
}

/* The outcome is known: the callback runs on the next loop iteration. */
static void finish(wr_http_req_t *r, int code)
{
    r->finished = true;
    r->code = code;
    uv_timer_start(&r->timer, on_req_timer, 0, 0);
}

static void on_req_timer(uv_timer_t *t)
{
    wr_http_req_t *r = wr_container_of(t, wr_http_req_t, timer);
    wr_http_response_t res;
    int rc;

    if (!r->finished) { /* a backoff wait ended: try again */
        if ((rc = start_try(r)) != 0)
            finish(r, rc);
        return;
    }
    memset(&res, 0, sizeof(res));
    res.code = r->code;
    res.status = r->status;
    res.tries = r->tries;
    res.body = wr_buf_cstr(&r->body);
    res.body_len = r->body.len;
    if (r->code == WR_ECANCELED && r->error[0] == '\0')
        snprintf(r->error, sizeof(r->error), "canceled");
    res.error = r->error;
    r->called = true;
    r->cb(r, &res, r->data);
    uv_close((uv_handle_t *)&r->timer, on_req_close);
}

static int curl_code(CURLcode cc)
{
    switch (cc) {
    case CURLE_OK:
        return 0;
    case CURLE_OPERATION_TIMEDOUT:
        return UV_ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
        return UV_ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return UV_EAI_NONAME;
    default:
        return UV_EIO;
    }
}

static void try_done(wr_http_req_t *r, CURLcode cc)
{
    int code = curl_code(cc);
    bool retry;

    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    if (cc != CURLE_OK && r->error[0] == '\0')
        snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(cc));
    if (cc == CURLE_OK && r->status >= 400)
        snprintf(r->error, sizeof(r->error), "HTTP %ld", r->status);
    retry = cc != CURLE_OK || r->status >= 500 || r->status == 429;
    if (retry && r->tries < r->max_tries && !r->h->closing) {
        int64_t delay = r->backoff_ms;
        for (int i = 1; i < r->tries && delay < r->max_backoff_ms; i++)
            delay *= 2;
        if (delay > r->max_backoff_ms)
            delay = r->max_backoff_ms;
        uv_timer_start(&r->timer, on_req_timer, (uint64_t)delay, 0);
        return;
    }
    finish(r, code);
}

static void check_multi_info(wr_http_t *h)
{
    CURLMsg *msg;
    int left;

    while (h->multi != NULL && (msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        wr_http_req_t *r = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode cc = msg->data.result; /* msg is invalid after remove_handle */
        curl_multi_remove_handle(h->multi, r->easy);
        r->in_multi = false;
        try_done(r, cc);
    }
}

int wr_http_request(wr_http_t *h, const wr_http_opts_t *o, wr_http_cb cb, void *data,
                    wr_http_req_t **out, wr_err_t *err)
{
    wr_http_req_t *r;
    const char *method = o->method;
    int64_t timeout = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    int rc;

    if (h->closing)
        return wr_err_set(err, WR_EINVALID, "http: the client is closing");
    if (o->url == NULL || *o->url == '\0')
        return wr_err_set(err, WR_EINVALID, "http: a URL is required");
    r = wr_xcalloc(1, sizeof(*r));
    r->h = h;
    r->cb = cb;
    r->data = data;
    r->max_tries = o->max_tries > 0 ? o->max_tries : 1;
    r->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 500;
    r->max_backoff_ms = o->max_backoff_ms > 0 ? o->max_backoff_ms : 30000;
    wr_buf_init(&r->body);
    r->easy = curl_easy_init();
    if (r->easy == NULL) {
        free(r);
        return wr_err_set(err, UV_ENOMEM, "http: curl_easy_init failed");
    }
    if (method == NULL)
        method = o->body != NULL ? "POST" : "GET";
    curl_easy_setopt(r->easy, CURLOPT_URL, o->url);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < 10000 ? timeout : 10000));
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "weir/" WR_VERSION);
    if (o->body != NULL) {
        curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
        curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, o->body);
    }
    if (strcmp(method, "POST") != 0 || o->body == NULL)
        curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
    /* curl would wait for "100 Continue" on larger bodies; webhooks rarely answer it. */
    r->headers = curl_slist_append(r->headers, "Expect:");
    for (size_t i = 0; o->headers != NULL && o->headers[i] != NULL; i++)
        r->headers = curl_slist_append(r->headers, o->headers[i]);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    uv_timer_init(h->loop, &r->timer);
    h->open++;
    r->next = h->reqs;
    if (h->reqs != NULL)
        h->reqs->prev = r;
    h->reqs = r;
    if ((rc = start_try(r)) != 0) {
        /* Not started: no callback; the request is released on the loop. */
        wr_err_set(err, rc, "http: %s", r->error);
        r->called = true;
        uv_close((uv_handle_t *)&r->timer, on_req_close);
        return rc;
    }
    if (out != NULL)
        *out = r;
    return 0;
}

void wr_http_cancel(wr_http_req_t *r)
{
    if (r == NULL || r->finished || r->called)
        return;
    if (r->in_multi) {
        curl_multi_remove_handle(r->h->multi, r->easy);
        r->in_multi = false;
    }
    uv_timer_stop(&r->timer);
    snprintf(r->error, sizeof(r->error), "canceled");
    finish(r, WR_ECANCELED);
}

/* ==== Client ==== */

int wr_http_new(uv_loop_t *loop, wr_http_t **out, wr_err_t *err)
{
    static uv_once_t once = UV_ONCE_INIT;
    wr_http_t *h;

    uv_once(&once, global_init);
    h = wr_xcalloc(1, sizeof(*h));
    h->loop = loop;
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        free(h);
        return wr_err_set(err, UV_ENOMEM, "http: curl_multi_init failed");
    }
    uv_timer_init(loop, &h->timer);
    h->open = 1;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    *out = h;
    return 0;
}

static void on_client_timer_close(uv_handle_t *handle)
{
    wr_http_t *h = wr_container_of((uv_timer_t *)handle, wr_http_t, timer);
    h->open--;
    maybe_closed(h);
}

/* Once every request is gone, the multi handle and the timer go; then the client. */
static void maybe_closed(wr_http_t *h)
{
    if (!h->closing)
        return;
    if (h->reqs == NULL && h->multi != NULL) {
        CURLM *m = h->multi;
        h->multi = NULL;
        curl_multi_cleanup(m); /* may report sockets to remove, which close their polls */
        for (sock_t *s = h->socks; s != NULL; s = s->next)
            sock_close(s); /* any curl did not report: their sockets are closed now */
        uv_close((uv_handle_t *)&h->timer, on_client_timer_close);
        return;
    }
    if (h->open == 0) {
        wr_http_close_cb cb = h->close_cb;
        void *data = h->close_data;
        free(h);
        if (cb != NULL)
            cb(data);
    }
}

void wr_http_close(wr_http_t *h, wr_http_close_cb cb, void *data)
{
    if (h == NULL)
        return;
    h->closing = true;
    h->close_cb = cb;
    h->close_data = data;
    for (wr_http_req_t *r = h->reqs; r != NULL; r = r->next)
        wr_http_cancel(r);
    uv_timer_stop(&h->timer);
    maybe_closed(h);
}
