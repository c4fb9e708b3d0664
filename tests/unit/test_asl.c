/* SPDX-License-Identifier: MIT
 * tests/unit/test_asl.c: Amazon States Language definitions (engine/def_asl.c: validation
 * messages with their JSON paths, YAML) and executions (engine/asl_run.c on a private loop
 * with an in-memory store: data flow, Choice, Map/Parallel, variables, Fail, retries and
 * catches through real local Lambda handlers, timeouts, abort, history events). */
#include "engine/asl_run.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/jsonpath.h"
#include "engine/store.h"
#include "tests/unit/harness.h"

/* ==== Validation ==== */

static char *problems_of(const char *text)
{
    wr_asl_t *asl = NULL;
    char *all = NULL;
    wr_err_t err;
    int rc = wr_asl_load_string("sm.json", text, strlen(text), &asl, &all, &err);

    ASSERT(rc != 0);
    ASSERT(asl == NULL);
    ASSERT(all != NULL);
    return all;
}

static void expect_problem(const char *text, const char *needle)
{
    char *all = problems_of(text);
    ASSERT_CONTAINS(all, needle);
    free(all);
}

static void test_validate_transitions(void)
{
    expect_problem(
        "{\"StartAt\":\"Load\",\"States\":{\"Load\":{\"Type\":\"Pass\",\"Next\":\"Lod\"}}}",
        "sm.json: States.Load.Next: unknown state \"Lod\"");
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true},"
                   "\"B\":{\"Type\":\"Pass\",\"End\":true}}}",
                   "States.B: unreachable from StartAt");
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true,"
                   "\"Next\":\"A\"}}}",
                   "Next and End: true exclude each other");
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\"}}}",
                   "needs Next or End");
    expect_problem("{\"States\":{\"A\":{\"Type\":\"Succeed\"}}}", "StartAt: StartAt is required");
    expect_problem("{\"StartAt\":\"X\",\"States\":{\"A\":{\"Type\":\"Succeed\"}}}",
                   "StartAt: unknown state \"X\"");
    expect_problem("{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"Branches\":["
                   "{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Pass\",\"Next\":\"C\"}}}],"
                   "\"Next\":\"C\"},\"C\":{\"Type\":\"Succeed\"}}}",
                   "States.P.Branches[0].States.B.Next: unknown state \"C\"");
}

static void test_validate_fields(void)
{
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Choice\",\"Choices\":[{"
                   "\"Variable\":\"$.x\",\"IsPresent\":true,\"Next\":\"B\"}],\"Retry\":[]},"
                   "\"B\":{\"Type\":\"Succeed\"}}}",
                   "States.A.Retry: unknown field");
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\",\"Resource\":"
                   "\"arn:aws:lambda:us-east-1:1:function:f\",\"End\":true,\"Retry\":[{"
                   "\"ErrorEquals\":[\"States.ALL\"]},{\"ErrorEquals\":[\"X\"]}]}}}",
                   "States.A.Retry[0].ErrorEquals: States.ALL must be in the last");
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true,"
                   "\"Parameters\":{\"x.$\":\"$.a[\"}}}}",
                   "States.A.Parameters.x.$: invalid JSONPath");
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true,"
                   "\"Parameters\":{\"x.$\":\"States.Nope(1)\"}}}}",
                   "unknown intrinsic function 'States.Nope'");
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Choice\",\"Choices\":[{"
                   "\"Variable\":\"$.x\",\"NumericEquals\":\"1\",\"Next\":\"A\"}]}}}",
                   "States.A.Choices[0].NumericEquals: must be a number");
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Wait\",\"Timestamp\":"
                   "\"2016-12-05 21:29:29Z\",\"End\":true}}}",
                   "States.A.Timestamp: must be an RFC 3339 timestamp");
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\",\"End\":true}}}",
                   "States.A.Resource: a Task needs a Resource");
    expect_problem("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true,"
                   "\"ResultPath\":\"$.a[*]\"}}}",
                   "is not a reference path");
}

