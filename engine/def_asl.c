/* SPDX-License-Identifier: MIT
 * engine/def_asl.c: loading and validating Amazon States Language definitions (def_asl.h).
 *
 * Three passes: the text becomes JSON (jansson, or libyaml's document API for YAML, with
 * YAML 1.1 core scalars resolved as JSON types); the JSON is checked field by field against
 * what each state type allows, collecting every problem with its JSON path; and the state
 * machines are indexed (transitions, Retry/Catch, Resources) for the interpreter in
 * engine/asl_run.c. Every recursion (YAML nodes, nested machines, Choice rules, payload
 * templates) is bounded by a depth cap. */
#include "engine/def_asl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/yaml_json.h"
#include "engine/intrinsics.h"
#include "engine/jsonpath.h"
#include "tasks/task.h"

#define JSON_MAX_DEPTH 128 /* YAML nodes / payload templates nested deeper are refused */

/* wr_buf_cstr()/wr_buf_steal() of a buffer nothing was appended to do not NUL-terminate it;
 * appending nothing does. */
static wr_buf_t *buf_term(wr_buf_t *b)
{
    wr_buf_append(b, "", 0);
    return b;
}

/* ==== Timestamps ==== */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool wr_asl_parse_timestamp(const char *s, int64_t *secs, int32_t *nanos)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se, oh = 0, om = 0, dim;
    int64_t ns = 0, scale = 100000000;
    const char *p;
    int sign = 0;

    if (s == NULL || strlen(s) < 20)
        return false;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
        return false;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p)) {
            ns += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
            return false;
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 || oh > 23 ||
        om > 59)
        return false;
    dim = mdays[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (d > dim)
        return false;
    *secs =
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - sign * (oh * 3600 + om * 60);
    *nanos = (int32_t)ns;
    return true;
}

/* ==== Validation context ==== */

typedef struct {
    wr_buf_t all; /* every problem, one per line */
    char first[WR_ERR_MSG_MAX];
    int count;
    const char *file;
} vctx_t;

WR_PRINTF(3, 4) static void problem(vctx_t *v, const char *where, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char *line = wr_xasprintf("%s: %s%s%s", v->file, where, *where ? ": " : "", msg);
    if (v->count == 0) {
        size_t n = strlen(line);
        if (n >= sizeof(v->first))
            n = sizeof(v->first) - 1;
        memcpy(v->first, line, n);
        v->first[n] = '\0';
    }
    wr_buf_printf(&v->all, "%s\n", line);
    free(line);
    v->count++;
}

static char *join(const char *prefix, const char *field)
{
    return *prefix ? wr_xasprintf("%s.%s", prefix, field) : wr_xstrdup(field);
}

static bool is_nonneg_int(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) >= 0;
    return false;
}

static bool is_pos_int(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) > 0;
}

/* A positive number of seconds that milliseconds can hold (AWS's own limit is 99999999). */
static bool is_seconds(const json_t *v)
{
    return is_pos_int(v) && json_integer_value(v) <= 99999999;
}

/* A Path field: a string holding a path with any root. */
static void check_path(vctx_t *v, const char *where, const json_t *val, bool allow_null,
                       bool allow_intrinsic)
{
    wr_err_t e;
    wr_jsonpath_t *p = NULL;
    wr_intrinsic_t *f = NULL;

    if (val == NULL)
        return;
    if (json_is_null(val)) {
        if (!allow_null)
            problem(v, where, "%s", "must be a path string, not null");
        return;
    }
    if (!json_is_string(val)) {
        problem(v, where, "%s", "must be a path string");
        return;
    }
    if (allow_intrinsic && wr_intrinsic_is_call(json_string_value(val))) {
        if (wr_intrinsic_parse(json_string_value(val), &f, &e) != 0)
            problem(v, where, "%s", e.msg);
        wr_intrinsic_free(f);
        return;
    }
    if (wr_jsonpath_parse(json_string_value(val), &p, &e) != 0)
        problem(v, where, "%s", e.msg);
    wr_jsonpath_free(p);
}

static void check_reference_path(vctx_t *v, const char *where, const json_t *val)
{
    wr_err_t e;
    wr_jsonpath_t *p = NULL;

    if (val == NULL || json_is_null(val))
        return;
    if (!json_is_string(val)) {
        problem(v, where, "%s", "must be a reference path string or null");
        return;
    }
    if (wr_jsonpath_parse(json_string_value(val), &p, &e) != 0) {
        problem(v, where, "%s", e.msg);
        return;
    }
    if (wr_jsonpath_root(p) != WR_JP_ROOT_INPUT || !wr_jsonpath_is_definite(p))
        problem(v, where, "'%s' is not a reference path (only '$', field names and indexes)",
                json_string_value(val));
    wr_jsonpath_free(p);
}

/* Parameters, ResultSelector, ItemSelector, Assign: `.$` keys hold paths or intrinsics. */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void check_template(vctx_t *v, const char *where, const json_t *val, int depth)
{
    const char *k;
    json_t *x;
    size_t i;

    if (depth > JSON_MAX_DEPTH) {
        problem(v, where, "nested more than %d levels", JSON_MAX_DEPTH);
        return;
    }
    if (json_is_object(val)) {
        json_object_foreach((json_t *)val, k, x)
        {
            char *w = join(where, k);
            size_t kl = strlen(k);
            if (kl > 2 && strcmp(k + kl - 2, ".$") == 0)
                check_path(v, w, x, false, true);
            else
                check_template(v, w, x, depth + 1);
            free(w);
        }
    } else if (json_is_array(val)) {
        json_array_foreach((json_t *)val, i, x)
        {
            char *w = wr_xasprintf("%s[%zu]", where, i);
            check_template(v, w, x, depth + 1);
            free(w);
        }
    }
}

/* Assign: a template whose top-level keys name variables ([A-Za-z_][A-Za-z0-9_]*, without
 * the `.$` suffix). */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void check_assign(vctx_t *v, const char *where, const json_t *assign)
{
    const char *k;
    json_t *x;

    if (!json_is_object(assign)) {
        problem(v, where, "%s", "must be an object");
        return;
    }
    check_template(v, where, assign, 0);
    json_object_foreach((json_t *)assign, k, x)
    {
        size_t n = strlen(k);
        bool ok = n > 0 && (isalpha((unsigned char)k[0]) || k[0] == '_');
        if (n > 2 && strcmp(k + n - 2, ".$") == 0)
            n -= 2;
        for (size_t i = 1; i < n && ok; i++)
            ok = isalnum((unsigned char)k[i]) || k[i] == '_';
        if (!ok || n > 80 || (n == 6 && strncmp(k, "states", 6) == 0)) {
            char *w = join(where, k);
            problem(v, w, "%s", "not a valid variable name (letters, digits and _)");
            free(w);
        }
        (void)x;
    }
}

