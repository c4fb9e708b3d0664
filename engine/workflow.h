/* SPDX-License-Identifier: MIT
 * engine/workflow.h: the one in-memory model that definition files compile to.
 *
 * A wr_workflow_t is built by a definition loader (engine/def_dag.c) and is immutable
 * afterwards; a run borrows it for its whole life. Everything it points to is owned by it and
 * released by wr_workflow_free(). */
#ifndef WR_ENGINE_WORKFLOW_H
#define WR_ENGINE_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/common.h"

struct wr_task_type_s;

typedef enum {
    WR_TRIGGER_ALL_SUCCESS = 0,
    WR_TRIGGER_ALL_DONE,
    WR_TRIGGER_ONE_FAILED,
    WR_TRIGGER_ONE_SUCCESS,
    WR_TRIGGER_NONE_FAILED,
    WR_TRIGGER_ALWAYS,
} wr_trigger_t;

/** A Retry entry (DAG `retry:` item or ASL `Retry` element). */
typedef struct wr_retrier_s {
    char **errors; /* error names matched, owned */
    size_t n_errors;
    int64_t interval_ms;  /* first delay; default 1000 */
    int max_attempts;     /* retries granted (not tries); default 3 */
    double backoff_rate;  /* default 2.0 */
    int64_t max_delay_ms; /* cap on a delay; 0 = none */
    bool jitter_full;     /* FULL jitter: a delay drawn uniformly from [0, delay] */
} wr_retrier_t;

/** A Catch entry: where a matching error goes. */
typedef struct wr_catcher_s {
    char **errors;
    size_t n_errors;
    char *next;        /* target task name, owned */
    size_t next_index; /* index of the target in wr_workflow_t.tasks */
} wr_catcher_t;

/** One task of a DAG. */
typedef struct wr_wtask_s {
    char *name;
    const struct wr_task_type_s *type; /* from the registry; never NULL once loaded */
    json_t *conf;                      /* the type's own fields, templates unrendered; owned */
    size_t *deps;                      /* indices of depends_on, in file order */
    size_t n_deps;
    wr_trigger_t trigger;
    wr_retrier_t *retry;
    size_t n_retry;
    wr_catcher_t *catchers;
    size_t n_catch;
    int64_t timeout_ms; /* per attempt; 0 = none */
    bool catch_target;  /* named by some catch.next: runs only when a catch fires */
    int priority;       /* higher first among tasks waiting for a slot; default 0 */
    char *pool;         /* named pool (weir.yaml `pools:`) whose slots it takes; or NULL */
    int line, column;   /* where the task's key is in the file (1-based) */
} wr_wtask_t;

/** A file trigger: each new complete file matching `pattern` in folder `path` starts a run
 *  with {{ input.file }} set to its path. */
typedef struct wr_file_trigger_s {
    char *path;    /* folder watched */
    char *pattern; /* fnmatch(3) pattern of file names; "*" by default */
} wr_file_trigger_t;

typedef enum { WR_WORKFLOW_DAG = 0, WR_WORKFLOW_ASL } wr_workflow_kind_t;

typedef struct wr_workflow_s {
    wr_workflow_kind_t kind;
    char *name;
    char *description;
    char *schedule; /* cron expression or @macro; NULL = manual only */
    char *timezone; /* IANA zone; "UTC" by default */
    char *start_date, *end_date;
    bool catchup;
    int max_active_runs;
    int max_active_tasks; /* tasks of this DAG running at once, over all its runs; 0 = none */
    json_t *params;       /* declared params with their defaults (object); owned */
    wr_file_trigger_t *file_triggers;
    size_t n_file_triggers;
    wr_wtask_t *tasks; /* in file order */
    size_t n_tasks;
    char *path;    /* file it came from */
    char *source;  /* the file's text */
    char hash[17]; /* FNV-1a 64 of the source, hex: identifies a version (not for security) */
} wr_workflow_t;

/** Releases a workflow and everything it owns. NULL is a no-op. */
void wr_workflow_free(wr_workflow_t *wf);
/** Index of the task named `name`, or (size_t)-1. */
size_t wr_workflow_task_index(const wr_workflow_t *wf, const char *name);
/** The trigger rule's name as written in files ("all_success"...). */
const char *wr_trigger_name(wr_trigger_t t);
/** Parses a trigger rule name. 0 on success, WR_EINVALID otherwise. */
int wr_trigger_parse(const char *s, wr_trigger_t *out);

#endif
