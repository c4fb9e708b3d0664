/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz_api_body.c: request bodies of the REST API (web/api.c). There is no pure
 * body parser: wr__web_dispatch() parses the body (json_loadb, JSON_REJECT_DUPLICATES) and
 * the handler validates it. So each input goes, as the body, through the whole dispatch of
 * POST /api/v1/workflows/{name}/runs (trigger: input, run_id) and PATCH
 * /api/v1/workflows/{name} ({"paused": bool}), with auth off and a backend that answers every
 * command with 409, so no store or loop is needed. Bodies over WR_WEB_BODY_MAX get 413 before
 * dispatch (web/http.c) and are skipped. The input is also matched, as a URL path, against
 * every route pattern (web/route.c). */
#include <stdbool.h>
#include <stdio.h>

#include "tests/fuzz/fuzz.h"
#include "web/web_int.h"

static int fake_call(wr_server_t *srv, wr_cmd_t *cmd)
{
    (void)srv;
    if (cmd->kind == WR_CMD_TRIGGER && cmd->input != NULL && !json_is_object(cmd->input))
        abort(); /* the handler promised an object */
    cmd->status = 409;
    snprintf(cmd->error, sizeof(cmd->error), "conflict");
    snprintf(cmd->message, sizeof(cmd->message), "fuzz");
    return 0;
}

static void dispatch(const char *method, const char *path, const char *body, size_t len)
{
    wr_web_t web;
    wr_web_conn_t cc;
    wr_web_req_t req;

    memset(&web, 0, sizeof(web));
    memset(&cc, 0, sizeof(cc));
    memset(&req, 0, sizeof(req));
    web.call = fake_call;
    req.web = &web;
    req.cc = &cc;
    req.method = method;
    req.path = path;
    req.body = body;
    req.body_len = len;
    wr__web_dispatch(&req);
    if (req.status < 200 || req.status > 599 || (req.json == NULL && req.text == NULL))
        abort(); /* every request gets a response */
    wr__web_req_dispose(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body;

    if (size > WR_WEB_BODY_MAX)
        return 0;
    body = fuzz_cstr(data, size);
    dispatch("POST", "/api/v1/workflows/fuzz/runs", body, size);
    dispatch("PATCH", "/api/v1/workflows/fuzz", body, size);
    if (size < 1024) {
        for (const wr_web_route_t *r = wr__web_routes; r->method != NULL; r++) {
            wr_web_params_t params;
            memset(&params, 0, sizeof(params));
            (void)wr__web_path_match(r->pattern, body, &params);
            wr__web_params_dispose(&params);
        }
    }
    free(body);
    return 0;
}
