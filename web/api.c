/* SPDX-License-Identifier: MIT
 * web/api.c: the REST API under /api/v1 (issue 3): the route table and its handlers.
 *
 * Routes are rows (STYLE.md §1.6): method, path pattern, handler, and the least role allowed
 * when tokens are required. web/openapi.json documents exactly these rows; tests/unit/
 * test_web.c checks both ways. Handlers read through the connection's read-only store
 * (engine/query.h) and hand every change to the loop with a command (engine/server.h); they
 * never touch SQL or loop-owned state. */
#include "web/web_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/query.h"
#include "web/sfn.h"

/* ==== Helpers ==== */

static wr_store_t *store_or_fail(wr_web_req_t *req)
{
    wr_err_t err;
    wr_store_t *store;

    memset(&err, 0, sizeof(err));
    if ((store = wr__web_store(req, &err)) == NULL)
        wr__web_fail(req, &err);
    return store;
}

/* An integer query argument in [min, max]; `def` when absent. False with a 400 set. */
static bool int_arg(wr_web_req_t *req, const char *name, int64_t min, int64_t max, int64_t def,
                    int64_t *out)
{
    const char *s = wr__web_arg(req, name);

    if (s == NULL || *s == '\0') {
        *out = def;
        return true;
    }
    if (wr__web_parse_int(s, min, max, out))
        return true;
    wr__web_error(req, 400, "bad_request", "'%s' must be a whole number from %lld to %lld", name,
                  (long long)min, (long long)max);
    return false;
}

/* Posts `cmd` to the loop. False with the error response set when it did not succeed. */
static bool run_cmd(wr_web_req_t *req, wr_cmd_t *cmd)
{
    cmd->actor = req->actor;
    if (req->web->call == NULL || req->web->call(req->web->srv, cmd) != 0) {
        wr__web_error(req, 503, "unavailable", "the server is shutting down");
        return false;
    }
    if (cmd->status >= 400) {
        wr__web_error(req, (unsigned)cmd->status, cmd->error[0] ? cmd->error : "error", "%s",
                      cmd->message);
        return false;
    }
    return true;
}

/* Replies `status` with the run as it is now (or just its id if it cannot be read). */
static void reply_run(wr_web_req_t *req, unsigned status, const char *run_id)
{
    wr_store_t *store = store_or_fail(req);
    json_t *run = NULL;
    wr_err_t err;

    if (store == NULL)
        return;
    memset(&err, 0, sizeof(err));
    if (wr_query_run(store, run_id, &run, &err) != 0)
        run = json_pack("{s:s}", "id", run_id);
    wr__web_reply(req, status, run);
}

