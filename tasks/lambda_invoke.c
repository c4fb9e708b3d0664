/* SPDX-License-Identifier: MIT
 * tasks/lambda_invoke.c: the lambda_invoke task type, local provider (DESIGN.md §4).
 *
 * The function NAME is the executable FUNCTIONS_DIR/NAME: the event (`payload:`) goes to its
 * stdin as JSON and its stdout is the response. A non-zero exit with
 * {"errorType","errorMessage"} on stdout is a function error named errorType, as Lambda's
 * X-Amz-Function-Error reports it. `invocation_type: Event` starts the handler and succeeds
 * at once with StatusCode 202 (fire and forget), as Lambda does. */
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/loop.h"
#include "engine/run.h"
#include "tasks/proc_task.h"

static const wr_param_t params[] = {
    {"function", WR_PARAM_STRING, true},
    {"payload", WR_PARAM_ANY, false},
    {"invocation_type", WR_PARAM_STRING, false},
    {"qualifier", WR_PARAM_STRING, false},
    WR_PARAM_END,
};

static int validate(const json_t *conf, wr_err_t *err)
{
    const char *fn = json_string_value(json_object_get(conf, "function"));
    const char *it = json_string_value(json_object_get(conf, "invocation_type"));

    if (fn == NULL)
        return wr_err_set(err, WR_EINVALID, "'function' is required for type lambda_invoke");
    if (strstr(fn, "{{") == NULL && (strchr(fn, '/') || strcmp(fn, "..") == 0 || *fn == '.'))
        return wr_err_set(err, WR_EINVALID, "function '%s': a name, not a path", fn);
    if (it != NULL && strcmp(it, "RequestResponse") != 0 && strcmp(it, "Event") != 0)
        return wr_err_set(err, WR_EINVALID,
                          "invocation_type must be RequestResponse or Event, not '%s'", it);
    return 0;
}

/* A fire-and-forget invocation: the handler's own end is only logged. */
static void on_event_done(wr_proc_t *p, const wr_proc_result_t *pr, void *data)
{
    (void)p;
    (void)data;
    if (pr->exit_status != 0 || pr->term_signal != 0)
        fprintf(stderr, "weir: asynchronous invocation ended with exit code %lld\n",
                (long long)pr->exit_status);
}

static int start(wr_task_attempt_t *ta, wr_err_t *err)
{
    const char *fn = wr_task_conf_str(ta, "function");
    const char *it = wr_task_conf_str(ta, "invocation_type");
    const char *dir = ta->eng->functions_dir ? ta->eng->functions_dir : "functions";
    json_t *payload = json_object_get(ta->conf, "payload");
    char *path = NULL, *event = NULL;
    char *args[2];
    wr_proc_opts_t o;
    struct stat st;
    int rc;

    if (strchr(fn, '/') != NULL || fn[0] == '.' || fn[0] == '\0') {
        wr_task_result_t res = {0};
        wr_task_result_error(&res, "Lambda.InvalidParameterValueException",
                             "function name '%s' is not a plain name", fn);
        wr_task_attempt_done_later(ta, &res);
        return 0;
    }
    path = wr_xasprintf("%s/%s", dir, fn);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
        wr_task_result_t res = {0};
        wr_task_result_error(&res, "Lambda.ResourceNotFoundException",
                             "Function not found: %s (no executable %s)", fn, path);
        wr_task_attempt_done_later(ta, &res);
        free(path);
        return 0;
    }
    if (payload != NULL) {
        event = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
    } else {
        json_t *empty = json_object(); /* Lambda's event when no payload is given */
        event = json_dumps(empty, JSON_COMPACT);
        json_decref(empty);
    }
    memset(&o, 0, sizeof(o));
    args[0] = path;
    args[1] = NULL;
    o.file = path;
    o.args = args;
    o.stdin_data = event;
    o.stdin_len = strlen(event);
    if (it != NULL && strcmp(it, "Event") == 0) {
        wr_task_result_t res = {0};
        rc = wr_proc_spawn(&ta->eng->loop, &o, on_event_done, NULL, NULL, err);
        if (rc == 0) {
            res.output = json_pack("{s:i, s:s}", "StatusCode", 202, "Payload", "");
            wr_task_attempt_done_later(ta, &res);
        }
    } else {
        rc = wr__task_spawn(ta, &o, NULL, WR_RESULT_WHOLE, err);
    }
    free(path);
    free(event);
    return rc;
}

static void cancel(wr_task_attempt_t *ta)
{
    wr__task_spawn_cancel(ta);
}

const wr_task_type_t wr_task_lambda_invoke = {
    .abi = WR_TASK_ABI,
    .name = "lambda_invoke",
    .params = params,
    .validate = validate,
    .start = start,
    .cancel = cancel,
};
