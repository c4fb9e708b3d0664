/* SPDX-License-Identifier: MIT
 * tests/unit/test_run.c: DAG runs in-process on a private loop with an in-memory store:
 * trigger rules, propagation, catch routing, abort, and what the store records. */
#include "engine/run.h"

#include <stdlib.h>
#include <string.h>

#include "engine/def_dag.h"
#include "tests/unit/harness.h"

typedef struct {
    wr_engine_t eng;
    wr_store_t *store;
    wr_workflow_t *wf;
    wr_run_t *run;
    json_t *result;
    bool done;
    uv_timer_t abort_timer;
} fixture_t;

static void on_done(wr_run_t *run, void *data)
{
    fixture_t *f = data;
    f->done = true;
    f->result = wr_run_result_json(run);
}

static void on_abort_timer(uv_timer_t *t)
{
    fixture_t *f = wr_container_of(t, fixture_t, abort_timer);
    wr_run_abort(f->run, "test abort");
}

/* Runs the DAG in `text`; if abort_after_ms >= 0, aborts the run then. */
static json_t *run_dag(const char *text, int64_t abort_after_ms, fixture_t *f)
{
    wr_run_opts_t opts;
    int64_t version = 0;
    wr_err_t err;
    char *all = NULL;

    memset(f, 0, sizeof(*f));
    if (wr_dag_load_string("t.yaml", text, strlen(text), &f->wf, &all, &err) != 0) {
        fprintf(stderr, "%s", all);
        abort();
    }
    ASSERT_OK(wr_store_open(":memory:", &f->store, NULL));
    ASSERT_OK(wr_store_definition_put(f->store, f->wf->name, "dag", "t.yaml", f->wf->source,
                                      f->wf->hash, &version, NULL));
    ASSERT_OK(wr_engine_init(&f->eng, NULL));
    f->eng.store = f->store;
    f->eng.quiet = true;
    f->eng.parallelism = 4;
    f->eng.kill_grace_ms = 500;
    memset(&opts, 0, sizeof(opts));
    opts.ds = "2026-01-02";
    opts.logical_date = "2026-01-02T00:00:00+00:00";
    opts.version_id = version;
    ASSERT_OK(wr_run_start(&f->eng, f->wf, NULL, &opts, on_done, f, &f->run, NULL));
    if (abort_after_ms >= 0) {
        uv_timer_init(&f->eng.loop, &f->abort_timer);
        uv_timer_start(&f->abort_timer, on_abort_timer, (uint64_t)abort_after_ms, 0);
        uv_unref((uv_handle_t *)&f->abort_timer);
    }
    uv_run(&f->eng.loop, UV_RUN_DEFAULT);
    ASSERT(f->done);
    return f->result;
}

static void fixture_dispose(fixture_t *f)
{
    wr_run_close(f->run);
    wr_engine_dispose(&f->eng);
    wr_store_close(f->store);
    wr_workflow_free(f->wf);
    json_decref(f->result);
}

static const char *task_state(json_t *res, const char *task)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(res, "tasks"), task), "state"));
}

static int64_t task_attempts(json_t *res, const char *task)
{
    return json_integer_value(
        json_object_get(json_object_get(json_object_get(res, "tasks"), task), "attempts"));
}

/* One upstream that succeeds (ok), one that fails (bad), one that is skipped (sk, a
 * one_failed task whose upstream succeeded); a task per trigger rule over each pair. */
static void trigger_rule_matrix(void)
{
    static const struct {
        const char *rule, *ups, *want;
    } cases[] = {
        {"all_success", "ok", "succeeded"},        {"all_success", "ok, bad", "upstream_failed"},
        {"all_success", "ok, sk", "skipped"},      {"one_success", "ok, bad", "succeeded"},
        {"one_success", "bad", "upstream_failed"}, {"one_success", "sk", "skipped"},
        {"one_failed", "ok, bad", "succeeded"},    {"one_failed", "ok, sk", "skipped"},
        {"none_failed", "ok, sk", "succeeded"},    {"none_failed", "ok, bad", "upstream_failed"},
        {"all_done", "ok, bad, sk", "succeeded"},  {"always", "bad", "succeeded"},
    };
    wr_buf_t b;
    fixture_t f;
    json_t *res;

    wr_buf_init(&b);
    wr_buf_puts(&b, "tasks:\n"
                    "  ok: {type: local_transform, command: 'true'}\n"
                    "  bad: {type: local_transform, command: 'exit 3'}\n"
                    "  sk: {type: local_transform, command: 'true', depends_on: [ok],\n"
                    "       trigger_rule: one_failed}\n");
    for (size_t i = 0; i < WR_ARRAY_SIZE(cases); i++)
        wr_buf_printf(&b,
                      "  t%zu: {type: local_transform, command: 'true', depends_on: [%s], "
                      "trigger_rule: %s}\n",
                      i, cases[i].ups, cases[i].rule);
    res = run_dag(wr_buf_cstr(&b), -1, &f);
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "status")), "FAILED");
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "error")), "States.TaskFailed");
    ASSERT_CONTAINS(json_string_value(json_object_get(res, "cause")), "exit code 3");
    ASSERT_STR_EQ(task_state(res, "sk"), "skipped");
    ASSERT_EQ(task_attempts(res, "sk"), 0);
    for (size_t i = 0; i < WR_ARRAY_SIZE(cases); i++) {
        char name[16];
        snprintf(name, sizeof(name), "t%zu", i);
        if (strcmp(task_state(res, name), cases[i].want) != 0)
            fprintf(stderr, "%s over [%s]: got %s, want %s\n", cases[i].rule, cases[i].ups,
                    task_state(res, name), cases[i].want);
        ASSERT_STR_EQ(task_state(res, name), cases[i].want);
        ASSERT_EQ(task_attempts(res, name), strcmp(cases[i].want, "succeeded") == 0 ? 1 : 0);
    }
    fixture_dispose(&f);
    wr_buf_dispose(&b);
}

