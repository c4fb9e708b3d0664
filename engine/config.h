/* SPDX-License-Identifier: MIT
 * engine/config.h: weir.yaml, the deployment's configuration (never part of DAG files).
 *
 * Keys: functions_dir, db, dags, listen, parallelism, default_connection, connections,
 * pools. Relative paths are relative to the folder holding the file. Thread: any. */
#ifndef WR_ENGINE_CONFIG_H
#define WR_ENGINE_CONFIG_H

#include <jansson.h>

#include "engine/common.h"

typedef struct wr_config_s {
    char *path;          /* the file read, or NULL when none was */
    char *functions_dir; /* local Lambda handlers; NULL: not set */
    char *db;            /* database file; NULL: not set */
    char *dags;          /* DAG folder; NULL: not set */
    char *listen;        /* HOST:PORT; NULL: not set */
    int parallelism;     /* 0: not set */
    json_t *raw;         /* the whole file as JSON (connections, pools...); owned */
} wr_config_t;

/** Reads `path`, or ./weir.yaml when `path` is NULL and that file exists (no file is not an
 *  error then: *cfg stays empty). Unknown keys and wrong types are errors naming the file and
 *  the field. On error *cfg is left empty. */
WR_MUST_CHECK int wr_config_load(const char *path, wr_config_t *cfg, wr_err_t *err);
/** Releases what `cfg` owns and empties it. */
void wr_config_dispose(wr_config_t *cfg);

#endif
