/* SPDX-License-Identifier: MIT
 * web/sfn.c: the AWS Step Functions API (AWS JSON 1.0) on the same server as the REST API:
 * `POST /` with `X-Amz-Target: AWSStepFunctions.<Operation>` and a JSON body, so that the AWS
 * CLI and SDKs (`--endpoint-url http://127.0.0.1:8080`) drive weir's state machines.
 *
 * Operations are rows (name, handler, least role), as the REST routes are. State machines are
 * weir workflows of kind "asl" and executions are their runs: an execution's name is the
 * run's client_run_id. ARNs use region us-east-1 and account 123456789012, as the
 * interpreter's context object does. Reads go through the connection's read-only store
 * (engine/store_asl.h); every change is a command to the loop (engine/server.h). Errors have
 * AWS's shape, {"__type": CODE, "message": TEXT} with HTTP 400, and AWS's codes; timestamps
 * are epoch seconds as JSON numbers. Auth: without `auth: required` the SigV4 signature the
 * CLI sends is accepted unverified; with it, only `Authorization: Bearer TOKEN` is. */
#include "web/sfn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#include "engine/asl_run.h"
#include "engine/def_asl.h"
#include "engine/query.h"
#include "engine/store_asl.h"

#define ARN_PREFIX     "arn:aws:states:us-east-1:123456789012:"
#define ROLE_ARN       "arn:aws:iam::123456789012:role/weir-local-execution"
#define PAGE_DEFAULT   100
#define PAGE_MAX       1000
#define SYNC_TIMEOUT_S 300 /* StartSyncExecution: Express workflows run at most 5 minutes */
#define TARGET_PREFIX  "AWSStepFunctions."
#define SFN_NAME_MAX   80

/* ==== Replies ==== */

static void send_json(wr_web_req_t *req, unsigned status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);

    json_decref(body);
    json_decref(req->json);
    req->json = NULL;
    if (!req->text_static)
        free(req->text);
    req->text_static = false;
    req->text = s ? s : wr_xstrdup("{}");
    req->text_len = strlen(req->text);
    req->content_type = "application/x-amz-json-1.0";
    req->status = status;
}

WR_PRINTF(3, 4) static void aws_error(wr_web_req_t *req, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    send_json(req, 400, json_pack("{s:s, s:s}", "__type", code, "message", msg));
}

static void internal_error(wr_web_req_t *req, const wr_err_t *err)
{
    char msg[300];

    snprintf(msg, sizeof(msg), "%s", err->msg[0] ? err->msg : wr_strerror(err->code));
    send_json(req, 500, json_pack("{s:s, s:s}", "__type", "InternalFailure", "message", msg));
}

static json_t *epoch(json_t *ms)
{
    if (!json_is_integer(ms))
        return NULL;
    return json_real((double)json_integer_value(ms) / 1000.0);
}

static void set_epoch(json_t *o, const char *key, json_t *ms)
{
    json_t *v = epoch(ms);
    if (v != NULL)
        json_object_set_new(o, key, v);
}

/* ==== Requests: fields, names, ARNs ==== */

static wr_store_t *store_or_fail(wr_web_req_t *req)
{
    wr_err_t err;
    wr_store_t *store;

    memset(&err, 0, sizeof(err));
    if ((store = wr__web_store(req, &err)) == NULL)
        internal_error(req, &err);
    return store;
}

/* A string member; NULL when absent. False (with a ValidationException) when present with
 * another type, or absent and `required`. */
static bool str_field(wr_web_req_t *req, const char *name, bool required, const char **out)
{
    json_t *v = json_object_get(req->in, name);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (!required)
            return true;
        aws_error(req, "ValidationException",
                  "1 validation error detected: Value null at '%s' "
                  "failed to satisfy constraint: Member must not be null",
                  name);
        return false;
    }
    if (!json_is_string(v)) {
        aws_error(req, "SerializationException", "'%s' must be a string", name);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* AWS's rule for state machine and execution names. */
static bool valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SFN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || strchr("<>{}[]?*\"#%\\^|~`$&,;:/", c) != NULL)
            return false;
    }
    return true;
}

/* "arn:aws:states:R:A:KIND:X[:Y]" -> X (and Y). Only `kind` is accepted. The region and
 * account are not checked: clients copy ARNs from answers of this server. */
static bool parse_arn(const char *arn, const char *kind, char *x, size_t xn, char *y, size_t yn)
{
    const char *p = arn;
    size_t kl = strlen(kind);

    if (arn == NULL || strncmp(p, "arn:", 4) != 0)
        return false;
    for (int i = 0; i < 5; i++) { /* skip arn, partition, service, region, account */
        p = strchr(p, ':');
        if (p == NULL)
            return false;
        p++;
    }
    if (strncmp(p, kind, kl) != 0 || p[kl] != ':')
        return false;
    p += kl + 1;
    {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n == 0 || n >= xn)
            return false;
        memcpy(x, p, n);
        x[n] = '\0';
        if (y != NULL) {
            if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= yn ||
                strchr(colon + 1, ':') != NULL)
                return false;
            snprintf(y, yn, "%s", colon + 1);
        }
    }
    return true;
}

static char *sm_arn(const char *name)
{
    return wr_xasprintf(ARN_PREFIX "stateMachine:%s", name);
}

static char *exec_arn(const char *sm, const char *name)
{
    return wr_xasprintf(ARN_PREFIX "execution:%s:%s", sm, name);
}

/* The state machine `arn` names, as wr_store_asl_machine() shapes it; NULL with the AWS
 * error set (InvalidArn, StateMachineDoesNotExist). */
