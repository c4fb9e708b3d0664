/* SPDX-License-Identifier: MIT
 * engine/loop.c: the engine's loop and its parallelism slots.
 *
 * Slots are granted on the next loop iteration (a uv_check handle, with a uv_idle handle
 * keeping the loop from sleeping while a grant is due), so a grant callback never runs
 * inside the stack of the call that asked for or released a slot. */
#include "engine/loop.h"

#include <stdlib.h>
#include <string.h>

static void on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

typedef struct {
    uv_check_t check;
    uv_idle_t idle; /* keeps the check from blocking in poll while grants are pending */
    wr_engine_t *eng;
} grant_t;

static void grant_pending(wr_engine_t *eng)
{
    while (eng->wait_head != NULL && eng->running < eng->parallelism) {
        wr_slot_wait_t *w = eng->wait_head;
        eng->wait_head = w->next;
        if (eng->wait_head == NULL)
            eng->wait_tail = NULL;
        w->next = NULL;
        w->queued = false;
        eng->running++;
        w->cb(w);
    }
}

static void on_check(uv_check_t *c)
{
    grant_t *g = wr_container_of(c, grant_t, check);
    grant_pending(g->eng);
    if (g->eng->wait_head == NULL || g->eng->running >= g->eng->parallelism)
        uv_idle_stop(&g->idle);
}

static void on_idle(uv_idle_t *i)
{
    (void)i; /* only there so the loop does not sleep while a grant is due */
}

static grant_t *grant_of(wr_engine_t *eng)
{
    return (grant_t *)eng->loop.data;
}

int wr_engine_init(wr_engine_t *eng, wr_err_t *err)
{
    grant_t *g;
    int rc;

    memset(eng, 0, sizeof(*eng));
    if ((rc = uv_loop_init(&eng->loop)) != 0)
        return wr_err_set(err, rc, "uv_loop_init: %s", uv_strerror(rc));
    g = wr_xcalloc(1, sizeof(*g));
    g->eng = eng;
    uv_check_init(&eng->loop, &g->check);
    uv_idle_init(&eng->loop, &g->idle);
    uv_check_start(&g->check, on_check);
    uv_unref((uv_handle_t *)&g->check);
    eng->loop.data = g;
    eng->parallelism = 8;
    eng->kill_grace_ms = 5000;
    return 0;
}

void wr_engine_dispose(wr_engine_t *eng)
{
    uv_walk(&eng->loop, on_walk_close, NULL);
    uv_run(&eng->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&eng->loop) != 0)
        abort(); /* a handle outlived its owner: a bug, not an input error */
    free(eng->loop.data);
    free(eng->functions_dir);
    free(eng->self_exe);
    free(eng->data_dir);
    free(eng->db_path);
}

void wr_engine_slot_acquire(wr_engine_t *eng, wr_slot_wait_t *w, wr_slot_cb cb)
{
    w->cb = cb;
    w->next = NULL;
    w->queued = true;
    if (eng->wait_tail != NULL)
        eng->wait_tail->next = w;
    else
        eng->wait_head = w;
    eng->wait_tail = w;
    if (eng->running < eng->parallelism)
        uv_idle_start(&grant_of(eng)->idle, on_idle);
}

void wr_engine_slot_cancel(wr_engine_t *eng, wr_slot_wait_t *w)
{
    wr_slot_wait_t **pp = &eng->wait_head, *prev = NULL;

    if (!w->queued)
        return;
    while (*pp != NULL && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == w) {
        *pp = w->next;
        if (eng->wait_tail == w)
            eng->wait_tail = prev;
    }
    w->queued = false;
    w->next = NULL;
}

void wr_engine_slot_release(wr_engine_t *eng)
{
    eng->running--;
    if (eng->wait_head != NULL)
        uv_idle_start(&grant_of(eng)->idle, on_idle);
}
