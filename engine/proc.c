/* SPDX-License-Identifier: MIT
 * engine/proc.c: child processes driven by the loop.
 *
 * Every child starts a new session (UV_PROCESS_DETACHED calls setsid), so its pid is also its
 * process-group id and stopping it reaches its whole tree: `sh -c 'sleep 5'` leaves no
 * orphaned `sleep` behind. The result is delivered once both conditions hold: the process
 * has exited and its output pipes reached EOF. A grandchild that keeps a pipe open after the
 * child exits does not hold the task forever: the pipes are closed a short while after exit. */
#include "engine/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_AFTER_EXIT_MS 200

typedef struct {
    uv_pipe_t pipe;
    wr_buf_t buf;
    size_t max;
    bool truncated;
    bool open;
} capture_t;

struct wr_proc_s {
    uv_process_t process;
    uv_pipe_t in;
    capture_t out, err;
    uv_timer_t kill_timer;  /* TERM -> KILL */
    uv_timer_t drain_timer; /* exit -> force-close pipes */
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    char *stdin_copy;
    bool in_open;
    bool exited;
    bool delivered;
    bool stopping;
    uint64_t version; /* bumped by every read */
    int pending_closes;
    int64_t exit_status;
    int term_signal;
    wr_proc_cb cb;
    void *data;
};

static void on_close(uv_handle_t *h)
{
    wr_proc_t *p = h->data;
    if (--p->pending_closes == 0) {
        wr_buf_dispose(&p->out.buf);
        wr_buf_dispose(&p->err.buf);
        free(p->stdin_copy);
        free(p);
    }
}

static void close_handle(wr_proc_t *p, uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        h->data = p;
        uv_close(h, on_close);
    }
}

static void maybe_deliver(wr_proc_t *p)
{
    wr_proc_result_t res;

    if (p->delivered || !p->exited || p->out.open || p->err.open)
        return;
    p->delivered = true;
    memset(&res, 0, sizeof(res));
    res.exit_status = p->exit_status;
    res.term_signal = p->term_signal;
    res.out = wr_buf_cstr(&p->out.buf);
    res.out_len = p->out.buf.len;
    res.err = wr_buf_cstr(&p->err.buf);
    res.err_len = p->err.buf.len;
    res.out_truncated = p->out.truncated;
    res.err_truncated = p->err.truncated;
    p->cb(p, &res, p->data);
    close_handle(p, (uv_handle_t *)&p->process);
    close_handle(p, (uv_handle_t *)&p->kill_timer);
    close_handle(p, (uv_handle_t *)&p->drain_timer);
    if (p->in_open) {
        p->in_open = false;
        close_handle(p, (uv_handle_t *)&p->in);
    }
}

static void capture_close(wr_proc_t *p, capture_t *c)
{
    if (!c->open)
        return;
    c->open = false;
    close_handle(p, (uv_handle_t *)&c->pipe);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = wr_xmalloc(suggested);
    buf->len = suggested;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    capture_t *c = wr_container_of((uv_pipe_t *)s, capture_t, pipe);
    wr_proc_t *p = s->data;

    if (n > 0) {
        p->version++;
        wr_buf_append(&c->buf, buf->base, (size_t)n);
        if (c->buf.len > c->max) {
            /* Keep the newest half: results and errors are at the end. */
            size_t keep = c->max / 2;
            memmove(c->buf.data, c->buf.data + c->buf.len - keep, keep);
            c->buf.len = keep;
            c->buf.data[keep] = '\0';
            c->truncated = true;
        }
    }
    free(buf->base);
    if (n < 0) {
        capture_close(p, c);
        maybe_deliver(p);
    }
}

static void on_drain_timeout(uv_timer_t *t)
{
    wr_proc_t *p = wr_container_of(t, wr_proc_t, drain_timer);
    capture_close(p, &p->out);
    capture_close(p, &p->err);
    maybe_deliver(p);
}

static void on_proc_exit(uv_process_t *proc, int64_t status, int sig)
{
    wr_proc_t *p = wr_container_of(proc, wr_proc_t, process);

    p->exited = true;
    p->exit_status = status;
    p->term_signal = sig;
    uv_timer_stop(&p->kill_timer);
    if (p->stopping)
        kill(-p->process.pid, SIGKILL); /* what is left of the group after its leader */
    if (p->out.open || p->err.open)
        uv_timer_start(&p->drain_timer, on_drain_timeout, DRAIN_AFTER_EXIT_MS, 0);
    maybe_deliver(p);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    wr_proc_t *p = wr_container_of(req, wr_proc_t, shutdown_req);
    (void)status;
    if (p->in_open) {
        p->in_open = false;
        close_handle(p, (uv_handle_t *)&p->in);
    }
}

