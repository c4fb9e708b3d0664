/* SPDX-License-Identifier: MIT
 * engine/warehouse.h: the local warehouse copy_to_redshift loads into: an embedded SQLite file
 * (engine/store_warehouse.c, the default) or a PostgreSQL server reached by a libpq DSN
 * (engine/pg_load.c). Both sit behind one small table of operations, so the loader
 * (`weir load`, engine/cli_load.c) parses and checks files once for either.
 *
 * A load is one transaction: begin -> [token lookup] -> [create table] -> [truncate] ->
 * insert rows -> record the load in `weir_loads` -> commit. Nothing is visible before the
 * commit, and a rollback (or a killed process) leaves no row behind. `weir_loads` (token
 * PRIMARY KEY, table, rows, files, loaded_at) lives in the warehouse itself, written in the
 * same transaction as the rows, so a retried attempt with the same idempotency token finds
 * its load there and does not load twice.
 *
 * Values reach insert_row() already checked and in canonical text form for their column's
 * type (see wr_wh_type_t); NULL is a missing value. Identifiers are lowercase names
 * (Redshift folds them) and are always quoted in the SQL built here.
 * Thread: blocking; meant for the `weir load` child process. Errors: 0 or a negative code
 * with detail in *err; WR_ENOTFOUND when the server cannot be reached (PostgreSQL),
 * WR_EINVALID for SQL the warehouse rejects. */
#ifndef WR_ENGINE_WAREHOUSE_H
#define WR_ENGINE_WAREHOUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/common.h"

/** Column types and the canonical text of their values. */
typedef enum {
    WR_WH_TEXT = 0,  /* any text */
    WR_WH_BIGINT,    /* "-42": decimal int64 */
    WR_WH_DOUBLE,    /* "3.5", "1e3": a finite decimal number */
    WR_WH_BOOLEAN,   /* "true" / "false" */
    WR_WH_DATE,      /* "YYYY-MM-DD" */
    WR_WH_TIMESTAMP, /* "YYYY-MM-DD HH:MM:SS[.ffffff]" */
} wr_wh_type_t;

typedef struct wr_wh_column_s {
    char *name; /* owned */
    wr_wh_type_t type;
} wr_wh_column_t;

/** The name of a type as the DDL here writes it ("BIGINT"...). Static. */
const char *wr_wh_type_name(wr_wh_type_t t);
/** Frees an array of `n` columns (names included). NULL is a no-op. */
void wr_wh_columns_free(wr_wh_column_t *cols, size_t n);

typedef struct wr_wh_s wr_wh_t;

typedef struct wr_wh_ops_s {
    const char *kind; /* "sqlite" or "postgresql" */
    /** BEGIN; also creates weir_loads when missing. */
    int (*begin)(wr_wh_t *wh, wr_err_t *err);
    /** COMMIT when commit is true, else ROLLBACK (never fails then). */
    int (*end)(wr_wh_t *wh, bool commit, wr_err_t *err);
    /** The load recorded under `token`: 0 and *prev NULL when none; else *prev is a new
     *  object {"rows", "table", "files", "loaded_at"}. */
    int (*token_lookup)(wr_wh_t *wh, const char *token, json_t **prev, wr_err_t *err);
    /** The table's columns in order; *n = 0 (and *cols NULL) when it does not exist. Caller
     *  frees with wr_wh_columns_free(). */
    int (*columns)(wr_wh_t *wh, const char *table, wr_wh_column_t **cols, size_t *n, wr_err_t *err);
    int (*create_table)(wr_wh_t *wh, const char *table, const wr_wh_column_t *cols, size_t n,
                        wr_err_t *err);
    int (*truncate)(wr_wh_t *wh, const char *table, wr_err_t *err);
    /** Starts inserting into `cols` (n of them, types as in the table) of `table`. */
    int (*insert_start)(wr_wh_t *wh, const char *table, const wr_wh_column_t *cols, size_t n,
                        wr_err_t *err);
    /** One row of n values (canonical text or NULL). May buffer; errors may surface here or
     *  in insert_finish(), which then names the 1-based row number in *bad_row. */
    int (*insert_row)(wr_wh_t *wh, const char *const *values, wr_err_t *err);
    int (*insert_finish)(wr_wh_t *wh, int64_t *bad_row, wr_err_t *err);
    /** Records the load under `token` (NULL: nothing recorded). `files` is a JSON array. */
    int (*record)(wr_wh_t *wh, const char *token, const char *table, int64_t rows,
                  const json_t *files, wr_err_t *err);
    /** Runs `sql` (one or more statements). *records (new array, may be empty) holds the rows
     *  of the last statement that returned rows (at most `max_records`), *rows the number of
     *  rows it returned, or the rows the statements changed when none returned any. */
    int (*exec)(wr_wh_t *wh, const char *sql, size_t max_records, json_t **records, int64_t *rows,
                wr_err_t *err);
    void (*close)(wr_wh_t *wh);
} wr_wh_ops_t;

/** Every backend's struct starts with this. */
struct wr_wh_s {
    const wr_wh_ops_t *ops;
};

/** Opens (creating when missing) the SQLite warehouse file at `path`, in WAL mode, with a
 *  busy timeout so concurrent loads wait for each other. Release with wh->ops->close(wh). */
WR_MUST_CHECK int wr_wh_open_sqlite(const char *path, wr_wh_t **out, wr_err_t *err);
/** Connects to PostgreSQL with the libpq connection string `dsn`. Errors: WR_ENOTFOUND when
 *  the server cannot be reached (message from libpq, password removed). */
WR_MUST_CHECK int wr_wh_open_pg(const char *dsn, wr_wh_t **out, wr_err_t *err);

#endif
