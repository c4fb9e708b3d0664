/* SPDX-License-Identifier: MIT
 * engine/run.c: the DAG run state machine (DESIGN.md §3.1.1).
 *
 * Event-driven: nothing polls. A task is looked at when the last of its upstream tasks ends
 * (or, for a catch target, when a catch routes to it or the last task that could route to it
 * ends). Each decision is written to the store first (task row + history event, one
 * transaction) and acted on after, so a crash never leaves an effect without its record.
 * If the store cannot be written the run stops starting work and ends ABORTED with
 * Weir.StoreError: an unrecorded side effect is worse than a stopped run. */
#include "engine/run.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/policy.h"
#include "engine/store.h"
#include "engine/store_serve.h"
#include "engine/template.h"

#define PID_RECORD_AFTER_MS 200
#define LOG_FLUSH_MS        1000

typedef enum {
    TS_PENDING = 0,
    TS_WAITING, /* ready, waiting for a parallelism slot */
    TS_RUNNING,
    TS_RETRYING, /* waiting for the retry delay */
    TS_SUCCEEDED,
    TS_FAILED,
    TS_CAUGHT,
    TS_UPSTREAM_FAILED,
    TS_SKIPPED,
} tstate_t;

static const char *const tstate_names[] = {"pending",  "queued",          "running",
                                           "retrying", "succeeded",       "failed",
                                           "caught",   "upstream_failed", "skipped"};

typedef struct trun_s {
    wr_run_t *run;
    size_t index;
    tstate_t state;
    int attempts;        /* tries started */
    int *retry_counts;   /* retries granted, per retrier */
    json_t *output;      /* result when succeeded */
    char *error, *cause; /* last failure */
    json_t *catch_error; /* for a catch target: {"Error", "Cause"} that routed to it */
    wr_slot_wait_t slot;
    bool has_slot;
    uv_timer_t retry_timer;
    uv_timer_t timeout_timer;
    uv_timer_t pid_timer; /* records the attempt's process group once it has run a while,
                             then its logs so far, every LOG_FLUSH_MS */
    bool pid_recorded;
    uint64_t logs_version; /* of the logs last written while the attempt runs */
    wr_task_attempt_t *ta; /* the attempt in flight */
    bool timed_out;
    int64_t attempt_start_ms;
    int64_t started_ms; /* first try */
    int64_t retry_at;   /* when a retrying task runs again (Unix ms) */
} trun_t;

struct wr_run_s {
    wr_engine_t *eng;
    const wr_workflow_t *wf;
    char id[40];
    char *trigger;
    char ds[16];
    char *logical_date, *interval_start, *interval_end;
    json_t *input;
    json_t *params; /* declared params, overridden by input values of the same names */
    trun_t *t;
    size_t **downstream; /* per task: indices of tasks that depend on it, ended by -1 */
    size_t n_terminal;
    int in_flight; /* attempts started and not yet done */
    int pending_closes;
    bool finished;
    bool aborting;
    bool closing;
    bool queued;              /* created QUEUED: waits for wr_run_admit() */
    bool interrupting;        /* shutting down: running attempts go back to queued */
    bool draining;            /* shutting down: nothing new starts */
    wr_limiter_t *task_limit; /* the DAG's max_active_tasks; borrowed, may be NULL */
    char *status;
    char *error, *cause; /* the run's error: the first task that ended failed */
    char *abort_why;
    wr_run_done_cb cb;
    void *data;
    uv_timer_t finish_timer; /* delivers the done callback from the loop */
};

static void task_decide(wr_run_t *run, size_t i);
static void task_ready(wr_run_t *run, size_t i);
static void maybe_finish(wr_run_t *run);

static bool is_terminal(tstate_t s)
{
    return s >= TS_SUCCEEDED;
}

static bool failed_like(tstate_t s)
{
    return s == TS_FAILED || s == TS_CAUGHT || s == TS_UPSTREAM_FAILED;
}

/* ==== Progress on stderr ==== */

static void progress(wr_run_t *run, size_t i, const char *what, const char *extra)
{
    trun_t *t = &run->t[i];
    char ts[32];
    int64_t now = wr_now_ms();

    char name[160];

    if (run->eng->quiet)
        return;
    wr_format_iso_ms(now, ts);
    if (run->eng->serve_mode) /* many runs at once: say whose task it is */
        snprintf(name, sizeof(name), "%s/%.8s/%s", run->wf->name, run->id, run->wf->tasks[i].name);
    else
        snprintf(name, sizeof(name), "%s", run->wf->tasks[i].name);
    if (is_terminal(t->state) && t->started_ms > 0)
        fprintf(stderr, "%s  %-24s %-16s attempt %d  %.2fs%s%s\n", ts + 11, name, what, t->attempts,
                (double)(now - t->started_ms) / 1000.0, extra ? "  " : "", extra ? extra : "");
    else
        fprintf(stderr, "%s  %-24s %-16s attempt %d%s%s\n", ts + 11, name, what, t->attempts,
                extra ? "  " : "", extra ? extra : "");
}

/* ==== Store writes ==== */

static void store_failed(wr_run_t *run, const wr_err_t *err)
{
    fprintf(stderr, "weir: %s\n", err->msg);
    if (run->error == NULL) {
        run->error = wr_xstrdup("Weir.StoreError");
        run->cause = wr_xstrdup(err->msg);
    }
    wr_run_abort(run, "the database could not be written");
}

/* What a restart needs to go on with task i: its retry counters, the error that routed to
 * it (a catch target) and when its retry is due. Written with every change of the task. */
static void resume_data(wr_run_t *run, size_t i, wr_task_change_t *ch, char counts[256],
                        char **catch_text)
{
    trun_t *t = &run->t[i];
    size_t n = run->wf->tasks[i].n_retry, off = 0;

    off += (size_t)snprintf(counts, 256, "[");
    for (size_t k = 0; k < n && off < 240; k++)
        off += (size_t)snprintf(counts + off, 256 - off, "%s%d", k ? "," : "", t->retry_counts[k]);
    snprintf(counts + off, 256 - off, "]");
    ch->retry_counts = counts;
    if (t->catch_error != NULL) {
        *catch_text = json_dumps(t->catch_error, JSON_COMPACT);
        ch->catch_error = *catch_text;
    }
    ch->retry_at = t->state == TS_RETRYING ? t->retry_at : 0;
}

