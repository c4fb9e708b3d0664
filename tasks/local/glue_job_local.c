/* SPDX-License-Identifier: MIT
 * tasks/local/glue_job_local.c: the local provider of glue_job: runs the job's `script:`
 * as a child process and reports a Glue JobRun.
 *
 * A `.sql` script runs as `weir sql --sql-file SCRIPT --input NAME=VALUE... --output OUT`
 * (the local_transform engine); inputs may be files, folders, globs, @LISTFILEs or
 * "catalog:DATABASE.TABLE" (`from_catalog: DB.TABLE` adds the input TABLE). Any other script
 * is an executable run with Glue-style arguments: `arguments:` ("--date": "{{ ds }}" ->
 * `--date VALUE`), then `--JOB_NAME`, `--JOB_RUN_ID`, `--WEIR_TOKEN` (the attempt's
 * idempotency token) and `--job-bookmark-option`.
 *
 * Job bookmarks (`bookmark: true`, .sql scripts): the files the job already processed are
 * read from the store at start (one short indexed read on the loop) and handed to the child
 * on stdin (`--skip-files -`): it lists the folders, globs and catalog tables of the inputs
 * itself, reads only the new files (the old ones still give the table its columns, so a run
 * without new files writes an empty output and succeeds with rows 0) and reports them; they
 * go back in the result's `commit`, recorded in the transaction of the task's success, so a
 * failed or stopped run never advances the bookmark.
 *
 * max_concurrent_runs (default 1, as in Glue): runs in flight are counted per job name, in
 * this process, on the loop; one more fails at once with Glue.ConcurrentRunsExceededException.
 *
 * Errors: a failed run is Glue.JobRunFailed, its cause "job J run ID FAILED: <the script's
 * error>"; a stopped run (timeout, abort) Glue.JobRunStopped, which the engine reports as
 * States.Timeout or Weir.Aborted. A missing executable is Glue.EntityNotFoundException. */
#include "tasks/local/glue_job_local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "engine/loop.h"
#include "engine/proc.h"
#include "engine/run.h"
#include "engine/store.h"
#include "tasks/proc_task.h"

extern char **environ;

/* ==== Runs in flight, per job name (loop thread only) ==== */

typedef struct running_s {
    char *job;
    int n;
    struct running_s *next;
} running_t;

static running_t *running_head; /* few jobs run at once: a list is enough */

static running_t *running_find(const char *job)
{
    for (running_t *r = running_head; r != NULL; r = r->next)
        if (strcmp(r->job, job) == 0)
            return r;
    return NULL;
}

static void running_add(const char *job)
{
    running_t *r = running_find(job);
    if (r == NULL) {
        r = wr_xcalloc(1, sizeof(*r));
        r->job = wr_xstrdup(job);
        r->next = running_head;
        running_head = r;
    }
    r->n++;
}

static void running_remove(const char *job)
{
    for (running_t **p = &running_head; *p != NULL; p = &(*p)->next) {
        running_t *r = *p;
        if (strcmp(r->job, job) != 0)
            continue;
        if (--r->n == 0) {
            *p = r->next;
            free(r->job);
            free(r);
        }
        return;
    }
}

/* ==== One run ==== */

typedef struct {
    wr_task_attempt_t *ta;
    wr_proc_t *proc;
    char *job;          /* job name; owned */
    char *id;           /* JobRunId; owned */
    json_t *arguments;  /* the run's Arguments; owned */
    bool sql;           /* a .sql script */
    bool bookmark;      /* bookmark: true */
    int64_t started_ms; /* StartedOn */
} job_t;

static void job_free(job_t *j)
{
    if (j == NULL)
        return;
    free(j->job);
    free(j->id);
    json_decref(j->arguments);
    free(j);
}

/* "jr_" and 64 hex digits, derived from the attempt's token so that it names the attempt. */
static char *job_run_id(const char *token)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char *id = wr_xmalloc(3 + 2 * SHA256_DIGEST_LENGTH + 1);

    SHA256((const unsigned char *)token, strlen(token), md);
    memcpy(id, "jr_", 3);
    for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(id + 3 + 2 * i, 3, "%02x", md[i]);
    return id;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The script's file name without folder and extension: the default job name. */
static char *script_job_name(const char *script)
{
    const char *b = strrchr(script, '/');
    const char *dot;

    b = b != NULL ? b + 1 : script;
    dot = strrchr(b, '.');
    return dot != NULL && dot != b ? wr_xstrndup(b, (size_t)(dot - b)) : wr_xstrdup(b);
}

