-- weir schema, version 1: definitions, runs, task instances, attempts, history, logs.
-- Times are Unix milliseconds (UTC). JSON columns hold compact JSON text.

CREATE TABLE workflows (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,               -- 'dag' or 'asl'
    created_at  INTEGER NOT NULL
);

CREATE TABLE workflow_versions (
    id          INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflows(id),
    hash        TEXT NOT NULL,               -- hash of the source text
    path        TEXT NOT NULL,               -- file it was loaded from
    source      TEXT NOT NULL,               -- the definition exactly as read
    created_at  INTEGER NOT NULL,
    UNIQUE (workflow_id, hash)
);

CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    workflow_id   INTEGER NOT NULL REFERENCES workflows(id),
    version_id    INTEGER NOT NULL REFERENCES workflow_versions(id),
    status        TEXT NOT NULL,             -- RUNNING SUCCEEDED FAILED ABORTED
    trigger       TEXT NOT NULL,             -- manual, schedule, api, ...
    logical_date  TEXT NOT NULL,
    input         TEXT NOT NULL,
    output        TEXT,
    error         TEXT,
    cause         TEXT,
    created_at    INTEGER NOT NULL,
    ended_at      INTEGER
);
CREATE INDEX runs_by_workflow ON runs (workflow_id, created_at DESC);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE task_instances (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    task        TEXT NOT NULL,
    state       TEXT NOT NULL,               -- pending queued running retrying succeeded failed
                                             -- caught upstream_failed skipped
    attempts    INTEGER NOT NULL DEFAULT 0,
    output      TEXT,
    error       TEXT,
    cause       TEXT,
    started_at  INTEGER,
    ended_at    INTEGER,
    PRIMARY KEY (run_id, task)
) WITHOUT ROWID;

CREATE TABLE attempts (
    run_id      TEXT NOT NULL,
    task        TEXT NOT NULL,
    attempt     INTEGER NOT NULL,            -- 1 on the first try
    state       TEXT NOT NULL,               -- running succeeded failed
    token       TEXT NOT NULL,               -- idempotency token of this attempt
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    output      TEXT,
    error       TEXT,
    cause       TEXT,
    PRIMARY KEY (run_id, task, attempt)
) WITHOUT ROWID;

-- Append-only history: one row per state change, written in the same transaction.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    type        TEXT NOT NULL,
    task        TEXT,
    attempt     INTEGER,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_run ON events (run_id, id);

CREATE TABLE task_logs (
    run_id      TEXT NOT NULL,
    task        TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    stream      TEXT NOT NULL,               -- stdout or stderr
    data        TEXT NOT NULL,
    truncated   INTEGER NOT NULL DEFAULT 0,  -- 1 when only the tail was kept
    PRIMARY KEY (run_id, task, attempt, stream)
) WITHOUT ROWID;