static json_t *machine_of(wr_web_req_t *req, wr_store_t *store, const char *arn, char name[128])
{
    json_t *m = NULL;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!parse_arn(arn, "stateMachine", name, 128, NULL, 0)) {
        aws_error(req, "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'",
                  arn);
        return NULL;
    }
    if (wr_store_asl_machine(store, name, &m, &err) != 0) {
        if (err.code == WR_ENOTFOUND)
            aws_error(req, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn);
        else
            internal_error(req, &err);
        return NULL;
    }
    if (json_is_true(json_object_get(m, "removed")) ||
        strcmp(json_string_value(json_object_get(m, "kind")), "asl") != 0) {
        json_decref(m);
        aws_error(req, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn);
        return NULL;
    }
    return m;
}

/* The run behind execution `arn`; NULL with the AWS error set. */
static json_t *execution_of(wr_web_req_t *req, wr_store_t *store, const char *arn, char sm[128],
                            char name[128])
{
    json_t *r = NULL;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!parse_arn(arn, "execution", sm, 128, name, 128)) {
        aws_error(req, "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'",
                  arn ? arn : "");
        return NULL;
    }
    if (wr_store_asl_execution(store, sm, name, &r, &err) != 0) {
        if (err.code == WR_ENOTFOUND)
            aws_error(req, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn);
        else
            internal_error(req, &err);
        return NULL;
    }
    return r;
}

/* A run's status as Step Functions names it. */
static const char *exec_status(const json_t *run)
{
    const char *s = json_string_value(json_object_get(run, "status"));

    if (s == NULL || strcmp(s, "QUEUED") == 0)
        return "RUNNING";
    return s;
}

static const char *exec_name(const json_t *run)
{
    const char *n = json_string_value(json_object_get(run, "client_run_id"));
    return n ? n : json_string_value(json_object_get(run, "id"));
}

/* maxResults and nextToken (an offset, as text): false with the error set. */
static bool page_args(wr_web_req_t *req, int *limit, int64_t *offset)
{
    json_t *mr = json_object_get(req->in, "maxResults");
    const char *tok = json_string_value(json_object_get(req->in, "nextToken"));

    *limit = PAGE_DEFAULT;
    *offset = 0;
    if (json_is_integer(mr) && json_integer_value(mr) > 0)
        *limit = json_integer_value(mr) > PAGE_MAX ? PAGE_MAX : (int)json_integer_value(mr);
    else if (mr != NULL && !(json_is_integer(mr) && json_integer_value(mr) == 0)) {
        aws_error(req, "ValidationException", "maxResults must be from 0 to %d", PAGE_MAX);
        return false;
    }
    if (tok != NULL && !wr__web_parse_int(tok, 0, INT64_MAX, offset)) {
        aws_error(req, "InvalidToken", "Invalid Token: '%s'", tok);
        return false;
    }
    return true;
}

/* Posts `cmd` to the loop; false (with a 503-like AWS error) when the server is stopping. */
static bool call(wr_web_req_t *req, wr_cmd_t *cmd)
{
    cmd->actor = req->actor;
    if (req->web->call == NULL || req->web->call(req->web->srv, cmd) != 0) {
        send_json(req, 503,
                  json_pack("{s:s, s:s}", "__type", "ServiceUnavailable", "message",
                            "the server is shutting down"));
        return false;
    }
    return true;
}

/* Checks a definition as AWS does at CreateStateMachine; false with InvalidDefinition. */
static bool check_definition(wr_web_req_t *req, const char *name, const char *def)
{
    wr_asl_t *asl = NULL;
    char *all = NULL, path[160];
    wr_err_t err;
    bool ok;

    memset(&err, 0, sizeof(err));
    snprintf(path, sizeof(path), "%s.json", name);
    ok = wr_asl_load_string(path, def, strlen(def), &asl, &all, &err) == 0;
    if (!ok) {
        /* One line per problem; AWS puts them in one message. */
        for (char *p = all; p != NULL && *p != '\0'; p++)
            if (*p == '\n' && p[1] != '\0')
                *p = ';';
        if (all != NULL && all[0] != '\0' && all[strlen(all) - 1] == '\n')
            all[strlen(all) - 1] = '\0';
        aws_error(req, "InvalidDefinition", "Invalid State Machine Definition: '%s'",
                  all && *all ? all : err.msg);
    }
    free(all);
    wr_asl_free(asl);
    return ok;
}

/* ==== State machines ==== */

static void op_create(wr_web_req_t *req)
{
    const char *name, *def, *role, *type;
    wr_store_t *store;
    json_t *m = NULL;
    char *arn;
    wr_cmd_t cmd;
    wr_err_t err;

    if (!str_field(req, "name", true, &name) || !str_field(req, "definition", true, &def) ||
        !str_field(req, "roleArn", true, &role) || !str_field(req, "type", false, &type))
        return;
    if (!valid_name(name)) {
        aws_error(req, "InvalidName", "Invalid Name: '%s'", name);
        return;
    }
    if (type != NULL && strcmp(type, "STANDARD") != 0 && strcmp(type, "EXPRESS") != 0) {
        aws_error(req, "ValidationException", "type must be STANDARD or EXPRESS");
        return;
    }
    if (!check_definition(req, name, def) || (store = store_or_fail(req)) == NULL)
        return;
    memset(&cmd, 0, sizeof(cmd));
    cmd.kind = WR_CMD_SM_CREATE;
    cmd.workflow = name;
    cmd.definition = def;
    if (!call(req, &cmd))
        return;
    if (cmd.status == 409) {
        aws_error(req, "StateMachineAlreadyExists", "State Machine Already Exists: '%s'", name);
        return;
    }
    if (cmd.status >= 400) {
        aws_error(req, cmd.status == 400 ? "InvalidDefinition" : "InternalFailure", "%s",
                  cmd.message);
        return;
    }
    memset(&err, 0, sizeof(err));
    if (wr_store_asl_machine(store, name, &m, &err) != 0) {
        internal_error(req, &err);
        return;
    }
    arn = sm_arn(name);
    {
        json_t *out = json_pack("{s:s}", "stateMachineArn", arn);
        set_epoch(out, "creationDate", json_object_get(m, "created_at"));
        send_json(req, 200, out);
    }
    free(arn);
    json_decref(m);
}