static void test_yaml_wrapper(void)
{
    const char *text = "name: nightly\n"
                       "schedule: \"0 2 * * *\"\n"
                       "timezone: Europe/London\n"
                       "state_machine:\n"
                       "  StartAt: A\n"
                       "  States:\n"
                       "    A:\n"
                       "      Type: Pass\n"
                       "      Result: {n: 1, ok: true, none: null}\n"
                       "      End: true\n";
    wr_asl_t *asl = NULL;
    wr_err_t err;
    json_t *res;

    ASSERT_OK(wr_asl_load_string("n.yaml", text, strlen(text), &asl, NULL, &err));
    ASSERT_STR_EQ(asl->name, "nightly");
    ASSERT_STR_EQ(asl->schedule, "0 2 * * *");
    ASSERT_STR_EQ(asl->timezone, "Europe/London");
    ASSERT_EQ(asl->machine->n_states, 1);
    res = json_object_get(asl->machine->states[0].def, "Result");
    ASSERT(json_is_integer(json_object_get(res, "n")));
    ASSERT(json_is_true(json_object_get(res, "ok")));
    ASSERT(json_is_null(json_object_get(res, "none")));
    wr_asl_free(asl);
}

static void test_timestamps(void)
{
    int64_t s;
    int32_t ns;

    ASSERT(wr_asl_parse_timestamp("2024-03-01T14:00:00+02:00", &s, &ns));
    ASSERT_EQ(s, 1709294400);
    ASSERT(wr_asl_parse_timestamp("2016-03-05T21:29:29.243167252Z", &s, &ns));
    ASSERT_EQ(ns, 243167252);
    ASSERT(!wr_asl_parse_timestamp("2016-12-05T21:29:29", &s, &ns));
    ASSERT(!wr_asl_parse_timestamp("2016-02-30T21:29:29Z", &s, &ns));
    ASSERT(!wr_asl_parse_timestamp("2016-12-05T25:29:29Z", &s, &ns));
}

/* ==== Executions ==== */

typedef struct {
    wr_engine_t eng;
    wr_store_t *store;
    wr_asl_t *asl;
    wr_asl_run_t *run;
    bool done;
    uv_timer_t abort_timer;
} fixture_t;

static char fn_dir[64];

static void on_done(wr_asl_run_t *run, void *data)
{
    fixture_t *f = data;
    (void)run;
    f->done = true;
}

static void on_abort_timer(uv_timer_t *t)
{
    fixture_t *f = wr_container_of(t, fixture_t, abort_timer);
    wr_asl_run_abort(f->run, "test abort");
}

static void write_handler(const char *name, const char *body)
{
    char path[128];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", fn_dir, name);
    fp = fopen(path, "w");
    ASSERT(fp != NULL);
    fputs(body, fp);
    fclose(fp);
    ASSERT_OK(chmod(path, 0755));
}

static void remove_handlers(void);

static void make_handlers(void)
{
    static bool registered;

    if (fn_dir[0] != '\0')
        return;
    if (!registered) {
        registered = true;
        atexit(remove_handlers);
    }
    snprintf(fn_dir, sizeof(fn_dir), "/tmp/weir-test-asl-XXXXXX");
    ASSERT(mkdtemp(fn_dir) != NULL);
    write_handler("echo", "#!/bin/sh\ncat\n");
    write_handler("boom", "#!/bin/sh\ncat >/dev/null\n"
                          "echo '{\"errorType\":\"Boom\",\"errorMessage\":\"it broke\"}'\n"
                          "exit 1\n");
    write_handler("slow", "#!/bin/sh\ncat >/dev/null\nsleep 5\necho '{}'\n");
    /* count: appends its item to $dir/count.log, takes a little while, returns it. */
    write_handler("count", "#!/bin/sh\nin=$(cat)\necho \"$in\" >> \"$(dirname \"$0\")/count.log\"\n"
                           "sleep 0.2\necho \"$in\"\n");
    /* tok: writes the task token it was given to $dir/token and returns at once. */
    write_handler("tok", "#!/bin/sh\npython3 -c 'import json,sys; "
                         "open(sys.argv[1],\"w\").write(json.load(sys.stdin)[\"token\"])' "
                         "\"$(dirname \"$0\")/token\"\necho '{\"sent\":true}'\n");
}