static void propagation_through_levels(void)
{
    fixture_t f;
    json_t *res = run_dag("tasks:\n"
                          "  a: {type: local_transform, command: 'exit 1'}\n"
                          "  b: {type: local_transform, command: 'true', depends_on: [a]}\n"
                          "  c: {type: local_transform, command: 'true', depends_on: [b]}\n"
                          "  d: {type: local_transform, command: 'echo side'}\n"
                          "  e: {type: local_transform, command: 'true', depends_on: [c, d],\n"
                          "      trigger_rule: all_done}\n",
                          -1, &f);
    ASSERT_STR_EQ(task_state(res, "b"), "upstream_failed");
    ASSERT_STR_EQ(task_state(res, "c"), "upstream_failed");
    ASSERT_STR_EQ(task_state(res, "d"), "succeeded");
    ASSERT_STR_EQ(task_state(res, "e"), "succeeded");
    fixture_dispose(&f);
}

static void catch_target_runs_once(void)
{
    fixture_t f;
    json_t *res =
        run_dag("tasks:\n"
                "  a: {type: local_transform, command: 'exit 1', catch: [{errors: [States.ALL], "
                "next: h}]}\n"
                "  b: {type: local_transform, command: 'exit 1', catch: [{errors: [States.ALL], "
                "next: h}]}\n"
                "  h: {type: local_transform, command: 'echo handled {{ error.Error }}'}\n"
                "  after: {type: local_transform, command: 'true', depends_on: [h]}\n",
                -1, &f);
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "status")), "SUCCEEDED");
    ASSERT_STR_EQ(task_state(res, "a"), "caught");
    ASSERT_STR_EQ(task_state(res, "b"), "caught");
    ASSERT_STR_EQ(task_state(res, "h"), "succeeded");
    ASSERT_EQ(task_attempts(res, "h"), 1);
    ASSERT_STR_EQ(task_state(res, "after"), "succeeded");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(res, "output"), "h")),
                  "handled States.TaskFailed");
    fixture_dispose(&f);
}

static void unreached_catch_target_skips_dependents(void)
{
    fixture_t f;
    json_t *res = run_dag(
        "tasks:\n"
        "  a: {type: local_transform, command: 'true', catch: [{errors: [States.ALL], next: h}]}\n"
        "  h: {type: local_transform, command: 'true'}\n"
        "  after: {type: local_transform, command: 'true', depends_on: [h]}\n",
        -1, &f);
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "status")), "SUCCEEDED");
    ASSERT_STR_EQ(task_state(res, "h"), "skipped");
    ASSERT_STR_EQ(task_state(res, "after"), "skipped");
    fixture_dispose(&f);
}

static void runtime_error_is_not_retried(void)
{
    fixture_t f;
    json_t *res = run_dag("tasks:\n"
                          "  a: {type: local_transform, command: 'echo {{ input.missing }}',\n"
                          "      retry: [{errors: [States.ALL], interval: 0, max_attempts: 3}]}\n",
                          -1, &f);
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "error")), "States.Runtime");
    ASSERT_CONTAINS(json_string_value(json_object_get(res, "cause")), "input.missing");
    ASSERT_EQ(task_attempts(res, "a"), 1);
    fixture_dispose(&f);
}

static void abort_kills_and_records(void)
{
    fixture_t f;
    char status[32];
    json_t *res = run_dag("tasks:\n"
                          "  slow: {type: local_transform, command: 'sleep 30'}\n"
                          "  next: {type: local_transform, command: 'true', depends_on: [slow]}\n",
                          200, &f);
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "status")), "ABORTED");
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "error")), "Weir.Aborted");
    ASSERT_STR_EQ(task_state(res, "slow"), "failed");
    ASSERT_STR_EQ(task_state(res, "next"), "skipped");
    ASSERT_OK(wr_store_run_status(f.store, wr_run_id(f.run), status, sizeof(status)));
    ASSERT_STR_EQ(status, "ABORTED");
    fixture_dispose(&f);
}

static void history_is_recorded(void)
{
    fixture_t f;
    char status[32];
    json_t *res = run_dag("tasks:\n"
                          "  a: {type: local_transform, command: 'echo 1'}\n"
                          "  b: {type: local_transform, command: 'echo 2', depends_on: [a]}\n",
                          -1, &f);
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "status")), "SUCCEEDED");
    ASSERT_OK(wr_store_run_status(f.store, wr_run_id(f.run), status, sizeof(status)));
    ASSERT_STR_EQ(status, "SUCCEEDED");
    /* RunStarted, 2 x (TaskStarted, TaskSucceeded), RunSucceeded: a task that gets a slot at
     * once is not recorded as queued. */
    ASSERT_EQ(wr_store_event_count(f.store, wr_run_id(f.run)), 6);
    fixture_dispose(&f);
}

static const wr_test_t tests[] = {
    {"trigger_rule_matrix", trigger_rule_matrix},
    {"propagation_through_levels", propagation_through_levels},
    {"catch_target_runs_once", catch_target_runs_once},
    {"unreached_catch_target_skips_dependents", unreached_catch_target_skips_dependents},
    {"runtime_error_is_not_retried", runtime_error_is_not_retried},
    {"abort_kills_and_records", abort_kills_and_records},
    {"history_is_recorded", history_is_recorded},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