static void op_update(wr_web_req_t *req)
{
    const char *arn, *def;
    char name[128];
    wr_store_t *store;
    json_t *m, *m2 = NULL, *out;
    wr_cmd_t cmd;
    wr_err_t err;

    if (!str_field(req, "stateMachineArn", true, &arn) ||
        !str_field(req, "definition", false, &def) || (store = store_or_fail(req)) == NULL)
        return;
    if ((m = machine_of(req, store, arn, name)) == NULL)
        return;
    json_decref(m);
    if (def == NULL) {
        if (json_object_get(req->in, "roleArn") == NULL &&
            json_object_get(req->in, "loggingConfiguration") == NULL &&
            json_object_get(req->in, "tracingConfiguration") == NULL) {
            aws_error(req, "MissingRequiredParameter",
                      "Either the definition, the role ARN, the LoggingConfiguration, or the "
                      "TracingConfiguration must be specified");
            return;
        }
    } else {
        if (!check_definition(req, name, def))
            return;
        memset(&cmd, 0, sizeof(cmd));
        cmd.kind = WR_CMD_SM_UPDATE;
        cmd.workflow = name;
        cmd.definition = def;
        if (!call(req, &cmd))
            return;
        if (cmd.status == 404) {
            aws_error(req, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn);
            return;
        }
        if (cmd.status >= 400) {
            aws_error(req, cmd.status == 400 ? "InvalidDefinition" : "InternalFailure", "%s",
                      cmd.message);
            return;
        }
    }
    memset(&err, 0, sizeof(err));
    if (wr_store_asl_machine(store, name, &m2, &err) != 0) {
        internal_error(req, &err);
        return;
    }
    out = json_object();
    set_epoch(out, "updateDate", json_object_get(m2, "updated_at"));
    json_object_set_new(
        out, "revisionId",
        json_sprintf("%lld", (long long)json_integer_value(json_object_get(m2, "version_id"))));
    json_decref(m2);
    send_json(req, 200, out);
}

/* The definition as JSON text: an API-created one as given; a YAML file's converted. */
static json_t *definition_text(const json_t *m)
{
    const char *src = json_string_value(json_object_get(m, "source"));
    const char *name = json_string_value(json_object_get(m, "name"));
    json_t *parsed;
    wr_asl_t *asl = NULL;
    wr_err_t err;

    if (src == NULL)
        return json_string("{}");
    if ((parsed = json_loads(src, 0, NULL)) != NULL) {
        json_decref(parsed);
        return json_string(src);
    }
    memset(&err, 0, sizeof(err));
    if (wr_asl_load_string(name ? name : "sm", src, strlen(src), &asl, NULL, &err) == 0) {
        char *t = json_dumps(asl->root, JSON_INDENT(2));
        json_t *s = json_string(t ? t : "{}");
        free(t);
        wr_asl_free(asl);
        return s;
    }
    return json_string(src);
}

static void op_describe_sm(wr_web_req_t *req)
{
    const char *arn;
    char name[128];
    wr_store_t *store;
    json_t *m, *out;

    if (!str_field(req, "stateMachineArn", true, &arn) || (store = store_or_fail(req)) == NULL)
        return;
    if ((m = machine_of(req, store, arn, name)) == NULL)
        return;
    out = json_object();
    json_object_set_new(out, "stateMachineArn", json_string(arn));
    json_object_set_new(out, "name", json_string(name));
    json_object_set_new(out, "status", json_string("ACTIVE"));
    json_object_set_new(out, "definition", definition_text(m));
    json_object_set_new(out, "roleArn", json_string(ROLE_ARN));
    json_object_set_new(out, "type", json_string("STANDARD"));
    set_epoch(out, "creationDate", json_object_get(m, "created_at"));
    json_object_set_new(out, "loggingConfiguration",
                        json_pack("{s:s, s:b}", "level", "OFF", "includeExecutionData", 0));
    json_object_set_new(out, "tracingConfiguration", json_pack("{s:b}", "enabled", 0));
    json_object_set_new(out, "encryptionConfiguration",
                        json_pack("{s:s}", "type", "AWS_OWNED_KEY"));
    json_object_set_new(
        out, "revisionId",
        json_sprintf("%lld", (long long)json_integer_value(json_object_get(m, "version_id"))));
    json_decref(m);
    send_json(req, 200, out);
}

static void op_list_sms(wr_web_req_t *req)
{
    wr_store_t *store;
    json_t *all = NULL, *list, *out, *m;
    int64_t offset;
    int limit;
    size_t i;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!page_args(req, &limit, &offset) || (store = store_or_fail(req)) == NULL)
        return;
    if (wr_store_asl_machines(store, &all, &err) != 0) {
        internal_error(req, &err);
        return;
    }
    list = json_array();
    json_array_foreach(all, i, m)
    {
        char *arn;
        json_t *item;
        if ((int64_t)i < offset || json_array_size(list) >= (size_t)limit)
            continue;
        arn = sm_arn(json_string_value(json_object_get(m, "name")));
        item = json_pack("{s:s, s:O, s:s}", "stateMachineArn", arn, "name",
                         json_object_get(m, "name"), "type", "STANDARD");
        set_epoch(item, "creationDate", json_object_get(m, "created_at"));
        json_array_append_new(list, item);
        free(arn);
    }
    out = json_pack("{s:o}", "stateMachines", list);
    if ((int64_t)json_array_size(all) > offset + limit)
        json_object_set_new(out, "nextToken", json_sprintf("%lld", (long long)(offset + limit)));
    json_decref(all);
    send_json(req, 200, out);
}

