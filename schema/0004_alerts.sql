-- Alerts published by the sns_alert task type's local provider (shown by `weir alerts` and,
-- later, the UI). `token` is the publishing attempt's idempotency token, used as an SNS FIFO
-- deduplication id: a second publish with the same token returns the first alert instead of
-- storing (and POSTing) it again. Times are Unix milliseconds (UTC).
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    message_id    TEXT NOT NULL UNIQUE,      -- the MessageId returned to the task
    token         TEXT UNIQUE,               -- dedup id; NULL when published without one
    run_id        TEXT,
    task          TEXT,
    topic         TEXT NOT NULL,
    subject       TEXT,
    message       TEXT NOT NULL,
    attributes    TEXT NOT NULL DEFAULT '{}', -- JSON object
    created_at    INTEGER NOT NULL,
    delivery      TEXT NOT NULL DEFAULT 'none', -- none (no webhook) pending delivered failed
    delivery_detail TEXT,                     -- webhook URL outcome: status, error, tries
    delivered_at  INTEGER
);
CREATE INDEX alerts_by_time ON alerts (created_at DESC, id DESC);
CREATE INDEX alerts_by_topic ON alerts (topic, created_at DESC);
