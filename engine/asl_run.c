/* SPDX-License-Identifier: MIT
 * engine/asl_run.c: the Amazon States Language interpreter (asl_run.h, DESIGN.md §3.2).
 *
 * An execution is a tree of frames: the top-level state machine is one frame, and every
 * running Parallel or Map state owns a block whose children are frames of its branches or
 * item processor. A frame that is ready to make progress sits on the run's ready queue;
 * pump() takes frames off it and executes one state each (so branches and iterations
 * interleave), and everything asynchronous (task attempts, Wait and retry timers, child
 * blocks) puts its frame back on the queue when it completes. pump() handles a bounded
 * number of steps per loop turn and re-arms a zero timer for the rest, so a long chain of
 * Pass/Choice states never starves the loop. No recursion follows the data: nesting of
 * blocks is bounded by WR_ASL_MAX_DEPTH (the loader refuses deeper definitions).
 *
 * Data flow per state follows the specification: InputPath -> Parameters -> (the work) ->
 * ResultSelector -> ResultPath -> OutputPath, with Assign evaluated against the result and
 * the variables as they were before the state, and applied after OutputPath. Frames live
 * until the run is closed (their payloads are released as soon as they end). */
#include "engine/asl_run.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/intrinsics.h"
#include "engine/jsonpath.h"
#include "engine/policy.h"
#include "engine/run.h"
#include "engine/store.h"
#include "engine/store_asl.h"
#include "engine/store_serve.h"
#include "tasks/task.h"

#define STEPS_PER_TURN 512          /* state transitions per loop turn before yielding */
#define MAX_WAIT_SECS  2147483647LL /* AWS: "Wait state delay is too long" beyond this */

typedef enum {
    PH_ENTER = 0, /* about to enter state `cur` with `input` */
    PH_WAITING,   /* an attempt, a timer or a block is in progress */
    PH_RESUME,    /* the async part ended: `res` or the error fields hold the outcome */
    PH_RETRY,     /* a retry delay ended: run the state's work again */
    PH_SLOT,      /* resumed: TaskScheduled is recorded; wait for a slot and start */
    PH_DONE,      /* the frame ended */
} phase_t;

typedef struct frame_s frame_t;
typedef struct block_s block_t;

struct frame_s {
    wr_asl_run_t *run;
    const wr_asl_machine_t *m;
    frame_t *scope; /* the frame whose variables are visible next (outer scope), or NULL */
    block_t *block; /* the block this frame is a child of, or NULL for the top frame */
    size_t index;   /* branch / item index in the block */
    json_t *vars;   /* this scope's variables (object); owned */
    size_t cur;     /* current state */
    phase_t phase;
    json_t *input;     /* raw input of the current state; owned */
    json_t *eff;       /* effective input (after InputPath/Parameters); owned */
    json_t *res;       /* the async result when PH_RESUME succeeded; owned */
    bool failed;       /* the async part / the state failed */
    char *err_name;    /* NULL: no error name (a Fail state without Error) */
    char *err_cause;   /* NULL: no cause */
    int *retry_counts; /* per retrier of the current state */
    int retry_total;   /* $$.State.RetryCount */
    char entered[32];  /* $$.State.EnteredTime */
    uv_timer_t timer;  /* Wait and retry delays */
    uv_timer_t tmo;    /* task timeout */
    wr_task_attempt_t *ta;
    wr_slot_wait_t slot;
    bool has_slot;
    bool timed_out;
    int attempts; /* attempts of the current state visit */
    int64_t timeout_ms;
    block_t *child; /* the running Parallel/Map block */
    bool queued;
    frame_t *qnext;
    bool aborted;
    bool done;         /* ended (successfully unless `failed`) */
    json_t *output;    /* the frame's output when it ended successfully; owned */
    frame_t *all_next; /* every frame of the run, for teardown */
    /* Durability and task tokens. */
    char *key;          /* place in the execution: "" for the top frame, "B.I" for item or
                           branch I of the B-th block its owner started ("1.4/2.0" nested);
                           names the frame in every history event it records */
    int nblocks;        /* blocks (Parallel/Map) this frame started: numbers the next one */
    int64_t entered_ms; /* when the current state was entered */
    int64_t started_ms; /* when the current attempt started */
    char *task_token;   /* the current attempt's task token (waitForTaskToken), or NULL */
    bool token_wait;    /* the handler ended (TaskSubmitted): waiting for the token result */
    bool tok_pending;   /* a token result arrived while the handler still ran */
    bool tok_failed;    /* ... and it was a failure */
    json_t *tok_output; /* ... its output; owned */
    char *tok_error, *tok_cause;
    uv_timer_t hb; /* HeartbeatSeconds of a waitForTaskToken task */
    int64_t hb_ms; /* 0: none */
    bool hb_timed_out;
    bool counted;        /* its end is counted in its block */
    bool replay_entered; /* resumed: StateEntered is in the history already */
    bool replay_caught;  /* resumed: StateCaught is in the history already */
    int replay;          /* resume: where the history left the frame (rp_t) */
    int pid;             /* resume: the process group of the attempt in flight */
    int64_t retry_at;    /* resume: when a scheduled retry runs */
};

struct block_s {
    frame_t *owner;
    bool is_map;
    size_t n;
    size_t next_start;
    size_t running, n_done, n_failed;
    int seq;          /* the owner's block number (frame keys) */
    size_t max_conc;  /* 0: unlimited */
    double tol_count; /* tolerated failures; < 0: none */
    double tol_pct;   /* tolerated percentage; < 0: none */
    json_t *items;    /* Map: the items; owned */
    bool prepared;    /* Map: items already went through ItemSelector (ItemBatcher) */
    bool isolated;    /* Distributed Map: iterations cannot read outer variables */
    json_t *results;  /* the outputs, in order; owned */
    frame_t **children;
    bool ended;
};

struct wr_asl_run_s {
    wr_engine_t *eng;
    const wr_asl_t *asl;
    char id[128];
    char *name; /* the execution's name: the client's, or the id */
    char *trigger;
    char *arn;
    char start_iso[32];
    int64_t start_ms;
    json_t *input;
    frame_t *top;
    frame_t *frames; /* all frames */
    frame_t *qhead, *qtail;
    bool pumping;
    bool batching; /* a group-commit batch is open (see pump) */
    uv_timer_t kick;
    uv_timer_t finish_timer;
    uv_timer_t exec_timer; /* the state machine's TimeoutSeconds */
    int in_flight;         /* attempts started and not yet done */
    bool finished, aborting, timed_out, closing, store_failed;
    bool interrupting; /* shutting down: nothing new starts, the execution does not end */
    bool stopped;      /* StopExecution: error/cause are the caller's */
    int pending_closes;
    char *status;
    json_t *output;
    char *error, *cause;
    char *abort_why;
    wr_asl_run_done_cb cb;
    void *data;
};

static void pump(wr_asl_run_t *run);
static void batch_flush(wr_asl_run_t *run, bool reopen);
static void frame_end(frame_t *f);
static void maybe_finish(wr_asl_run_t *run);
static void frame_abort(frame_t *f);

/* ==== Small helpers ==== */

static const wr_asl_state_t *cur_state(const frame_t *f)
{
    return &f->m->states[f->cur];
}

static void set_json(json_t **slot, json_t *v)
{
    json_decref(*slot);
    *slot = v;
}

static void clear_error(frame_t *f)
{
    free(f->err_name);
    free(f->err_cause);
    f->err_name = f->err_cause = NULL;
    f->failed = false;
}

/* Marks the current state failed with `name` and a cause; returns -1. */
WR_PRINTF(3, 4) static int fail_state(frame_t *f, const char *name, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = wr_xvasprintf(fmt, ap);
    va_end(ap);
    clear_error(f);
    f->failed = true;
    f->err_name = name ? wr_xstrdup(name) : NULL;
    f->err_cause = wr_xasprintf("An error occurred while executing the state '%s'. %s",
                                cur_state(f)->name, msg);
    free(msg);
    return -1;
}

static size_t json_size(const json_t *v)
{
    return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void enqueue(frame_t *f)
{
    wr_asl_run_t *run = f->run;

    if (f->queued || f->done)
        return;
    f->queued = true;
    f->qnext = NULL;
    if (run->qtail)
        run->qtail->qnext = f;
    else
        run->qhead = f;
    run->qtail = f;
}

/* ==== History ==== */

static void store_failed(wr_asl_run_t *run, const wr_err_t *err)
{
    fprintf(stderr, "weir: %s\n", err->msg);
    if (!run->store_failed) {
        run->store_failed = true;
        free(run->error);
        free(run->cause);
        run->error = wr_xstrdup("Weir.StoreError");
        run->cause = wr_xstrdup(err->msg);
        wr_asl_run_abort(run, "the database could not be written");
    }
}

/* Appends one history event; `detail` (an object) is stolen. */
static void event(wr_asl_run_t *run, const char *type, const char *state, int attempt,
                  json_t *detail)
{
    char *text = detail ? wr_json_dumps(detail) : NULL;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!run->store_failed &&
        wr_store_event_append(run->eng->store, run->id, type, state, attempt, text, &err) != 0)
        store_failed(run, &err);
    free(text);
    json_decref(detail);
}

static json_t *detail_of(const frame_t *f, const char *key, json_t *value)
{
    json_t *d = json_object();
    json_object_set_new(d, "name", json_string(cur_state(f)->name));
    if (f->key[0] != '\0')
        json_object_set_new(d, "frame", json_string(f->key));
    if (f->block != NULL)
        json_object_set_new(d, f->block->is_map ? "iteration" : "branch",
                            json_integer((json_int_t)f->index));
    if (key != NULL)
        json_object_set(d, key, value ? value : json_null());
    return d;
}

/* A frame's event: `detail` (stolen) gets the frame's key. */
static void fevent(frame_t *f, const char *type, int attempt, json_t *detail)
{
    if (f->key[0] != '\0')
        json_object_set_new(detail, "frame", json_string(f->key));
    event(f->run, type, cur_state(f)->name, attempt, detail);
}

static void state_event(frame_t *f, const char *suffix, const char *key, json_t *value)
{
    char type[64];
    snprintf(type, sizeof(type), "%s%s", wr_asl_type_name(cur_state(f)->type), suffix);
    event(f->run, type, cur_state(f)->name, f->attempts, detail_of(f, key, value));
}

/* ==== Paths, templates and intrinsics ==== */

typedef struct {
    frame_t *f;
    json_t *doc;      /* what `$` means here (borrowed) */
    json_t *map_item; /* {"Index","Value"} while evaluating a Map ItemSelector, or NULL */
} ectx_t;

static json_t *var_lookup(frame_t *f, const char *name)
{
    for (frame_t *s = f; s != NULL; s = s->scope) {
        json_t *v = json_object_get(s->vars, name);
        if (v != NULL)
            return v;
    }
    return NULL;
}

static json_t *context_object(ectx_t *c)
{
    frame_t *f = c->f;
    wr_asl_run_t *run = f->run;
    json_t *ctx = json_object(), *ex = json_object(), *sm = json_object(), *st = json_object();

    json_object_set_new(ex, "Id", json_string(run->arn));
    json_object_set(ex, "Input", run->input);
    json_object_set_new(ex, "Name", json_string(run->name));
    json_object_set_new(ex, "RoleArn",
                        json_string("arn:aws:iam::123456789012:role/weir-local-execution"));
    json_object_set_new(ex, "StartTime", json_string(run->start_iso));
    json_object_set_new(ex, "RedriveCount", json_integer(0));
    json_object_set_new(ctx, "Execution", ex);
    json_object_set_new(sm, "Id", json_string(run->arn));
    json_object_set_new(sm, "Name", json_string(run->asl->name));
    json_object_set_new(ctx, "StateMachine", sm);
    json_object_set_new(st, "Name", json_string(cur_state(f)->name));
    json_object_set_new(st, "EnteredTime", json_string(f->entered));
    json_object_set_new(st, "RetryCount", json_integer(f->retry_total));
    json_object_set_new(ctx, "State", st);
    if (f->task_token != NULL)
        json_object_set_new(ctx, "Task", json_pack("{s:s}", "Token", f->task_token));
    if (c->map_item != NULL) {
        json_t *map = json_object();
        json_object_set(map, "Item", c->map_item);
        json_object_set_new(ctx, "Map", map);
    }
    return ctx;
}

/* Evaluates a parsed path. On failure sets the state's error (States.Runtime). */
static int eval_path(ectx_t *c, const wr_jsonpath_t *p, json_t **out)
{
    json_t *root = NULL, *owned = NULL;
    wr_err_t err;
    int rc;

    memset(&err, 0, sizeof(err));
    switch (wr_jsonpath_root(p)) {
    case WR_JP_ROOT_INPUT:
        root = c->doc;
        break;
    case WR_JP_ROOT_CONTEXT:
        root = owned = context_object(c);
        break;
    case WR_JP_ROOT_VAR:
        root = var_lookup(c->f, wr_jsonpath_var(p));
        if (root == NULL)
            return fail_state(c->f, "States.Runtime",
                              "Invalid path '%s': variable '%s' is not "
                              "defined",
                              wr_jsonpath_text(p), wr_jsonpath_var(p));
        break;
    }
    rc = wr_jsonpath_eval(p, root, out, &err);
    json_decref(owned);
    if (rc != 0)
        return fail_state(c->f, "States.Runtime", "Invalid path '%s': no results for path",
                          wr_jsonpath_text(p));
    return 0;
}

static int resolve_cb(void *arg, const wr_jsonpath_t *p, json_t **out, const char **error,
                      wr_err_t *err)
{
    ectx_t *c = arg;
    (void)err;
    *error = "States.Runtime";
    return eval_path(c, p, out);
}

