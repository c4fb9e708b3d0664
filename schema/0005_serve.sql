-- weir serve: what the daemon knows about each definition file, the scheduler's progress,
-- what a run needs to resume after a crash, API tokens, and file triggers.

ALTER TABLE workflows ADD COLUMN path TEXT;                  -- the file it is loaded from
ALTER TABLE workflows ADD COLUMN current_version_id INTEGER; -- the version new runs use
ALTER TABLE workflows ADD COLUMN schedule TEXT;
ALTER TABLE workflows ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE workflows ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workflows ADD COLUMN removed INTEGER NOT NULL DEFAULT 0; -- its file is gone
ALTER TABLE workflows ADD COLUMN load_error TEXT;      -- last problem reloading its file
ALTER TABLE workflows ADD COLUMN updated_at INTEGER;

-- Files in the DAG folder that do not load (their problems, one per line).
CREATE TABLE definition_errors (
    path        TEXT PRIMARY KEY,
    errors      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- The last scheduled fire created per workflow (Unix seconds and its ISO text).
CREATE TABLE schedule_state (
    workflow_id INTEGER PRIMARY KEY REFERENCES workflows(id),
    last_fire   INTEGER NOT NULL,
    last_fire_text TEXT NOT NULL
);

-- What a run needs to resume: its template values.
ALTER TABLE runs ADD COLUMN ds TEXT;
ALTER TABLE runs ADD COLUMN interval_start TEXT;
ALTER TABLE runs ADD COLUMN interval_end TEXT;
ALTER TABLE runs ADD COLUMN logical_ts INTEGER;
ALTER TABLE runs ADD COLUMN client_run_id TEXT;               -- the run_id a client asked for
-- One scheduled run per (workflow, logical date), even across restarts.
CREATE UNIQUE INDEX runs_one_per_fire ON runs (workflow_id, logical_date)
    WHERE trigger = 'schedule';

-- What a task needs to resume: its retry counters and, for a catch target, the error.
ALTER TABLE task_instances ADD COLUMN retry_counts TEXT;    -- JSON array, one per retrier
ALTER TABLE task_instances ADD COLUMN catch_error TEXT;     -- JSON {"Error","Cause"}
ALTER TABLE task_instances ADD COLUMN retry_at INTEGER;     -- when a retrying task runs again

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    hash        TEXT NOT NULL UNIQUE,                -- SHA-256 of the token, hex
    created_at  INTEGER NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
);

-- Files that started a run through a DAG's `triggers: [{file: ...}]`: never fired twice.
CREATE TABLE file_triggers (
    workflow_id INTEGER NOT NULL REFERENCES workflows(id),
    path        TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, path)
) WITHOUT ROWID;

-- The process group of a running attempt, so that a restart can stop what a crash left.
ALTER TABLE attempts ADD COLUMN pid INTEGER;
