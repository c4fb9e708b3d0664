/* SPDX-License-Identifier: MIT
 * tasks/copy_to_redshift.c: the copy_to_redshift task type, a Redshift COPY: loads files (a
 * file, a folder or a manifest; CSV or JSON) into a warehouse table, or, with `sql:`, runs SQL
 * against the warehouse (the Redshift Data API's ExecuteStatement).
 *
 * One vtable entry; the provider is chosen per attempt from the task's connection (DESIGN.md
 * §4): `connection:` in the task, else `default_connection` in weir.yaml, else "local". A
 * connection of `type: local` (or the built-in "local") uses the embedded provider
 * (tasks/local/copy_to_redshift_local.c: a SQLite warehouse file, or PostgreSQL with `dsn:`);
 * `type: aws` has no provider in this version and fails the attempt with Weir.NotImplemented
 * naming the connection. */
#include "tasks/task.h"
#include "tasks/provider.h"

#include <string.h>
#include <strings.h>

#include "engine/config.h"
#include "engine/loop.h"
#include "engine/run.h"
#include "tasks/local/copy_to_redshift_local.h"

static const wr_param_t copy_params[] = {
    {"table", WR_PARAM_STRING, false},      {"from", WR_PARAM_STRING, false},
    {"columns", WR_PARAM_STRINGS, false},   {"format", WR_PARAM_STRING, false},
    {"ignore_header", WR_PARAM_INT, false}, {"delimiter", WR_PARAM_STRING, false},
    {"dateformat", WR_PARAM_STRING, false}, {"timeformat", WR_PARAM_STRING, false},
    {"null_as", WR_PARAM_STRING, false},    {"truncate", WR_PARAM_BOOL, false},
    {"manifest", WR_PARAM_BOOL, false},     {"iam_role", WR_PARAM_STRING, false},
    {"database", WR_PARAM_STRING, false},   {"sql", WR_PARAM_STRING, false},
    {"connection", WR_PARAM_STRING, false}, WR_PARAM_END,
};

static bool templated(const json_t *v)
{
    return json_is_string(v) && strstr(json_string_value(v), "{{") != NULL;
}

static int copy_validate(const json_t *conf, wr_err_t *err)
{
    bool sql = json_object_get(conf, "sql") != NULL;
    const json_t *fmt = json_object_get(conf, "format");
    const json_t *delim = json_object_get(conf, "delimiter");
    const json_t *ih = json_object_get(conf, "ignore_header");
    static const char *const load_only[] = {
        "columns",    "format",  "ignore_header", "delimiter", "dateformat",
        "timeformat", "null_as", "truncate",      "manifest",  NULL};

    if (sql) {
        if (json_object_get(conf, "table") || json_object_get(conf, "from"))
            return wr_err_set(err, WR_EINVALID,
                              "copy_to_redshift takes either 'sql' or 'table' and 'from'");
        for (size_t i = 0; load_only[i] != NULL; i++)
            if (json_object_get(conf, load_only[i]))
                return wr_err_set(err, WR_EINVALID, "'%s' belongs to a load, not to 'sql'",
                                  load_only[i]);
        return 0;
    }
    if (!json_object_get(conf, "table") || !json_object_get(conf, "from"))
        return wr_err_set(err, WR_EINVALID, "copy_to_redshift needs 'table' and 'from' (or 'sql')");
    if (fmt != NULL && !templated(fmt) && strcasecmp(json_string_value(fmt), "csv") != 0 &&
        strcasecmp(json_string_value(fmt), "json") != 0)
        return wr_err_set(err, WR_EINVALID, "'format' must be CSV or JSON, not '%s'",
                          json_string_value(fmt));
    if (delim != NULL && !templated(delim) && strlen(json_string_value(delim)) != 1 &&
        strcmp(json_string_value(delim), "\\t") != 0)
        return wr_err_set(err, WR_EINVALID, "'delimiter' must be a single character");
    if (ih != NULL && json_integer_value(ih) < 0)
        return wr_err_set(err, WR_EINVALID, "'ignore_header' must be 0 or more");
    return 0;
}

static int copy_start(wr_task_attempt_t *ta, wr_err_t *err)
{
    const json_t *conn = NULL;

    if (!wr__task_local_only(ta, "Redshift Data API ExecuteStatement", &conn))
        return 0;
    return wr__copy_to_redshift_local_start(ta, conn, err);
}

const wr_task_type_t wr_task_copy_to_redshift = {
    .abi = WR_TASK_ABI,
    .name = "copy_to_redshift",
    .params = copy_params,
    .validate = copy_validate,
    .start = copy_start,
    .cancel = wr__copy_to_redshift_local_cancel,
};
