/* SPDX-License-Identifier: MIT
 * engine/intrinsics.c: parsing and evaluating States.* intrinsic functions (intrinsics.h).
 *
 * A call parses to a tree of arguments; evaluation is a recursive walk bounded by
 * WR_INTRINSIC_MAX_DEPTH (checked while parsing). Hashes come from OpenSSL's libcrypto
 * (EVP), random numbers and UUIDs from uv_random(). Where AWS behaves in a way the
 * specification does not spell out, the comment says what AWS was observed to do. */
#include "engine/intrinsics.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <uv.h>

/* wr_buf_cstr()/wr_buf_steal() of a buffer nothing was appended to do not NUL-terminate it;
 * appending nothing does. */
static wr_buf_t *buf_term(wr_buf_t *b)
{
    wr_buf_append(b, "", 0);
    return b;
}

#define B64_MAX_INPUT 10000 /* AWS: Base64Encode/Decode input limit, in characters */
#define RANGE_MAX     1000  /* AWS: ArrayRange yields at most 1000 items */

typedef enum { ARG_LIT = 0, ARG_PATH, ARG_CALL } arg_kind_t;

typedef struct arg_s {
    arg_kind_t kind;
    json_t *lit;          /* ARG_LIT */
    char *raw;            /* ARG_LIT strings: the text with `\{` `\}` kept (for Format) */
    wr_jsonpath_t *path;  /* ARG_PATH */
    wr_intrinsic_t *call; /* ARG_CALL */
} arg_t;

typedef int (*fn_impl_t)(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err);

typedef struct {
    const char *name;
    int min_args, max_args; /* max -1: any number */
    fn_impl_t impl;
} fn_def_t;

struct wr_intrinsic_s {
    const fn_def_t *fn;
    arg_t *args;
    size_t n_args;
};

/* ==== Helpers ==== */

WR_PRINTF(3, 4) static int fail(wr_err_t *err, const wr_intrinsic_t *f, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return wr_err_set(err, WR_EINVALID, "%s: %s", f->fn->name, msg);
}

static bool get_int(const json_t *v, long long *out)
{
    double d;

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_real(v))
        return false;
    d = json_real_value(v);
    if (d != floor(d) || fabs(d) > 9.0e15)
        return false;
    *out = (long long)d;
    return true;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void render_java(const json_t *v, wr_buf_t *b, int depth)
{
    size_t i;
    const char *k;
    json_t *x;
    bool first = true;

    if (depth > WR_JSON_MAX_NESTING) {
        wr_buf_puts(b, "...");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        wr_buf_append(b, json_string_value(v), json_string_length(v));
        return;
    case JSON_OBJECT:
        wr_buf_puts(b, "{");
        json_object_foreach((json_t *)v, k, x)
        {
            if (!first)
                wr_buf_puts(b, ", ");
            first = false;
            wr_buf_printf(b, "%s=", k);
            render_java(x, b, depth + 1);
        }
        wr_buf_puts(b, "}");
        return;
    case JSON_ARRAY:
        wr_buf_puts(b, "[");
        json_array_foreach((json_t *)v, i, x)
        {
            if (i > 0)
                wr_buf_puts(b, ", ");
            render_java(x, b, depth + 1);
        }
        wr_buf_puts(b, "]");
        return;
    default: {
        char *t = wr_json_dumps(v);
        wr_buf_puts(b, t);
        free(t);
        return;
    }
    }
}

/* ==== The functions ==== */

