/* SPDX-License-Identifier: MIT
 * tasks/proc_task.c: attempts that are child processes. */
#include "tasks/proc_task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/loop.h"

extern char **environ;

typedef struct {
    wr_task_attempt_t *ta;
    wr_proc_t *proc;
    wr_result_mode_t mode;
} spawn_t;

/* The last non-empty line of s[0..len), without its line end. */
static void last_line(const char *s, size_t len, const char **start, size_t *n)
{
    size_t end = len;

    while (end > 0 &&
           (s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == ' ' || s[end - 1] == '\t'))
        end--;
    size_t b = end;
    while (b > 0 && s[b - 1] != '\n')
        b--;
    *start = s + b;
    *n = end - b;
}

static json_t *parse_value(const char *s, size_t n)
{
    json_error_t je;
    json_t *v;

    if (n == 0)
        return json_null();
    v = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (v != NULL)
        return v;
    v = json_stringn(s, n);
    return v ? v : json_stringn_nocheck(s, n);
}

/* The last `lines` lines of stderr, for a cause. */
static char *stderr_tail(const char *s, size_t len, int lines)
{
    size_t end = len, b;
    int seen = 0;

    while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r'))
        end--;
    b = end;
    while (b > 0) {
        if (s[b - 1] == '\n' && ++seen == lines)
            break;
        b--;
    }
    if (end - b > 2000)
        b = end - 2000;
    return wr_xstrndup(s + b, end - b);
}

void wr__task_result_from_proc(const wr_proc_result_t *pr, wr_result_mode_t mode,
                               wr_task_result_t *res)
{
    const char *line;
    size_t n;
    json_t *v = NULL;
    bool ok = pr->term_signal == 0 && pr->exit_status == 0;

    memset(res, 0, sizeof(*res));
    res->log_stdout = wr_xstrndup(pr->out, pr->out_len);
    res->log_stderr = wr_xstrndup(pr->err, pr->err_len);
    res->log_truncated = pr->out_truncated || pr->err_truncated;
    last_line(pr->out, pr->out_len, &line, &n);
    if (mode == WR_RESULT_WHOLE && !pr->out_truncated) {
        json_error_t je;
        v = json_loadb(pr->out, pr->out_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (v == NULL && n == 0)
            v = json_null();
    }
    if (v == NULL)
        v = parse_value(line, n);
    if (ok) {
        res->output = v;
        return;
    }
    if (json_is_object(v) && json_is_string(json_object_get(v, "errorType"))) {
        json_t *msg = json_object_get(v, "errorMessage");
        res->error = wr_xstrdup(json_string_value(json_object_get(v, "errorType")));
        if (json_is_string(msg))
            res->cause = wr_xstrdup(json_string_value(msg));
        else if (msg != NULL && !json_is_null(msg))
            res->cause = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
        else
            res->cause = wr_xstrdup("");
    } else {
        char *tail = stderr_tail(pr->err, pr->err_len, 5);
        res->error = wr_xstrdup("States.TaskFailed");
        if (pr->term_signal != 0)
            res->cause = wr_xasprintf("killed by signal %d%s%s", pr->term_signal,
                                      *tail ? "; stderr: " : "", tail);
        else
            res->cause = wr_xasprintf("exit code %lld%s%s", (long long)pr->exit_status,
                                      *tail ? "; stderr: " : "", tail);
        free(tail);
    }
    json_decref(v);
}

static void on_proc_done(wr_proc_t *p, const wr_proc_result_t *pr, void *data)
{
    spawn_t *s = data;
    wr_task_attempt_t *ta = s->ta;
    wr_task_result_t res;

    (void)p;
    wr__task_result_from_proc(pr, s->mode, &res);
    ta->impl = NULL;
    ta->peek_logs = NULL;
    free(s);
    wr_task_attempt_done(ta, &res);
}

static char **build_env(const wr_task_attempt_t *ta, char **extra)
{
    size_t n = 0, m = 0, k = 0;
    char **env;
    char *ours[4];

    ours[0] = wr_xasprintf("WEIR_RUN_ID=%s", ta->run_id);
    ours[1] = wr_xasprintf("WEIR_TASK=%s", ta->task_name);
    ours[2] = wr_xasprintf("WEIR_ATTEMPT=%d", ta->attempt);
    ours[3] = wr_xasprintf("WEIR_TOKEN=%s", ta->token ? ta->token : "");
    while (environ[n] != NULL)
        n++;
    while (extra != NULL && extra[m] != NULL)
        m++;
    env = wr_xcalloc(n + m + 5, sizeof(char *));
    /* Later entries win: ours, then the task's own `env`, override the inherited ones. */
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t kl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool shadowed = false;
        for (size_t j = 0; j < m && !shadowed; j++)
            shadowed = strncmp(extra[j], environ[i], kl + 1) == 0;
        for (size_t j = 0; j < 4 && !shadowed; j++)
            shadowed = strncmp(ours[j], environ[i], kl + 1) == 0;
        if (!shadowed)
            env[k++] = wr_xstrdup(environ[i]);
    }
    for (size_t j = 0; j < 4; j++)
        env[k++] = ours[j];
    for (size_t j = 0; j < m; j++)
        env[k++] = wr_xstrdup(extra[j]);
    env[k] = NULL;
    return env;
}

static void peek_logs(wr_task_attempt_t *ta, const char **out, size_t *out_len, const char **err,
                      size_t *err_len, uint64_t *version)
{
    spawn_t *s = ta->impl;
    wr_proc_peek(s->proc, out, out_len, err, err_len, version);
}

int wr__task_spawn(wr_task_attempt_t *ta, const wr_proc_opts_t *opts, char **extra_env,
                   wr_result_mode_t mode, wr_err_t *err)
{
    spawn_t *s = wr_xcalloc(1, sizeof(*s));
    wr_proc_opts_t o = *opts;
    char **env = build_env(ta, extra_env);
    int rc;

    s->ta = ta;
    s->mode = mode;
    o.env = env;
    rc = wr_proc_spawn(&ta->eng->loop, &o, on_proc_done, s, &s->proc, err);
    for (size_t i = 0; env[i] != NULL; i++)
        free(env[i]);
    free(env);
    if (rc != 0) {
        free(s);
        return rc;
    }
    ta->impl = s;
    ta->pid = wr_proc_pid(s->proc);
    ta->peek_logs = peek_logs;
    return 0;
}

void wr__task_spawn_cancel(wr_task_attempt_t *ta)
{
    spawn_t *s = ta->impl;
    if (s != NULL && s->proc != NULL)
        wr_proc_stop(s->proc, ta->eng->kill_grace_ms);
}
