/* SPDX-License-Identifier: MIT
 * tasks/sns_alert.c: the sns_alert task type, an SNS alert: publishes a message to a topic.
 * Its fields are validated; it has no provider yet, so an attempt fails with
 * Weir.NotImplemented (see tasks/not_yet.c). */
#include "tasks/task.h"

#include <string.h>

#include "tasks/not_yet.h"

static const wr_param_t sns_params[] = {
    {"topic", WR_PARAM_STRING, true},
    {"subject", WR_PARAM_STRING, false},
    {"message", WR_PARAM_STRING, true},
    {"attributes", WR_PARAM_OBJECT, false},
    WR_PARAM_END,
};

static int sns_validate(const json_t *conf, wr_err_t *err)
{
    const char *subject = json_string_value(json_object_get(conf, "subject"));
    if (!json_object_get(conf, "topic"))
        return wr_err_set(err, WR_EINVALID, "'topic' is required for type sns_alert");
    if (!json_object_get(conf, "message"))
        return wr_err_set(err, WR_EINVALID, "'message' is required for type sns_alert");
    if (subject != NULL && strlen(subject) > 100 && strstr(subject, "{{") == NULL)
        return wr_err_set(err, WR_EINVALID, "'subject' is longer than 100 characters (SNS)");
    return 0;
}

const wr_task_type_t wr_task_sns_alert = {
    .abi = WR_TASK_ABI,
    .name = "sns_alert",
    .params = sns_params,
    .validate = sns_validate,
    .start = wr__task_start_not_implemented,
    .cancel = wr__task_cancel_nothing,
};
