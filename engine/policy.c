/* SPDX-License-Identifier: MIT
 * engine/policy.c: error-name matching and retry arithmetic. */
#include "engine/policy.h"

#include <math.h>
#include <string.h>

static bool name_matches(const char *pattern, const char *error)
{
    if (strcmp(pattern, "States.ALL") == 0)
        return true;
    if (strcmp(pattern, "States.TaskFailed") == 0)
        return strcmp(error, "States.Timeout") != 0;
    return strcmp(pattern, error) == 0;
}

bool wr_policy_matches(char *const *errors, size_t n, const char *error)
{
    if (error == NULL || strcmp(error, "States.Runtime") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (name_matches(errors[i], error))
            return true;
    }
    return false;
}

int wr_policy_find_retrier(const wr_retrier_t *r, size_t n, const char *error)
{
    for (size_t i = 0; i < n; i++) {
        if (wr_policy_matches(r[i].errors, r[i].n_errors, error))
            return (int)i;
    }
    return -1;
}

int wr_policy_find_catcher(const wr_catcher_t *c, size_t n, const char *error)
{
    for (size_t i = 0; i < n; i++) {
        if (wr_policy_matches(c[i].errors, c[i].n_errors, error))
            return (int)i;
    }
    return -1;
}

int64_t wr_policy_retry_delay(const wr_retrier_t *r, int retry_no, double rand01)
{
    double d = (double)r->interval_ms * pow(r->backoff_rate, retry_no > 1 ? retry_no - 1 : 0);

    if (r->max_delay_ms > 0 && d > (double)r->max_delay_ms)
        d = (double)r->max_delay_ms;
    if (d > 9.0e15 || isnan(d))
        d = 9.0e15;
    if (r->jitter_full)
        d *= rand01;
    return (int64_t)d;
}