static void on_write(uv_write_t *req, int status)
{
    wr_proc_t *p = wr_container_of(req, wr_proc_t, write_req);
    (void)status; /* EPIPE: the child did not read its input; that is its business */
    if (p->in_open && uv_shutdown(&p->shutdown_req, (uv_stream_t *)&p->in, on_shutdown) != 0) {
        p->in_open = false;
        close_handle(p, (uv_handle_t *)&p->in);
    }
}

int wr_proc_spawn(uv_loop_t *loop, const wr_proc_opts_t *opts, wr_proc_cb cb, void *data,
                  wr_proc_t **out, wr_err_t *err)
{
    wr_proc_t *p = wr_xcalloc(1, sizeof(*p));
    uv_process_options_t po;
    uv_stdio_container_t stdio[3];
    int rc;

    p->cb = cb;
    p->data = data;
    wr_buf_init(&p->out.buf);
    wr_buf_init(&p->err.buf);
    p->out.max = WR_PROC_STDOUT_MAX;
    p->err.max = WR_PROC_STDERR_MAX;
    uv_pipe_init(loop, &p->out.pipe, 0);
    uv_pipe_init(loop, &p->err.pipe, 0);
    uv_timer_init(loop, &p->kill_timer);
    uv_timer_init(loop, &p->drain_timer);
    /* Every handle initialized is counted; the last close callback frees p. The process
     * handle is counted too: it must be closed even when uv_spawn fails. */
    p->pending_closes = 5;
    p->out.pipe.data = p->err.pipe.data = p;
    p->out.open = p->err.open = true;
    memset(&po, 0, sizeof(po));
    memset(stdio, 0, sizeof(stdio));
    if (opts->stdin_data != NULL) {
        uv_pipe_init(loop, &p->in, 0);
        p->pending_closes++;
        p->in.data = p;
        p->in_open = true;
        stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
        stdio[0].data.stream = (uv_stream_t *)&p->in;
    } else {
        stdio[0].flags = UV_IGNORE; /* /dev/null */
    }
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&p->out.pipe;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&p->err.pipe;
    po.file = opts->file;
    po.args = opts->args;
    po.env = opts->env;
    po.cwd = opts->cwd;
    po.flags = UV_PROCESS_DETACHED; /* setsid(): its own process group */
    po.stdio_count = 3;
    po.stdio = stdio;
    po.exit_cb = on_proc_exit;
    rc = uv_spawn(loop, &p->process, &po);
    if (rc != 0) {
        wr_err_set(err, rc, "cannot start '%s': %s", opts->file, uv_strerror(rc));
        /* Nothing was started: close what we opened; the last close frees p. */
        p->delivered = true;
        capture_close(p, &p->out);
        capture_close(p, &p->err);
        if (p->in_open) {
            p->in_open = false;
            close_handle(p, (uv_handle_t *)&p->in);
        }
        close_handle(p, (uv_handle_t *)&p->kill_timer);
        close_handle(p, (uv_handle_t *)&p->drain_timer);
        close_handle(p, (uv_handle_t *)&p->process);
        return rc;
    }
    uv_read_start((uv_stream_t *)&p->out.pipe, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&p->err.pipe, on_alloc, on_read);
    if (opts->stdin_data != NULL) {
        uv_buf_t b;
        p->stdin_copy = wr_xstrndup(opts->stdin_data, opts->stdin_len);
        b = uv_buf_init(p->stdin_copy, (unsigned)opts->stdin_len);
        if (uv_write(&p->write_req, (uv_stream_t *)&p->in, &b, 1, on_write) != 0) {
            p->in_open = false;
            close_handle(p, (uv_handle_t *)&p->in);
        }
    }
    if (out != NULL)
        *out = p;
    return 0;
}

static void on_kill_timeout(uv_timer_t *t)
{
    wr_proc_t *p = wr_container_of(t, wr_proc_t, kill_timer);
    if (!p->exited)
        kill(-p->process.pid, SIGKILL);
}

void wr_proc_stop(wr_proc_t *p, int64_t grace_ms)
{
    if (p->exited || p->stopping)
        return;
    p->stopping = true;
    kill(-p->process.pid, SIGTERM);
    uv_timer_start(&p->kill_timer, on_kill_timeout, (uint64_t)(grace_ms > 0 ? grace_ms : 0), 0);
}

void wr_proc_peek(wr_proc_t *p, const char **out, size_t *out_len, const char **err,
                  size_t *err_len, uint64_t *version)
{
    *out = wr_buf_cstr(&p->out.buf);
    *out_len = p->out.buf.len;
    *err = wr_buf_cstr(&p->err.buf);
    *err_len = p->err.buf.len;
    *version = p->version;
}

int wr_proc_pid(const wr_proc_t *p)
{
    return p->process.pid;
}