static void op_delete_sm(wr_web_req_t *req)
{
    const char *arn;
    char name[128];
    wr_cmd_t cmd;

    if (!str_field(req, "stateMachineArn", true, &arn))
        return;
    if (!parse_arn(arn, "stateMachine", name, sizeof(name), NULL, 0)) {
        aws_error(req, "InvalidArn", "Invalid Arn: '%s'", arn);
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.kind = WR_CMD_SM_DELETE;
    cmd.workflow = name;
    if (!call(req, &cmd))
        return;
    if (cmd.status >= 400 && cmd.status != 404) { /* deleting what is gone succeeds, as AWS */
        aws_error(req, "ValidationException", "%s", cmd.message);
        return;
    }
    send_json(req, 200, json_object());
}

/* ==== Executions ==== */

/* Starts (or finds, by name) an execution; the run's row in *out. False with the error set. */
static bool start_execution(wr_web_req_t *req, wr_store_t *store, char sm[128], json_t **out)
{
    const char *arn, *name, *input;
    char gen[40];
    json_t *m, *in, *run = NULL;
    json_error_t je;
    wr_cmd_t cmd;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!str_field(req, "stateMachineArn", true, &arn) || !str_field(req, "name", false, &name) ||
        !str_field(req, "input", false, &input))
        return false;
    if ((m = machine_of(req, store, arn, sm)) == NULL)
        return false;
    json_decref(m);
    if (name == NULL) {
        unsigned char b[16];
        if (uv_random(NULL, NULL, b, sizeof(b), 0, NULL) != 0)
            memset(b, 0x5a, sizeof(b));
        snprintf(gen, sizeof(gen),
                 "%02x%02x%02x%02x-%02x%02x-4%x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                 b[2], b[3], b[4], b[5], b[6] & 15, b[7], (b[8] & 0x3f) | 0x80, b[9], b[10], b[11],
                 b[12], b[13], b[14], b[15]);
        name = gen;
    } else if (!valid_name(name)) {
        aws_error(req, "InvalidName", "Invalid Name: '%s'", name);
        return false;
    }
    in = json_loads(input ? input : "{}", JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (in == NULL) {
        aws_error(req, "InvalidExecutionInput", "Invalid State Machine Execution Input: '%s'",
                  je.text);
        return false;
    }
    if (strlen(input ? input : "{}") > WR_ASL_PAYLOAD_MAX) {
        json_decref(in);
        aws_error(req, "InvalidExecutionInput", "the input is over %d bytes", WR_ASL_PAYLOAD_MAX);
        return false;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.kind = WR_CMD_TRIGGER;
    cmd.workflow = sm;
    cmd.run_id = name;
    cmd.input = in;
    if (!call(req, &cmd)) {
        json_decref(in);
        return false;
    }
    if (cmd.status == 404) {
        json_decref(in);
        aws_error(req, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn);
        return false;
    }
    if (cmd.status >= 400) {
        json_decref(in);
        aws_error(req, cmd.status == 400 ? "InvalidExecutionInput" : "InternalFailure", "%s",
                  cmd.message);
        return false;
    }
    if (wr_store_asl_run(store, cmd.out_run_id, &run, &err) != 0) {
        json_decref(in);
        internal_error(req, &err);
        return false;
    }
    if (cmd.status == 200) {
        /* The name exists: the same input to a running execution is the same call (AWS's
         * idempotency); anything else is a conflict. */
        const char *old = json_string_value(json_object_get(run, "input"));
        json_t *prev = old ? json_loads(old, JSON_DECODE_ANY, NULL) : NULL;
        bool same =
            prev != NULL && json_equal(prev, in) && strcmp(exec_status(run), "RUNNING") == 0;
        json_decref(prev);
        if (!same) {
            json_decref(in);
            json_decref(run);
            aws_error(req, "ExecutionAlreadyExists",
                      "Execution Already Exists: '" ARN_PREFIX "execution:%s:%s'", sm, name);
            return false;
        }
    }
    json_decref(in);
    *out = run;
    return true;
}

static void op_start(wr_web_req_t *req)
{
    wr_store_t *store = store_or_fail(req);
    char sm[128];
    json_t *run = NULL, *out;
    char *arn;

    if (store == NULL || !start_execution(req, store, sm, &run))
        return;
    arn = exec_arn(sm, exec_name(run));
    out = json_pack("{s:s}", "executionArn", arn);
    set_epoch(out, "startDate", json_object_get(run, "created_at"));
    free(arn);
    json_decref(run);
    send_json(req, 200, out);
}

/* Adds input/output (as JSON text), error and cause of a run to `out`. */
static void run_data(json_t *out, const json_t *run)
{
    const char *in = json_string_value(json_object_get(run, "input"));
    const char *o = json_string_value(json_object_get(run, "output"));
    const char *e = json_string_value(json_object_get(run, "error"));
    const char *c = json_string_value(json_object_get(run, "cause"));
    const char *st = json_string_value(json_object_get(run, "status"));

    json_object_set_new(out, "input", json_string(in ? in : "{}"));
    json_object_set_new(out, "inputDetails", json_pack("{s:b}", "included", 1));
    if (st != NULL && strcmp(st, "SUCCEEDED") == 0) {
        json_object_set_new(out, "output", json_string(o ? o : "null"));
        json_object_set_new(out, "outputDetails", json_pack("{s:b}", "included", 1));
    }
    if (e != NULL)
        json_object_set_new(out, "error", json_string(e));
    if (c != NULL)
        json_object_set_new(out, "cause", json_string(c));
}

static void op_start_sync(wr_web_req_t *req)
{
    wr_store_t *store = store_or_fail(req);
    char sm[128], id[128];
    json_t *run = NULL, *out;
    int64_t deadline;
    wr_err_t err;
    char *arn;
    const char *st;

    memset(&err, 0, sizeof(err));
    if (store == NULL || !start_execution(req, store, sm, &run))
        return;
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(run, "id")));
    deadline = wr_now_ms() + SYNC_TIMEOUT_S * 1000;
    for (;;) {
        wr_server_stats_t ss;
        char status[32];
        int64_t left = deadline - wr_now_ms();
        memset(&ss, 0, sizeof(ss));
        if (req->web->stats != NULL)
            req->web->stats(req->web->srv, &ss);
        if (wr_store_run_status(store, id, status, sizeof(status)) != 0 ||
            wr_query_run_status_is_final(status) || left <= 0 || ss.shutting_down ||
            atomic_load(&req->web->stopping) || req->web->wait_change == NULL)
            break;
        req->web->wait_change(req->web->srv, ss.generation, left < 1000 ? left : 1000);
    }
    json_decref(run);
    run = NULL;
    if (wr_store_asl_run(store, id, &run, &err) != 0) {
        internal_error(req, &err);
        return;
    }
    st = exec_status(run);
    arn = exec_arn(sm, exec_name(run));
    out = json_object();
    json_object_set_new(out, "executionArn", json_string(arn));
    free(arn);
    arn = sm_arn(sm);
    json_object_set_new(out, "stateMachineArn", json_string(arn));
    free(arn);
    json_object_set_new(out, "name", json_string(exec_name(run)));
    set_epoch(out, "startDate", json_object_get(run, "created_at"));
    if (json_is_integer(json_object_get(run, "ended_at")))
        set_epoch(out, "stopDate", json_object_get(run, "ended_at"));
    else
        json_object_set_new(out, "stopDate", json_real((double)wr_now_ms() / 1000.0));
    if (strcmp(st, "SUCCEEDED") == 0)
        json_object_set_new(out, "status", json_string("SUCCEEDED"));
    else if (strcmp(st, "RUNNING") == 0)
        json_object_set_new(out, "status", json_string("TIMED_OUT"));
    else
        json_object_set_new(out, "status", json_string("FAILED"));
    run_data(out, run);
    {
        int64_t ms = json_integer_value(json_object_get(run, "ended_at")) -
                     json_integer_value(json_object_get(run, "created_at"));
        json_object_set_new(out, "billingDetails",
                            json_pack("{s:i, s:I}", "billedMemoryUsedInMB", 64,
                                      "billedDurationInMilliseconds",
                                      (json_int_t)(ms > 0 ? ms : 0)));
    }
    json_decref(run);
    send_json(req, 200, out);
}