static void remove_handlers(void)
{
    static const char *const names[] = {"echo", "boom",      "slow", "count",
                                        "tok",  "count.log", "token"};
    char path[128];

    if (fn_dir[0] == '\0')
        return;
    for (size_t i = 0; i < WR_ARRAY_SIZE(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", fn_dir, names[i]);
        unlink(path);
    }
    rmdir(fn_dir);
    fn_dir[0] = '\0';
}

/* Runs `def` on `input`; returns the --json result (new reference). */
static json_t *run_asl(fixture_t *f, const char *def, const char *input, int64_t abort_ms)
{
    wr_asl_run_opts_t opts;
    json_t *in = json_loads(input, JSON_DECODE_ANY, NULL), *res;
    int64_t version = 0;
    char *all = NULL;
    wr_err_t err;

    memset(f, 0, sizeof(*f));
    make_handlers();
    if (wr_asl_load_string("t.json", def, strlen(def), &f->asl, &all, &err) != 0) {
        fprintf(stderr, "%s", all);
        abort();
    }
    ASSERT(in != NULL);
    ASSERT_OK(wr_store_open(":memory:", &f->store, NULL));
    ASSERT_OK(wr_store_definition_put(f->store, f->asl->name, "asl", "t.json", f->asl->source,
                                      f->asl->hash, &version, NULL));
    ASSERT_OK(wr_engine_init(&f->eng, NULL));
    f->eng.store = f->store;
    f->eng.quiet = true;
    f->eng.parallelism = 4;
    f->eng.kill_grace_ms = 500;
    f->eng.functions_dir = wr_xstrdup(fn_dir);
    memset(&opts, 0, sizeof(opts));
    opts.run_id = "test-run";
    opts.version_id = version;
    ASSERT_OK(wr_asl_run_start(&f->eng, f->asl, in, &opts, on_done, f, &f->run, NULL));
    if (abort_ms >= 0) {
        uv_timer_init(&f->eng.loop, &f->abort_timer);
        uv_timer_start(&f->abort_timer, on_abort_timer, (uint64_t)abort_ms, 0);
        uv_unref((uv_handle_t *)&f->abort_timer);
    }
    uv_run(&f->eng.loop, UV_RUN_DEFAULT);
    ASSERT(f->done);
    res = wr_asl_run_result_json(f->run);
    json_decref(in);
    return res;
}

static void fixture_dispose(fixture_t *f)
{
    wr_asl_run_close(f->run);
    wr_engine_dispose(&f->eng);
    wr_store_close(f->store);
    wr_asl_free(f->asl);
}

/* Runs and compares the output (compact JSON) or the error name ("!Name"). */
static void expect_run(const char *def, const char *input, const char *want)
{
    fixture_t f;
    json_t *res = run_asl(&f, def, input, -1);
    const char *status = json_string_value(json_object_get(res, "status"));

    if (want[0] == '!') {
        ASSERT_STR_EQ(status, "FAILED");
        ASSERT_STR_EQ(json_string_value(json_object_get(res, "error")), want + 1);
    } else {
        char *out = wr_json_dumps(json_object_get(res, "output"));
        if (strcmp(status, "SUCCEEDED") != 0)
            fprintf(stderr, "%s: %s\n", json_string_value(json_object_get(res, "error")),
                    json_string_value(json_object_get(res, "cause")));
        ASSERT_STR_EQ(status, "SUCCEEDED");
        ASSERT_STR_EQ(out, want);
        free(out);
    }
    json_decref(res);
    fixture_dispose(&f);
}

/* AWS's 256 KiB limit on a state's output: a Pass whose output grows past it fails the
 * execution with States.DataLimitExceeded. */
static void test_run_payload_limit(void)
{
    wr_buf_t input;

    wr_buf_init(&input);
    wr_buf_puts(&input, "{\"big\":\"");
    for (int i = 0; i < 140 * 1024; i++)
        wr_buf_puts(&input, "x");
    wr_buf_puts(&input, "\"}");
    /* 140 KiB in, twice that out (the input and a copy of it). */
    expect_run("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Parameters\":{"
               "\"a.$\":\"$.big\",\"b.$\":\"$.big\"},\"End\":true}}}",
               wr_buf_cstr(&input), "!States.DataLimitExceeded");
    /* Just under the limit is fine. */
    expect_run("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Parameters\":{"
               "\"n.$\":\"States.StringSplit('a,b', ',')\"},\"End\":true}}}",
               wr_buf_cstr(&input), "{\"n\":[\"a\",\"b\"]}");
    wr_buf_dispose(&input);
}

static void test_run_data_flow(void)
{
    expect_run("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"InputPath\":\"$.in\","
               "\"Parameters\":{\"v.$\":\"$.x\",\"c\":1,\"f.$\":\"States.Format('{}-{}',$.x,"
               "$$.State.Name)\"},\"ResultPath\":\"$.r\",\"Next\":\"B\"},\"B\":{\"Type\":"
               "\"Pass\",\"OutputPath\":\"$.r\",\"End\":true}}}",
               "{\"in\":{\"x\":7}}", "{\"v\":7,\"c\":1,\"f\":\"7-A\"}");
    expect_run("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Result\":1,"
               "\"ResultPath\":null,\"End\":true}}}",
               "\"text\"", "\"text\"");
    expect_run("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"InputPath\":\"$.no\","
               "\"End\":true}}}",
               "{}", "!States.Runtime");
}

static void test_run_choice_and_variables(void)
{
    const char *def = "{\"StartAt\":\"Init\",\"States\":{"
                      "\"Init\":{\"Type\":\"Pass\",\"Assign\":{\"n\":0},\"Next\":\"Loop\"},"
                      "\"Loop\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$n\","
                      "\"NumericGreaterThanEquals\":3,"
                      "\"Next\":\"Done\"},{\"Not\":{\"Variable\":\"$.stop\",\"IsPresent\":true},"
                      "\"Next\":\"Inc\"}],\"Default\":\"Done\"},"
                      "\"Inc\":{\"Type\":\"Pass\",\"Assign\":{\"n.$\":\"States.MathAdd($n, "
                      "1)\"},\"Next\":\"Loop\"},"
                      "\"Done\":{\"Type\":\"Pass\",\"Parameters\":{\"n.$\":\"$n\"},\"End\":true}}}";
    expect_run(def, "{}", "{\"n\":3}");
    expect_run(def, "{\"stop\":1}", "{\"n\":0}");
    expect_run("{\"StartAt\":\"C\",\"States\":{\"C\":{\"Type\":\"Choice\",\"Choices\":[{"
               "\"Variable\":\"$.s\",\"StringMatches\":\"log-*.txt\",\"Next\":\"Y\"}]},"
               "\"Y\":{\"Type\":\"Succeed\"}}}",
               "{\"s\":\"log.csv\"}", "!States.NoChoiceMatched");
}

static void test_run_map_parallel(void)
{
    expect_run("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemsPath\":\"$.xs\","
               "\"MaxConcurrency\":2,\"ItemSelector\":{\"i.$\":\"$$.Map.Item.Index\",\"v.$\":"
               "\"$$.Map.Item.Value\"},\"ItemProcessor\":{\"StartAt\":\"T\",\"States\":{\"T\":{"
               "\"Type\":\"Task\",\"Resource\":\"arn:aws:lambda:us-east-1:1:function:echo\","
               "\"End\":true}}},\"ResultPath\":\"$.out\",\"Next\":\"P\"},"
               "\"P\":{\"Type\":\"Parallel\",\"InputPath\":\"$.out\",\"Branches\":["
               "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"OutputPath\":\"$[0]\","
               "\"End\":true}}},{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Pass\","
               "\"Result\":\"b\",\"End\":true}}}],\"End\":true}}}",
               "{\"xs\":[\"a\",\"b\",\"c\"]}", "[{\"i\":0,\"v\":\"a\"},\"b\"]");
    /* A failing iteration fails the Map; its Catch gets {Error, Cause}. */
    expect_run("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemProcessor\":{"
               "\"StartAt\":\"F\",\"States\":{\"F\":{\"Type\":\"Fail\",\"Error\":\"E\","
               "\"Cause\":\"c\"}}},\"Catch\":[{\"ErrorEquals\":[\"E\"],\"ResultPath\":\"$.err\","
               "\"Next\":\"Ok\"}],\"End\":true},\"Ok\":{\"Type\":\"Pass\",\"End\":true}}}",
               "[1]", "!States.ResultPathMatchFailure");
    expect_run("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemsPath\":\"$.xs\","
               "\"ItemProcessor\":{\"StartAt\":\"F\",\"States\":{\"F\":{\"Type\":\"Fail\","
               "\"Error\":\"E\",\"Cause\":\"c\"}}},\"Catch\":[{\"ErrorEquals\":[\"E\"],"
               "\"ResultPath\":\"$.err\",\"Next\":\"Ok\"}],\"End\":true},\"Ok\":{\"Type\":"
               "\"Pass\",\"OutputPath\":\"$.err\",\"End\":true}}}",
               "{\"xs\":[1,2]}", "{\"Error\":\"E\",\"Cause\":\"c\"}");
    expect_run("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ToleratedFailureCount\":1,"
               "\"ItemProcessor\":{\"StartAt\":\"C\",\"States\":{\"C\":{\"Type\":\"Choice\","
               "\"Choices\":[{\"Variable\":\"$\",\"NumericEquals\":2,\"Next\":\"F\"}],"
               "\"Default\":\"S\"},\"F\":{\"Type\":\"Fail\",\"Error\":\"E\"},\"S\":{\"Type\":"
               "\"Succeed\"}}},\"End\":true}}}",
               "[1,2,3,2]", "!States.ExceedToleratedFailureThreshold");
}

static void test_run_map_object_and_batches(void)
{
    /* A JSON object is iterated pair by pair. */
    expect_run("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemProcessor\":{"
               "\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}},"
               "\"End\":true}}}",
               "{\"a\":1,\"b\":[2]}",
               "[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":[2]}]");
    expect_run("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemsPath\":\"$.xs\","
               "\"ItemSelector\":{\"v.$\":\"$$.Map.Item.Value\"},\"ItemBatcher\":{"
               "\"MaxItemsPerBatch\":2,\"BatchInput\":{\"k.$\":\"$.k\"}},\"ItemProcessor\":{"
               "\"ProcessorConfig\":{\"Mode\":\"DISTRIBUTED\"},\"StartAt\":\"P\",\"States\":{"
               "\"P\":{\"Type\":\"Pass\",\"OutputPath\":\"$.Items\",\"End\":true}}},"
               "\"End\":true}}}",
               "{\"xs\":[1,2,3],\"k\":0}", "[[{\"v\":1},{\"v\":2}],[{\"v\":3}]]");
    /* A Distributed Map's iterations cannot read the outer scope's variables. */
    expect_run("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Assign\":{\"x\":1},"
               "\"Next\":\"M\"},\"M\":{\"Type\":\"Map\",\"ItemProcessor\":{\"ProcessorConfig\":{"
               "\"Mode\":\"DISTRIBUTED\"},\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\","
               "\"Parameters\":{\"x.$\":\"$x\"},\"End\":true}}},\"End\":true}}}",
               "[1]", "!States.Runtime");
}