/* Records a task's state change. Returns 0, or non-zero after aborting the run. */
static int record(wr_run_t *run, size_t i, const char *event, const char *output,
                  const wr_task_result_t *res)
{
    trun_t *t = &run->t[i];
    wr_task_change_t ch;
    wr_err_t err;
    char counts[256];
    char *catch_text = NULL;
    int rc = 0;

    memset(&ch, 0, sizeof(ch));
    ch.run_id = run->id;
    ch.task = run->wf->tasks[i].name;
    ch.state = tstate_names[t->state];
    ch.attempts = t->attempts;
    ch.event = event;
    ch.output = output;
    resume_data(run, i, &ch, counts, &catch_text);
    if (res != NULL) {
        ch.attempt = t->attempts;
        ch.error = res->error;
        ch.cause = res->cause;
        ch.log_stdout = res->log_stdout;
        ch.log_stderr = res->log_stderr;
        ch.log_truncated = res->log_truncated;
        ch.commit = res->commit;
    }
    if (strcmp(event, "TaskStarted") == 0) {
        char token[96];
        snprintf(token, sizeof(token), "%s:%s:%d", run->id, ch.task, t->attempts);
        ch.attempt = t->attempts;
        ch.token = token;
        rc = wr_store_task_change(run->eng->store, &ch, &err);
    } else {
        rc = wr_store_task_change(run->eng->store, &ch, &err);
    }
    free(catch_text);
    if (rc != 0) {
        store_failed(run, &err);
        return -1;
    }
    return 0;
}

/* ==== Terminal states and propagation ==== */

static void task_terminal(wr_run_t *run, size_t i)
{
    const wr_workflow_t *wf = run->wf;

    run->n_terminal++;
    /* Downstream tasks whose last upstream this was. */
    for (size_t *d = run->downstream[i]; *d != (size_t)-1; d++) {
        const wr_wtask_t *dt = &wf->tasks[*d];
        bool all = true;
        if (run->t[*d].state != TS_PENDING)
            continue;
        for (size_t k = 0; k < dt->n_deps && all; k++)
            all = is_terminal(run->t[dt->deps[k]].state);
        if (all)
            task_decide(run, *d);
    }
    /* Catch targets nothing can route to any more end skipped. */
    for (size_t k = 0; k < wf->tasks[i].n_catch; k++) {
        size_t target = wf->tasks[i].catchers[k].next_index;
        bool open = false;
        if (run->t[target].state != TS_PENDING)
            continue;
        for (size_t s = 0; s < wf->n_tasks && !open; s++)
            for (size_t c = 0; c < wf->tasks[s].n_catch && !open; c++)
                if (wf->tasks[s].catchers[c].next_index == target && !is_terminal(run->t[s].state))
                    open = true;
        if (!open) {
            run->t[target].state = TS_SKIPPED;
            if (record(run, target, "TaskSkipped", NULL, NULL) != 0)
                return;
            progress(run, target, "skipped", "no catch routed to it");
            task_terminal(run, target);
        }
    }
    maybe_finish(run);
}

static void end_without_running(wr_run_t *run, size_t i, tstate_t state)
{
    run->t[i].state = state;
    if (record(run, i, state == TS_SKIPPED ? "TaskSkipped" : "TaskUpstreamFailed", NULL, NULL))
        return;
    progress(run, i, tstate_names[state], NULL);
    task_terminal(run, i);
}

/* All upstream tasks of i are terminal: apply its trigger rule. */
static void task_decide(wr_run_t *run, size_t i)
{
    const wr_wtask_t *wt = &run->wf->tasks[i];
    size_t n_ok = 0, n_failed = 0;
    bool run_it = false;
    tstate_t otherwise = TS_SKIPPED;

    if (run->aborting) {
        end_without_running(run, i, TS_SKIPPED);
        return;
    }
    for (size_t k = 0; k < wt->n_deps; k++) {
        tstate_t s = run->t[wt->deps[k]].state;
        if (s == TS_SUCCEEDED)
            n_ok++;
        else if (failed_like(s))
            n_failed++;
    }
    switch (wt->trigger) {
    case WR_TRIGGER_ALL_SUCCESS:
        run_it = n_ok == wt->n_deps;
        otherwise = n_failed ? TS_UPSTREAM_FAILED : TS_SKIPPED;
        break;
    case WR_TRIGGER_ONE_SUCCESS:
        run_it = n_ok > 0;
        otherwise = n_failed ? TS_UPSTREAM_FAILED : TS_SKIPPED;
        break;
    case WR_TRIGGER_ONE_FAILED:
        run_it = n_failed > 0;
        otherwise = TS_SKIPPED;
        break;
    case WR_TRIGGER_NONE_FAILED:
        run_it = n_failed == 0;
        otherwise = TS_UPSTREAM_FAILED;
        break;
    case WR_TRIGGER_ALL_DONE:
    case WR_TRIGGER_ALWAYS:
        run_it = true;
        break;
    }
    if (wt->n_deps == 0)
        run_it = true;
    if (run_it)
        task_ready(run, i);
    else
        end_without_running(run, i, otherwise);
}

/* ==== Templates ==== */

typedef struct {
    wr_run_t *run;
    size_t task;
    json_t *scratch; /* values made on the fly (attempt, dates) */
} render_ctx_t;

static json_t *keep(render_ctx_t *rc, json_t *v)
{
    json_array_append_new(rc->scratch, v);
    return v;
}