static int fn_format(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    const char *tpl;
    wr_buf_t b;
    size_t used = 1, n_args = f->n_args;

    if (!json_is_string(args[0]))
        return fail(err, f, "%s", "the first argument must be a string");
    /* A literal template keeps its `\{` `\}` escapes until here. */
    tpl =
        f->args[0].kind == ARG_LIT && f->args[0].raw ? f->args[0].raw : json_string_value(args[0]);
    wr_buf_init(&b);
    for (const char *p = tpl; *p; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            wr_buf_append(&b, p, 1);
        } else if (*p == '{' && p[1] == '}') {
            if (used >= n_args) {
                wr_buf_dispose(&b);
                return fail(err, f, "%s", "more {} placeholders than arguments");
            }
            render_java(args[used++], &b, 0);
            p++;
        } else {
            wr_buf_append(&b, p, 1);
        }
    }
    if (used != n_args) {
        wr_buf_dispose(&b);
        return fail(err, f, "%s", "more arguments than {} placeholders");
    }
    *out = json_stringn(wr_buf_cstr(buf_term(&b)), b.len);
    wr_buf_dispose(&b);
    if (*out == NULL)
        return fail(err, f, "%s", "the result is not valid UTF-8");
    return 0;
}

static int fn_string_to_json(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    const char *s;
    json_error_t je;
    bool blank = true;

    if (!json_is_string(args[0]))
        return fail(err, f, "%s", "the argument must be a string");
    s = json_string_value(args[0]);
    for (const char *p = s; *p; p++)
        if (!isspace((unsigned char)*p))
            blank = false;
    if (blank) { /* AWS: "" and " " give null */
        *out = json_null();
        return 0;
    }
    *out = json_loadb(s, json_string_length(args[0]), JSON_DECODE_ANY, &je);
    if (*out == NULL)
        return fail(err, f, "not JSON: %s", je.text);
    return 0;
}

static int fn_json_to_string(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    char *s = wr_json_dumps(args[0]);
    (void)f;
    (void)err;
    *out = json_string(s);
    free(s);
    return 0;
}

static int fn_array(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    (void)err;
    *out = json_array();
    for (size_t i = 0; i < f->n_args; i++)
        json_array_append(*out, args[i]);
    return 0;
}

static int fn_array_partition(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    long long n;
    json_t *chunk = NULL;
    size_t i;
    json_t *v;

    if (!json_is_array(args[0]))
        return fail(err, f, "%s", "the first argument must be an array");
    if (!get_int(args[1], &n) || n <= 0)
        return fail(err, f, "%s", "the chunk size must be a positive integer");
    *out = json_array();
    json_array_foreach(args[0], i, v)
    {
        if (chunk == NULL || (long long)json_array_size(chunk) == n) {
            chunk = json_array();
            json_array_append_new(*out, chunk);
        }
        json_array_append(chunk, v);
    }
    return 0;
}

static int fn_array_contains(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    size_t i;
    json_t *v;
    bool found = false;

    if (!json_is_array(args[0]))
        return fail(err, f, "%s", "the first argument must be an array");
    json_array_foreach(args[0], i, v) if (wr_json_equal(v, args[1])) found = true;
    *out = json_boolean(found);
    return 0;
}

static int fn_array_range(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    long long a, b, step;

    if (!get_int(args[0], &a) || !get_int(args[1], &b) || !get_int(args[2], &step))
        return fail(err, f, "%s", "start, end and step must be integers");
    if (step == 0)
        return fail(err, f, "%s", "the step must not be 0");
    /* In doubles: b - a and x += step may not fit a long long near its limits. */
    if (((double)b - (double)a) / (double)step + 1 > RANGE_MAX)
        return fail(err, f, "the range has more than %d items", RANGE_MAX);
    *out = json_array();
    for (long long x = a; step > 0 ? x <= b : x >= b;) {
        json_array_append_new(*out, json_integer(x));
        if ((step > 0 && x > LLONG_MAX - step) || (step < 0 && x < LLONG_MIN - step))
            break;
        x += step;
    }
    return 0;
}

static int fn_array_get_item(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    long long i;

    if (!json_is_array(args[0]))
        return fail(err, f, "%s", "the first argument must be an array");
    if (!get_int(args[1], &i) || i < 0 || (size_t)i >= json_array_size(args[0]))
        return fail(err, f, "%s", "the index is out of bounds");
    *out = json_incref(json_array_get(args[0], (size_t)i));
    return 0;
}

