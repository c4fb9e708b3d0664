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

static bool has_room(const wr_slot_wait_t *w)
{
    for (int i = 0; i < WR_SLOT_LIMITERS; i++) {
        const wr_limiter_t *l = w->limiters[i];
        if (l != NULL && l->limit > 0 && l->used >= l->limit)
            return false;
    }
    return true;
}

static void grant_pending(wr_engine_t *eng)
{
    wr_slot_wait_t **pp = &eng->wait_head;

    while (*pp != NULL && eng->running < eng->parallelism) {
        wr_slot_wait_t *w = *pp;
        if (!has_room(w)) {
            pp = &w->next; /* its DAG or pool is full: the next waiter may go first */
            continue;
        }
        *pp = w->next;
        w->next = NULL;
        w->queued = false;
        eng->waiting--;
        eng->running++;
        for (int i = 0; i < WR_SLOT_LIMITERS; i++)
            if (w->limiters[i] != NULL)
                w->limiters[i]->used++;
        w->cb(w); /* may queue or release others: restart from the head */
        pp = &eng->wait_head;
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
    for (size_t i = 0; i < eng->n_pools; i++)
        free(eng->pool_names[i]);
    free(eng->pool_names);
    free(eng->pools);
    free(eng->db_path);
}

void wr_engine_slot_acquire(wr_engine_t *eng, wr_slot_wait_t *w, wr_slot_cb cb)
{
    wr_slot_wait_t **pp = &eng->wait_head;

    w->cb = cb;
    w->queued = true;
    w->seq = eng->wait_seq++;
    while (*pp != NULL && (*pp)->priority >= w->priority)
        pp = &(*pp)->next;
    w->next = *pp;
    *pp = w;
    eng->waiting++;
    if (eng->running < eng->parallelism)
        uv_idle_start(&grant_of(eng)->idle, on_idle);
}

bool wr_engine_slot_available(const wr_engine_t *eng, wr_limiter_t *const *limiters, int priority)
{
    /* Counting the waiters at or above this priority keeps the check O(1) in the usual case
     * (nobody waiting) and exact otherwise. */
    int ahead = 0;
    for (const wr_slot_wait_t *w = eng->wait_head; w != NULL && w->priority >= priority;
         w = w->next)
        ahead++;
    if (eng->running + ahead >= eng->parallelism)
        return false;
    for (int i = 0; i < WR_SLOT_LIMITERS; i++) {
        const wr_limiter_t *l = limiters[i];
        if (l != NULL && l->limit > 0 && l->used >= l->limit)
            return false;
    }
    return true;
}

void wr_engine_slot_cancel(wr_engine_t *eng, wr_slot_wait_t *w)
{
    wr_slot_wait_t **pp = &eng->wait_head;

    if (!w->queued)
        return;
    while (*pp != NULL && *pp != w)
        pp = &(*pp)->next;
    if (*pp == w) {
        *pp = w->next;
        eng->waiting--;
    }
    w->queued = false;
    w->next = NULL;
}

void wr_engine_slot_release(wr_engine_t *eng, wr_slot_wait_t *w)
{
    eng->running--;
    for (int i = 0; i < WR_SLOT_LIMITERS; i++)
        if (w->limiters[i] != NULL)
            w->limiters[i]->used--;
    if (eng->wait_head != NULL)
        uv_idle_start(&grant_of(eng)->idle, on_idle);
}

int wr_engine_set_pools(wr_engine_t *eng, const json_t *pools, wr_err_t *err)
{
    const char *name;
    json_t *v;
    size_t n = json_object_size(pools), i = 0;

    if (pools != NULL && !json_is_object(pools))
        return wr_err_set(err, WR_EINVALID, "pools: must be a mapping of pool name to slots");
    eng->pools = wr_xcalloc(n ? n : 1, sizeof(wr_limiter_t));
    eng->pool_names = wr_xcalloc(n ? n : 1, sizeof(char *));
    json_object_foreach((json_t *)pools, name, v)
    {
        json_t *slots = json_is_object(v) ? json_object_get(v, "slots") : v;
        if (!json_is_integer(slots) || json_integer_value(slots) < 1)
            return wr_err_set(err, WR_EINVALID, "pools.%s: slots must be a whole number >= 1",
                              name);
        eng->pool_names[i] = wr_xstrdup(name);
        eng->pools[i].limit = (int)json_integer_value(slots);
        i++;
        eng->n_pools = i;
    }
    return 0;
}

wr_limiter_t *wr_engine_pool(wr_engine_t *eng, const char *name)
{
    for (size_t i = 0; i < eng->n_pools; i++)
        if (strcmp(eng->pool_names[i], name) == 0)
            return &eng->pools[i];
    return NULL;
}
