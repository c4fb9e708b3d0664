/* SPDX-License-Identifier: MIT
 * engine/cron.h: 5-field cron expressions and their next fire times in an IANA time zone.
 *
 * A wr_cron_t is an immutable parsed expression: five value sets plus the two "written exactly
 * `*`" flags that drive the Vixie rule (day-of-month OR day-of-week when both are restricted).
 * A schedule is a fixed set of instants decided by the expression and the zone alone; at DST
 * transitions "interval" schedules (the hour set covers all 24 hours) fire whenever the clock
 * shows a matching reading, and "time-of-day" schedules fire a non-existent wall time once at
 * the end of the gap and a repeated wall time once, at its first occurrence. The rules are
 * those of ../shared/conformance/cron/README.md.
 *
 * Zones come from the C library's tz database (/usr/share/zoneinfo). Thread: every function is
 * safe to call from any thread; wr_cron_next() serializes zone lookups on a private mutex
 * because the C library keeps the current zone in the process-global TZ variable.
 * Errors: 0 or a negative WR_E* code, detail in *err (which may be NULL). */
#ifndef WR_ENGINE_CRON_H
#define WR_ENGINE_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/common.h"

typedef struct wr_cron_s wr_cron_t; /* opaque */

/** Parses `expr`: five fields separated by spaces or tabs, or one of the lower-case macros
 *  @yearly @annually @monthly @weekly @daily @midnight @hourly. Month and weekday names
 *  (jan..dec, sun..sat) are accepted in any letter case, in their own field only.
 *  An expression whose day fields can never match a real date (`0 0 30 2 *`) is rejected too.
 *  On success *out is owned by the caller: release it with wr_cron_free(). On error returns
 *  WR_EPARSE, *out is untouched and err->msg names the field and item at fault. */
WR_MUST_CHECK int wr_cron_parse(const char *expr, wr_cron_t **out, wr_err_t *err);

/** Releases a parsed expression. NULL is a no-op. */
void wr_cron_free(wr_cron_t *c);

/** The first fire instant strictly after `after` (Unix seconds) in zone `tz` (an IANA name
 *  such as "Europe/London"; NULL or "UTC" means UTC). On success *next is Unix seconds and
 *  *utc_offset the offset east of UTC, in seconds, in force at that instant. `c` is borrowed.
 *  Returns 0; WR_EPARSE if `tz` is not a zone in the tz database; WR_ENOTFOUND if nothing fires
 *  within the bounded search (about 12 years, and never past 9999-12-31). */
WR_MUST_CHECK int wr_cron_next(const wr_cron_t *c, const char *tz, int64_t after, int64_t *next,
                               int *utc_offset, wr_err_t *err);

/** The offset east of UTC, in seconds, in force in zone `tz` (IANA name; NULL or "UTC" for
 *  UTC) at instant `t` (Unix seconds). 0, or WR_EPARSE for an unknown zone. */
WR_MUST_CHECK int wr_cron_utc_offset(const char *tz, int64_t t, int *utc_offset, wr_err_t *err);

/** Formats instant `t` as the wall time at `utc_offset` seconds east of UTC, e.g.
 *  "2026-03-29T03:00:00+01:00" (UTC prints "+00:00"), into the caller's out[32]. */
void wr_cron_format(int64_t t, int utc_offset, char out[32]);

/** True if `tz` names a zone file of the system tz database ("UTC" always does). Names that
 *  are empty, absolute, contain a "." or ".." component or unusual characters are refused. */
bool wr_cron_zone_valid(const char *tz);

#endif
