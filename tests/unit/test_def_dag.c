/* SPDX-License-Identifier: MIT
 * tests/unit/test_def_dag.c: DAG file parsing and validation, with positions. */
#include "engine/def_dag.h"

#include <stdlib.h>
#include <string.h>

#include "tasks/task.h"
#include "tests/unit/harness.h"

static wr_workflow_t *load_ok(const char *text)
{
    wr_workflow_t *wf = NULL;
    char *all = NULL;
    wr_err_t err;
    int rc = wr_dag_load_string("t.yaml", text, strlen(text), &wf, &all, &err);
    if (rc != 0)
        fprintf(stderr, "unexpected problems:\n%s", all ? all : err.msg);
    ASSERT_OK(rc);
    ASSERT(all == NULL);
    return wf;
}

/* Loads text that must be invalid; returns every problem (caller frees). */
static char *load_bad(const char *text, wr_err_t *err)
{
    wr_workflow_t *wf = NULL;
    char *all = NULL;
    ASSERT(wr_dag_load_string("t.yaml", text, strlen(text), &wf, &all, err) != 0);
    ASSERT(wf == NULL);
    ASSERT(all != NULL);
    return all;
}

static void full_example_parses(void)
{
    wr_workflow_t *wf = load_ok("name: daily\n"
                                "schedule: '0 2 * * *'\n"
                                "timezone: Europe/London\n"
                                "catchup: true\n"
                                "max_active_runs: 2\n"
                                "params: {prefix: data/raw, n: 3}\n"
                                "defaults:\n"
                                "  timeout: 5m\n"
                                "  retry:\n"
                                "    - errors: [Custom.A]\n"
                                "      interval: 0\n"
                                "      max_attempts: 2\n"
                                "    - errors: [States.ALL]\n"
                                "      interval: 10s\n"
                                "      backoff_rate: 1.5\n"
                                "      max_delay: 1m\n"
                                "      jitter: FULL\n"
                                "tasks:\n"
                                "  a:\n"
                                "    type: local_transform\n"
                                "    command: echo {{ params.prefix }}/{{ ds }}\n"
                                "  b:\n"
                                "    type: local_transform\n"
                                "    depends_on: a\n"
                                "    trigger_rule: all_done\n"
                                "    timeout: 90\n"
                                "    command: [echo, '{{ tasks.a.output }}']\n"
                                "    catch:\n"
                                "      - errors: [States.ALL]\n"
                                "        next: alert\n"
                                "  alert:\n"
                                "    type: lambda_invoke\n"
                                "    function: notify\n"
                                "    payload: {why: '{{ error.Cause }}', n: 1}\n");
    ASSERT_STR_EQ(wf->name, "daily");
    ASSERT_STR_EQ(wf->schedule, "0 2 * * *");
    ASSERT_STR_EQ(wf->timezone, "Europe/London");
    ASSERT(wf->catchup);
    ASSERT_EQ(wf->max_active_runs, 2);
    ASSERT_EQ(wf->n_tasks, 3);
    ASSERT_EQ(json_integer_value(json_object_get(wf->params, "n")), 3);
    ASSERT_EQ(wf->tasks[0].timeout_ms, 300000);
    ASSERT_EQ(wf->tasks[0].n_retry, 2);
    ASSERT_EQ(wf->tasks[0].retry[0].interval_ms, 0);
    ASSERT_EQ(wf->tasks[0].retry[0].max_attempts, 2);
    ASSERT_EQ(wf->tasks[0].retry[1].max_attempts, 3); /* Step Functions default */
    ASSERT_EQ(wf->tasks[0].retry[1].max_delay_ms, 60000);
    ASSERT(wf->tasks[0].retry[1].jitter_full);
    ASSERT_EQ(wf->tasks[1].n_deps, 1);
    ASSERT_EQ(wf->tasks[1].deps[0], 0);
    ASSERT_EQ(wf->tasks[1].trigger, WR_TRIGGER_ALL_DONE);
    ASSERT_EQ(wf->tasks[1].timeout_ms, 90000);
    ASSERT_EQ(wf->tasks[1].n_catch, 1);
    ASSERT_EQ(wf->tasks[1].catchers[0].next_index, 2);
    ASSERT(wf->tasks[2].catch_target);
    ASSERT(!wf->tasks[1].catch_target);
    ASSERT_STR_EQ(wf->tasks[2].type->name, "lambda_invoke");
    ASSERT(json_is_integer(json_object_get(json_object_get(wf->tasks[2].conf, "payload"), "n")));
    ASSERT_EQ(strlen(wf->hash), 16);
    wr_workflow_free(wf);
}

