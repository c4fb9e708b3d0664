/* SPDX-License-Identifier: MIT
 * tasks/not_yet.c: task types whose fields are known and validated but whose providers are
 * not built yet (glue_job, crawler, copy_to_redshift, sns_alert). A DAG using them validates;
 * running such a task fails with Weir.NotImplemented, which Retry and Catch can handle like
 * any other error. */
#include "tasks/task.h"

#include <string.h>

#include "engine/run.h"

static int start_not_implemented(wr_task_attempt_t *ta, wr_err_t *err)
{
    wr_task_result_t res;
    (void)err;
    memset(&res, 0, sizeof(res));
    wr_task_result_error(&res, "Weir.NotImplemented",
                         "task type '%s' has no provider in this version of weir yet",
                         ta->type->name);
    wr_task_attempt_done_later(ta, &res);
    return 0;
}

static void cancel_nothing(wr_task_attempt_t *ta)
{
    (void)ta; /* the attempt already ends on the next loop iteration */
}

static const wr_param_t glue_job_params[] = {
    {"job_name", WR_PARAM_STRING, false},
    {"script", WR_PARAM_STRING, false},
    {"arguments", WR_PARAM_OBJECT, false},
    {"inputs", WR_PARAM_OBJECT, false},
    {"output", WR_PARAM_STRING, false},
    {"from_catalog", WR_PARAM_STRING, false},
    {"bookmark", WR_PARAM_BOOL, false},
    {"max_concurrent_runs", WR_PARAM_INT, false},
    {"worker_type", WR_PARAM_STRING, false},
    {"number_of_workers", WR_PARAM_INT, false},
    {"wait", WR_PARAM_BOOL, false},
    WR_PARAM_END,
};

static int glue_job_validate(const json_t *conf, wr_err_t *err)
{
    if (!json_object_get(conf, "job_name") && !json_object_get(conf, "script"))
        return wr_err_set(err, WR_EINVALID, "glue_job needs 'job_name' or 'script'");
    return 0;
}

const wr_task_type_t wr_task_glue_job = {
    .abi = WR_TASK_ABI,
    .name = "glue_job",
    .params = glue_job_params,
    .validate = glue_job_validate,
    .start = start_not_implemented,
    .cancel = cancel_nothing,
};

static const wr_param_t crawler_params[] = {
    {"crawler", WR_PARAM_STRING, true},
    {"path", WR_PARAM_STRING, false},
    {"database", WR_PARAM_STRING, false},
    {"table_prefix", WR_PARAM_STRING, false},
    WR_PARAM_END,
};

const wr_task_type_t wr_task_crawler = {
    .abi = WR_TASK_ABI,
    .name = "crawler",
    .params = crawler_params,
    .start = start_not_implemented,
    .cancel = cancel_nothing,
};

static const wr_param_t copy_params[] = {
    {"table", WR_PARAM_STRING, false},
    {"from", WR_PARAM_STRING, false},
    {"columns", WR_PARAM_STRINGS, false},
    {"format", WR_PARAM_STRING, false},
    {"ignore_header", WR_PARAM_INT, false},
    {"delimiter", WR_PARAM_STRING, false},
    {"dateformat", WR_PARAM_STRING, false},
    {"timeformat", WR_PARAM_STRING, false},
    {"null_as", WR_PARAM_STRING, false},
    {"truncate", WR_PARAM_BOOL, false},
    {"iam_role", WR_PARAM_STRING, false},
    {"database", WR_PARAM_STRING, false},
    {"sql", WR_PARAM_STRING, false},
    WR_PARAM_END,
};

static int copy_validate(const json_t *conf, wr_err_t *err)
{
    bool sql = json_object_get(conf, "sql") != NULL;
    if (!sql && (!json_object_get(conf, "table") || !json_object_get(conf, "from")))
        return wr_err_set(err, WR_EINVALID,
                          "copy_to_redshift needs 'table' and 'from' (or 'sql')");
    return 0;
}

const wr_task_type_t wr_task_copy_to_redshift = {
    .abi = WR_TASK_ABI,
    .name = "copy_to_redshift",
    .params = copy_params,
    .validate = copy_validate,
    .start = start_not_implemented,
    .cancel = cancel_nothing,
};

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
    .start = start_not_implemented,
    .cancel = cancel_nothing,
};
