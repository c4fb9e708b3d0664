/* SPDX-License-Identifier: MIT
 * tests/unit/test_loop.c: parallelism slots: order (priority, then arrival), limiters (a DAG's
 * max_active_tasks, pools), cancellation, and grants never running inside the caller. */
#include "engine/loop.h"

#include <string.h>

#include "tests/unit/harness.h"

typedef struct {
    wr_slot_wait_t w;
    int id;
} waiter_t;

static int order[16];
static int n_order;
static wr_engine_t *the_eng;

static void on_grant(wr_slot_wait_t *w)
{
    waiter_t *x = wr_container_of(w, waiter_t, w);
    order[n_order++] = x->id;
}

static void release_all(waiter_t *ws, int n)
{
    for (int i = 0; i < n; i++)
        wr_engine_slot_release(the_eng, &ws[i].w);
}

static void setup(wr_engine_t *eng, int parallelism)
{
    ASSERT_OK(wr_engine_init(eng, NULL));
    eng->parallelism = parallelism;
    the_eng = eng;
    n_order = 0;
}

static void priority_then_arrival(void)
{
    wr_engine_t eng;
    waiter_t ws[4];

    setup(&eng, 1);
    memset(ws, 0, sizeof(ws));
    for (int i = 0; i < 4; i++)
        ws[i].id = i;
    ws[2].w.priority = 5;
    ws[3].w.priority = 5;
    for (int i = 0; i < 4; i++)
        wr_engine_slot_acquire(&eng, &ws[i].w, on_grant);
    ASSERT_EQ(n_order, 0); /* never from inside the call */
    uv_run(&eng.loop, UV_RUN_NOWAIT);
    ASSERT_EQ(n_order, 1);
    ASSERT_EQ(order[0], 2); /* highest priority, first come */
    wr_engine_slot_release(&eng, &ws[2].w);
    uv_run(&eng.loop, UV_RUN_NOWAIT);
    ASSERT_EQ(order[1], 3);
    wr_engine_slot_release(&eng, &ws[3].w);
    uv_run(&eng.loop, UV_RUN_NOWAIT);
    ASSERT_EQ(order[2], 0);
    wr_engine_slot_release(&eng, &ws[0].w);
    uv_run(&eng.loop, UV_RUN_NOWAIT);
    ASSERT_EQ(order[3], 1);
    wr_engine_slot_release(&eng, &ws[1].w);
    ASSERT_EQ(eng.running, 0);
    ASSERT_EQ(eng.waiting, 0);
    wr_engine_dispose(&eng);
}

static void limiter_lets_others_pass(void)
{
    wr_engine_t eng;
    wr_limiter_t pool = {1, 0};
    waiter_t ws[3];

    setup(&eng, 4);
    memset(ws, 0, sizeof(ws));
    for (int i = 0; i < 3; i++)
        ws[i].id = i;
    ws[0].w.limiters[0] = &pool;
    ws[1].w.limiters[0] = &pool;
    for (int i = 0; i < 3; i++)
        wr_engine_slot_acquire(&eng, &ws[i].w, on_grant);
    uv_run(&eng.loop, UV_RUN_NOWAIT);
    /* 0 takes the pool's only slot; 1 waits for the pool; 2 has no pool and goes ahead. */
    ASSERT_EQ(n_order, 2);
    ASSERT_EQ(order[0], 0);
    ASSERT_EQ(order[1], 2);
    ASSERT_EQ(pool.used, 1);
    wr_engine_slot_release(&eng, &ws[0].w);
    ASSERT_EQ(pool.used, 0);
    uv_run(&eng.loop, UV_RUN_NOWAIT);
    ASSERT_EQ(n_order, 3);
    ASSERT_EQ(order[2], 1);
    release_all(&ws[1], 2);
    wr_engine_dispose(&eng);
}

static void cancel_before_grant(void)
{
    wr_engine_t eng;
    waiter_t ws[2];

    setup(&eng, 1);
    memset(ws, 0, sizeof(ws));
    ws[0].id = 0;
    ws[1].id = 1;
    wr_engine_slot_acquire(&eng, &ws[0].w, on_grant);
    wr_engine_slot_acquire(&eng, &ws[1].w, on_grant);
    wr_engine_slot_cancel(&eng, &ws[0].w);
    ASSERT_EQ(eng.waiting, 1);
    uv_run(&eng.loop, UV_RUN_NOWAIT);
    ASSERT_EQ(n_order, 1);
    ASSERT_EQ(order[0], 1);
    wr_engine_slot_release(&eng, &ws[1].w);
    wr_engine_dispose(&eng);
}

static void pools_from_config(void)
{
    wr_engine_t eng;
    wr_err_t err;
    json_t *pools = json_loads("{\"redshift\": 2, \"glue\": {\"slots\": 3}}", 0, NULL);
    json_t *bad = json_loads("{\"x\": 0}", 0, NULL);

    setup(&eng, 1);
    ASSERT_OK(wr_engine_set_pools(&eng, pools, &err));
    ASSERT_EQ(wr_engine_pool(&eng, "redshift")->limit, 2);
    ASSERT_EQ(wr_engine_pool(&eng, "glue")->limit, 3);
    ASSERT(wr_engine_pool(&eng, "nope") == NULL);
    wr_engine_dispose(&eng);
    setup(&eng, 1);
    ASSERT_EQ(wr_engine_set_pools(&eng, bad, &err), WR_EINVALID);
    ASSERT_CONTAINS(err.msg, "pools.x");
    wr_engine_dispose(&eng);
    json_decref(pools);
    json_decref(bad);
}

static const wr_test_t tests[] = {
    {"priority_then_arrival", priority_then_arrival},
    {"limiter_lets_others_pass", limiter_lets_others_pass},
    {"cancel_before_grant", cancel_before_grant},
    {"pools_from_config", pools_from_config},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
