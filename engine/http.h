/* SPDX-License-Identifier: MIT
 * engine/http.h: a small asynchronous HTTP client on the engine's loop: libcurl's multi_socket
 * API driven by uv_poll (one per socket curl asks us to watch) and one uv_timer (curl's
 * timeout), the pattern of curl's docs/examples/multi-uv.c. Nothing here blocks the loop.
 *
 * A request may be retried: on a transport error (connection refused, reset, timeout...), an
 * HTTP 5xx or a 429, it is tried again after a backoff that doubles (backoff_ms, 2x, 4x...,
 * capped at max_backoff_ms), up to max_tries tries in all. Any other status ends it.
 * Used by the sns_alert local provider for webhooks; meant for the AWS providers too.
 *
 * Thread: loop thread only. Contract (STYLE §5): when wr_http_request() returns an error the
 * callback is never called; otherwise it is called exactly once, later, from the loop (never
 * from inside a call of this module), also when the request is canceled or the client closed.
 * Errors: 0 or a negative code with detail in *err. */
#ifndef WR_ENGINE_HTTP_H
#define WR_ENGINE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "engine/common.h"

typedef struct wr_http_s wr_http_t;         /* a client: one curl multi on one loop */
typedef struct wr_http_req_s wr_http_req_t; /* one request, with its retries */

typedef struct wr_http_opts_s {
    const char *method;         /* "GET", "POST", "PUT"...; NULL: POST with a body, else GET */
    const char *url;            /* http:// or https:// */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const char *body;           /* request body (copied); NULL for none */
    size_t body_len;
    int64_t timeout_ms;     /* per try, connect included; 0: 30 s */
    int max_tries;          /* tries in all, >= 1; 0: 1 (no retry) */
    int64_t backoff_ms;     /* wait before the second try, doubled each time; 0: 500 ms */
    int64_t max_backoff_ms; /* cap of that wait; 0: 30 s */
} wr_http_opts_t;

typedef struct wr_http_response_s {
    int code;         /* 0: a response arrived (see status); else UV_ETIMEDOUT,
                         UV_ECONNREFUSED, UV_EAI_NONAME, UV_EIO... or WR_ECANCELED */
    long status;      /* HTTP status of the last try, 0 when it got no response */
    int tries;        /* tries made */
    const char *body; /* response body of the last try (at most 1 MiB kept); borrowed,
                         valid during the callback; never NULL */
    size_t body_len;
    const char *error; /* what went wrong on the last try ("" when code == 0); borrowed */
} wr_http_response_t;

/** Called once per request; `req` is freed when the callback returns. */
typedef void (*wr_http_cb)(wr_http_req_t *req, const wr_http_response_t *res, void *data);
/** Called once a closed client has released every handle and its memory. */
typedef void (*wr_http_close_cb)(void *data);

/** Creates a client on `loop`. On success *out is owned by the caller: release it with
 *  wr_http_close(). */
WR_MUST_CHECK int wr_http_new(uv_loop_t *loop, wr_http_t **out, wr_err_t *err);
/** Cancels every request still in flight (their callbacks run with WR_ECANCELED), releases the
 *  client's handles, then calls `cb` (may be NULL) from the loop. The client is freed before
 *  `cb` runs. Call once. */
void wr_http_close(wr_http_t *h, wr_http_close_cb cb, void *data);

/** Starts a request described by `opts` (everything copied). On success *out (may be NULL)
 *  identifies it until its callback returns. Errors: WR_EINVALID for a missing URL, or a
 *  closing client. */
WR_MUST_CHECK int wr_http_request(wr_http_t *h, const wr_http_opts_t *opts, wr_http_cb cb,
                                  void *data, wr_http_req_t **out, wr_err_t *err);
/** Stops a request (a try in flight or a backoff wait); its callback then runs with
 *  WR_ECANCELED. Idempotent; a no-op once the outcome is known. */
void wr_http_cancel(wr_http_req_t *req);

#endif
