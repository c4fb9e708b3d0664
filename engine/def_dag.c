/* SPDX-License-Identifier: MIT
 * engine/def_dag.c: the DAG file loader (DESIGN.md §3.1).
 *
 * libyaml builds a node tree; this file walks it with a small checker that knows, for each
 * mapping, the keys it accepts. Problems are collected (not only the first) so that
 * `weir validate` can list them all; loading fails if there is any. The semantic checks
 * that need the whole graph (targets, cycles, templates) run after the walk, and only when
 * the walk found nothing wrong, so that one mistake does not cascade into many. */
#include "engine/def_dag.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "engine/cron.h"
#include "engine/template.h"
#include "engine/yaml_json.h"
#include "tasks/task.h"

#define MAX_DEPTH 64
/* Aliases let a few bytes name a huge tree ("billion laughs", or `&a [*a, *a]`, which refers
 * to itself): beyond the document's own nodes, at most this many JSON values come from them. */
#define MAX_ALIAS_VALUES 100000

typedef struct {
    const char *path;
    yaml_document_t *doc;
    wr_buf_t problems; /* "file:line:col: msg\n" per problem */
    int n_problems;
    wr_err_t first;
    size_t json_budget; /* JSON values to_json() may still make */
} ctx_t;

WR_PRINTF(3, 4) static void problem(ctx_t *c, const yaml_node_t *node, const char *fmt, ...)
{
    char msg[WR_ERR_MSG_MAX];
    va_list ap;
    int line = node ? (int)node->start_mark.line + 1 : 1;
    int col = node ? (int)node->start_mark.column + 1 : 1;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    wr_buf_printf(&c->problems, "%s:%d:%d: %s\n", c->path, line, col, msg);
    if (c->n_problems++ == 0)
        wr_err_set_at(&c->first, WR_EINVALID, line, col, "%s:%d:%d: %s", c->path, line, col, msg);
}

/* ==== Node helpers ==== */

static yaml_node_t *node_at(ctx_t *c, yaml_node_item_t id)
{
    return yaml_document_get_node(c->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool scalar_is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_null_scalar(const yaml_node_t *n)
{
    const char *s = scalar(n);
    return s && scalar_is_plain(n) &&
           (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
            strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"true", "True", "TRUE", NULL};
    static const char *const f[] = {"false", "False", "FALSE", NULL};
    for (int i = 0; t[i]; i++) {
        if (strcmp(s, t[i]) == 0)
            return *out = true, true;
        if (strcmp(s, f[i]) == 0)
            return *out = false, true;
    }
    return false;
}

static bool parse_int(const char *s, json_int_t *out)
{
    char *end;
    long long v;

    if (*s == '\0' || isspace((unsigned char)*s))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = (json_int_t)v;
    return true;
}

static bool parse_real(const char *s, double *out)
{
    char *end;
    double v;

    if (*s == '\0' || isspace((unsigned char)*s) || strpbrk(s, "0123456789") == NULL)
        return false;
    if (strpbrk(s, "xXnN") != NULL) /* no hex floats, nan, inf */
        return false;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* YAML node -> JSON with the YAML 1.2 core schema for plain scalars. */
static json_t *to_json(ctx_t *c, yaml_node_t *n, int depth) /* NOLINT(misc-no-recursion) */
{
    if (depth > MAX_DEPTH) {
        problem(c, n, "nesting deeper than %d levels", MAX_DEPTH);
        return json_null();
    }
    if (c->json_budget == 0) {
        if (c->n_problems == 0)
            problem(c, n, "too many values after expanding aliases (more than %d)",
                    MAX_ALIAS_VALUES);
        return json_null();
    }
    c->json_budget--;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return wr_yaml_scalar_json(scalar(n), n->data.scalar.length, scalar_is_plain(n));
    case YAML_SEQUENCE_NODE: {
        json_t *a = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++)
            json_array_append_new(a, to_json(c, node_at(c, *it), depth + 1));
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = node_at(c, p->key);
            const char *key = scalar(k);
            if (key == NULL) {
                problem(c, k, "mapping keys must be plain strings");
                continue;
            }
            if (json_object_get(o, key) != NULL)
                problem(c, k, "duplicate key '%s'", key);
            json_object_set_new(o, key, to_json(c, node_at(c, p->value), depth + 1));
        }
        return o;
    }
    default:
        return json_null();
    }
}

/* ==== Mapping walker: known keys, duplicates, suggestions ==== */

typedef struct {
    yaml_node_t *key;
    yaml_node_t *value;
} pair_t;

/* Looks up each of `known` in mapping `m`, reporting unknown and duplicate keys. out[i] gets
 * the pair for known[i] (or NULLs). Extra keys may be accepted by `extra` (NULL-terminated,
 * also used for suggestions). */
static void walk_mapping_q(ctx_t *c, yaml_node_t *m, const char *what, const char *const *known,
                           pair_t *out, const char *const *extra, pair_t *extra_out,
                           bool quiet_unknown)
{
    size_t nk = 0, ne = 0;

    while (known[nk] != NULL)
        out[nk++] = (pair_t){NULL, NULL};
    while (extra && extra[ne] != NULL)
        extra_out[ne++] = (pair_t){NULL, NULL};
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
        const char *key = scalar(k);
        pair_t *slot = NULL;

        if (key == NULL) {
            problem(c, k, "%s: keys must be plain strings", what);
            continue;
        }
        for (size_t i = 0; i < nk && slot == NULL; i++)
            if (strcmp(key, known[i]) == 0)
                slot = &out[i];
        for (size_t i = 0; i < ne && slot == NULL; i++)
            if (strcmp(key, extra[i]) == 0)
                slot = &extra_out[i];
        if (slot == NULL && quiet_unknown)
            continue;
        if (slot == NULL) {
            const char *all[128];
            size_t n = 0;
            const char *hint;
            for (size_t i = 0; i < nk && n < 127; i++)
                all[n++] = known[i];
            for (size_t i = 0; i < ne && n < 127; i++)
                all[n++] = extra[i];
            all[n] = NULL;
            hint = wr_closest(key, all);
            if (hint != NULL)
                problem(c, k, "%s: unknown key '%s' (did you mean '%s'?)", what, key, hint);
            else
                problem(c, k, "%s: unknown key '%s'", what, key);
            continue;
        }
        if (slot->key != NULL) {
            problem(c, k, "%s: duplicate key '%s'", what, key);
            continue;
        }
        slot->key = k;
        slot->value = v;
    }
}