/* A `.$` value (or ErrorPath...): a path or an intrinsic call. */
static int eval_expr(ectx_t *c, const char *text, json_t **out)
{
    wr_err_t err;
    int rc;

    memset(&err, 0, sizeof(err));
    if (wr_intrinsic_is_call(text)) {
        wr_intrinsic_t *fn = NULL;
        const char *ename = "States.IntrinsicFailure";
        if (wr_intrinsic_parse(text, &fn, &err) != 0)
            return fail_state(c->f, "States.IntrinsicFailure", "%s", err.msg);
        clear_error(c->f);
        rc = wr_intrinsic_eval(fn, resolve_cb, c, out, &ename, &err);
        wr_intrinsic_free(fn);
        if (rc != 0 && !c->f->failed)
            return fail_state(c->f, ename, "%s", err.msg);
        return rc ? -1 : 0;
    } else {
        wr_jsonpath_t *p = NULL;
        if (wr_jsonpath_parse(text, &p, &err) != 0)
            return fail_state(c->f, "States.Runtime", "%s", err.msg);
        rc = eval_path(c, p, out);
        wr_jsonpath_free(p);
        return rc;
    }
}

/* Builds a payload template (Parameters, ResultSelector, ItemSelector, Assign). */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int eval_template(ectx_t *c, const json_t *tpl, json_t **out, int depth)
{
    const char *k;
    json_t *x;
    size_t i;

    if (depth > 128)
        return fail_state(c->f, "States.Runtime", "%s", "payload template nested too deeply");
    if (json_is_object(tpl)) {
        json_t *o = json_object();
        json_object_foreach((json_t *)tpl, k, x)
        {
            size_t kl = strlen(k);
            json_t *v = NULL;
            int rc;
            if (kl > 2 && strcmp(k + kl - 2, ".$") == 0 && json_is_string(x)) {
                char *key = wr_xstrndup(k, kl - 2);
                rc = eval_expr(c, json_string_value(x), &v);
                if (rc == 0)
                    json_object_set_new(o, key, v);
                free(key);
            } else {
                rc = eval_template(c, x, &v, depth + 1);
                if (rc == 0)
                    json_object_set_new(o, k, v);
            }
            if (rc != 0) {
                json_decref(o);
                return -1;
            }
        }
        *out = o;
        return 0;
    }
    if (json_is_array(tpl)) {
        json_t *a = json_array();
        json_array_foreach((json_t *)tpl, i, x)
        {
            json_t *v = NULL;
            if (eval_template(c, x, &v, depth + 1) != 0) {
                json_decref(a);
                return -1;
            }
            json_array_append_new(a, v);
        }
        *out = a;
        return 0;
    }
    *out = json_deep_copy(tpl);
    return 0;
}

/* InputPath / OutputPath: absent = `$`, null = {}. */
static int apply_io_path(frame_t *f, const char *field, json_t *doc, json_t **out)
{
    const json_t *pv = json_object_get(cur_state(f)->def, field);
    ectx_t c = {f, doc, NULL};

    if (pv == NULL) {
        *out = json_incref(doc);
        return 0;
    }
    if (json_is_null(pv)) {
        *out = json_object();
        return 0;
    }
    return eval_expr(&c, json_string_value(pv), out);
}

/* InputPath, then Parameters: the effective input. */
static int effective_input(frame_t *f, json_t **out)
{
    const json_t *params = json_object_get(cur_state(f)->def, "Parameters");
    json_t *in = NULL;
    ectx_t c = {f, NULL, NULL};
    int rc;

    if (apply_io_path(f, "InputPath", f->input, &in) != 0)
        return -1;
    if (params == NULL || cur_state(f)->type == WR_ASL_MAP) {
        *out = in;
        return 0;
    }
    c.doc = in;
    rc = eval_template(&c, params, out, 0);
    json_decref(in);
    return rc;
}

/* Evaluates an Assign block against `doc` with the variables as they are now. */
static int eval_assign(frame_t *f, const json_t *assign, json_t *doc, json_t **out)
{
    ectx_t c = {f, doc, NULL};

    *out = NULL;
    if (assign == NULL)
        return 0;
    return eval_template(&c, assign, out, 0);
}

static void apply_assign(frame_t *f, json_t *values)
{
    const char *k;
    json_t *v;

    if (values == NULL)
        return;
    json_object_foreach(values, k, v) json_object_set(f->vars, k, v);
    json_decref(values);
}

/* ==== Transitions ==== */

/* Moves the frame to state `next` with `output` (stolen) as its input, or ends it. */
static void transition(frame_t *f, size_t next, json_t *output, bool end)
{
    if (end || next == WR_ASL_NONE) {
        set_json(&f->output, output);
        set_json(&f->input, NULL);
        set_json(&f->eff, NULL);
        frame_end(f);
        return;
    }
    set_json(&f->input, output);
    set_json(&f->eff, NULL);
    f->cur = next;
    f->phase = PH_ENTER;
    enqueue(f);
}

static void handle_failure(frame_t *f);

/* Leaves the current state with `out` (stolen) for state `next` (or the frame's end):
 * applies `assigned` (stolen; may be NULL) and records StateExited with what a replay needs
 * to continue from here: the variables assigned and the next state. */
static void exit_state(frame_t *f, json_t *out, json_t *assigned, size_t next, bool end)
{
    char type[64];
    json_t *d = detail_of(f, "output", out);

    if (assigned != NULL)
        json_object_set(d, "assign", assigned);
    if (!end && next != WR_ASL_NONE)
        json_object_set_new(d, "next", json_string(f->m->states[next].name));
    snprintf(type, sizeof(type), "%sStateExited", wr_asl_type_name(cur_state(f)->type));
    apply_assign(f, assigned);
    event(f->run, type, cur_state(f)->name, f->attempts, d);
    transition(f, next, out, end);
}

/* The state produced `result` (stolen): ResultPath, OutputPath, Assign, exit, next. */
static void finish_state(frame_t *f, json_t *result)
{
    const wr_asl_state_t *st = cur_state(f);
    const json_t *rp = json_object_get(st->def, "ResultPath");
    json_t *assigned = NULL, *combined = NULL, *out = NULL;
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (json_size(result) > WR_ASL_PAYLOAD_MAX) {
        json_decref(result);
        fail_state(f, "States.DataLimitExceeded",
                   "The state/task '%s' returned a result with a size exceeding the maximum "
                   "number of bytes service limit.",
                   st->name);
        frame_end(f);
        return;
    }
    if (eval_assign(f, json_object_get(st->def, "Assign"), result, &assigned) != 0) {
        json_decref(result);
        frame_end(f);
        return;
    }
    if (rp == NULL) {
        combined = result;
    } else if (json_is_null(rp)) {
        combined = json_incref(f->input);
        json_decref(result);
    } else {
        wr_jsonpath_t *p = NULL;
        if (wr_jsonpath_parse(json_string_value(rp), &p, &err) != 0) {
            json_decref(result);
            json_decref(assigned);
            fail_state(f, "States.Runtime", "%s", err.msg);
            frame_end(f);
            return;
        }
        combined = json_deep_copy(f->input);
        if (wr_jsonpath_set(p, &combined, result, &err) != 0) {
            wr_jsonpath_free(p);
            json_decref(combined);
            json_decref(assigned);
            fail_state(f, "States.ResultPathMatchFailure", "%s", err.msg);
            handle_failure(f);
            return;
        }
        wr_jsonpath_free(p);
    }
    if (apply_io_path(f, "OutputPath", combined, &out) != 0) {
        json_decref(combined);
        json_decref(assigned);
        frame_end(f);
        return;
    }
    json_decref(combined);
    if (json_size(out) > WR_ASL_PAYLOAD_MAX) {
        json_decref(out);
        json_decref(assigned);
        fail_state(f, "States.DataLimitExceeded",
                   "The state/task '%s' returned a result with a size exceeding the maximum "
                   "number of bytes service limit.",
                   st->name);
        frame_end(f);
        return;
    }
    exit_state(f, out, assigned, st->next, st->end);
}

static void on_retry_timer(uv_timer_t *t)
{
    frame_t *f = wr_container_of(t, frame_t, timer);
    enqueue(f);
    pump(f->run);
}

/* The state failed (f->err_name / err_cause): Retry, then Catch, else the frame fails.
 * Errors from the data flow itself (States.Runtime...) are never retried or caught. */
static void handle_failure(frame_t *f)
{
    const wr_asl_state_t *st = cur_state(f);
    const char *name = f->err_name ? f->err_name : "";
    int r = -1, c = -1;

    if (f->run->aborting || f->aborted) {
        frame_end(f);
        return;
    }
    if (strcmp(name, "States.DataLimitExceeded") != 0) {
        r = wr_policy_find_retrier(st->retry, st->n_retry, name);
        c = wr_policy_find_catcher(st->catchers, st->n_catch, name);
    }
    if (r >= 0 && f->retry_counts[r] < st->retry[r].max_attempts) {
        uint32_t rnd = 0;
        int64_t delay;
        f->retry_counts[r]++;
        f->retry_total++;
        uv_random(NULL, NULL, &rnd, sizeof(rnd), 0, NULL);
        delay =
            wr_policy_retry_delay(&st->retry[r], f->retry_counts[r], (double)rnd / 4294967296.0);
        fevent(f, "StateRetryScheduled", f->attempts,
               json_pack("{s:s?, s:s?, s:I, s:i, s:i}", "error", f->err_name, "cause", f->err_cause,
                         "delay_ms", (json_int_t)delay, "retry", f->retry_total, "retrier", r));
        if (!f->run->eng->quiet)
            fprintf(stderr, "  %-24s retry %d in %.3gs (%s)\n", st->name, f->retry_total,
                    (double)delay / 1000.0, name);
        f->phase = PH_RETRY;
        uv_timer_start(&f->timer, on_retry_timer, (uint64_t)delay, 0);
        return;
    }
    if (c >= 0) {
        const json_t *cdef = st->catch_defs[c];
        const json_t *rp = json_object_get(cdef, "ResultPath");
        json_t *eo = json_object(), *combined = NULL, *assigned = NULL;
        wr_err_t err;
        memset(&err, 0, sizeof(err));
        json_object_set_new(eo, "Error", f->err_name ? json_string(f->err_name) : json_null());
        if (f->err_cause != NULL)
            json_object_set_new(eo, "Cause", json_string(f->err_cause));
        if (!f->replay_caught)
            fevent(f, "StateCaught", f->attempts,
                   json_pack("{s:s?, s:s?, s:s}", "error", f->err_name, "cause", f->err_cause,
                             "next", st->catchers[c].next));
        f->replay_caught = false;
        if (eval_assign(f, json_object_get(cdef, "Assign"), eo, &assigned) != 0) {
            json_decref(eo);
            frame_end(f);
            return;
        }
        if (rp == NULL || (json_is_string(rp) && strcmp(json_string_value(rp), "$") == 0)) {
            combined = eo;
        } else if (json_is_null(rp)) {
            combined = json_incref(f->input);
            json_decref(eo);
        } else {
            wr_jsonpath_t *p = NULL;
            combined = json_deep_copy(f->input);
            if (wr_jsonpath_parse(json_string_value(rp), &p, &err) != 0 ||
                wr_jsonpath_set(p, &combined, eo, &err) != 0) {
                if (p == NULL)
                    json_decref(eo);
                wr_jsonpath_free(p);
                json_decref(combined);
                json_decref(assigned);
                fail_state(f, "States.ResultPathMatchFailure", "%s", err.msg);
                frame_end(f);
                return;
            }
            wr_jsonpath_free(p);
        }
        clear_error(f);
        exit_state(f, combined, assigned, st->catchers[c].next_index, false);
        return;
    }
    frame_end(f);
}

/* ==== Choice rules ==== */

/* StringMatches: `*` matches any run of characters, `\*` a star, `\\` a backslash. */
static bool glob_match(const char *pat, const char *s)
{
    const char *star_p = NULL, *star_s = NULL;

    for (;;) {
        if (*pat == '*') {
            star_p = ++pat;
            star_s = s;
            continue;
        }
        if (*s == '\0') {
            if (*pat == '\0')
                return true;
        } else {
            char pc = *pat;
            const char *adv = pat + 1;
            if (pc == '\\' && (pat[1] == '*' || pat[1] == '\\')) {
                pc = pat[1];
                adv = pat + 2;
            }
            if (pc != '\0' && pc == *s) {
                pat = adv;
                s++;
                continue;
            }
        }
        if (star_p == NULL || *star_s == '\0')
            return false;
        pat = star_p;
        s = ++star_s;
    }
}

typedef enum { CMP_EQ = 0, CMP_LT, CMP_GT, CMP_LE, CMP_GE } cmp_t;

static bool cmp_result(int c, cmp_t op)
{
    switch (op) {
    case CMP_EQ:
        return c == 0;
    case CMP_LT:
        return c < 0;
    case CMP_GT:
        return c > 0;
    case CMP_LE:
        return c <= 0;
    default:
        return c >= 0;
    }
}

static bool parse_ts(const json_t *v, int64_t *s, int32_t *ns)
{
    return json_is_string(v) && wr_asl_parse_timestamp(json_string_value(v), s, ns);
}