static void name_defaults_to_file_name(void)
{
    wr_workflow_t *wf = NULL;
    const char *text = "tasks: {a: {type: local_transform, command: 'true'}}\n";
    ASSERT_OK(wr_dag_load_string("dir/my_dag.yaml", text, strlen(text), &wf, NULL, NULL));
    ASSERT_STR_EQ(wf->name, "my_dag");
    ASSERT_STR_EQ(wf->timezone, "UTC");
    wr_workflow_free(wf);
}

static void unknown_keys_suggest(void)
{
    wr_err_t err;
    char *all = load_bad("name: x\n"
                         "shedule: '@daily'\n"
                         "tasks:\n"
                         "  a:\n"
                         "    type: local_transform\n"
                         "    comand: echo\n",
                         &err);
    ASSERT_CONTAINS(all, "t.yaml:2:1: DAG: unknown key 'shedule' (did you mean 'schedule'?)");
    ASSERT_CONTAINS(all, "t.yaml:6:5: task 'a': unknown key 'comand' (did you mean 'command'?)");
    ASSERT_EQ(err.line, 2);
    ASSERT_EQ(err.column, 1);
    free(all);
}

static void duplicate_keys_and_tasks(void)
{
    char *all = load_bad("tasks:\n"
                         "  a: {type: local_transform, command: x, command: y}\n"
                         "  a: {type: local_transform, command: z}\n",
                         NULL);
    ASSERT_CONTAINS(all, "t.yaml:3:3: duplicate task 'a'");
    free(all);
    all = load_bad("tasks:\n  a: {type: local_transform, command: x, command: y}\n", NULL);
    ASSERT_CONTAINS(all, "t.yaml:2:42: task 'a': duplicate key 'command'");
    free(all);
}

static void missing_and_empty_tasks(void)
{
    char *all = load_bad("name: x\n", NULL);
    ASSERT_CONTAINS(all, "'tasks' is required");
    free(all);
    all = load_bad("tasks: {}\n", NULL);
    ASSERT_CONTAINS(all, "t.yaml:1:8: 'tasks' must be a non-empty mapping");
    free(all);
    all = load_bad("", NULL);
    ASSERT_CONTAINS(all, "empty");
    free(all);
}

static void unknown_type_dep_and_catch(void)
{
    char *all = load_bad("tasks:\n"
                         "  a: {type: local_transfrom, command: x}\n"
                         "  b: {type: local_transform, command: x, depends_on: [ghost]}\n",
                         NULL);
    ASSERT_CONTAINS(all, "t.yaml:2:13: task 'a': unknown task type 'local_transfrom' (did you "
                         "mean 'local_transform'?)");
    ASSERT_CONTAINS(all, "t.yaml:3:55: task 'b': depends_on names unknown task 'ghost'");
    free(all);
    all = load_bad("tasks:\n"
                   "  a:\n"
                   "    type: local_transform\n"
                   "    command: x\n"
                   "    catch: [{errors: [States.ALL], next: alrt}]\n"
                   "  alert: {type: local_transform, command: x}\n",
                   NULL);
    ASSERT_CONTAINS(all, "t.yaml:5:42: task 'a': catch next names unknown task 'alrt' (did you "
                         "mean 'alert'?)");
    free(all);
}

static void catch_target_may_not_depend(void)
{
    char *all = load_bad("tasks:\n"
                         "  a: {type: local_transform, command: x, catch: [{errors: "
                         "[States.ALL], next: c}]}\n"
                         "  b: {type: local_transform, command: x}\n"
                         "  c: {type: local_transform, command: x, depends_on: [b]}\n",
                         NULL);
    ASSERT_CONTAINS(all, "t.yaml:4:3: task 'c': a catch target may not have depends_on");
    free(all);
}