static void test_run_fail_without_error(void)
{
    fixture_t f;
    json_t *res =
        run_asl(&f, "{\"StartAt\":\"F\",\"States\":{\"F\":{\"Type\":\"Fail\"}}}", "{}", -1);

    ASSERT_STR_EQ(json_string_value(json_object_get(res, "status")), "FAILED");
    ASSERT(json_is_null(json_object_get(res, "error")));
    ASSERT(json_is_null(json_object_get(res, "cause")));
    /* ExecutionStarted, FailStateEntered (x2: entered + detail), ExecutionFailed at least. */
    ASSERT(wr_store_event_count(f.store, "test-run") >= 3);
    json_decref(res);
    fixture_dispose(&f);
}

static void test_run_task_retry_catch(void)
{
    const char *def =
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
        "\"arn:aws:lambda:us-east-1:1:function:boom\",\"Retry\":[{\"ErrorEquals\":[\"Boom\"],"
        "\"IntervalSeconds\":1,\"MaxAttempts\":1,\"BackoffRate\":1}],\"Catch\":[{\"ErrorEquals\":"
        "[\"States.ALL\"],\"ResultPath\":\"$.e\",\"Next\":\"C\"}],\"End\":true},"
        "\"C\":{\"Type\":\"Pass\",\"Parameters\":{\"err.$\":\"$.e.Error\",\"retry.$\":"
        "\"$$.State.RetryCount\"},\"End\":true}}}";
    expect_run(def, "{}", "{\"err\":\"Boom\",\"retry\":0}");
    expect_run("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
               "\"arn:aws:states:::lambda:invoke\",\"Parameters\":{\"FunctionName\":\"echo\","
               "\"Payload\":{\"a\":1}},\"ResultSelector\":{\"p.$\":\"$.Payload\",\"s.$\":"
               "\"$.StatusCode\"},\"End\":true}}}",
               "{}", "{\"p\":{\"a\":1},\"s\":200}");
}

