/* SPDX-License-Identifier: MIT
 * tasks/local_transform.c: the local_transform task type (DESIGN.md §3.1, §4).
 *
 * Command mode runs `command:` (a string for /bin/sh -c, or a list as a plain argv) with
 * `env:` and `cwd:`. SQL mode runs `sql:` over `inputs:` (table name -> CSV or JSON-lines
 * file) into `output:`; it runs as a child `weir sql ...` so that a large query never blocks
 * the loop, its memory is its own, and a timeout stops it like any command. */
#include "tasks/task.h"

#include <stdlib.h>
#include <string.h>

#include "engine/loop.h"
#include "tasks/proc_task.h"

static const wr_param_t params[] = {
    {"command", WR_PARAM_STRINGS, false},
    {"env", WR_PARAM_OBJECT, false},
    {"cwd", WR_PARAM_STRING, false},
    {"inputs", WR_PARAM_OBJECT, false},
    {"sql", WR_PARAM_STRING, false},
    {"output", WR_PARAM_STRING, false},
    WR_PARAM_END,
};

static int validate(const json_t *conf, wr_err_t *err)
{
    bool cmd = json_object_get(conf, "command") != NULL;
    bool sql = json_object_get(conf, "sql") != NULL;
    json_t *inputs = json_object_get(conf, "inputs");
    const char *k;
    json_t *v;

    if (cmd == sql)
        return wr_err_set(err, WR_EINVALID,
                          "local_transform needs exactly one of 'command' or 'sql'");
    if (cmd && (inputs || json_object_get(conf, "output")))
        return wr_err_set(err, WR_EINVALID,
                          "'inputs' and 'output' belong to SQL mode, not to 'command'");
    if (sql && !json_object_get(conf, "output"))
        return wr_err_set(err, WR_EINVALID, "SQL mode needs 'output' (a .csv or .jsonl path)");
    if (sql && (json_object_get(conf, "env") || json_object_get(conf, "cwd")))
        return wr_err_set(err, WR_EINVALID, "'env' and 'cwd' belong to command mode");
    json_object_foreach(inputs, k, v)
    {
        if (!json_is_string(v))
            return wr_err_set(err, WR_EINVALID, "inputs.%s must be a file path", k);
        for (const char *p = k; *p; p++)
            if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (p != k && *p >= '0' && *p <= '9')))
                return wr_err_set(err, WR_EINVALID,
                                  "inputs: '%s' is not a valid table name (letters, digits, _)", k);
    }
    json_object_foreach(json_object_get(conf, "env"), k, v)
    {
        if (json_is_object(v) || json_is_array(v))
            return wr_err_set(err, WR_EINVALID, "env.%s must be a scalar", k);
    }
    return 0;
}

static char **env_list(const json_t *env)
{
    size_t n = json_object_size(env), i = 0;
    char **out = wr_xcalloc(n + 1, sizeof(char *));
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)env, k, v)
    {
        if (json_is_string(v)) {
            out[i++] = wr_xasprintf("%s=%s", k, json_string_value(v));
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            out[i++] = wr_xasprintf("%s=%s", k, s ? s : "");
            free(s);
        }
    }
    out[i] = NULL;
    return out;
}

static void free_list(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static int start(wr_task_attempt_t *ta, wr_err_t *err)
{
    json_t *command = json_object_get(ta->conf, "command");
    wr_proc_opts_t o;
    char **args = NULL, **env = NULL;
    int rc;

    memset(&o, 0, sizeof(o));
    if (command != NULL) {
        if (json_is_string(command)) {
            args = wr_xcalloc(4, sizeof(char *));
            args[0] = wr_xstrdup("/bin/sh");
            args[1] = wr_xstrdup("-c");
            args[2] = wr_xstrdup(json_string_value(command));
        } else {
            size_t n = json_array_size(command);
            args = wr_xcalloc(n + 1, sizeof(char *));
            for (size_t i = 0; i < n; i++)
                args[i] = wr_xstrdup(json_string_value(json_array_get(command, i)));
        }
        env = env_list(json_object_get(ta->conf, "env"));
        o.cwd = wr_task_conf_str(ta, "cwd");
    } else {
        json_t *inputs = json_object_get(ta->conf, "inputs");
        size_t n = json_object_size(inputs), i = 0;
        const char *k;
        json_t *v;
        args = wr_xcalloc(2 * n + 10, sizeof(char *));
        args[i++] = wr_xstrdup(ta->eng->self_exe);
        args[i++] = wr_xstrdup("sql");
        if (ta->eng->db_path != NULL) { /* `catalog:DB.TABLE` inputs read our catalog */
            args[i++] = wr_xstrdup("--db");
            args[i++] = wr_xstrdup(ta->eng->db_path);
        }
        json_object_foreach(inputs, k, v)
        {
            args[i++] = wr_xstrdup("--input");
            args[i++] = wr_xasprintf("%s=%s", k, json_string_value(v));
        }
        args[i++] = wr_xstrdup("--sql");
        args[i++] = wr_xstrdup(wr_task_conf_str(ta, "sql"));
        args[i++] = wr_xstrdup("--output");
        args[i++] = wr_xstrdup(wr_task_conf_str(ta, "output"));
        args[i] = NULL;
    }
    o.file = args[0];
    o.args = args;
    rc = wr__task_spawn(ta, &o, env, WR_RESULT_LAST_LINE, err);
    free_list(args);
    free_list(env);
    return rc;
}

const wr_task_type_t wr_task_local_transform = {
    .abi = WR_TASK_ABI,
    .name = "local_transform",
    .params = params,
    .validate = validate,
    .start = start,
    .cancel = wr__task_spawn_cancel,
};
