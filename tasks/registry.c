/* SPDX-License-Identifier: MIT
 * tasks/registry.c: the table of task types, and the helpers every type shares.
 *
 * To add a task type: write tasks/NAME.c defining `const wr_task_type_t wr_task_NAME`, declare
 * it below, and add it to `registry` (cf. nginx's objs/ngx_modules.c). */
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const wr_task_type_t wr_task_local_transform;
extern const wr_task_type_t wr_task_lambda_invoke;
extern const wr_task_type_t wr_task_glue_job;
extern const wr_task_type_t wr_task_crawler;
extern const wr_task_type_t wr_task_copy_to_redshift;
extern const wr_task_type_t wr_task_sns_alert;

static const wr_task_type_t *const registry[] = {
    &wr_task_local_transform,
    &wr_task_lambda_invoke,
    &wr_task_glue_job,
    &wr_task_crawler,
    &wr_task_copy_to_redshift,
    &wr_task_sns_alert,
    NULL,
};

const wr_task_type_t *wr_task_type_find(const char *name)
{
    for (size_t i = 0; registry[i] != NULL; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

const wr_task_type_t *const *wr_task_types(void)
{
    return registry;
}

void wr_task_result_error(wr_task_result_t *res, const char *error, const char *fmt, ...)
{
    va_list ap;

    free(res->error);
    free(res->cause);
    res->error = wr_xstrdup(error);
    va_start(ap, fmt);
    res->cause = wr_xvasprintf(fmt, ap);
    va_end(ap);
}

void wr_task_result_dispose(wr_task_result_t *res)
{
    json_decref(res->output);
    json_decref(res->commit);
    free(res->error);
    free(res->cause);
    free(res->log_stdout);
    free(res->log_stderr);
    memset(res, 0, sizeof(*res));
}

const char *wr_task_conf_str(const wr_task_attempt_t *ta, const char *field)
{
    return json_string_value(json_object_get(ta->conf, field));
}
