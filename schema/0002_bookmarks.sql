-- Job bookmarks: the input files a job has already processed. Rows are added in the same
-- transaction as the attempt's success, so a failed run never advances a bookmark.
CREATE TABLE job_bookmarks (
    job         TEXT NOT NULL,
    file        TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (job, file)
) WITHOUT ROWID;