static void walk_mapping(ctx_t *c, yaml_node_t *m, const char *what, const char *const *known,
                         pair_t *out, const char *const *extra, pair_t *extra_out)
{
    walk_mapping_q(c, m, what, known, out, extra, extra_out, false);
}

static bool expect_mapping(ctx_t *c, yaml_node_t *n, const char *what)
{
    if (n->type != YAML_MAPPING_NODE) {
        problem(c, n, "%s must be a mapping", what);
        return false;
    }
    return true;
}

static char *get_string(ctx_t *c, yaml_node_t *n, const char *what)
{
    const char *s = scalar(n);
    if (s == NULL || is_null_scalar(n)) {
        problem(c, n, "%s must be a string", what);
        return NULL;
    }
    return wr_xstrdup(s);
}

static bool get_duration(ctx_t *c, yaml_node_t *n, const char *what, int64_t *out)
{
    const char *s = scalar(n);
    wr_err_t e;

    if (s == NULL || wr_duration_parse(s, out, &e) != 0) {
        problem(c, n, "%s: bad duration '%s' (use 90, 90s, 5m, 2h or 1d)", what,
                s ? s : "(not a scalar)");
        return false;
    }
    return true;
}

/* errors: [A, B] -> owned string array */
static bool get_error_list(ctx_t *c, yaml_node_t *n, const char *what, char ***out, size_t *nout)
{
    size_t cnt = 0;

    *out = NULL;
    *nout = 0;
    if (n == NULL) {
        problem(c, NULL, "%s: 'errors' is required", what);
        return false;
    }
    if (n->type != YAML_SEQUENCE_NODE ||
        n->data.sequence.items.top == n->data.sequence.items.start) {
        problem(c, n, "%s: 'errors' must be a non-empty list of error names", what);
        return false;
    }
    cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    *out = wr_xcalloc(cnt, sizeof(char *));
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *e = node_at(c, n->data.sequence.items.start[i]);
        const char *s = scalar(e);
        if (s == NULL || *s == '\0') {
            problem(c, e, "%s: error names must be strings", what);
            continue;
        }
        (*out)[(*nout)++] = wr_xstrdup(s);
        if (strcmp(s, "States.ALL") == 0 && cnt != 1)
            problem(c, e, "%s: 'States.ALL' must stand alone in its 'errors' list", what);
    }
    return true;
}

/* ==== Retry and catch ==== */

static const char *const retry_keys[] = {
    "errors", "interval", "max_attempts", "backoff_rate", "max_delay", "jitter", NULL};

static bool has_all(char **errors, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(errors[i], "States.ALL") == 0)
            return true;
    return false;
}

static void parse_retry(ctx_t *c, yaml_node_t *n, const char *owner, wr_retrier_t **out,
                        size_t *nout)
{
    size_t cnt;

    *out = NULL;
    *nout = 0;
    if (n->type != YAML_SEQUENCE_NODE) {
        problem(c, n, "%s: 'retry' must be a list of retriers", owner);
        return;
    }
    cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    *out = wr_xcalloc(cnt ? cnt : 1, sizeof(wr_retrier_t));
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *item = node_at(c, n->data.sequence.items.start[i]);
        wr_retrier_t *r = &(*out)[(*nout)++];
        pair_t f[7];
        char what[160];

        snprintf(what, sizeof(what), "%.120s: retry[%zu]", owner, i);
        r->interval_ms = 1000;
        r->max_attempts = 3;
        r->backoff_rate = 2.0;
        if (!expect_mapping(c, item, what))
            continue;
        walk_mapping(c, item, what, retry_keys, f, NULL, NULL);
        get_error_list(c, f[0].value, what, &r->errors, &r->n_errors);
        if (f[0].value == NULL)
            problem(c, item, "%s: 'errors' is required", what);
        if (f[1].value)
            get_duration(c, f[1].value, what, &r->interval_ms);
        if (f[2].value) {
            json_int_t v;
            if (!scalar(f[2].value) || !parse_int(scalar(f[2].value), &v) || v < 0 || v > 1000000)
                problem(c, f[2].value, "%s: max_attempts must be a whole number >= 0", what);
            else
                r->max_attempts = (int)v;
        }
        if (f[3].value) {
            double v;
            if (!scalar(f[3].value) || !parse_real(scalar(f[3].value), &v) || v < 1.0)
                problem(c, f[3].value, "%s: backoff_rate must be a number >= 1.0", what);
            else
                r->backoff_rate = v;
        }
        if (f[4].value && get_duration(c, f[4].value, what, &r->max_delay_ms) &&
            r->max_delay_ms <= 0)
            problem(c, f[4].value, "%s: max_delay must be greater than 0", what);
        if (f[5].value) {
            const char *s = scalar(f[5].value);
            if (s && strcasecmp(s, "full") == 0)
                r->jitter_full = true;
            else if (!(s && strcasecmp(s, "none") == 0))
                problem(c, f[5].value, "%s: jitter must be 'full' or 'none', not '%s'", what,
                        s ? s : "?");
        }
        if (has_all(r->errors, r->n_errors) && i + 1 != cnt)
            problem(c, item, "%s: a retrier with 'States.ALL' must be the last one", what);
    }
}

static const char *const catch_keys[] = {"errors", "next", NULL};

