/* SPDX-License-Identifier: MIT
 * tasks/provider.c: an attempt's provider, from its connection. */
#include "tasks/provider.h"

#include <string.h>

#include "engine/config.h"
#include "engine/loop.h"
#include "engine/run.h"

int wr__task_provider(const wr_task_attempt_t *ta, wr_provider_t *provider, const char **name,
                      const json_t **conn, wr_task_result_t *res)
{
    const json_t *raw = ta->eng->config ? ta->eng->config->raw : NULL;
    const char *n = wr_task_conf_str(ta, "connection");
    const char *type;

    if (n == NULL)
        n = json_string_value(json_object_get(raw, "default_connection"));
    if (n == NULL)
        n = "local";
    *name = n;
    *conn = json_object_get(json_object_get(raw, "connections"), n);
    if (*conn == NULL && strcmp(n, "local") != 0) {
        wr_task_result_error(res, "Weir.InvalidConnection",
                             "connection '%s' is not defined in weir.yaml 'connections'", n);
        return -1;
    }
    type = *conn ? json_string_value(json_object_get(*conn, "type")) : "local";
    if (type != NULL && strcmp(type, "aws") == 0) {
        *provider = WR_PROVIDER_AWS;
        return 0;
    }
    if (type == NULL || strcmp(type, "local") != 0) {
        wr_task_result_error(res, "Weir.InvalidConnection",
                             "connection '%s': 'type' must be local or aws", n);
        return -1;
    }
    *provider = WR_PROVIDER_LOCAL;
    return 0;
}

bool wr__task_local_only(wr_task_attempt_t *ta, const char *aws_api, const json_t **conn)
{
    wr_provider_t provider = WR_PROVIDER_LOCAL;
    const char *name = NULL;
    wr_task_result_t res;

    memset(&res, 0, sizeof(res));
    if (wr__task_provider(ta, &provider, &name, conn, &res) != 0) {
        wr_task_attempt_done_later(ta, &res);
        return false;
    }
    if (provider == WR_PROVIDER_AWS) {
        wr_task_result_error(&res, "Weir.NotImplemented",
                             "connection '%s' is of type aws: the aws provider of %s (%s) is not "
                             "in this version of weir yet",
                             name, ta->type->name, aws_api);
        wr_task_attempt_done_later(ta, &res);
        return false;
    }
    return true;
}
