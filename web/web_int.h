/* SPDX-License-Identifier: MIT
 * web/web_int.h: what the files of the web front end share (not for other modules).
 *
 * A request goes: web/http.c (libmicrohttpd callbacks: connection, body, response) builds a
 * wr_web_req_t, web/api.c dispatches it through the route table (match, 404/405, auth, JSON
 * body) to a handler, the handler reads through the connection's read-only store
 * (engine/query.h) or posts a command to the loop through wr_web_t's backend, and fills the
 * response part of the request; web/http.c sends it.
 * Thread: a request is handled on its connection's thread (DESIGN.md §2); nothing here touches
 * loop-owned state. */
#ifndef WR_WEB_WEB_INT_H
#define WR_WEB_WEB_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/common.h"
#include "engine/server.h"
#include "engine/store.h"

#define WR_WEB_BODY_MAX       (1024u * 1024u)       /* request bodies over this get 413 */
#define WR_WEB_BODY_DRAIN     (16u * 1024u * 1024u) /* larger declared bodies are not even read */
#define WR_WEB_PARAMS_MAX     4
#define WR_WEB_WAIT_DEFAULT_S 30  /* GET /runs/{id}/wait without ?timeout= */
#define WR_WEB_WAIT_MAX_S     600 /* longest long poll */

typedef enum {
    WR_ROLE_NONE = 0, /* public: no token needed even when auth is required */
    WR_ROLE_VIEWER,   /* read */
    WR_ROLE_OPERATOR, /* trigger, cancel, retry, pause */
    WR_ROLE_ADMIN,    /* everything */
} wr_web_role_t;

/** The running front end. The backend pointers are the engine's wr_server_* functions; they
 *  are pointers so that the handlers (web/api.c) link without the daemon, as in unit tests. */
typedef struct wr_web_s {
    wr_server_t *srv;                             /* borrowed */
    int (*call)(wr_server_t *srv, wr_cmd_t *cmd); /* wr_server_call */
    uint64_t (*wait_change)(wr_server_t *srv, uint64_t seen, int64_t timeout_ms);
    void (*stats)(wr_server_t *srv, wr_server_stats_t *out); /* wr_server_stats */
    char *db_path;                                           /* owned */
    bool auth_required;                                      /* weir.yaml `auth: required` */
    atomic_bool stopping; /* set before the daemon stops: long polls answer at once */
    void *daemon;         /* struct MHD_Daemon *, private to web/http.c */
} wr_web_t;

/** One connection (one thread, DESIGN.md §2): its read-only store, opened on first use and
 *  closed with the connection. */
typedef struct wr_web_conn_s {
    wr_store_t *store; /* owned; NULL until first used */
} wr_web_conn_t;

/** Path parameters captured by a route pattern's {name} segments, in order. */
typedef struct wr_web_params_s {
    size_t n;
    char *value[WR_WEB_PARAMS_MAX]; /* owned, NUL-terminated */
} wr_web_params_t;

typedef struct wr_web_req_s {
    /* request */
    wr_web_t *web;      /* borrowed */
    void *conn;         /* struct MHD_Connection *, or NULL in unit tests */
    wr_web_conn_t *cc;  /* borrowed; the connection's state */
    const char *method; /* borrowed */
    const char *path;   /* borrowed, URL-decoded, without the query string */
    wr_web_params_t params;
    const char *body; /* borrowed; NUL-terminated */
    size_t body_len;
    json_t *in;     /* owned: the body parsed as JSON, or NULL when it is empty */
    char actor[80]; /* who asks: "token:NAME" or "anonymous" */
    /* response */
    unsigned status;
    json_t *json; /* owned: sent as application/json */
    char *text;   /* owned (free()), or static when text_static */
    size_t text_len;
    bool text_static;
    const char *content_type; /* for text; static */
    char location[192];       /* Location header when not empty */
    char allow[64];           /* Allow header (405) when not empty */
    bool www_authenticate;    /* 401: ask for a bearer token */
} wr_web_req_t;

typedef void (*wr_web_handler_t)(wr_web_req_t *req);

