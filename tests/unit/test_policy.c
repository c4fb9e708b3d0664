/* SPDX-License-Identifier: MIT
 * tests/unit/test_policy.c: error matching and retry arithmetic (DESIGN.md §3.1.1, §3.3). */
#include "engine/policy.h"

#include "tests/unit/harness.h"

/* Mutable copies: the model holds `char **` error lists. */
static char s_all[] = "States.ALL", s_tf[] = "States.TaskFailed", s_a[] = "Custom.A",
            s_b[] = "Custom.B";

static void matching_rules(void)
{
    char *all[] = {s_all};
    char *tf[] = {s_tf};
    char *named[] = {s_a, s_b};
    ASSERT(wr_policy_matches(all, 1, "Anything.At.All"));
    ASSERT(wr_policy_matches(all, 1, "States.Timeout"));
    ASSERT(!wr_policy_matches(all, 1, "States.Runtime"));
    ASSERT(wr_policy_matches(tf, 1, "Custom.X"));
    ASSERT(wr_policy_matches(tf, 1, "States.TaskFailed"));
    ASSERT(!wr_policy_matches(tf, 1, "States.Timeout"));
    ASSERT(wr_policy_matches(named, 2, "Custom.B"));
    ASSERT(!wr_policy_matches(named, 2, "Custom.C"));
    ASSERT(!wr_policy_matches(named, 2, "custom.a"));
}

static void first_matching_retrier(void)
{
    char *a[] = {s_a};
    char *all[] = {s_all};
    wr_retrier_t r[2] = {{a, 1, 1000, 3, 2.0, 0, false}, {all, 1, 1000, 3, 2.0, 0, false}};
    ASSERT_EQ(wr_policy_find_retrier(r, 2, "Custom.A"), 0);
    ASSERT_EQ(wr_policy_find_retrier(r, 2, "Custom.Z"), 1);
    ASSERT_EQ(wr_policy_find_retrier(r, 2, "States.Runtime"), -1);
    ASSERT_EQ(wr_policy_find_retrier(r, 1, "Custom.Z"), -1);
}

static void delay_backoff_and_cap(void)
{
    char *all[] = {s_all};
    wr_retrier_t r = {all, 1, 2000, 5, 3.0, 0, false};
    ASSERT_EQ(wr_policy_retry_delay(&r, 1, 0.5), 2000);
    ASSERT_EQ(wr_policy_retry_delay(&r, 2, 0.5), 6000);
    ASSERT_EQ(wr_policy_retry_delay(&r, 3, 0.5), 18000);
    r.max_delay_ms = 10000;
    ASSERT_EQ(wr_policy_retry_delay(&r, 3, 0.5), 10000);
    r.interval_ms = 0;
    ASSERT_EQ(wr_policy_retry_delay(&r, 4, 0.5), 0);
}

static void delay_full_jitter_within_bounds(void)
{
    char *all[] = {s_all};
    wr_retrier_t r = {all, 1, 1000, 5, 2.0, 3000, true};
    ASSERT_EQ(wr_policy_retry_delay(&r, 1, 0.0), 0);
    ASSERT_EQ(wr_policy_retry_delay(&r, 2, 0.25), 500);
    ASSERT_EQ(wr_policy_retry_delay(&r, 5, 0.5), 1500); /* capped at 3000, then halved */
    ASSERT(wr_policy_retry_delay(&r, 5, 0.999999) < 3000);
}

static void delay_huge_exponent_saturates(void)
{
    char *all[] = {s_all};
    wr_retrier_t r = {all, 1, 1000, 1000, 2.0, 0, false};
    ASSERT(wr_policy_retry_delay(&r, 900, 0.5) > 0);
}

static const wr_test_t tests[] = {
    {"matching_rules", matching_rules},
    {"first_matching_retrier", first_matching_retrier},
    {"delay_backoff_and_cap", delay_backoff_and_cap},
    {"delay_full_jitter_within_bounds", delay_full_jitter_within_bounds},
    {"delay_huge_exponent_saturates", delay_huge_exponent_saturates},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