/* Compares `v` with `operand` for an operator family ('S', 'N', 'B', 'T'). */
static bool compare_family(char fam, cmp_t op, const json_t *v, const json_t *operand)
{
    switch (fam) {
    case 'S':
        if (!json_is_string(v) || !json_is_string(operand))
            return false;
        return cmp_result(strcmp(json_string_value(v), json_string_value(operand)), op);
    case 'N': {
        double a, b;
        if (!json_is_number(v) || !json_is_number(operand))
            return false;
        a = json_number_value(v);
        b = json_number_value(operand);
        return cmp_result(a < b ? -1 : a > b ? 1 : 0, op);
    }
    case 'B':
        if (!json_is_boolean(v) || !json_is_boolean(operand))
            return false;
        return json_is_true(v) == json_is_true(operand);
    case 'T': {
        int64_t sa, sb;
        int32_t na, nb;
        if (!parse_ts(v, &sa, &na) || !parse_ts(operand, &sb, &nb))
            return false;
        return cmp_result(sa != sb ? (sa < sb ? -1 : 1) : (na < nb ? -1 : na > nb ? 1 : 0), op);
    }
    }
    return false;
}

static const struct {
    const char *name;
    char fam;
    cmp_t op;
    bool path;
} rule_ops[] = {
    {"StringEquals", 'S', CMP_EQ, false},
    {"StringLessThan", 'S', CMP_LT, false},
    {"StringGreaterThan", 'S', CMP_GT, false},
    {"StringLessThanEquals", 'S', CMP_LE, false},
    {"StringGreaterThanEquals", 'S', CMP_GE, false},
    {"StringEqualsPath", 'S', CMP_EQ, true},
    {"StringLessThanPath", 'S', CMP_LT, true},
    {"StringGreaterThanPath", 'S', CMP_GT, true},
    {"StringLessThanEqualsPath", 'S', CMP_LE, true},
    {"StringGreaterThanEqualsPath", 'S', CMP_GE, true},
    {"NumericEquals", 'N', CMP_EQ, false},
    {"NumericLessThan", 'N', CMP_LT, false},
    {"NumericGreaterThan", 'N', CMP_GT, false},
    {"NumericLessThanEquals", 'N', CMP_LE, false},
    {"NumericGreaterThanEquals", 'N', CMP_GE, false},
    {"NumericEqualsPath", 'N', CMP_EQ, true},
    {"NumericLessThanPath", 'N', CMP_LT, true},
    {"NumericGreaterThanPath", 'N', CMP_GT, true},
    {"NumericLessThanEqualsPath", 'N', CMP_LE, true},
    {"NumericGreaterThanEqualsPath", 'N', CMP_GE, true},
    {"BooleanEquals", 'B', CMP_EQ, false},
    {"BooleanEqualsPath", 'B', CMP_EQ, true},
    {"TimestampEquals", 'T', CMP_EQ, false},
    {"TimestampLessThan", 'T', CMP_LT, false},
    {"TimestampGreaterThan", 'T', CMP_GT, false},
    {"TimestampLessThanEquals", 'T', CMP_LE, false},
    {"TimestampGreaterThanEquals", 'T', CMP_GE, false},
    {"TimestampEqualsPath", 'T', CMP_EQ, true},
    {"TimestampLessThanPath", 'T', CMP_LT, true},
    {"TimestampGreaterThanPath", 'T', CMP_GT, true},
    {"TimestampLessThanEqualsPath", 'T', CMP_LE, true},
    {"TimestampGreaterThanEqualsPath", 'T', CMP_GE, true},
};

/* Evaluates a Choice rule against `doc`; returns -1 (state error set) on a bad path. */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int eval_rule(frame_t *f, const json_t *rule, json_t *doc, bool *match, int depth)
{
    ectx_t c = {f, doc, NULL};
    const json_t *x;
    const char *var;
    json_t *v = NULL;
    size_t i;

    if (depth > 128)
        return fail_state(f, "States.Runtime", "%s", "Choice rules nested too deeply");
    if ((x = json_object_get(rule, "And")) != NULL || (x = json_object_get(rule, "Or")) != NULL) {
        bool is_and = json_object_get(rule, "And") != NULL;
        const json_t *r;
        *match = is_and;
        json_array_foreach((json_t *)x, i, r)
        {
            bool m = false;
            if (eval_rule(f, r, doc, &m, depth + 1) != 0)
                return -1;
            if (is_and && !m) {
                *match = false;
                return 0;
            }
            if (!is_and && m) {
                *match = true;
                return 0;
            }
        }
        return 0;
    }
    if ((x = json_object_get(rule, "Not")) != NULL) {
        bool m = false;
        if (eval_rule(f, x, doc, &m, depth + 1) != 0)
            return -1;
        *match = !m;
        return 0;
    }
    var = json_string_value(json_object_get(rule, "Variable"));
    if (var == NULL)
        return fail_state(f, "States.Runtime", "%s", "a Choice rule has no Variable");
    if ((x = json_object_get(rule, "IsPresent")) != NULL) {
        wr_jsonpath_t *p = NULL;
        wr_err_t err;
        json_t *root;
        bool present = false;
        if (wr_jsonpath_parse(var, &p, &err) != 0)
            return fail_state(f, "States.Runtime", "%s", err.msg);
        root = wr_jsonpath_root(p) == WR_JP_ROOT_VAR ? var_lookup(f, wr_jsonpath_var(p)) : doc;
        if (wr_jsonpath_root(p) == WR_JP_ROOT_CONTEXT) {
            present = eval_path(&c, p, &v) == 0;
            clear_error(f);
        } else if (root != NULL && wr_jsonpath_eval(p, root, &v, &err) == 0) {
            present = !(json_is_array(v) && !wr_jsonpath_is_definite(p) && json_array_size(v) == 0);
        }
        json_decref(v);
        wr_jsonpath_free(p);
        *match = present == json_is_true(x);
        return 0;
    }
    if (eval_expr(&c, var, &v) != 0)
        return -1;
    *match = false;
    if ((x = json_object_get(rule, "IsNull")) != NULL) {
        *match = json_is_null(v) == json_is_true(x);
    } else if ((x = json_object_get(rule, "IsNumeric")) != NULL) {
        *match = json_is_number(v) == json_is_true(x);
    } else if ((x = json_object_get(rule, "IsString")) != NULL) {
        *match = json_is_string(v) == json_is_true(x);
    } else if ((x = json_object_get(rule, "IsBoolean")) != NULL) {
        *match = json_is_boolean(v) == json_is_true(x);
    } else if ((x = json_object_get(rule, "IsTimestamp")) != NULL) {
        int64_t s;
        int32_t ns;
        *match = parse_ts(v, &s, &ns) == json_is_true(x);
    } else if ((x = json_object_get(rule, "StringMatches")) != NULL) {
        *match = json_is_string(v) && json_is_string(x) &&
                 glob_match(json_string_value(x), json_string_value(v));
    } else {
        for (i = 0; i < WR_ARRAY_SIZE(rule_ops); i++) {
            json_t *operand;
            if ((x = json_object_get(rule, rule_ops[i].name)) == NULL)
                continue;
            if (rule_ops[i].path) {
                if (eval_expr(&c, json_string_value(x), &operand) != 0) {
                    json_decref(v);
                    return -1;
                }
            } else {
                operand = json_incref((json_t *)x);
            }
            *match = compare_family(rule_ops[i].fam, rule_ops[i].op, v, operand);
            json_decref(operand);
            break;
        }
    }
    json_decref(v);
    return 0;
}

/* ==== Simple states ==== */

static void do_pass(frame_t *f)
{
    const json_t *result = json_object_get(cur_state(f)->def, "Result");
    json_t *out = NULL;

    if (result != NULL) {
        json_t *in = NULL;
        /* InputPath still has to resolve, even though Result replaces it. */
        if (apply_io_path(f, "InputPath", f->input, &in) != 0) {
            handle_failure(f);
            return;
        }
        json_decref(in);
        out = json_deep_copy(result);
    } else if (effective_input(f, &out) != 0) {
        handle_failure(f);
        return;
    }
    finish_state(f, out);
}

static void do_choice(frame_t *f)
{
    const wr_asl_state_t *st = cur_state(f);
    const json_t *choices = json_object_get(st->def, "Choices");
    const json_t *assign = NULL;
    json_t *eff = NULL, *out = NULL, *assigned = NULL, *rule_assigned = NULL;
    size_t next = WR_ASL_NONE;

    if (apply_io_path(f, "InputPath", f->input, &eff) != 0) {
        handle_failure(f);
        return;
    }
    for (size_t i = 0; i < st->n_choices; i++) {
        const json_t *rule = json_array_get(choices, i);
        bool m = false;
        if (eval_rule(f, rule, eff, &m, 0) != 0) {
            json_decref(eff);
            handle_failure(f);
            return;
        }
        if (m) {
            next = st->choice_next[i];
            assign = json_object_get(rule, "Assign");
            break;
        }
    }
    if (next == WR_ASL_NONE) {
        if (st->default_next == WR_ASL_NONE) {
            json_decref(eff);
            fail_state(f, "States.NoChoiceMatched", "%s", "No Matches!");
            handle_failure(f);
            return;
        }
        next = st->default_next;
    }
    /* The state-level Assign applies whichever way the state goes; a matched rule's own
     * Assign is applied over it. */
    if (eval_assign(f, json_object_get(st->def, "Assign"), eff, &assigned) != 0 ||
        eval_assign(f, assign, eff, &rule_assigned) != 0 ||
        apply_io_path(f, "OutputPath", eff, &out) != 0) {
        json_decref(eff);
        json_decref(assigned);
        json_decref(rule_assigned);
        handle_failure(f);
        return;
    }
    if (rule_assigned != NULL) {
        if (assigned == NULL)
            assigned = json_object();
        json_object_update(assigned, rule_assigned);
        json_decref(rule_assigned);
    }
    json_decref(eff);
    exit_state(f, out, assigned, next, false);
}

static void do_succeed(frame_t *f)
{
    json_t *eff = NULL, *out = NULL;

    if (apply_io_path(f, "InputPath", f->input, &eff) != 0 ||
        apply_io_path(f, "OutputPath", eff, &out) != 0) {
        json_decref(eff);
        handle_failure(f);
        return;
    }
    json_decref(eff);
    exit_state(f, out, NULL, WR_ASL_NONE, true);
}

/* Error or Cause of a Fail state: a literal, or ErrorPath/CausePath (path or intrinsic). */
static int fail_field(frame_t *f, const char *lit, const char *path, char **out)
{
    const json_t *def = cur_state(f)->def;
    const json_t *l = json_object_get(def, lit), *p = json_object_get(def, path);
    ectx_t c = {f, f->input, NULL};
    json_t *v = NULL;

    *out = NULL;
    if (json_is_string(l)) {
        *out = wr_xstrdup(json_string_value(l));
        return 0;
    }
    if (!json_is_string(p))
        return 0;
    if (eval_expr(&c, json_string_value(p), &v) != 0)
        return -1;
    *out = json_is_string(v) ? wr_xstrdup(json_string_value(v)) : wr_json_dumps(v);
    json_decref(v);
    return 0;
}

static void do_fail(frame_t *f)
{
    char *error = NULL, *cause = NULL;

    if (fail_field(f, "Error", "ErrorPath", &error) != 0 ||
        fail_field(f, "Cause", "CausePath", &cause) != 0) {
        free(error);
        frame_end(f);
        return;
    }
    clear_error(f);
    f->failed = true;
    f->err_name = error;
    f->err_cause = cause;
    frame_end(f);
}

static void on_wait_timer(uv_timer_t *t)
{
    frame_t *f = wr_container_of(t, frame_t, timer);
    f->phase = PH_RESUME;
    enqueue(f);
    pump(f->run);
}

static bool int_value(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
        fabs(json_real_value(v)) < 9.0e15) {
        *out = (long long)json_real_value(v);
        return true;
    }
    return false;
}

static void do_wait(frame_t *f)
{
    const json_t *def = cur_state(f)->def;
    const json_t *x;
    ectx_t c = {f, NULL, NULL};
    json_t *eff = NULL, *v = NULL;
    int64_t delay_ms = 0;

    if (apply_io_path(f, "InputPath", f->input, &eff) != 0) {
        handle_failure(f);
        return;
    }
    c.doc = eff;
    set_json(&f->eff, eff);
    if ((x = json_object_get(def, "Seconds")) != NULL) {
        delay_ms = (int64_t)json_integer_value(x) * 1000;
        delay_ms -= wr_now_ms() - f->entered_ms; /* resumed: what is left of it */
        if (delay_ms < 0)
            delay_ms = 0;
    } else if ((x = json_object_get(def, "SecondsPath")) != NULL) {
        long long secs;
        if (eval_expr(&c, json_string_value(x), &v) != 0) {
            handle_failure(f);
            return;
        }
        if (!int_value(v, &secs) || secs < 0 || secs > MAX_WAIT_SECS) {
            json_decref(v);
            fail_state(f, "States.Runtime",
                       "The SecondsPath parameter does not reference a "
                       "valid non-negative integer value: %s",
                       json_string_value(x));
            handle_failure(f);
            return;
        }
        json_decref(v);
        delay_ms = secs * 1000 - (wr_now_ms() - f->entered_ms);
        if (delay_ms < 0)
            delay_ms = 0;
    } else {
        const char *ts;
        int64_t s, now = wr_now_ms();
        int32_t ns;
        if ((x = json_object_get(def, "Timestamp")) != NULL) {
            v = json_incref((json_t *)x);
        } else {
            x = json_object_get(def, "TimestampPath");
            if (eval_expr(&c, json_string_value(x), &v) != 0) {
                handle_failure(f);
                return;
            }
        }
        ts = json_string_value(v);
        if (ts == NULL || !wr_asl_parse_timestamp(ts, &s, &ns)) {
            json_decref(v);
            fail_state(f, "States.Runtime", "%s",
                       "The TimestampPath parameter does not "
                       "reference a valid ISO-8601 extended offset date-time format string");
            handle_failure(f);
            return;
        }
        json_decref(v);
        delay_ms = s * 1000 + ns / 1000000 - now;
        if (delay_ms < 0)
            delay_ms = 0;
        if (delay_ms / 1000 > MAX_WAIT_SECS) {
            fail_state(f, "States.Runtime", "%s", "Wait state delay is too long.");
            handle_failure(f);
            return;
        }
    }
    f->phase = PH_WAITING;
    uv_timer_start(&f->timer, on_wait_timer, (uint64_t)delay_ms, 0);
}