static int fn_array_length(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    if (!json_is_array(args[0]))
        return fail(err, f, "%s", "the argument must be an array");
    *out = json_integer((json_int_t)json_array_size(args[0]));
    return 0;
}

static int fn_array_unique(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    size_t i, k;
    json_t *v;

    if (!json_is_array(args[0]))
        return fail(err, f, "%s", "the argument must be an array");
    *out = json_array();
    json_array_foreach(args[0], i, v)
    {
        bool seen = false;
        for (k = 0; k < json_array_size(*out) && !seen; k++)
            seen = wr_json_equal(json_array_get(*out, k), v);
        if (!seen)
            json_array_append(*out, v);
    }
    return 0;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int fn_base64_encode(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    const unsigned char *s;
    size_t n;
    wr_buf_t b;

    if (!json_is_string(args[0]))
        return fail(err, f, "%s", "the argument must be a string");
    s = (const unsigned char *)json_string_value(args[0]);
    n = json_string_length(args[0]);
    if (n > B64_MAX_INPUT)
        return fail(err, f, "the input is longer than %d characters", B64_MAX_INPUT);
    wr_buf_init(&b);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        char q[4];
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        q[0] = b64chars[(v >> 18) & 63];
        q[1] = b64chars[(v >> 12) & 63];
        q[2] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? b64chars[v & 63] : '=';
        wr_buf_append(&b, q, 4);
    }
    *out = json_string(wr_buf_cstr(buf_term(&b)));
    wr_buf_dispose(&b);
    return 0;
}

static int b64val(int c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;
    return p ? (int)(p - b64chars) : -1;
}

static int fn_base64_decode(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    const char *s;
    size_t n, i;
    wr_buf_t b;
    unsigned acc = 0;
    int bits = 0;

    if (!json_is_string(args[0]))
        return fail(err, f, "%s", "the argument must be a string");
    s = json_string_value(args[0]);
    n = json_string_length(args[0]);
    if (n > B64_MAX_INPUT)
        return fail(err, f, "the input is longer than %d characters", B64_MAX_INPUT);
    while (n > 0 && s[n - 1] == '=')
        n--;
    wr_buf_init(&b);
    for (i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0) {
            wr_buf_dispose(&b);
            return fail(err, f, "%s", "the input is not Base64");
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            char c = (char)((acc >> (bits - 8)) & 0xff);
            bits -= 8;
            wr_buf_append(&b, &c, 1);
        }
    }
    *out = json_stringn(wr_buf_cstr(buf_term(&b)), b.len);
    wr_buf_dispose(&b);
    if (*out == NULL)
        return fail(err, f, "%s", "the decoded bytes are not UTF-8 text");
    return 0;
}