static void check_fields(vctx_t *v, const char *where, const json_t *obj,
                         const char *const *allowed)
{
    const char *k;
    json_t *x;

    json_object_foreach((json_t *)obj, k, x)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, k) == 0;
        if (!ok) {
            const char *close = wr_closest(k, allowed);
            char *w = join(where, k);
            if (close)
                problem(v, w, "unknown field (did you mean '%s'?)", close);
            else
                problem(v, w, "%s", "unknown field");
            free(w);
        }
        (void)x;
    }
}

/* ==== Choice rules ==== */

typedef enum { OPK_STRING, OPK_NUMBER, OPK_BOOL, OPK_TIMESTAMP, OPK_PATH, OPK_TYPETEST } opk_t;

typedef struct {
    const char *name;
    opk_t kind;
} choice_op_t;

static const choice_op_t choice_ops[] = {
    {"StringEquals", OPK_STRING},
    {"StringLessThan", OPK_STRING},
    {"StringGreaterThan", OPK_STRING},
    {"StringLessThanEquals", OPK_STRING},
    {"StringGreaterThanEquals", OPK_STRING},
    {"StringMatches", OPK_STRING},
    {"StringEqualsPath", OPK_PATH},
    {"StringLessThanPath", OPK_PATH},
    {"StringGreaterThanPath", OPK_PATH},
    {"StringLessThanEqualsPath", OPK_PATH},
    {"StringGreaterThanEqualsPath", OPK_PATH},
    {"NumericEquals", OPK_NUMBER},
    {"NumericLessThan", OPK_NUMBER},
    {"NumericGreaterThan", OPK_NUMBER},
    {"NumericLessThanEquals", OPK_NUMBER},
    {"NumericGreaterThanEquals", OPK_NUMBER},
    {"NumericEqualsPath", OPK_PATH},
    {"NumericLessThanPath", OPK_PATH},
    {"NumericGreaterThanPath", OPK_PATH},
    {"NumericLessThanEqualsPath", OPK_PATH},
    {"NumericGreaterThanEqualsPath", OPK_PATH},
    {"BooleanEquals", OPK_BOOL},
    {"BooleanEqualsPath", OPK_PATH},
    {"TimestampEquals", OPK_TIMESTAMP},
    {"TimestampLessThan", OPK_TIMESTAMP},
    {"TimestampGreaterThan", OPK_TIMESTAMP},
    {"TimestampLessThanEquals", OPK_TIMESTAMP},
    {"TimestampGreaterThanEquals", OPK_TIMESTAMP},
    {"TimestampEqualsPath", OPK_PATH},
    {"TimestampLessThanPath", OPK_PATH},
    {"TimestampGreaterThanPath", OPK_PATH},
    {"TimestampLessThanEqualsPath", OPK_PATH},
    {"TimestampGreaterThanEqualsPath", OPK_PATH},
    {"IsNull", OPK_TYPETEST},
    {"IsPresent", OPK_TYPETEST},
    {"IsNumeric", OPK_TYPETEST},
    {"IsString", OPK_TYPETEST},
    {"IsBoolean", OPK_TYPETEST},
    {"IsTimestamp", OPK_TYPETEST},
};

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void check_rule(vctx_t *v, const char *where, const json_t *rule, bool top, int depth)
{
    const char *k;
    json_t *x;
    int n_ops = 0, n_logic = 0;
    const char *known[64];
    size_t nk = 0;

    if (depth > JSON_MAX_DEPTH) {
        problem(v, where, "Choice rules nested more than %d levels", JSON_MAX_DEPTH);
        return;
    }
    if (!json_is_object(rule)) {
        problem(v, where, "%s", "a Choice rule must be an object");
        return;
    }
    known[nk++] = "Variable";
    known[nk++] = "Comment";
    known[nk++] = "And";
    known[nk++] = "Or";
    known[nk++] = "Not";
    if (top) {
        known[nk++] = "Next";
        known[nk++] = "Assign";
    }
    for (size_t i = 0; i < WR_ARRAY_SIZE(choice_ops); i++)
        known[nk++] = choice_ops[i].name;
    known[nk] = NULL;
    check_fields(v, where, rule, known);
    if (!top && json_object_get(rule, "Next") != NULL) {
        char *w = join(where, "Next");
        problem(v, w, "%s", "only a top-level Choice rule may have Next");
        free(w);
    }
    if (top && !json_is_string(json_object_get(rule, "Next"))) {
        char *w = join(where, "Next");
        problem(v, w, "%s", "a Choice rule needs a Next state name");
        free(w);
    }
    if (top && json_object_get(rule, "Assign") != NULL) {
        char *w = join(where, "Assign");
        check_assign(v, w, json_object_get(rule, "Assign"));
        free(w);
    }
    json_object_foreach((json_t *)rule, k, x)
    {
        char *w = join(where, k);
        if (strcmp(k, "And") == 0 || strcmp(k, "Or") == 0) {
            size_t i;
            json_t *r;
            n_logic++;
            if (!json_is_array(x) || json_array_size(x) == 0)
                problem(v, w, "%s", "must be a non-empty array of rules");
            else
                json_array_foreach(x, i, r)
                {
                    char *wi = wr_xasprintf("%s[%zu]", w, i);
                    check_rule(v, wi, r, false, depth + 1);
                    free(wi);
                }
        } else if (strcmp(k, "Not") == 0) {
            n_logic++;
            check_rule(v, w, x, false, depth + 1);
        } else {
            for (size_t i = 0; i < WR_ARRAY_SIZE(choice_ops); i++) {
                int64_t s;
                int32_t ns;
                if (strcmp(choice_ops[i].name, k) != 0)
                    continue;
                n_ops++;
                switch (choice_ops[i].kind) {
                case OPK_STRING:
                    if (!json_is_string(x))
                        problem(v, w, "%s", "must be a string");
                    break;
                case OPK_NUMBER:
                    if (!json_is_number(x))
                        problem(v, w, "%s", "must be a number");
                    break;
                case OPK_BOOL:
                case OPK_TYPETEST:
                    if (!json_is_boolean(x))
                        problem(v, w, "%s", "must be true or false");
                    break;
                case OPK_TIMESTAMP:
                    if (!json_is_string(x) ||
                        !wr_asl_parse_timestamp(json_string_value(x), &s, &ns))
                        problem(v, w, "%s", "must be an RFC 3339 timestamp string");
                    break;
                case OPK_PATH:
                    check_path(v, w, x, false, false);
                    break;
                }
            }
        }
        free(w);
    }
    if (n_logic + n_ops != 1) {
        problem(v, where, "%s",
                n_logic + n_ops == 0
                    ? "a Choice rule needs one comparison operator, And, Or or Not"
                    : "a Choice rule has exactly one comparison operator, And, Or or Not");
    } else if (n_ops == 1) {
        char *w = join(where, "Variable");
        if (json_object_get(rule, "Variable") == NULL)
            problem(v, w, "%s", "a comparison needs a Variable");
        else
            check_path(v, w, json_object_get(rule, "Variable"), false, false);
        free(w);
    } else if (json_object_get(rule, "Variable") != NULL) {
        char *w = join(where, "Variable");
        problem(v, w, "%s", "And/Or/Not rules do not take a Variable");
        free(w);
    }
}

