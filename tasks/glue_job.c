/* SPDX-License-Identifier: MIT
 * tasks/glue_job.c: the glue_job task type, an AWS Glue job run: a script with Glue-style
 * arguments, job bookmarks and a concurrency limit (DESIGN.md §4).
 *
 * One vtable entry; the provider is chosen per attempt from the task's connection: the
 * built-in "local" (or a weir.yaml connection of `type: local`) runs the script here
 * (tasks/local/glue_job_local.c); `type: aws` has no provider in this version and fails the
 * attempt with Weir.NotImplemented naming the connection. The connection lookup is shared
 * with the crawler type. */
#include "tasks/task.h"
#include "tasks/provider.h"

#include <string.h>

#include "engine/config.h"
#include "engine/loop.h"
#include "engine/run.h"
#include "tasks/local/glue_job_local.h"

static const wr_param_t glue_job_params[] = {
    {"job_name", WR_PARAM_STRING, false},    {"script", WR_PARAM_STRING, false},
    {"arguments", WR_PARAM_OBJECT, false},   {"inputs", WR_PARAM_OBJECT, false},
    {"output", WR_PARAM_STRING, false},      {"from_catalog", WR_PARAM_STRING, false},
    {"bookmark", WR_PARAM_BOOL, false},      {"max_concurrent_runs", WR_PARAM_INT, false},
    {"worker_type", WR_PARAM_STRING, false}, {"number_of_workers", WR_PARAM_INT, false},
    {"wait", WR_PARAM_BOOL, false},          WR_PARAM_END,
};

static bool valid_table_name(const char *s)
{
    if (*s == '\0' || (*s >= '0' && *s <= '9'))
        return false;
    for (const char *p = s; *p; p++)
        if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

static int glue_job_validate(const json_t *conf, wr_err_t *err)
{
    json_t *mcr = json_object_get(conf, "max_concurrent_runs");
    const char *script = json_string_value(json_object_get(conf, "script"));
    const char *cat = json_string_value(json_object_get(conf, "from_catalog"));
    const char *k;
    json_t *v;

    if (!json_object_get(conf, "job_name") && !json_object_get(conf, "script"))
        return wr_err_set(err, WR_EINVALID, "glue_job needs 'job_name' or 'script'");
    if (mcr != NULL && json_integer_value(mcr) < 1)
        return wr_err_set(err, WR_EINVALID, "max_concurrent_runs must be at least 1");
    json_object_foreach(json_object_get((json_t *)conf, "inputs"), k, v)
    {
        if (!json_is_string(v))
            return wr_err_set(err, WR_EINVALID,
                              "inputs.%s must be a path (file, folder, glob, @LIST) or "
                              "\"catalog:DATABASE.TABLE\"",
                              k);
        if (!valid_table_name(k))
            return wr_err_set(err, WR_EINVALID,
                              "inputs: '%s' is not a valid table name (letters, digits, _)", k);
    }
    if (cat != NULL && strstr(cat, "{{") == NULL && strchr(cat, '.') == NULL)
        return wr_err_set(err, WR_EINVALID, "from_catalog must be DATABASE.TABLE, not '%s'", cat);
    /* A .sql script writes `output`; an executable gets neither inputs nor output. */
    if (script != NULL && strstr(script, "{{") == NULL) {
        size_t n = strlen(script);
        bool sql = n > 4 && strcmp(script + n - 4, ".sql") == 0;
        if (sql && !json_object_get(conf, "output"))
            return wr_err_set(err, WR_EINVALID, "a .sql script needs 'output' (.csv or .jsonl)");
        if (!sql && (json_object_get(conf, "inputs") || json_object_get(conf, "output") ||
                     json_object_get(conf, "from_catalog")))
            return wr_err_set(err, WR_EINVALID,
                              "'inputs', 'output' and 'from_catalog' belong to .sql scripts; "
                              "an executable script gets its paths through 'arguments'");
        if (!sql && json_is_true(json_object_get(conf, "bookmark")))
            return wr_err_set(err, WR_EINVALID,
                              "bookmark: true needs a .sql script (the local provider tracks "
                              "the files of its inputs)");
    }
    return 0;
}

static int glue_job_start(wr_task_attempt_t *ta, wr_err_t *err)
{
    const json_t *conn = NULL;

    if (!wr__task_local_only(ta, "StartJobRun, GetJobRun", &conn))
        return 0;
    return wr__glue_job_local_start(ta, err);
}

const wr_task_type_t wr_task_glue_job = {
    .abi = WR_TASK_ABI,
    .name = "glue_job",
    .params = glue_job_params,
    .validate = glue_job_validate,
    .start = glue_job_start,
    .cancel = wr__glue_job_local_cancel,
};
