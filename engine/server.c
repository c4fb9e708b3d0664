/* SPDX-License-Identifier: MIT
 * engine/server.c: `weir serve` — the daemon that loads the DAG folder, fires cron schedules
 * and file triggers, runs many runs at once on one loop, answers commands from the web
 * threads, and recovers every unfinished run after a crash.
 *
 * DESIGN.md §2: one libuv loop thread owns everything here and is the only writer of the
 * database. The web front end's threads reach it only through wr_server_call() (a mutex-
 * protected queue drained on the loop after uv_async_send(), which coalesces) and learn about
 * changes through a generation counter and a condition variable (wr_server_wait_change()).
 *
 * Definitions are read and parsed off the loop (uv_queue_work: file reads and YAML parsing
 * are blocking work), then applied on the loop. A run keeps the version it started with: a
 * version is reference-counted by the DAG entry that offers it and by each run using it.
 *
 * Time: the scheduler reads a clock that tests may shift and speed up (WEIR_CLOCK, see
 * clock_init), so that cron behaviour over days is tested in seconds. */
#include "engine/server_run.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine/asl_run.h"
#include "engine/config.h"
#include "engine/cron.h"
#include "engine/def_asl.h"
#include "engine/def_dag.h"
#include "engine/loop.h"
#include "engine/run.h"
#include "engine/store_serve.h"

#define RELOAD_DEBOUNCE_MS  300
#define TICK_MS             1000
#define MAX_FIRES_PER_CHECK 500 /* catch-up creates at most this many runs per pass */

/* ==== Structures ==== */

/* One version of a definition: a DAG or a state machine. */
typedef struct wfref_s {
    wr_workflow_t *wf; /* a DAG, or NULL */
    wr_asl_t *asl;     /* a state machine, or NULL */
    int64_t version_id;
    int refs;
} wfref_t;

typedef struct active_s active_t;

typedef struct seen_file_s {
    struct seen_file_s *next;
    char *path;
    int64_t size;  /* at the last scan */
    int64_t mtime; /* at the last scan */
    int stable;    /* scans in a row with the same size and mtime */
} seen_file_t;

typedef struct dag_s {
    struct dag_s *next;
    wr_server_t *srv;
    char *name;
    char *path;
    wfref_t *cur; /* the version new runs use; NULL once removed */
    int64_t wf_id;
    bool paused;
    bool removed;
    wr_cron_t *cron;
    uv_timer_t timer; /* next scheduled fire */
    bool timer_open;
    int running;                       /* admitted runs not ended */
    active_t *queue_head, *queue_tail; /* runs waiting for max_active_runs */
    wr_limiter_t task_limit;
    seen_file_t *seen; /* file triggers: candidates not fired yet */
    bool api_defined;  /* created through the Step Functions API: not in the DAG folder */
    int64_t since;     /* when it was first loaded (scheduler clock, s): without a start_date
                          or an earlier fire, its schedule counts from there */
} dag_t;

struct active_s {
    active_t *next;  /* server list */
    active_t *qnext; /* dag queue */
    wr_server_t *srv;
    dag_t *dag;
    wfref_t *ref;
    wr_run_t *run;      /* a DAG run, or NULL */
    wr_asl_run_t *arun; /* a state machine execution, or NULL */
    bool queued;
};

struct wr_server_s {
    wr_engine_t eng;
    wr_store_t *store;
    const wr_config_t *cfg;
    json_t *config_json;
    char *dags_dir;
    char *db_path;
    char *listen;
    const wr_frontend_t *frontend;
    void *frontend_state;
    dag_t *dags;
    active_t *runs;
    int n_def_errors;
    /* commands */
    uv_async_t async;
    uv_mutex_t mu;
    uv_cond_t cond;
    wr_cmd_t *cmd_head, *cmd_tail;
    bool accepting;
    /* changes and stats */
    uv_mutex_t gen_mu;
    uv_cond_t gen_cond;
    wr_server_stats_t stats;
    /* handles */
    uv_fs_event_t watch;
    bool watch_open;
    uv_timer_t reload_timer;
    uv_timer_t tick;
    uv_timer_t stop_timer;
    uv_signal_t sigint, sigterm;
    bool reloading, reload_again;
    bool recovered; /* unfinished runs resumed: the scheduler may create runs */
    bool stopping;
    int64_t stop_deadline;
    bool interrupted;
    int64_t shutdown_grace_ms;
    /* clock */
    int64_t clock_real0, clock_sim0;
    double clock_rate;
    int exit_status;
};

static void schedule_check(dag_t *d);
static void admit_queued(dag_t *d);

/* ==== Clock ==== */

/* WEIR_CLOCK="2026-01-01T00:00:00Z" starts the scheduler's clock there; with ",RATE" it
 * runs RATE times faster than real time. Only the scheduler reads it. */
static void clock_init(wr_server_t *srv)
{
    const char *spec = getenv("WEIR_CLOCK"); /* NOLINT(concurrency-mt-unsafe): at start */
    struct tm tm;
    int used = 0;

    srv->clock_real0 = wr_now_ms();
    srv->clock_sim0 = srv->clock_real0;
    srv->clock_rate = 1.0;
    if (spec == NULL || *spec == '\0')
        return;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(spec, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) == 6 &&
        used > 0) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        srv->clock_sim0 = (int64_t)timegm(&tm) * 1000;
        if (spec[used] == ',')
            srv->clock_rate = strtod(spec + used + 1, NULL);
        if (!(srv->clock_rate > 0))
            srv->clock_rate = 1.0;
        fprintf(stderr, "weir serve: clock starts at %s, %.0fx real time (WEIR_CLOCK)\n", spec,
                srv->clock_rate);
    }
}

static int64_t clock_now_ms(const wr_server_t *srv)
{
    return srv->clock_sim0 + (int64_t)((double)(wr_now_ms() - srv->clock_real0) * srv->clock_rate);
}

/* Real milliseconds until simulated instant `sim_ms`. */
static uint64_t clock_delay(const wr_server_t *srv, int64_t sim_ms)
{
    double d = (double)(sim_ms - clock_now_ms(srv)) / srv->clock_rate;
    return d <= 0 ? 0 : (uint64_t)ceil(d);
}

/* ==== Changes and stats ==== */

static void changed(wr_server_t *srv)
{
    int tasks_running = srv->eng.running, queued = srv->eng.waiting, active = 0, wfs = 0;

    for (active_t *a = srv->runs; a; a = a->next)
        active++;
    for (dag_t *d = srv->dags; d; d = d->next)
        wfs += !d->removed;
    uv_mutex_lock(&srv->gen_mu);
    srv->stats.generation++;
    srv->stats.runs_active = active;
    srv->stats.tasks_running = tasks_running;
    srv->stats.tasks_queued = queued;
    srv->stats.workflows = wfs;
    srv->stats.definition_errors = srv->n_def_errors;
    srv->stats.shutting_down = srv->stopping;
    uv_cond_broadcast(&srv->gen_cond);
    uv_mutex_unlock(&srv->gen_mu);
}