static int fn_hash(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    static const struct {
        const char *name, *evp;
    } algs[] = {{"MD5", "MD5"},
                {"SHA-1", "SHA1"},
                {"SHA-256", "SHA256"},
                {"SHA-384", "SHA384"},
                {"SHA-512", "SHA512"}};
    const EVP_MD *md = NULL;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char hex[EVP_MAX_MD_SIZE * 2 + 1];
    char *owned = NULL;
    const char *data;
    size_t len;

    if (!json_is_string(args[1]))
        return fail(err, f, "%s", "the algorithm must be a string");
    for (size_t i = 0; i < WR_ARRAY_SIZE(algs); i++)
        if (strcmp(json_string_value(args[1]), algs[i].name) == 0)
            md = EVP_get_digestbyname(algs[i].evp);
    if (md == NULL)
        return fail(err, f, "unsupported algorithm '%s' (MD5, SHA-1, SHA-256, SHA-384, SHA-512)",
                    json_string_value(args[1]));
    if (json_is_string(args[0])) {
        data = json_string_value(args[0]);
        len = json_string_length(args[0]);
    } else {
        owned = wr_json_dumps(args[0]);
        data = owned;
        len = strlen(owned);
    }
    if (EVP_Digest(data, len, digest, &dlen, md, NULL) != 1) {
        free(owned);
        return fail(err, f, "%s", "digest failed");
    }
    free(owned);
    for (unsigned int i = 0; i < dlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    hex[2 * dlen] = '\0';
    *out = json_string(hex);
    return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static json_t *merge(json_t *a, json_t *b, bool deep, int depth)
{
    json_t *r = json_deep_copy(a);
    const char *k;
    json_t *v;

    json_object_foreach(b, k, v)
    {
        json_t *old = json_object_get(r, k);
        if (deep && depth < WR_JSON_MAX_NESTING && json_is_object(old) && json_is_object(v))
            json_object_set_new(r, k, merge(old, v, deep, depth + 1));
        else
            json_object_set_new(r, k, json_deep_copy(v));
    }
    return r;
}

static int fn_json_merge(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    if (!json_is_object(args[0]) || !json_is_object(args[1]))
        return fail(err, f, "%s", "the first two arguments must be objects");
    if (!json_is_boolean(args[2]))
        return fail(err, f, "%s", "the third argument must be a boolean");
    *out = merge(args[0], args[1], json_is_true(args[2]), 0);
    return 0;
}

static int fn_math_random(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    long long a, b, seed = 0;
    uint64_t r = 0;

    if (!get_int(args[0], &a) || !get_int(args[1], &b))
        return fail(err, f, "%s", "start and end must be integers");
    if (b <= a)
        return fail(err, f, "%s", "end must be greater than start");
    if (f->n_args > 2) {
        if (!get_int(args[2], &seed))
            return fail(err, f, "%s", "the seed must be an integer");
        /* A seeded draw is reproducible: splitmix64 of the seed. */
        r = (uint64_t)seed + 0x9e3779b97f4a7c15ull;
        r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9ull;
        r = (r ^ (r >> 27)) * 0x94d049bb133111ebull;
        r ^= r >> 31;
    } else if (uv_random(NULL, NULL, &r, sizeof(r), 0, NULL) != 0) {
        r = (uint64_t)uv_hrtime() * 0x9e3779b97f4a7c15ull;
    }
    *out = json_integer((json_int_t)((uint64_t)a + r % ((uint64_t)b - (uint64_t)a)));
    return 0;
}

/* Java's Math.round: halves go toward +infinity (1.5 -> 2, -2.5 -> -2). False when the
 * result does not fit a long long. */
static bool java_round(double d, long long *out)
{
    double r = floor(d + 0.5);
    if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0))
        return false;
    *out = (long long)r;
    return true;
}

static int fn_math_add(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    long long a, b;

    if (!json_is_number(args[0]) || !json_is_number(args[1]))
        return fail(err, f, "%s", "both arguments must be numbers");
    if (!java_round(json_number_value(args[0]), &a) ||
        !java_round(json_number_value(args[1]), &b) || (b > 0 && a > LLONG_MAX - b) ||
        (b < 0 && a < LLONG_MIN - b))
        return fail(err, f, "%s", "the sum does not fit a 64-bit integer");
    *out = json_integer((json_int_t)(a + b));
    return 0;
}

static int fn_string_split(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    const char *s, *sep;
    size_t n, start = 0;

    if (!json_is_string(args[0]) || !json_is_string(args[1]))
        return fail(err, f, "%s", "both arguments must be strings");
    s = json_string_value(args[0]);
    n = json_string_length(args[0]);
    sep = json_string_value(args[1]);
    *out = json_array();
    /* AWS: every character of the separator is a delimiter; empty pieces are dropped. */
    for (size_t i = 0; i <= n; i++) {
        if (i == n || (s[i] != '\0' && strchr(sep, s[i]) != NULL)) {
            if (i > start) {
                json_t *piece = json_stringn(s + start, i - start);
                if (piece != NULL)
                    json_array_append_new(*out, piece);
            }
            start = i + 1;
        }
    }
    return 0;
}

static int fn_uuid(const wr_intrinsic_t *f, json_t **args, json_t **out, wr_err_t *err)
{
    char s[37];

    (void)f;
    (void)args;
    (void)err;
    wr_uuid4(s);
    *out = json_string(s);
    return 0;
}