static bool reserved_arg(const char *k)
{
    return strcmp(k, "--JOB_NAME") == 0 || strcmp(k, "--JOB_RUN_ID") == 0 ||
           strcmp(k, "--WEIR_TOKEN") == 0 || strcmp(k, "--job-bookmark-option") == 0;
}

/* The run's Arguments: `arguments:` with keys as "--KEY" and values as text. */
static json_t *glue_arguments(const json_t *conf_args, bool bookmark)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)conf_args, k, v)
    {
        char *key = strncmp(k, "--", 2) == 0 ? wr_xstrdup(k) : wr_xasprintf("--%s", k);
        if (!reserved_arg(key)) {
            if (json_is_string(v)) {
                json_object_set(out, key, v);
            } else {
                char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                json_object_set_new(out, key, json_string(s ? s : ""));
                free(s);
            }
        }
        free(key);
    }
    json_object_set_new(out, "--job-bookmark-option",
                        json_string(bookmark ? "job-bookmark-enable" : "job-bookmark-disable"));
    return out;
}

/* A NULL-terminated argv/env list of owned strings. */
typedef struct {
    char **v;
    size_t n, cap;
} list_t;

static void list_push(list_t *l, char *s)
{
    if (l->n + 2 > l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = wr_xrealloc(l->v, l->cap * sizeof(char *));
    }
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
}