/* ==== Task states ==== */

static void on_attempt_done(wr_task_attempt_t *ta, wr_task_result_t *res);

static void stop_task_timers(frame_t *f)
{
    uv_timer_stop(&f->tmo);
    uv_timer_stop(&f->hb);
}

/* A waitForTaskToken attempt whose handler has ended timed out waiting for its token. */
static void token_timed_out(frame_t *f, const char *error, const char *cause)
{
    f->token_wait = false;
    stop_task_timers(f);
    clear_error(f);
    f->failed = true;
    f->err_name = wr_xstrdup(error);
    f->err_cause = wr_xstrdup(cause);
    fevent(f, "TaskTimedOut", f->attempts,
           json_pack("{s:s, s:s}", "error", f->err_name, "cause", f->err_cause));
    f->phase = PH_RESUME;
    enqueue(f);
    pump(f->run);
}

static void on_task_timeout(uv_timer_t *t)
{
    frame_t *f = wr_container_of(t, frame_t, tmo);
    if (f->ta != NULL && !f->ta->canceled) {
        f->timed_out = true;
        f->ta->canceled = true;
        f->ta->type->cancel(f->ta);
    } else if (f->token_wait) {
        token_timed_out(f, "States.Timeout", "The task timed out waiting for its task token.");
    }
}