static bool valid_run_id(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

/* ==== Workflows ==== */

static void h_workflows(wr_web_req_t *req)
{
    wr_store_t *store = store_or_fail(req);
    json_t *out = NULL;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (store == NULL)
        return;
    if (wr_query_workflows(store, wr_now_ms() / 1000, &out, &err) != 0)
        wr__web_fail(req, &err);
    else
        wr__web_reply(req, 200, out);
}

static void reply_workflow(wr_web_req_t *req, unsigned status, const char *name)
{
    wr_store_t *store = store_or_fail(req);
    json_t *out = NULL;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (store == NULL)
        return;
    if (wr_query_workflow(store, name, wr_now_ms() / 1000, &out, &err) != 0)
        wr__web_fail(req, &err);
    else
        wr__web_reply(req, status, out);
}

static void h_workflow(wr_web_req_t *req)
{
    reply_workflow(req, 200, req->params.value[0]);
}

static void h_workflow_patch(wr_web_req_t *req)
{
    json_t *paused = json_object_get(req->in, "paused");
    wr_cmd_t cmd;

    if (!json_is_object(req->in) || !json_is_boolean(paused) || json_object_size(req->in) != 1) {
        wr__web_error(req, 400, "bad_request", "the body must be {\"paused\": true|false}");
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.kind = WR_CMD_SET_PAUSED;
    cmd.workflow = req->params.value[0];
    cmd.paused = json_is_true(paused);
    if (run_cmd(req, &cmd))
        reply_workflow(req, 200, req->params.value[0]);
}

static void h_trigger(wr_web_req_t *req)
{
    json_t *input = NULL, *run_id = NULL, *v;
    const char *key;
    wr_cmd_t cmd;

    if (req->in != NULL && !json_is_object(req->in)) {
        wr__web_error(req, 400, "bad_request", "the body must be a JSON object");
        return;
    }
    json_object_foreach(req->in, key, v)
    {
        if (strcmp(key, "input") == 0) {
            input = v;
        } else if (strcmp(key, "run_id") == 0) {
            run_id = v;
        } else {
            wr__web_error(req, 400, "bad_request", "unknown field '%s' (input, run_id)", key);
            return;
        }
    }
    if (input != NULL && !json_is_object(input) && !json_is_null(input)) {
        wr__web_error(req, 400, "bad_request", "'input' must be a JSON object");
        return;
    }
    if (run_id != NULL && !json_is_null(run_id) &&
        (!json_is_string(run_id) || !valid_run_id(json_string_value(run_id)))) {
        wr__web_error(req, 400, "bad_request",
                      "'run_id' must be 1 to 63 characters of A-Z a-z 0-9 - _ . :");
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.kind = WR_CMD_TRIGGER;
    cmd.workflow = req->params.value[0];
    cmd.run_id = json_string_value(run_id);
    cmd.input = json_is_object(input) ? input : NULL;
    if (!run_cmd(req, &cmd))
        return;
    snprintf(req->location, sizeof(req->location), "/api/v1/runs/%s", cmd.out_run_id);
    reply_run(req, cmd.status == 200 ? 200 : 201, cmd.out_run_id);
}

static void h_runs(wr_web_req_t *req)
{
    wr_store_t *store;
    wr_query_runs_t q;
    json_t *out = NULL;
    int64_t limit;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!int_arg(req, "limit", 1, WR_QUERY_RUNS_LIMIT_MAX, WR_QUERY_RUNS_LIMIT_DEFAULT, &limit))
        return;
    if ((store = store_or_fail(req)) == NULL)
        return;
    memset(&q, 0, sizeof(q));
    q.workflow = req->params.value[0];
    q.status = wr__web_arg(req, "status");
    q.cursor = wr__web_arg(req, "cursor");
    q.limit = (int)limit;
    if (wr_query_runs(store, &q, &out, &err) != 0)
        wr__web_fail(req, &err);
    else
        wr__web_reply(req, 200, out);
}

/* ==== Runs ==== */

static void h_run(wr_web_req_t *req)
{
    wr_store_t *store = store_or_fail(req);
    json_t *out = NULL;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (store == NULL)
        return;
    if (wr_query_run(store, req->params.value[0], &out, &err) != 0)
        wr__web_fail(req, &err);
    else
        wr__web_reply(req, 200, out);
}

static void h_events(wr_web_req_t *req)
{
    wr_store_t *store;
    json_t *out = NULL;
    int64_t after, limit;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!int_arg(req, "after", 0, INT64_MAX, 0, &after) ||
        !int_arg(req, "limit", 1, WR_QUERY_EVENTS_LIMIT_MAX, WR_QUERY_EVENTS_LIMIT_DEFAULT, &limit))
        return;
    if ((store = store_or_fail(req)) == NULL)
        return;
    if (wr_query_events(store, req->params.value[0], after, (int)limit, &out, &err) != 0)
        wr__web_fail(req, &err);
    else
        wr__web_reply(req, 200, out);
}

static void h_logs(wr_web_req_t *req)
{
    const char *stream = wr__web_arg(req, "stream");
    wr_store_t *store;
    json_t *out = NULL;
    int64_t attempt, offset;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!int_arg(req, "attempt", 1, 1000000, 0, &attempt) ||
        !int_arg(req, "offset", 0, INT64_MAX, 0, &offset))
        return;
    if ((store = store_or_fail(req)) == NULL)
        return;
    if (wr_query_task_logs(store, req->params.value[0], req->params.value[1], (int)attempt,
                           stream && *stream ? stream : "stdout", offset, &out, &err) != 0)
        wr__web_fail(req, &err);
    else
        wr__web_reply(req, 200, out);
}

static void run_command(wr_web_req_t *req, wr_cmd_kind_t kind)
{
    wr_cmd_t cmd;

    memset(&cmd, 0, sizeof(cmd));
    cmd.kind = kind;
    cmd.run_id = req->params.value[0];
    if (!run_cmd(req, &cmd))
        return;
    reply_run(req, (unsigned)cmd.status, cmd.out_run_id[0] ? cmd.out_run_id : cmd.run_id);
}

static void h_cancel(wr_web_req_t *req)
{
    run_command(req, WR_CMD_CANCEL);
}

static void h_retry(wr_web_req_t *req)
{
    run_command(req, WR_CMD_RETRY);
}

/* The long poll: re-reads the run's status after every change the loop announces, until it
 * is final, the timeout passes, or the server stops. Waits in slices of at most a second so
 * that a stopping front end is never held up by a poller. */
static void h_wait(wr_web_req_t *req)
{
    const char *id = req->params.value[0];
    wr_store_t *store;
    int64_t timeout_s, deadline;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!int_arg(req, "timeout", 0, WR_WEB_WAIT_MAX_S, WR_WEB_WAIT_DEFAULT_S, &timeout_s))
        return;
    if ((store = store_or_fail(req)) == NULL)
        return;
    deadline = wr_now_ms() + timeout_s * 1000;
    for (;;) {
        wr_server_stats_t st;
        char status[32];
        int64_t now, left;
        int rc;

        memset(&st, 0, sizeof(st));
        if (req->web->stats != NULL)
            req->web->stats(req->web->srv, &st);
        rc = wr_store_run_status(store, id, status, sizeof(status));
        if (rc == WR_ENOTFOUND) {
            wr__web_error(req, 404, "not_found", "no run '%s'", id);
            return;
        }
        if (rc != 0 || wr_query_run_status_is_final(status))
            break;
        now = wr_now_ms();
        if (now >= deadline || st.shutting_down || atomic_load(&req->web->stopping) ||
            req->web->wait_change == NULL)
            break;
        left = deadline - now;
        req->web->wait_change(req->web->srv, st.generation, left < 1000 ? left : 1000);
    }
    reply_run(req, 200, id);
}