static void list_free(list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Our environment, with the attempt's WEIR_* variables replacing any inherited ones. */
static void build_env(const wr_task_attempt_t *ta, const job_t *j, list_t *env)
{
    char *ours[6];

    ours[0] = wr_xasprintf("WEIR_RUN_ID=%s", ta->run_id);
    ours[1] = wr_xasprintf("WEIR_TASK=%s", ta->task_name);
    ours[2] = wr_xasprintf("WEIR_ATTEMPT=%d", ta->attempt);
    ours[3] = wr_xasprintf("WEIR_TOKEN=%s", ta->token ? ta->token : "");
    ours[4] = wr_xasprintf("WEIR_JOB_NAME=%s", j->job);
    ours[5] = wr_xasprintf("WEIR_JOB_RUN_ID=%s", j->id);
    for (size_t i = 0; environ[i] != NULL; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t kl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool shadowed = false;
        for (size_t k = 0; k < WR_ARRAY_SIZE(ours) && !shadowed; k++)
            shadowed = strncmp(ours[k], environ[i], kl + 1) == 0;
        if (!shadowed)
            list_push(env, wr_xstrdup(environ[i]));
    }
    for (size_t k = 0; k < WR_ARRAY_SIZE(ours); k++)
        list_push(env, ours[k]);
}

static json_t *iso_time(int64_t ms)
{
    char iso[32];
    wr_format_iso_ms(ms, iso);
    return json_string(iso);
}

/* The JobRun object (Glue's GetJobRun shape). New. */
static json_t *job_run(const job_t *j, const char *state, int64_t ended_ms, const char *message)
{
    const wr_task_attempt_t *ta = j->ta;
    json_t *r = json_object();
    const char *worker = wr_task_conf_str(ta, "worker_type");
    json_t *workers = json_object_get(ta->conf, "number_of_workers");

    json_object_set_new(r, "Id", json_string(j->id));
    json_object_set_new(r, "JobRunId", json_string(j->id));
    json_object_set_new(r, "JobName", json_string(j->job));
    json_object_set_new(r, "JobRunState", json_string(state));
    json_object_set_new(r, "Attempt", json_integer(ta->attempt - 1));
    json_object_set_new(r, "StartedOn", iso_time(j->started_ms));
    json_object_set_new(r, "CompletedOn", iso_time(ended_ms));
    json_object_set_new(r, "ExecutionTime", json_integer((ended_ms - j->started_ms + 500) / 1000));
    json_object_set_new(r, "Arguments", json_deep_copy(j->arguments));
    if (message != NULL)
        json_object_set_new(r, "ErrorMessage", json_string(message));
    if (worker != NULL)
        json_object_set_new(r, "WorkerType", json_string(worker));
    if (workers != NULL)
        json_object_set(r, "NumberOfWorkers", workers);
    return r;
}

static void on_job_done(wr_proc_t *p, const wr_proc_result_t *pr, void *data)
{
    job_t *j = data;
    wr_task_attempt_t *ta = j->ta;
    int64_t now = wr_now_ms();
    wr_task_result_t res;
    json_t *run = NULL;
    char *msg = NULL, *line = NULL;

    (void)p;
    wr__task_result_from_proc(pr, WR_RESULT_LAST_LINE, &res);
    running_remove(j->job);
    if (ta->canceled) {
        run = job_run(j, "STOPPED", now, "the job run was stopped");
        json_decref(res.output);
        res.output = NULL;
        wr_task_result_error(&res, "Glue.JobRunStopped", "job %s run %s STOPPED", j->job, j->id);
    } else if (res.error != NULL) {
        msg = wr_xasprintf("%s: %s", res.error, res.cause ? res.cause : "");
        run = job_run(j, "FAILED", now, msg);
        wr_task_result_error(&res, "Glue.JobRunFailed", "job %s run %s FAILED: %s", j->job, j->id,
                             msg);
    } else {
        json_t *out = res.output;
        run = job_run(j, "SUCCEEDED", now, NULL);
        if (j->sql && json_is_object(out)) {
            json_object_set(run, "rows", json_object_get(out, "rows"));
            json_object_set(run, "output", json_object_get(out, "output"));
            if (json_object_get(out, "files") != NULL)
                json_object_set(run, "files", json_object_get(out, "files"));
        } else {
            json_object_set(run, "Result", out);
        }
        if (j->bookmark && json_array_size(json_object_get(out, "files")) > 0)
            res.commit = json_pack("{s:{s:s, s:O}}", "bookmark", "job", j->job, "files",
                                   json_object_get(out, "files"));
        json_decref(out);
        res.output = json_incref(run);
    }
    /* The JobRun, whatever its state, ends the attempt's stderr log. */
    line = json_dumps(run, JSON_COMPACT);
    {
        char *log = wr_xasprintf(
            "%s%sweir: JobRun %s\n", res.log_stderr ? res.log_stderr : "",
            res.log_stderr && *res.log_stderr && !ends_with(res.log_stderr, "\n") ? "\n" : "",
            line ? line : "{}");
        free(res.log_stderr);
        res.log_stderr = log;
    }
    free(line);
    free(msg);
    json_decref(run);
    ta->impl = NULL;
    job_free(j);
    wr_task_attempt_done(ta, &res);
}

/* Fails the attempt at once (on the next loop iteration). */
WR_PRINTF(3, 4) static int fail_now(wr_task_attempt_t *ta, const char *error, const char *fmt, ...)
{
    wr_task_result_t res;
    va_list ap;

    memset(&res, 0, sizeof(res));
    res.error = wr_xstrdup(error);
    va_start(ap, fmt);
    res.cause = wr_xvasprintf(fmt, ap);
    va_end(ap);
    wr_task_attempt_done_later(ta, &res);
    return 0;
}

/* The child's argv for a .sql script; *needs_db when an input names the catalog. */
static void sql_args(const wr_task_attempt_t *ta, const char *script, list_t *args)
{
    json_t *inputs = json_object_get(ta->conf, "inputs");
    const char *cat = wr_task_conf_str(ta, "from_catalog");
    bool needs_db = false;
    const char *k;
    json_t *v;

    list_push(args, wr_xstrdup(ta->eng->self_exe));
    list_push(args, wr_xstrdup("sql"));
    list_push(args, wr_xstrdup("--sql-file"));
    list_push(args, wr_xstrdup(script));
    list_push(args, wr_xstrdup("--output"));
    list_push(args, wr_xstrdup(wr_task_conf_str(ta, "output")));
    json_object_foreach(inputs, k, v)
    {
        const char *val = json_string_value(v);
        list_push(args, wr_xstrdup("--input"));
        list_push(args, wr_xasprintf("%s=%s", k, val));
        needs_db = needs_db || strncmp(val, "catalog:", 8) == 0;
    }
    if (cat != NULL) {
        const char *dot = strchr(cat, '.');
        list_push(args, wr_xstrdup("--input"));
        list_push(args, wr_xasprintf("%s=catalog:%s", dot ? dot + 1 : cat, cat));
        needs_db = true;
    }
    if (needs_db && ta->eng->db_path != NULL) {
        list_push(args, wr_xstrdup("--db"));
        list_push(args, wr_xstrdup(ta->eng->db_path));
    }
}

int wr__glue_job_local_start(wr_task_attempt_t *ta, wr_err_t *err)
{
    const char *script = wr_task_conf_str(ta, "script");
    const char *name = wr_task_conf_str(ta, "job_name");
    json_t *mcr = json_object_get(ta->conf, "max_concurrent_runs");
    int64_t max_runs = mcr != NULL ? json_integer_value(mcr) : 1;
    list_t args = {0}, env = {0};
    char *stdin_data = NULL;
    wr_proc_opts_t o;
    running_t *r;
    job_t *j = NULL;
    int rc = 0;

    if (script == NULL || *script == '\0')
        return fail_now(ta, "Glue.EntityNotFoundException",
                        "job %s: the local provider runs the job's 'script:', and none is set",
                        name ? name : "?");
    j = wr_xcalloc(1, sizeof(*j));
    j->ta = ta;
    j->job = name != NULL ? wr_xstrdup(name) : script_job_name(script);
    j->id = job_run_id(ta->token ? ta->token : ta->run_id);
    j->sql = ends_with(script, ".sql");
    j->bookmark = json_is_true(json_object_get(ta->conf, "bookmark"));
    j->arguments = glue_arguments(json_object_get(ta->conf, "arguments"), j->bookmark);
    j->started_ms = wr_now_ms();
    r = running_find(j->job);
    if (r != NULL && r->n >= max_runs) {
        rc = fail_now(ta, "Glue.ConcurrentRunsExceededException",
                      "Concurrent runs exceeded for %s: %d running, max_concurrent_runs %lld",
                      j->job, r->n, (long long)max_runs);
        goto done;
    }
    if (j->sql && wr_task_conf_str(ta, "output") == NULL) {
        rc = fail_now(ta, "Glue.InvalidInputException", "job %s: a .sql script needs 'output'",
                      j->job);
        goto done;
    }
    if (!j->sql && j->bookmark) {
        rc = fail_now(ta, "Glue.InvalidInputException",
                      "job %s: bookmark: true needs a .sql script", j->job);
        goto done;
    }
    memset(&o, 0, sizeof(o));
    if (j->sql) {
        sql_args(ta, script, &args);
        if (j->bookmark) {
            json_t *done_files = NULL;
            wr_buf_t b;
            size_t i;
            json_t *f;
            if (wr_store_bookmark_files(ta->eng->store, j->job, &done_files, err) != 0) {
                rc = fail_now(ta, "Weir.StoreError", "job %s: reading the bookmark: %s", j->job,
                              err->msg);
                goto done;
            }
            wr_buf_init(&b);
            json_array_foreach(done_files, i, f)
            {
                wr_buf_printf(&b, "%s\n", json_string_value(f));
            }
            json_decref(done_files);
            stdin_data = wr_buf_steal(&b);
            list_push(&args, wr_xstrdup("--skip-files"));
            list_push(&args, wr_xstrdup("-"));
            list_push(&args, wr_xstrdup("--report-files"));
            o.stdin_data = stdin_data;
            o.stdin_len = strlen(stdin_data);
        }
    } else {
        const char *k;
        json_t *v;
        /* A bare name would be looked up in PATH; a script is a file of the project. */
        list_push(&args, strchr(script, '/') ? wr_xstrdup(script) : wr_xasprintf("./%s", script));
        json_object_foreach(j->arguments, k, v)
        {
            list_push(&args, wr_xstrdup(k));
            list_push(&args, wr_xstrdup(json_string_value(v)));
        }
        list_push(&args, wr_xstrdup("--JOB_NAME"));
        list_push(&args, wr_xstrdup(j->job));
        list_push(&args, wr_xstrdup("--JOB_RUN_ID"));
        list_push(&args, wr_xstrdup(j->id));
        list_push(&args, wr_xstrdup("--WEIR_TOKEN"));
        list_push(&args, wr_xstrdup(ta->token ? ta->token : ""));
        build_env(ta, j, &env);
        o.env = env.v;
    }
    o.file = args.v[0];
    o.args = args.v;
    rc = wr_proc_spawn(&ta->eng->loop, &o, on_job_done, j, &j->proc, err);
    if (rc == UV_ENOENT || rc == UV_EACCES) {
        rc = fail_now(ta, "Glue.EntityNotFoundException", "job %s: script '%s': %s", j->job, script,
                      uv_strerror(rc));
        goto done;
    }
    if (rc != 0)
        goto done;
    running_add(j->job);
    ta->impl = j;
    j = NULL;
done:
    job_free(j);
    free(stdin_data);
    list_free(&args);
    list_free(&env);
    return rc;
}

void wr__glue_job_local_cancel(wr_task_attempt_t *ta)
{
    job_t *j = ta->impl;
    if (j != NULL && j->proc != NULL)
        wr_proc_stop(j->proc, ta->eng->kill_grace_ms);
}