static void parse_catch(ctx_t *c, yaml_node_t *n, const char *owner, wr_catcher_t **out,
                        size_t *nout, yaml_node_t ***next_nodes)
{
    size_t cnt;

    *out = NULL;
    *nout = 0;
    *next_nodes = NULL;
    if (n->type != YAML_SEQUENCE_NODE) {
        problem(c, n, "%s: 'catch' must be a list of catchers", owner);
        return;
    }
    cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    *out = wr_xcalloc(cnt ? cnt : 1, sizeof(wr_catcher_t));
    *next_nodes = wr_xcalloc(cnt ? cnt : 1, sizeof(yaml_node_t *));
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *item = node_at(c, n->data.sequence.items.start[i]);
        wr_catcher_t *k = &(*out)[*nout];
        pair_t f[2];
        char what[160];

        snprintf(what, sizeof(what), "%.120s: catch[%zu]", owner, i);
        if (!expect_mapping(c, item, what))
            continue;
        walk_mapping(c, item, what, catch_keys, f, NULL, NULL);
        if (f[0].value == NULL)
            problem(c, item, "%s: 'errors' is required", what);
        else
            get_error_list(c, f[0].value, what, &k->errors, &k->n_errors);
        if (f[1].value == NULL)
            problem(c, item, "%s: 'next' is required", what);
        else
            k->next = get_string(c, f[1].value, what);
        (*next_nodes)[*nout] = f[1].value ? f[1].value : item;
        (*nout)++;
        if (has_all(k->errors, k->n_errors) && i + 1 != cnt)
            problem(c, item, "%s: a catcher with 'States.ALL' must be the last one", what);
    }
}

/* ==== Tasks ==== */

static const char *const task_keys[] = {"type",  "description", "depends_on", "trigger_rule",
                                        "retry", "catch",       "timeout",    "connection",
                                        "pool",  "priority",    NULL};
enum {
    TK_TYPE,
    TK_DESC,
    TK_DEPS,
    TK_TRIGGER,
    TK_RETRY,
    TK_CATCH,
    TK_TIMEOUT,
    TK_CONN,
    TK_POOL,
    TK_PRIO,
    TK__N
};

static const char *const default_keys[] = {"retry", "catch", "timeout", "connection", "pool", NULL};

typedef struct {
    yaml_node_t *retry, *catch_, *timeout;
    char *connection;
} defaults_t;

typedef struct {
    yaml_node_t **dep_nodes; /* per dependency, for positions */
    yaml_node_t **catch_next_nodes;
    yaml_node_t *node; /* the task's value */
    yaml_node_t *key;  /* the task's key */
} task_pos_t;

static json_t *param_value(ctx_t *c, const wr_param_t *p, yaml_node_t *v, const char *what)
{
    const char *s = scalar(v);
    json_int_t i;
    bool b;

    switch (p->kind) {
    case WR_PARAM_STRING:
        if (s == NULL || is_null_scalar(v)) {
            problem(c, v, "%s: '%s' must be a string", what, p->name);
            return NULL;
        }
        return json_string(s);
    case WR_PARAM_STRINGS:
        if (v->type == YAML_SCALAR_NODE && !is_null_scalar(v))
            return json_string(s);
        if (v->type == YAML_SEQUENCE_NODE &&
            v->data.sequence.items.top > v->data.sequence.items.start) {
            json_t *a = json_array();
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                const char *e = scalar(node_at(c, *it));
                if (e == NULL) {
                    problem(c, node_at(c, *it), "%s: '%s' items must be strings", what, p->name);
                    json_decref(a);
                    return NULL;
                }
                json_array_append_new(a, json_string(e));
            }
            return a;
        }
        problem(c, v, "%s: '%s' must be a string or a non-empty list of strings", what, p->name);
        return NULL;
    case WR_PARAM_OBJECT:
        if (v->type != YAML_MAPPING_NODE) {
            problem(c, v, "%s: '%s' must be a mapping", what, p->name);
            return NULL;
        }
        return to_json(c, v, 0);
    case WR_PARAM_INT:
        if (s == NULL || !parse_int(s, &i)) {
            problem(c, v, "%s: '%s' must be a whole number", what, p->name);
            return NULL;
        }
        return json_integer(i);
    case WR_PARAM_BOOL:
        if (s == NULL || !parse_bool(s, &b)) {
            problem(c, v, "%s: '%s' must be true or false", what, p->name);
            return NULL;
        }
        return json_boolean(b);
    case WR_PARAM_ANY:
    default:
        return to_json(c, v, 0);
    }
}

/* Task names sorted for bsearch: a DAG of 1,000 tasks with 90,000 depends_on entries
 * resolves them in O(edges log n) instead of one strcmp per task per entry (0.5 s). */
typedef struct {
    const char *name;
    size_t index;
} name_index_t;

static int cmp_name_index(const void *a, const void *b)
{
    return strcmp(((const name_index_t *)a)->name, ((const name_index_t *)b)->name);
}

static size_t find_task(const name_index_t *sorted, size_t n_tasks, const char *name)
{
    name_index_t key = {name, 0};
    const name_index_t *hit;

    if (name == NULL)
        return (size_t)-1;
    hit = bsearch(&key, sorted, n_tasks, sizeof(*sorted), cmp_name_index);
    return hit ? hit->index : (size_t)-1;
}