static void test_run_timeouts_and_abort(void)
{
    fixture_t f;
    json_t *res;

    expect_run("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
               "\"arn:aws:lambda:us-east-1:1:function:slow\",\"TimeoutSeconds\":1,\"End\":true}}}",
               "{}", "!States.Timeout");
    expect_run("{\"TimeoutSeconds\":1,\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\","
               "\"Seconds\":30,\"End\":true}}}",
               "{}", "!States.Timeout");
    res = run_asl(&f,
                  "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":30,"
                  "\"End\":true}}}",
                  "{}", 100);
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "status")), "ABORTED");
    json_decref(res);
    fixture_dispose(&f);
}

/* ==== Durable executions: interrupt, then resume from the history ==== */

typedef struct {
    wr_engine_t eng;
    wr_store_t *store;
    wr_asl_t *asl;
    wr_asl_run_t *run;
    bool done;
    uv_timer_t t;
    int64_t version;
} dur_t;

static void dur_on_done(wr_asl_run_t *run, void *data)
{
    dur_t *d = data;
    (void)run;
    d->done = true;
}

static void dur_on_interrupt(uv_timer_t *t)
{
    dur_t *d = wr_container_of(t, dur_t, t);
    wr_asl_run_interrupt(d->run);
}

static void dur_open(dur_t *d, const char *def)
{
    char *all = NULL;
    wr_err_t err;

    memset(d, 0, sizeof(*d));
    make_handlers();
    if (wr_asl_load_string("t.json", def, strlen(def), &d->asl, &all, &err) != 0) {
        fprintf(stderr, "%s", all);
        abort();
    }
    ASSERT_OK(wr_store_open(":memory:", &d->store, NULL));
    ASSERT_OK(wr_store_definition_put(d->store, d->asl->name, "asl", "t.json", d->asl->source,
                                      d->asl->hash, &d->version, NULL));
}

