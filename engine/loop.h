/* SPDX-License-Identifier: MIT
 * engine/loop.h: the engine object: one libuv loop that owns every timer, child process and
 * run, plus the store it writes to.
 *
 * Thread: a wr_engine_t and everything reachable from it belong to the loop thread. */
#ifndef WR_ENGINE_LOOP_H
#define WR_ENGINE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "engine/common.h"
#include "engine/store.h"

typedef struct wr_slot_wait_s wr_slot_wait_t;
typedef void (*wr_slot_cb)(wr_slot_wait_t *w);

/** A counted limit besides the engine's parallelism: a DAG's max_active_tasks or a named
 *  pool's slots. Owned by whoever defines the limit; it must outlive its waiters. */
typedef struct wr_limiter_s {
    int limit; /* <= 0: no limit */
    int used;
} wr_limiter_t;

#define WR_SLOT_LIMITERS 2

/** A request for a slot, embedded by its owner. A slot is granted when the engine's
 *  parallelism and every limiter have room; waiters are served in priority (higher first)
 *  then arrival order, skipping those whose own limiters are full. */
struct wr_slot_wait_s {
    wr_slot_cb cb;                            /* called once a slot is granted */
    int priority;                             /* public: set before acquiring */
    wr_limiter_t *limiters[WR_SLOT_LIMITERS]; /* public: NULL for none */
    wr_slot_wait_t *next;                     /* private: queue link */
    uint64_t seq;                             /* private: arrival order */
    bool queued;                              /* private */
};

typedef struct wr_engine_s {
    uv_loop_t loop;            /* public: the loop everything runs on */
    wr_store_t *store;         /* borrowed: the writer connection */
    int parallelism;           /* max attempts running at once */
    int running;               /* slots in use */
    wr_slot_wait_t *wait_head; /* sorted: priority desc, then seq */
    uint64_t wait_seq;
    int waiting;                      /* requests queued */
    char *functions_dir;              /* local Lambda handlers; owned; may be NULL */
    char *self_exe;                   /* path of this weir binary, for child helpers; owned */
    char *data_dir;                   /* base for relative paths in tasks (the DAG's cwd); owned */
    char *db_path;                    /* the database file, for child helpers that open it; owned */
    const struct wr_config_s *config; /* weir.yaml (connections, pools...); borrowed */
    bool quiet;                       /* no progress lines on stderr */
    bool serve_mode;                  /* progress lines name their run (many runs at once) */
    wr_limiter_t *pools;              /* named pools from weir.yaml; owned */
    char **pool_names;                /* owned */
    size_t n_pools;
    int64_t kill_grace_ms; /* TERM -> KILL grace when stopping a process group */
} wr_engine_t;

/** Initializes `eng` (embedded) with its loop. The store is set by the caller. */
WR_MUST_CHECK int wr_engine_init(wr_engine_t *eng, wr_err_t *err);
/** Closes every handle still open, drains the loop and closes it; frees owned strings. */
void wr_engine_dispose(wr_engine_t *eng);

/** Asks for a slot: `w->cb` runs (from the loop, never from inside this call) when one is
 *  free. Slots are granted in request order. */
void wr_engine_slot_acquire(wr_engine_t *eng, wr_slot_wait_t *w, wr_slot_cb cb);
/** True when a request with these limiters and priority would be granted at once (on the
 *  next loop iteration), with no request ahead of it. */
bool wr_engine_slot_available(const wr_engine_t *eng, wr_limiter_t *const *limiters, int priority);
/** Withdraws a request that has not been granted yet. */
void wr_engine_slot_cancel(wr_engine_t *eng, wr_slot_wait_t *w);
/** Sets the named pools from weir.yaml's `pools:` ({NAME: SLOTS} or {NAME: {slots: N}}).
 *  Errors name the pool. */
WR_MUST_CHECK int wr_engine_set_pools(wr_engine_t *eng, const json_t *pools, wr_err_t *err);
/** The limiter of pool `name`, or NULL when there is no such pool (no limit). */
wr_limiter_t *wr_engine_pool(wr_engine_t *eng, const char *name);

/** Gives back the slot granted to `w`. */
void wr_engine_slot_release(wr_engine_t *eng, wr_slot_wait_t *w);

#endif
