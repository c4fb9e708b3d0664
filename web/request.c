/* SPDX-License-Identifier: MIT
 * web/request.c: what handlers use to read a request and write a response: query arguments,
 * headers, the connection's read-only store, JSON replies, and the one table that maps
 * engine error codes to HTTP statuses (STYLE.md §1.6). */
#include "web/web_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

const char *wr__web_arg(wr_web_req_t *req, const char *name)
{
    if (req->conn == NULL)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *wr__web_header(wr_web_req_t *req, const char *name)
{
    if (req->conn == NULL)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

wr_store_t *wr__web_store(wr_web_req_t *req, wr_err_t *err)
{
    if (req->cc->store == NULL &&
        wr_store_open_readonly(req->web->db_path, &req->cc->store, err) != 0)
        req->cc->store = NULL;
    return req->cc->store;
}

void wr__web_reply(wr_web_req_t *req, unsigned status, json_t *body)
{
    json_decref(req->json);
    req->status = status;
    req->json = body;
}

void wr__web_error(wr_web_req_t *req, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    wr__web_reply(req, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

/* Engine error code -> HTTP status and error code: the one table. */
static const struct {
    int code;
    unsigned status;
    const char *error;
} err_map[] = {
    {WR_ENOTFOUND, 404, "not_found"},   {WR_EPARSE, 400, "bad_request"},
    {WR_EINVALID, 400, "bad_request"},  {WR_EUSAGE, 400, "bad_request"},
    {WR_ECANCELED, 503, "unavailable"}, {WR_ESTORE, 500, "internal"},
};

void wr__web_fail(wr_web_req_t *req, const wr_err_t *err)
{
    for (size_t i = 0; i < WR_ARRAY_SIZE(err_map); i++) {
        if (err_map[i].code == err->code) {
            wr__web_error(req, err_map[i].status, err_map[i].error, "%s", err->msg);
            return;
        }
    }
    wr__web_error(req, 500, "internal", "%s", err->msg[0] ? err->msg : wr_strerror(err->code));
}

void wr__web_req_dispose(wr_web_req_t *req)
{
    json_decref(req->json);
    req->json = NULL;
    json_decref(req->in);
    req->in = NULL;
    if (!req->text_static)
        free(req->text);
    req->text = NULL;
    wr__web_params_dispose(&req->params);
}