static void parse_task(ctx_t *c, yaml_node_t *key, yaml_node_t *val, wr_wtask_t *t, task_pos_t *pos,
                       const defaults_t *defs, const char *const *task_names,
                       const name_index_t *sorted, size_t n_tasks)
{
    pair_t f[TK__N], extra[64];
    const char *extra_names[64];
    const wr_task_type_t *type = NULL;
    char what[160];
    size_t n_extra = 0;

    t->name = wr_xstrdup(scalar(key));
    t->line = (int)key->start_mark.line + 1;
    t->column = (int)key->start_mark.column + 1;
    pos->key = key;
    pos->node = val;
    snprintf(what, sizeof(what), "task '%s'", t->name);
    if (!expect_mapping(c, val, what))
        return;
    /* First find the type, to know which extra keys the mapping may hold. */
    for (yaml_node_pair_t *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(node_at(c, p->key));
        if (k && strcmp(k, "type") == 0) {
            yaml_node_t *tv = node_at(c, p->value);
            const char *tn = scalar(tv);
            type = tn ? wr_task_type_find(tn) : NULL;
            if (type == NULL) {
                const char *names[32];
                const wr_task_type_t *const *all = wr_task_types();
                size_t n = 0;
                const char *hint;
                for (; all[n] && n < 31; n++)
                    names[n] = all[n]->name;
                names[n] = NULL;
                hint = tn ? wr_closest(tn, names) : NULL;
                if (hint)
                    problem(c, tv, "%s: unknown task type '%s' (did you mean '%s'?)", what,
                            tn ? tn : "?", hint);
                else
                    problem(c, tv, "%s: unknown task type '%s'", what, tn ? tn : "?");
            }
            break;
        }
    }
    if (type != NULL) {
        for (const wr_param_t *p = type->params; p->name != NULL && n_extra < 63; p++)
            extra_names[n_extra++] = p->name;
    }
    extra_names[n_extra] = NULL;
    /* With an unknown type, its fields cannot be told from typos: report the type only. */
    walk_mapping_q(c, val, what, task_keys, f, extra_names, extra, type == NULL);
    if (f[TK_TYPE].value == NULL) {
        problem(c, val, "%s: 'type' is required", what);
        return;
    }
    t->type = type;
    /* depends_on */
    if (f[TK_DEPS].value) {
        yaml_node_t *d = f[TK_DEPS].value;
        yaml_node_t *single[1];
        yaml_node_t **items = single;
        size_t cnt = 0;
        if (d->type == YAML_SCALAR_NODE) {
            single[0] = d;
            cnt = 1;
        } else if (d->type == YAML_SEQUENCE_NODE) {
            cnt = (size_t)(d->data.sequence.items.top - d->data.sequence.items.start);
            items = wr_xcalloc(cnt ? cnt : 1, sizeof(*items));
            for (size_t i = 0; i < cnt; i++)
                items[i] = node_at(c, d->data.sequence.items.start[i]);
        } else {
            problem(c, d, "%s: 'depends_on' must be a task name or a list of them", what);
        }
        t->deps = wr_xcalloc(cnt ? cnt : 1, sizeof(size_t));
        pos->dep_nodes = wr_xcalloc(cnt ? cnt : 1, sizeof(yaml_node_t *));
        for (size_t i = 0; i < cnt; i++) {
            const char *dn = scalar(items[i]);
            size_t idx = find_task(sorted, n_tasks, dn);
            if (idx == (size_t)-1) {
                const char *hint = dn ? wr_closest(dn, task_names) : NULL;
                if (hint)
                    problem(c, items[i],
                            "%s: depends_on names unknown task '%s' (did you mean '%s'?)", what,
                            dn ? dn : "?", hint);
                else
                    problem(c, items[i], "%s: depends_on names unknown task '%s'", what,
                            dn ? dn : "?");
                continue;
            }
            bool dup = false;
            for (size_t j = 0; j < t->n_deps; j++)
                dup = dup || t->deps[j] == idx;
            if (dup) {
                problem(c, items[i], "%s: '%s' is listed twice in depends_on", what, dn);
                continue;
            }
            pos->dep_nodes[t->n_deps] = items[i];
            t->deps[t->n_deps++] = idx;
        }
        if (items != single)
            free(items);
    }
    if (f[TK_TRIGGER].value) {
        const char *s = scalar(f[TK_TRIGGER].value);
        if (s == NULL || wr_trigger_parse(s, &t->trigger) != 0) {
            static const char *const rules[] = {"all_success", "all_done",    "one_failed",
                                                "one_success", "none_failed", "always",
                                                NULL};
            const char *hint = s ? wr_closest(s, rules) : NULL;
            problem(c, f[TK_TRIGGER].value,
                    "%s: unknown trigger_rule '%s'%s%s%s (one of all_success, all_done, "
                    "one_failed, one_success, none_failed, always)",
                    what, s ? s : "?", hint ? " (did you mean '" : "", hint ? hint : "",
                    hint ? "'?)" : "");
        }
    }
    {
        yaml_node_t *r = f[TK_RETRY].value ? f[TK_RETRY].value : defs->retry;
        yaml_node_t *k = f[TK_CATCH].value ? f[TK_CATCH].value : defs->catch_;
        yaml_node_t *to = f[TK_TIMEOUT].value ? f[TK_TIMEOUT].value : defs->timeout;
        if (r)
            parse_retry(c, r, what, &t->retry, &t->n_retry);
        if (k)
            parse_catch(c, k, what, &t->catchers, &t->n_catch, &pos->catch_next_nodes);
        if (to && get_duration(c, to, what, &t->timeout_ms) && t->timeout_ms == 0)
            problem(c, to, "%s: timeout must be greater than 0", what);
    }
    if (f[TK_POOL].value)
        t->pool = get_string(c, f[TK_POOL].value, what);
    if (f[TK_PRIO].value) {
        json_int_t v;
        const char *ps = scalar(f[TK_PRIO].value);
        if (ps == NULL || !parse_int(ps, &v) || v < -1000000 || v > 1000000)
            problem(c, f[TK_PRIO].value, "%s: priority must be a whole number", what);
        else
            t->priority = (int)v;
    }
    /* The type's own fields. */
    t->conf = json_object();
    if (f[TK_CONN].value) {
        char *conn = get_string(c, f[TK_CONN].value, what);
        if (conn)
            json_object_set_new(t->conf, "connection", json_string(conn));
        free(conn);
    } else if (defs->connection) {
        json_object_set_new(t->conf, "connection", json_string(defs->connection));
    }
    if (type == NULL)
        return;
    for (size_t i = 0; i < n_extra; i++) {
        const wr_param_t *p = &type->params[i];
        json_t *v;
        if (extra[i].value == NULL) {
            continue;
        }
        v = param_value(c, p, extra[i].value, what);
        if (v != NULL)
            json_object_set_new(t->conf, p->name, v);
    }
    {
        int before = c->n_problems;
        for (const wr_param_t *p = type->params; p->name != NULL; p++)
            if (p->required && json_object_get(t->conf, p->name) == NULL)
                problem(c, val, "%s: '%s' is required for type %s", what, p->name, type->name);
        if (type->validate != NULL && c->n_problems == before) {
            wr_err_t e;
            memset(&e, 0, sizeof(e));
            if (type->validate(t->conf, &e) != 0)
                problem(c, val, "%s: %s", what, e.msg);
        }
    }
}

/* ==== Graph checks ==== */

