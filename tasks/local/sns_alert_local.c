/* SPDX-License-Identifier: MIT
 * tasks/local/sns_alert_local.c: sns_alert's embedded provider, playing SNS on one machine.
 *
 * Publish = one short INSERT into the weir database's alerts table through the engine's
 * store (engine/alerts.h), a line on stderr, and, when weir.yaml gives the topic a webhook
 * (`topics: {NAME: {webhook: URL}}`, else the connection's `webhook:`), a JSON POST to it on
 * the loop (engine/http.h), retried with backoff on a connection error, a timeout, a 5xx or a
 * 429. The body carries a Slack-compatible `text` beside the structured fields.
 *
 * DESIGN: as with SNS, a publish succeeds once the message is accepted (stored); delivery to
 * the webhook is the subscriber's side. So a webhook that stays down does not fail the task:
 * the alert row records delivery "failed" with the reason, and the result says so
 * ({"MessageId", "delivery": "failed", "delivery_error"}). Failing the task instead would
 * send a failing pipeline's alert task into its own retry/catch for a problem the pipeline
 * cannot fix, and, since an alert is often a catch target, turn a caught failure into a failed
 * run. Deduplication: the attempt's token is the FIFO deduplication id; a second publish with
 * it returns the first MessageId and neither stores nor POSTs again. */
#include "tasks/local/sns_alert_local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alerts.h"
#include "engine/config.h"
#include "engine/http.h"
#include "engine/loop.h"
#include "engine/run.h"

#define MESSAGE_MAX     (256 * 1024) /* SNS: 256 KB */
#define WEBHOOK_TRIES   4            /* tries in all: 0.5 s, 1 s, 2 s between them */
#define WEBHOOK_WAIT    500          /* ms before the first retry */
#define WEBHOOK_TIMEOUT 10000        /* ms per try */
#define TEXT_MAX        3000         /* Slack shows about this much of a message nicely */

typedef struct {
    wr_task_attempt_t *ta;
    wr_http_t *http;
    wr_http_req_t *req;
    char message_id[37];
    char *url;            /* the webhook */
    wr_task_result_t res; /* filled when the delivery ends */
} publish_t;

/* The webhook of `topic` (a name or an ARN, whose last ':' field is the name), or NULL. */
static const char *webhook_of(const wr_engine_t *eng, const json_t *conn, const char *topic)
{
    const json_t *topics = json_object_get(eng->config ? eng->config->raw : NULL, "topics");
    const char *colon = strrchr(topic, ':');
    const char *url = json_string_value(json_object_get(json_object_get(topics, topic), "webhook"));

    if (url == NULL && colon != NULL)
        url = json_string_value(json_object_get(json_object_get(topics, colon + 1), "webhook"));
    if (url == NULL)
        url = json_string_value(json_object_get(conn, "webhook"));
    return url != NULL && *url != '\0' ? url : NULL;
}

/* Message attributes as SNS shows them to subscribers: {Name: {Type, Value}}. */
static json_t *attributes_out(const json_t *attrs)
{
    json_t *o = json_object(), *v;
    const char *k;

    json_object_foreach((json_t *)attrs, k, v)
    {
        json_t *a;
        if (json_is_object(v)) {
            const char *type = json_string_value(json_object_get(v, "DataType"));
            json_t *val = json_object_get(v, "StringValue");
            a = json_pack("{s:s, s:O}", "Type", type ? type : "String", "Value",
                          val ? val : json_null());
        } else if (json_is_number(v)) {
            a = json_pack("{s:s, s:O}", "Type", "Number", "Value", v);
        } else {
            a = json_pack("{s:s, s:O}", "Type", "String", "Value", v);
        }
        json_object_set_new(o, k, a);
    }
    return o;
}

