/* SPDX-License-Identifier: MIT
 * tasks/provider.h: choosing an attempt's provider from its connection (DESIGN.md §4).
 *
 * The connection is the task's `connection:`, else weir.yaml's `default_connection`, else the
 * built-in "local". A connection named in weir.yaml's `connections:` has `type: local` or
 * `type: aws`. Thread: loop. */
#ifndef WR_TASKS_PROVIDER_H
#define WR_TASKS_PROVIDER_H

#include "tasks/task.h"

typedef enum { WR_PROVIDER_LOCAL = 0, WR_PROVIDER_AWS } wr_provider_t;

/** Finds the attempt's connection: *name (borrowed), *conn (its weir.yaml entry, borrowed;
 *  NULL for the built-in "local") and *provider. An unknown connection, or one whose type is
 *  neither local nor aws, fills `res` with Weir.InvalidConnection and returns -1. */
int wr__task_provider(const wr_task_attempt_t *ta, wr_provider_t *provider, const char **name,
                      const json_t **conn, wr_task_result_t *res);

/** For task types with only a local provider so far: returns true with *conn (as above) when
 *  the local provider should run; otherwise fails the attempt (on the next loop iteration)
 *  with Weir.InvalidConnection, or Weir.NotImplemented naming the connection and `aws_api`
 *  (the service calls the aws provider will make), and returns false. */
bool wr__task_local_only(wr_task_attempt_t *ta, const char *aws_api, const json_t **conn);

#endif