/* Reports one cycle, naming its tasks in order, using an iterative DFS. */
static void check_cycles(ctx_t *c, wr_workflow_t *wf, const task_pos_t *pos)
{
    size_t n = wf->n_tasks;
    unsigned char *color = wr_xcalloc(n ? n : 1, 1); /* 0 new, 1 on stack, 2 done */
    size_t *stack = wr_xcalloc(n ? n : 1, sizeof(size_t));
    size_t *next_dep = wr_xcalloc(n ? n : 1, sizeof(size_t));

    for (size_t root = 0; root < n; root++) {
        size_t sp = 0;
        if (color[root])
            continue;
        stack[sp++] = root;
        color[root] = 1;
        next_dep[root] = 0;
        while (sp > 0) {
            size_t u = stack[sp - 1];
            if (next_dep[u] < wf->tasks[u].n_deps) {
                size_t v = wf->tasks[u].deps[next_dep[u]++];
                if (color[v] == 0) {
                    color[v] = 1;
                    next_dep[v] = 0;
                    stack[sp++] = v;
                } else if (color[v] == 1) {
                    wr_buf_t b;
                    size_t from = 0;
                    wr_buf_init(&b);
                    while (stack[from] != v)
                        from++;
                    /* stack[from..sp) depend on each other in reverse: print upstream first */
                    for (size_t i = sp; i-- > from;)
                        wr_buf_printf(&b, "%s -> ", wf->tasks[stack[i]].name);
                    wr_buf_puts(&b, wf->tasks[u].name);
                    problem(c, pos[v].key, "dependency cycle: %s", wr_buf_cstr(&b));
                    wr_buf_dispose(&b);
                    goto done;
                }
            } else {
                color[u] = 2;
                sp--;
            }
        }
    }
done:
    free(color);
    free(stack);
    free(next_dep);
}

/* up[i*n + j] != 0 when task j is (transitively) upstream of task i. check_cycles() has
 * passed, so a post-order DFS finishes every task after all of its upstream tasks, and its row
 * is the union of their rows plus the tasks themselves: O(edges * n) instead of repeating an
 * O(n^3) closure pass until nothing changes (0.5 s for a 1,000-task chain). */
static unsigned char *upstream_matrix(const wr_workflow_t *wf)
{
    size_t n = wf->n_tasks;
    unsigned char *up = wr_xcalloc(n > 0 ? n * n : 1, 1);
    unsigned char *done = wr_xcalloc(n ? n : 1, 1);
    size_t *stack = wr_xcalloc(n ? n : 1, sizeof(size_t));
    size_t *next_dep = wr_xcalloc(n ? n : 1, sizeof(size_t));

    for (size_t root = 0; root < n; root++) {
        size_t sp = 0;
        if (done[root])
            continue;
        stack[sp++] = root;
        next_dep[root] = 0;
        while (sp > 0) {
            size_t u = stack[sp - 1];
            if (next_dep[u] < wf->tasks[u].n_deps) {
                size_t v = wf->tasks[u].deps[next_dep[u]++];
                if (!done[v]) { /* acyclic: an unfinished v is never on the stack already */
                    next_dep[v] = 0;
                    stack[sp++] = v;
                }
                continue;
            }
            for (size_t d = 0; d < wf->tasks[u].n_deps; d++) {
                size_t v = wf->tasks[u].deps[d];
                unsigned char *row = up + u * n;
                const unsigned char *vrow = up + v * n;
                row[v] = 1;
                for (size_t k = 0; k < n; k++)
                    row[k] |= vrow[k];
            }
            done[u] = 1;
            sp--;
        }
    }
    free(done);
    free(stack);
    free(next_dep);
    return up;
}

typedef struct {
    ctx_t *c;
    const wr_workflow_t *wf;
    size_t task;
    unsigned char **up; /* upstream_matrix(), made on first use: most DAGs never need it */
    yaml_node_t *node;
} tplcheck_t;

static const char *const template_roots[] = {"ds",
                                             "logical_date",
                                             "run_id",
                                             "attempt",
                                             "data_interval_start",
                                             "data_interval_end",
                                             "params",
                                             "input",
                                             "tasks",
                                             "error",
                                             NULL};

static bool is_upstream(tplcheck_t *tc, size_t idx)
{
    if (*tc->up == NULL)
        *tc->up = upstream_matrix(tc->wf);
    return (*tc->up)[tc->task * tc->wf->n_tasks + idx] != 0;
}

static int on_template(void *arg, const wr_tpl_expr_t *e, wr_err_t *err)
{
    tplcheck_t *tc = arg;
    const wr_wtask_t *t = &tc->wf->tasks[tc->task];
    const char *root = e->parts[0];
    bool scalar_root = strcmp(root, "ds") == 0 || strcmp(root, "logical_date") == 0 ||
                       strcmp(root, "run_id") == 0 || strcmp(root, "attempt") == 0 ||
                       strcmp(root, "data_interval_start") == 0 ||
                       strcmp(root, "data_interval_end") == 0;
    (void)err;
    if (scalar_root) {
        if (e->n > 1)
            problem(tc->c, tc->node, "task '%s': template '%s' has no fields", t->name, root);
    } else if (strcmp(root, "params") == 0) {
        if (e->n >= 2 && (e->is_index[1] || json_object_get(tc->wf->params, e->parts[1]) == NULL))
            problem(tc->c, tc->node, "task '%s': template 'params.%s': no such param declared",
                    t->name, e->parts[1]);
    } else if (strcmp(root, "input") == 0) {
        /* any field: checked at run time */
    } else if (strcmp(root, "tasks") == 0) {
        size_t idx = e->n >= 2 ? wr_workflow_task_index(tc->wf, e->parts[1]) : (size_t)-1;
        if (e->n < 3 || strcmp(e->parts[2], "output") != 0) {
            problem(tc->c, tc->node,
                    "task '%s': template 'tasks...' must read 'tasks.NAME.output[.FIELD]'",
                    t->name);
        } else if (idx == (size_t)-1) {
            problem(tc->c, tc->node, "task '%s': template 'tasks.%s': no such task", t->name,
                    e->parts[1]);
        } else if (!is_upstream(tc, idx)) {
            problem(tc->c, tc->node,
                    "task '%s': template 'tasks.%s' reads a task that is not upstream of it",
                    t->name, e->parts[1]);
        }
    } else if (strcmp(root, "error") == 0) {
        if (!t->catch_target)
            problem(tc->c, tc->node,
                    "task '%s': template 'error' is only available in a catch target", t->name);
        else if (e->n != 2 ||
                 (strcmp(e->parts[1], "Error") != 0 && strcmp(e->parts[1], "Cause") != 0))
            problem(tc->c, tc->node, "task '%s': use 'error.Error' or 'error.Cause'", t->name);
    } else {
        const char *hint = wr_closest(root, template_roots);
        if (hint)
            problem(tc->c, tc->node, "task '%s': unknown template name '%s' (did you mean '%s'?)",
                    t->name, root, hint);
        else
            problem(tc->c, tc->node, "task '%s': unknown template name '%s'", t->name, root);
    }
    return 0;
}