static void op_describe_exec(wr_web_req_t *req)
{
    wr_store_t *store;
    const char *arn;
    char sm[128], name[128], *smarn;
    json_t *run, *out;

    if (!str_field(req, "executionArn", true, &arn) || (store = store_or_fail(req)) == NULL)
        return;
    if ((run = execution_of(req, store, arn, sm, name)) == NULL)
        return;
    smarn = sm_arn(sm);
    out = json_object();
    json_object_set_new(out, "executionArn", json_string(arn));
    json_object_set_new(out, "stateMachineArn", json_string(smarn));
    json_object_set_new(out, "name", json_string(name));
    json_object_set_new(out, "status", json_string(exec_status(run)));
    set_epoch(out, "startDate", json_object_get(run, "created_at"));
    set_epoch(out, "stopDate", json_object_get(run, "ended_at"));
    run_data(out, run);
    json_object_set_new(out, "redriveCount", json_integer(0));
    json_object_set_new(out, "redriveStatus", json_string("NOT_REDRIVABLE"));
    free(smarn);
    json_decref(run);
    send_json(req, 200, out);
}

static void op_stop(wr_web_req_t *req)
{
    wr_store_t *store;
    const char *arn, *error, *cause;
    char sm[128], name[128];
    json_t *run, *after = NULL, *out;
    wr_cmd_t cmd;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!str_field(req, "executionArn", true, &arn) || !str_field(req, "error", false, &error) ||
        !str_field(req, "cause", false, &cause) || (store = store_or_fail(req)) == NULL)
        return;
    if ((run = execution_of(req, store, arn, sm, name)) == NULL)
        return;
    memset(&cmd, 0, sizeof(cmd));
    cmd.kind = WR_CMD_CANCEL;
    cmd.run_id = json_string_value(json_object_get(run, "id"));
    cmd.stop_error = error;
    cmd.stop_cause = cause;
    if (!call(req, &cmd)) {
        json_decref(run);
        return;
    }
    if (cmd.status == 404) {
        json_decref(run);
        aws_error(req, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn);
        return;
    }
    /* 409: it had ended already; AWS then answers with the time it ended. */
    out = json_object();
    if (wr_store_asl_run(store, json_string_value(json_object_get(run, "id")), &after, &err) == 0 &&
        json_is_integer(json_object_get(after, "ended_at")))
        set_epoch(out, "stopDate", json_object_get(after, "ended_at"));
    else
        json_object_set_new(out, "stopDate", json_real((double)wr_now_ms() / 1000.0));
    json_decref(after);
    json_decref(run);
    send_json(req, 200, out);
}