static const fn_def_t functions[] = {
    {"States.Format", 1, -1, fn_format},
    {"States.StringToJson", 1, 1, fn_string_to_json},
    {"States.JsonToString", 1, 1, fn_json_to_string},
    {"States.Array", 0, -1, fn_array},
    {"States.ArrayPartition", 2, 2, fn_array_partition},
    {"States.ArrayContains", 2, 2, fn_array_contains},
    {"States.ArrayRange", 3, 3, fn_array_range},
    {"States.ArrayGetItem", 2, 2, fn_array_get_item},
    {"States.ArrayLength", 1, 1, fn_array_length},
    {"States.ArrayUnique", 1, 1, fn_array_unique},
    {"States.Base64Encode", 1, 1, fn_base64_encode},
    {"States.Base64Decode", 1, 1, fn_base64_decode},
    {"States.Hash", 2, 2, fn_hash},
    {"States.JsonMerge", 3, 3, fn_json_merge},
    {"States.MathRandom", 2, 3, fn_math_random},
    {"States.MathAdd", 2, 2, fn_math_add},
    {"States.StringSplit", 2, 2, fn_string_split},
    {"States.UUID", 0, 0, fn_uuid},
};

/* ==== Parser ==== */

typedef struct {
    const char *s;
    size_t pos, len;
    wr_err_t *err;
} parser_t;

WR_PRINTF(2, 3) static int perr(parser_t *ps, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return wr_err_set(ps->err, WR_EPARSE,
                      "invalid intrinsic function call '%.60s' at offset "
                      "%zu: %s",
                      ps->s, ps->pos, msg);
}

