/* SPDX-License-Identifier: MIT
 * web/http.c: the libmicrohttpd daemon behind `weir serve` (wr_web_frontend): listening,
 * connections, request bodies, and sending what web/api.c decided.
 *
 * Threads (DESIGN.md §2): MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION.
 * One MHD thread accepts; every connection gets a thread of its own. Not a thread pool,
 * because of the long poll: GET /runs/{id}/wait blocks its handler for up to
 * WR_WEB_WAIT_MAX_S in wr_server_wait_change(), and a pool thread serves all its connections
 * from one event loop, so a few CI jobs waiting on runs would stall every other request
 * (and a pool as large as the number of pollers would be a thread per connection anyway).
 * With a thread per connection a waiting client costs one sleeping thread and nothing else;
 * MHD_OPTION_CONNECTION_LIMIT bounds how many there are. Each connection lazily opens its own
 * read-only store on first use (wr_web_conn_t) and closes it when the connection closes, so
 * a store is never shared between threads. Mutations go to the loop through wr_server_call().
 * When the server stops, `stopping` makes long polls answer within a second, then
 * MHD_stop_daemon() closes the connections and joins their threads. */
#include "web/web.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "web/web_int.h"

#define CONNECTION_LIMIT 256
#define IDLE_TIMEOUT_S   120 /* an idle keep-alive connection is closed after this */