static void dur_engine(dur_t *d)
{
    ASSERT_OK(wr_engine_init(&d->eng, NULL));
    d->eng.store = d->store;
    d->eng.quiet = true;
    d->eng.parallelism = 4;
    d->eng.kill_grace_ms = 200;
    d->eng.functions_dir = wr_xstrdup(fn_dir);
    uv_timer_init(&d->eng.loop, &d->t);
}

/* Closes the run and the engine (the store stays: it is the "disk"). */
static void dur_stop_engine(dur_t *d)
{
    wr_asl_run_close(d->run);
    d->run = NULL;
    uv_close((uv_handle_t *)&d->t, NULL);
    uv_run(&d->eng.loop, UV_RUN_DEFAULT);
    wr_engine_dispose(&d->eng);
}

/* Starts `def` on `input` and interrupts it after `ms`, as a shutdown would. */
static void dur_start_interrupted(dur_t *d, const char *input, int64_t ms)
{
    wr_asl_run_opts_t opts;
    json_t *in = json_loads(input, JSON_DECODE_ANY, NULL);

    dur_engine(d);
    memset(&opts, 0, sizeof(opts));
    opts.run_id = "dur-run";
    opts.version_id = d->version;
    ASSERT_OK(wr_asl_run_start(&d->eng, d->asl, in, &opts, dur_on_done, d, &d->run, NULL));
    json_decref(in);
    uv_timer_start(&d->t, dur_on_interrupt, (uint64_t)ms, 0);
    uv_run(&d->eng.loop, UV_RUN_DEFAULT);
    ASSERT(!d->done);
    ASSERT_EQ(wr_asl_run_in_flight(d->run), 0);
    dur_stop_engine(d);
}

static json_t *dur_resume(dur_t *d)
{
    wr_err_t err;
    json_t *res;

    memset(&err, 0, sizeof(err));
    dur_engine(d);
    if (wr_asl_run_resume(&d->eng, d->asl, "dur-run", dur_on_done, d, &d->run, &err) != 0) {
        fprintf(stderr, "resume: %s\n", err.msg);
        abort();
    }
    uv_run(&d->eng.loop, UV_RUN_DEFAULT);
    ASSERT(d->done);
    res = wr_asl_run_result_json(d->run);
    dur_stop_engine(d);
    return res;
}

static void dur_close(dur_t *d)
{
    wr_store_close(d->store);
    wr_asl_free(d->asl);
}

static int count_lines(const char *name)
{
    char path[128], line[256];
    int n = 0;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", fn_dir, name);
    if ((fp = fopen(path, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), fp) != NULL)
        n++;
    fclose(fp);
    return n;
}