static void cycle_is_named_in_order(void)
{
    char *all = load_bad("tasks:\n"
                         "  a: {type: local_transform, command: x, depends_on: [c]}\n"
                         "  b: {type: local_transform, command: x, depends_on: [a]}\n"
                         "  c: {type: local_transform, command: x, depends_on: [b]}\n",
                         NULL);
    ASSERT_CONTAINS(all, "dependency cycle: ");
    ASSERT(strstr(all, "a -> b -> c -> a") || strstr(all, "c -> a -> b -> c") ||
           strstr(all, "b -> c -> a -> b"));
    free(all);
    all = load_bad("tasks:\n  a: {type: local_transform, command: x, depends_on: [a]}\n", NULL);
    ASSERT_CONTAINS(all, "dependency cycle: a -> a");
    free(all);
}

static void bad_values(void)
{
    char *all = load_bad("tasks:\n"
                         "  a: {type: local_transform, command: x, timeout: 5 minutes}\n"
                         "  b: {type: local_transform, command: x, trigger_rule: sometimes}\n"
                         "  c:\n"
                         "    type: local_transform\n"
                         "    command: x\n"
                         "    retry:\n"
                         "      - {errors: [States.ALL, Custom.X], jitter: half, "
                         "max_attempts: -1, backoff_rate: 0.5}\n"
                         "      - {errors: [Custom.Y]}\n",
                         NULL);
    ASSERT_CONTAINS(all, "t.yaml:2:51: task 'a': bad duration '5 minutes'");
    ASSERT_CONTAINS(all, "t.yaml:3:56: task 'b': unknown trigger_rule 'sometimes'");
    ASSERT_CONTAINS(all, "'States.ALL' must stand alone");
    ASSERT_CONTAINS(all, "jitter must be 'full' or 'none', not 'half'");
    ASSERT_CONTAINS(all, "max_attempts must be a whole number >= 0");
    ASSERT_CONTAINS(all, "backoff_rate must be a number >= 1.0");
    ASSERT_CONTAINS(all, "a retrier with 'States.ALL' must be the last one");
    free(all);
}

static void templates_are_checked(void)
{
    char *all = load_bad("params: {p: 1}\n"
                         "tasks:\n"
                         "  a: {type: local_transform, command: 'echo {{ nosuch }}'}\n"
                         "  b: {type: local_transform, command: 'echo {{ params.q }}'}\n"
                         "  c: {type: local_transform, command: 'echo {{ tasks.d.output }}'}\n"
                         "  d: {type: local_transform, command: 'echo {{ error.Cause }}'}\n"
                         "  e: {type: local_transform, command: 'echo {{ dss }}'}\n"
                         "  f: {type: local_transform, command: 'echo {{ ds | x }}'}\n",
                         NULL);
    ASSERT_CONTAINS(all, "t.yaml:3:39: task 'a': unknown template name 'nosuch'");
    ASSERT_CONTAINS(all, "t.yaml:4:39: task 'b': template 'params.q': no such param");
    ASSERT_CONTAINS(all, "task 'c': template 'tasks.d' reads a task that is not upstream");
    ASSERT_CONTAINS(all, "task 'd': template 'error' is only available in a catch target");
    ASSERT_CONTAINS(all, "unknown template name 'dss' (did you mean 'ds'?)");
    ASSERT_CONTAINS(all, "task 'f': bad template");
    free(all);
}

static void yaml_syntax_error_has_position(void)
{
    wr_err_t err;
    char *all = load_bad("tasks:\n  a:\n    type: local_transform\n    command: echo b: c\n", &err);
    ASSERT_CONTAINS(all, "t.yaml:4:");
    ASSERT_CONTAINS(all, "YAML syntax error");
    ASSERT_EQ(err.line, 4);
    free(all);
}

static void type_fields_are_checked(void)
{
    char *all = load_bad("tasks:\n"
                         "  a: {type: local_transform}\n"
                         "  b: {type: local_transform, command: x, sql: y}\n"
                         "  c: {type: lambda_invoke}\n"
                         "  d: {type: local_transform, sql: 'select 1'}\n"
                         "  e: {type: sns_alert, topic: t}\n",
                         NULL);
    ASSERT_CONTAINS(all, "task 'a': local_transform needs exactly one of 'command' or 'sql'");
    ASSERT_CONTAINS(all, "task 'b': local_transform needs exactly one");
    ASSERT_CONTAINS(all, "task 'c': 'function' is required for type lambda_invoke");
    ASSERT_CONTAINS(all, "task 'd': SQL mode needs 'output'");
    ASSERT_CONTAINS(all, "task 'e': 'message' is required for type sns_alert");
    free(all);
}