/* ==== Retry and Catch ==== */

static void free_strs(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

static bool check_error_equals(vctx_t *v, const char *where, const json_t *obj, char ***out,
                               size_t *n_out, bool last, bool *has_all)
{
    json_t *ee = json_object_get(obj, "ErrorEquals");
    char *w = join(where, "ErrorEquals");
    size_t i;
    json_t *x;

    *has_all = false;
    if (!json_is_array(ee) || json_array_size(ee) == 0) {
        problem(v, w, "%s", "must be a non-empty array of error names");
        free(w);
        return false;
    }
    *out = wr_xcalloc(json_array_size(ee), sizeof(char *));
    *n_out = 0;
    json_array_foreach(ee, i, x)
    {
        if (!json_is_string(x)) {
            char *wi = wr_xasprintf("%s[%zu]", w, i);
            problem(v, wi, "%s", "must be a string");
            free(wi);
            continue;
        }
        if (strcmp(json_string_value(x), "States.ALL") == 0)
            *has_all = true;
        (*out)[(*n_out)++] = wr_xstrdup(json_string_value(x));
    }
    if (*has_all && json_array_size(ee) != 1)
        problem(v, w, "%s", "States.ALL must appear alone in ErrorEquals");
    if (*has_all && !last)
        problem(v, w, "%s", "States.ALL must be in the last retrier/catcher");
    free(w);
    return true;
}

static void build_retry(vctx_t *v, const char *where, wr_asl_state_t *st)
{
    static const char *const known[] = {
        "ErrorEquals",     "IntervalSeconds", "MaxAttempts", "BackoffRate",
        "MaxDelaySeconds", "JitterStrategy",  "Comment",     NULL};
    json_t *retry = json_object_get(st->def, "Retry");
    size_t i;
    json_t *r;

    if (retry == NULL)
        return;
    if (!json_is_array(retry)) {
        problem(v, where, "%s", "must be an array of retriers");
        return;
    }
    st->retry = wr_xcalloc(json_array_size(retry) + 1, sizeof(wr_retrier_t));
    json_array_foreach(retry, i, r)
    {
        char *w = wr_xasprintf("%s[%zu]", where, i);
        wr_retrier_t *rt = &st->retry[st->n_retry];
        bool has_all;
        json_t *x;
        if (!json_is_object(r)) {
            problem(v, w, "%s", "a retrier must be an object");
            free(w);
            continue;
        }
        check_fields(v, w, r, known);
        rt->interval_ms = 1000;
        rt->max_attempts = 3;
        rt->backoff_rate = 2.0;
        if (!check_error_equals(v, w, r, &rt->errors, &rt->n_errors,
                                i + 1 == json_array_size(retry), &has_all)) {
            free(w);
            continue;
        }
        st->n_retry++;
        if ((x = json_object_get(r, "IntervalSeconds")) != NULL) {
            if (!is_seconds(x))
                problem(v, w, "%s", "IntervalSeconds must be a positive integer up to 99999999");
            else
                rt->interval_ms = json_integer_value(x) * 1000;
        }
        if ((x = json_object_get(r, "MaxAttempts")) != NULL) {
            if (!is_nonneg_int(x) || json_integer_value(x) > 99999999)
                problem(v, w, "%s", "MaxAttempts must be a non-negative integer");
            else
                rt->max_attempts = (int)json_integer_value(x);
        }
        if ((x = json_object_get(r, "BackoffRate")) != NULL) {
            if (!json_is_number(x) || json_number_value(x) < 1.0)
                problem(v, w, "%s", "BackoffRate must be a number >= 1.0");
            else
                rt->backoff_rate = json_number_value(x);
        }
        if ((x = json_object_get(r, "MaxDelaySeconds")) != NULL) {
            if (!is_seconds(x))
                problem(v, w, "%s", "MaxDelaySeconds must be a positive integer up to 99999999");
            else
                rt->max_delay_ms = json_integer_value(x) * 1000;
        }
        if ((x = json_object_get(r, "JitterStrategy")) != NULL) {
            if (!json_is_string(x) || (strcmp(json_string_value(x), "FULL") != 0 &&
                                       strcmp(json_string_value(x), "NONE") != 0))
                problem(v, w, "%s", "JitterStrategy must be FULL or NONE");
            else
                rt->jitter_full = strcmp(json_string_value(x), "FULL") == 0;
        }
        free(w);
    }
}

static void build_catch(vctx_t *v, const char *where, wr_asl_state_t *st)
{
    static const char *const known[] = {"ErrorEquals", "Next",   "ResultPath",
                                        "Comment",     "Assign", NULL};
    json_t *catch = json_object_get(st->def, "Catch");
    size_t i;
    json_t *c;

    if (catch == NULL)
        return;
    if (!json_is_array(catch)) {
        problem(v, where, "%s", "must be an array of catchers");
        return;
    }
    st->catchers = wr_xcalloc(json_array_size(catch) + 1, sizeof(wr_catcher_t));
    st->catch_defs = wr_xcalloc(json_array_size(catch) + 1, sizeof(json_t *));
    json_array_foreach(catch, i, c)
    {
        char *w = wr_xasprintf("%s[%zu]", where, i);
        wr_catcher_t *ct = &st->catchers[st->n_catch];
        bool has_all;
        if (!json_is_object(c)) {
            problem(v, w, "%s", "a catcher must be an object");
            free(w);
            continue;
        }
        check_fields(v, w, c, known);
        if (!check_error_equals(v, w, c, &ct->errors, &ct->n_errors,
                                i + 1 == json_array_size(catch), &has_all)) {
            free(w);
            continue;
        }
        st->catch_defs[st->n_catch] = c;
        st->n_catch++;
        ct->next_index = WR_ASL_NONE;
        if (!json_is_string(json_object_get(c, "Next"))) {
            char *wn = join(w, "Next");
            problem(v, wn, "%s", "a catcher needs a Next state name");
            free(wn);
        } else {
            ct->next = wr_xstrdup(json_string_value(json_object_get(c, "Next")));
        }
        {
            char *wr = join(w, "ResultPath");
            check_reference_path(v, wr, json_object_get(c, "ResultPath"));
            free(wr);
        }
        if (json_object_get(c, "Assign") != NULL) {
            char *wa = join(w, "Assign");
            check_assign(v, wa, json_object_get(c, "Assign"));
            free(wa);
        }
        free(w);
    }
}

/* ==== States ==== */

/* NULL-terminated for wr_closest(); N_TYPES counts the names. */
static const char *const type_names[] = {"Pass", "Task",     "Choice", "Wait", "Succeed",
                                         "Fail", "Parallel", "Map",    NULL};
#define N_TYPES (WR_ARRAY_SIZE(type_names) - 1)

const char *wr_asl_type_name(wr_asl_type_t t)
{
    return (size_t)t < N_TYPES ? type_names[t] : "?";
}

static const char *const f_pass[] = {"Type",      "Comment",    "Next",       "End",
                                     "InputPath", "OutputPath", "ResultPath", "Parameters",
                                     "Result",    "Assign",     NULL};
static const char *const f_task[] = {"Type",
                                     "Comment",
                                     "Next",
                                     "End",
                                     "InputPath",
                                     "OutputPath",
                                     "ResultPath",
                                     "Parameters",
                                     "ResultSelector",
                                     "Resource",
                                     "Retry",
                                     "Catch",
                                     "TimeoutSeconds",
                                     "TimeoutSecondsPath",
                                     "HeartbeatSeconds",
                                     "HeartbeatSecondsPath",
                                     "Credentials",
                                     "Assign",
                                     NULL};
static const char *const f_choice[] = {"Type",    "Comment", "InputPath", "OutputPath",
                                       "Choices", "Default", "Assign",    NULL};
static const char *const f_wait[] = {"Type",      "Comment",       "Next",    "End",
                                     "InputPath", "OutputPath",    "Seconds", "SecondsPath",
                                     "Timestamp", "TimestampPath", "Assign",  NULL};
static const char *const f_succeed[] = {"Type", "Comment", "InputPath", "OutputPath", NULL};
static const char *const f_fail[] = {"Type",  "Comment",   "Error", "ErrorPath",
                                     "Cause", "CausePath", NULL};
static const char *const f_parallel[] = {
    "Type",       "Comment",        "Next",     "End",   "InputPath", "OutputPath", "ResultPath",
    "Parameters", "ResultSelector", "Branches", "Retry", "Catch",     "Assign",     NULL};
static const char *const f_map[] = {"Type",
                                    "Comment",
                                    "Next",
                                    "End",
                                    "InputPath",
                                    "OutputPath",
                                    "ResultPath",
                                    "Parameters",
                                    "ItemSelector",
                                    "ResultSelector",
                                    "ItemsPath",
                                    "MaxConcurrency",
                                    "MaxConcurrencyPath",
                                    "Iterator",
                                    "ItemProcessor",
                                    "ToleratedFailureCount",
                                    "ToleratedFailureCountPath",
                                    "ToleratedFailurePercentage",
                                    "ToleratedFailurePercentagePath",
                                    "Label",
                                    "Retry",
                                    "Catch",
                                    "Assign",
                                    "ItemReader",
                                    "ItemBatcher",
                                    "ResultWriter",
                                    NULL};

static const char *const *const type_fields[] = {f_pass,    f_task, f_choice,   f_wait,
                                                 f_succeed, f_fail, f_parallel, f_map};

static wr_asl_machine_t *build_machine(vctx_t *v, const char *where, const json_t *def, int depth);

static void machine_free(wr_asl_machine_t *m);

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void state_dispose(wr_asl_state_t *st)
{
    free(st->name);
    for (size_t i = 0; i < st->n_retry; i++)
        free_strs(st->retry[i].errors, st->retry[i].n_errors);
    free(st->retry);
    for (size_t i = 0; i < st->n_catch; i++) {
        free_strs(st->catchers[i].errors, st->catchers[i].n_errors);
        free(st->catchers[i].next);
    }
    free(st->catchers);
    free(st->catch_defs);
    free(st->choice_next);
    for (size_t i = 0; i < st->n_branches; i++)
        machine_free(st->branches[i]);
    free(st->branches);
    machine_free(st->processor);
    free(st->function);
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void machine_free(wr_asl_machine_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_states; i++)
        state_dispose(&m->states[i]);
    free(m->states);
    free(m);
}

static void check_resource(vctx_t *v, const char *where, wr_asl_state_t *st)
{
    json_t *res = json_object_get(st->def, "Resource");
    const char *r, *p;
    char *w = join(where, "Resource"), *base = NULL;
    static const struct {
        const char *arn, *type;
    } map[] = {
        {"arn:aws:states:::glue:startJobRun.sync", "glue_job"},
        {"arn:aws:states:::glue:startJobRun", "glue_job"},
        {"arn:aws:states:::sns:publish", "sns_alert"},
        {"arn:aws:states:::aws-sdk:glue:startCrawler", "crawler"},
        {"arn:aws:states:::aws-sdk:redshiftdata:executeStatement", "copy_to_redshift"},
    };

    if (!json_is_string(res)) {
        problem(v, w, "%s", "a Task needs a Resource string");
        free(w);
        return;
    }
    r = json_string_value(res);
    st->res_kind = WR_ASL_RES_UNSUPPORTED;
    /* The callback pattern: the same integration, and the attempt then waits for a task token
     * result (SendTaskSuccess/Failure). The suffix is matched off before the lookups below. */
    if (strncmp(r, "arn:aws:states:::", 17) == 0 && strlen(r) > 17 + 17 &&
        strcmp(r + strlen(r) - 17, ".waitForTaskToken") == 0) {
        base = wr_xstrndup(r, strlen(r) - 17);
        r = base;
        st->wait_token = true;
    }
    if (strncmp(r, "arn:aws:lambda:", 15) == 0 && (p = strstr(r, ":function:")) != NULL) {
        const char *name = p + 10;
        const char *colon = strchr(name, ':');
        st->function = colon ? wr_xstrndup(name, (size_t)(colon - name)) : wr_xstrdup(name);
        if (st->function[0] == '\0')
            problem(v, w, "%s", "the Lambda ARN has no function name");
        st->res_kind = WR_ASL_RES_LAMBDA_ARN;
        st->task_type = wr_task_type_find("lambda_invoke");
    } else if (strcmp(r, "arn:aws:states:::lambda:invoke") == 0) {
        st->res_kind = WR_ASL_RES_LAMBDA_INVOKE;
        st->task_type = wr_task_type_find("lambda_invoke");
    } else if (strncmp(r, "weir:", 5) == 0) {
        st->res_kind = WR_ASL_RES_TYPE;
        st->task_type = wr_task_type_find(r + 5);
        if (st->task_type == NULL)
            problem(v, w, "unknown task type '%s'", r + 5);
    } else if (strncmp(r, "arn:aws:glue:", 13) == 0 &&
               (strstr(r, ":crawler/") != NULL || strstr(r, ":job/") != NULL)) {
        st->res_kind = WR_ASL_RES_TYPE;
        st->task_type = wr_task_type_find(strstr(r, ":crawler/") ? "crawler" : "glue_job");
    } else if (strncmp(r, "arn:", 4) == 0) {
        for (size_t i = 0; i < WR_ARRAY_SIZE(map); i++)
            if (strcmp(r, map[i].arn) == 0) {
                st->res_kind = WR_ASL_RES_TYPE;
                st->task_type = wr_task_type_find(map[i].type);
            }
    } else {
        problem(v, w, "'%s' is not a resource ARN (arn:...) or weir:TYPE", r);
    }
    free(base);
    free(w);
}

static void check_timeout_pair(vctx_t *v, const char *where, const json_t *def, const char *field)
{
    char *pf = wr_xasprintf("%sPath", field);
    json_t *x = json_object_get(def, field), *xp = json_object_get(def, pf);
    char *w = join(where, field), *wp = join(where, pf);

    if (x != NULL && xp != NULL)
        problem(v, where, "%s and %s exclude each other", field, pf);
    if (x != NULL && (!is_pos_int(x) || json_integer_value(x) > 99999999))
        problem(v, w, "%s", "must be a positive integer");
    check_path(v, wp, xp, false, false);
    free(w);
    free(wp);
    free(pf);
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void check_state(vctx_t *v, const char *where, wr_asl_state_t *st, int depth)
{
    const json_t *d = st->def;
    json_t *x;
    char *w;
    bool terminal =
        st->type == WR_ASL_SUCCEED || st->type == WR_ASL_FAIL || st->type == WR_ASL_CHOICE;

    check_fields(v, where, d, type_fields[st->type]);
    if ((x = json_object_get(d, "Comment")) != NULL && !json_is_string(x)) {
        w = join(where, "Comment");
        problem(v, w, "%s", "must be a string");
        free(w);
    }
    /* Transitions. */
    x = json_object_get(d, "End");
    if (x != NULL && !json_is_boolean(x)) {
        w = join(where, "End");
        problem(v, w, "%s", "must be true or false");
        free(w);
    }
    st->end = json_is_true(x);
    if (!terminal) {
        bool has_next = json_object_get(d, "Next") != NULL;
        if (has_next && st->end)
            problem(v, where, "%s", "Next and End: true exclude each other");
        else if (!has_next && !st->end)
            problem(v, where, "%s", "a non-terminal state needs Next or End: true");
        if (has_next && !json_is_string(json_object_get(d, "Next"))) {
            w = join(where, "Next");
            problem(v, w, "%s", "must be a state name");
            free(w);
        }
    }
    /* Paths and templates. */
    w = join(where, "InputPath");
    check_path(v, w, json_object_get(d, "InputPath"), true, false);
    free(w);
    w = join(where, "OutputPath");
    check_path(v, w, json_object_get(d, "OutputPath"), true, false);
    free(w);
    w = join(where, "ResultPath");
    check_reference_path(v, w, json_object_get(d, "ResultPath"));
    free(w);
    static const char *const templates[] = {"Parameters", "ResultSelector", "ItemSelector",
                                            "Assign"};
    for (size_t i = 0; i < WR_ARRAY_SIZE(templates); i++) {
        x = json_object_get(d, templates[i]);
        if (x == NULL)
            continue;
        w = join(where, templates[i]);
        if (strcmp(templates[i], "Assign") == 0)
            check_assign(v, w, x);
        else if (strcmp(templates[i], "ResultSelector") == 0 && !json_is_object(x))
            problem(v, w, "%s", "must be an object");
        else
            check_template(v, w, x, 0);
        free(w);
    }
    /* Retry and Catch: only where errors can be handled. */
    if (st->type == WR_ASL_TASK || st->type == WR_ASL_PARALLEL || st->type == WR_ASL_MAP) {
        w = join(where, "Retry");
        build_retry(v, w, st);
        free(w);
        w = join(where, "Catch");
        build_catch(v, w, st);
        free(w);
    }

    switch (st->type) {
    case WR_ASL_TASK:
        check_resource(v, where, st);
        check_timeout_pair(v, where, d, "TimeoutSeconds");
        check_timeout_pair(v, where, d, "HeartbeatSeconds");
        if (json_is_integer(json_object_get(d, "TimeoutSeconds")) &&
            json_is_integer(json_object_get(d, "HeartbeatSeconds")) &&
            json_integer_value(json_object_get(d, "HeartbeatSeconds")) >=
                json_integer_value(json_object_get(d, "TimeoutSeconds")))
            problem(v, where, "%s", "HeartbeatSeconds must be smaller than TimeoutSeconds");
        break;
    case WR_ASL_CHOICE: {
        json_t *choices = json_object_get(d, "Choices");
        size_t i;
        json_t *r;
        w = join(where, "Choices");
        if (!json_is_array(choices) || json_array_size(choices) == 0) {
            problem(v, w, "%s", "a Choice state needs a non-empty Choices array");
        } else {
            st->n_choices = json_array_size(choices);
            st->choice_next = wr_xcalloc(st->n_choices, sizeof(size_t));
            json_array_foreach(choices, i, r)
            {
                char *wi = wr_xasprintf("%s[%zu]", w, i);
                check_rule(v, wi, r, true, 0);
                st->choice_next[i] = WR_ASL_NONE;
                free(wi);
            }
        }
        free(w);
        x = json_object_get(d, "Default");
        if (x != NULL && !json_is_string(x)) {
            w = join(where, "Default");
            problem(v, w, "%s", "must be a state name");
            free(w);
        }
        break;
    }
    case WR_ASL_WAIT: {
        static const char *const opts[] = {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"};
        int n = 0;
        int64_t s;
        int32_t ns;
        for (size_t i = 0; i < WR_ARRAY_SIZE(opts); i++)
            n += json_object_get(d, opts[i]) != NULL;
        if (n != 1)
            problem(v, where, "%s",
                    "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, "
                    "TimestampPath");
        if ((x = json_object_get(d, "Seconds")) != NULL &&
            (!is_nonneg_int(x) || json_integer_value(x) > 99999999)) {
            w = join(where, "Seconds");
            problem(v, w, "%s", "must be a non-negative integer");
            free(w);
        }
        if ((x = json_object_get(d, "Timestamp")) != NULL &&
            (!json_is_string(x) || !wr_asl_parse_timestamp(json_string_value(x), &s, &ns))) {
            w = join(where, "Timestamp");
            problem(v, w, "%s",
                    "must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z (uppercase T, "
                    "a zone)");
            free(w);
        }
        w = join(where, "SecondsPath");
        check_path(v, w, json_object_get(d, "SecondsPath"), false, false);
        free(w);
        w = join(where, "TimestampPath");
        check_path(v, w, json_object_get(d, "TimestampPath"), false, false);
        free(w);
        break;
    }
    case WR_ASL_FAIL: {
        static const char *const pairs[][2] = {{"Error", "ErrorPath"}, {"Cause", "CausePath"}};
        for (size_t i = 0; i < 2; i++) {
            json_t *lit = json_object_get(d, pairs[i][0]);
            json_t *path = json_object_get(d, pairs[i][1]);
            if (lit != NULL && path != NULL)
                problem(v, where, "%s and %s exclude each other", pairs[i][0], pairs[i][1]);
            if (lit != NULL && !json_is_string(lit)) {
                w = join(where, pairs[i][0]);
                problem(v, w, "%s", "must be a string");
                free(w);
            }
            w = join(where, pairs[i][1]);
            check_path(v, w, path, false, true);
            free(w);
        }
        break;
    }
    case WR_ASL_PARALLEL: {
        json_t *br = json_object_get(d, "Branches");
        size_t i;
        json_t *b;
        w = join(where, "Branches");
        if (!json_is_array(br) || json_array_size(br) == 0) {
            problem(v, w, "%s", "a Parallel state needs a non-empty Branches array");
        } else if (depth >= WR_ASL_MAX_DEPTH) {
            problem(v, w, "Parallel/Map states nested more than %d levels", WR_ASL_MAX_DEPTH);
        } else {
            st->branches = wr_xcalloc(json_array_size(br), sizeof(wr_asl_machine_t *));
            json_array_foreach(br, i, b)
            {
                char *wi = wr_xasprintf("%s[%zu]", w, i);
                wr_asl_machine_t *m = build_machine(v, wi, b, depth + 1);
                if (m != NULL)
                    st->branches[st->n_branches++] = m;
                free(wi);
            }
        }
        free(w);
        break;
    }
    case WR_ASL_MAP: {
        json_t *ip = json_object_get(d, "ItemProcessor"), *it = json_object_get(d, "Iterator");
        const char *which = ip ? "ItemProcessor" : "Iterator";
        json_t *proc = ip ? ip : it;
        if (ip != NULL && it != NULL)
            problem(v, where, "%s", "ItemProcessor and Iterator exclude each other");
        if (json_object_get(d, "ItemSelector") != NULL && json_object_get(d, "Parameters") != NULL)
            problem(v, where, "%s", "ItemSelector and Parameters exclude each other");
        w = join(where, "ItemsPath");
        check_path(v, w, json_object_get(d, "ItemsPath"), false, false);
        free(w);
        if ((x = json_object_get(d, "ToleratedFailureCount")) != NULL && !is_nonneg_int(x)) {
            w = join(where, "ToleratedFailureCount");
            problem(v, w, "%s", "must be a non-negative integer");
            free(w);
        }
        w = join(where, "ToleratedFailureCountPath");
        check_path(v, w, json_object_get(d, "ToleratedFailureCountPath"), false, false);
        free(w);
        if ((x = json_object_get(d, "MaxConcurrency")) != NULL && !is_nonneg_int(x)) {
            w = join(where, "MaxConcurrency");
            problem(v, w, "%s", "must be a non-negative integer");
            free(w);
        }
        if (json_object_get(d, "MaxConcurrency") && json_object_get(d, "MaxConcurrencyPath"))
            problem(v, where, "%s", "MaxConcurrency and MaxConcurrencyPath exclude each other");
        w = join(where, "MaxConcurrencyPath");
        check_path(v, w, json_object_get(d, "MaxConcurrencyPath"), false, false);
        free(w);
        if ((x = json_object_get(d, "ToleratedFailurePercentage")) != NULL &&
            (!json_is_number(x) || json_number_value(x) < 0 || json_number_value(x) > 100)) {
            w = join(where, "ToleratedFailurePercentage");
            problem(v, w, "%s", "must be a number from 0 to 100");
            free(w);
        }
        w = join(where, "ToleratedFailurePercentagePath");
        check_path(v, w, json_object_get(d, "ToleratedFailurePercentagePath"), false, false);
        free(w);
        if ((x = json_object_get(d, "ItemBatcher")) != NULL) {
            static const char *const batcher[] = {
                "MaxItemsPerBatch",          "MaxItemsPerBatchPath", "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath", "BatchInput",           NULL};
            json_t *y;
            w = join(where, "ItemBatcher");
            if (!json_is_object(x)) {
                problem(v, w, "%s", "must be an object");
            } else {
                check_fields(v, w, x, batcher);
                if ((y = json_object_get(x, "MaxItemsPerBatch")) != NULL && !is_pos_int(y))
                    problem(v, w, "%s", "MaxItemsPerBatch must be a positive integer");
                if ((y = json_object_get(x, "MaxInputBytesPerBatch")) != NULL && !is_pos_int(y))
                    problem(v, w, "%s", "MaxInputBytesPerBatch must be a positive integer");
                {
                    char *wb = join(w, "MaxItemsPerBatchPath");
                    check_path(v, wb, json_object_get(x, "MaxItemsPerBatchPath"), false, false);
                    free(wb);
                    wb = join(w, "MaxInputBytesPerBatchPath");
                    check_path(v, wb, json_object_get(x, "MaxInputBytesPerBatchPath"), false,
                               false);
                    free(wb);
                    wb = join(w, "BatchInput");
                    check_template(v, wb, json_object_get(x, "BatchInput"), 0);
                    free(wb);
                }
            }
            free(w);
        }
        static const char *const unsupported[] = {"ItemReader", "ResultWriter"};
        for (size_t i = 0; i < WR_ARRAY_SIZE(unsupported); i++)
            if (json_object_get(d, unsupported[i]) != NULL) {
                w = join(where, unsupported[i]);
                problem(v, w, "%s", "Distributed Map inputs/outputs are not supported by weir");
                free(w);
            }
        w = join(where, which);
        if (!json_is_object(proc)) {
            problem(v, where, "%s", "a Map state needs an ItemProcessor (or Iterator) object");
        } else if (depth >= WR_ASL_MAX_DEPTH) {
            problem(v, w, "Parallel/Map states nested more than %d levels", WR_ASL_MAX_DEPTH);
        } else {
            json_t *pc = json_object_get(proc, "ProcessorConfig");
            if (pc != NULL && !json_is_object(pc)) {
                char *wp = join(w, "ProcessorConfig");
                problem(v, wp, "%s", "must be an object");
                free(wp);
            }
            st->processor = build_machine(v, w, proc, depth + 1);
        }
        free(w);
        break;
    }
    default:
        break;
    }
}

static size_t find_state(const wr_asl_machine_t *m, const char *name)
{
    for (size_t i = 0; i < m->n_states; i++)
        if (strcmp(m->states[i].name, name) == 0)
            return i;
    return WR_ASL_NONE;
}

static size_t resolve(vctx_t *v, const wr_asl_machine_t *m, const char *where, const json_t *name)
{
    size_t i;
    const char **names;
    const char *close;

    if (!json_is_string(name))
        return WR_ASL_NONE;
    i = find_state(m, json_string_value(name));
    if (i != WR_ASL_NONE)
        return i;
    names = wr_xcalloc(m->n_states + 1, sizeof(char *));
    for (size_t k = 0; k < m->n_states; k++)
        names[k] = m->states[k].name;
    close = wr_closest(json_string_value(name), names);
    if (close)
        problem(v, where, "unknown state \"%s\" (did you mean \"%s\"?)", json_string_value(name),
                close);
    else
        problem(v, where, "unknown state \"%s\"", json_string_value(name));
    free(names);
    return WR_ASL_NONE;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static wr_asl_machine_t *build_machine(vctx_t *v, const char *where, const json_t *def, int depth)
{
    static const char *const top_fields[] = {
        "StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage", NULL};
    static const char *const sub_fields[] = {"StartAt", "States", "Comment", "ProcessorConfig",
                                             NULL};
    wr_asl_machine_t *m;
    json_t *states, *start, *x;
    const char *k;
    char *w;
    bool *seen;
    size_t *stack, sp = 0;

    if (!json_is_object(def)) {
        problem(v, where, "%s", "a state machine must be a JSON object");
        return NULL;
    }
    check_fields(v, where, def, depth == 0 ? top_fields : sub_fields);
    m = wr_xcalloc(1, sizeof(*m));
    m->def = def;
    m->depth = depth;
    m->start = WR_ASL_NONE;
    start = json_object_get(def, "StartAt");
    states = json_object_get(def, "States");
    if (!json_is_string(start)) {
        w = join(where, "StartAt");
        problem(v, w, "%s", "StartAt is required and must name a state");
        free(w);
    }
    if (!json_is_object(states) || json_object_size(states) == 0) {
        w = join(where, "States");
        problem(v, w, "%s", "States is required and must be a non-empty object");
        free(w);
        return m;
    }
    if ((x = json_object_get(def, "QueryLanguage")) != NULL &&
        (!json_is_string(x) || strcmp(json_string_value(x), "JSONPath") != 0)) {
        w = join(where, "QueryLanguage");
        problem(v, w, "%s", "only JSONPath is supported by weir (JSONata is not)");
        free(w);
    }
    m->states = wr_xcalloc(json_object_size(states), sizeof(wr_asl_state_t));
    json_object_foreach(states, k, x)
    {
        wr_asl_state_t *st = &m->states[m->n_states];
        const char *type = json_string_value(json_object_get(x, "Type"));
        size_t t;
        char *ws = wr_xasprintf("%s%sStates.%s", where, *where ? "." : "", k);
        if (strlen(k) > 80 || strlen(k) == 0)
            problem(v, ws, "%s", "a state name has 1 to 80 characters");
        if (!json_is_object(x)) {
            problem(v, ws, "%s", "a state must be an object");
            free(ws);
            continue;
        }
        for (t = 0; t < N_TYPES; t++)
            if (type && strcmp(type, type_names[t]) == 0)
                break;
        if (t == N_TYPES) {
            char *wt = join(ws, "Type");
            const char *close = type ? wr_closest(type, type_names) : NULL;
            if (close)
                problem(v, wt, "unknown state type '%s' (did you mean '%s'?)", type, close);
            else
                problem(v, wt, "%s",
                        "must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map");
            free(wt);
            free(ws);
            continue;
        }
        st->name = wr_xstrdup(k);
        st->type = (wr_asl_type_t)t;
        st->def = x;
        st->next = WR_ASL_NONE;
        st->default_next = WR_ASL_NONE;
        m->n_states++;
        check_state(v, ws, st, depth);
        free(ws);
    }
    /* Transitions. */
    if (json_is_string(start)) {
        m->start = find_state(m, json_string_value(start));
        if (m->start == WR_ASL_NONE) {
            w = join(where, "StartAt");
            resolve(v, m, w, start);
            free(w);
        }
    }
    for (size_t i = 0; i < m->n_states; i++) {
        wr_asl_state_t *st = &m->states[i];
        char *ws = wr_xasprintf("%s%sStates.%s", where, *where ? "." : "", st->name);
        if (st->type != WR_ASL_CHOICE && st->type != WR_ASL_SUCCEED && st->type != WR_ASL_FAIL) {
            w = join(ws, "Next");
            st->next = resolve(v, m, w, json_object_get(st->def, "Next"));
            free(w);
        }
        for (size_t c = 0; c < st->n_catch; c++) {
            w = wr_xasprintf("%s.Catch[%zu].Next", ws, c);
            if (st->catchers[c].next != NULL)
                st->catchers[c].next_index =
                    resolve(v, m, w, json_object_get(st->catch_defs[c], "Next"));
            free(w);
        }
        for (size_t c = 0; c < st->n_choices; c++) {
            json_t *rule = json_array_get(json_object_get(st->def, "Choices"), c);
            w = wr_xasprintf("%s.Choices[%zu].Next", ws, c);
            st->choice_next[c] = resolve(v, m, w, json_object_get(rule, "Next"));
            free(w);
        }
        if (st->type == WR_ASL_CHOICE && json_object_get(st->def, "Default") != NULL) {
            w = join(ws, "Default");
            st->default_next = resolve(v, m, w, json_object_get(st->def, "Default"));
            free(w);
        }
        free(ws);
    }
    /* Reachability from StartAt. */
    if (m->start != WR_ASL_NONE) {
        seen = wr_xcalloc(m->n_states, sizeof(bool));
        stack = wr_xcalloc(m->n_states * 4 + 8, sizeof(size_t));
        seen[m->start] = true;
        stack[sp++] = m->start;
        while (sp > 0) {
            const wr_asl_state_t *st = &m->states[stack[--sp]];
            size_t targets[3 + 1];
            size_t nt = 0;
            targets[nt++] = st->next;
            targets[nt++] = st->default_next;
            for (size_t c = 0; c < st->n_catch + st->n_choices; c++) {
                size_t t =
                    c < st->n_catch ? st->catchers[c].next_index : st->choice_next[c - st->n_catch];
                if (t != WR_ASL_NONE && !seen[t]) {
                    seen[t] = true;
                    stack[sp++] = t;
                }
            }
            for (size_t c = 0; c < nt; c++)
                if (targets[c] != WR_ASL_NONE && !seen[targets[c]]) {
                    seen[targets[c]] = true;
                    stack[sp++] = targets[c];
                }
        }
        for (size_t i = 0; i < m->n_states; i++)
            if (!seen[i]) {
                char *ws =
                    wr_xasprintf("%s%sStates.%s", where, *where ? "." : "", m->states[i].name);
                problem(v, ws, "%s", "unreachable from StartAt");
                free(ws);
            }
        free(seen);
        free(stack);
    }
    return m;
}

/* ==== Loading ==== */

static void fnv_hex(const char *s, size_t n, char out[17])
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    const char *dot;
    b = b ? b + 1 : path;
    dot = strrchr(b, '.');
    return dot && dot != b ? wr_xstrndup(b, (size_t)(dot - b)) : wr_xstrdup(b);
}

void wr_asl_free(wr_asl_t *asl)
{
    if (asl == NULL)
        return;
    machine_free(asl->machine);
    json_decref(asl->root);
    free(asl->name);
    free(asl->schedule);
    free(asl->timezone);
    free(asl->path);
    free(asl->source);
    free(asl);
}

int wr_asl_load_string(const char *path, const char *text, size_t len, wr_asl_t **out, char **all,
                       wr_err_t *err)
{
    wr_asl_t *asl = wr_xcalloc(1, sizeof(*asl));
    json_t *doc = NULL, *x;
    json_error_t je;
    const char *p = text;
    vctx_t v;
    int rc = 0;

    memset(&v, 0, sizeof(v));
    wr_buf_init(&v.all);
    v.file = path;
    if (all)
        *all = NULL;
    while (p < text + len && isspace((unsigned char)*p))
        p++;
    if (p < text + len && *p == '{') {
        doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (doc == NULL) {
            rc = wr_err_set_at(err, WR_EPARSE, je.line, je.column, "%s:%d:%d: invalid JSON: %s",
                               path, je.line, je.column, je.text);
            goto done;
        }
    } else {
        /* The shared loader: YAML 1.2 core scalars, duplicate keys, nesting and alias caps,
         * and `path:line:column` in every error. */
        if ((rc = wr_yaml_to_json(path, text, len, &doc, err)) != 0) {
            doc = NULL;
            goto done;
        }
    }
    if (!json_is_object(doc)) {
        rc = wr_err_set(err, WR_EINVALID, "%s: a state machine must be a JSON object", path);
        goto done;
    }
    asl->path = wr_xstrdup(path);
    asl->source = wr_xstrndup(text, len);
    fnv_hex(text, len, asl->hash);
    x = json_object_get(doc, "state_machine");
    if (x != NULL) {
        static const char *const wrapper[] = {"state_machine", "name",        "schedule",
                                              "timezone",      "description", NULL};
        check_fields(&v, "", doc, wrapper);
        if (json_is_string(json_object_get(doc, "name")))
            asl->name = wr_xstrdup(json_string_value(json_object_get(doc, "name")));
        if (json_is_string(json_object_get(doc, "schedule")))
            asl->schedule = wr_xstrdup(json_string_value(json_object_get(doc, "schedule")));
        if (json_is_string(json_object_get(doc, "timezone")))
            asl->timezone = wr_xstrdup(json_string_value(json_object_get(doc, "timezone")));
        asl->root = json_incref(x);
    } else {
        asl->root = json_incref(doc);
    }
    if (asl->name == NULL)
        asl->name = base_name(path);
    if (!json_is_object(asl->root)) {
        problem(&v, "state_machine", "%s", "must be a state machine object");
    } else {
        asl->machine = build_machine(&v, "", asl->root, 0);
        x = json_object_get(asl->root, "TimeoutSeconds");
        if (x != NULL && !is_seconds(x))
            problem(&v, "TimeoutSeconds", "%s", "must be a positive integer up to 99999999");
        else if (x != NULL)
            asl->timeout_ms = json_integer_value(x) * 1000;
    }
    if (v.count > 0) {
        rc = wr_err_set(err, WR_EINVALID, "%s", v.first);
        if (all)
            *all = wr_buf_steal(buf_term(&v.all));
        goto done;
    }
    *out = asl;
    asl = NULL;
done:
    if (rc != 0 && all && *all == NULL && err)
        *all = wr_xasprintf("%s\n", err->msg);
    wr_buf_dispose(&v.all);
    json_decref(doc);
    wr_asl_free(asl);
    return rc;
}
