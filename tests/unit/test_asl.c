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
}

static void remove_handlers(void)
{
    static const char *const names[] = {"echo", "boom", "slow"};
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
    {"run_choice_and_variables", test_run_choice_and_variables},
    {"run_map_parallel", test_run_map_parallel},
    {"run_map_object_and_batches", test_run_map_object_and_batches},
    {"run_fail_without_error", test_run_fail_without_error},
    {"run_task_retry_catch", test_run_task_retry_catch},
    {"run_timeouts_and_abort", test_run_timeouts_and_abort},
    {"cleanup", test_cleanup},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