static void on_heartbeat_timeout(uv_timer_t *t)
{
    frame_t *f = wr_container_of(t, frame_t, hb);
    if (f->ta != NULL && !f->ta->canceled) {
        f->hb_timed_out = true;
        f->ta->canceled = true;
        f->ta->type->cancel(f->ta);
    } else if (f->token_wait) {
        token_timed_out(f, "States.HeartbeatTimeout",
                        "No heartbeat or task token result arrived within HeartbeatSeconds.");
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

/* TimeoutSeconds / HeartbeatSeconds, literal or by path; 0 = none. A local handler cannot
 * send heartbeats, so HeartbeatSeconds bounds the attempt like a timeout; a waitForTaskToken
 * task gets heartbeats (SendTaskHeartbeat), so there it is a timer of its own (*hb_ms). */
static int task_timeout(frame_t *f, int64_t *out_ms, int64_t *hb_ms)
{
    static const char *const fields[] = {"TimeoutSeconds", "HeartbeatSeconds"};
    const json_t *def = cur_state(f)->def;
    json_t *in = NULL;
    int64_t best = 0;

    *hb_ms = 0;

    for (size_t i = 0; i < WR_ARRAY_SIZE(fields); i++) {
        char path_field[40];
        const json_t *x = json_object_get(def, fields[i]), *p;
        long long secs = 0;
        snprintf(path_field, sizeof(path_field), "%sPath", fields[i]);
        p = json_object_get(def, path_field);
        if (x != NULL) {
            secs = json_integer_value(x);
        } else if (p != NULL) {
            json_t *v = NULL;
            ectx_t c = {f, NULL, NULL};
            if (in == NULL && apply_io_path(f, "InputPath", f->input, &in) != 0)
                return -1;
            c.doc = in;
            if (eval_expr(&c, json_string_value(p), &v) != 0) {
                json_decref(in);
                return -1;
            }
            if (!int_value(v, &secs) || secs <= 0) {
                json_decref(v);
                json_decref(in);
                return fail_state(f, "States.Runtime",
                                  "%s must reference a positive integer: "
                                  "%s",
                                  path_field, json_string_value(p));
            }
            json_decref(v);
        }
        if (i == 1 && cur_state(f)->wait_token) {
            *hb_ms = secs > 0 ? secs * 1000 : 0;
            continue;
        }
        if (secs > 0 && (best == 0 || secs * 1000 < best))
            best = secs * 1000;
    }
    json_decref(in);
    *out_ms = best;
    return 0;
}

static char *function_name(const char *fn)
{
    const char *p = strstr(fn, ":function:");
    const char *colon;

    if (p != NULL)
        fn = p + 10;
    colon = strchr(fn, ':');
    return colon ? wr_xstrndup(fn, (size_t)(colon - fn)) : wr_xstrdup(fn);
}

/* An AWS service integration's Parameters, in the field names of the weir task type that
 * stands in for it (DESIGN.md §3.2): JobName -> job_name, TopicArn -> topic... Fields
 * already written in weir's own names are left as they are. */
static void aws_fields(const char *res, json_t *conf)
{
    static const struct {
        const char *aws, *weir;
    } names[] = {
        {"JobName", "job_name"},
        {"Arguments", "arguments"},
        {"WorkerType", "worker_type"},
        {"NumberOfWorkers", "number_of_workers"},
        {"Name", "crawler"},
        {"TopicArn", "topic"},
        {"Subject", "subject"},
        {"Message", "message"},
        {"MessageAttributes", "attributes"},
        {"Sql", "sql"},
        {"Database", "database"},
    };
    const char *p;

    if (res == NULL || strncmp(res, "weir:", 5) == 0)
        return;
    for (size_t i = 0; i < WR_ARRAY_SIZE(names); i++) {
        json_t *v = json_object_get(conf, names[i].aws);
        if (v == NULL || json_object_get(conf, names[i].weir) != NULL)
            continue;
        if (strcmp(names[i].weir, "message") == 0 && !json_is_string(v)) {
            char *t = wr_json_dumps(v);
            json_object_set_new(conf, names[i].weir, json_string(t));
            free(t);
        } else if (strcmp(names[i].weir, "topic") == 0 && json_is_string(v) &&
                   strrchr(json_string_value(v), ':') != NULL) {
            json_object_set_new(conf, names[i].weir,
                                json_string(strrchr(json_string_value(v), ':') + 1));
        } else {
            json_object_set(conf, names[i].weir, v);
        }
        json_object_del(conf, names[i].aws);
    }
    if (strncmp(res, "arn:aws:states:::glue:startJobRun", 33) == 0 &&
        json_object_get(conf, "wait") == NULL)
        json_object_set_new(conf, "wait", json_boolean(strstr(res, ".sync") != NULL));
    if ((p = strstr(res, ":job/")) != NULL && json_object_get(conf, "job_name") == NULL)
        json_object_set_new(conf, "job_name", json_string(p + 5));
    if ((p = strstr(res, ":crawler/")) != NULL && json_object_get(conf, "crawler") == NULL)
        json_object_set_new(conf, "crawler", json_string(p + 9));
}

/* The task type's fields for the attempt, from the effective input. */
static int task_conf(frame_t *f, json_t **out)
{
    const wr_asl_state_t *st = cur_state(f);
    json_t *conf = json_object();

    switch (st->res_kind) {
    case WR_ASL_RES_LAMBDA_ARN:
        json_object_set_new(conf, "function", json_string(st->function));
        json_object_set(conf, "payload", f->eff);
        break;
    case WR_ASL_RES_LAMBDA_INVOKE: {
        const char *fn = json_string_value(json_object_get(f->eff, "FunctionName"));
        json_t *payload = json_object_get(f->eff, "Payload");
        const char *it = json_string_value(json_object_get(f->eff, "InvocationType"));
        if (fn == NULL) {
            json_decref(conf);
            return fail_state(f, "States.Runtime", "%s",
                              "lambda:invoke needs Parameters.FunctionName (a string)");
        }
        char *name = function_name(fn);
        json_object_set_new(conf, "function", json_string(name));
        free(name);
        json_object_set(conf, "payload", payload ? payload : json_object());
        if (it != NULL)
            json_object_set_new(conf, "invocation_type", json_string(it));
        break;
    }
    case WR_ASL_RES_TYPE:
        if (!json_is_object(f->eff)) {
            json_decref(conf);
            return fail_state(f, "States.Runtime", "%s",
                              "the Parameters of a weir task must be an object of its fields");
        }
        json_object_update(conf, f->eff);
        aws_fields(json_string_value(json_object_get(st->def, "Resource")), conf);
        break;
    case WR_ASL_RES_UNSUPPORTED:
        break;
    }
    *out = conf;
    return 0;
}

static void start_attempt(frame_t *f)
{
    wr_asl_run_t *run = f->run;
    const wr_asl_state_t *st = cur_state(f);
    wr_task_attempt_t *ta;
    wr_task_result_t res;
    wr_err_t err;
    json_t *conf = NULL;

    memset(&res, 0, sizeof(res));
    memset(&err, 0, sizeof(err));
    f->attempts++;
    f->timed_out = false;
    f->hb_timed_out = false;
    f->started_ms = wr_now_ms();
    ta = wr_xcalloc(1, sizeof(*ta));
    ta->eng = run->eng;
    ta->type = st->task_type;
    ta->run_id = run->id;
    ta->task_name = st->name;
    ta->attempt = f->attempts;
    ta->token = wr_xasprintf("%s:%s:%d:%d", run->id, st->name, f->attempts, f->retry_total);
    ta->done_cb = on_attempt_done;
    ta->data = f;
    f->ta = ta;
    run->in_flight++;
    fevent(f, "TaskStarted", f->attempts,
           json_pack("{s:s, s:s, s:s?}", "resource",
                     json_string_value(json_object_get(st->def, "Resource")), "token", ta->token,
                     "task_token", f->task_token));
    if (!run->eng->quiet) {
        char ts[32];
        wr_format_iso_ms(wr_now_ms(), ts);
        fprintf(stderr, "%s  %-24s running          attempt %d\n", ts + 11, st->name, f->attempts);
    }
    if (st->task_type == NULL || st->res_kind == WR_ASL_RES_UNSUPPORTED) {
        wr_task_result_error(&res, "Weir.NotImplemented", "Resource '%s' is not supported by weir",
                             json_string_value(json_object_get(st->def, "Resource")));
        wr_task_attempt_done_later(ta, &res);
        return;
    }
    if (task_conf(f, &conf) != 0) {
        wr_task_result_error(&res, "States.Runtime", "%s", f->err_cause ? f->err_cause : "");
        clear_error(f);
        wr_task_attempt_done_later(ta, &res);
        return;
    }
    ta->conf = conf;
    if (st->task_type->validate != NULL && st->task_type->validate(conf, &err) != 0) {
        wr_task_result_error(&res, "States.TaskFailed", "%s", err.msg);
        wr_task_attempt_done_later(ta, &res);
        return;
    }
    batch_flush(run, true); /* the task's start and everything before it are on disk */
    if (st->task_type->start(ta, &err) != 0) {
        wr_task_result_error(&res, "States.TaskFailed", "%s", err.msg);
        wr_task_attempt_done_later(ta, &res);
        return;
    }
    if (f->timeout_ms > 0)
        uv_timer_start(&f->tmo, on_task_timeout, (uint64_t)f->timeout_ms, 0);
    if (f->hb_ms > 0)
        uv_timer_start(&f->hb, on_heartbeat_timeout, (uint64_t)f->hb_ms, 0);
    /* A restart stops what a crash left running: the process group is in the history. */
    if (ta->pid > 0)
        fevent(f, "TaskProcessStarted", f->attempts, json_pack("{s:i}", "pid", ta->pid));
}

static void on_slot(wr_slot_wait_t *w)
{
    frame_t *f = wr_container_of(w, frame_t, slot);
    f->has_slot = true;
    if (f->aborted || f->run->aborting || f->run->interrupting) {
        f->has_slot = false;
        wr_engine_slot_release(f->run->eng, &f->slot);
        maybe_finish(f->run);
        return;
    }
    start_attempt(f);
}

static json_t *lambda_invoke_shape(json_t *payload)
{
    json_t *out = json_object(), *hdrs = json_object(), *meta = json_object();
    json_t *rid = json_object();
    char id[64];
    unsigned char b[16];

    if (uv_random(NULL, NULL, b, sizeof(b), 0, NULL) != 0)
        memset(b, 7, sizeof(b));
    snprintf(id, sizeof(id), "%02x%02x%02x%02x-%02x%02x-4%x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6] & 15, b[7], (b[8] & 0x3f) | 0x80, b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
    json_object_set_new(hdrs, "Connection", json_string("keep-alive"));
    json_object_set_new(hdrs, "Content-Type", json_string("application/json"));
    json_object_set_new(hdrs, "X-Amz-Executed-Version", json_string("$LATEST"));
    json_object_set_new(hdrs, "x-amzn-RequestId", json_string(id));
    json_object_set(meta, "AllHttpHeaders", hdrs);
    json_object_set_new(meta, "HttpHeaders", hdrs);
    json_object_set_new(meta, "HttpStatusCode", json_integer(200));
    json_object_set_new(rid, "RequestId", json_string(id));
    json_object_set_new(out, "ExecutedVersion", json_string("$LATEST"));
    json_object_set_new(out, "Payload", payload);
    json_object_set_new(out, "SdkHttpMetadata", meta);
    json_object_set_new(out, "SdkResponseMetadata", rid);
    json_object_set_new(out, "StatusCode", json_integer(200));
    return out;
}

/* Records an attempt's outcome (stolen: `output` on success, else error/cause) and puts
 * the frame back on the ready queue. */
static void task_outcome(frame_t *f, json_t *output, const char *error, const char *cause,
                         bool timed_out)
{
    wr_asl_run_t *run = f->run;
    const wr_asl_state_t *st = cur_state(f);

    clear_error(f);
    if (error == NULL) {
        json_t *out = output ? output : json_null();
        if (st->res_kind == WR_ASL_RES_LAMBDA_INVOKE && !st->wait_token)
            out = lambda_invoke_shape(out);
        fevent(f, "TaskSucceeded", f->attempts, json_pack("{s:O}", "output", out));
        set_json(&f->res, out);
    } else {
        json_decref(output);
        f->failed = true;
        f->err_name = wr_xstrdup(error);
        f->err_cause = cause ? wr_xstrdup(cause) : NULL;
        fevent(f, timed_out ? "TaskTimedOut" : "TaskFailed", f->attempts,
               json_pack("{s:s, s:s?}", "error", error, "cause", cause));
        if (!run->eng->quiet) {
            char ts[32];
            wr_format_iso_ms(wr_now_ms(), ts);
            fprintf(stderr, "%s  %-24s failed           %s: %.200s\n", ts + 11, st->name, error,
                    cause ? cause : "");
        }
    }
    f->phase = PH_RESUME;
    if (!run->interrupting)
        enqueue(f);
}

static void on_attempt_done(wr_task_attempt_t *ta, wr_task_result_t *res)
{
    frame_t *f = ta->data;
    wr_asl_run_t *run = f->run;
    const wr_asl_state_t *st = cur_state(f);

    f->ta = NULL;
    run->in_flight--;
    if (f->has_slot) {
        f->has_slot = false;
        wr_engine_slot_release(run->eng, &f->slot);
    }
    attempt_free(ta);
    if (f->timed_out || f->hb_timed_out) {
        free(res->error);
        free(res->cause);
        json_decref(res->output);
        res->output = NULL;
        res->error = wr_xstrdup(f->timed_out ? "States.Timeout" : "States.HeartbeatTimeout");
        res->cause =
            f->timed_out
                ? wr_xasprintf("Task timed out after %.3g seconds.", (double)f->timeout_ms / 1000.0)
                : wr_xasprintf("No heartbeat within %.3g seconds.", (double)f->hb_ms / 1000.0);
    }
    if (f->aborted || run->aborting) {
        stop_task_timers(f);
        wr_task_result_dispose(res);
        maybe_finish(run);
        return;
    }
    if (run->interrupting && res->error != NULL && !f->tok_pending) {
        /* Stopped for a shutdown: the next start runs the attempt again, without using a
         * retry (TaskInterrupted sends the replay back to TaskScheduled). */
        stop_task_timers(f);
        fevent(f, "TaskInterrupted", f->attempts, json_pack("{s:s}", "reason", "shutdown"));
        wr_task_result_dispose(res);
        return;
    }
    if (st->wait_token && f->tok_pending) {
        /* The token result came while the handler still ran: it is the attempt's outcome. */
        json_t *out = f->tok_output;
        char *e = f->tok_error, *c = f->tok_cause;
        bool failed = f->tok_failed;
        f->tok_pending = false;
        f->tok_output = NULL;
        f->tok_error = f->tok_cause = NULL;
        stop_task_timers(f);
        task_outcome(f, out, failed ? (e ? e : "") : NULL, c, false);
        free(e);
        free(c);
    } else if (st->wait_token && res->error == NULL) {
        /* The handler has the token: the attempt goes on until a token result arrives,
         * TimeoutSeconds passes or heartbeats stop. */
        json_t *out = res->output ? res->output : json_null();
        res->output = NULL;
        if (st->res_kind == WR_ASL_RES_LAMBDA_INVOKE)
            out = lambda_invoke_shape(out);
        fevent(f, "TaskSubmitted", f->attempts, json_pack("{s:o}", "output", out));
        f->token_wait = true;
        wr_task_result_dispose(res);
        return;
    } else {
        stop_task_timers(f);
        task_outcome(f, res->output, res->error, res->cause, f->timed_out || f->hb_timed_out);
        res->output = NULL;
    }
    wr_task_result_dispose(res);
    pump(run);
}

/* A new task token: 128 random bits, then the run's id (so a daemon can route it). */
static char *new_task_token(wr_asl_run_t *run)
{
    unsigned char b[16];
    char hex[33];

    if (uv_random(NULL, NULL, b, sizeof(b), 0, NULL) != 0) {
        uint64_t x = (uint64_t)uv_hrtime() ^ (uint64_t)wr_now_ms();
        for (int i = 0; i < 16; i++)
            b[i] = (unsigned char)(x >> ((i % 8) * 8)) ^ (unsigned char)(i * 151);
    }
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    return wr_xasprintf("%s.%s", hex, run->id);
}

/* Runs (or re-runs, on a retry) a Task state's work. */
static void task_begin(frame_t *f)
{
    json_t *eff = NULL;

    free(f->task_token);
    f->task_token = cur_state(f)->wait_token ? new_task_token(f->run) : NULL;
    if (effective_input(f, &eff) != 0) {
        handle_failure(f);
        return;
    }
    set_json(&f->eff, eff);
    if (task_timeout(f, &f->timeout_ms, &f->hb_ms) != 0) {
        handle_failure(f);
        return;
    }
    f->phase = PH_WAITING;
    fevent(f, "TaskScheduled", f->attempts + 1,
           json_pack("{s:s?, s:O, s:s?}", "resource",
                     json_string_value(json_object_get(cur_state(f)->def, "Resource")),
                     "parameters", eff, "task_token", f->task_token));
    wr_engine_slot_acquire(f->run->eng, &f->slot, on_slot);
}

/* ==== Parallel and Map: blocks of child executions ==== */

static frame_t *frame_new(wr_asl_run_t *run, const wr_asl_machine_t *m, frame_t *scope,
                          block_t *block, size_t index)
{
    frame_t *f = wr_xcalloc(1, sizeof(*f));

    f->run = run;
    f->m = m;
    f->scope = scope;
    f->block = block;
    f->index = index;
    f->vars = json_object();
    f->cur = m->start;
    uv_timer_init(&run->eng->loop, &f->timer);
    uv_timer_init(&run->eng->loop, &f->tmo);
    uv_timer_init(&run->eng->loop, &f->hb);
    if (block == NULL)
        f->key = wr_xstrdup("");
    else if (block->owner->key[0] == '\0')
        f->key = wr_xasprintf("%d.%zu", block->seq, index);
    else
        f->key = wr_xasprintf("%s/%d.%zu", block->owner->key, block->seq, index);
    f->all_next = run->frames;
    run->frames = f;
    return f;
}

static void block_free(block_t *b)
{
    if (b == NULL)
        return;
    json_decref(b->items);
    json_decref(b->results);
    free(b->children);
    free(b);
}

/* The block ended: hand its outcome to the owner frame. */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void block_end(block_t *b, bool ok)
{
    frame_t *owner = b->owner;
    const char *kind = b->is_map ? "MapState" : "ParallelState";
    char type[48];

    b->ended = true;
    for (size_t i = 0; i < b->next_start; i++)
        if (b->children[i] != NULL && !b->children[i]->done)
            frame_abort(b->children[i]);
    snprintf(type, sizeof(type), "%s%s", kind, ok ? "Succeeded" : "Failed");
    {
        json_t *d = detail_of(owner, NULL, NULL);
        if (!ok) {
            json_object_set_new(d, "error",
                                owner->err_name ? json_string(owner->err_name) : json_null());
            json_object_set_new(d, "cause",
                                owner->err_cause ? json_string(owner->err_cause) : json_null());
        }
        event(owner->run, type, cur_state(owner)->name, 0, d);
    }
    if (ok)
        set_json(&owner->res, json_incref(b->results));
    owner->phase = PH_RESUME;
    owner->child = NULL;
    block_free(b);
    enqueue(owner);
}

/* Starts child i; `record` false when a resume rebuilds it (its start is in the history). */
static bool block_start_child(block_t *b, size_t i, bool record)
{
    frame_t *owner = b->owner;
    const wr_asl_state_t *st = cur_state(owner);
    frame_t *c;
    json_t *input = NULL;

    if (b->is_map) {
        const json_t *sel = json_object_get(st->def, "ItemSelector");
        json_t *item = json_array_get(b->items, i);
        if (sel == NULL)
            sel = json_object_get(st->def, "Parameters");
        if (sel != NULL && !b->prepared) {
            json_t *mi = json_pack("{s:I, s:O}", "Index", (json_int_t)i, "Value", item);
            ectx_t ec = {owner, owner->eff, mi};
            int rc = eval_template(&ec, sel, &input, 0);
            json_decref(mi);
            if (rc != 0)
                return false;
        } else {
            input = json_incref(item);
        }
        c = frame_new(owner->run, st->processor, b->isolated ? NULL : owner, b, i);
        if (record)
            fevent(owner, "MapIterationStarted", 0,
                   json_pack("{s:s, s:I}", "name", st->name, "index", (json_int_t)i));
    } else {
        input = json_incref(owner->eff);
        c = frame_new(owner->run, st->branches[i], owner, b, i);
        if (record)
            fevent(owner, "ParallelBranchStarted", 0,
                   json_pack("{s:s, s:I}", "name", st->name, "index", (json_int_t)i));
    }
    c->input = input;
    c->phase = PH_ENTER;
    b->children[i] = c;
    b->running++;
    enqueue(c);
    return true;
}

static void block_fill(block_t *b)
{
    while (!b->ended && b->next_start < b->n && (b->max_conc == 0 || b->running < b->max_conc)) {
        size_t i = b->next_start++;
        if (!block_start_child(b, i, true)) {
            block_end(b, false);
            return;
        }
    }
    if (!b->ended && b->n_done + b->n_failed == b->n)
        block_end(b, true);
}

static bool over_tolerance(const block_t *b)
{
    if (b->tol_count < 0 && b->tol_pct < 0)
        return true;
    if (b->tol_count >= 0 && (double)b->n_failed > b->tol_count)
        return true;
    if (b->tol_pct >= 0 && (double)b->n_failed * 100.0 / (double)b->n > b->tol_pct)
        return true;
    return false;
}

static void block_child_done(block_t *b, frame_t *c)
{
    frame_t *owner = b->owner;
    const char *what = b->is_map ? "MapIteration" : "ParallelBranch";
    char type[48];

    if (b->ended || c->counted)
        return;
    c->counted = true;
    b->running--;
    snprintf(type, sizeof(type), "%s%s", what, c->failed ? "Failed" : "Succeeded");
    /* The iteration's output (or error) goes with the event: a resumed Map rebuilds its
     * results from them without running the iteration again. */
    if (c->failed)
        fevent(owner, type, 0,
               json_pack("{s:s, s:I, s:s?, s:s?}", "name", cur_state(owner)->name, "index",
                         (json_int_t)c->index, "error", c->err_name, "cause", c->err_cause));
    else
        fevent(owner, type, 0,
               json_pack("{s:s, s:I, s:O}", "name", cur_state(owner)->name, "index",
                         (json_int_t)c->index, "output", c->output ? c->output : json_null()));
    if (!c->failed) {
        json_array_set(b->results, c->index, c->output ? c->output : json_null());
        b->n_done++;
    } else {
        b->n_failed++;
        if (!b->is_map || over_tolerance(b)) {
            clear_error(owner);
            owner->failed = true;
            if (b->is_map && (b->tol_count >= 0 || b->tol_pct >= 0)) {
                owner->err_name = wr_xstrdup("States.ExceedToleratedFailureThreshold");
                owner->err_cause = wr_xstrdup("The specified tolerated failure threshold was "
                                              "exceeded");
            } else {
                owner->err_name = c->err_name ? wr_xstrdup(c->err_name) : NULL;
                owner->err_cause = c->err_cause ? wr_xstrdup(c->err_cause) : NULL;
            }
            block_end(b, false);
            return;
        }
        json_array_set_new(b->results, c->index,
                           json_pack("{s:s?, s:s?}", "Error", c->err_name, "Cause", c->err_cause));
    }
    block_fill(b);
}

/* A count or percentage from a literal or a *Path field; -1 when absent. */
static int number_field(frame_t *f, const char *field, bool integer, double *out)
{
    char pf[64];
    const json_t *def = cur_state(f)->def;
    const json_t *x = json_object_get(def, field), *p;
    json_t *v = NULL;
    ectx_t c = {f, f->eff, NULL};
    long long iv;

    snprintf(pf, sizeof(pf), "%sPath", field);
    p = json_object_get(def, pf);
    *out = -1;
    if (x != NULL) {
        *out = json_number_value(x);
        return 0;
    }
    if (p == NULL)
        return 0;
    if (eval_expr(&c, json_string_value(p), &v) != 0)
        return -1;
    if (json_is_string(v)) { /* AWS accepts a numeric string here ("1") */
        char *end;
        double d = strtod(json_string_value(v), &end);
        if (*json_string_value(v) != '\0' && *end == '\0') {
            json_decref(v);
            v = json_real(d);
        }
    }
    if (!json_is_number(v) || json_number_value(v) < 0 || (integer && !int_value(v, &iv)) ||
        (strstr(field, "Percentage") != NULL && json_number_value(v) > 100)) {
        char *t = wr_json_dumps(v);
        json_decref(v);
        fail_state(f, "States.Runtime",
                   "The %s field refers to value \"%s\" which is not a valid "
                   "%s: %s",
                   pf, t, integer ? "integer" : "number", json_string_value(p));
        free(t);
        return -1;
    }
    *out = json_number_value(v);
    json_decref(v);
    return 0;
}

/* ItemBatcher: each iteration gets {"Items": [...], "BatchInput": ...} instead of one item.
 * The items go through ItemSelector first. Returns the batches (new reference) or NULL with
 * the state's error set. */
static json_t *make_batches(frame_t *f, json_t *items)
{
    const json_t *def = cur_state(f)->def;
    const json_t *ib = json_object_get(def, "ItemBatcher");
    const json_t *sel = json_object_get(def, "ItemSelector");
    const json_t *bi = json_object_get(ib, "BatchInput");
    json_t *batches = json_array(), *batch = NULL, *batch_input = NULL, *v = NULL;
    ectx_t c = {f, f->eff, NULL};
    long long max_items = 0, max_bytes = 0;
    size_t i, bytes = 0;
    const json_t *x;

    if (sel == NULL)
        sel = json_object_get(def, "Parameters");
    if ((x = json_object_get(ib, "MaxItemsPerBatch")) != NULL)
        max_items = json_integer_value(x);
    else if ((x = json_object_get(ib, "MaxItemsPerBatchPath")) != NULL) {
        if (eval_expr(&c, json_string_value(x), &v) != 0 || !int_value(v, &max_items) ||
            max_items <= 0) {
            json_decref(v);
            json_decref(batches);
            if (!f->failed)
                fail_state(f, "States.Runtime", "%s",
                           "MaxItemsPerBatchPath must reference a "
                           "positive integer");
            return NULL;
        }
        json_decref(v);
        v = NULL;
    }
    if ((x = json_object_get(ib, "MaxInputBytesPerBatch")) != NULL)
        max_bytes = json_integer_value(x);
    if (max_bytes <= 0 || max_bytes > WR_ASL_PAYLOAD_MAX)
        max_bytes = WR_ASL_PAYLOAD_MAX;
    if (bi != NULL && eval_template(&c, bi, &batch_input, 0) != 0) {
        json_decref(batches);
        return NULL;
    }
    json_array_foreach(items, i, v)
    {
        json_t *item;
        size_t sz;
        if (sel != NULL) {
            json_t *mi = json_pack("{s:I, s:O}", "Index", (json_int_t)i, "Value", v);
            ectx_t ec = {f, f->eff, mi};
            int rc = eval_template(&ec, sel, &item, 0);
            json_decref(mi);
            if (rc != 0) {
                json_decref(batches);
                json_decref(batch_input);
                return NULL;
            }
        } else {
            item = json_incref(v);
        }
        sz = json_size(item);
        if (batch == NULL || (max_items > 0 && (long long)json_array_size(batch) >= max_items) ||
            (json_array_size(batch) > 0 && (long long)(bytes + sz) > max_bytes)) {
            json_t *b = json_object();
            batch = json_array();
            bytes = 0;
            if (batch_input != NULL)
                json_object_set(b, "BatchInput", batch_input);
            json_object_set_new(b, "Items", batch);
            json_array_append_new(batches, b);
        }
        bytes += sz;
        json_array_append_new(batch, item);
    }
    json_decref(batch_input);
    return batches;
}

/* Computes a Parallel's or Map's block from the frame's input (and variables) as they are
 * now: the items, concurrency and tolerance. NULL with the state's error set on failure. A
 * resume calls it again at the same point of the history, which gives the same block. */
static block_t *block_prepare(frame_t *f)
{
    const wr_asl_state_t *st = cur_state(f);
    block_t *b;
    json_t *eff = NULL;
    double mc = -1, tc = -1, tp = -1;

    if (st->type == WR_ASL_MAP) {
        const json_t *ip = json_object_get(st->def, "ItemsPath");
        json_t *items = NULL;
        ectx_t c = {f, NULL, NULL};
        if (apply_io_path(f, "InputPath", f->input, &eff) != 0) {
            return NULL;
        }
        set_json(&f->eff, eff);
        c.doc = eff;
        if (ip == NULL)
            items = json_incref(eff);
        else if (eval_expr(&c, json_string_value(ip), &items) != 0) {
            return NULL;
        }
        if (json_is_object(items)) {
            /* AWS iterates over an object's key-value pairs, one pair per iteration. */
            json_t *pairs = json_array(), *v;
            const char *k;
            json_object_foreach(items, k, v)
                json_array_append_new(pairs, json_pack("{s:s, s:O}", "key", k, "value", v));
            json_decref(items);
            items = pairs;
        }
        if (!json_is_array(items)) {
            char *t = wr_json_dumps(items);
            json_decref(items);
            fail_state(f, "States.Runtime", "Items of a Map state must be an array, not %.100s", t);
            free(t);
            return NULL;
        }
        if (number_field(f, "MaxConcurrency", true, &mc) != 0 ||
            number_field(f, "ToleratedFailureCount", true, &tc) != 0 ||
            number_field(f, "ToleratedFailurePercentage", false, &tp) != 0) {
            json_decref(items);
            return NULL;
        }
        if (json_object_get(st->def, "ItemBatcher") != NULL) {
            json_t *batches = make_batches(f, items);
            json_decref(items);
            if (batches == NULL) {
                return NULL;
            }
            items = batches;
        }
        b = wr_xcalloc(1, sizeof(*b));
        b->is_map = true;
        b->prepared = json_object_get(st->def, "ItemBatcher") != NULL;
        {
            const json_t *proc = json_object_get(st->def, "ItemProcessor");
            const char *mode = json_string_value(
                json_object_get(json_object_get(proc, "ProcessorConfig"), "Mode"));
            b->isolated = mode != NULL && strcmp(mode, "DISTRIBUTED") == 0;
        }
        b->items = items;
        b->n = json_array_size(items);
    } else {
        if (effective_input(f, &eff) != 0) {
            return NULL;
        }
        set_json(&f->eff, eff);
        b = wr_xcalloc(1, sizeof(*b));
        b->n = st->n_branches;
    }
    b->owner = f;
    b->max_conc = mc > 0 ? (size_t)mc : 0;
    b->tol_count = tc;
    b->tol_pct = tp;
    b->results = json_array();
    for (size_t i = 0; i < b->n; i++)
        json_array_append_new(b->results, json_null());
    b->children = wr_xcalloc(b->n + 1, sizeof(frame_t *));
    b->seq = ++f->nblocks;
    f->child = b;
    return b;
}

static void block_begin(frame_t *f)
{
    const wr_asl_state_t *st = cur_state(f);
    block_t *b = block_prepare(f);

    if (b == NULL) {
        handle_failure(f);
        return;
    }
    f->phase = PH_WAITING;
    fevent(f, b->is_map ? "MapStateStarted" : "ParallelStateStarted", 0,
           json_pack("{s:s, s:I}", "name", st->name, "length", (json_int_t)b->n));
    block_fill(b);
}

/* ==== Stepping frames ==== */

static void enter_state(frame_t *f)
{
    const wr_asl_state_t *st = cur_state(f);

    if (!f->replay_entered) {
        free(f->retry_counts);
        f->retry_counts = wr_xcalloc(st->n_retry + 1, sizeof(int));
        f->retry_total = 0;
        f->attempts = 0;
        f->entered_ms = wr_now_ms();
        wr_format_iso_ms(f->entered_ms, f->entered);
        state_event(f, "StateEntered", "input", f->input);
    }
    f->replay_entered = false;
    clear_error(f);
    switch (st->type) {
    case WR_ASL_PASS:
        do_pass(f);
        break;
    case WR_ASL_CHOICE:
        do_choice(f);
        break;
    case WR_ASL_SUCCEED:
        do_succeed(f);
        break;
    case WR_ASL_FAIL:
        do_fail(f);
        break;
    case WR_ASL_WAIT:
        do_wait(f);
        break;
    case WR_ASL_TASK:
        task_begin(f);
        break;
    case WR_ASL_PARALLEL:
    case WR_ASL_MAP:
        block_begin(f);
        break;
    }
}

static void resume_state(frame_t *f)
{
    const wr_asl_state_t *st = cur_state(f);
    const json_t *sel = json_object_get(st->def, "ResultSelector");
    json_t *result;

    if (st->type == WR_ASL_WAIT) {
        finish_state(f, json_incref(f->eff));
        return;
    }
    if (f->failed) {
        handle_failure(f);
        return;
    }
    result = f->res;
    f->res = NULL;
    if (result == NULL)
        result = json_null();
    if (sel != NULL) {
        ectx_t c = {f, result, NULL};
        json_t *shaped = NULL;
        int rc = eval_template(&c, sel, &shaped, 0);
        json_decref(result);
        if (rc != 0) {
            handle_failure(f);
            return;
        }
        result = shaped;
    }
    finish_state(f, result);
}

static void frame_step(frame_t *f)
{
    switch (f->phase) {
    case PH_ENTER:
        enter_state(f);
        break;
    case PH_RETRY:
        clear_error(f);
        if (cur_state(f)->type == WR_ASL_TASK)
            task_begin(f);
        else
            block_begin(f);
        break;
    case PH_RESUME:
        resume_state(f);
        break;
    case PH_SLOT:
        f->phase = PH_WAITING;
        wr_engine_slot_acquire(f->run->eng, &f->slot, on_slot);
        break;
    default:
        break;
    }
}

static void on_kick(uv_timer_t *t)
{
    pump(wr_container_of(t, wr_asl_run_t, kick));
}

/* Group commit: the transitions of one turn are recorded in one transaction, written before
 * anything outside the database happens — a Task's start ends the batch first (flush) — so a
 * crash loses at most transitions that had no effect yet, which the resume replays. */
static void batch_flush(wr_asl_run_t *run, bool reopen)
{
    wr_err_t err;

    memset(&err, 0, sizeof(err));
    if (!run->batching)
        return;
    run->batching = false;
    if (wr_store_batch_end(run->eng->store, &err) != 0) {
        store_failed(run, &err);
        return;
    }
    if (reopen && !run->store_failed && wr_store_batch_begin(run->eng->store, &err) == 0)
        run->batching = true;
}

static void pump(wr_asl_run_t *run)
{
    int steps = 0;
    wr_err_t err;

    if (run->pumping || run->closing || run->interrupting)
        return;
    run->pumping = true;
    memset(&err, 0, sizeof(err));
    if (!run->store_failed && wr_store_batch_begin(run->eng->store, &err) == 0)
        run->batching = true;
    while (run->qhead != NULL && steps < STEPS_PER_TURN) {
        frame_t *f = run->qhead;
        run->qhead = f->qnext;
        if (run->qhead == NULL)
            run->qtail = NULL;
        f->queued = false;
        if (f->aborted || f->done || run->finished)
            continue;
        frame_step(f);
        steps++;
    }
    batch_flush(run, false);
    run->pumping = false;
    if (run->qhead != NULL)
        uv_timer_start(&run->kick, on_kick, 0, 0);
    maybe_finish(run);
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void frame_abort(frame_t *f)
{
    if (f->aborted)
        return;
    f->aborted = true;
    f->token_wait = false;
    uv_timer_stop(&f->timer);
    stop_task_timers(f);
    if (f->slot.queued)
        wr_engine_slot_cancel(f->run->eng, &f->slot);
    if (f->ta != NULL && !f->ta->canceled) {
        f->ta->canceled = true;
        f->ta->type->cancel(f->ta);
    }
    if (f->child != NULL) {
        block_t *b = f->child;
        f->child = NULL;
        b->ended = true;
        for (size_t i = 0; i < b->next_start; i++)
            if (b->children[i] != NULL)
                frame_abort(b->children[i]);
        block_free(b);
    }
}

/* ==== Run lifecycle ==== */

static void run_end(wr_asl_run_t *run)
{
    frame_t *top = run->top;

    if (run->status != NULL)
        return;
    if (run->timed_out) {
        run->status = wr_xstrdup("FAILED");
        run->error = wr_xstrdup("States.Timeout");
        run->cause = wr_xstrdup("The execution ran longer than the state machine's "
                                "TimeoutSeconds");
    } else if (run->aborting) {
        run->status = wr_xstrdup("ABORTED");
        if (run->error == NULL && !run->stopped) {
            run->error = wr_xstrdup("Weir.Aborted");
            run->cause = wr_xstrdup(run->abort_why ? run->abort_why : "run aborted");
        }
    } else if (top->failed) {
        run->status = wr_xstrdup("FAILED");
        run->error = top->err_name ? wr_xstrdup(top->err_name) : NULL;
        run->cause = top->err_cause ? wr_xstrdup(top->err_cause) : NULL;
    } else {
        run->status = wr_xstrdup("SUCCEEDED");
        run->output = json_incref(top->output ? top->output : json_null());
    }
    maybe_finish(run);
}

static void frame_end(frame_t *f)
{
    if (f->done)
        return;
    f->done = true;
    f->phase = PH_DONE;
    if (f->failed && !f->aborted)
        event(f->run, "StateFailed", cur_state(f)->name, f->attempts,
              json_pack("{s:s, s:s?, s:s?}", "name", cur_state(f)->name, "error", f->err_name,
                        "cause", f->err_cause));
    set_json(&f->input, NULL);
    set_json(&f->eff, NULL);
    set_json(&f->res, NULL);
    if (f->block == NULL)
        run_end(f->run);
    else
        block_child_done(f->block, f);
}

static void on_finish_timer(uv_timer_t *t)
{
    wr_asl_run_t *run = wr_container_of(t, wr_asl_run_t, finish_timer);
    run->cb(run, run->data);
}

static void maybe_finish(wr_asl_run_t *run)
{
    wr_err_t err;
    char *out = NULL;
    bool ok;

    if (run->finished || run->status == NULL || run->in_flight > 0 || run->interrupting)
        return;
    run->finished = true;
    uv_timer_stop(&run->exec_timer);
    ok = strcmp(run->status, "SUCCEEDED") == 0;
    if (ok) {
        out = wr_json_dumps(run->output);
        event(run, "ExecutionSucceeded", NULL, 0, json_pack("{s:O}", "output", run->output));
    } else {
        const char *type = run->timed_out                        ? "ExecutionTimedOut"
                           : strcmp(run->status, "ABORTED") == 0 ? "ExecutionAborted"
                                                                 : "ExecutionFailed";
        event(run, type, NULL, 0,
              json_pack("{s:s?, s:s?}", "error", run->error, "cause", run->cause));
    }
    memset(&err, 0, sizeof(err));
    if (wr_store_run_finish(run->eng->store, run->id, run->status, out, ok ? NULL : run->error,
                            ok ? NULL : run->cause, &err) != 0)
        fprintf(stderr, "weir: %s\n", err.msg);
    free(out);
    if (!run->eng->quiet)
        fprintf(stderr, "execution %s %s%s%s\n", run->id, run->status,
                ok || run->error == NULL ? "" : ": ", ok || run->error == NULL ? "" : run->error);
    uv_timer_start(&run->finish_timer, on_finish_timer, 0, 0);
}

static void on_exec_timeout(uv_timer_t *t)
{
    wr_asl_run_t *run = wr_container_of(t, wr_asl_run_t, exec_timer);

    if (run->finished || run->status != NULL)
        return;
    run->timed_out = true;
    frame_abort(run->top);
    run->top->done = true;
    run_end(run);
}

void wr_asl_run_abort(wr_asl_run_t *run, const char *why)
{
    if (run->finished || run->aborting || run->status != NULL || run->interrupting)
        return;
    run->aborting = true;
    run->abort_why = wr_xstrdup(why ? why : "run aborted");
    frame_abort(run->top);
    run->top->done = true;
    run_end(run);
}

static wr_asl_run_t *run_alloc(wr_engine_t *eng, const wr_asl_t *asl, const char *id,
                               const char *name, const char *trigger, wr_asl_run_done_cb cb,
                               void *data)
{
    wr_asl_run_t *run = wr_xcalloc(1, sizeof(*run));

    run->eng = eng;
    run->asl = asl;
    run->cb = cb;
    run->data = data;
    snprintf(run->id, sizeof(run->id), "%s", id);
    run->name = wr_xstrdup(name && *name ? name : run->id);
    run->trigger = wr_xstrdup(trigger ? trigger : "manual");
    run->arn =
        wr_xasprintf("arn:aws:states:us-east-1:123456789012:execution:%s:%s", asl->name, run->name);
    uv_timer_init(&eng->loop, &run->kick);
    uv_timer_init(&eng->loop, &run->finish_timer);
    uv_timer_init(&eng->loop, &run->exec_timer);
    run->top = frame_new(run, asl->machine, NULL, NULL, 0);
    return run;
}

int wr_asl_run_start(wr_engine_t *eng, const wr_asl_t *asl, const json_t *input,
                     const wr_asl_run_opts_t *opts, wr_asl_run_done_cb cb, void *data,
                     wr_asl_run_t **out, wr_err_t *err)
{
    wr_asl_run_t *run;
    char id[40];
    char *input_text;
    int rc;

    if (opts == NULL || opts->run_id == NULL)
        wr_uuid4(id);
    run = run_alloc(eng, asl, opts && opts->run_id ? opts->run_id : id,
                    opts ? opts->client_run_id : NULL, opts ? opts->trigger : NULL, cb, data);
    run->start_ms = wr_now_ms();
    wr_format_iso_ms(run->start_ms, run->start_iso);
    run->input = input ? json_deep_copy(input) : json_object();
    input_text = wr_json_dumps(run->input);
    {
        wr_run_row_t row;
        memset(&row, 0, sizeof(row));
        row.id = run->id;
        row.version_id = opts ? opts->version_id : 0;
        row.status = "RUNNING";
        row.trigger = run->trigger;
        row.logical_date = opts && opts->logical_date ? opts->logical_date : run->start_iso;
        row.logical_ts = opts && opts->logical_ts ? opts->logical_ts : wr_now_ms() / 1000;
        row.ds = opts ? opts->ds : NULL;
        row.input_json = input_text;
        row.client_run_id = opts ? opts->client_run_id : NULL;
        row.schedule_fire = opts ? opts->schedule_fire : false;
        rc = wr_store_run_insert(eng->store, &row, NULL, 0, err);
    }
    free(input_text);
    if (rc != 0) {
        run->finished = true;
        wr_asl_run_close(run);
        return rc;
    }
    event(run, "ExecutionStarted", NULL, 0,
          json_pack("{s:O, s:s}", "input", run->input, "name", asl->name));
    if (!eng->quiet)
        fprintf(stderr, "execution %s of %s started\n", run->id, asl->name);
    run->top->input = json_incref(run->input);
    run->top->phase = PH_ENTER;
    enqueue(run->top);
    if (asl->timeout_ms > 0)
        uv_timer_start(&run->exec_timer, on_exec_timeout, (uint64_t)asl->timeout_ms, 0);
    uv_timer_start(&run->kick, on_kick, 0, 0);
    if (out != NULL)
        *out = run;
    return 0;
}

/* ==== Resuming an execution from its history ==== */

/* Where the history left a frame (frame_t.replay). */
typedef enum {
    RP_ENTER = 0,  /* about to enter `cur` with `input` */
    RP_ENTERED,    /* StateEntered, nothing after it */
    RP_SCHEDULED,  /* TaskScheduled (or TaskInterrupted): start the attempt */
    RP_STARTED,    /* TaskStarted: the attempt was in flight when the process died */
    RP_SUBMITTED,  /* TaskSubmitted: waiting for a task token result */
    RP_RESULT,     /* TaskSucceeded/Failed/TimedOut: the outcome is known */
    RP_RETRY,      /* StateRetryScheduled: a retry is due at retry_at */
    RP_BLOCK,      /* Map/ParallelStateStarted: the block runs */
    RP_BLOCK_DONE, /* Map/ParallelStateSucceeded/Failed: the outcome is known */
    RP_CAUGHT,     /* StateCaught: the catch is decided */
    RP_DONE,       /* the frame ended */
} rp_t;

typedef struct {
    wr_asl_run_t *run;
    json_t *keys; /* frame key -> index in frames */
    frame_t **frames;
    size_t n, cap;
} replay_t;

static void rp_add(replay_t *r, frame_t *f)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->frames = wr_xrealloc(r->frames, r->cap * sizeof(*r->frames));
    }
    json_object_set_new(r->keys, f->key, json_integer((json_int_t)r->n));
    r->frames[r->n++] = f;
}

static frame_t *rp_frame(replay_t *r, const json_t *detail)
{
    const char *k = json_string_value(json_object_get(detail, "frame"));
    json_t *i = json_object_get(r->keys, k ? k : "");
    return i ? r->frames[json_integer_value(i)] : NULL;
}

static size_t state_index(const wr_asl_machine_t *m, const char *name)
{
    for (size_t i = 0; name != NULL && i < m->n_states; i++)
        if (strcmp(m->states[i].name, name) == 0)
            return i;
    return WR_ASL_NONE;
}

static void rp_error(frame_t *f, const json_t *d)
{
    const char *e = json_string_value(json_object_get(d, "error"));
    const char *c = json_string_value(json_object_get(d, "cause"));

    clear_error(f);
    f->failed = true;
    f->err_name = e ? wr_xstrdup(e) : NULL;
    f->err_cause = c ? wr_xstrdup(c) : NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The block of frame f ended (as the history says): children still going are dropped. */
static void rp_block_end(frame_t *f)
{
    block_t *b = f->child;

    f->child = NULL;
    b->ended = true;
    for (size_t i = 0; i < b->next_start; i++)
        if (b->children[i] != NULL && b->children[i]->replay != RP_DONE)
            frame_abort(b->children[i]);
    block_free(b);
}

static int rp_block_events(replay_t *r, frame_t *f, const char *type, const json_t *d,
                           wr_err_t *err)
{
    block_t *b = f->child;
    json_int_t idx = json_integer_value(json_object_get(d, "index"));

    if (strcmp(type, "MapStateStarted") == 0 || strcmp(type, "ParallelStateStarted") == 0) {
        if (f->child != NULL)
            rp_block_end(f);
        set_json(&f->eff, NULL);
        if ((b = block_prepare(f)) == NULL)
            return wr_err_set(err, WR_EINVALID, "state '%s': the block cannot be rebuilt: %s",
                              cur_state(f)->name, f->err_cause ? f->err_cause : "");
        f->replay = RP_BLOCK;
        return 0;
    }
    if (b == NULL)
        return wr_err_set(err, WR_EINVALID, "state '%s': %s without a running block",
                          cur_state(f)->name, type);
    if (strcmp(type, "MapStateSucceeded") == 0 || strcmp(type, "ParallelStateSucceeded") == 0 ||
        strcmp(type, "MapStateFailed") == 0 || strcmp(type, "ParallelStateFailed") == 0) {
        if (ends_with(type, "Succeeded")) {
            clear_error(f);
            set_json(&f->res, json_incref(b->results));
        } else {
            rp_error(f, d);
        }
        rp_block_end(f);
        f->replay = RP_BLOCK_DONE;
        return 0;
    }
    if (idx < 0 || (size_t)idx >= b->n)
        return wr_err_set(err, WR_EINVALID, "state '%s': %s of index %lld out of range",
                          cur_state(f)->name, type, (long long)idx);
    if (strcmp(type, "MapIterationStarted") == 0 || strcmp(type, "ParallelBranchStarted") == 0) {
        if (b->children[idx] != NULL)
            return 0;
        if (!block_start_child(b, (size_t)idx, false))
            return wr_err_set(err, WR_EINVALID, "state '%s': item %lld cannot be rebuilt",
                              cur_state(f)->name, (long long)idx);
        if (b->next_start < (size_t)idx + 1)
            b->next_start = (size_t)idx + 1;
        rp_add(r, b->children[idx]);
        return 0;
    }
    {
        frame_t *c = b->children[idx];
        if (c == NULL || c->counted)
            return 0;
        c->counted = true;
        b->running--;
        c->replay = RP_DONE;
        if (ends_with(type, "Succeeded")) {
            json_t *o = json_object_get(d, "output");
            json_array_set(b->results, (size_t)idx, o ? o : json_null());
            b->n_done++;
        } else {
            rp_error(c, d);
            b->n_failed++;
            json_array_set_new(
                b->results, (size_t)idx,
                json_pack("{s:s?, s:s?}", "Error", c->err_name, "Cause", c->err_cause));
        }
    }
    return 0;
}

/* Applies one recorded event to the frame it names. */
static int replay_event(replay_t *r, const json_t *ev, wr_err_t *err)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *state = json_string_value(json_object_get(ev, "state"));
    const json_t *d = json_object_get(ev, "detail");
    int64_t ts = json_integer_value(json_object_get(ev, "ts"));
    frame_t *f;

    if (type == NULL)
        return 0;
    if (strcmp(type, "ExecutionStarted") == 0) {
        r->run->start_ms = ts;
        wr_format_iso_ms(ts, r->run->start_iso);
        return 0;
    }
    if (strncmp(type, "Execution", 9) == 0)
        return wr_err_set(err, WR_EINVALID, "the execution has ended (%s)", type);
    if (state == NULL || (f = rp_frame(r, d)) == NULL)
        return 0; /* not a state machine event (RunCreated...) */
    if (ends_with(type, "StateEntered")) {
        size_t i = state_index(f->m, state);
        if (i == WR_ASL_NONE)
            return wr_err_set(err, WR_EINVALID, "no state '%s' in the definition", state);
        f->cur = i;
        set_json(&f->input, json_deep_copy(json_object_get(d, "input")));
        if (f->input == NULL)
            f->input = json_null();
        set_json(&f->eff, NULL);
        set_json(&f->res, NULL);
        free(f->retry_counts);
        f->retry_counts = wr_xcalloc(cur_state(f)->n_retry + 1, sizeof(int));
        f->retry_total = 0;
        f->attempts = 0;
        clear_error(f);
        f->entered_ms = ts;
        wr_format_iso_ms(ts, f->entered);
        free(f->task_token);
        f->task_token = NULL;
        f->pid = 0;
        f->replay = RP_ENTERED;
        return 0;
    }
    if (f->retry_counts == NULL)
        return 0; /* an event of a state never entered: ignore it */
    if (ends_with(type, "StateExited")) {
        const json_t *assign = json_object_get(d, "assign");
        const char *next = json_string_value(json_object_get(d, "next"));
        json_t *out = json_deep_copy(json_object_get(d, "output"));
        if (out == NULL)
            out = json_null();
        if (json_is_object(assign))
            apply_assign(f, json_deep_copy(assign));
        clear_error(f);
        set_json(&f->eff, NULL);
        set_json(&f->res, NULL);
        if (next != NULL) {
            size_t i = state_index(f->m, next);
            if (i == WR_ASL_NONE) {
                json_decref(out);
                return wr_err_set(err, WR_EINVALID, "no state '%s' in the definition", next);
            }
            f->cur = i;
            set_json(&f->input, out);
            f->replay = RP_ENTER;
        } else {
            set_json(&f->output, out);
            set_json(&f->input, NULL);
            f->replay = RP_DONE;
        }
    } else if (strcmp(type, "TaskScheduled") == 0) {
        const char *tok = json_string_value(json_object_get(d, "task_token"));
        set_json(&f->eff, json_deep_copy(json_object_get(d, "parameters")));
        free(f->task_token);
        f->task_token = tok ? wr_xstrdup(tok) : NULL;
        f->replay = RP_SCHEDULED;
    } else if (strcmp(type, "TaskStarted") == 0) {
        f->attempts = (int)json_integer_value(json_object_get(ev, "attempt"));
        f->started_ms = ts;
        f->pid = 0;
        f->replay = RP_STARTED;
    } else if (strcmp(type, "TaskProcessStarted") == 0) {
        f->pid = (int)json_integer_value(json_object_get(d, "pid"));
    } else if (strcmp(type, "TaskSubmitted") == 0) {
        f->replay = RP_SUBMITTED;
    } else if (strcmp(type, "TaskSucceeded") == 0) {
        clear_error(f);
        set_json(&f->res, json_deep_copy(json_object_get(d, "output")));
        f->replay = RP_RESULT;
    } else if (strcmp(type, "TaskFailed") == 0 || strcmp(type, "TaskTimedOut") == 0) {
        rp_error(f, d);
        f->replay = RP_RESULT;
    } else if (strcmp(type, "TaskInterrupted") == 0) {
        f->replay = RP_SCHEDULED;
    } else if (strcmp(type, "StateRetryScheduled") == 0) {
        json_int_t k = json_integer_value(json_object_get(d, "retrier"));
        if (k >= 0 && (size_t)k < cur_state(f)->n_retry)
            f->retry_counts[k]++;
        f->retry_total = (int)json_integer_value(json_object_get(d, "retry"));
        f->retry_at = ts + json_integer_value(json_object_get(d, "delay_ms"));
        clear_error(f);
        f->replay = RP_RETRY;
    } else if (strcmp(type, "StateCaught") == 0) {
        rp_error(f, d);
        f->replay = RP_CAUGHT;
    } else if (strcmp(type, "StateFailed") == 0) {
        rp_error(f, d);
        f->replay = RP_DONE;
    } else if (strncmp(type, "MapState", 8) == 0 || strncmp(type, "ParallelState", 13) == 0 ||
               strncmp(type, "MapIteration", 12) == 0 || strncmp(type, "ParallelBranch", 14) == 0) {
        return rp_block_events(r, f, type, d, err);
    }
    return 0;
}

/* Every frame goes on from where the history left it. */
static void replay_act(replay_t *r)
{
    wr_asl_run_t *run = r->run;
    int64_t now = wr_now_ms();

    run->qhead = run->qtail = NULL;
    for (size_t i = 0; i < r->n; i++)
        r->frames[i]->queued = false;
    for (size_t i = 0; i < r->n; i++) {
        frame_t *f = r->frames[i];
        if (f->aborted)
            continue;
        switch ((rp_t)f->replay) {
        case RP_ENTER:
            f->phase = PH_ENTER;
            enqueue(f);
            break;
        case RP_ENTERED:
            f->phase = PH_ENTER;
            f->replay_entered = true;
            enqueue(f);
            break;
        case RP_SCHEDULED:
            f->phase = task_timeout(f, &f->timeout_ms, &f->hb_ms) == 0 ? PH_SLOT : PH_RESUME;
            enqueue(f);
            break;
        case RP_STARTED:
            /* The process that ran the attempt died with the previous daemon; a process
             * group that outlived it is stopped, since its result can no longer arrive. */
            if (f->pid > 0 && kill(-f->pid, 0) == 0)
                kill(-f->pid, SIGKILL);
            task_outcome(f, NULL, "Weir.WorkerLost",
                         "the weir process running this attempt stopped before it ended", false);
            break;
        case RP_SUBMITTED:
            if (task_timeout(f, &f->timeout_ms, &f->hb_ms) != 0) {
                clear_error(f);
                f->timeout_ms = f->hb_ms = 0;
            }
            f->token_wait = true;
            f->phase = PH_WAITING;
            if (f->timeout_ms > 0) {
                int64_t left = f->timeout_ms - (now - f->started_ms);
                uv_timer_start(&f->tmo, on_task_timeout, (uint64_t)(left > 0 ? left : 0), 0);
            }
            if (f->hb_ms > 0)
                uv_timer_start(&f->hb, on_heartbeat_timeout, (uint64_t)f->hb_ms, 0);
            break;
        case RP_RESULT:
        case RP_BLOCK_DONE:
            f->phase = PH_RESUME;
            enqueue(f);
            break;
        case RP_CAUGHT:
            f->phase = PH_RESUME;
            f->replay_caught = true;
            enqueue(f);
            break;
        case RP_RETRY:
            f->phase = PH_RETRY;
            uv_timer_start(&f->timer, on_retry_timer,
                           (uint64_t)(f->retry_at > now ? f->retry_at - now : 0), 0);
            break;
        case RP_BLOCK:
            f->phase = PH_WAITING;
            break;
        case RP_DONE:
            f->done = true;
            f->phase = PH_DONE;
            set_json(&f->input, NULL);
            set_json(&f->eff, NULL);
            break;
        }
    }
    /* Children that ended after their block last heard of them are counted now, then the
     * blocks start their next items (or end). Innermost blocks first. */
    for (size_t i = r->n; i-- > 0;) {
        frame_t *f = r->frames[i];
        block_t *b = f->child;
        if (f->aborted || f->replay != RP_BLOCK || b == NULL)
            continue;
        for (size_t k = 0; k < b->next_start && f->child == b; k++) {
            frame_t *c = b->children[k];
            if (c != NULL && c->done && !c->counted)
                block_child_done(b, c);
        }
        if (f->child == b)
            block_fill(b);
    }
    if (run->top->done)
        run_end(run);
}

int wr_asl_run_resume(wr_engine_t *eng, const wr_asl_t *asl, const char *run_id,
                      wr_asl_run_done_cb cb, void *data, wr_asl_run_t **out, wr_err_t *err)
{
    json_t *row = NULL, *events = NULL, *ev;
    wr_asl_run_t *run = NULL;
    const char *status, *input;
    replay_t r;
    size_t i;
    int rc;

    memset(&r, 0, sizeof(r));
    if ((rc = wr_store_asl_run(eng->store, run_id, &row, err)) != 0)
        goto done;
    status = json_string_value(json_object_get(row, "status"));
    if (status == NULL || (strcmp(status, "RUNNING") != 0 && strcmp(status, "QUEUED") != 0)) {
        rc = wr_err_set(err, WR_EINVALID, "execution '%s' has ended (%s)", run_id,
                        status ? status : "?");
        goto done;
    }
    if ((rc = wr_store_asl_events(eng->store, run_id, &events, err)) != 0)
        goto done;
    run = run_alloc(eng, asl, run_id, json_string_value(json_object_get(row, "client_run_id")),
                    json_string_value(json_object_get(row, "trigger")), cb, data);
    input = json_string_value(json_object_get(row, "input"));
    run->input = input ? json_loads(input, JSON_DECODE_ANY, NULL) : NULL;
    if (run->input == NULL)
        run->input = json_object();
    run->start_ms = json_integer_value(json_object_get(row, "created_at"));
    wr_format_iso_ms(run->start_ms, run->start_iso);
    run->top->input = json_incref(run->input);
    r.run = run;
    r.keys = json_object();
    rp_add(&r, run->top);
    json_array_foreach(events, i, ev)
    {
        if ((rc = replay_event(&r, ev, err)) != 0) {
            wr_err_t inner = *err;
            rc = wr_err_set(err, rc, "execution '%s': event %lld: %s", run_id,
                            (long long)json_integer_value(json_object_get(ev, "id")), inner.msg);
            goto done;
        }
    }
    replay_act(&r);
    if (asl->timeout_ms > 0 && run->status == NULL) {
        int64_t left = asl->timeout_ms - (wr_now_ms() - run->start_ms);
        uv_timer_start(&run->exec_timer, on_exec_timeout, (uint64_t)(left > 0 ? left : 0), 0);
    }
    uv_timer_start(&run->kick, on_kick, 0, 0);
    if (!eng->quiet)
        fprintf(stderr, "execution %s of %s resumed (%zu events, %zu frames)\n", run->id, asl->name,
                json_array_size(events), r.n);
    if (out != NULL)
        *out = run;
    run = NULL;
    rc = 0;
done:
    if (run != NULL) {
        run->finished = true;
        wr_asl_run_close(run);
    }
    json_decref(row);
    json_decref(events);
    json_decref(r.keys);
    free(r.frames);
    return rc;
}

/* ==== Task tokens, stop, shutdown ==== */

int wr_asl_run_task_token(wr_asl_run_t *run, const char *token, const char *kind,
                          const char *output_json, const char *error, const char *cause)
{
    frame_t *f;
    json_t *out = NULL;
    bool failure;

    if (run->finished || run->status != NULL || token == NULL || kind == NULL)
        return WR_ENOTFOUND;
    for (f = run->frames; f != NULL; f = f->all_next)
        if (!f->done && !f->aborted && f->task_token != NULL && strcmp(f->task_token, token) == 0 &&
            (f->ta != NULL || f->token_wait) && !f->tok_pending)
            break;
    if (f == NULL)
        return WR_ENOTFOUND;
    if (strcmp(kind, "heartbeat") == 0) {
        if (f->hb_ms > 0)
            uv_timer_start(&f->hb, on_heartbeat_timeout, (uint64_t)f->hb_ms, 0);
        return 0;
    }
    if (strcmp(kind, "success") == 0) {
        out = json_loads(output_json ? output_json : "null", JSON_DECODE_ANY, NULL);
        if (out == NULL)
            return WR_EPARSE;
        if (json_size(out) > WR_ASL_PAYLOAD_MAX) {
            json_decref(out);
            return WR_EINVALID;
        }
        failure = false;
    } else if (strcmp(kind, "failure") == 0) {
        failure = true;
    } else {
        return WR_EINVALID;
    }
    if (f->ta != NULL) {
        /* The handler still runs: its end applies this result (on_attempt_done). */
        f->tok_pending = true;
        f->tok_failed = failure;
        f->tok_output = out;
        f->tok_error = wr_xstrdup(error ? error : "");
        f->tok_cause = cause ? wr_xstrdup(cause) : NULL;
        if (f->hb_ms > 0)
            uv_timer_stop(&f->hb);
        return 0;
    }
    f->token_wait = false;
    stop_task_timers(f);
    task_outcome(f, out, failure ? (error ? error : "") : NULL, cause, false);
    pump(run);
    return 0;
}

bool wr_asl_token_run_id(const char *token, char *out, size_t n)
{
    const char *dot = token ? strchr(token, '.') : NULL;

    if (dot == NULL || dot[1] == '\0' || n == 0)
        return false;
    snprintf(out, n, "%s", dot + 1);
    return true;
}

void wr_asl_run_stop(wr_asl_run_t *run, const char *error, const char *cause)
{
    if (run->finished || run->aborting || run->status != NULL || run->interrupting)
        return;
    free(run->error);
    free(run->cause);
    run->error = error ? wr_xstrdup(error) : NULL;
    run->cause = cause ? wr_xstrdup(cause) : NULL;
    run->stopped = true;
    wr_asl_run_abort(run, "stopped");
}

void wr_asl_run_interrupt(wr_asl_run_t *run)
{
    if (run->finished || run->status != NULL || run->interrupting)
        return;
    run->interrupting = true;
    uv_timer_stop(&run->kick);
    uv_timer_stop(&run->exec_timer);
    for (frame_t *f = run->frames; f != NULL; f = f->all_next) {
        uv_timer_stop(&f->timer);
        stop_task_timers(f);
        if (f->slot.queued)
            wr_engine_slot_cancel(run->eng, &f->slot);
        if (f->ta != NULL && !f->ta->canceled) {
            f->ta->canceled = true;
            f->ta->type->cancel(f->ta);
        }
    }
}

int wr_asl_run_in_flight(const wr_asl_run_t *run)
{
    return run->in_flight;
}

static void on_close(uv_handle_t *h)
{
    wr_asl_run_t *run = h->data;
    frame_t *f, *next;

    if (--run->pending_closes > 0)
        return;
    for (f = run->frames; f != NULL; f = next) {
        next = f->all_next;
        json_decref(f->vars);
        json_decref(f->input);
        json_decref(f->eff);
        json_decref(f->res);
        json_decref(f->output);
        json_decref(f->tok_output);
        free(f->tok_error);
        free(f->tok_cause);
        free(f->task_token);
        free(f->key);
        free(f->err_name);
        free(f->err_cause);
        free(f->retry_counts);
        block_free(f->child);
        free(f);
    }
    json_decref(run->input);
    json_decref(run->output);
    free(run->name);
    free(run->trigger);
    free(run->arn);
    free(run->status);
    free(run->error);
    free(run->cause);
    free(run->abort_why);
    free(run);
}

static void close_handle(wr_asl_run_t *run, uv_handle_t *h)
{
    h->data = run;
    run->pending_closes++;
    uv_close(h, on_close);
}

void wr_asl_run_close(wr_asl_run_t *run)
{
    if (run == NULL || run->closing)
        return;
    run->closing = true;
    for (frame_t *f = run->frames; f != NULL; f = f->all_next) {
        close_handle(run, (uv_handle_t *)&f->timer);
        close_handle(run, (uv_handle_t *)&f->tmo);
        close_handle(run, (uv_handle_t *)&f->hb);
    }
    close_handle(run, (uv_handle_t *)&run->kick);
    close_handle(run, (uv_handle_t *)&run->finish_timer);
    close_handle(run, (uv_handle_t *)&run->exec_timer);
}

const char *wr_asl_run_id(const wr_asl_run_t *run)
{
    return run->id;
}

const char *wr_asl_run_status(const wr_asl_run_t *run)
{
    return run->status ? run->status : "RUNNING";
}

json_t *wr_asl_run_result_json(const wr_asl_run_t *run)
{
    json_t *r = json_object();

    json_object_set_new(r, "status", json_string(wr_asl_run_status(run)));
    json_object_set_new(r, "run_id", json_string(run->id));
    if (run->status != NULL && strcmp(run->status, "SUCCEEDED") == 0) {
        json_object_set(r, "output", run->output);
    } else if (run->status != NULL) {
        json_object_set_new(r, "error", run->error ? json_string(run->error) : json_null());
        json_object_set_new(r, "cause", run->cause ? json_string(run->cause) : json_null());
    }
    return r;
}
