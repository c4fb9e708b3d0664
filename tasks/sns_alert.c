/* SPDX-License-Identifier: MIT
 * tasks/sns_alert.c: the sns_alert task type, an SNS Publish: a message (with a subject and
 * attributes) to a topic.
 *
 * One vtable entry; the provider is chosen per attempt from the task's connection (DESIGN.md
 * §4): `connection:` in the task, else `default_connection` in weir.yaml, else "local". A
 * connection of `type: local` (or the built-in "local") uses the embedded provider
 * (tasks/local/sns_alert_local.c); `type: aws` has no provider in this version and fails the
 * attempt with Weir.NotImplemented naming the connection. */
#include "tasks/task.h"
#include "tasks/provider.h"

#include <string.h>

#include "engine/alerts.h"
#include "engine/config.h"
#include "engine/loop.h"
#include "engine/run.h"
#include "tasks/local/sns_alert_local.h"

static const wr_param_t sns_params[] = {
    {"topic", WR_PARAM_STRING, true},       {"subject", WR_PARAM_STRING, false},
    {"message", WR_PARAM_STRING, true},     {"attributes", WR_PARAM_OBJECT, false},
    {"connection", WR_PARAM_STRING, false}, WR_PARAM_END,
};

static int sns_validate(const json_t *conf, wr_err_t *err)
{
    const char *subject = json_string_value(json_object_get(conf, "subject"));
    const char *k;
    json_t *v;

    if (!json_object_get(conf, "topic"))
        return wr_err_set(err, WR_EINVALID, "'topic' is required for type sns_alert");
    if (!json_object_get(conf, "message"))
        return wr_err_set(err, WR_EINVALID, "'message' is required for type sns_alert");
    /* A templated subject is checked again once rendered (tasks/local/sns_alert_local.c). */
    if (subject != NULL && strlen(subject) > WR_ALERT_SUBJECT_MAX && strstr(subject, "{{") == NULL)
        return wr_err_set(err, WR_EINVALID, "'subject' is longer than 100 characters (SNS)");
    json_object_foreach(json_object_get((json_t *)conf, "attributes"), k, v)
    {
        if (json_is_array(v) || json_is_null(v))
            return wr_err_set(err, WR_EINVALID,
                              "attributes.%s must be a scalar or {DataType, StringValue}", k);
    }
    return 0;
}

static int sns_start(wr_task_attempt_t *ta, wr_err_t *err)
{
    const json_t *conn = NULL;

    if (!wr__task_local_only(ta, "SNS Publish", &conn))
        return 0;
    return wr__sns_alert_local_start(ta, conn, err);
}

const wr_task_type_t wr_task_sns_alert = {
    .abi = WR_TASK_ABI,
    .name = "sns_alert",
    .params = sns_params,
    .validate = sns_validate,
    .start = sns_start,
    .cancel = wr__sns_alert_local_cancel,
};