static void op_list_execs(wr_web_req_t *req)
{
    static const char *const statuses[] = {"RUNNING",   "SUCCEEDED", "FAILED",
                                           "TIMED_OUT", "ABORTED",   "PENDING_REDRIVE"};
    wr_store_t *store;
    const char *arn, *filter;
    char sm[128];
    json_t *m, *rows = NULL, *list, *out, *r;
    int64_t offset;
    int limit;
    size_t i;
    bool known = false;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!str_field(req, "stateMachineArn", true, &arn) ||
        !str_field(req, "statusFilter", false, &filter) || !page_args(req, &limit, &offset) ||
        (store = store_or_fail(req)) == NULL)
        return;
    for (i = 0; filter != NULL && i < WR_ARRAY_SIZE(statuses); i++)
        known = known || strcmp(filter, statuses[i]) == 0;
    if (filter != NULL && !known) {
        aws_error(req, "ValidationException",
                  "Value '%s' at 'statusFilter' failed to satisfy "
                  "constraint: Member must satisfy enum value set",
                  filter);
        return;
    }
    if ((m = machine_of(req, store, arn, sm)) == NULL)
        return;
    json_decref(m);
    if (wr_store_asl_executions(store, sm, filter, offset, limit + 1, &rows, &err) != 0) {
        internal_error(req, &err);
        return;
    }
    list = json_array();
    json_array_foreach(rows, i, r)
    {
        char *earn;
        json_t *item;
        if (i >= (size_t)limit)
            break;
        earn = exec_arn(sm, exec_name(r));
        item = json_pack("{s:s, s:s, s:s, s:s}", "executionArn", earn, "stateMachineArn", arn,
                         "name", exec_name(r), "status", exec_status(r));
        set_epoch(item, "startDate", json_object_get(r, "created_at"));
        set_epoch(item, "stopDate", json_object_get(r, "ended_at"));
        json_array_append_new(list, item);
        free(earn);
    }
    out = json_pack("{s:o}", "executions", list);
    if (json_array_size(rows) > (size_t)limit)
        json_object_set_new(out, "nextToken", json_sprintf("%lld", (long long)(offset + limit)));
    json_decref(rows);
    send_json(req, 200, out);
}

/* ==== History ==== */

/* Event types of Step Functions' history (HistoryEventType). weir's own (StateRetryScheduled,
 * StateCaught, StateFailed, TaskInterrupted, TaskProcessStarted, ParallelBranch*, Run*) are
 * left out of this view; the REST API shows them. */
static bool aws_event_type(const char *t)
{
    static const char *const types[] = {
        "ExecutionStarted",    "ExecutionSucceeded",    "ExecutionFailed",
        "ExecutionAborted",    "ExecutionTimedOut",     "TaskScheduled",
        "TaskStarted",         "TaskSubmitted",         "TaskSucceeded",
        "TaskFailed",          "TaskTimedOut",          "MapStateStarted",
        "MapStateSucceeded",   "MapStateFailed",        "MapStateAborted",
        "MapIterationStarted", "MapIterationSucceeded", "MapIterationFailed",
        "MapIterationAborted", "ParallelStateStarted",  "ParallelStateSucceeded",
        "ParallelStateFailed", "ParallelStateAborted",  "FailStateEntered",
    };
    size_t n = strlen(t);

    for (size_t i = 0; i < WR_ARRAY_SIZE(types); i++)
        if (strcmp(t, types[i]) == 0)
            return true;
    return (n > 12 && strcmp(t + n - 12, "StateEntered") == 0) ||
           (n > 11 && strcmp(t + n - 11, "StateExited") == 0);
}

