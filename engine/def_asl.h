/* SPDX-License-Identifier: MIT
 * engine/def_asl.h: Amazon States Language files (JSON, or YAML) -> a checked state machine.
 *
 * The loader keeps the definition as JSON (jansson) and builds, beside it, an index of every
 * state machine (the top-level one, each Parallel branch, each Map processor): states by
 * position, transitions resolved to indices, Retry/Catch compiled to the shared policy
 * structs of engine/workflow.h, and the task type each Task Resource maps to (DESIGN §3.2).
 * Validation is complete at load and reports every problem as `JSON.path: message`, e.g.
 * `States.Load.Next: unknown state "Lod" (did you mean "Load"?)`. Nesting of state machines
 * and of JSON is capped (WR_ASL_MAX_DEPTH). Thread: any; a loaded definition is immutable. */
#ifndef WR_ENGINE_DEF_ASL_H
#define WR_ENGINE_DEF_ASL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/common.h"
#include "engine/workflow.h"

#define WR_ASL_MAX_DEPTH 32           /* nested Parallel/Map state machines */
#define WR_ASL_NONE      ((size_t)-1) /* no transition */

struct wr_task_type_s;

typedef enum {
    WR_ASL_PASS = 0,
    WR_ASL_TASK,
    WR_ASL_CHOICE,
    WR_ASL_WAIT,
    WR_ASL_SUCCEED,
    WR_ASL_FAIL,
    WR_ASL_PARALLEL,
    WR_ASL_MAP,
} wr_asl_type_t;

typedef enum {
    WR_ASL_RES_LAMBDA_ARN = 0, /* arn:aws:lambda:R:A:function:NAME: the payload is the input */
    WR_ASL_RES_LAMBDA_INVOKE,  /* arn:aws:states:::lambda:invoke: Parameters.FunctionName */
    WR_ASL_RES_TYPE,           /* another task type; Parameters are its fields */
    WR_ASL_RES_UNSUPPORTED,    /* a valid ARN weir cannot run: fails at run time */
} wr_asl_resource_t;

typedef struct wr_asl_machine_s wr_asl_machine_t;

/** One state of a state machine. Everything is owned by the wr_asl_t it belongs to. */
typedef struct wr_asl_state_s {
    char *name;
    wr_asl_type_t type;
    const json_t *def;   /* the state's JSON object (borrowed from wr_asl_t.root) */
    size_t next;         /* index of Next in the same machine, or WR_ASL_NONE */
    bool end;            /* End: true (or a terminal type) */
    wr_retrier_t *retry; /* Retry, in order */
    size_t n_retry;
    wr_catcher_t *catchers;    /* Catch, in order; next_index resolved */
    const json_t **catch_defs; /* each catcher's JSON (ResultPath, Assign) */
    size_t n_catch;
    size_t *choice_next; /* Choice: target of each top-level rule */
    size_t n_choices;
    size_t default_next;         /* Choice: Default, or WR_ASL_NONE */
    wr_asl_machine_t **branches; /* Parallel */
    size_t n_branches;
    wr_asl_machine_t *processor;            /* Map: ItemProcessor or Iterator */
    wr_asl_resource_t res_kind;             /* Task */
    const struct wr_task_type_s *task_type; /* Task: NULL when not registered */
    char *function;                         /* Task with a Lambda function ARN: the function name */
    bool wait_token; /* Task: a `.waitForTaskToken` resource; ends with a task token result */
} wr_asl_state_t;

/** A state machine: the top-level one, a Parallel branch or a Map processor. */
struct wr_asl_machine_s {
    const json_t *def; /* borrowed from wr_asl_t.root */
    wr_asl_state_t *states;
    size_t n_states;
    size_t start; /* index of StartAt */
    int depth;    /* 0 for the top level */
};

typedef struct wr_asl_s {
    json_t *root; /* the state machine object; owned */
    wr_asl_machine_t *machine;
    char *name;         /* `name:` of a YAML wrapper, else the file name without extension */
    char *schedule;     /* YAML wrapper's cron expression, or NULL */
    char *timezone;     /* YAML wrapper's zone, or NULL */
    char *path;         /* the file */
    char *source;       /* the file's text */
    char hash[17];      /* FNV-1a 64 of the source, hex */
    int64_t timeout_ms; /* top-level TimeoutSeconds; 0 = none */
} wr_asl_t;

/** Parses and validates a state machine from `text` (JSON, or YAML: a bare state machine or
 *  a `state_machine:` key beside name/schedule/timezone). On success *out is owned by the
 *  caller (wr_asl_free). On failure returns WR_EPARSE/WR_EINVALID; err->msg holds the first
 *  problem and, if `all` is not NULL, *all receives every problem, one per line, each as
 *  `path: JSON.path: message` (caller frees). */
WR_MUST_CHECK int wr_asl_load_string(const char *path, const char *text, size_t len, wr_asl_t **out,
                                     char **all, wr_err_t *err);
/** Releases a definition. NULL is a no-op. */
void wr_asl_free(wr_asl_t *asl);

/** Parses an RFC 3339 timestamp as ASL requires it (uppercase T, a zone: Z or ±hh:mm;
 *  any number of fraction digits). Returns true and the instant as seconds since the epoch
 *  plus nanoseconds on success. */
bool wr_asl_parse_timestamp(const char *s, int64_t *secs, int32_t *nanos);

/** The type's name as written in files ("Pass", "Task"...). */
const char *wr_asl_type_name(wr_asl_type_t t);

#endif
