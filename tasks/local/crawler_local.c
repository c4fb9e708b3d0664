/* SPDX-License-Identifier: MIT
 * tasks/local/crawler_local.c: the local provider of the crawler task type. An attempt is a
 * child `weir crawl --db DB --crawler NAME --path DIR --database D [--table-prefix P]`
 * (engine/cli_crawl.c): the folder walk and the sampling of files never run on the loop, and
 * a timeout kills the child before its one transaction, leaving the catalog as it was.
 *
 * Fields: `crawler` (its name), `path` (required locally), `database` (default "default",
 * as in Glue), `table_prefix`. The result is the child's JSON (TablesCreated, TablesUpdated,
 * tables, changes, FilesSkipped); its errors (Glue.EntityNotFoundException for a missing
 * folder...) name the task's error. */
#include "tasks/local/glue_job_local.h"

#include <stdlib.h>
#include <string.h>

#include "engine/loop.h"
#include "engine/proc.h"
#include "engine/run.h"
#include "tasks/proc_task.h"

typedef struct {
    wr_task_attempt_t *ta;
    wr_proc_t *proc;
} crawl_t;

static void on_crawl_done(wr_proc_t *p, const wr_proc_result_t *pr, void *data)
{
    crawl_t *c = data;
    wr_task_attempt_t *ta = c->ta;
    wr_task_result_t res;

    (void)p;
    wr__task_result_from_proc(pr, WR_RESULT_LAST_LINE, &res);
    if (res.error == NULL && !json_is_object(res.output)) {
        json_decref(res.output);
        res.output = NULL;
        wr_task_result_error(&res, "Weir.CrawlerError", "weir crawl printed no result");
    }
    ta->impl = NULL;
    free(c);
    wr_task_attempt_done(ta, &res);
}

int wr__crawler_local_start(wr_task_attempt_t *ta, wr_err_t *err)
{
    const char *name = wr_task_conf_str(ta, "crawler");
    const char *path = wr_task_conf_str(ta, "path");
    const char *database = wr_task_conf_str(ta, "database");
    const char *prefix = wr_task_conf_str(ta, "table_prefix");
    const char *args[16];
    wr_proc_opts_t o;
    wr_task_result_t res;
    crawl_t *c;
    size_t i = 0;
    int rc;

    memset(&res, 0, sizeof(res));
    if (path == NULL || *path == '\0' || ta->eng->db_path == NULL) {
        wr_task_result_error(&res, "Glue.InvalidInputException",
                             path == NULL || *path == '\0'
                                 ? "crawler %s: the local crawler needs 'path' (a folder)"
                                 : "crawler %s: the engine has no database file",
                             name);
        wr_task_attempt_done_later(ta, &res);
        return 0;
    }
    args[i++] = ta->eng->self_exe;
    args[i++] = "crawl";
    args[i++] = "--db";
    args[i++] = ta->eng->db_path;
    args[i++] = "--crawler";
    args[i++] = name;
    args[i++] = "--path";
    args[i++] = path;
    args[i++] = "--database";
    args[i++] = database != NULL ? database : "default";
    if (prefix != NULL) {
        args[i++] = "--table-prefix";
        args[i++] = prefix;
    }
    args[i] = NULL;
    memset(&o, 0, sizeof(o));
    o.file = args[0];
    o.args = (char **)args;
    c = wr_xcalloc(1, sizeof(*c));
    c->ta = ta;
    rc = wr_proc_spawn(&ta->eng->loop, &o, on_crawl_done, c, &c->proc, err);
    if (rc != 0) {
        free(c);
        return rc;
    }
    ta->impl = c;
    return 0;
}

void wr__crawler_local_cancel(wr_task_attempt_t *ta)
{
    crawl_t *c = ta->impl;
    if (c != NULL && c->proc != NULL)
        wr_proc_stop(c->proc, ta->eng->kill_grace_ms);
}