static void check_templates_in(tplcheck_t *tc, const json_t *v) /* NOLINT(misc-no-recursion) */
{
    if (json_is_string(v)) {
        wr_err_t e;
        if (wr_template_scan(json_string_value(v), on_template, tc, &e) != 0)
            problem(tc->c, tc->node, "task '%s': %s", tc->wf->tasks[tc->task].name, e.msg);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach((json_t *)v, k, item)
        {
            check_templates_in(tc, item);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            check_templates_in(tc, item);
        }
    }
}

/* The value node of `key` in mapping `m`, or NULL. */
static yaml_node_t *mapping_value(ctx_t *c, yaml_node_t *m, const char *key)
{
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(node_at(c, p->key));
        if (k && strcmp(k, key) == 0)
            return node_at(c, p->value);
    }
    return NULL;
}

static void check_graph(ctx_t *c, wr_workflow_t *wf, task_pos_t *pos)
{
    unsigned char *up = NULL; /* upstream_matrix(), made by the first tasks.X template */
    int before = c->n_problems;

    /* Catch targets. */
    for (size_t i = 0; i < wf->n_tasks; i++) {
        wr_wtask_t *t = &wf->tasks[i];
        for (size_t k = 0; k < t->n_catch; k++) {
            wr_catcher_t *cat = &t->catchers[k];
            yaml_node_t *at = pos[i].catch_next_nodes ? pos[i].catch_next_nodes[k] : pos[i].node;
            size_t idx;
            if (cat->next == NULL)
                continue;
            idx = wr_workflow_task_index(wf, cat->next);
            if (idx == (size_t)-1) {
                const char *names[1024];
                size_t n = 0;
                for (; n < wf->n_tasks && n < 1023; n++)
                    names[n] = wf->tasks[n].name;
                names[n] = NULL;
                const char *hint = wr_closest(cat->next, names);
                problem(c, at, "task '%s': catch next names unknown task '%s'%s%s%s", t->name,
                        cat->next, hint ? " (did you mean '" : "", hint ? hint : "",
                        hint ? "'?)" : "");
                continue;
            }
            if (idx == i) {
                problem(c, at, "task '%s': a task cannot catch into itself", t->name);
                continue;
            }
            cat->next_index = idx;
            wf->tasks[idx].catch_target = true;
        }
    }
    for (size_t i = 0; i < wf->n_tasks; i++) {
        if (wf->tasks[i].catch_target && wf->tasks[i].n_deps > 0)
            problem(c, pos[i].key,
                    "task '%s': a catch target may not have depends_on (it runs when a catch "
                    "fires)",
                    wf->tasks[i].name);
    }
    check_cycles(c, wf, pos);
    if (c->n_problems != before)
        return;
    for (size_t i = 0; i < wf->n_tasks; i++) {
        tplcheck_t tc = {c, wf, i, &up, pos[i].node};
        const char *k;
        json_t *v;
        json_object_foreach(wf->tasks[i].conf, k, v)
        {
            yaml_node_t *vn = mapping_value(c, pos[i].node, k);
            tc.node = vn ? vn : pos[i].node;
            check_templates_in(&tc, v);
        }
    }
    free(up);
}

/* ==== Top level ==== */

static const char *const top_keys[] = {"name",     "description",     "schedule",
                                       "timezone", "start_date",      "end_date",
                                       "catchup",  "max_active_runs", "max_active_tasks",
                                       "params",   "defaults",        "tasks",
                                       "tags",     "triggers",        NULL};
enum {
    K_NAME,
    K_DESC,
    K_SCHED,
    K_TZ,
    K_START,
    K_END,
    K_CATCHUP,
    K_MAR,
    K_MAT,
    K_PARAMS,
    K_DEFAULTS,
    K_TASKS,
    K_TAGS,
    K_TRIGGERS,
    K__N
};

static void fnv_hex(const char *s, size_t len, char out[17])
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static char *default_name(const char *path)
{
    const char *base = strrchr(path, '/');
    const char *dot;
    base = base ? base + 1 : path;
    dot = strrchr(base, '.');
    return wr_xstrndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

static bool valid_date(const char *s)
{
    int y, m, d;
    char extra;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3)
        return false;
    return y >= 1970 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static const char *const trigger_keys[] = {"file", NULL};
static const char *const file_trigger_keys[] = {"path", "pattern", NULL};

/* triggers: [{file: {path: DIR, pattern: "*.csv"}}] */
static void parse_triggers(ctx_t *c, yaml_node_t *n, wr_workflow_t *wf)
{
    size_t cnt;

    if (n->type != YAML_SEQUENCE_NODE) {
        problem(c, n, "triggers must be a list, e.g. [{file: {path: data/in, pattern: '*.csv'}}]");
        return;
    }
    cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    wf->file_triggers = wr_xcalloc(cnt ? cnt : 1, sizeof(wr_file_trigger_t));
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *item = node_at(c, n->data.sequence.items.start[i]);
        pair_t f[1], ff[2];
        wr_file_trigger_t *ft;
        if (!expect_mapping(c, item, "triggers[]"))
            continue;
        walk_mapping(c, item, "triggers[]", trigger_keys, f, NULL, NULL);
        if (f[0].value == NULL) {
            problem(c, item, "triggers[]: 'file' is required");
            continue;
        }
        if (!expect_mapping(c, f[0].value, "triggers[].file"))
            continue;
        walk_mapping(c, f[0].value, "triggers[].file", file_trigger_keys, ff, NULL, NULL);
        if (ff[0].value == NULL) {
            problem(c, f[0].value, "triggers[].file: 'path' (a folder) is required");
            continue;
        }
        ft = &wf->file_triggers[wf->n_file_triggers++];
        ft->path = get_string(c, ff[0].value, "triggers[].file.path");
        ft->pattern =
            ff[1].value ? get_string(c, ff[1].value, "triggers[].file.pattern") : wr_xstrdup("*");
    }
}