static void skip_ws(parser_t *ps)
{
    while (ps->pos < ps->len && isspace((unsigned char)ps->s[ps->pos]))
        ps->pos++;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void args_free(arg_t *args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(args[i].lit);
        free(args[i].raw);
        wr_jsonpath_free(args[i].path);
        wr_intrinsic_free(args[i].call);
    }
    free(args);
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
void wr_intrinsic_free(wr_intrinsic_t *f)
{
    if (f == NULL)
        return;
    args_free(f->args, f->n_args);
    free(f);
}

bool wr_intrinsic_is_call(const char *text)
{
    return text != NULL && strncmp(text, "States.", 7) == 0;
}

static int parse_call(parser_t *ps, int depth, wr_intrinsic_t **out);

/* A single-quoted string: `\'`, `\{`, `\}` and `\\` are the only escapes. */
static int parse_string(parser_t *ps, arg_t *a)
{
    wr_buf_t val, raw;

    wr_buf_init(&val);
    wr_buf_init(&raw);
    ps->pos++;
    while (ps->pos < ps->len && ps->s[ps->pos] != '\'') {
        char c = ps->s[ps->pos];
        if (c == '\\') {
            char e = ps->pos + 1 < ps->len ? ps->s[ps->pos + 1] : '\0';
            if (e != '\'' && e != '{' && e != '}' && e != '\\') {
                wr_buf_dispose(&val);
                wr_buf_dispose(&raw);
                return perr(ps,
                            "illegal escape '\\%c' in a string argument (allowed: \\' \\{ "
                            "\\} \\\\)",
                            e ? e : ' ');
            }
            wr_buf_append(&val, &e, 1);
            if (e == '\'') {
                wr_buf_append(&raw, &e, 1);
            } else {
                wr_buf_append(&raw, &c, 1);
                wr_buf_append(&raw, &e, 1);
            }
            ps->pos += 2;
            continue;
        }
        wr_buf_append(&val, &c, 1);
        wr_buf_append(&raw, &c, 1);
        ps->pos++;
    }
    if (ps->pos >= ps->len) {
        wr_buf_dispose(&val);
        wr_buf_dispose(&raw);
        return perr(ps, "%s", "unterminated string");
    }
    ps->pos++;
    a->kind = ARG_LIT;
    a->lit = json_stringn(wr_buf_cstr(buf_term(&val)), val.len);
    a->raw = wr_xstrdup(wr_buf_cstr(buf_term(&raw)));
    wr_buf_dispose(&val);
    wr_buf_dispose(&raw);
    if (a->lit == NULL)
        return perr(ps, "%s", "string is not valid UTF-8");
    return 0;
}

/* A path argument ends at a ',' or ')' outside brackets, parentheses and quotes. */
static int parse_path_arg(parser_t *ps, arg_t *a)
{
    size_t start = ps->pos;
    int brackets = 0, parens = 0;
    char quote = 0;
    char *text;
    int rc;

    while (ps->pos < ps->len) {
        char c = ps->s[ps->pos];
        if (quote) {
            if (c == '\\' && ps->pos + 1 < ps->len)
                ps->pos++;
            else if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '[') {
            brackets++;
        } else if (c == ']') {
            brackets--;
        } else if (c == '(') {
            parens++;
        } else if (c == ')' && parens > 0) {
            parens--;
        } else if ((c == ',' || c == ')') && brackets <= 0 && parens == 0) {
            break;
        }
        ps->pos++;
    }
    text = wr_xstrndup(ps->s + start, ps->pos - start);
    while (ps->pos > start && text[strlen(text) - 1] == ' ')
        text[strlen(text) - 1] = '\0';
    a->kind = ARG_PATH;
    rc = wr_jsonpath_parse(text, &a->path, ps->err);
    free(text);
    return rc;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int parse_arg(parser_t *ps, int depth, arg_t *a)
{
    char c;
    const char *p;

    memset(a, 0, sizeof(*a)); /* the caller frees it even when parsing fails */
    skip_ws(ps);
    if (ps->pos >= ps->len)
        return perr(ps, "%s", "expected an argument");
    c = ps->s[ps->pos];
    p = ps->s + ps->pos;
    if (c == '\'')
        return parse_string(ps, a);
    if (c == '$')
        return parse_path_arg(ps, a);
    if (strncmp(p, "States.", 7) == 0) {
        a->kind = ARG_CALL;
        return parse_call(ps, depth + 1, &a->call);
    }
    if (c == '-' || isdigit((unsigned char)c)) {
        size_t start = ps->pos;
        json_error_t je;
        char *t;
        ps->pos++;
        while (ps->pos < ps->len &&
               (isdigit((unsigned char)ps->s[ps->pos]) || strchr(".eE+-", ps->s[ps->pos])))
            ps->pos++;
        t = wr_xstrndup(ps->s + start, ps->pos - start);
        a->kind = ARG_LIT;
        a->lit = json_loads(t, JSON_DECODE_ANY, &je);
        free(t);
        if (a->lit == NULL || !json_is_number(a->lit))
            return perr(ps, "%s", "bad number");
        return 0;
    }
    a->kind = ARG_LIT;
    if (strncmp(p, "true", 4) == 0) {
        ps->pos += 4;
        a->lit = json_true();
    } else if (strncmp(p, "false", 5) == 0) {
        ps->pos += 5;
        a->lit = json_false();
    } else if (strncmp(p, "null", 4) == 0) {
        ps->pos += 4;
        a->lit = json_null();
    } else {
        return perr(ps, "%s", "expected a string, number, boolean, null, path or function");
    }
    return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int parse_call(parser_t *ps, int depth, wr_intrinsic_t **out)
{
    size_t start = ps->pos;
    const fn_def_t *fn = NULL;
    wr_intrinsic_t *f;
    char *name;
    int rc;

    if (depth > WR_INTRINSIC_MAX_DEPTH)
        return perr(ps, "%s", "calls nested too deeply");
    while (ps->pos < ps->len && (isalnum((unsigned char)ps->s[ps->pos]) || ps->s[ps->pos] == '.' ||
                                 ps->s[ps->pos] == '_'))
        ps->pos++;
    name = wr_xstrndup(ps->s + start, ps->pos - start);
    for (size_t i = 0; i < WR_ARRAY_SIZE(functions); i++)
        if (strcmp(functions[i].name, name) == 0)
            fn = &functions[i];
    if (fn == NULL) {
        rc = perr(ps, "unknown intrinsic function '%s'", name);
        free(name);
        return rc;
    }
    free(name);
    skip_ws(ps);
    if (ps->pos >= ps->len || ps->s[ps->pos] != '(')
        return perr(ps, "%s", "expected '('");
    ps->pos++;
    f = wr_xcalloc(1, sizeof(*f));
    f->fn = fn;
    skip_ws(ps);
    if (ps->pos < ps->len && ps->s[ps->pos] == ')') {
        ps->pos++;
    } else {
        for (;;) {
            arg_t a;
            rc = parse_arg(ps, depth, &a);
            f->args = wr_xrealloc(f->args, (f->n_args + 1) * sizeof(arg_t));
            f->args[f->n_args++] = a;
            if (rc != 0) {
                wr_intrinsic_free(f);
                return rc;
            }
            skip_ws(ps);
            if (ps->pos < ps->len && ps->s[ps->pos] == ',') {
                ps->pos++;
                continue;
            }
            if (ps->pos < ps->len && ps->s[ps->pos] == ')') {
                ps->pos++;
                break;
            }
            wr_intrinsic_free(f);
            return perr(ps, "%s", "expected ',' or ')'");
        }
    }
    if ((int)f->n_args < fn->min_args || (fn->max_args >= 0 && (int)f->n_args > fn->max_args)) {
        size_t n = f->n_args;
        wr_intrinsic_free(f);
        if (fn->max_args < 0)
            return perr(ps, "%s takes at least %d argument(s), not %zu", fn->name, fn->min_args, n);
        if (fn->min_args == fn->max_args)
            return perr(ps, "%s takes %d argument(s), not %zu", fn->name, fn->min_args, n);
        return perr(ps, "%s takes %d to %d arguments, not %zu", fn->name, fn->min_args,
                    fn->max_args, n);
    }
    *out = f;
    return 0;
}

int wr_intrinsic_parse(const char *text, wr_intrinsic_t **out, wr_err_t *err)
{
    parser_t ps;
    wr_intrinsic_t *f = NULL;
    int rc;

    memset(&ps, 0, sizeof(ps));
    ps.s = text;
    ps.len = strlen(text);
    ps.err = err;
    if (!wr_intrinsic_is_call(text))
        return perr(&ps, "%s", "an intrinsic call starts with 'States.'");
    rc = parse_call(&ps, 0, &f);
    if (rc != 0)
        return rc;
    skip_ws(&ps);
    if (ps.pos != ps.len) {
        wr_intrinsic_free(f);
        return perr(&ps, "%s", "unexpected text after the call");
    }
    *out = f;
    return 0;
}

/* ==== Evaluation ==== */

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
int wr_intrinsic_eval(const wr_intrinsic_t *f, wr_intrinsic_resolve_cb resolve, void *arg,
                      json_t **out, const char **error, wr_err_t *err)
{
    json_t **vals = wr_xcalloc(f->n_args + 1, sizeof(json_t *));
    int rc = 0;

    *error = "States.IntrinsicFailure";
    for (size_t i = 0; i < f->n_args && rc == 0; i++) {
        const arg_t *a = &f->args[i];
        switch (a->kind) {
        case ARG_LIT:
            vals[i] = json_incref(a->lit);
            break;
        case ARG_PATH:
            rc = resolve(arg, a->path, &vals[i], error, err);
            break;
        case ARG_CALL:
            rc = wr_intrinsic_eval(a->call, resolve, arg, &vals[i], error, err);
            break;
        }
    }
    if (rc == 0) {
        *error = "States.IntrinsicFailure";
        rc = f->fn->impl(f, vals, out, err);
    }
    for (size_t i = 0; i < f->n_args; i++)
        json_decref(vals[i]);
    free(vals);
    return rc;
}
