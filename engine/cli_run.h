/* SPDX-License-Identifier: MIT
 * engine/cli_run.h: what `weir run` does for any definition, DAG or state machine: its
 * options, the configuration, the definition file, the input, the store, a fresh engine, and
 * SIGINT/SIGTERM while the run goes. engine/cli.c runs DAGs with it, engine/cli_asl.c state
 * machines. Thread: the calling (main) thread, which runs the engine's loop. */
#ifndef WR_ENGINE_CLI_RUN_H
#define WR_ENGINE_CLI_RUN_H

#include <stdbool.h>

#include <jansson.h>
#include <uv.h>

#include "engine/config.h"
#include "engine/loop.h"
#include "engine/store.h"

typedef struct wr_run_cli_s wr_run_cli_t;

struct wr_run_cli_s {
    /* options (wr__run_cli_parse) */
    const char *file;
    const char *input_json, *input_file;
    const char *functions, *db, *config;
    bool as_json, quiet;
    long parallelism;
    /* what was loaded; owned */
    wr_config_t cfg;
    char *text; /* the definition file */
    size_t len;
    json_t *input;
    wr_store_t *store;
    wr_engine_t eng;
    bool eng_ready;
    uv_signal_t sigint, sigterm;
    bool done; /* the run has ended */
    /** Set by the caller before the loop runs: stops the run on SIGINT/SIGTERM. */
    void (*stop)(wr_run_cli_t *c, const char *why);
    void *run; /* the caller's run, for `stop` */
};

/** Parses `weir run` options into `c` (zeroed first). Returns -1 to go on, else the exit
 *  status to return (0 after --help, 2 after a usage error, with its message printed). */
int wr__run_cli_parse(wr_run_cli_t *c, int argc, char **argv, const char *help);
/** Reads the configuration and the definition file. 0, or 2 with the message printed. */
int wr__run_cli_load(wr_run_cli_t *c);
/** Parses --input / --input-file ({} without either). A DAG's input must be an object; a
 *  state machine takes any JSON value (`any`). 0, or 2 with the message printed. */
int wr__run_cli_input(wr_run_cli_t *c, bool any);
/** Opens the store, records the definition version (*version_id), starts the engine and the
 *  signal handlers. 0, or 2 with the message printed. */
int wr__run_cli_engine(wr_run_cli_t *c, const char *name, const char *kind, const char *source,
                       const char *hash, int64_t *version_id);
/** The run has ended: SIGINT/SIGTERM no longer stop it. */
void wr__run_cli_finished(wr_run_cli_t *c);
/** Prints `res` as the one JSON object of --json (written by `dump`, NULL for jansson's
 *  compact form; the caller frees what it returns), else through `human`. */
void wr__run_cli_print(const wr_run_cli_t *c, json_t *res, void (*human)(json_t *res),
                       char *(*dump)(const json_t *v));
/** Releases everything `c` holds (after the caller closed its run). */
void wr__run_cli_dispose(wr_run_cli_t *c);

#endif