static char *webhook_body(const publish_t *p, const char *topic, const char *subject,
                          const char *message, const json_t *attrs)
{
    const wr_task_attempt_t *ta = p->ta;
    char when[32], *text, *body;
    json_t *o;

    wr_format_iso_ms(wr_now_ms(), when);
    text = wr_xasprintf("*[%s]* %s\n%.*s%s", topic, subject ? subject : "(no subject)", TEXT_MAX,
                        message, strlen(message) > TEXT_MAX ? "..." : "");
    o = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:o, s:s, s:s, s:s, s:s}", "text", text, "Type",
                  "Notification", "MessageId", p->message_id, "Subject", subject, "Message",
                  message, "MessageAttributes", attributes_out(attrs), "TopicArn", topic,
                  "Timestamp", when, "run_id", ta->run_id, "task", ta->task_name);
    body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    free(text);
    return body;
}

static void publish_free(publish_t *p)
{
    free(p->url);
    wr_task_result_dispose(&p->res);
    free(p);
}

static void on_http_closed(void *data)
{
    publish_t *p = data;
    wr_task_attempt_t *ta = p->ta;
    wr_task_result_t res = p->res;

    memset(&p->res, 0, sizeof(p->res));
    ta->impl = NULL;
    publish_free(p);
    wr_task_attempt_done(ta, &res);
}

static void on_delivered(wr_http_req_t *req, const wr_http_response_t *r, void *data)
{
    publish_t *p = data;
    wr_task_attempt_t *ta = p->ta;
    bool ok = r->code == 0 && r->status >= 200 && r->status < 300;
    char *detail;
    wr_err_t err;

    (void)req;
    p->req = NULL;
    memset(&err, 0, sizeof(err));
    if (ok)
        detail = wr_xasprintf("HTTP %ld after %d %s", r->status, r->tries,
                              r->tries == 1 ? "try" : "tries");
    else
        detail = wr_xasprintf("%s after %d %s (%s)", r->error, r->tries,
                              r->tries == 1 ? "try" : "tries", p->url);
    if (wr_alerts_set_delivery(ta->eng->store, p->message_id, ok ? "delivered" : "failed", detail,
                               &err) != 0)
        fprintf(stderr, "weir: alert %s: %s\n", p->message_id, err.msg);
    if (!ok && !ta->eng->quiet)
        fprintf(stderr, "weir: alert %s: webhook delivery failed: %s\n", p->message_id, detail);
    p->res.output =
        json_pack("{s:s, s:s, s:i, s:i}", "MessageId", p->message_id, "delivery",
                  ok ? "delivered" : "failed", "webhook_status", (int)r->status, "tries", r->tries);
    if (!ok)
        json_object_set_new(p->res.output, "delivery_error", json_string(detail));
    if (r->code == WR_ECANCELED)
        wr_task_result_error(&p->res, "States.TaskFailed", "webhook delivery canceled");
    free(detail);
    wr_http_close(p->http, on_http_closed, p);
    p->http = NULL;
}

static void done_now(wr_task_attempt_t *ta, json_t *output)
{
    wr_task_result_t res;
    memset(&res, 0, sizeof(res));
    res.output = output;
    wr_task_attempt_done_later(ta, &res);
}

