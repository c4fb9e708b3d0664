-- The data catalog (the local Glue Data Catalog): databases, tables, columns, partitions and
-- the files behind each table, as the crawler task type records them (engine/store_catalog.c,
-- engine/catalog.h). Times are Unix milliseconds (UTC). A crawl replaces a table's columns,
-- partitions and files in one transaction, and appends what changed to catalog_changes.

CREATE TABLE catalog_databases (
    name        TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE catalog_tables (
    id          INTEGER PRIMARY KEY,
    database    TEXT NOT NULL REFERENCES catalog_databases(name),
    name        TEXT NOT NULL,
    location    TEXT NOT NULL,               -- the folder the table's files live under
    format      TEXT NOT NULL,               -- 'csv' or 'json' (JSON lines)
    crawler     TEXT,                        -- the crawler that last wrote it
    version     INTEGER NOT NULL DEFAULT 1,  -- +1 for each crawl that changed its schema
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (database, name)
);

-- Data columns then partition keys (is_partition = 1), each in its own position order.
CREATE TABLE catalog_columns (
    table_id     INTEGER NOT NULL REFERENCES catalog_tables(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    type         TEXT NOT NULL,              -- bigint double boolean date timestamp string
                                             -- struct<...> array<...>
    is_partition INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (table_id, is_partition, name)
) WITHOUT ROWID;

CREATE TABLE catalog_partitions (
    table_id    INTEGER NOT NULL REFERENCES catalog_tables(id) ON DELETE CASCADE,
    location    TEXT NOT NULL,               -- the partition's folder
    vals        TEXT NOT NULL,               -- JSON array of the values, in key order
    PRIMARY KEY (table_id, location)
) WITHOUT ROWID;

CREATE TABLE catalog_files (
    table_id    INTEGER NOT NULL REFERENCES catalog_tables(id) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mtime       INTEGER NOT NULL,            -- modification time, Unix ms
    PRIMARY KEY (table_id, path)
) WITHOUT ROWID;

-- What each crawl changed: TableCreated, ColumnAdded, TypeChanged, PartitionAdded,
-- PartitionRemoved; detail is a JSON object (column, type, from, to, values...).
CREATE TABLE catalog_changes (
    id          INTEGER PRIMARY KEY,
    table_id    INTEGER NOT NULL REFERENCES catalog_tables(id) ON DELETE CASCADE,
    crawler     TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX catalog_changes_by_table ON catalog_changes (table_id, id);

CREATE TABLE catalog_crawlers (
    name        TEXT PRIMARY KEY,
    path        TEXT NOT NULL,
    database    TEXT NOT NULL,
    last_crawl  INTEGER NOT NULL,
    last_result TEXT NOT NULL                -- the crawl's result object (JSON)
) WITHOUT ROWID;