static json_t *dump_member(const json_t *detail, const char *key)
{
    json_t *v = json_object_get(detail, key);
    char *t = json_dumps(v ? v : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *s = json_string(t ? t : "null");
    free(t);
    return s;
}

/* resourceType and resource of a Task's Resource, as AWS splits them. */
static void split_resource(const char *res, json_t *o)
{
    char type[160] = "weir", name[256] = "";
    const char *p;

    if (res == NULL) {
        res = "";
    } else if (strncmp(res, "arn:aws:states:::", 17) == 0 && (p = strrchr(res, ':')) != NULL &&
               p > res + 17) {
        snprintf(type, sizeof(type), "%.*s", (int)(p - (res + 17)), res + 17);
        snprintf(name, sizeof(name), "%s", p + 1);
    } else if (strncmp(res, "arn:aws:lambda:", 15) == 0) {
        snprintf(type, sizeof(type), "lambda");
        snprintf(name, sizeof(name), "invoke");
    } else if (strncmp(res, "weir:", 5) == 0) {
        snprintf(name, sizeof(name), "%s", res + 5);
    } else {
        snprintf(name, sizeof(name), "%s", res);
    }
    json_object_set_new(o, "resourceType", json_string(type));
    json_object_set_new(o, "resource", json_string(name));
}

static json_t *data_details(void)
{
    return json_pack("{s:b}", "truncated", 0);
}

/* One weir event as a Step Functions HistoryEvent (without id/previousEventId). */
static json_t *aws_event(const json_t *ev, json_t *resources, bool data)
{
    const char *t = json_string_value(json_object_get(ev, "type"));
    const char *state = json_string_value(json_object_get(ev, "state"));
    const json_t *d = json_object_get(ev, "detail");
    const char *frame = json_string_value(json_object_get(d, "frame"));
    json_t *o = json_object(), *x = json_object();
    const char *key = NULL;
    size_t n = strlen(t);
    char rkey[300];

    snprintf(rkey, sizeof(rkey), "%s|%s", frame ? frame : "", state ? state : "");
    set_epoch(o, "timestamp", json_object_get(ev, "ts"));
    json_object_set_new(o, "type", json_string(t));
    if (strcmp(t, "ExecutionStarted") == 0) {
        key = "executionStartedEventDetails";
        if (data)
            json_object_set_new(x, "input", dump_member(d, "input"));
        json_object_set_new(x, "inputDetails", data_details());
        json_object_set_new(x, "roleArn", json_string(ROLE_ARN));
    } else if (strcmp(t, "ExecutionSucceeded") == 0) {
        key = "executionSucceededEventDetails";
        if (data)
            json_object_set_new(x, "output", dump_member(d, "output"));
        json_object_set_new(x, "outputDetails", data_details());
    } else if (strncmp(t, "Execution", 9) == 0) {
        const char *e = json_string_value(json_object_get(d, "error"));
        const char *c = json_string_value(json_object_get(d, "cause"));
        key = strcmp(t, "ExecutionFailed") == 0    ? "executionFailedEventDetails"
              : strcmp(t, "ExecutionAborted") == 0 ? "executionAbortedEventDetails"
                                                   : "executionTimedOutEventDetails";
        if (e != NULL)
            json_object_set_new(x, "error", json_string(e));
        if (c != NULL)
            json_object_set_new(x, "cause", json_string(c));
    } else if (n > 12 && strcmp(t + n - 12, "StateEntered") == 0) {
        key = "stateEnteredEventDetails";
        json_object_set_new(x, "name", json_string(state ? state : ""));
        if (data)
            json_object_set_new(x, "input", dump_member(d, "input"));
        json_object_set_new(x, "inputDetails", data_details());
    } else if (n > 11 && strcmp(t + n - 11, "StateExited") == 0) {
        key = "stateExitedEventDetails";
        json_object_set_new(x, "name", json_string(state ? state : ""));
        if (data)
            json_object_set_new(x, "output", dump_member(d, "output"));
        json_object_set_new(x, "outputDetails", data_details());
    } else if (strncmp(t, "Task", 4) == 0) {
        const char *res = json_string_value(json_object_get(d, "resource"));
        if (res != NULL)
            json_object_set_new(resources, rkey, json_string(res));
        else
            res = json_string_value(json_object_get(resources, rkey));
        split_resource(res, x);
        if (strcmp(t, "TaskScheduled") == 0) {
            key = "taskScheduledEventDetails";
            json_object_set_new(x, "region", json_string("us-east-1"));
            json_object_set_new(x, "parameters", dump_member(d, "parameters"));
        } else if (strcmp(t, "TaskStarted") == 0) {
            key = "taskStartedEventDetails";
        } else if (strcmp(t, "TaskSubmitted") == 0 || strcmp(t, "TaskSucceeded") == 0) {
            key = t[4] == 'S' && t[5] == 'u' && t[6] == 'b' ? "taskSubmittedEventDetails"
                                                            : "taskSucceededEventDetails";
            if (data)
                json_object_set_new(x, "output", dump_member(d, "output"));
            json_object_set_new(x, "outputDetails", data_details());
        } else {
            const char *e = json_string_value(json_object_get(d, "error"));
            const char *c = json_string_value(json_object_get(d, "cause"));
            key = strcmp(t, "TaskFailed") == 0 ? "taskFailedEventDetails"
                                               : "taskTimedOutEventDetails";
            if (e != NULL)
                json_object_set_new(x, "error", json_string(e));
            if (c != NULL)
                json_object_set_new(x, "cause", json_string(c));
        }
    } else if (strcmp(t, "MapStateStarted") == 0) {
        key = "mapStateStartedEventDetails";
        json_object_set_new(x, "length",
                            json_integer(json_integer_value(json_object_get(d, "length"))));
    } else if (strncmp(t, "MapIteration", 12) == 0) {
        key = strcmp(t, "MapIterationStarted") == 0     ? "mapIterationStartedEventDetails"
              : strcmp(t, "MapIterationSucceeded") == 0 ? "mapIterationSucceededEventDetails"
              : strcmp(t, "MapIterationFailed") == 0    ? "mapIterationFailedEventDetails"
                                                        : "mapIterationAbortedEventDetails";
        json_object_set_new(x, "name", json_string(state ? state : ""));
        json_object_set_new(x, "index",
                            json_integer(json_integer_value(json_object_get(d, "index"))));
    }
    if (key != NULL)
        json_object_set_new(o, key, x);
    else
        json_decref(x);
    return o;
}

static void op_history(wr_web_req_t *req)
{
    wr_store_t *store;
    const char *arn;
    char sm[128], name[128];
    json_t *run, *events = NULL, *all, *page, *out, *ev, *resources;
    json_t *rev = json_object_get(req->in, "reverseOrder");
    json_t *inc = json_object_get(req->in, "includeExecutionData");
    bool data = inc == NULL || json_is_true(inc);
    int64_t offset, id = 0;
    int limit;
    size_t i, n;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!str_field(req, "executionArn", true, &arn) || !page_args(req, &limit, &offset) ||
        (store = store_or_fail(req)) == NULL)
        return;
    if ((run = execution_of(req, store, arn, sm, name)) == NULL)
        return;
    if (wr_store_asl_events(store, json_string_value(json_object_get(run, "id")), &events, &err) !=
        0) {
        json_decref(run);
        internal_error(req, &err);
        return;
    }
    json_decref(run);
    all = json_array();
    resources = json_object();
    json_array_foreach(events, i, ev)
    {
        const char *t = json_string_value(json_object_get(ev, "type"));
        json_t *o;
        if (t == NULL || !aws_event_type(t))
            continue;
        o = aws_event(ev, resources, data);
        json_object_set_new(o, "id", json_integer(++id));
        json_object_set_new(o, "previousEventId", json_integer(id - 1));
        json_array_append_new(all, o);
    }
    json_decref(resources);
    json_decref(events);
    n = json_array_size(all);
    page = json_array();
    for (int64_t k = offset; k < (int64_t)n && (int64_t)json_array_size(page) < limit; k++)
        json_array_append(page,
                          json_array_get(all, json_is_true(rev) ? n - 1 - (size_t)k : (size_t)k));
    out = json_pack("{s:o}", "events", page);
    if ((int64_t)n > offset + limit)
        json_object_set_new(out, "nextToken", json_sprintf("%lld", (long long)(offset + limit)));
    json_decref(all);
    send_json(req, 200, out);
}