/* ==== Service ==== */

static void h_health(wr_web_req_t *req)
{
    wr_server_stats_t st;
    json_t *out;

    memset(&st, 0, sizeof(st));
    if (req->web->stats != NULL)
        req->web->stats(req->web->srv, &st);
    out =
        json_pack("{s:s,s:s,s:I,s:i,s:i,s:i,s:i,s:i,s:b}", "status",
                  st.shutting_down ? "shutting_down" : "ok", "version", WR_VERSION, "uptime_s",
                  (json_int_t)(st.started_at_ms > 0 ? (wr_now_ms() - st.started_at_ms) / 1000 : 0),
                  "workflows", st.workflows, "definition_errors", st.definition_errors,
                  "runs_active", st.runs_active, "tasks_running", st.tasks_running, "tasks_queued",
                  st.tasks_queued, "auth_required", req->web->auth_required);
    wr__web_reply(req, st.shutting_down ? 503 : 200, out);
}

static void h_openapi(wr_web_req_t *req)
{
    req->status = 200;
    req->text = (char *)wr__web_openapi_json;
    req->text_len = wr__web_openapi_json_len;
    req->text_static = true;
    req->content_type = "application/json";
}

/* ==== The route table ==== */

const wr_web_route_t wr__web_routes[] = {
    {"GET", "/api/v1/workflows", h_workflows, WR_ROLE_VIEWER},
    {"GET", "/api/v1/workflows/{name}", h_workflow, WR_ROLE_VIEWER},
    {"PATCH", "/api/v1/workflows/{name}", h_workflow_patch, WR_ROLE_OPERATOR},
    {"POST", "/api/v1/workflows/{name}/runs", h_trigger, WR_ROLE_OPERATOR},
    {"GET", "/api/v1/workflows/{name}/runs", h_runs, WR_ROLE_VIEWER},
    {"GET", "/api/v1/runs/{id}", h_run, WR_ROLE_VIEWER},
    {"GET", "/api/v1/runs/{id}/events", h_events, WR_ROLE_VIEWER},
    {"GET", "/api/v1/runs/{id}/tasks/{task}/logs", h_logs, WR_ROLE_VIEWER},
    {"POST", "/api/v1/runs/{id}/cancel", h_cancel, WR_ROLE_OPERATOR},
    {"POST", "/api/v1/runs/{id}/retry", h_retry, WR_ROLE_OPERATOR},
    {"GET", "/api/v1/runs/{id}/wait", h_wait, WR_ROLE_VIEWER},
    {"GET", "/api/v1/health", h_health, WR_ROLE_NONE},
    {"GET", "/api/v1/openapi.json", h_openapi, WR_ROLE_NONE},
    {"GET", "/metrics", wr__web_metrics, WR_ROLE_VIEWER},
    {NULL, NULL, NULL, WR_ROLE_NONE},
};

void wr__web_dispatch(wr_web_req_t *req)
{
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    const wr_web_route_t *hit = NULL;
    size_t allow_len = 0;

    req->allow[0] = '\0';
    if (wr__web_is_sfn(req)) { /* the Step Functions API shares the port (web/sfn.c) */
        wr__web_sfn(req);
        return;
    }
    for (const wr_web_route_t *r = wr__web_routes; r->method != NULL && hit == NULL; r++) {
        if (!wr__web_path_match(r->pattern, req->path, &req->params))
            continue;
        if (strcmp(r->method, method) == 0) {
            hit = r;
        } else {
            int n = snprintf(req->allow + allow_len, sizeof(req->allow) - allow_len, "%s%s",
                             allow_len ? ", " : "", r->method);
            if (n > 0 && (size_t)n < sizeof(req->allow) - allow_len)
                allow_len += (size_t)n;
        }
    }
    if (hit == NULL) {
        if (allow_len > 0)
            wr__web_error(req, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
                          req->method, req->path, req->allow);
        else
            wr__web_error(req, 404, "not_found", "no such endpoint: %s", req->path);
        return;
    }
    req->allow[0] = '\0';
    if (!wr__web_authorize(req, hit->role))
        return;
    if (req->body_len > 0) {
        json_error_t je;
        req->in = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
        if (req->in == NULL) {
            wr__web_error(req, 400, "invalid_json", "malformed JSON body at line %d, column %d: %s",
                          je.line, je.column, je.text);
            return;
        }
    }
    hit->fn(req);
}