static void parse_top(ctx_t *c, yaml_node_t *root, wr_workflow_t *wf)
{
    pair_t f[K__N];
    defaults_t defs = {0};
    yaml_node_t *tasks;
    task_pos_t *pos = NULL;
    const char **names = NULL;
    name_index_t *sorted = NULL;
    size_t n = 0;

    if (root == NULL || root->type != YAML_MAPPING_NODE) {
        problem(c, root, "a DAG file must be a mapping with 'tasks'");
        return;
    }
    walk_mapping(c, root, "DAG", top_keys, f, NULL, NULL);
    wf->name = f[K_NAME].value ? get_string(c, f[K_NAME].value, "name") : NULL;
    if (wf->name == NULL)
        wf->name = default_name(c->path);
    if (f[K_DESC].value)
        wf->description = get_string(c, f[K_DESC].value, "description");
    if (f[K_SCHED].value && !is_null_scalar(f[K_SCHED].value)) {
        wr_cron_t *cron = NULL;
        wr_err_t e;
        wf->schedule = get_string(c, f[K_SCHED].value, "schedule");
        if (wf->schedule && wr_cron_parse(wf->schedule, &cron, &e) != 0)
            problem(c, f[K_SCHED].value, "schedule '%s': %s", wf->schedule, e.msg);
        wr_cron_free(cron);
    }
    wf->timezone = f[K_TZ].value ? get_string(c, f[K_TZ].value, "timezone") : NULL;
    if (wf->timezone == NULL)
        wf->timezone = wr_xstrdup("UTC");
    else if (!wr_cron_zone_valid(wf->timezone))
        problem(c, f[K_TZ].value,
                "timezone '%s' is not a zone of the tz database "
                "(e.g. Europe/London, America/New_York, UTC)",
                wf->timezone);
    if (f[K_START].value)
        wf->start_date = get_string(c, f[K_START].value, "start_date");
    if (f[K_END].value)
        wf->end_date = get_string(c, f[K_END].value, "end_date");
    if (f[K_CATCHUP].value) {
        const char *s = scalar(f[K_CATCHUP].value);
        if (s == NULL || !parse_bool(s, &wf->catchup))
            problem(c, f[K_CATCHUP].value, "catchup must be true or false");
    }
    wf->max_active_runs = 16;
    if (f[K_MAR].value) {
        json_int_t v;
        const char *s = scalar(f[K_MAR].value);
        if (s == NULL || !parse_int(s, &v) || v < 1)
            problem(c, f[K_MAR].value, "max_active_runs must be a whole number >= 1");
        else
            wf->max_active_runs = (int)v;
    }
    if (f[K_START].value && wf->start_date && !valid_date(wf->start_date))
        problem(c, f[K_START].value, "start_date must be a date, YYYY-MM-DD, not '%s'",
                wf->start_date);
    if (f[K_END].value && wf->end_date && !valid_date(wf->end_date))
        problem(c, f[K_END].value, "end_date must be a date, YYYY-MM-DD, not '%s'", wf->end_date);
    if (f[K_TRIGGERS].value)
        parse_triggers(c, f[K_TRIGGERS].value, wf);
    if (f[K_MAT].value) {
        json_int_t v;
        const char *s = scalar(f[K_MAT].value);
        if (s == NULL || !parse_int(s, &v) || v < 1)
            problem(c, f[K_MAT].value, "max_active_tasks must be a whole number >= 1");
        else
            wf->max_active_tasks = (int)v;
    }
    if (f[K_PARAMS].value) {
        if (expect_mapping(c, f[K_PARAMS].value, "params"))
            wf->params = to_json(c, f[K_PARAMS].value, 0);
    }
    if (wf->params == NULL)
        wf->params = json_object();
    if (f[K_DEFAULTS].value && expect_mapping(c, f[K_DEFAULTS].value, "defaults")) {
        pair_t d[6];
        walk_mapping(c, f[K_DEFAULTS].value, "defaults", default_keys, d, NULL, NULL);
        defs.retry = d[0].value;
        defs.catch_ = d[1].value;
        defs.timeout = d[2].value;
        if (d[3].value)
            defs.connection = get_string(c, d[3].value, "defaults.connection");
    }
    tasks = f[K_TASKS].value;
    if (tasks == NULL) {
        problem(c, root, "'tasks' is required");
        goto done;
    }
    if (tasks->type != YAML_MAPPING_NODE ||
        tasks->data.mapping.pairs.top == tasks->data.mapping.pairs.start) {
        problem(c, tasks, "'tasks' must be a non-empty mapping of task name to task");
        goto done;
    }
    n = (size_t)(tasks->data.mapping.pairs.top - tasks->data.mapping.pairs.start);
    int before = c->n_problems;
    names = wr_xcalloc(n + 1, sizeof(char *));
    wf->tasks = wr_xcalloc(n, sizeof(wr_wtask_t));
    pos = wr_xcalloc(n, sizeof(task_pos_t));
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = node_at(c, tasks->data.mapping.pairs.start[i].key);
        const char *name = scalar(k);
        if (name == NULL || *name == '\0') {
            problem(c, k, "task names must be non-empty strings");
            goto done;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], name) == 0)
                problem(c, k, "duplicate task '%s'", name);
        names[i] = name;
    }
    if (c->n_problems > before)
        goto done; /* duplicate names: references could not be resolved reliably */
    sorted = wr_xcalloc(n, sizeof(*sorted));
    for (size_t i = 0; i < n; i++) {
        sorted[i].name = names[i];
        sorted[i].index = i;
    }
    qsort(sorted, n, sizeof(*sorted), cmp_name_index);
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &tasks->data.mapping.pairs.start[i];
        parse_task(c, node_at(c, p->key), node_at(c, p->value), &wf->tasks[i], &pos[i], &defs,
                   names, sorted, n);
        wf->n_tasks++;
    }
    if (c->n_problems == 0)
        check_graph(c, wf, pos);
done:
    for (size_t i = 0; pos && i < n; i++) {
        free(pos[i].dep_nodes);
        free(pos[i].catch_next_nodes);
    }
    free(pos);
    free(names);
    free(sorted);
    free(defs.connection);
}