static void test_resume_map_parallel_vars(void)
{
    const char *def =
        "{\"StartAt\":\"Init\",\"States\":{"
        "\"Init\":{\"Type\":\"Pass\",\"Assign\":{\"k\":5},\"Next\":\"M\"},"
        "\"M\":{\"Type\":\"Map\",\"MaxConcurrency\":2,\"ItemsPath\":\"$.items\","
        "\"ItemProcessor\":{\"StartAt\":\"C\",\"States\":{\"C\":{\"Type\":\"Task\",\"Resource\":"
        "\"arn:aws:lambda:us-east-1:1:function:count\",\"End\":true}}},\"ResultPath\":\"$.m\","
        "\"Next\":\"P\"},"
        "\"P\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":"
        "\"Pass\",\"Result\":1,\"End\":true}}},{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":"
        "\"Wait\",\"Seconds\":1,\"Next\":\"B2\"},\"B2\":{\"Type\":\"Pass\",\"Result\":2,"
        "\"End\":true}}}],\"ResultPath\":\"$.p\",\"Next\":\"Out\"},"
        "\"Out\":{\"Type\":\"Pass\",\"Parameters\":{\"m.$\":\"$.m\",\"p.$\":\"$.p\",\"k.$\":\"$k\"}"
        ","
        "\"End\":true}}}";
    dur_t d;
    json_t *res;
    char path[128], *out;

    make_handlers();
    snprintf(path, sizeof(path), "%s/count.log", fn_dir);
    unlink(path);
    dur_open(&d, def);
    dur_start_interrupted(&d, "{\"items\":[1,2,3,4,5,6]}", 300);
    ASSERT(count_lines("count.log") >= 2);
    ASSERT(count_lines("count.log") < 6);
    res = dur_resume(&d);
    out = wr_json_dumps(json_object_get(res, "output"));
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "status")), "SUCCEEDED");
    ASSERT_STR_EQ(out, "{\"m\":[1,2,3,4,5,6],\"p\":[1,2],\"k\":5}");
    /* Only the two attempts in flight at the interruption ran twice. */
    ASSERT(count_lines("count.log") <= 8);
    free(out);
    json_decref(res);
    dur_close(&d);
    unlink(path);
}

static void test_resume_wait_remaining(void)
{
    dur_t d;
    json_t *res;
    int64_t t0;

    dur_open(&d, "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":2,"
                 "\"Next\":\"P\"},\"P\":{\"Type\":\"Pass\",\"End\":true}}}");
    dur_start_interrupted(&d, "{\"a\":1}", 1200);
    t0 = wr_now_ms();
    res = dur_resume(&d);
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "status")), "SUCCEEDED");
    ASSERT(wr_now_ms() - t0 < 1500); /* about 0.8 s were left, not 2 s */
    json_decref(res);
    dur_close(&d);
}

/* A history left by a process that died with an attempt in flight: Weir.WorkerLost, retried. */
static void test_resume_worker_lost(void)
{
    dur_t d;
    json_t *res;
    char *out;

    dur_open(&d, "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
                 "\"arn:aws:lambda:us-east-1:1:function:echo\",\"Retry\":[{\"ErrorEquals\":"
                 "[\"Weir.WorkerLost\"],\"IntervalSeconds\":1,\"MaxAttempts\":1}],"
                 "\"End\":true}}}");
    ASSERT_OK(wr_store_run_create(d.store, "dur-run", d.version, "manual", "2026-01-01T00:00:00Z",
                                  "{\"x\":1}", NULL, 0, NULL));
    ASSERT_OK(wr_store_event_append(d.store, "dur-run", "ExecutionStarted", NULL, 0,
                                    "{\"input\":{\"x\":1}}", NULL));
    ASSERT_OK(wr_store_event_append(d.store, "dur-run", "TaskStateEntered", "T", 0,
                                    "{\"name\":\"T\",\"input\":{\"x\":1}}", NULL));
    ASSERT_OK(wr_store_event_append(d.store, "dur-run", "TaskScheduled", "T", 1,
                                    "{\"name\":\"T\",\"parameters\":{\"x\":1}}", NULL));
    ASSERT_OK(wr_store_event_append(d.store, "dur-run", "TaskStarted", "T", 1, "{}", NULL));
    res = dur_resume(&d);
    out = wr_json_dumps(json_object_get(res, "output"));
    ASSERT_STR_EQ(json_string_value(json_object_get(res, "status")), "SUCCEEDED");
    ASSERT_STR_EQ(out, "{\"x\":1}");
    free(out);
    json_decref(res);
    dur_close(&d);
}

/* ==== Task tokens ==== */

typedef struct {
    dur_t *d;
    const char *kind;
    uv_timer_t poll;
    int sent;
} tok_sender_t;

static void on_token_poll(uv_timer_t *t)
{
    tok_sender_t *s = wr_container_of(t, tok_sender_t, poll);
    char path[128], token[256];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof(path), "%s/token", fn_dir);
    if (s->d->run == NULL || (fp = fopen(path, "r")) == NULL)
        return;
    n = fread(token, 1, sizeof(token) - 1, fp);
    fclose(fp);
    token[n] = '\0';
    if (n == 0 || strcmp(s->kind, "none") == 0)
        return;
    if (strcmp(s->kind, "heartbeat") == 0 && s->sent < 3) {
        ASSERT_OK(wr_asl_run_task_token(s->d->run, token, "heartbeat", NULL, NULL, NULL));
        s->sent++;
        return;
    }
    if (strcmp(s->kind, "failure") == 0)
        ASSERT_OK(
            wr_asl_run_task_token(s->d->run, token, "failure", NULL, "Custom.Bad", "no luck"));
    else
        ASSERT_OK(wr_asl_run_task_token(s->d->run, token, "success", "{\"ok\":1}", NULL, NULL));
    /* The same token a second time belongs to no waiting task any more. */
    ASSERT_EQ(wr_asl_run_task_token(s->d->run, token, "success", "{}", NULL, NULL), WR_ENOTFOUND);
    unlink(path);
    uv_timer_stop(t);
}

