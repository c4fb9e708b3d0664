/* SPDX-License-Identifier: MIT
 * engine/alerts.h: alerts published by the sns_alert task type (local provider), kept in the
 * weir database (schema/0004_alerts.sql) and listed by `weir alerts`.
 *
 * An alert is written once, on the loop, through the engine's store (one short INSERT), and
 * its webhook delivery outcome is recorded later. The publisher's idempotency token is an SNS
 * FIFO-style deduplication id: publishing twice with one token stores one alert.
 * Thread: the caller's store's thread (the loop for writes). Errors: 0 or WR_ESTORE with
 * detail in *err. Strings passed in are borrowed for the duration of the call. */
#ifndef WR_ENGINE_ALERTS_H
#define WR_ENGINE_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/common.h"
#include "engine/store.h"

#define WR_ALERT_SUBJECT_MAX 100 /* SNS: "Subject ... must be less than 100 characters" */

/** One alert to publish. */
typedef struct wr_alert_s {
    const char *message_id; /* a fresh id (wr_uuid4()) */
    const char *token;      /* dedup id, or NULL for none */
    const char *run_id;     /* may be NULL */
    const char *task;       /* may be NULL */
    const char *topic;
    const char *subject; /* may be NULL */
    const char *message;
    const json_t *attributes; /* a JSON object, or NULL */
    const char *delivery;     /* initial delivery state: "none" or "pending" */
} wr_alert_t;

/** Stores `a` unless an alert with the same token exists. On success *dup tells which:
 *  false, stored now (its id is a->message_id); true, a duplicate, and *existing_id (a new
 *  string, caller frees) is the first alert's MessageId and *existing_delivery (may be NULL;
 *  new string) its delivery state. One transaction. */
WR_MUST_CHECK int wr_alerts_publish(wr_store_t *store, const wr_alert_t *a, bool *dup,
                                    char **existing_id, char **existing_delivery, wr_err_t *err);

/** Records the webhook outcome of alert `message_id`: `delivery` is "delivered" or "failed",
 *  `detail` a short text (HTTP status, error, tries) or NULL. */
WR_MUST_CHECK int wr_alerts_set_delivery(wr_store_t *store, const char *message_id,
                                         const char *delivery, const char *detail, wr_err_t *err);

/** The newest `limit` alerts (newest first) as a new JSON array of objects: message_id,
 *  token, run_id, task, topic, subject, message, attributes (object), created_at (ISO 8601),
 *  delivery, delivery_detail. */
WR_MUST_CHECK int wr_alerts_list(wr_store_t *store, int limit, json_t **out, wr_err_t *err);

#endif
