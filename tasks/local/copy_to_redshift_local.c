/* SPDX-License-Identifier: MIT
 * tasks/local/copy_to_redshift_local.c: copy_to_redshift's embedded provider.
 *
 * The load runs as a child `weir load ...` (engine/cli_load.c), as local_transform's SQL mode
 * runs `weir sql`: parsing and inserting a large file never blocks the loop, and a timeout
 * kills the child, whose open transaction then rolls back. The attempt's idempotency token is
 * passed along (--token) and recorded by the load in the warehouse's weir_loads table, in the
 * same transaction as its rows, so an attempt retried with the same token does not load
 * twice. A PostgreSQL DSN travels in the child's environment ($WEIR_LOAD_DSN), never on its
 * command line, where a password would show in `ps`. The result is the child's last stdout
 * line: {"rows", "table", "duration_ms", "files", ...}, or its {"errorType", "errorMessage"}. */
#include "tasks/local/copy_to_redshift_local.h"

#include <stdlib.h>
#include <string.h>

#include "engine/config.h"
#include "engine/loop.h"
#include "tasks/proc_task.h"

#define MAX_ARGS 40

/* `value` relative to the folder of weir.yaml, unless absolute or there is no file. */
static char *config_relative(const wr_engine_t *eng, const char *value)
{
    const char *file = eng->config ? eng->config->path : NULL;
    const char *slash = file ? strrchr(file, '/') : NULL;

    if (value[0] == '/' || slash == NULL)
        return wr_xstrdup(value);
    return wr_xasprintf("%.*s/%s", (int)(slash - file), file, value);
}

static void add(char **args, size_t *n, char *s)
{
    if (*n < MAX_ARGS)
        args[(*n)++] = s;
    else
        free(s);
}

/* `--flag VALUE` when the field is set: strings as they are, integers in decimal. */
static void add_field(const wr_task_attempt_t *ta, char **args, size_t *n, const char *field,
                      const char *flag)
{
    json_t *v = json_object_get(ta->conf, field);
    if (json_is_string(v)) {
        add(args, n, wr_xstrdup(flag));
        add(args, n, wr_xstrdup(json_string_value(v)));
    } else if (json_is_integer(v)) {
        add(args, n, wr_xstrdup(flag));
        add(args, n, wr_xasprintf("%lld", (long long)json_integer_value(v)));
    }
}

int wr__copy_to_redshift_local_start(wr_task_attempt_t *ta, const json_t *conn, wr_err_t *err)
{
    const char *dsn = json_string_value(json_object_get(conn, "dsn"));
    const char *wh = json_string_value(json_object_get(conn, "warehouse"));
    json_t *cols = json_object_get(ta->conf, "columns");
    char *args[MAX_ARGS + 1];
    char *env[2] = {NULL, NULL};
    size_t n = 0;
    wr_proc_opts_t o;
    int rc;

    memset(args, 0, sizeof(args));
    add(args, &n, wr_xstrdup(ta->eng->self_exe));
    add(args, &n, wr_xstrdup("load"));
    if (wr_task_conf_str(ta, "sql") != NULL) {
        add_field(ta, args, &n, "sql", "--sql");
    } else {
        add_field(ta, args, &n, "table", "--table");
        add_field(ta, args, &n, "from", "--from");
        add_field(ta, args, &n, "format", "--format");
        add_field(ta, args, &n, "ignore_header", "--ignore-header");
        add_field(ta, args, &n, "delimiter", "--delimiter");
        add_field(ta, args, &n, "dateformat", "--dateformat");
        add_field(ta, args, &n, "timeformat", "--timeformat");
        add_field(ta, args, &n, "null_as", "--null-as");
        if (json_is_true(json_object_get(ta->conf, "truncate")))
            add(args, &n, wr_xstrdup("--truncate"));
        if (json_is_true(json_object_get(ta->conf, "manifest")))
            add(args, &n, wr_xstrdup("--manifest"));
        if (json_is_string(cols)) {
            add(args, &n, wr_xstrdup("--columns"));
            add(args, &n, wr_xstrdup(json_string_value(cols)));
        } else if (json_is_array(cols)) {
            wr_buf_t b;
            size_t i;
            json_t *c;
            wr_buf_init(&b);
            json_array_foreach(cols, i, c)
            {
                wr_buf_printf(&b, "%s%s", i > 0 ? "," : "", json_string_value(c));
            }
            add(args, &n, wr_xstrdup("--columns"));
            add(args, &n, wr_buf_steal(&b));
        }
    }
    if (ta->token != NULL) {
        add(args, &n, wr_xstrdup("--token"));
        add(args, &n, wr_xstrdup(ta->token));
    }
    if (dsn != NULL) {
        env[0] = wr_xasprintf("WEIR_LOAD_DSN=%s", dsn);
    } else {
        env[0] = wr_xstrdup("WEIR_LOAD_DSN="); /* not one inherited from our environment */
        add(args, &n, wr_xstrdup("--warehouse"));
        add(args, &n, wh != NULL ? config_relative(ta->eng, wh) : wr_xstrdup("warehouse.db"));
    }
    args[n] = NULL;
    memset(&o, 0, sizeof(o));
    o.file = args[0];
    o.args = args;
    rc = wr__task_spawn(ta, &o, env, WR_RESULT_LAST_LINE, err);
    for (size_t i = 0; i < n; i++)
        free(args[i]);
    free(env[0]);
    return rc;
}

void wr__copy_to_redshift_local_cancel(wr_task_attempt_t *ta)
{
    wr__task_spawn_cancel(ta);
}