uint64_t wr_server_wait_change(wr_server_t *srv, uint64_t seen, int64_t timeout_ms)
{
    uint64_t gen;
    int64_t deadline = wr_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    uv_mutex_lock(&srv->gen_mu);
    while (srv->stats.generation == seen && !srv->stats.shutting_down) {
        int64_t left = deadline - wr_now_ms();
        if (left <= 0 ||
            uv_cond_timedwait(&srv->gen_cond, &srv->gen_mu, (uint64_t)left * 1000000) != 0)
            break;
    }
    gen = srv->stats.generation;
    uv_mutex_unlock(&srv->gen_mu);
    return gen;
}

void wr_server_stats(wr_server_t *srv, wr_server_stats_t *out)
{
    uv_mutex_lock(&srv->gen_mu);
    *out = srv->stats;
    uv_mutex_unlock(&srv->gen_mu);
}

const char *wr_server_db_path(const wr_server_t *srv)
{
    return srv->db_path;
}

const json_t *wr_server_config(const wr_server_t *srv)
{
    return srv->config_json;
}

/* ==== Versions ==== */

static wfref_t *ref_new(wr_workflow_t *wf, wr_asl_t *asl, int64_t version_id)
{
    wfref_t *r = wr_xcalloc(1, sizeof(*r));
    r->wf = wf;
    r->asl = asl;
    r->version_id = version_id;
    r->refs = 1;
    return r;
}

static void ref_put(wfref_t *r)
{
    if (r != NULL && --r->refs == 0) {
        wr_workflow_free(r->wf);
        wr_asl_free(r->asl);
        free(r);
    }
}

static const char *ref_name(const wfref_t *r)
{
    return r->wf ? r->wf->name : r->asl->name;
}

static const char *ref_timezone(const wfref_t *r)
{
    const char *tz = r->wf ? r->wf->timezone : r->asl->timezone;
    return tz ? tz : "UTC";
}

static const char *ref_schedule(const wfref_t *r)
{
    return r->wf ? r->wf->schedule : r->asl->schedule;
}

static const char *ref_hash(const wfref_t *r)
{
    return r->wf ? r->wf->hash : r->asl->hash;
}

/* ==== Active runs: DAG runs and state machine executions ==== */

static const char *active_id(const active_t *a)
{
    return a->run ? wr_run_id(a->run) : wr_asl_run_id(a->arun);
}

static void active_close(active_t *a)
{
    if (a->run)
        wr_run_close(a->run);
    else
        wr_asl_run_close(a->arun);
}

