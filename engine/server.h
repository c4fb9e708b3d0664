/* SPDX-License-Identifier: MIT
 * engine/server.h: the long-running daemon behind `weir serve`, and the door other threads
 * use to reach it.
 *
 * The server owns the engine (one libuv loop, the only writer of the database), the loaded
 * definitions, the scheduler and every active run. Other threads — libmicrohttpd's pool —
 * never touch those: they read through their own read-only store connections (engine/query.h)
 * and hand every mutation to the loop with wr_server_call(), which queues the command, wakes
 * the loop with uv_async_send() and blocks the calling thread until the loop has answered.
 * Thread: wr_server_call(), wr_server_wait_change() and wr_server_stats() are safe from any
 * thread except the loop's; everything else is loop-only. */
#ifndef WR_ENGINE_SERVER_H
#define WR_ENGINE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "engine/common.h"

typedef struct wr_server_s wr_server_t;

typedef enum {
    WR_CMD_TRIGGER = 1, /* start a run of `workflow` with `input` (client `run_id` optional) */
    WR_CMD_CANCEL,      /* abort run `run_id` */
    WR_CMD_RETRY,       /* re-run the failed and downstream tasks of finished run `run_id` */
    WR_CMD_SET_PAUSED,  /* pause/unpause `workflow` */
    /* State machines created through the Step Functions API (stored in the database, not
     * in the DAG folder; listed with the other workflows). */
    WR_CMD_SM_CREATE,  /* `workflow` = name, `definition` = ASL JSON text; 409 if it exists
                          with another definition, 200 (same) or 201 (new) otherwise */
    WR_CMD_SM_UPDATE,  /* `workflow`, `definition`: a new version; 404 if unknown */
    WR_CMD_SM_DELETE,  /* `workflow`: no new executions; running ones finish; 404 if unknown */
    WR_CMD_TASK_TOKEN, /* `token` with `token_kind` "success" (output = `definition` JSON),
                          "failure" (`error`, `cause`) or "heartbeat"; 404 unknown token */
} wr_cmd_kind_t;

/** A command from another thread to the loop. The caller fills the request part, calls
 *  wr_server_call(), then reads the reply part. Strings are borrowed for the call. */
typedef struct wr_cmd_s {
    /* request */
    wr_cmd_kind_t kind;
    const char *workflow;
    const char *run_id;
    const json_t *input;    /* TRIGGER: a JSON object, or NULL for {} */
    bool paused;            /* SET_PAUSED */
    const char *actor;      /* who asked (token name), for the history; may be NULL */
    const char *definition; /* SM_CREATE/SM_UPDATE: ASL JSON; TASK_TOKEN success: output */
    const char *token;      /* TASK_TOKEN */
    const char *token_kind; /* TASK_TOKEN: "success", "failure", "heartbeat" */
    const char *stop_error; /* CANCEL (StopExecution) and TASK_TOKEN failure: error name */
    const char *stop_cause; /* idem: cause */
    /* reply */
    int status;          /* HTTP-style: 200 ok/existing, 201 created, 202 accepted, 400, 404,
                            409 conflict (e.g. cancel of a finished run), 503 shutting down */
    char error[48];      /* machine code when status >= 400: "not_found", "conflict", ... */
    char message[256];   /* human text */
    char out_run_id[64]; /* TRIGGER/RETRY: the run */
    /* private */
    bool done_;
    struct wr_cmd_s *next_;
} wr_cmd_t;

/** Runs `cmd` on the loop and waits for its reply. Returns 0 when the command was handled
 *  (see cmd->status for the outcome), or WR_ECANCELED when the server is shutting down. */
int wr_server_call(wr_server_t *srv, wr_cmd_t *cmd);

/** Blocks until something changed (a run or task ended or started) after generation `seen`,
 *  or `timeout_ms` passed. Returns the current generation; callers re-read what they wait
 *  for after each return (long polls such as GET /runs/{id}/wait). */
uint64_t wr_server_wait_change(wr_server_t *srv, uint64_t seen, int64_t timeout_ms);

typedef struct wr_server_stats_s {
    int64_t started_at_ms;    /* when the server started */
    int workflows;            /* definitions loaded */
    int definition_errors;    /* files that do not load */
    int runs_active;          /* runs not yet ended */
    int tasks_running;        /* attempts in flight */
    int tasks_queued;         /* ready tasks waiting for a slot */
    int64_t scheduler_lag_ms; /* how late the last scheduled fire was created */
    uint64_t generation;      /* see wr_server_wait_change() */
    bool shutting_down;
} wr_server_stats_t;

/** A consistent snapshot of the server's counters. */
void wr_server_stats(wr_server_t *srv, wr_server_stats_t *out);

/** The database file the server writes (for read-only connections). Borrowed, constant. */
const char *wr_server_db_path(const wr_server_t *srv);
/** The loaded configuration (weir.yaml as JSON: auth, tokens...). Borrowed, constant. */
const json_t *wr_server_config(const wr_server_t *srv);

/** The web front end, given to the server by the program that assembles it (engine/main.c):
 *  the engine does not know HTTP. `start` runs on the loop thread before the loop starts;
 *  `stop` after the loop has stopped accepting commands. */
typedef struct wr_frontend_s {
    int (*start)(wr_server_t *srv, const char *listen, void **state, wr_err_t *err);
    void (*stop)(void *state);
} wr_frontend_t;

#endif