int wr_dag_load_string(const char *path, const char *text, size_t len, wr_workflow_t **out,
                       char **all, wr_err_t *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_doc = false;
    wr_workflow_t *wf = NULL;
    ctx_t c;
    int rc = 0;

    memset(&c, 0, sizeof(c));
    c.path = path;
    c.doc = &doc;
    wr_buf_init(&c.problems);
    if (all)
        *all = NULL;
    if (!yaml_parser_initialize(&parser))
        return wr_err_set(err, WR_EPARSE, "%s: cannot initialise the YAML parser", path);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int line = (int)parser.problem_mark.line + 1, col = (int)parser.problem_mark.column + 1;
        wr_err_set_at(&c.first, WR_EPARSE, line, col, "%s:%d:%d: YAML syntax error: %s%s%s", path,
                      line, col, parser.problem ? parser.problem : "malformed",
                      parser.context ? " " : "", parser.context ? parser.context : "");
        wr_buf_printf(&c.problems, "%s\n", c.first.msg);
        c.n_problems = 1;
        goto done;
    }
    have_doc = true;
    c.json_budget = (size_t)(doc.nodes.top - doc.nodes.start) + MAX_ALIAS_VALUES;
    wf = wr_xcalloc(1, sizeof(*wf));
    wf->kind = WR_WORKFLOW_DAG;
    wf->path = wr_xstrdup(path);
    wf->source = wr_xstrndup(text, len);
    fnv_hex(text, len, wf->hash);
    {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root == NULL)
            problem(&c, NULL, "the file is empty; a DAG needs 'tasks'");
        else
            parse_top(&c, root, wf);
    }
done:
    if (c.n_problems > 0) {
        if (err) {
            *err = c.first;
        }
        rc = c.first.code ? c.first.code : WR_EINVALID;
        if (all)
            *all = wr_buf_steal(&c.problems);
        wr_workflow_free(wf);
    } else {
        *out = wf;
    }
    wr_buf_dispose(&c.problems);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int wr_read_file(const char *path, size_t max, char **out, size_t *len, wr_err_t *err)
{
    FILE *fp = fopen(path, "rb");
    wr_buf_t b;
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (fp == NULL) {
        int e = -errno;
        return wr_err_set(err, e, "%s: %s", path, uv_strerror(e));
    }
    wr_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        wr_buf_append(&b, chunk, n);
        if (b.len > max) {
            rc = wr_err_set(err, WR_EINVALID, "%s: larger than %zu bytes", path, max);
            goto done;
        }
    }
    if (ferror(fp)) {
        rc = wr_err_set(err, UV_EIO, "%s: read error", path);
        goto done;
    }
    *len = b.len;
    *out = wr_buf_steal(&b);
done:
    wr_buf_dispose(&b);
    fclose(fp);
    return rc;
}

int wr_dag_load_file(const char *path, wr_workflow_t **out, char **all, wr_err_t *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (all)
        *all = NULL;
    rc = wr_read_file(path, WR_DEF_MAX_BYTES, &text, &len, err);
    if (rc != 0) {
        if (all && err)
            *all = wr_xasprintf("%s\n", err->msg);
        return rc;
    }
    rc = wr_dag_load_string(path, text, len, out, all, err);
    free(text);
    return rc;
}

bool wr_def_is_asl(const char *text, size_t len)
{
    /* Cheap look at top-level keys: a line starting with StartAt/States/state_machine, or a
     * JSON object holding "StartAt". */
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if ((l >= 8 && strncmp(p, "StartAt:", 8) == 0) ||
            (l >= 7 && strncmp(p, "States:", 7) == 0) ||
            (l >= 14 && strncmp(p, "state_machine:", 14) == 0))
            return true;
        p = eol ? eol + 1 : end;
    }
    for (p = text; p < end && isspace((unsigned char)*p); p++)
        ;
    /* JSON: an object, unless it is a DAG written as JSON (which has "tasks"). */
    return p < end && *p == '{' &&
           (strstr(text, "\"StartAt\"") != NULL || strstr(text, "\"States\"") != NULL ||
            strstr(text, "\"tasks\"") == NULL);
}

/* ==== Model helpers ==== */

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void wr_workflow_free(wr_workflow_t *wf)
{
    if (wf == NULL)
        return;
    for (size_t i = 0; i < wf->n_tasks; i++) {
        wr_wtask_t *t = &wf->tasks[i];
        free(t->name);
        free(t->pool);
        json_decref(t->conf);
        free(t->deps);
        for (size_t r = 0; r < t->n_retry; r++)
            free_strs(t->retry[r].errors, t->retry[r].n_errors);
        free(t->retry);
        for (size_t k = 0; k < t->n_catch; k++) {
            free_strs(t->catchers[k].errors, t->catchers[k].n_errors);
            free(t->catchers[k].next);
        }
        free(t->catchers);
    }
    free(wf->tasks);
    for (size_t i = 0; i < wf->n_file_triggers; i++) {
        free(wf->file_triggers[i].path);
        free(wf->file_triggers[i].pattern);
    }
    free(wf->file_triggers);
    free(wf->name);
    free(wf->description);
    free(wf->schedule);
    free(wf->timezone);
    free(wf->start_date);
    free(wf->end_date);
    json_decref(wf->params);
    free(wf->path);
    free(wf->source);
    free(wf);
}

size_t wr_workflow_task_index(const wr_workflow_t *wf, const char *name)
{
    for (size_t i = 0; i < wf->n_tasks; i++)
        if (strcmp(wf->tasks[i].name, name) == 0)
            return i;
    return (size_t)-1;
}

static const char *const trigger_names[] = {"all_success", "all_done",    "one_failed",
                                            "one_success", "none_failed", "always"};

const char *wr_trigger_name(wr_trigger_t t)
{
    return (size_t)t < WR_ARRAY_SIZE(trigger_names) ? trigger_names[t] : "?";
}

int wr_trigger_parse(const char *s, wr_trigger_t *out)
{
    for (size_t i = 0; i < WR_ARRAY_SIZE(trigger_names); i++) {
        if (strcmp(s, trigger_names[i]) == 0) {
            *out = (wr_trigger_t)i;
            return 0;
        }
    }
    return WR_EINVALID;
}