/* ==== Task tokens ==== */

static void token_op(wr_web_req_t *req, const char *kind)
{
    const char *token, *output = NULL, *error = NULL, *cause = NULL;
    wr_cmd_t cmd;

    if (!str_field(req, "taskToken", true, &token))
        return;
    if (strcmp(kind, "success") == 0) {
        json_t *parsed;
        if (!str_field(req, "output", true, &output))
            return;
        if ((parsed = json_loads(output, JSON_DECODE_ANY, NULL)) == NULL) {
            aws_error(req, "InvalidOutput", "Invalid Output: the output is not JSON");
            return;
        }
        json_decref(parsed);
    } else if (strcmp(kind, "failure") == 0) {
        if (!str_field(req, "error", false, &error) || !str_field(req, "cause", false, &cause))
            return;
    }
    if (token[0] == '\0' || strlen(token) > 2048) {
        aws_error(req, "InvalidToken", "Invalid Token: '%s'", token);
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.kind = WR_CMD_TASK_TOKEN;
    cmd.token = token;
    cmd.token_kind = kind;
    cmd.definition = output;
    cmd.stop_error = error;
    cmd.stop_cause = cause;
    if (!call(req, &cmd))
        return;
    if (cmd.status == 404) {
        aws_error(req, "TaskDoesNotExist",
                  "Task Does Not Exist: the token matches no task that "
                  "waits for it");
        return;
    }
    if (cmd.status >= 400) {
        aws_error(req, cmd.status == 400 ? "InvalidOutput" : "InternalFailure", "%s", cmd.message);
        return;
    }
    send_json(req, 200, json_object());
}

static void op_task_success(wr_web_req_t *req)
{
    token_op(req, "success");
}

static void op_task_failure(wr_web_req_t *req)
{
    token_op(req, "failure");
}

static void op_task_heartbeat(wr_web_req_t *req)
{
    token_op(req, "heartbeat");
}

/* ==== Dispatch ==== */

static const struct {
    const char *name;
    void (*fn)(wr_web_req_t *req);
    wr_web_role_t role;
} ops[] = {
    {"CreateStateMachine", op_create, WR_ROLE_ADMIN},
    {"UpdateStateMachine", op_update, WR_ROLE_ADMIN},
    {"DeleteStateMachine", op_delete_sm, WR_ROLE_ADMIN},
    {"DescribeStateMachine", op_describe_sm, WR_ROLE_VIEWER},
    {"ListStateMachines", op_list_sms, WR_ROLE_VIEWER},
    {"StartExecution", op_start, WR_ROLE_OPERATOR},
    {"StartSyncExecution", op_start_sync, WR_ROLE_OPERATOR},
    {"StopExecution", op_stop, WR_ROLE_OPERATOR},
    {"DescribeExecution", op_describe_exec, WR_ROLE_VIEWER},
    {"ListExecutions", op_list_execs, WR_ROLE_VIEWER},
    {"GetExecutionHistory", op_history, WR_ROLE_VIEWER},
    {"SendTaskSuccess", op_task_success, WR_ROLE_OPERATOR},
    {"SendTaskFailure", op_task_failure, WR_ROLE_OPERATOR},
    {"SendTaskHeartbeat", op_task_heartbeat, WR_ROLE_OPERATOR},
};

bool wr__web_is_sfn(wr_web_req_t *req)
{
    const char *target = wr__web_header(req, "X-Amz-Target");

    return strcmp(req->method, "POST") == 0 && strcmp(req->path, "/") == 0 && target != NULL &&
           strncmp(target, TARGET_PREFIX, strlen(TARGET_PREFIX)) == 0;
}

void wr__web_sfn(wr_web_req_t *req)
{
    const char *op = wr__web_header(req, "X-Amz-Target") + strlen(TARGET_PREFIX);
    json_error_t je;
    size_t i;

    memset(&je, 0, sizeof(je));
    for (i = 0; i < WR_ARRAY_SIZE(ops); i++)
        if (strcmp(ops[i].name, op) == 0)
            break;
    if (i == WR_ARRAY_SIZE(ops)) {
        aws_error(req, "UnknownOperationException", "operation '%s' is not supported by weir", op);
        return;
    }
    if (req->web->auth_required) {
        /* Tokens only: weir keeps no AWS secret keys, so a SigV4 signature cannot be checked. */
        if (!wr__web_authorize(req, ops[i].role)) {
            const char *msg = json_string_value(json_object_get(req->json, "message"));
            unsigned status = req->status;
            char text[300];
            snprintf(text, sizeof(text),
                     "%s (with 'auth: required', send 'Authorization: "
                     "Bearer TOKEN'; SigV4 signatures are not accepted)",
                     msg ? msg : "unauthorized");
            send_json(
                req, status,
                json_pack("{s:s, s:s}", "__type",
                          status == 403 ? "AccessDeniedException" : "UnrecognizedClientException",
                          "message", text));
            return;
        }
    } else {
        snprintf(req->actor, sizeof(req->actor), "anonymous");
    }
    req->in = json_loadb(req->body_len ? req->body : "{}", req->body_len ? req->body_len : 2,
                         JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(req->in)) {
        aws_error(req, "SerializationException", "malformed JSON body: %s", je.text);
        return;
    }
    ops[i].fn(req);
}