/* One request's state across MHD's calls: the body as it arrives. */
typedef struct {
    wr_web_body_t body;
} req_ctx_t;

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    wr_web_conn_t *cc = *socket_ctx;

    (void)cls;
    (void)conn;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_ctx = wr_xcalloc(1, sizeof(wr_web_conn_t));
    } else if (cc != NULL) {
        wr_store_close(cc->store);
        free(cc);
        *socket_ctx = NULL;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_ctx_t *rc = *req_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (rc != NULL) {
        wr__web_body_dispose(&rc->body);
        free(rc);
        *req_cls = NULL;
    }
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, wr_web_req_t *req, bool close)
{
    struct MHD_Response *resp;
    const char *ctype = req->content_type;
    enum MHD_Result ret;

    if (req->json != NULL) {
        char *s = json_dumps(req->json, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (s == NULL)
            s = wr_xstrdup("{\"error\":\"internal\",\"message\":\"cannot encode\"}");
        resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
        ctype = "application/json";
    } else if (req->text != NULL && req->text_static) {
        resp = MHD_create_response_from_buffer(req->text_len, req->text, MHD_RESPMEM_PERSISTENT);
    } else if (req->text != NULL) {
        resp = MHD_create_response_from_buffer(req->text_len, req->text, MHD_RESPMEM_MUST_FREE);
        req->text = NULL; /* the response frees it */
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL)
        return MHD_NO;
    if (ctype != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (req->location[0] != '\0')
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, req->location);
    if (req->allow[0] != '\0')
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, req->allow);
    if (req->www_authenticate)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"weir\"");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(conn, req->status ? req->status : 500, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_too_large(struct MHD_Connection *conn, wr_web_t *web)
{
    wr_web_req_t req;
    enum MHD_Result ret;

    memset(&req, 0, sizeof(req));
    req.web = web;
    wr__web_error(&req, 413, "payload_too_large", "request bodies are limited to %u bytes",
                  WR_WEB_BODY_MAX);
    ret = send_reply(conn, &req, true);
    wr__web_req_dispose(&req);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    wr_web_t *web = cls;
    req_ctx_t *rc = *req_cls;
    const union MHD_ConnectionInfo *ci;
    wr_web_req_t req;
    enum MHD_Result ret;

    (void)version;
    if (rc == NULL) {
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *expect =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        int64_t n = 0;

        rc = wr_xcalloc(1, sizeof(*rc));
        wr__web_body_init(&rc->body, WR_WEB_BODY_MAX);
        *req_cls = rc;
        /* A declared body over the limit is refused before it is sent when the client
         * waits for "100 Continue", or when it is too big to be worth draining. Smaller
         * ones are read and dropped, so that the client sees the 413 rather than a reset. */
        if (cl != NULL && wr__web_parse_int(cl, 0, INT64_MAX, &n) && n > WR_WEB_BODY_MAX &&
            (n > WR_WEB_BODY_DRAIN || (expect != NULL && strcasecmp(expect, "100-continue") == 0)))
            return send_too_large(conn, web);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        wr__web_body_append(&rc->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        if (rc->body.seen > WR_WEB_BODY_DRAIN)
            return send_too_large(conn, web);
        return MHD_YES;
    }
    if (rc->body.too_large)
        return send_too_large(conn, web);

    memset(&req, 0, sizeof(req));
    req.web = web;
    req.conn = conn;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    req.cc = ci != NULL ? ci->socket_context : NULL;
    if (req.cc == NULL) /* cannot happen: on_connection() runs first */
        return MHD_NO;
    req.method = method;
    req.path = url;
    req.body = wr_buf_cstr(&rc->body.buf);
    req.body_len = rc->body.buf.len;
    wr__web_dispatch(&req);
    ret = send_reply(conn, &req, false);
    wr__web_req_dispose(&req);
    return ret;
}

/* ==== The front end ==== */

static int resolve(const char *host, int port, struct addrinfo **out, wr_err_t *err)
{
    struct addrinfo hints;
    char service[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%d", port);
    rc = getaddrinfo(host, service, &hints, out);
    if (rc != 0)
        return wr_err_set(err, WR_EUSAGE, "cannot resolve '%s': %s", host, gai_strerror(rc));
    return 0;
}

static bool addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

static int web_start(wr_server_t *srv, const char *listen, void **state, wr_err_t *err)
{
    const json_t *auth = json_object_get(wr_server_config(srv), "auth");
    struct addrinfo *ai = NULL;
    wr_web_t *web = NULL;
    char host[256];
    int port = 0, rc;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    bool required = false;

    if (listen == NULL)
        listen = "127.0.0.1:8080";
    if (auth != NULL) {
        const char *a = json_string_value(auth);
        if (a != NULL && strcmp(a, "required") == 0)
            required = true;
        else if (a == NULL || (strcmp(a, "none") != 0 && strcmp(a, "loopback") != 0)) {
            rc = wr_err_set(err, WR_EINVALID, "configuration: 'auth' must be 'required' or 'none'");
            goto done;
        }
    }
    if (!wr__web_split_listen(listen, host, sizeof(host), &port)) {
        rc = wr_err_set(err, WR_EUSAGE, "listen address '%s' is not HOST:PORT", listen);
        goto done;
    }
    if ((rc = resolve(host, port, &ai, err)) != 0)
        goto done;
    if (!required && !addr_is_loopback(ai->ai_addr)) {
        rc = wr_err_set(err, WR_EUSAGE,
                        "refusing to listen on %s without API tokens: set 'auth: required' in "
                        "weir.yaml and create tokens with 'weir token create', or listen on "
                        "127.0.0.1",
                        listen);
        goto done;
    }
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    web = wr_xcalloc(1, sizeof(*web));
    web->srv = srv;
    web->call = wr_server_call;
    web->wait_change = wr_server_wait_change;
    web->stats = wr_server_stats;
    web->db_path = wr_xstrdup(wr_server_db_path(srv));
    web->auth_required = required;
    atomic_init(&web->stopping, false);
    web->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, web, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, web, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        web, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_END);
    if (web->daemon == NULL) {
        int e = errno;
        rc = wr_err_set(err, e ? -e : WR_EUSAGE, "cannot listen on %s%s%s", listen, e ? ": " : "",
                        e ? uv_strerror(-e) : "");
        goto done;
    }
    *state = web;
    web = NULL;
    rc = 0;
done:
    if (web != NULL) {
        free(web->db_path);
        free(web);
    }
    if (ai != NULL)
        freeaddrinfo(ai);
    return rc;
}

static void web_stop(void *state)
{
    wr_web_t *web = state;

    if (web == NULL)
        return;
    atomic_store(&web->stopping, true);
    if (web->daemon != NULL)
        MHD_stop_daemon(web->daemon);
    free(web->db_path);
    free(web);
}

const wr_frontend_t wr_web_frontend = {
    .start = web_start,
    .stop = web_stop,
};
