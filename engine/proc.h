/* SPDX-License-Identifier: MIT
 * engine/proc.h: child processes on the loop: spawn in a process group of their own, feed
 * stdin, capture stdout and stderr (bounded), and stop the whole group (TERM, then KILL after
 * a grace period).
 *
 * Thread: loop thread only. Contract: when wr_proc_spawn() fails the callback is never
 * called; otherwise it is called exactly once, from the loop, after the process has exited
 * and its pipes are closed, and the wr_proc_t is freed right after the callback returns. */
#ifndef WR_ENGINE_PROC_H
#define WR_ENGINE_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "engine/common.h"

#define WR_PROC_STDOUT_MAX (8u << 20)  /* stdout kept (its tail when longer) */
#define WR_PROC_STDERR_MAX (64u << 10) /* stderr kept (its tail) */

typedef struct wr_proc_s wr_proc_t;

typedef struct wr_proc_opts_s {
    const char *file;       /* program; looked up in PATH when it has no '/' */
    char **args;            /* argv, NULL-terminated, args[0] is the program name */
    char **env;             /* "K=V" list, NULL-terminated; NULL inherits ours */
    const char *cwd;        /* NULL: ours */
    const char *stdin_data; /* written to stdin, which is then closed; NULL: /dev/null */
    size_t stdin_len;
} wr_proc_opts_t;

typedef struct wr_proc_result_s {
    int64_t exit_status; /* exit code when term_signal == 0 */
    int term_signal;     /* signal that ended it, or 0 */
    const char *out;     /* captured stdout (tail when truncated); borrowed */
    size_t out_len;
    const char *err; /* captured stderr tail; borrowed */
    size_t err_len;
    bool out_truncated, err_truncated;
} wr_proc_result_t;

typedef void (*wr_proc_cb)(wr_proc_t *p, const wr_proc_result_t *res, void *data);

/** Spawns the process described by `opts`. On success *out (may be NULL) is a handle valid
 *  until the callback returns. */
WR_MUST_CHECK int wr_proc_spawn(uv_loop_t *loop, const wr_proc_opts_t *opts, wr_proc_cb cb,
                                void *data, wr_proc_t **out, wr_err_t *err);
/** What the process has written so far: borrowed views of the captured stdout and stderr
 *  (their tails when longer than the caps), valid until the next loop iteration. A counter
 *  that grows whenever anything was captured goes to *version. */
void wr_proc_peek(wr_proc_t *p, const char **out, size_t *out_len, const char **err,
                  size_t *err_len, uint64_t *version);
/** Sends SIGTERM to the process group, and SIGKILL `grace_ms` later if it is still there.
 *  Idempotent; a no-op once the process has exited. */
void wr_proc_stop(wr_proc_t *p, int64_t grace_ms);
/** The child's pid. */
int wr_proc_pid(const wr_proc_t *p);

#endif