typedef struct wr_web_route_s {
    const char *method;  /* GET, POST, PATCH */
    const char *pattern; /* "/api/v1/runs/{id}": {x} matches one non-empty segment */
    wr_web_handler_t fn;
    wr_web_role_t role; /* the least role allowed when auth is required */
} wr_web_route_t;

/** The route table (web/api.c), ending with a {NULL} row. */
extern const wr_web_route_t wr__web_routes[];

/** The OpenAPI document, embedded from web/openapi.json at build time. */
extern const char wr__web_openapi_json[];
extern const size_t wr__web_openapi_json_len;

/* ==== web/route.c: pure helpers ==== */

/** True if `path` matches `pattern`; the {x} segments' values go to *params (reset first;
 *  release with wr__web_params_dispose()). */
bool wr__web_path_match(const char *pattern, const char *path, wr_web_params_t *params);
void wr__web_params_dispose(wr_web_params_t *params);

/** A request body being received: bytes beyond `limit` are dropped and too_large is set. */
typedef struct wr_web_body_s {
    wr_buf_t buf;
    size_t limit;
    size_t seen; /* bytes received, kept or not */
    bool too_large;
} wr_web_body_t;

void wr__web_body_init(wr_web_body_t *b, size_t limit);
/** Appends n bytes; false once the body is over the limit (the data is dropped). */
bool wr__web_body_append(wr_web_body_t *b, const char *data, size_t n);
void wr__web_body_dispose(wr_web_body_t *b);

/** Parses a whole decimal number in [min, max]; false if `s` is not one. */
bool wr__web_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/** HOST:PORT (host may be [v6]) -> host (without brackets) and port. False if malformed. */
bool wr__web_split_listen(const char *listen, char *host, size_t host_n, int *port);
/** True for names and literals of the loopback interface (127.0.0.0/8, ::1, localhost). */
bool wr__web_host_is_loopback(const char *host);

/* ==== web/request.c: request and response helpers ==== */

/** A query-string argument, or NULL. Borrowed for the request. */
const char *wr__web_arg(wr_web_req_t *req, const char *name);
/** A request header, or NULL. Borrowed for the request. */
const char *wr__web_header(wr_web_req_t *req, const char *name);
/** The connection's read-only store, opened on first use; NULL with *err set on failure. */
wr_store_t *wr__web_store(wr_web_req_t *req, wr_err_t *err);
/** Sets a JSON response; takes ownership of `body`. */
void wr__web_reply(wr_web_req_t *req, unsigned status, json_t *body);
/** Sets an error response {"error": code, "message": text}. */
WR_PRINTF(4, 5)
void wr__web_error(wr_web_req_t *req, unsigned status, const char *code, const char *fmt, ...);
/** Sets the error response for an engine error (its code mapped to a status in one table). */
void wr__web_fail(wr_web_req_t *req, const wr_err_t *err);
/** Releases what the response part owns and the captured parameters. */
void wr__web_req_dispose(wr_web_req_t *req);

/* ==== web/auth.c ==== */

/** SHA-256 of `token` as 64 lowercase hex digits (libcrypto). 0, or WR_ESTORE if the digest
 *  is unavailable. */
WR_MUST_CHECK int wr__web_token_hash(const char *token, char out[65]);
/** A new random token ("weir_" + 43 base64url characters, 256 bits from uv_random) in out. */
WR_MUST_CHECK int wr__web_token_new(char out[64], wr_err_t *err);
/** Role from its name ("viewer", "operator", "admin"); WR_ROLE_NONE if unknown. */
wr_web_role_t wr__web_role_parse(const char *name);
const char *wr__web_role_name(wr_web_role_t role);
/** Checks the request's bearer token against `need`. True to go on; false with the 401/403
 *  response set. Sets req->actor. */
bool wr__web_authorize(wr_web_req_t *req, wr_web_role_t need);

/* ==== web/api.c ==== */

/** Routes the request (404, 405, auth, handler); always leaves a response in `req`. */
void wr__web_dispatch(wr_web_req_t *req);

/* ==== web/metrics.c ==== */

/** GET /metrics: Prometheus text exposition. */
void wr__web_metrics(wr_web_req_t *req);

#endif