static json_t *resolve(void *arg, const wr_tpl_expr_t *e, wr_err_t *err)
{
    render_ctx_t *rc = arg;
    wr_run_t *run = rc->run;
    trun_t *t = &run->t[rc->task];
    const char *root = e->parts[0];
    json_t *v = NULL;

    if (strcmp(root, "ds") == 0)
        return keep(rc, json_string(run->ds));
    if (strcmp(root, "logical_date") == 0)
        return keep(rc, json_string(run->logical_date));
    if (strcmp(root, "data_interval_start") == 0)
        return keep(rc, json_string(run->interval_start));
    if (strcmp(root, "data_interval_end") == 0)
        return keep(rc, json_string(run->interval_end));
    if (strcmp(root, "run_id") == 0)
        return keep(rc, json_string(run->id));
    if (strcmp(root, "attempt") == 0)
        return keep(rc, json_integer(t->attempts));
    if (strcmp(root, "params") == 0) {
        v = wr_template_follow(run->params, e, 1);
    } else if (strcmp(root, "input") == 0) {
        v = wr_template_follow(run->input, e, 1);
    } else if (strcmp(root, "tasks") == 0 && e->n >= 3) {
        size_t idx = wr_workflow_task_index(run->wf, e->parts[1]);
        if (idx != (size_t)-1 && run->t[idx].state == TS_SUCCEEDED)
            v = wr_template_follow(run->t[idx].output, e, 3);
        else if (idx != (size_t)-1) {
            wr_err_set(err, WR_ETEMPLATE, "template 'tasks.%s.output': task '%s' did not succeed",
                       e->parts[1], e->parts[1]);
            return NULL;
        }
    } else if (strcmp(root, "error") == 0 && t->catch_error != NULL) {
        v = wr_template_follow(t->catch_error, e, 1);
    }
    if (v == NULL) {
        wr_buf_t b;
        wr_buf_init(&b);
        for (size_t k = 0; k < e->n; k++) {
            if (e->is_index[k])
                wr_buf_printf(&b, "[%s]", e->parts[k]);
            else
                wr_buf_printf(&b, "%s%s", k ? "." : "", e->parts[k]);
        }
        wr_err_set(err, WR_ETEMPLATE, "template '{{ %s }}': no such value in this run",
                   wr_buf_cstr(&b));
        wr_buf_dispose(&b);
    }
    return v;
}

/* ==== Attempts ==== */

static void on_attempt_done(wr_task_attempt_t *ta, wr_task_result_t *res);
static void start_attempt(wr_run_t *run, size_t i);
static void on_pid_timer(uv_timer_t *timer);

static void on_slot(wr_slot_wait_t *w)
{
    trun_t *t = wr_container_of(w, trun_t, slot);
    t->has_slot = true;
    start_attempt(t->run, t->index);
}

static void request_slot(wr_run_t *run, size_t i)
{
    trun_t *t = &run->t[i];
    const wr_wtask_t *wt = &run->wf->tasks[i];

    if (run->draining)
        return; /* shutting down: it stays queued for the next start */
    t->slot.priority = wt->priority;
    t->slot.limiters[0] = run->task_limit;
    t->slot.limiters[1] = wt->pool ? wr_engine_pool(run->eng, wt->pool) : NULL;
    wr_engine_slot_acquire(run->eng, &t->slot, on_slot);
}

static void task_ready(wr_run_t *run, size_t i)
{
    trun_t *t = &run->t[i];
    const wr_wtask_t *wt = &run->wf->tasks[i];
    wr_limiter_t *limiters[WR_SLOT_LIMITERS] = {
        run->task_limit, wt->pool ? wr_engine_pool(run->eng, wt->pool) : NULL};

    t->state = TS_WAITING;
    /* "queued" is recorded only for a task that will really wait for a slot: one that starts
     * at once goes from pending to running in one transaction (TaskStarted), and a restart
     * re-decides a pending task whose upstream tasks have ended. A catch target is always
     * recorded, since the error that routed to it is only in its resume data. */
    if ((wt->catch_target || run->draining ||
         !wr_engine_slot_available(run->eng, limiters, wt->priority)) &&
        record(run, i, "TaskQueued", NULL, NULL) != 0)
        return;
    request_slot(run, i);
}

static void on_timeout(uv_timer_t *timer)
{
    trun_t *t = wr_container_of(timer, trun_t, timeout_timer);
    if (t->ta != NULL && !t->ta->canceled) {
        t->timed_out = true;
        t->ta->canceled = true;
        t->ta->type->cancel(t->ta);
    }
}

static void attempt_free(wr_task_attempt_t *ta)
{
    if (ta == NULL)
        return;
    json_decref(ta->conf);
    free((char *)ta->token);
    free(ta);
}

static void start_attempt(wr_run_t *run, size_t i)
{
    trun_t *t = &run->t[i];
    const wr_wtask_t *wt = &run->wf->tasks[i];
    wr_task_attempt_t *ta;
    render_ctx_t rc = {run, i, json_array()};
    wr_task_result_t res;
    wr_err_t err;
    json_t *conf = NULL;

    if (run->aborting) {
        wr_engine_slot_release(run->eng, &t->slot);
        t->has_slot = false;
        json_decref(rc.scratch);
        end_without_running(run, i, TS_SKIPPED);
        return;
    }
    t->attempts++;
    t->state = TS_RUNNING;
    t->timed_out = false;
    t->attempt_start_ms = wr_now_ms();
    if (t->started_ms == 0)
        t->started_ms = t->attempt_start_ms;
    if (record(run, i, "TaskStarted", NULL, NULL) != 0) {
        json_decref(rc.scratch);
        return;
    }
    progress(run, i, "running", NULL);
    ta = wr_xcalloc(1, sizeof(*ta));
    ta->eng = run->eng;
    ta->type = wt->type;
    ta->run_id = run->id;
    ta->task_name = wt->name;
    ta->attempt = t->attempts;
    ta->token = wr_xasprintf("%s:%s:%d", run->id, wt->name, t->attempts);
    ta->done_cb = on_attempt_done;
    ta->data = t;
    t->ta = ta;
    run->in_flight++;
    memset(&res, 0, sizeof(res));
    memset(&err, 0, sizeof(err));
    if (wr_template_render_json(wt->conf, resolve, &rc, &conf, &err) != 0) {
        json_decref(rc.scratch);
        wr_task_result_error(&res, "States.Runtime", "%s", err.msg);
        wr_task_attempt_done_later(ta, &res);
        return;
    }
    json_decref(rc.scratch);
    ta->conf = conf;
    if (wt->type->start(ta, &err) != 0) {
        wr_task_result_error(&res, "States.TaskFailed", "%s", err.msg);
        wr_task_attempt_done_later(ta, &res);
        return;
    }
    if (wt->timeout_ms > 0)
        uv_timer_start(&t->timeout_timer, on_timeout, (uint64_t)wt->timeout_ms, 0);
    /* The process group is recorded (for a restart to stop what a crash left) once the
     * attempt has run for a moment: most tasks end sooner, and need no extra transaction. */
    t->pid_recorded = false;
    t->logs_version = 0;
    if (ta->pid > 0 || ta->peek_logs != NULL)
        uv_timer_start(&t->pid_timer, on_pid_timer, PID_RECORD_AFTER_MS, LOG_FLUSH_MS);
}