static dag_t *dag_find(wr_server_t *srv, const char *name)
{
    for (dag_t *d = srv->dags; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

/* A version of workflow `name`: the loaded one when it matches, else rebuilt from the
 * source kept in the database (a run started before its file changed). */
static wfref_t *ref_for_version(wr_server_t *srv, const char *name, int64_t version_id,
                                wr_err_t *err)
{
    dag_t *d = dag_find(srv, name);
    char *path = NULL, *source = NULL;
    wr_workflow_t *wf = NULL;
    wr_asl_t *asl = NULL;
    int rc;

    if (d != NULL && d->cur != NULL && d->cur->version_id == version_id) {
        d->cur->refs++;
        return d->cur;
    }
    for (active_t *a = srv->runs; a; a = a->next)
        if (a->ref->version_id == version_id) {
            a->ref->refs++;
            return a->ref;
        }
    if (wr_store_version_source(srv->store, version_id, &path, &source, err) != 0)
        return NULL;
    if (wr_def_is_asl(source, strlen(source)))
        rc = wr_asl_load_string(path, source, strlen(source), &asl, NULL, err);
    else
        rc = wr_dag_load_string(path, source, strlen(source), &wf, NULL, err);
    free(path);
    free(source);
    if (rc != 0)
        return NULL;
    return ref_new(wf, asl, version_id);
}

/* ==== Runs ==== */

static void on_run_done(wr_run_t *run, void *data);

static void active_unlink(wr_server_t *srv, active_t *a)
{
    for (active_t **pp = &srv->runs; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
}

static active_t *active_new(wr_server_t *srv, dag_t *d, wfref_t *ref)
{
    active_t *a = wr_xcalloc(1, sizeof(*a));
    a->srv = srv;
    a->dag = d;
    a->ref = ref;
    a->next = srv->runs;
    srv->runs = a;
    return a;
}

static void enqueue(dag_t *d, active_t *a)
{
    a->queued = true;
    a->qnext = NULL;
    if (d->queue_tail)
        d->queue_tail->qnext = a;
    else
        d->queue_head = a;
    d->queue_tail = a;
}

static bool dag_full(const dag_t *d)
{
    if (d->cur == NULL || d->cur->wf == NULL)
        return false; /* state machines: no max_active_runs */
    return d->running >= d->cur->wf->max_active_runs;
}

static void on_asl_done(wr_asl_run_t *run, void *data);

/* Creates (and records) a new run of d's current version. */
static int start_run(dag_t *d, const json_t *input, const char *trigger, int64_t logical_ms,
                     const char *interval_start, const char *client_run_id, bool schedule_fire,
                     const char *trigger_file, char out_id[64], wr_err_t *err)
{
    wr_server_t *srv = d->srv;
    char logical[40], ds[16];
    int off = 0, rc;
    active_t *a;

    if ((rc = wr_cron_utc_offset(ref_timezone(d->cur), logical_ms / 1000, &off, err)) != 0)
        return rc;
    wr_cron_format(logical_ms / 1000, off, logical);
    snprintf(ds, sizeof(ds), "%.10s", logical);
    d->cur->refs++;
    a = active_new(srv, d, d->cur);
    if (d->cur->asl != NULL) {
        wr_asl_run_opts_t ao;
        memset(&ao, 0, sizeof(ao));
        ao.trigger = trigger;
        ao.version_id = d->cur->version_id;
        ao.logical_date = logical;
        ao.logical_ts = logical_ms / 1000;
        ao.ds = ds;
        ao.client_run_id = client_run_id;
        ao.schedule_fire = schedule_fire;
        rc = wr_asl_run_start(&srv->eng, d->cur->asl, input, &ao, on_asl_done, a, &a->arun, err);
    } else {
        wr_run_opts_t opts;
        memset(&opts, 0, sizeof(opts));
        opts.trigger = trigger;
        opts.logical_ms = logical_ms;
        opts.ds = ds;
        opts.logical_date = logical;
        opts.data_interval_start = interval_start;
        opts.version_id = d->cur->version_id;
        opts.client_run_id = client_run_id;
        opts.schedule_fire = schedule_fire;
        opts.trigger_file = trigger_file;
        opts.task_limit = &d->task_limit;
        opts.queued = dag_full(d) || srv->stopping;
        rc = wr_run_start(&srv->eng, d->cur->wf, input, &opts, on_run_done, a, &a->run, err);
        if (rc == 0 && opts.queued)
            enqueue(d, a);
    }
    if (rc != 0) {
        active_unlink(srv, a);
        ref_put(a->ref);
        free(a);
        return rc;
    }
    if (!a->queued)
        d->running++;
    if (out_id != NULL)
        snprintf(out_id, 64, "%s", active_id(a));
    changed(srv);
    return 0;
}

static void admit_queued(dag_t *d)
{
    while (d->queue_head != NULL && !dag_full(d) && !d->srv->stopping) {
        active_t *a = d->queue_head;
        d->queue_head = a->qnext;
        if (d->queue_head == NULL)
            d->queue_tail = NULL;
        a->queued = false;
        d->running++;
        wr_run_admit(a->run);
    }
}

static void run_ended(active_t *a, const char *name, const char *status)
{
    wr_server_t *srv = a->srv;
    dag_t *d = a->dag;

    fprintf(stderr, "run %s of %s ended %s\n", active_id(a), name, status);
    if (a->queued && d != NULL) { /* aborted while queued */
        for (active_t **pp = &d->queue_head; *pp; pp = &(*pp)->qnext)
            if (*pp == a) {
                *pp = a->qnext;
                break;
            }
        d->queue_tail = NULL;
        for (active_t *q = d->queue_head; q; q = q->qnext)
            d->queue_tail = q;
    } else if (d != NULL) {
        d->running--;
    }
    active_unlink(srv, a);
    active_close(a);
    ref_put(a->ref);
    free(a);
    if (d != NULL)
        admit_queued(d);
    changed(srv);
}

static void on_run_done(wr_run_t *run, void *data)
{
    run_ended(data, wr_run_workflow(run)->name, wr_run_status(run));
}

static void on_asl_done(wr_asl_run_t *run, void *data)
{
    active_t *a = data;
    run_ended(a, ref_name(a->ref), wr_asl_run_status(run));
}

/* ==== Scheduler ==== */

/* Local midnight of YYYY-MM-DD in zone tz, as Unix seconds. */
static int64_t date_start(const char *date, const char *tz)
{
    struct tm tm;
    int64_t utc;
    int off = 0;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(date, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    utc = (int64_t)timegm(&tm);
    if (wr_cron_utc_offset(tz, utc, &off, NULL) != 0)
        return utc;
    return utc - off;
}

static void on_cron_timer(uv_timer_t *t)
{
    schedule_check(wr_container_of(t, dag_t, timer));
}

static void fire(dag_t *d, int64_t at, int64_t prev)
{
    wr_server_t *srv = d->srv;
    wr_err_t err;
    char logical[40], prev_text[40];
    bool exists = false;
    int off = 0;

    if (wr_cron_utc_offset(ref_timezone(d->cur), at, &off, &err) != 0)
        return;
    wr_cron_format(at, off, logical);
    if (wr_store_fire_exists(srv->store, d->wf_id, logical, &exists, &err) != 0 || exists)
        return; /* one run per (workflow, logical date), even across restarts */
    prev_text[0] = '\0';
    if (prev > 0 && wr_cron_utc_offset(ref_timezone(d->cur), prev, &off, &err) == 0)
        wr_cron_format(prev, off, prev_text);
    if (start_run(d, NULL, "schedule", at * 1000, prev_text[0] ? prev_text : NULL, NULL, true, NULL,
                  NULL, &err) != 0) {
        fprintf(stderr, "weir serve: %s: cannot create the run for %s: %s\n", d->name, logical,
                err.msg);
        return;
    }
    uv_mutex_lock(&srv->gen_mu);
    srv->stats.scheduler_lag_ms = clock_now_ms(srv) - at * 1000;
    uv_mutex_unlock(&srv->gen_mu);
}

/* The latest fire time of d that is <= now and > after (0 when none). */
static int64_t latest_fire(dag_t *d, int64_t after, int64_t now)
{
    static const int64_t windows[] = {3600, 86400, 32 * 86400, 367 * 86400, 5 * 367 * 86400};
    const char *tz = ref_timezone(d->cur);

    for (size_t w = 0; w < WR_ARRAY_SIZE(windows); w++) {
        int64_t from = now - windows[w], t, best = 0;
        int off;
        if (from < after)
            from = after;
        t = from;
        for (int guard = 0; guard < 100000; guard++) {
            if (wr_cron_next(d->cron, tz, t, &t, &off, NULL) != 0 || t > now)
                break;
            best = t;
        }
        if (best > 0 || from == after)
            return best;
    }
    return 0;
}

static void schedule_check(dag_t *d)
{
    wr_server_t *srv = d->srv;
    const wr_workflow_t *wf;
    const char *tz, *start_date = NULL, *end_date = NULL;
    bool catchup = false;
    int64_t now, last = 0, lower, end = INT64_MAX, next;
    bool found = false;
    int off;
    wr_err_t err;

    if (d->timer_open)
        uv_timer_stop(&d->timer);
    if (d->removed || d->paused || d->cron == NULL || d->cur == NULL || srv->stopping ||
        !srv->recovered)
        return;
    wf = d->cur->wf;
    tz = ref_timezone(d->cur);
    if (wf != NULL) { /* a state machine's wrapper has no bounds: it fires from now on */
        start_date = wf->start_date;
        end_date = wf->end_date;
        catchup = wf->catchup;
    }
    now = clock_now_ms(srv) / 1000;
    if (wr_store_schedule_last(srv->store, d->wf_id, &last, &found, &err) != 0) {
        fprintf(stderr, "weir serve: %s\n", err.msg);
        return;
    }
    lower = found ? last : (start_date ? date_start(start_date, tz) - 1 : d->since);
    if (end_date)
        end = date_start(end_date, tz) + 86400 - 1;
    if (lower > 0 || found) {
        if (catchup) {
            int64_t t = lower, prev = found ? last : 0;
            for (int n = 0; n < MAX_FIRES_PER_CHECK; n++) {
                if (wr_cron_next(d->cron, tz, t, &t, &off, NULL) != 0 || t > now || t > end)
                    break;
                fire(d, t, prev);
                prev = t;
            }
        } else {
            int64_t t = latest_fire(d, lower, now < end ? now : end);
            if (t > 0)
                fire(d, t, found ? last : 0);
        }
    }
    /* Arm the timer for the next fire. */
    if (wr_cron_next(d->cron, tz, now, &next, &off, NULL) == 0 && next <= end) {
        if (!d->timer_open) {
            uv_timer_init(&srv->eng.loop, &d->timer);
            d->timer_open = true;
        }
        uv_timer_start(&d->timer, on_cron_timer, clock_delay(srv, next * 1000), 0);
    }
}

/* ==== File triggers ==== */

typedef struct {
    uv_work_t req;
    wr_server_t *srv;
    char *name;                  /* the DAG */
    json_t *found;               /* [{path, size, mtime}] */
    wr_file_trigger_t *triggers; /* copies */
    size_t n;
} scan_t;

static void scan_work(uv_work_t *req)
{
    scan_t *s = wr_container_of(req, scan_t, req);
    s->found = json_array();
    for (size_t i = 0; i < s->n; i++) {
        uv_fs_t fs;
        uv_dirent_t ent;
        if (uv_fs_scandir(NULL, &fs, s->triggers[i].path, 0, NULL) < 0) {
            uv_fs_req_cleanup(&fs);
            continue;
        }
        while (uv_fs_scandir_next(&fs, &ent) != UV_EOF) {
            char *p;
            struct stat st;
            if (ent.type == UV_DIRENT_DIR || ent.name[0] == '.' ||
                fnmatch(s->triggers[i].pattern, ent.name, 0) != 0)
                continue;
            p = wr_xasprintf("%s/%s", s->triggers[i].path, ent.name);
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
                json_array_append_new(s->found, json_pack("{s:s, s:I, s:I}", "path", p, "size",
                                                          (json_int_t)st.st_size, "mtime",
                                                          (json_int_t)st.st_mtime));
            free(p);
        }
        uv_fs_req_cleanup(&fs);
    }
}

static void scan_done(uv_work_t *req, int status)
{
    scan_t *s = wr_container_of(req, scan_t, req);
    dag_t *d = dag_find(s->srv, s->name);
    size_t i;
    json_t *f;

    (void)status;
    if (d != NULL && d->cur != NULL && !d->removed && !s->srv->stopping) {
        json_array_foreach(s->found, i, f)
        {
            const char *path = json_string_value(json_object_get(f, "path"));
            int64_t size = json_integer_value(json_object_get(f, "size"));
            int64_t mtime = json_integer_value(json_object_get(f, "mtime"));
            seen_file_t *sf = d->seen;
            bool seen = false;
            wr_err_t err;
            while (sf && strcmp(sf->path, path) != 0)
                sf = sf->next;
            if (sf == NULL) {
                if (wr_store_file_seen(s->srv->store, d->wf_id, path, &seen, &err) != 0 || seen)
                    continue;
                sf = wr_xcalloc(1, sizeof(*sf));
                sf->path = wr_xstrdup(path);
                sf->size = -1;
                sf->next = d->seen;
                d->seen = sf;
            }
            if (sf->stable < 0)
                continue; /* fired already */
            /* Complete once its size and time stayed the same over a whole scan interval
             * (a file renamed into place is complete at its first scan but waits too). */
            if (sf->size == size && sf->mtime == mtime)
                sf->stable++;
            else
                sf->stable = 0;
            sf->size = size;
            sf->mtime = mtime;
            if (sf->stable >= 1) {
                json_t *input = json_pack("{s:s}", "file", path);
                if (start_run(d, input, "file", clock_now_ms(s->srv), NULL, NULL, false, path, NULL,
                              &err) != 0)
                    fprintf(stderr, "weir serve: %s: file trigger %s: %s\n", d->name, path,
                            err.msg);
                sf->stable = -1;
                json_decref(input);
            }
        }
    }
    for (size_t k = 0; k < s->n; k++) {
        free(s->triggers[k].path);
        free(s->triggers[k].pattern);
    }
    free(s->triggers);
    json_decref(s->found);
    free(s->name);
    free(s);
}

static void scan_triggers(wr_server_t *srv)
{
    for (dag_t *d = srv->dags; d; d = d->next) {
        const wr_workflow_t *wf = d->cur ? d->cur->wf : NULL;
        scan_t *s;
        if (wf == NULL || d->removed || wf->n_file_triggers == 0)
            continue;
        s = wr_xcalloc(1, sizeof(*s));
        s->srv = srv;
        s->name = wr_xstrdup(d->name);
        s->n = wf->n_file_triggers;
        s->triggers = wr_xcalloc(s->n, sizeof(wr_file_trigger_t));
        for (size_t i = 0; i < s->n; i++) {
            s->triggers[i].path = wr_xstrdup(wf->file_triggers[i].path);
            s->triggers[i].pattern = wr_xstrdup(wf->file_triggers[i].pattern);
        }
        uv_queue_work(&srv->eng.loop, &s->req, scan_work, scan_done);
    }
}

/* ==== Loading the DAG folder ==== */

typedef struct loaded_s {
    char *path;
    wr_workflow_t *wf; /* a DAG, or */
    wr_asl_t *asl;     /* a state machine, or both NULL with problems */
    char *problems;
} loaded_t;

typedef struct {
    uv_work_t req;
    wr_server_t *srv;
    char *dir;
    loaded_t *files;
    size_t n;
} reload_t;

static bool is_definition_file(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.')
        return false;
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

/* On a thread-pool thread: reads and parses every definition file. */
static void reload_work(uv_work_t *req)
{
    reload_t *r = wr_container_of(req, reload_t, req);
    uv_fs_t fs;
    uv_dirent_t ent;
    size_t cap = 16;

    r->files = wr_xcalloc(cap, sizeof(loaded_t));
    if (uv_fs_scandir(NULL, &fs, r->dir, 0, NULL) < 0) {
        uv_fs_req_cleanup(&fs);
        return;
    }
    while (uv_fs_scandir_next(&fs, &ent) != UV_EOF) {
        loaded_t *l;
        char *text = NULL;
        size_t len = 0;
        wr_err_t err;
        if (ent.type == UV_DIRENT_DIR || !is_definition_file(ent.name))
            continue;
        if (r->n == cap)
            r->files = wr_xrealloc(r->files, (cap *= 2) * sizeof(loaded_t));
        l = &r->files[r->n++];
        memset(l, 0, sizeof(*l));
        l->path = wr_xasprintf("%s/%s", r->dir, ent.name);
        if (wr_read_file(l->path, WR_DEF_MAX_BYTES, &text, &len, &err) != 0) {
            l->problems = wr_xasprintf("%s\n", err.msg);
            continue;
        }
        if (wr_def_is_asl(text, len)) {
            if (wr_asl_load_string(l->path, text, len, &l->asl, &l->problems, &err) != 0 &&
                l->problems == NULL)
                l->problems = wr_xasprintf("%s\n", err.msg);
        } else if (wr_dag_load_string(l->path, text, len, &l->wf, &l->problems, &err) != 0 &&
                   l->problems == NULL) {
            l->problems = wr_xasprintf("%s\n", err.msg);
        }
        free(text);
    }
    uv_fs_req_cleanup(&fs);
}

static void dag_set_version(dag_t *d, wr_workflow_t *wf, wr_asl_t *asl, int64_t version_id)
{
    wr_err_t err;

    ref_put(d->cur);
    d->cur = ref_new(wf, asl, version_id);
    wr_cron_free(d->cron);
    d->cron = NULL;
    if (ref_schedule(d->cur) && wr_cron_parse(ref_schedule(d->cur), &d->cron, &err) != 0)
        d->cron = NULL; /* validated at load: cannot happen */
    d->task_limit.limit = wf ? wf->max_active_tasks : 0;
}

/* Makes `cur` (a DAG or state machine from `path`) the current version of its workflow.
 * Returns the DAG entry, or NULL after logging a store error. Takes ownership of wf/asl. */
static dag_t *install_version(wr_server_t *srv, const char *path, wr_workflow_t *wf, wr_asl_t *asl,
                              bool api_defined)
{
    const char *name = wf ? wf->name : asl->name;
    const char *hash = wf ? wf->hash : asl->hash;
    const char *source = wf ? wf->source : asl->source;
    const char *schedule = wf ? wf->schedule : asl->schedule;
    const char *tz = wf ? wf->timezone : asl->timezone;
    dag_t *d = dag_find(srv, name);
    int64_t wf_id = 0, version_id = 0;
    bool paused = false;
    wr_err_t err;

    if (wr_store_definition_loaded(srv->store, name, wf ? "dag" : "asl", path, source, hash,
                                   schedule, tz ? tz : "UTC", &wf_id, &version_id, &paused,
                                   &err) != 0) {
        fprintf(stderr, "weir serve: %s\n", err.msg);
        wr_workflow_free(wf);
        wr_asl_free(asl);
        return NULL;
    }
    if (d == NULL) {
        d = wr_xcalloc(1, sizeof(*d));
        d->srv = srv;
        d->name = wr_xstrdup(name);
        d->since = clock_now_ms(srv) / 1000;
        d->next = srv->dags;
        srv->dags = d;
    }
    free(d->path);
    d->path = wr_xstrdup(path);
    d->wf_id = wf_id;
    d->paused = paused;
    d->removed = false;
    d->api_defined = api_defined;
    fprintf(stderr, "weir serve: %s: loaded from %s (%s%s%s%s)\n", name, path,
            wf ? "DAG" : "state machine", schedule ? ", schedule " : "", schedule ? schedule : "",
            paused ? ", paused" : "");
    dag_set_version(d, wf, asl, version_id);
    if (!srv->stopping)
        schedule_check(d);
    return d;
}

/* On the loop: applies what reload_work found. */
static void apply_loaded(wr_server_t *srv, loaded_t *files, size_t n)
{
    wr_err_t err;
    int errors = 0;

    for (dag_t *d = srv->dags; d; d = d->next) {
        bool present = false;
        for (size_t i = 0; i < n && !present; i++)
            present = strcmp(files[i].path, d->path) == 0;
        if (!present && !d->removed && !d->api_defined) {
            /* Its file is gone: no new runs; runs in progress finish on their version. */
            d->removed = true;
            if (d->timer_open)
                uv_timer_stop(&d->timer);
            if (wr_store_definition_removed(srv->store, d->name, &err) != 0)
                fprintf(stderr, "weir serve: %s\n", err.msg);
            fprintf(stderr, "weir serve: %s: removed (%s is gone)\n", d->name, d->path);
        }
    }
    for (size_t i = 0; i < n; i++) {
        loaded_t *l = &files[i];
        const char *name = l->wf ? l->wf->name : l->asl ? l->asl->name : NULL;
        const char *hash = l->wf ? l->wf->hash : l->asl ? l->asl->hash : NULL;
        dag_t *d = name ? dag_find(srv, name) : NULL;

        if (d != NULL && !d->removed && strcmp(d->path, l->path) != 0) {
            free(l->problems);
            l->problems = wr_xasprintf("%s:1:1: workflow name '%s' is already defined in %s\n",
                                       l->path, name, d->path);
            wr_workflow_free(l->wf);
            wr_asl_free(l->asl);
            l->wf = NULL;
            l->asl = NULL;
            name = NULL;
        }
        if (name == NULL) {
            errors++;
            fprintf(stderr, "weir serve: not loaded:\n%s", l->problems ? l->problems : "?\n");
            if (wr_store_definition_errors(srv->store, l->path, l->problems, &err) != 0)
                fprintf(stderr, "weir serve: %s\n", err.msg);
            continue;
        }
        if (wr_store_definition_errors(srv->store, l->path, NULL, &err) != 0)
            fprintf(stderr, "weir serve: %s\n", err.msg);
        if (d != NULL && d->cur != NULL && !d->removed && strcmp(ref_hash(d->cur), hash) == 0) {
            wr_workflow_free(l->wf); /* unchanged */
            wr_asl_free(l->asl);
        } else {
            install_version(srv, l->path, l->wf, l->asl, false);
        }
        l->wf = NULL;
        l->asl = NULL;
    }
    srv->n_def_errors = errors;
    changed(srv);
}

static void reload_free(reload_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->files[i].path);
        free(r->files[i].problems);
        wr_workflow_free(r->files[i].wf);
        wr_asl_free(r->files[i].asl);
    }
    free(r->files);
    free(r->dir);
    free(r);
}

static void start_reload(wr_server_t *srv);

static void reload_done(uv_work_t *req, int status)
{
    reload_t *r = wr_container_of(req, reload_t, req);
    wr_server_t *srv = r->srv;

    (void)status;
    if (!srv->stopping)
        apply_loaded(srv, r->files, r->n);
    reload_free(r);
    srv->reloading = false;
    if (srv->reload_again && !srv->stopping) {
        srv->reload_again = false;
        start_reload(srv);
    }
}

static void start_reload(wr_server_t *srv)
{
    reload_t *r;

    if (srv->reloading) {
        srv->reload_again = true;
        return;
    }
    srv->reloading = true;
    r = wr_xcalloc(1, sizeof(*r));
    r->srv = srv;
    r->dir = wr_xstrdup(srv->dags_dir);
    uv_queue_work(&srv->eng.loop, &r->req, reload_work, reload_done);
}

static void on_reload_timer(uv_timer_t *t)
{
    start_reload(wr_container_of(t, wr_server_t, reload_timer));
}

static void on_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    wr_server_t *srv = wr_container_of(h, wr_server_t, watch);
    (void)filename;
    (void)events;
    (void)status;
    /* Editors write files in several steps: wait until the folder is quiet. */
    uv_timer_start(&srv->reload_timer, on_reload_timer, RELOAD_DEBOUNCE_MS, 0);
}

/* ==== Commands from other threads ==== */

int wr_server_call(wr_server_t *srv, wr_cmd_t *cmd)
{
    cmd->done_ = false;
    cmd->next_ = NULL;
    cmd->status = 0;
    cmd->error[0] = cmd->message[0] = cmd->out_run_id[0] = '\0';
    uv_mutex_lock(&srv->mu);
    if (!srv->accepting) {
        uv_mutex_unlock(&srv->mu);
        cmd->status = 503;
        snprintf(cmd->error, sizeof(cmd->error), "shutting_down");
        snprintf(cmd->message, sizeof(cmd->message), "the server is shutting down");
        return WR_ECANCELED;
    }
    if (srv->cmd_tail)
        srv->cmd_tail->next_ = cmd;
    else
        srv->cmd_head = cmd;
    srv->cmd_tail = cmd;
    uv_async_send(&srv->async);
    while (!cmd->done_)
        uv_cond_wait(&srv->cond, &srv->mu);
    uv_mutex_unlock(&srv->mu);
    return cmd->status == 503 ? WR_ECANCELED : 0;
}

WR_PRINTF(4, 5)
static void reply(wr_cmd_t *cmd, int status, const char *error, const char *fmt, ...)
{
    va_list ap;
    cmd->status = status;
    snprintf(cmd->error, sizeof(cmd->error), "%s", error ? error : "");
    va_start(ap, fmt);
    vsnprintf(cmd->message, sizeof(cmd->message), fmt, ap);
    va_end(ap);
}

static active_t *active_find(wr_server_t *srv, const char *run_id)
{
    for (active_t *a = srv->runs; a; a = a->next)
        if (strcmp(active_id(a), run_id) == 0)
            return a;
    return NULL;
}

static void cmd_trigger(wr_server_t *srv, wr_cmd_t *cmd)
{
    dag_t *d = cmd->workflow ? dag_find(srv, cmd->workflow) : NULL;
    char existing[64];
    wr_err_t err;

    if (d == NULL || d->removed || d->cur == NULL) {
        reply(cmd, 404, "not_found", "no workflow named '%s'", cmd->workflow ? cmd->workflow : "");
        return;
    }
    if (cmd->input != NULL && !json_is_object(cmd->input) && d->cur->wf != NULL) {
        reply(cmd, 400, "bad_request", "'input' must be a JSON object");
        return;
    }
    if (cmd->run_id != NULL) {
        if (wr_store_run_by_client_id(srv->store, d->wf_id, cmd->run_id, existing, &err) != 0) {
            reply(cmd, 500, "store", "%s", err.msg);
            return;
        }
        if (existing[0] != '\0') {
            snprintf(cmd->out_run_id, sizeof(cmd->out_run_id), "%s", existing);
            reply(cmd, 200, NULL, "run '%s' exists already", cmd->run_id);
            return;
        }
    }
    if (start_run(d, cmd->input, "api", clock_now_ms(srv), NULL, cmd->run_id, false, NULL,
                  cmd->out_run_id, &err) != 0) {
        reply(cmd, 500, "store", "%s", err.msg);
        return;
    }
    reply(cmd, 201, NULL, "run created");
}

static void cmd_cancel(wr_server_t *srv, wr_cmd_t *cmd)
{
    active_t *a = cmd->run_id ? active_find(srv, cmd->run_id) : NULL;
    json_t *state = NULL;
    wr_err_t err;

    if (a != NULL) {
        snprintf(cmd->out_run_id, sizeof(cmd->out_run_id), "%s", cmd->run_id);
        if (a->run)
            wr_run_abort(a->run, cmd->actor ? "canceled through the API" : "canceled");
        else if (cmd->stop_error != NULL || cmd->stop_cause != NULL)
            wr_asl_run_stop(a->arun, cmd->stop_error, cmd->stop_cause);
        else
            wr_asl_run_abort(a->arun, "canceled");
        reply(cmd, 202, NULL, "canceling");
        return;
    }
    if (cmd->run_id && wr_store_run_load(srv->store, cmd->run_id, &state, &err) == 0 &&
        state != NULL) {
        reply(cmd, 409, "conflict", "run '%s' has already ended (%s)", cmd->run_id,
              json_string_value(json_object_get(state, "status")));
        json_decref(state);
        return;
    }
    reply(cmd, 404, "not_found", "no run '%s'", cmd->run_id ? cmd->run_id : "");
}

static int resume_one(wr_server_t *srv, const json_t *state, bool retry, wr_err_t *err)
{
    const char *name = json_string_value(json_object_get(state, "workflow"));
    int64_t version_id = json_integer_value(json_object_get(state, "version_id"));
    const char *status = json_string_value(json_object_get(state, "status"));
    dag_t *d = dag_find(srv, name);
    wfref_t *ref = ref_for_version(srv, name, version_id, err);
    active_t *a;
    bool queued = !retry && status && strcmp(status, "QUEUED") == 0;
    int rc;

    if (ref == NULL)
        return WR_ENOTFOUND;
    if (ref->asl != NULL) {
        a = active_new(srv, d, ref);
        rc = wr_asl_run_resume(&srv->eng, ref->asl, json_string_value(json_object_get(state, "id")),
                               on_asl_done, a, &a->arun, err);
        if (rc != 0) {
            active_unlink(srv, a);
            ref_put(ref);
            free(a);
            return rc;
        }
        if (d != NULL)
            d->running++;
        return 0;
    }
    a = active_new(srv, d, ref);
    rc = wr_run_resume(&srv->eng, ref->wf, state, retry, d ? &d->task_limit : NULL, on_run_done, a,
                       &a->run, err);
    if (rc != 0) {
        active_unlink(srv, a);
        ref_put(ref);
        free(a);
        return rc;
    }
    if (queued && d != NULL)
        enqueue(d, a);
    else if (d != NULL)
        d->running++;
    return 0;
}

/* ==== State machines created through the Step Functions API ==== */

static int sm_parse(const wr_cmd_t *cmd, wr_asl_t **out, char **problems, wr_err_t *err)
{
    char *path = wr_xasprintf("api:%s", cmd->workflow);
    int rc;

    *problems = NULL;
    rc = wr_asl_load_string(path, cmd->definition, strlen(cmd->definition), out, problems, err);
    free(path);
    if (rc == 0) {
        /* The API's name wins over any name inside the definition. */
        free((*out)->name);
        (*out)->name = wr_xstrdup(cmd->workflow);
    }
    return rc;
}

static void cmd_sm_define(wr_server_t *srv, wr_cmd_t *cmd, bool create)
{
    dag_t *d = cmd->workflow ? dag_find(srv, cmd->workflow) : NULL;
    wr_asl_t *asl = NULL;
    char *problems = NULL, *path;
    wr_err_t err;

    if (cmd->workflow == NULL || cmd->definition == NULL) {
        reply(cmd, 400, "bad_request", "a name and a definition are required");
        return;
    }
    if (d != NULL && !d->removed && !d->api_defined) {
        reply(cmd, 409, "conflict", "'%s' is defined by the file %s", cmd->workflow, d->path);
        return;
    }
    if (!create && (d == NULL || d->removed)) {
        reply(cmd, 404, "not_found", "no state machine named '%s'", cmd->workflow);
        return;
    }
    if (sm_parse(cmd, &asl, &problems, &err) != 0) {
        reply(cmd, 400, "invalid_definition", "%s", problems ? problems : err.msg);
        free(problems);
        return;
    }
    if (d != NULL && !d->removed && d->cur != NULL) {
        bool same = strcmp(ref_hash(d->cur), asl->hash) == 0;
        if (create && !same) {
            reply(cmd, 409, "conflict", "state machine '%s' exists with another definition",
                  cmd->workflow);
            wr_asl_free(asl);
            return;
        }
        if (same) {
            reply(cmd, 200, NULL, "unchanged");
            wr_asl_free(asl);
            return;
        }
    }
    path = wr_xasprintf("api:%s", cmd->workflow);
    d = install_version(srv, path, NULL, asl, true);
    free(path);
    if (d == NULL) {
        reply(cmd, 500, "store", "the definition could not be recorded");
        return;
    }
    reply(cmd, create ? 201 : 200, NULL, "%s", create ? "created" : "updated");
    changed(srv);
}

static void cmd_sm_delete(wr_server_t *srv, wr_cmd_t *cmd)
{
    dag_t *d = cmd->workflow ? dag_find(srv, cmd->workflow) : NULL;
    wr_err_t err;

    if (d == NULL || d->removed || !d->api_defined) {
        reply(cmd, 404, "not_found", "no state machine named '%s' created through the API",
              cmd->workflow ? cmd->workflow : "");
        return;
    }
    d->removed = true;
    if (d->timer_open)
        uv_timer_stop(&d->timer);
    if (wr_store_definition_removed(srv->store, d->name, &err) != 0) {
        reply(cmd, 500, "store", "%s", err.msg);
        return;
    }
    reply(cmd, 200, NULL, "deleted; running executions finish");
    changed(srv);
}

static void cmd_task_token(wr_server_t *srv, wr_cmd_t *cmd)
{
    char run_id[160];
    active_t *a;
    int rc;

    if (cmd->token == NULL || cmd->token_kind == NULL ||
        !wr_asl_token_run_id(cmd->token, run_id, sizeof(run_id)) ||
        (a = active_find(srv, run_id)) == NULL || a->arun == NULL) {
        reply(cmd, 404, "not_found", "no task is waiting for that token");
        return;
    }
    rc = wr_asl_run_task_token(a->arun, cmd->token, cmd->token_kind, cmd->definition,
                               cmd->stop_error, cmd->stop_cause);
    if (rc == WR_ENOTFOUND)
        reply(cmd, 404, "not_found", "no task is waiting for that token");
    else if (rc != 0)
        reply(cmd, 400, "bad_request", "the task result is not valid (%s)", wr_strerror(rc));
    else
        reply(cmd, 200, NULL, "applied");
}

/* State machines created through the API before this start. */
static void load_api_definitions(wr_server_t *srv)
{
    json_t *defs = NULL, *def;
    size_t i;
    wr_err_t err;

    if (wr_store_api_definitions(srv->store, &defs, &err) != 0) {
        fprintf(stderr, "weir serve: %s\n", err.msg);
        return;
    }
    json_array_foreach(defs, i, def)
    {
        const char *name = json_string_value(json_object_get(def, "name"));
        const char *path = json_string_value(json_object_get(def, "path"));
        const char *source = json_string_value(json_object_get(def, "source"));
        wr_asl_t *asl = NULL;
        if (dag_find(srv, name) != NULL)
            continue; /* a file took the name meanwhile: the file wins */
        if (wr_asl_load_string(path, source, strlen(source), &asl, NULL, &err) != 0) {
            fprintf(stderr, "weir serve: %s: %s\n", name, err.msg);
            continue;
        }
        free(asl->name);
        asl->name = wr_xstrdup(name);
        install_version(srv, path, NULL, asl, true);
    }
    json_decref(defs);
}

static void cmd_retry(wr_server_t *srv, wr_cmd_t *cmd)
{
    json_t *state = NULL;
    const char *status;
    wr_err_t err;

    if (cmd->run_id && active_find(srv, cmd->run_id) != NULL) {
        reply(cmd, 409, "conflict", "run '%s' has not ended", cmd->run_id);
        return;
    }
    if (cmd->run_id == NULL || wr_store_run_load(srv->store, cmd->run_id, &state, &err) != 0 ||
        state == NULL) {
        reply(cmd, 404, "not_found", "no run '%s'", cmd->run_id ? cmd->run_id : "");
        return;
    }
    status = json_string_value(json_object_get(state, "status"));
    {
        dag_t *d = dag_find(srv, json_string_value(json_object_get(state, "workflow")));
        if (d != NULL && d->cur != NULL && d->cur->asl != NULL) {
            reply(cmd, 409, "conflict",
                  "state machine executions are not retried: start a new execution");
            json_decref(state);
            return;
        }
    }
    if (status == NULL || (strcmp(status, "FAILED") != 0 && strcmp(status, "ABORTED") != 0)) {
        reply(cmd, 409, "conflict", "run '%s' is %s: only FAILED or ABORTED runs are retried",
              cmd->run_id, status ? status : "?");
    } else if (resume_one(srv, state, true, &err) != 0) {
        reply(cmd, 500, "store", "%s", err.msg);
    } else {
        snprintf(cmd->out_run_id, sizeof(cmd->out_run_id), "%s", cmd->run_id);
        reply(cmd, 202, NULL, "retrying the failed tasks");
        changed(srv);
    }
    json_decref(state);
}

static void cmd_pause(wr_server_t *srv, wr_cmd_t *cmd)
{
    dag_t *d = cmd->workflow ? dag_find(srv, cmd->workflow) : NULL;
    wr_err_t err;

    if (d == NULL || d->removed) {
        reply(cmd, 404, "not_found", "no workflow named '%s'", cmd->workflow ? cmd->workflow : "");
        return;
    }
    if (wr_store_workflow_set_paused(srv->store, d->name, cmd->paused, &err) != 0) {
        reply(cmd, 500, "store", "%s", err.msg);
        return;
    }
    d->paused = cmd->paused;
    if (d->paused) {
        if (d->timer_open)
            uv_timer_stop(&d->timer);
    } else {
        schedule_check(d);
    }
    fprintf(stderr, "weir serve: %s: %s\n", d->name, d->paused ? "paused" : "unpaused");
    reply(cmd, 200, NULL, "%s", d->paused ? "paused" : "unpaused");
    changed(srv);
}

static void on_async(uv_async_t *h)
{
    wr_server_t *srv = wr_container_of(h, wr_server_t, async);
    wr_cmd_t *list;

    /* uv_async_send() coalesces: take the whole queue each time. */
    uv_mutex_lock(&srv->mu);
    list = srv->cmd_head;
    srv->cmd_head = srv->cmd_tail = NULL;
    uv_mutex_unlock(&srv->mu);
    while (list != NULL) {
        wr_cmd_t *cmd = list;
        list = cmd->next_;
        if (srv->stopping && cmd->kind != WR_CMD_CANCEL) {
            reply(cmd, 503, "shutting_down", "the server is shutting down");
        } else {
            switch (cmd->kind) {
            case WR_CMD_TRIGGER:
                cmd_trigger(srv, cmd);
                break;
            case WR_CMD_CANCEL:
                cmd_cancel(srv, cmd);
                break;
            case WR_CMD_RETRY:
                cmd_retry(srv, cmd);
                break;
            case WR_CMD_SET_PAUSED:
                cmd_pause(srv, cmd);
                break;
            case WR_CMD_SM_CREATE:
                cmd_sm_define(srv, cmd, true);
                break;
            case WR_CMD_SM_UPDATE:
                cmd_sm_define(srv, cmd, false);
                break;
            case WR_CMD_SM_DELETE:
                cmd_sm_delete(srv, cmd);
                break;
            case WR_CMD_TASK_TOKEN:
                cmd_task_token(srv, cmd);
                break;
            default:
                reply(cmd, 400, "bad_request", "unknown command");
            }
        }
        uv_mutex_lock(&srv->mu);
        cmd->done_ = true;
        uv_cond_broadcast(&srv->cond);
        uv_mutex_unlock(&srv->mu);
    }
}

/* ==== Lifecycle ==== */

static void on_tick(uv_timer_t *t)
{
    wr_server_t *srv = wr_container_of(t, wr_server_t, tick);
    scan_triggers(srv);
    changed(srv);
}

static void finish_stop(wr_server_t *srv)
{
    wr_cmd_t *list;

    uv_mutex_lock(&srv->mu);
    srv->accepting = false;
    list = srv->cmd_head;
    srv->cmd_head = srv->cmd_tail = NULL;
    for (; list; list = list->next_) {
        reply(list, 503, "shutting_down", "the server is shutting down");
        list->done_ = true;
    }
    uv_cond_broadcast(&srv->cond);
    uv_mutex_unlock(&srv->mu);
    changed(srv);
    uv_timer_stop(&srv->stop_timer);
    uv_stop(&srv->eng.loop);
}

static void on_stop_timer(uv_timer_t *t)
{
    wr_server_t *srv = wr_container_of(t, wr_server_t, stop_timer);
    int in_flight = 0;

    for (active_t *a = srv->runs; a; a = a->next)
        in_flight += a->run ? wr_run_in_flight(a->run) : wr_asl_run_in_flight(a->arun);
    if (in_flight == 0) {
        finish_stop(srv);
        return;
    }
    if (!srv->interrupted && wr_now_ms() >= srv->stop_deadline) {
        fprintf(stderr, "weir serve: grace period over: stopping %d running task(s)\n", in_flight);
        srv->interrupted = true;
        for (active_t *a = srv->runs; a; a = a->next)
            if (a->run)
                wr_run_interrupt(a->run);
            else
                wr_asl_run_interrupt(a->arun);
    }
}

static void begin_stop(wr_server_t *srv, const char *why)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    fprintf(stderr, "weir serve: %s: no new work; waiting up to %lld ms for running tasks\n", why,
            (long long)srv->shutdown_grace_ms);
    for (dag_t *d = srv->dags; d; d = d->next)
        if (d->timer_open)
            uv_timer_stop(&d->timer);
    uv_timer_stop(&srv->tick);
    uv_timer_stop(&srv->reload_timer);
    if (srv->watch_open)
        uv_fs_event_stop(&srv->watch);
    /* Tasks waiting for a slot stay queued for the next start. */
    for (active_t *a = srv->runs; a; a = a->next)
        if (a->run)
            wr_run_interrupt_waiting(a->run);
    srv->stop_deadline = wr_now_ms() + srv->shutdown_grace_ms;
    changed(srv);
    uv_timer_start(&srv->stop_timer, on_stop_timer, 0, 100);
}

static void on_signal(uv_signal_t *h, int signum)
{
    wr_server_t *srv = h->data;
    if (srv->stopping && signum == SIGINT) {
        /* A second Ctrl-C: stop running tasks now. */
        srv->stop_deadline = 0;
        return;
    }
    begin_stop(srv, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* Resumes every run the previous process left unfinished. */
static void recover(wr_server_t *srv)
{
    json_t *runs = NULL, *r;
    size_t i;
    wr_err_t err;

    if (wr_store_runs_unfinished(srv->store, &runs, &err) != 0) {
        fprintf(stderr, "weir serve: %s\n", err.msg);
        return;
    }
    json_array_foreach(runs, i, r)
    {
        if (resume_one(srv, r, false, &err) != 0)
            fprintf(stderr, "weir serve: cannot resume run %s: %s\n",
                    json_string_value(json_object_get(r, "id")), err.msg);
    }
    if (json_array_size(runs) > 0)
        fprintf(stderr, "weir serve: resumed %zu unfinished run(s)\n", json_array_size(runs));
    json_decref(runs);
    for (dag_t *d = srv->dags; d; d = d->next)
        admit_queued(d);
    srv->recovered = true;
    for (dag_t *d = srv->dags; d; d = d->next)
        schedule_check(d);
}

static void server_free(wr_server_t *srv)
{
    /* Close what points into our memory, let the loop run the close callbacks, then free. */
    while (srv->runs) {
        active_t *a = srv->runs;
        srv->runs = a->next;
        active_close(a);
        ref_put(a->ref);
        free(a);
    }
    for (dag_t *d = srv->dags; d; d = d->next)
        if (d->timer_open)
            uv_close((uv_handle_t *)&d->timer, NULL);
    uv_run(&srv->eng.loop, UV_RUN_NOWAIT);
    while (srv->dags) {
        dag_t *d = srv->dags;
        srv->dags = d->next;
        while (d->seen) {
            seen_file_t *sf = d->seen;
            d->seen = sf->next;
            free(sf->path);
            free(sf);
        }
        ref_put(d->cur);
        wr_cron_free(d->cron);
        free(d->name);
        free(d->path);
        free(d);
    }
}

int wr_server_run(const wr_server_opts_t *opts, wr_err_t *err)
{
    wr_server_t *srv = wr_xcalloc(1, sizeof(*srv));
    reload_t *first = NULL;
    bool eng_ready = false;
    const json_t *grace;
    int rc;

    srv->cfg = opts->config;
    srv->config_json = opts->config && opts->config->raw ? opts->config->raw : NULL;
    srv->dags_dir = wr_xstrdup(opts->dags_dir);
    srv->db_path = wr_xstrdup(opts->db_path);
    srv->listen = wr_xstrdup(opts->listen);
    srv->frontend = opts->frontend;
    srv->shutdown_grace_ms = 30000;
    grace = json_object_get(srv->config_json, "shutdown_grace");
    if (json_is_string(grace)) {
        int64_t ms;
        if ((rc = wr_duration_parse(json_string_value(grace), &ms, err)) != 0)
            goto done;
        srv->shutdown_grace_ms = ms;
    } else if (json_is_integer(grace)) {
        srv->shutdown_grace_ms = json_integer_value(grace) * 1000;
    }
    clock_init(srv);
    srv->stats.started_at_ms = wr_now_ms();
    if ((rc = wr_store_open(srv->db_path, &srv->store, err)) != 0)
        goto done;
    if ((rc = wr_engine_init(&srv->eng, err)) != 0)
        goto done;
    eng_ready = true;
    srv->eng.store = srv->store;
    srv->eng.serve_mode = true;
    srv->eng.parallelism = opts->parallelism;
    srv->eng.functions_dir = wr_xstrdup(opts->functions_dir);
    srv->eng.self_exe = wr_xstrdup(opts->self_exe);
    srv->eng.db_path = wr_xstrdup(srv->db_path);
    srv->eng.config = opts->config;
    if ((rc = wr_engine_set_pools(&srv->eng, json_object_get(srv->config_json, "pools"), err)))
        goto done;
    uv_mutex_init(&srv->mu);
    uv_cond_init(&srv->cond);
    uv_mutex_init(&srv->gen_mu);
    uv_cond_init(&srv->gen_cond);
    uv_async_init(&srv->eng.loop, &srv->async, on_async);
    uv_timer_init(&srv->eng.loop, &srv->reload_timer);
    uv_timer_init(&srv->eng.loop, &srv->tick);
    uv_timer_init(&srv->eng.loop, &srv->stop_timer);
    uv_signal_init(&srv->eng.loop, &srv->sigint);
    uv_signal_init(&srv->eng.loop, &srv->sigterm);
    srv->sigint.data = srv->sigterm.data = srv;
    uv_signal_start(&srv->sigint, on_signal, SIGINT);
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);

    /* The first load happens before the loop runs, so that recovery sees every DAG. */
    first = wr_xcalloc(1, sizeof(*first));
    first->srv = srv;
    first->dir = wr_xstrdup(srv->dags_dir);
    reload_work(&first->req);
    apply_loaded(srv, first->files, first->n);
    reload_free(first);
    load_api_definitions(srv);
    recover(srv);
    if (uv_fs_event_init(&srv->eng.loop, &srv->watch) == 0) {
        srv->watch_open = true;
        if (uv_fs_event_start(&srv->watch, on_dir_event, srv->dags_dir, 0) != 0)
            fprintf(stderr, "weir serve: cannot watch %s: reload on restart only\n", srv->dags_dir);
    }
    uv_timer_start(&srv->tick, on_tick, TICK_MS, TICK_MS);
    uv_mutex_lock(&srv->mu);
    srv->accepting = true;
    uv_mutex_unlock(&srv->mu);
    if (srv->frontend != NULL &&
        (rc = srv->frontend->start(srv, srv->listen, &srv->frontend_state, err)) != 0)
        goto done;
    fprintf(stderr, "weir serve: listening on http://%s (dags %s, db %s)\n", srv->listen,
            srv->dags_dir, srv->db_path);
    changed(srv);
    uv_run(&srv->eng.loop, UV_RUN_DEFAULT);
    rc = 0;
done:
    if (srv->frontend != NULL && srv->frontend_state != NULL)
        srv->frontend->stop(srv->frontend_state);
    if (eng_ready) {
        server_free(srv);
        wr_engine_dispose(&srv->eng);
        uv_mutex_destroy(&srv->mu);
        uv_cond_destroy(&srv->cond);
        uv_mutex_destroy(&srv->gen_mu);
        uv_cond_destroy(&srv->gen_cond);
    }
    wr_store_close(srv->store);
    free(srv->dags_dir);
    free(srv->db_path);
    free(srv->listen);
    free(srv);
    if (rc == 0)
        fprintf(stderr, "weir serve: stopped\n");
    return rc;
}
