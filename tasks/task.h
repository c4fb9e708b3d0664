/* SPDX-License-Identifier: MIT
 * tasks/task.h: the task-type vtable and one running attempt of a task.
 *
 * A task type is a table of data and hooks (cf. nginx ngx_module_t). Its fields are declared
 * as data (`params`) so one generic check validates every DAG task; `validate` adds what the
 * table cannot say. `start` begins one attempt without blocking and must, unless it returns
 * an error, call wr_task_attempt_done() exactly once, later, from the loop. `cancel` asks a
 * running attempt to stop (idempotent); the attempt still ends through
 * wr_task_attempt_done(), once its processes or requests are gone.
 * Thread: everything here runs on the loop thread. */
#ifndef WR_TASKS_TASK_H
#define WR_TASKS_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "engine/common.h"

#define WR_TASK_ABI 1

struct wr_engine_s;

typedef enum {
    WR_PARAM_STRING = 1, /* a string (templates allowed) */
    WR_PARAM_ANY,        /* any JSON value */
    WR_PARAM_OBJECT,     /* a mapping */
    WR_PARAM_STRINGS,    /* a string or a list of strings */
    WR_PARAM_INT,        /* an integer */
    WR_PARAM_BOOL,       /* true/false */
} wr_param_kind_t;

typedef struct wr_param_s {
    const char *name;
    wr_param_kind_t kind;
    bool required;
} wr_param_t;

#define WR_PARAM_END   \
    {                  \
        NULL, 0, false \
    }

/** What an attempt ended with. Owned by whoever holds it; see each function. */
typedef struct wr_task_result_s {
    json_t *output;     /* the result when error is NULL (may be json_null()); owned */
    char *error;        /* error name (States.TaskFailed, Custom.X...), NULL on success */
    char *cause;        /* human-readable cause; owned */
    char *log_stdout;   /* captured stdout (tail); owned; may be NULL */
    char *log_stderr;   /* captured stderr (tail); owned; may be NULL */
    bool log_truncated; /* only the tails were kept */
    json_t *commit;     /* effects recorded with the success, in the same transaction
                           (see wr_task_change_t.commit); owned; NULL for none */
} wr_task_result_t;

typedef struct wr_task_attempt_s wr_task_attempt_t;
typedef void (*wr_task_done_cb)(wr_task_attempt_t *ta, wr_task_result_t *res);

/** One attempt of one task, owned by the run that started it. */
struct wr_task_attempt_s {
    struct wr_engine_s *eng;           /* public, read-only */
    const struct wr_task_type_s *type; /* public, read-only */
    json_t *conf;                      /* rendered fields; owned by the attempt */
    const char *run_id;                /* borrowed from the run */
    const char *task_name;             /* borrowed from the workflow */
    int attempt;                       /* 1 on the first try */
    const char *token;                 /* idempotency token of this attempt; borrowed */
    int pid;                           /* set by the type when it runs a process group */
    /** Set by the type when it can show its output while it runs (NULL otherwise): the
     *  captured stdout/stderr so far, borrowed until the next loop iteration. */
    void (*peek_logs)(struct wr_task_attempt_s *ta, const char **out, size_t *out_len,
                      const char **err, size_t *err_len, uint64_t *version);
    void *impl;              /* private to the task type */
    wr_task_done_cb done_cb; /* private: the run's */
    void *data;              /* private: the run's */
    bool canceled;           /* set by wr_task_attempt_cancel() */
};

typedef struct wr_task_type_s {
    unsigned abi;             /* WR_TASK_ABI */
    const char *name;         /* the `type:` value in a DAG, e.g. "glue_job" */
    const wr_param_t *params; /* fields, ending with WR_PARAM_END */
    /** Checks fields beyond their kinds, at load time, no I/O. May be NULL. On error, sets
     *  err (message naming the field) and returns non-zero. */
    int (*validate)(const json_t *conf, wr_err_t *err);
    /** Starts an attempt; must not block. */
    int (*start)(wr_task_attempt_t *ta, wr_err_t *err);
    /** Asks a running attempt to stop; idempotent. */
    void (*cancel)(wr_task_attempt_t *ta);
} wr_task_type_t;

/** The registered type named `name`, or NULL. */
const wr_task_type_t *wr_task_type_find(const char *name);
/** NULL-terminated list of every registered type. */
const wr_task_type_t *const *wr_task_types(void);

/** Called by a task type, exactly once per started attempt: hands over `res` (its owned
 *  members move to the run). */
void wr_task_attempt_done(wr_task_attempt_t *ta, wr_task_result_t *res);

/** Fills `res` with an error (copies of the strings). */
void wr_task_result_error(wr_task_result_t *res, const char *error, const char *fmt, ...)
    WR_PRINTF(3, 4);
/** Releases what `res` owns and zeroes it. */
void wr_task_result_dispose(wr_task_result_t *res);

/** A string field of the rendered conf, or NULL. Borrowed from ta->conf. */
const char *wr_task_conf_str(const wr_task_attempt_t *ta, const char *field);

#endif