/* While an attempt runs: first its process group is recorded (for a restart to stop what a
 * crash left), then, every LOG_FLUSH_MS, what it has written so far, so that its logs can be
 * tailed through the API while it runs. */
static void on_pid_timer(uv_timer_t *timer)
{
    trun_t *t = wr_container_of(timer, trun_t, pid_timer);
    wr_run_t *run = t->run;
    const char *name = run->wf->tasks[t->index].name;
    wr_err_t err;

    if (t->ta == NULL)
        return;
    if (!t->pid_recorded && t->ta->pid > 0) {
        t->pid_recorded = true;
        if (wr_store_attempt_pid(run->eng->store, run->id, name, t->attempts, t->ta->pid, &err) !=
            0)
            fprintf(stderr, "weir: %s\n", err.msg); /* only a restart's clean-up needs it */
    }
    if (t->ta->peek_logs != NULL) {
        const char *out, *errs;
        size_t out_len, err_len;
        uint64_t version;
        t->ta->peek_logs(t->ta, &out, &out_len, &errs, &err_len, &version);
        if (version != t->logs_version &&
            wr_store_logs_live(run->eng->store, run->id, name, t->attempts, out, out_len, errs,
                               err_len, &err) == 0)
            t->logs_version = version;
    }
}

static void on_retry_timer(uv_timer_t *timer)
{
    trun_t *t = wr_container_of(timer, trun_t, retry_timer);
    request_slot(t->run, t->index);
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void route_catch(wr_run_t *run, size_t target, const char *error, const char *cause)
{
    trun_t *tt = &run->t[target];

    if (tt->state != TS_PENDING || run->aborting)
        return; /* a catch target runs at most once per run */
    tt->catch_error = json_pack("{s:s, s:s}", "Error", error, "Cause", cause ? cause : "");
    task_ready(run, target);
}

static void on_attempt_done(wr_task_attempt_t *ta, wr_task_result_t *res)
{
    trun_t *t = ta->data;
    wr_run_t *run = t->run;
    const wr_wtask_t *wt = &run->wf->tasks[t->index];
    int r, c;

    uv_timer_stop(&t->timeout_timer);
    uv_timer_stop(&t->pid_timer);
    t->ta = NULL;
    run->in_flight--;
    if (t->has_slot) {
        t->has_slot = false;
        wr_engine_slot_release(run->eng, &t->slot);
    }
    if (run->interrupting && res->error != NULL) {
        /* Stopped for a shutdown: the task goes back to the queue for the next start. */
        attempt_free(ta);
        t->state = TS_WAITING;
        if (record(run, t->index, "TaskInterrupted", NULL, res) == 0)
            progress(run, t->index, "interrupted", "the server is shutting down");
        wr_task_result_dispose(res);
        return;
    }
    if (t->timed_out) {
        free(res->error);
        free(res->cause);
        res->error = wr_xstrdup("States.Timeout");
        res->cause = wr_xasprintf("task timed out after %.3gs (attempt %d)",
                                  (double)wt->timeout_ms / 1000.0, t->attempts);
        json_decref(res->output);
        res->output = NULL;
    } else if (run->aborting && (res->error != NULL || ta->canceled)) {
        /* Whatever a stopped attempt reports (killed by SIGTERM...), it was the abort. */
        free(res->error);
        free(res->cause);
        json_decref(res->output);
        res->output = NULL;
        res->error = wr_xstrdup("Weir.Aborted");
        res->cause = wr_xstrdup(run->abort_why ? run->abort_why : "run aborted");
    }
    attempt_free(ta);
    if (res->error == NULL) {
        char *out;
        if (res->output == NULL)
            res->output = json_null();
        out = dump(res->output);
        t->state = TS_SUCCEEDED;
        t->output = json_incref(res->output);
        if (record(run, t->index, "TaskSucceeded", out, res) == 0) {
            progress(run, t->index, "succeeded", NULL);
            task_terminal(run, t->index);
        }
        free(out);
        wr_task_result_dispose(res);
        maybe_finish(run);
        return;
    }
    free(t->error);
    free(t->cause);
    t->error = wr_xstrdup(res->error);
    t->cause = wr_xstrdup(res->cause ? res->cause : "");
    r = run->aborting ? -1 : wr_policy_find_retrier(wt->retry, wt->n_retry, res->error);
    if (r >= 0 && t->retry_counts[r] < wt->retry[r].max_attempts) {
        int64_t delay;
        uint32_t rnd = 0;
        char detail[160];
        t->retry_counts[r]++;
        uv_random(NULL, NULL, &rnd, sizeof(rnd), 0, NULL);
        delay =
            wr_policy_retry_delay(&wt->retry[r], t->retry_counts[r], (double)rnd / 4294967296.0);
        t->state = TS_RETRYING;
        t->retry_at = wr_now_ms() + delay;
        snprintf(detail, sizeof(detail), "retry in %.3gs (%s)", (double)delay / 1000.0, res->error);
        if (record(run, t->index, "TaskRetryScheduled", NULL, res) == 0) {
            progress(run, t->index, "retrying", detail);
            if (!run->draining)
                uv_timer_start(&t->retry_timer, on_retry_timer, (uint64_t)delay, 0);
        }
        wr_task_result_dispose(res);
        maybe_finish(run);
        return;
    }
    c = run->aborting ? -1 : wr_policy_find_catcher(wt->catchers, wt->n_catch, res->error);
    if (c >= 0) {
        size_t target = wt->catchers[c].next_index;
        char detail[300];
        t->state = TS_CAUGHT;
        snprintf(detail, sizeof(detail), "%s -> %s", res->error, wt->catchers[c].next);
        if (record(run, t->index, "TaskCaught", NULL, res) == 0) {
            progress(run, t->index, "caught", detail);
            route_catch(run, target, res->error, res->cause);
            task_terminal(run, t->index);
        }
    } else {
        t->state = TS_FAILED;
        if (record(run, t->index, "TaskFailed", NULL, res) == 0) {
            char detail[300];
            snprintf(detail, sizeof(detail), "%s: %.200s", res->error,
                     res->cause ? res->cause : "");
            progress(run, t->index, "failed", detail);
            if (run->error == NULL && !run->aborting) {
                run->error = wr_xstrdup(res->error);
                run->cause = wr_xstrdup(res->cause ? res->cause : "");
            }
            task_terminal(run, t->index);
        }
    }
    wr_task_result_dispose(res);
    maybe_finish(run);
}

/* ==== Deferred completion ==== */

typedef struct {
    uv_timer_t timer;
    wr_task_attempt_t *ta;
    wr_task_result_t res;
} later_t;

static void on_later_close(uv_handle_t *h)
{
    free(wr_container_of((uv_timer_t *)h, later_t, timer));
}

static void on_later(uv_timer_t *timer)
{
    later_t *l = wr_container_of(timer, later_t, timer);
    wr_task_attempt_done(l->ta, &l->res);
    uv_close((uv_handle_t *)&l->timer, on_later_close);
}

void wr_task_attempt_done_later(wr_task_attempt_t *ta, wr_task_result_t *res)
{
    later_t *l = wr_xcalloc(1, sizeof(*l));
    l->ta = ta;
    l->res = *res;
    memset(res, 0, sizeof(*res));
    uv_timer_init(&ta->eng->loop, &l->timer);
    uv_timer_start(&l->timer, on_later, 0, 0);
}

void wr_task_attempt_done(wr_task_attempt_t *ta, wr_task_result_t *res)
{
    ta->done_cb(ta, res);
}

/* ==== Run lifecycle ==== */

static void on_finish_timer(uv_timer_t *timer)
{
    wr_run_t *run = wr_container_of(timer, wr_run_t, finish_timer);
    run->cb(run, run->data);
}

static void maybe_finish(wr_run_t *run)
{
    const char *status;
    json_t *output = NULL;
    char *out = NULL;
    wr_err_t err;

    if (run->finished || run->interrupting || run->n_terminal < run->wf->n_tasks ||
        run->in_flight > 0)
        return;
    run->finished = true;
    if (run->aborting)
        status = "ABORTED";
    else if (run->error != NULL)
        status = "FAILED";
    else
        status = "SUCCEEDED";
    if (strcmp(status, "SUCCEEDED") == 0) {
        output = json_object();
        for (size_t i = 0; i < run->wf->n_tasks; i++)
            if (run->t[i].state == TS_SUCCEEDED)
                json_object_set(output, run->wf->tasks[i].name, run->t[i].output);
        out = dump(output);
        json_decref(output);
    }
    run->status = wr_xstrdup(status);
    if (run->aborting && run->error == NULL) {
        run->error = wr_xstrdup("Weir.Aborted");
        run->cause = wr_xstrdup(run->abort_why ? run->abort_why : "run aborted");
    }
    if (wr_store_run_finish(run->eng->store, run->id, status, out,
                            strcmp(status, "SUCCEEDED") ? run->error : NULL,
                            strcmp(status, "SUCCEEDED") ? run->cause : NULL, &err) != 0)
        fprintf(stderr, "weir: %s\n", err.msg);
    free(out);
    uv_timer_start(&run->finish_timer, on_finish_timer, 0, 0);
}

static void on_handle_close(uv_handle_t *h)
{
    wr_run_t *run = h->data;
    if (--run->pending_closes > 0)
        return;
    for (size_t i = 0; i < run->wf->n_tasks; i++) {
        trun_t *t = &run->t[i];
        free(t->retry_counts);
        json_decref(t->output);
        json_decref(t->catch_error);
        free(t->error);
        free(t->cause);
        free(run->downstream[i]);
    }
    free(run->downstream);
    free(run->t);
    json_decref(run->input);
    json_decref(run->params);
    free(run->trigger);
    free(run->logical_date);
    free(run->interval_start);
    free(run->interval_end);
    free(run->status);
    free(run->error);
    free(run->cause);
    free(run->abort_why);
    free(run);
}

static void close_run_handle(wr_run_t *run, uv_handle_t *h)
{
    h->data = run;
    run->pending_closes++;
    uv_close(h, on_handle_close);
}

void wr_run_close(wr_run_t *run)
{
    if (run == NULL || run->closing)
        return;
    run->closing = true;
    /* uv_close callbacks always run later, from the loop: the count cannot reach 0 here. */
    for (size_t i = 0; i < run->wf->n_tasks; i++) {
        close_run_handle(run, (uv_handle_t *)&run->t[i].retry_timer);
        close_run_handle(run, (uv_handle_t *)&run->t[i].timeout_timer);
        close_run_handle(run, (uv_handle_t *)&run->t[i].pid_timer);
    }
    close_run_handle(run, (uv_handle_t *)&run->finish_timer);
}

/* A run object for `wf` with no task started; its timers are initialized. */
static wr_run_t *run_alloc(wr_engine_t *eng, const wr_workflow_t *wf, const char *id,
                           const char *trigger, const char *ds, const char *logical_date,
                           const char *interval_start, const char *interval_end,
                           const json_t *input, wr_run_done_cb cb, void *data)
{
    wr_run_t *run = wr_xcalloc(1, sizeof(*run));
    size_t *counts = wr_xcalloc(wf->n_tasks + 1, sizeof(size_t));
    const char *key;
    json_t *v;

    run->eng = eng;
    run->wf = wf;
    run->cb = cb;
    run->data = data;
    if (id != NULL)
        snprintf(run->id, sizeof(run->id), "%s", id);
    else
        wr_uuid4(run->id);
    run->trigger = wr_xstrdup(trigger ? trigger : "manual");
    snprintf(run->ds, sizeof(run->ds), "%s", ds ? ds : "");
    run->logical_date = wr_xstrdup(logical_date ? logical_date : "");
    run->interval_start = wr_xstrdup(interval_start ? interval_start : run->logical_date);
    run->interval_end = wr_xstrdup(interval_end ? interval_end : run->logical_date);
    run->input = json_is_object(input) ? json_deep_copy(input) : json_object();
    run->params = json_deep_copy(wf->params);
    json_object_foreach(run->params, key, v)
    {
        json_t *over = json_object_get(run->input, key);
        if (over != NULL)
            json_object_set(run->params, key, over);
    }
    run->t = wr_xcalloc(wf->n_tasks, sizeof(trun_t));
    run->downstream = wr_xcalloc(wf->n_tasks, sizeof(size_t *));
    for (size_t i = 0; i < wf->n_tasks; i++)
        for (size_t k = 0; k < wf->tasks[i].n_deps; k++)
            counts[wf->tasks[i].deps[k]]++;
    for (size_t i = 0; i < wf->n_tasks; i++) {
        run->downstream[i] = wr_xcalloc(counts[i] + 1, sizeof(size_t));
        run->downstream[i][counts[i]] = (size_t)-1;
        counts[i] = 0;
    }
    for (size_t i = 0; i < wf->n_tasks; i++)
        for (size_t k = 0; k < wf->tasks[i].n_deps; k++) {
            size_t up = wf->tasks[i].deps[k];
            run->downstream[up][counts[up]++] = i;
        }
    free(counts);
    uv_timer_init(&eng->loop, &run->finish_timer);
    for (size_t i = 0; i < wf->n_tasks; i++) {
        trun_t *t = &run->t[i];
        t->run = run;
        t->index = i;
        t->retry_counts = wr_xcalloc(wf->tasks[i].n_retry + 1, sizeof(int));
        uv_timer_init(&eng->loop, &t->retry_timer);
        uv_timer_init(&eng->loop, &t->timeout_timer);
        uv_timer_init(&eng->loop, &t->pid_timer);
    }
    return run;
}

static void dispatch_roots(wr_run_t *run)
{
    for (size_t i = 0; i < run->wf->n_tasks && !run->finished; i++) {
        if (run->t[i].state == TS_PENDING && run->wf->tasks[i].n_deps == 0 &&
            !run->wf->tasks[i].catch_target)
            task_decide(run, i);
    }
}

int wr_run_start(wr_engine_t *eng, const wr_workflow_t *wf, const json_t *input,
                 const wr_run_opts_t *opts, wr_run_done_cb cb, void *data, wr_run_t **out,
                 wr_err_t *err)
{
    wr_run_t *run;
    const char **names = wr_xcalloc(wf->n_tasks + 1, sizeof(char *));
    char *input_text = NULL;
    wr_run_row_t row;
    int rc;

    run = run_alloc(eng, wf, opts->run_id, opts->trigger, opts->ds, opts->logical_date,
                    opts->data_interval_start, opts->data_interval_end, input, cb, data);
    run->queued = opts->queued;
    run->task_limit = opts->task_limit;
    for (size_t i = 0; i < wf->n_tasks; i++)
        names[i] = wf->tasks[i].name;
    input_text = dump(run->input);
    memset(&row, 0, sizeof(row));
    row.id = run->id;
    row.version_id = opts->version_id;
    row.status = opts->queued ? "QUEUED" : "RUNNING";
    row.trigger = run->trigger;
    row.logical_date = run->logical_date;
    row.logical_ts = opts->logical_ms / 1000;
    row.ds = run->ds;
    row.interval_start = run->interval_start;
    row.interval_end = run->interval_end;
    row.input_json = input_text;
    row.client_run_id = opts->client_run_id;
    row.schedule_fire = opts->schedule_fire;
    row.trigger_file = opts->trigger_file;
    rc = wr_store_run_insert(eng->store, &row, names, wf->n_tasks, err);
    free(input_text);
    free(names);
    if (rc != 0) {
        run->finished = true;
        wr_run_close(run);
        return rc;
    }
    if (!eng->quiet)
        fprintf(stderr, "run %s of %s %s (%zu tasks, ds %s)\n", run->id, wf->name,
                run->queued ? "queued" : "started", wf->n_tasks, run->ds);
    if (!run->queued)
        dispatch_roots(run);
    if (out != NULL)
        *out = run;
    return 0;
}

void wr_run_admit(wr_run_t *run)
{
    wr_err_t err;

    if (!run->queued || run->finished)
        return;
    run->queued = false;
    if (wr_store_run_set_status(run->eng->store, run->id, "RUNNING", "RunStarted", &err) != 0) {
        store_failed(run, &err);
        return;
    }
    if (!run->eng->quiet)
        fprintf(stderr, "run %s of %s started\n", run->id, run->wf->name);
    dispatch_roots(run);
}

bool wr_run_is_queued(const wr_run_t *run)
{
    return run->queued;
}

/* ==== Resuming after a restart ==== */

static tstate_t state_from_name(const char *s)
{
    for (size_t i = 0; i < WR_ARRAY_SIZE(tstate_names); i++)
        if (s != NULL && strcmp(s, tstate_names[i]) == 0)
            return (tstate_t)i;
    return TS_PENDING;
}

/* Marks i and everything downstream of it for a re-run. */
static void mark_downstream(wr_run_t *run, size_t i, bool *reset) /* NOLINT(misc-no-recursion) */
{
    /* Depth is bounded by the number of tasks; the graph has no cycle. */
    if (reset[i])
        return;
    reset[i] = true;
    for (size_t *d = run->downstream[i]; *d != (size_t)-1; d++)
        mark_downstream(run, *d, reset);
}

static void resume_task(wr_run_t *run, size_t i)
{
    trun_t *t = &run->t[i];
    const wr_wtask_t *wt = &run->wf->tasks[i];
    int64_t now = wr_now_ms();

    switch (t->state) {
    case TS_WAITING:
        request_slot(run, i);
        break;
    case TS_RETRYING:
        uv_timer_start(&t->retry_timer, on_retry_timer,
                       (uint64_t)(t->retry_at > now ? t->retry_at - now : 0), 0);
        break;
    case TS_RUNNING: {
        /* Its process died with the previous daemon: that attempt is lost. */
        wr_task_result_t res;
        wr_task_attempt_t *ta = wr_xcalloc(1, sizeof(*ta));
        memset(&res, 0, sizeof(res));
        ta->eng = run->eng;
        ta->type = wt->type;
        ta->run_id = run->id;
        ta->task_name = wt->name;
        ta->attempt = t->attempts;
        ta->done_cb = on_attempt_done;
        ta->data = t;
        t->ta = ta;
        run->in_flight++;
        wr_task_result_error(&res, "Weir.WorkerLost",
                             "the weir process running attempt %d stopped before it ended",
                             t->attempts);
        wr_task_attempt_done_later(ta, &res);
        break;
    }
    case TS_PENDING: {
        bool all = true;
        if (wt->catch_target) {
            if (t->catch_error != NULL)
                task_ready(run, i);
            break;
        }
        for (size_t k = 0; k < wt->n_deps && all; k++)
            all = is_terminal(run->t[wt->deps[k]].state);
        if (all)
            task_decide(run, i);
        break;
    }
    default:
        break;
    }
}

int wr_run_resume(wr_engine_t *eng, const wr_workflow_t *wf, const json_t *state, bool retry,
                  wr_limiter_t *task_limit, wr_run_done_cb cb, void *data, wr_run_t **out,
                  wr_err_t *err)
{
    json_t *tasks = json_object_get(state, "tasks");
    const char *status = json_string_value(json_object_get(state, "status"));
    wr_run_t *run;
    bool *reset = NULL;

    run = run_alloc(eng, wf, json_string_value(json_object_get(state, "id")),
                    json_string_value(json_object_get(state, "trigger")),
                    json_string_value(json_object_get(state, "ds")),
                    json_string_value(json_object_get(state, "logical_date")),
                    json_string_value(json_object_get(state, "interval_start")),
                    json_string_value(json_object_get(state, "interval_end")),
                    json_object_get(state, "input"), cb, data);
    run->task_limit = task_limit;
    run->queued = !retry && status != NULL && strcmp(status, "QUEUED") == 0;
    for (size_t i = 0; i < wf->n_tasks; i++) {
        trun_t *t = &run->t[i];
        json_t *ts = json_object_get(tasks, wf->tasks[i].name);
        json_t *counts = json_object_get(ts, "retry_counts");
        json_t *ce = json_object_get(ts, "catch_error");
        int pid = (int)json_integer_value(json_object_get(ts, "pid"));
        if (ts == NULL)
            continue; /* cannot happen for a version's own tasks */
        t->state = state_from_name(json_string_value(json_object_get(ts, "state")));
        t->attempts = (int)json_integer_value(json_object_get(ts, "attempts"));
        for (size_t k = 0; k < wf->tasks[i].n_retry; k++)
            t->retry_counts[k] = (int)json_integer_value(json_array_get(counts, k));
        if (json_is_object(ce))
            t->catch_error = json_deep_copy(ce);
        t->retry_at = json_integer_value(json_object_get(ts, "retry_at"));
        if (t->state == TS_SUCCEEDED)
            t->output = json_deep_copy(json_object_get(ts, "output"));
        if (json_is_string(json_object_get(ts, "error"))) {
            t->error = wr_xstrdup(json_string_value(json_object_get(ts, "error")));
            t->cause = wr_xstrdup(json_string_value(json_object_get(ts, "cause"))
                                      ? json_string_value(json_object_get(ts, "cause"))
                                      : "");
        }
        /* A process group that outlived the daemon that started it is stopped: its result
         * could no longer be recorded. */
        if (t->state == TS_RUNNING && pid > 0 && kill(-pid, 0) == 0)
            kill(-pid, SIGKILL);
    }
    if (retry) {
        reset = wr_xcalloc(wf->n_tasks + 1, sizeof(bool));
        for (size_t i = 0; i < wf->n_tasks; i++) {
            tstate_t st = run->t[i].state;
            if (st == TS_FAILED || st == TS_UPSTREAM_FAILED ||
                (st == TS_SKIPPED && status && strcmp(status, "ABORTED") == 0))
                mark_downstream(run, i, reset);
        }
        for (size_t i = 0; i < wf->n_tasks; i++) {
            trun_t *t = &run->t[i];
            if (!reset[i])
                continue;
            t->state = TS_PENDING;
            memset(t->retry_counts, 0, sizeof(int) * wf->tasks[i].n_retry);
            free(t->error);
            free(t->cause);
            t->error = t->cause = NULL;
            if (wf->tasks[i].catch_target) {
                json_decref(t->catch_error);
                t->catch_error = NULL;
            }
            if (record(run, i, "TaskCleared", NULL, NULL) != 0)
                break;
        }
        free(reset);
        if (!run->aborting &&
            wr_store_run_set_status(eng->store, run->id, "RUNNING", "RunRetried", err) != 0) {
            run->finished = true;
            wr_run_close(run);
            return WR_ESTORE;
        }
    }
    for (size_t i = 0; i < wf->n_tasks; i++)
        if (is_terminal(run->t[i].state))
            run->n_terminal++;
    /* The first failure of a resumed run is still its error. */
    for (size_t i = 0; i < wf->n_tasks && run->error == NULL; i++)
        if (run->t[i].state == TS_FAILED && run->t[i].error != NULL) {
            run->error = wr_xstrdup(run->t[i].error);
            run->cause = wr_xstrdup(run->t[i].cause ? run->t[i].cause : "");
        }
    if (!eng->quiet)
        fprintf(stderr, "run %s of %s %s (%zu of %zu tasks ended)\n", run->id, wf->name,
                retry ? "retried" : "resumed", run->n_terminal, wf->n_tasks);
    if (!run->queued) {
        for (size_t i = 0; i < wf->n_tasks && !run->finished; i++)
            resume_task(run, i);
        maybe_finish(run);
    }
    if (out != NULL)
        *out = run;
    return 0;
}

/* ==== Shutdown ==== */

void wr_run_interrupt_waiting(wr_run_t *run)
{
    if (run->finished)
        return;
    run->draining = true;
    for (size_t i = 0; i < run->wf->n_tasks; i++) {
        trun_t *t = &run->t[i];
        uv_timer_stop(&t->retry_timer);
        if (t->slot.queued)
            wr_engine_slot_cancel(run->eng, &t->slot);
    }
}

void wr_run_interrupt(wr_run_t *run)
{
    if (run->finished)
        return;
    run->draining = true;
    run->interrupting = true;
    for (size_t i = 0; i < run->wf->n_tasks; i++) {
        trun_t *t = &run->t[i];
        uv_timer_stop(&t->retry_timer);
        if (t->slot.queued)
            wr_engine_slot_cancel(run->eng, &t->slot);
        if (t->state == TS_RUNNING && t->ta != NULL && !t->ta->canceled) {
            t->ta->canceled = true;
            t->ta->type->cancel(t->ta);
        }
    }
}

int wr_run_in_flight(const wr_run_t *run)
{
    return run->in_flight;
}

const wr_workflow_t *wr_run_workflow(const wr_run_t *run)
{
    return run->wf;
}

void wr_run_abort(wr_run_t *run, const char *why)
{
    if (run->finished || run->aborting)
        return;
    run->aborting = true;
    run->abort_why = wr_xstrdup(why ? why : "run aborted");
    for (size_t i = 0; i < run->wf->n_tasks; i++) {
        trun_t *t = &run->t[i];
        switch (t->state) {
        case TS_WAITING:
            wr_engine_slot_cancel(run->eng, &t->slot);
            end_without_running(run, i, TS_SKIPPED);
            break;
        case TS_RETRYING:
            uv_timer_stop(&t->retry_timer);
            if (t->slot.queued)
                wr_engine_slot_cancel(run->eng, &t->slot);
            t->state = TS_FAILED;
            if (record(run, i, "TaskFailed", NULL, NULL) == 0) {
                progress(run, i, "failed", "run aborted during a retry wait");
                task_terminal(run, i);
            }
            break;
        case TS_RUNNING:
            if (t->ta != NULL && !t->ta->canceled) {
                t->ta->canceled = true;
                t->ta->type->cancel(t->ta);
            }
            break;
        default:
            break;
        }
    }
    /* Pending tasks are decided as their upstreams end: task_decide() skips them. Tasks
     * with no upstream left to end (roots of a queued run, catch targets) are skipped now. */
    run->queued = false;
    for (size_t i = 0; i < run->wf->n_tasks; i++) {
        const wr_wtask_t *wt = &run->wf->tasks[i];
        bool all = true;
        if (run->t[i].state != TS_PENDING)
            continue;
        for (size_t k = 0; k < wt->n_deps && all; k++)
            all = is_terminal(run->t[wt->deps[k]].state);
        if (wt->catch_target || all)
            end_without_running(run, i, TS_SKIPPED);
    }
    maybe_finish(run);
}

const char *wr_run_id(const wr_run_t *run)
{
    return run->id;
}

const char *wr_run_status(const wr_run_t *run)
{
    return run->status ? run->status : "RUNNING";
}

json_t *wr_run_result_json(const wr_run_t *run)
{
    json_t *o = json_object(), *tasks = json_object();
    const char *status = wr_run_status(run);

    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "run_id", json_string(run->id));
    if (strcmp(status, "SUCCEEDED") == 0) {
        json_t *output = json_object();
        for (size_t i = 0; i < run->wf->n_tasks; i++)
            if (run->t[i].state == TS_SUCCEEDED)
                json_object_set(output, run->wf->tasks[i].name, run->t[i].output);
        json_object_set_new(o, "output", output);
    } else {
        json_object_set_new(o, "error", json_string(run->error ? run->error : "States.Runtime"));
        json_object_set_new(o, "cause", json_string(run->cause ? run->cause : ""));
    }
    for (size_t i = 0; i < run->wf->n_tasks; i++) {
        const trun_t *t = &run->t[i];
        tstate_t s = t->state;
        json_t *e;
        /* Only terminal states appear once a run has ended; an aborted run may still
         * show a task that never got its turn as skipped. */
        if (!is_terminal(s))
            s = TS_SKIPPED;
        e = json_pack("{s:s, s:i}", "state", tstate_names[s], "attempts", t->attempts);
        if ((s == TS_FAILED || s == TS_CAUGHT) && t->error != NULL) {
            json_object_set_new(e, "error", json_string(t->error));
            json_object_set_new(e, "cause", json_string(t->cause ? t->cause : ""));
        }
        json_object_set_new(tasks, run->wf->tasks[i].name, e);
    }
    json_object_set_new(o, "tasks", tasks);
    return o;
}
