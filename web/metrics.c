/* SPDX-License-Identifier: MIT
 * web/metrics.c: GET /metrics in the Prometheus text exposition format (version 0.0.4):
 * runs by status and task attempts by outcome from the database, and the daemon's live
 * counters (queue depth, running tasks, scheduler lag) from wr_server_stats(). */
#include "web/web_int.h"

#include <string.h>

#include "engine/query.h"

static void family(wr_buf_t *b, const char *name, const char *type, const char *help)
{
    wr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per known label value (0 when absent), then any other value the store holds. */
static void labelled(wr_buf_t *b, const char *name, const char *label, json_t *counts,
                     const char *const *known)
{
    const char *key;
    json_t *v;

    for (size_t i = 0; known[i] != NULL; i++)
        wr_buf_printf(b, "%s{%s=\"%s\"} %lld\n", name, label, known[i],
                      (long long)json_integer_value(json_object_get(counts, known[i])));
    json_object_foreach(counts, key, v)
    {
        bool seen = false;
        for (size_t i = 0; known[i] != NULL && !seen; i++)
            seen = strcmp(known[i], key) == 0;
        if (!seen && strpbrk(key, "\"\\\n") == NULL)
            wr_buf_printf(b, "%s{%s=\"%s\"} %lld\n", name, label, key,
                          (long long)json_integer_value(v));
    }
}

void wr__web_metrics(wr_web_req_t *req)
{
    static const char *const statuses[] = {"QUEUED", "RUNNING", "SUCCEEDED",
                                           "FAILED", "ABORTED", NULL};
    static const char *const outcomes[] = {"running", "succeeded", "failed", NULL};
    wr_server_stats_t st;
    wr_store_t *store;
    json_t *m = NULL;
    wr_err_t err;
    wr_buf_t b;

    memset(&err, 0, sizeof(err));
    memset(&st, 0, sizeof(st));
    if ((store = wr__web_store(req, &err)) == NULL || wr_query_metrics(store, &m, &err) != 0) {
        wr__web_fail(req, &err);
        return;
    }
    if (req->web->stats != NULL)
        req->web->stats(req->web->srv, &st);
    wr_buf_init(&b);
    family(&b, "weir_up", "gauge", "1 while the server answers.");
    wr_buf_puts(&b, "weir_up 1\n");
    family(&b, "weir_runs", "gauge", "Runs recorded, by status.");
    labelled(&b, "weir_runs", "status", json_object_get(m, "runs"), statuses);
    family(&b, "weir_task_attempts_total", "counter", "Task attempts started, by outcome.");
    labelled(&b, "weir_task_attempts_total", "outcome", json_object_get(m, "attempts"), outcomes);
    family(&b, "weir_runs_active", "gauge", "Runs not yet ended.");
    wr_buf_printf(&b, "weir_runs_active %d\n", st.runs_active);
    family(&b, "weir_tasks_running", "gauge", "Task attempts in flight.");
    wr_buf_printf(&b, "weir_tasks_running %d\n", st.tasks_running);
    family(&b, "weir_tasks_queued", "gauge", "Ready tasks waiting for a slot (queue depth).");
    wr_buf_printf(&b, "weir_tasks_queued %d\n", st.tasks_queued);
    family(&b, "weir_scheduler_lag_seconds", "gauge",
           "How late the last scheduled fire was created.");
    wr_buf_printf(&b, "weir_scheduler_lag_seconds %.3f\n", (double)st.scheduler_lag_ms / 1000.0);
    family(&b, "weir_workflows", "gauge", "Workflow definitions loaded.");
    wr_buf_printf(&b, "weir_workflows %d\n", st.workflows);
    family(&b, "weir_definition_errors", "gauge", "Definition files that do not load.");
    wr_buf_printf(&b, "weir_definition_errors %d\n", st.definition_errors);
    family(&b, "weir_uptime_seconds", "gauge", "Seconds since the server started.");
    wr_buf_printf(&b, "weir_uptime_seconds %lld\n",
                  (long long)(st.started_at_ms > 0 ? (wr_now_ms() - st.started_at_ms) / 1000 : 0));
    json_decref(m);
    req->status = 200;
    req->text_len = b.len;
    req->text = wr_buf_steal(&b);
    req->text_static = false;
    req->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