static void defaults_replaced_not_merged(void)
{
    wr_workflow_t *wf = load_ok("defaults:\n"
                                "  timeout: 1m\n"
                                "  retry: [{errors: [States.ALL], max_attempts: 5}]\n"
                                "tasks:\n"
                                "  a: {type: local_transform, command: x}\n"
                                "  b: {type: local_transform, command: x, timeout: 2s,\n"
                                "      retry: [{errors: [Custom.X], max_attempts: 1}]}\n");
    ASSERT_EQ(wf->tasks[0].timeout_ms, 60000);
    ASSERT_EQ(wf->tasks[0].retry[0].max_attempts, 5);
    ASSERT_EQ(wf->tasks[1].timeout_ms, 2000);
    ASSERT_EQ(wf->tasks[1].n_retry, 1);
    ASSERT_STR_EQ(wf->tasks[1].retry[0].errors[0], "Custom.X");
    wr_workflow_free(wf);
}

static void durations(void)
{
    int64_t ms;
    wr_err_t err;
    ASSERT_OK(wr_duration_parse("90", &ms, NULL));
    ASSERT_EQ(ms, 90000);
    ASSERT_OK(wr_duration_parse("90s", &ms, NULL));
    ASSERT_EQ(ms, 90000);
    ASSERT_OK(wr_duration_parse("5m", &ms, NULL));
    ASSERT_EQ(ms, 300000);
    ASSERT_OK(wr_duration_parse("2h", &ms, NULL));
    ASSERT_EQ(ms, 7200000);
    ASSERT_OK(wr_duration_parse("1d", &ms, NULL));
    ASSERT_EQ(ms, 86400000);
    ASSERT_OK(wr_duration_parse("250ms", &ms, NULL));
    ASSERT_EQ(ms, 250);
    ASSERT_EQ(wr_duration_parse("1.5s", &ms, &err), WR_EPARSE);
    ASSERT_EQ(wr_duration_parse("-1s", &ms, &err), WR_EPARSE);
    ASSERT_EQ(wr_duration_parse("5 m", &ms, &err), WR_EPARSE);
    ASSERT_EQ(wr_duration_parse("", &ms, &err), WR_EPARSE);
    ASSERT_EQ(wr_duration_parse("99999999999999999999d", &ms, &err), WR_EPARSE);
}

static void schedule_and_zone_checked(void)
{
    char *all = load_bad("schedule: '0 25 * * *'\n"
                         "timezone: Europe/Lundon\n"
                         "tasks: {a: {type: local_transform, command: x}}\n",
                         NULL);
    ASSERT_CONTAINS(all, "t.yaml:1:11: schedule '0 25 * * *': hour");
    ASSERT_CONTAINS(all, "t.yaml:2:11: timezone 'Europe/Lundon' is not a zone");
    free(all);
}

static void asl_detection(void)
{
    const char *asl = "{\"StartAt\": \"A\", \"States\": {}}";
    const char *wrapped = "name: x\nstate_machine:\n  StartAt: A\n";
    const char *dag = "tasks: {a: {type: local_transform, command: StartAt}}\n";
    ASSERT(wr_def_is_asl(asl, strlen(asl)));
    ASSERT(wr_def_is_asl(wrapped, strlen(wrapped)));
    ASSERT(!wr_def_is_asl(dag, strlen(dag)));
}

static const wr_test_t tests[] = {
    {"full_example_parses", full_example_parses},
    {"name_defaults_to_file_name", name_defaults_to_file_name},
    {"unknown_keys_suggest", unknown_keys_suggest},
    {"duplicate_keys_and_tasks", duplicate_keys_and_tasks},
    {"missing_and_empty_tasks", missing_and_empty_tasks},
    {"unknown_type_dep_and_catch", unknown_type_dep_and_catch},
    {"catch_target_may_not_depend", catch_target_may_not_depend},
    {"cycle_is_named_in_order", cycle_is_named_in_order},
    {"bad_values", bad_values},
    {"templates_are_checked", templates_are_checked},
    {"yaml_syntax_error_has_position", yaml_syntax_error_has_position},
    {"type_fields_are_checked", type_fields_are_checked},
    {"defaults_replaced_not_merged", defaults_replaced_not_merged},
    {"durations", durations},
    {"schedule_and_zone_checked", schedule_and_zone_checked},
    {"asl_detection", asl_detection},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