static const char tok_def[] =
    "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
    "\"arn:aws:states:::lambda:invoke.waitForTaskToken\",\"HeartbeatSeconds\":1,"
    "\"Parameters\":{\"FunctionName\":\"tok\",\"Payload\":{\"token.$\":\"$$.Task.Token\"}},"
    "\"Catch\":[{\"ErrorEquals\":[\"Custom.Bad\"],\"Next\":\"C\"}],\"End\":true},"
    "\"C\":{\"Type\":\"Pass\",\"Parameters\":{\"caught.$\":\"$.Error\"},\"End\":true}}}";

static char *token_run(const char *kind)
{
    dur_t d;
    wr_asl_run_opts_t opts;
    tok_sender_t s;
    json_t *in = json_object(), *res;
    char *r;

    dur_open(&d, tok_def);
    dur_engine(&d);
    memset(&s, 0, sizeof(s));
    s.d = &d;
    s.kind = kind;
    uv_timer_init(&d.eng.loop, &s.poll);
    uv_timer_start(&s.poll, on_token_poll, 50, 50);
    memset(&opts, 0, sizeof(opts));
    opts.run_id = "tok-run";
    opts.version_id = d.version;
    ASSERT_OK(wr_asl_run_start(&d.eng, d.asl, in, &opts, dur_on_done, &d, &d.run, NULL));
    while (!d.done)
        uv_run(&d.eng.loop, UV_RUN_ONCE);
    uv_timer_stop(&s.poll);
    uv_close((uv_handle_t *)&s.poll, NULL);
    res = wr_asl_run_result_json(d.run);
    if (strcmp(json_string_value(json_object_get(res, "status")), "SUCCEEDED") == 0)
        r = wr_json_dumps(json_object_get(res, "output"));
    else
        r = wr_xstrdup(json_string_value(json_object_get(res, "error")));
    json_decref(res);
    json_decref(in);
    dur_stop_engine(&d);
    dur_close(&d);
    return r;
}

static void test_task_token(void)
{
    char *r;

    make_handlers();
    r = token_run("success");
    ASSERT_STR_EQ(r, "{\"ok\":1}");
    free(r);
    r = token_run("failure");
    ASSERT_STR_EQ(r, "{\"caught\":\"Custom.Bad\"}");
    free(r);
    r = token_run("heartbeat"); /* three heartbeats 50 ms apart, then the result */
    ASSERT_STR_EQ(r, "{\"ok\":1}");
    free(r);
    r = token_run("none"); /* never sent: HeartbeatSeconds passes */
    ASSERT_STR_EQ(r, "States.HeartbeatTimeout");
    free(r);
}

static void test_cleanup(void)
{
    char dir[64];

    make_handlers();
    snprintf(dir, sizeof(dir), "%s", fn_dir);
    ASSERT_OK(access(dir, F_OK));
    remove_handlers();
    ASSERT(access(dir, F_OK) != 0);
}

static const wr_test_t tests[] = {
    {"validate_transitions", test_validate_transitions},
    {"validate_fields", test_validate_fields},
    {"yaml_wrapper", test_yaml_wrapper},
    {"timestamps", test_timestamps},
    {"run_data_flow", test_run_data_flow},
    {"run_payload_limit", test_run_payload_limit},
    {"run_choice_and_variables", test_run_choice_and_variables},
    {"run_map_parallel", test_run_map_parallel},
    {"run_map_object_and_batches", test_run_map_object_and_batches},
    {"run_fail_without_error", test_run_fail_without_error},
    {"run_task_retry_catch", test_run_task_retry_catch},
    {"run_timeouts_and_abort", test_run_timeouts_and_abort},
    {"resume_map_parallel_vars", test_resume_map_parallel_vars},
    {"resume_wait_remaining", test_resume_wait_remaining},
    {"resume_worker_lost", test_resume_worker_lost},
    {"task_token", test_task_token},
    {"cleanup", test_cleanup},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