int wr__sns_alert_local_start(wr_task_attempt_t *ta, const json_t *conn, wr_err_t *err)
{
    const char *topic = wr_task_conf_str(ta, "topic");
    const char *subject = wr_task_conf_str(ta, "subject");
    const char *message = wr_task_conf_str(ta, "message");
    const json_t *attrs = json_object_get(ta->conf, "attributes");
    const char *url = webhook_of(ta->eng, conn, topic ? topic : "");
    char *existing = NULL, *existing_delivery = NULL, *body = NULL;
    wr_http_opts_t o;
    wr_err_t herr;
    wr_task_result_t res;
    publish_t *p;
    wr_alert_t a;
    bool dup = false;
    int rc;
    static const char *const headers[] = {"Content-Type: application/json", NULL};

    memset(&res, 0, sizeof(res));
    /* What SNS itself rejects, after templates have been rendered. */
    if (topic == NULL || *topic == '\0' || message == NULL || *message == '\0' ||
        (subject != NULL && (strlen(subject) > WR_ALERT_SUBJECT_MAX || *subject == '\0' ||
                             strchr(subject, '\n') != NULL)) ||
        strlen(message) > MESSAGE_MAX) {
        wr_task_result_error(&res, "SNS.InvalidParameterException", "Invalid parameter: %s",
                             topic == NULL || *topic == '\0'       ? "TopicArn is empty"
                             : message == NULL || *message == '\0' ? "Message is empty"
                             : strlen(message) > MESSAGE_MAX
                                 ? "Message too long (over 256 KB)"
                                 : "Subject must be 1 to 100 printable characters on one line");
        wr_task_attempt_done_later(ta, &res);
        return 0;
    }
    p = wr_xcalloc(1, sizeof(*p));
    p->ta = ta;
    wr_uuid4(p->message_id);
    memset(&a, 0, sizeof(a));
    a.message_id = p->message_id;
    a.token = ta->token;
    a.run_id = ta->run_id;
    a.task = ta->task_name;
    a.topic = topic;
    a.subject = subject;
    a.message = message;
    a.attributes = attrs;
    a.delivery = url ? "pending" : "none";
    if ((rc = wr_alerts_publish(ta->eng->store, &a, &dup, &existing, &existing_delivery, err)) !=
        0) {
        publish_free(p);
        return rc;
    }
    if (dup) {
        /* The same token published before (a resumed attempt): SNS FIFO returns the first
         * message's id and delivers nothing again. */
        done_now(ta, json_pack("{s:s, s:s, s:b}", "MessageId", existing, "delivery",
                               existing_delivery ? existing_delivery : "none", "duplicate", 1));
        free(existing);
        free(existing_delivery);
        publish_free(p);
        return 0;
    }
    fprintf(stderr, "weir: ALERT [%s] %s%s%s\n", topic, subject ? subject : "", subject ? ": " : "",
            message);
    if (url == NULL) {
        done_now(ta, json_pack("{s:s, s:s}", "MessageId", p->message_id, "delivery", "none"));
        publish_free(p);
        return 0;
    }
    p->url = wr_xstrdup(url);
    body = webhook_body(p, topic, subject, message, attrs);
    memset(&o, 0, sizeof(o));
    o.method = "POST";
    o.url = url;
    o.headers = headers;
    o.body = body ? body : "{}";
    o.body_len = strlen(o.body);
    o.timeout_ms = WEBHOOK_TIMEOUT;
    o.max_tries = WEBHOOK_TRIES;
    o.backoff_ms = WEBHOOK_WAIT;
    memset(&herr, 0, sizeof(herr));
    if (wr_http_new(&ta->eng->loop, &p->http, &herr) != 0 ||
        wr_http_request(p->http, &o, on_delivered, p, &p->req, &herr) != 0) {
        /* The alert is stored; only its delivery could not start. */
        wr_err_t e2;
        memset(&e2, 0, sizeof(e2));
        if (wr_alerts_set_delivery(ta->eng->store, p->message_id, "failed", herr.msg, &e2) != 0)
            fprintf(stderr, "weir: alert %s: %s\n", p->message_id, e2.msg);
        done_now(ta, json_pack("{s:s, s:s, s:s}", "MessageId", p->message_id, "delivery", "failed",
                               "delivery_error", herr.msg));
        if (p->http != NULL)
            wr_http_close(p->http, NULL, NULL);
        free(body);
        publish_free(p);
        return 0;
    }
    free(body);
    ta->impl = p;
    return 0;
}

void wr__sns_alert_local_cancel(wr_task_attempt_t *ta)
{
    publish_t *p = ta->impl;
    if (p != NULL && p->req != NULL)
        wr_http_cancel(p->req);
}
