/* SPDX-License-Identifier: MIT
 * engine/common.h: error codes, the error detail struct, allocation that never fails,
 * and the small macros every module uses.
 *
 * Errors are negative ints: libuv's UV_E* codes pass through unchanged (all >= -4095),
 * weir's own start at -10000. Detail goes in a caller-allocated wr_err_t that may be NULL.
 * Out of memory is fatal: wr_xmalloc() and friends abort instead of returning NULL. */
#ifndef WR_ENGINE_COMMON_H
#define WR_ENGINE_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR_VERSION "0.1.0"

#if defined(__GNUC__)
#define WR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define WR_MUST_CHECK        __attribute__((warn_unused_result))
#else
#define WR_PRINTF(fmt, args)
#define WR_MUST_CHECK
#endif

#define wr_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define WR_ARRAY_SIZE(a)                   (sizeof(a) / sizeof((a)[0]))

#define WR_ERRNO_MAP(XX)                 \
    XX(EPARSE, "parse error")            \
    XX(EINVALID, "invalid definition")   \
    XX(ECYCLE, "DAG contains a cycle")   \
    XX(ENOTASKTYPE, "unknown task type") \
    XX(ESTORE, "storage error")          \
    XX(EUSAGE, "bad usage")              \
    XX(ENOTFOUND, "not found")           \
    XX(ETEMPLATE, "template error")      \
    XX(ECANCELED, "canceled")

typedef enum {
    WR_OK = 0,
    WR__EBASE = -10000, /* ours count up from here; UV_E* codes are all >= -4095 */
#define XX(name, msg) WR_##name,
    WR_ERRNO_MAP(XX)
#undef XX
} wr_errno_t;

#define WR_ERR_MSG_MAX 256 /* == CURL_ERROR_SIZE: usable as CURLOPT_ERRORBUFFER */

typedef struct wr_err_s {
    int code;         /* WR_OK, a WR_E* code, or a UV_E* code passed through */
    int line, column; /* 1-based position in a definition/config file; 0 if none */
    char msg[WR_ERR_MSG_MAX];
} wr_err_t;

/** Fills *err (if not NULL) with `code` and a formatted message; returns `code`.
 *  line/column are reset to 0; set them afterwards when a position is known. */
WR_PRINTF(3, 4) int wr_err_set(wr_err_t *err, int code, const char *fmt, ...);
/** As wr_err_set(), with a 1-based position. */
WR_PRINTF(5, 6)
int wr_err_set_at(wr_err_t *err, int code, int line, int column, const char *fmt, ...);
/** A static description of `code`: ours from WR_ERRNO_MAP, else uv_strerror(). */
const char *wr_strerror(int code);

/** Allocation that aborts on failure; never returns NULL. */
void *wr_xmalloc(size_t n);
void *wr_xcalloc(size_t count, size_t n);
void *wr_xrealloc(void *p, size_t n);
char *wr_xstrdup(const char *s);
char *wr_xstrndup(const char *s, size_t n);
/** printf into a new heap string; caller owns it (free()). */
WR_PRINTF(1, 2) char *wr_xasprintf(const char *fmt, ...);
WR_PRINTF(1, 0) char *wr_xvasprintf(const char *fmt, va_list ap);

/* ==== Growable byte buffer ==== */

typedef struct wr_buf_s {
    char *data; /* NUL-terminated whenever len > 0 or after wr_buf_cstr() */
    size_t len;
    size_t cap;
} wr_buf_t;

void wr_buf_init(wr_buf_t *b);
void wr_buf_dispose(wr_buf_t *b);
void wr_buf_append(wr_buf_t *b, const void *p, size_t n);
void wr_buf_puts(wr_buf_t *b, const char *s);
WR_PRINTF(2, 3) void wr_buf_printf(wr_buf_t *b, const char *fmt, ...);
/** Never NULL: an empty buffer yields "". Borrowed, valid until the next append. */
const char *wr_buf_cstr(wr_buf_t *b);
/** Hands the heap string to the caller (free()); the buffer is left empty. */
char *wr_buf_steal(wr_buf_t *b);

/* ==== Time ==== */

/** Wall-clock milliseconds since the Unix epoch. */
int64_t wr_now_ms(void);
/** Formats `ms` since the epoch as UTC ISO 8601 with milliseconds ("...Z") into out[32]. */
void wr_format_iso_ms(int64_t ms, char out[32]);

/** Parses a duration: 90, 90s, 5m, 2h, 1d, 250ms (whole numbers). Returns milliseconds in
 *  *out_ms. 0 on success, WR_EPARSE with a message in err otherwise. */
WR_MUST_CHECK int wr_duration_parse(const char *text, int64_t *out_ms, wr_err_t *err);

/** A random (version 4) UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", into out[37]. */
void wr_uuid4(char out[37]);

/** Levenshtein distance, used to suggest the closest known name. */
size_t wr_edit_distance(const char *a, const char *b);
/** The candidate closest to `word` (NULL-terminated list), or NULL if none is close. */
const char *wr_closest(const char *word, const char *const *candidates);

#endif
