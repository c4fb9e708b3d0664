/* SPDX-License-Identifier: MIT
 * engine/jsonpath.c: parsing and evaluating the JSONPath dialect of ASL (see jsonpath.h).
 *
 * A path compiles to a list of segments; evaluation keeps the current set of matched nodes
 * (borrowed pointers into the document) and maps it through each segment. Filters compile
 * to a small expression tree whose operands are literals or sub-paths (`@...` relative to
 * the candidate element, `$...` absolute). Recursion (filters, `..`) is bounded by
 * WR_JSONPATH_MAX_DEPTH so that hostile input cannot exhaust the stack. */
#include "engine/jsonpath.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    SEG_FIELD = 0,
    SEG_INDEX,
    SEG_WILD,
    SEG_SLICE,
    SEG_UNION,
    SEG_DESCENT, /* `..` followed by `sub` */
    SEG_FILTER,
} seg_kind_t;

typedef struct expr_s expr_t;
typedef struct seg_s seg_t;

struct seg_s {
    seg_kind_t kind;
    char *name;    /* SEG_FIELD */
    long long idx; /* SEG_INDEX */
    bool has_start, has_end;
    long long start, end, step; /* SEG_SLICE */
    seg_t *items;               /* SEG_UNION: FIELD or INDEX items */
    size_t n_items;
    seg_t *sub;   /* SEG_DESCENT: the selector applied at every level */
    expr_t *expr; /* SEG_FILTER */
};

struct wr_jsonpath_s {
    wr_jp_root_t root;
    bool relative; /* `@` inside a filter */
    char *var;
    char *text;
    seg_t *segs;
    size_t n_segs;
    bool definite;
};

typedef enum { EX_OR = 0, EX_AND, EX_NOT, EX_CMP, EX_EXISTS } expr_kind_t;
typedef enum { OP_EQ = 0, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } cmp_op_t;

typedef struct {
    json_t *lit;         /* a literal, or NULL */
    wr_jsonpath_t *path; /* `@...` or `$...` */
} operand_t;

struct expr_s {
    expr_kind_t kind;
    expr_t *a, *b;
    cmp_op_t op;
    operand_t l, r;
};

/* wr_buf_cstr()/wr_buf_steal() of a buffer nothing was appended to do not NUL-terminate it;
 * appending nothing does. */
static wr_buf_t *buf_term(wr_buf_t *b)
{
    wr_buf_append(b, "", 0);
    return b;
}

/* ==== Freeing ==== */

static void seg_dispose(seg_t *s);
static void expr_free(expr_t *e);

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void seg_dispose(seg_t *s)
{
    free(s->name);
    for (size_t i = 0; i < s->n_items; i++)
        seg_dispose(&s->items[i]);
    free(s->items);
    if (s->sub != NULL) {
        seg_dispose(s->sub);
        free(s->sub);
    }
    expr_free(s->expr);
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void expr_free(expr_t *e)
{
    if (e == NULL)
        return;
    expr_free(e->a);
    expr_free(e->b);
    json_decref(e->l.lit);
    json_decref(e->r.lit);
    wr_jsonpath_free(e->l.path);
    wr_jsonpath_free(e->r.path);
    free(e);
}

void wr_jsonpath_free(wr_jsonpath_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_segs; i++)
        seg_dispose(&p->segs[i]);
    free(p->segs);
    free(p->var);
    free(p->text);
    free(p);
}

/* ==== Parser ==== */

typedef struct {
    const char *s;
    size_t pos;
    size_t len;
    int depth;
    wr_err_t *err;
} parser_t;

WR_PRINTF(2, 3) static int perr(parser_t *ps, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return wr_err_set(ps->err, WR_EPARSE, "invalid JSONPath '%.80s' at offset %zu: %s", ps->s,
                      ps->pos, msg);
}

static int peek(const parser_t *ps)
{
    return ps->pos < ps->len ? (unsigned char)ps->s[ps->pos] : -1;
}

static void skip_ws(parser_t *ps)
{
    while (ps->pos < ps->len && isspace((unsigned char)ps->s[ps->pos]))
        ps->pos++;
}

static void add_seg(wr_jsonpath_t *p, const seg_t *s)
{
    p->segs = wr_xrealloc(p->segs, (p->n_segs + 1) * sizeof(seg_t));
    p->segs[p->n_segs++] = *s;
}

static int parse_path_at(parser_t *ps, bool in_filter, wr_jsonpath_t **out);
static int parse_or(parser_t *ps, expr_t **out);

/* A quoted name: 'x' or "x". A backslash escapes only the quote character itself and a
 * backslash before it; any other backslash is kept as written (AWS keeps `\"` inside
 * single quotes literally). */
static int parse_quoted(parser_t *ps, char **out)
{
    int q = peek(ps);
    wr_buf_t b;

    wr_buf_init(&b);
    ps->pos++;
    while (ps->pos < ps->len && ps->s[ps->pos] != q) {
        char c = ps->s[ps->pos];
        if (c == '\\' && ps->pos + 1 < ps->len && ps->s[ps->pos + 1] == q) {
            wr_buf_append(&b, &ps->s[ps->pos + 1], 1);
            ps->pos += 2;
            continue;
        }
        wr_buf_append(&b, &c, 1);
        ps->pos++;
    }
    if (peek(ps) != q) {
        wr_buf_dispose(&b);
        return perr(ps, "%s", "unterminated quoted name");
    }
    ps->pos++;
    *out = wr_buf_steal(buf_term(&b));
    if (*out == NULL)
        *out = wr_xstrdup("");
    return 0;
}

static int parse_int(parser_t *ps, long long *out)
{
    const char *start = ps->s + ps->pos;
    char *end;
    long long v;

    if (!(isdigit((unsigned char)*start) || (*start == '-' && isdigit((unsigned char)start[1]))))
        return perr(ps, "%s", "expected an integer");
    errno = 0;
    v = strtoll(start, &end, 10);
    if (errno != 0)
        return perr(ps, "%s", "integer out of range");
    ps->pos += (size_t)(end - start);
    *out = v;
    return 0;
}

/* After '[': index, slice, union, wildcard, quoted names or a filter; consumes ']'. */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int parse_bracket(parser_t *ps, seg_t *seg)
{
    int c;
    int rc;

    skip_ws(ps);
    c = peek(ps);
    memset(seg, 0, sizeof(*seg));
    if (c == '*') {
        ps->pos++;
        seg->kind = SEG_WILD;
    } else if (c == '?') {
        ps->pos++;
        skip_ws(ps);
        if (peek(ps) != '(')
            return perr(ps, "%s", "expected '(' after '?'");
        ps->pos++;
        if (++ps->depth > WR_JSONPATH_MAX_DEPTH)
            return perr(ps, "%s", "filters nested too deeply");
        seg->kind = SEG_FILTER;
        rc = parse_or(ps, &seg->expr);
        ps->depth--;
        if (rc != 0)
            return rc;
        skip_ws(ps);
        if (peek(ps) != ')')
            return perr(ps, "%s", "expected ')' closing the filter");
        ps->pos++;
    } else if (c == '\'' || c == '"') {
        seg_t item;
        for (;;) {
            memset(&item, 0, sizeof(item));
            item.kind = SEG_FIELD;
            if (peek(ps) != '\'' && peek(ps) != '"')
                return perr(ps, "%s", "expected a quoted name");
            if ((rc = parse_quoted(ps, &item.name)) != 0)
                return rc;
            seg->items = wr_xrealloc(seg->items, (seg->n_items + 1) * sizeof(seg_t));
            seg->items[seg->n_items++] = item;
            skip_ws(ps);
            if (peek(ps) != ',')
                break;
            ps->pos++;
            skip_ws(ps);
        }
        if (seg->n_items == 1) {
            seg->kind = SEG_FIELD;
            seg->name = seg->items[0].name;
            free(seg->items);
            seg->items = NULL;
            seg->n_items = 0;
        } else {
            seg->kind = SEG_UNION;
        }
    } else if (c == ':' || c == '-' || isdigit(c)) {
        long long first = 0;
        bool has_first = false;
        if (c != ':') {
            if ((rc = parse_int(ps, &first)) != 0)
                return rc;
            has_first = true;
            skip_ws(ps);
        }
        if (peek(ps) == ':') {
            seg->kind = SEG_SLICE;
            seg->has_start = has_first;
            seg->start = first;
            seg->step = 1;
            ps->pos++;
            skip_ws(ps);
            if (peek(ps) == '-' || isdigit(peek(ps))) {
                if ((rc = parse_int(ps, &seg->end)) != 0)
                    return rc;
                seg->has_end = true;
                skip_ws(ps);
            }
            if (peek(ps) == ':') {
                ps->pos++;
                skip_ws(ps);
                if (peek(ps) == '-' || isdigit(peek(ps))) {
                    if ((rc = parse_int(ps, &seg->step)) != 0)
                        return rc;
                    if (seg->step == 0)
                        return perr(ps, "%s", "slice step 0");
                }
            }
        } else if (peek(ps) == ',') {
            seg->kind = SEG_UNION;
            seg->items = wr_xcalloc(1, sizeof(seg_t));
            seg->items[0].kind = SEG_INDEX;
            seg->items[0].idx = first;
            seg->n_items = 1;
            while (peek(ps) == ',') {
                seg_t item;
                ps->pos++;
                skip_ws(ps);
                memset(&item, 0, sizeof(item));
                item.kind = SEG_INDEX;
                if ((rc = parse_int(ps, &item.idx)) != 0)
                    return rc;
                skip_ws(ps);
                seg->items = wr_xrealloc(seg->items, (seg->n_items + 1) * sizeof(seg_t));
                seg->items[seg->n_items++] = item;
            }
        } else {
            seg->kind = SEG_INDEX;
            seg->idx = first;
        }
    } else {
        return perr(ps, "%s", "expected an index, '*', a quoted name or a filter after '['");
    }
    skip_ws(ps);
    if (peek(ps) != ']')
        return perr(ps, "%s", "expected ']'");
    ps->pos++;
    return 0;
}

static bool name_stop(int c, bool in_filter)
{
    if (c == '.' || c == '[')
        return true;
    if (in_filter)
        return isspace(c) || strchr("()=!<>&|,]", c) != NULL;
    return false;
}

static int parse_dot_name(parser_t *ps, bool in_filter, char **out)
{
    size_t start = ps->pos;
    while (ps->pos < ps->len && !name_stop((unsigned char)ps->s[ps->pos], in_filter))
        ps->pos++;
    if (ps->pos == start)
        return perr(ps, "%s", "expected a field name");
    *out = wr_xstrndup(ps->s + start, ps->pos - start);
    return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int parse_segments(parser_t *ps, bool in_filter, wr_jsonpath_t *p)
{
    int rc;

    for (;;) {
        int c = peek(ps);
        seg_t seg;
        memset(&seg, 0, sizeof(seg));
        if (c == '.' && ps->pos + 1 < ps->len && ps->s[ps->pos + 1] == '.') {
            seg_t *sub = wr_xcalloc(1, sizeof(seg_t));
            ps->pos += 2;
            c = peek(ps);
            if (c == '*') {
                ps->pos++;
                sub->kind = SEG_WILD;
            } else if (c == '[') {
                ps->pos++;
                rc = parse_bracket(ps, sub);
            } else {
                sub->kind = SEG_FIELD;
                rc = parse_dot_name(ps, in_filter, &sub->name);
            }
            if (c != '*' && rc != 0) {
                seg_dispose(sub);
                free(sub);
                return rc;
            }
            seg.kind = SEG_DESCENT;
            seg.sub = sub;
        } else if (c == '.') {
            ps->pos++;
            if (peek(ps) == '*') {
                ps->pos++;
                seg.kind = SEG_WILD;
            } else {
                seg.kind = SEG_FIELD;
                if ((rc = parse_dot_name(ps, in_filter, &seg.name)) != 0)
                    return rc;
            }
        } else if (c == '[') {
            ps->pos++;
            rc = parse_bracket(ps, &seg);
            if (rc != 0) {
                seg_dispose(&seg);
                return rc;
            }
        } else {
            return 0;
        }
        if (seg.kind != SEG_FIELD && seg.kind != SEG_INDEX)
            p->definite = false;
        add_seg(p, &seg);
    }
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int parse_path_at(parser_t *ps, bool in_filter, wr_jsonpath_t **out)
{
    wr_jsonpath_t *p = wr_xcalloc(1, sizeof(*p));
    size_t start = ps->pos;
    int rc;

    p->definite = true;
    if (peek(ps) == '@' && in_filter) {
        p->relative = true;
        ps->pos++;
    } else if (peek(ps) != '$') {
        wr_jsonpath_free(p);
        return perr(ps, "%s", "a path starts with '$'");
    } else {
        ps->pos++;
        if (peek(ps) == '$') {
            p->root = WR_JP_ROOT_CONTEXT;
            ps->pos++;
        } else if (isalpha(peek(ps)) || peek(ps) == '_') {
            size_t vs = ps->pos;
            while (ps->pos < ps->len &&
                   (isalnum((unsigned char)ps->s[ps->pos]) || ps->s[ps->pos] == '_'))
                ps->pos++;
            p->root = WR_JP_ROOT_VAR;
            p->var = wr_xstrndup(ps->s + vs, ps->pos - vs);
        }
    }
    rc = parse_segments(ps, in_filter, p);
    if (rc != 0) {
        wr_jsonpath_free(p);
        return rc;
    }
    p->text = wr_xstrndup(ps->s + start, ps->pos - start);
    *out = p;
    return 0;
}

/* ---- filter expressions ---- */

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int parse_operand(parser_t *ps, operand_t *o)
{
    int c;
    json_error_t je;

    skip_ws(ps);
    c = peek(ps);
    memset(o, 0, sizeof(*o));
    if (c == '@' || c == '$')
        return parse_path_at(ps, true, &o->path);
    if (c == '\'' || c == '"') {
        char *s = NULL;
        int rc = parse_quoted(ps, &s);
        if (rc != 0)
            return rc;
        o->lit = json_string(s);
        free(s);
        if (o->lit == NULL)
            return perr(ps, "%s", "string literal is not valid UTF-8");
        return 0;
    }
    if (c == '-' || isdigit(c)) {
        const char *start = ps->s + ps->pos;
        char *end;
        double d = strtod(start, &end);
        char *txt = wr_xstrndup(start, (size_t)(end - start));
        (void)d;
        ps->pos += (size_t)(end - start);
        o->lit = json_loads(txt, JSON_DECODE_ANY, &je);
        free(txt);
        if (o->lit == NULL)
            return perr(ps, "%s", "bad number");
        return 0;
    }
    if (strncmp(ps->s + ps->pos, "true", 4) == 0) {
        ps->pos += 4;
        o->lit = json_true();
        return 0;
    }
    if (strncmp(ps->s + ps->pos, "false", 5) == 0) {
        ps->pos += 5;
        o->lit = json_false();
        return 0;
    }
    if (strncmp(ps->s + ps->pos, "null", 4) == 0) {
        ps->pos += 4;
        o->lit = json_null();
        return 0;
    }
    return perr(ps, "%s", "expected a path, a string, a number, true, false or null");
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int parse_primary(parser_t *ps, expr_t **out)
{
    expr_t *e;
    int rc;
    static const struct {
        const char *text;
        cmp_op_t op;
    } ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE},
               {">=", OP_GE}, {"<", OP_LT},  {">", OP_GT}};

    skip_ws(ps);
    if (++ps->depth > WR_JSONPATH_MAX_DEPTH)
        return perr(ps, "%s", "filter expression nested too deeply");
    if (peek(ps) == '!' && (ps->pos + 1 >= ps->len || ps->s[ps->pos + 1] != '=')) {
        ps->pos++;
        e = wr_xcalloc(1, sizeof(*e));
        e->kind = EX_NOT;
        rc = parse_primary(ps, &e->a);
        ps->depth--;
        if (rc != 0) {
            expr_free(e);
            return rc;
        }
        *out = e;
        return 0;
    }
    if (peek(ps) == '(') {
        ps->pos++;
        rc = parse_or(ps, out);
        ps->depth--;
        if (rc != 0)
            return rc;
        skip_ws(ps);
        if (peek(ps) != ')')
            return perr(ps, "%s", "expected ')'");
        ps->pos++;
        return 0;
    }
    ps->depth--;
    e = wr_xcalloc(1, sizeof(*e));
    if ((rc = parse_operand(ps, &e->l)) != 0) {
        expr_free(e);
        return rc;
    }
    skip_ws(ps);
    for (size_t i = 0; i < WR_ARRAY_SIZE(ops); i++) {
        size_t n = strlen(ops[i].text);
        if (strncmp(ps->s + ps->pos, ops[i].text, n) == 0) {
            ps->pos += n;
            e->kind = EX_CMP;
            e->op = ops[i].op;
            if ((rc = parse_operand(ps, &e->r)) != 0) {
                expr_free(e);
                return rc;
            }
            *out = e;
            return 0;
        }
    }
    if (e->l.path == NULL) {
        expr_free(e);
        return perr(ps, "%s", "a literal alone is not a condition");
    }
    e->kind = EX_EXISTS;
    *out = e;
    return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int parse_and(parser_t *ps, expr_t **out)
{
    expr_t *left = NULL;
    int rc = parse_primary(ps, &left);

    while (rc == 0) {
        expr_t *e;
        skip_ws(ps);
        if (strncmp(ps->s + ps->pos, "&&", 2) != 0)
            break;
        ps->pos += 2;
        e = wr_xcalloc(1, sizeof(*e));
        e->kind = EX_AND;
        e->a = left;
        left = e;
        rc = parse_primary(ps, &e->b);
    }
    if (rc != 0) {
        expr_free(left);
        return rc;
    }
    *out = left;
    return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int parse_or(parser_t *ps, expr_t **out)
{
    expr_t *left = NULL;
    int rc = parse_and(ps, &left);

    while (rc == 0) {
        expr_t *e;
        skip_ws(ps);
        if (strncmp(ps->s + ps->pos, "||", 2) != 0)
            break;
        ps->pos += 2;
        e = wr_xcalloc(1, sizeof(*e));
        e->kind = EX_OR;
        e->a = left;
        left = e;
        rc = parse_and(ps, &e->b);
    }
    if (rc != 0) {
        expr_free(left);
        return rc;
    }
    *out = left;
    return 0;
}

int wr_jsonpath_parse(const char *text, wr_jsonpath_t **out, wr_err_t *err)
{
    parser_t ps;
    wr_jsonpath_t *p = NULL;
    int rc;

    memset(&ps, 0, sizeof(ps));
    ps.s = text;
    ps.len = strlen(text);
    ps.err = err;
    if (ps.len == 0 || text[0] != '$')
        return perr(&ps, "%s", "a path starts with '$'");
    rc = parse_path_at(&ps, false, &p);
    if (rc != 0)
        return rc;
    if (ps.pos != ps.len) {
        wr_jsonpath_free(p);
        return perr(&ps, "unexpected '%c'", ps.s[ps.pos]);
    }
    *out = p;
    return 0;
}

wr_jp_root_t wr_jsonpath_root(const wr_jsonpath_t *p)
{
    return p->root;
}

const char *wr_jsonpath_var(const wr_jsonpath_t *p)
{
    return p->var;
}

const char *wr_jsonpath_text(const wr_jsonpath_t *p)
{
    return p->text;
}

bool wr_jsonpath_is_definite(const wr_jsonpath_t *p)
{
    return p->definite;
}

bool wr_jsonpath_is_root(const wr_jsonpath_t *p)
{
    return p->n_segs == 0;
}

/* ==== Evaluation ==== */

typedef struct {
    json_t **v; /* borrowed */
    size_t n, cap;
} nodes_t;

static void nodes_add(nodes_t *ns, json_t *v)
{
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 8;
        ns->v = wr_xrealloc(ns->v, ns->cap * sizeof(json_t *));
    }
    ns->v[ns->n++] = v;
}

/* Recursion follows the documents' nesting, bounded by WR_JSON_MAX_NESTING (deeper
 * values compare unequal). */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static bool json_equal_at(const json_t *a, const json_t *b, int depth)
{
    if (depth > WR_JSON_MAX_NESTING)
        return false;
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_equal_at(json_array_get(a, i), json_array_get(b, i), depth + 1))
                return false;
        return true;
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (w == NULL || !json_equal_at(v, w, depth + 1))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b) != 0;
}

bool wr_json_equal(const json_t *a, const json_t *b)
{
    return json_equal_at(a, b, 0);
}

static bool index_of(long long idx, size_t size, size_t *out)
{
    if (idx < 0)
        idx += (long long)size;
    if (idx < 0 || (size_t)idx >= size)
        return false;
    *out = (size_t)idx;
    return true;
}

static int apply_seg(const seg_t *seg, json_t *root, json_t *node, nodes_t *out, int depth);
static int eval_nodes(const wr_jsonpath_t *p, json_t *root, json_t *doc, nodes_t *ns, int depth);

/* Evaluates a filter operand for candidate `node`. Returns a borrowed or owned value in
 * *v (owned set to true when it must be released), or NULL when it is undefined. */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static json_t *operand_value(const operand_t *o, json_t *root, json_t *node, bool *owned, int depth)
{
    nodes_t ns = {0};
    json_t *v = NULL;

    *owned = false;
    if (o->lit != NULL)
        return o->lit;
    if (eval_nodes(o->path, root, o->path->relative ? node : root, &ns, depth) != 0) {
        free(ns.v);
        return NULL;
    }
    if (o->path->definite) {
        v = ns.n > 0 ? ns.v[0] : NULL;
    } else {
        v = json_array();
        for (size_t i = 0; i < ns.n; i++)
            json_array_append(v, ns.v[i]);
        *owned = true;
    }
    free(ns.v);
    return v;
}

static bool compare(cmp_op_t op, const json_t *l, const json_t *r)
{
    if (l == NULL || r == NULL)
        return false;
    if (op == OP_EQ)
        return wr_json_equal(l, r);
    if (op == OP_NE)
        return !wr_json_equal(l, r);
    if (json_is_number(l) && json_is_number(r)) {
        double a = json_number_value(l), b = json_number_value(r);
        switch (op) {
        case OP_LT:
            return a < b;
        case OP_LE:
            return a <= b;
        case OP_GT:
            return a > b;
        default:
            return a >= b;
        }
    }
    if (json_is_string(l) && json_is_string(r)) {
        int c = strcmp(json_string_value(l), json_string_value(r));
        switch (op) {
        case OP_LT:
            return c < 0;
        case OP_LE:
            return c <= 0;
        case OP_GT:
            return c > 0;
        default:
            return c >= 0;
        }
    }
    return false;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static bool expr_eval(const expr_t *e, json_t *root, json_t *node, int depth)
{
    bool lo, ro, res;
    json_t *l, *r;

    if (depth > WR_JSONPATH_MAX_DEPTH)
        return false;
    switch (e->kind) {
    case EX_OR:
        return expr_eval(e->a, root, node, depth + 1) || expr_eval(e->b, root, node, depth + 1);
    case EX_AND:
        return expr_eval(e->a, root, node, depth + 1) && expr_eval(e->b, root, node, depth + 1);
    case EX_NOT:
        return !expr_eval(e->a, root, node, depth + 1);
    case EX_EXISTS:
        l = operand_value(&e->l, root, node, &lo, depth + 1);
        res = l != NULL && (!lo || json_array_size(l) > 0);
        if (lo)
            json_decref(l);
        return res;
    case EX_CMP:
        l = operand_value(&e->l, root, node, &lo, depth + 1);
        r = operand_value(&e->r, root, node, &ro, depth + 1);
        res = compare(e->op, l, r);
        if (lo)
            json_decref(l);
        if (ro)
            json_decref(r);
        return res;
    }
    return false;
}

static void apply_slice(const seg_t *seg, json_t *node, nodes_t *out)
{
    long long n = (long long)json_array_size(node);
    long long step = seg->step, start, end;

    if (step > 0) {
        start = seg->has_start ? seg->start : 0;
        end = seg->has_end ? seg->end : n;
        if (start < 0)
            start = start + n < 0 ? 0 : start + n;
        if (end < 0)
            end = end + n < 0 ? 0 : end + n;
        if (start > n)
            start = n;
        if (end > n)
            end = n;
        for (long long i = start; i < end; i += step)
            nodes_add(out, json_array_get(node, (size_t)i));
    } else {
        start = seg->has_start ? seg->start : n - 1;
        end = seg->has_end ? seg->end : -n - 1;
        if (start < 0)
            start += n;
        if (end < -1)
            end = end + n < -1 ? -1 : end + n;
        if (start >= n)
            start = n - 1;
        for (long long i = start; i > end && i >= 0; i += step)
            nodes_add(out, json_array_get(node, (size_t)i));
    }
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void descend(const seg_t *sub, json_t *root, json_t *node, nodes_t *out, int depth)
{
    const char *k;
    json_t *v;
    size_t i;

    if (depth > WR_JSONPATH_MAX_DEPTH)
        return;
    (void)apply_seg(sub, root, node, out, depth + 1);
    if (json_is_object(node)) {
        json_object_foreach(node, k, v) descend(sub, root, v, out, depth + 1);
    } else if (json_is_array(node)) {
        json_array_foreach(node, i, v) descend(sub, root, v, out, depth + 1);
    }
}

/* Maps one node through one segment. Returns 0, or WR_ENOTFOUND when a definite selector
 * finds nothing (the caller decides whether that matters). */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int apply_seg(const seg_t *seg, json_t *root, json_t *node, nodes_t *out, int depth)
{
    size_t i, at;
    const char *k;
    json_t *v;

    switch (seg->kind) {
    case SEG_FIELD:
        v = json_is_object(node) ? json_object_get(node, seg->name) : NULL;
        if (v == NULL)
            return WR_ENOTFOUND;
        nodes_add(out, v);
        return 0;
    case SEG_INDEX:
        if (!json_is_array(node) || !index_of(seg->idx, json_array_size(node), &at))
            return WR_ENOTFOUND;
        nodes_add(out, json_array_get(node, at));
        return 0;
    case SEG_WILD:
        if (json_is_object(node)) {
            json_object_foreach(node, k, v) nodes_add(out, v);
        } else if (json_is_array(node)) {
            json_array_foreach(node, i, v) nodes_add(out, v);
        }
        return 0;
    case SEG_SLICE:
        if (json_is_array(node))
            apply_slice(seg, node, out);
        return 0;
    case SEG_UNION:
        for (i = 0; i < seg->n_items; i++)
            (void)apply_seg(&seg->items[i], root, node, out, depth);
        return 0;
    case SEG_DESCENT:
        descend(seg->sub, root, node, out, depth);
        return 0;
    case SEG_FILTER:
        if (json_is_array(node)) {
            json_array_foreach(node, i, v) if (expr_eval(seg->expr, root, v, depth + 1))
                nodes_add(out, v);
        } else if (json_is_object(node)) {
            json_object_foreach(node, k, v) if (expr_eval(seg->expr, root, v, depth + 1))
                nodes_add(out, v);
        }
        return 0;
    }
    return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static int eval_nodes(const wr_jsonpath_t *p, json_t *root, json_t *doc, nodes_t *ns, int depth)
{
    nodes_t cur = {0}, next = {0};

    if (doc == NULL)
        return WR_ENOTFOUND;
    nodes_add(&cur, doc);
    for (size_t s = 0; s < p->n_segs; s++) {
        next.n = 0;
        for (size_t i = 0; i < cur.n; i++) {
            int rc = apply_seg(&p->segs[s], root, cur.v[i], &next, depth);
            if (rc != 0 && p->definite) {
                free(cur.v);
                free(next.v);
                return rc;
            }
        }
        nodes_t t = cur;
        cur = next;
        next = t;
    }
    free(next.v);
    *ns = cur;
    return 0;
}

int wr_jsonpath_eval(const wr_jsonpath_t *p, json_t *doc, json_t **out, wr_err_t *err)
{
    nodes_t ns = {0};
    int rc = eval_nodes(p, doc, doc, &ns, 0);

    if (rc != 0 || (p->definite && ns.n == 0)) {
        free(ns.v);
        return wr_err_set(err, WR_ENOTFOUND, "Invalid path '%s': no results", p->text);
    }
    if (p->definite) {
        *out = json_incref(ns.v[0]);
    } else {
        *out = json_array();
        for (size_t i = 0; i < ns.n; i++)
            json_array_append(*out, ns.v[i]);
    }
    free(ns.v);
    return 0;
}

int wr_jsonpath_set(const wr_jsonpath_t *p, json_t **doc, json_t *value, wr_err_t *err)
{
    json_t *cur;

    if (!p->definite || p->root != WR_JP_ROOT_INPUT) {
        json_decref(value);
        return wr_err_set(err, WR_EINVALID, "'%s' is not a reference path", p->text);
    }
    if (p->n_segs == 0) {
        json_decref(*doc);
        *doc = value;
        return 0;
    }
    if (!json_is_object(*doc) && !json_is_array(*doc)) {
        json_decref(value);
        return wr_err_set(err, WR_EINVALID, "cannot set '%s': the input is not an object", p->text);
    }
    cur = *doc;
    for (size_t s = 0; s < p->n_segs; s++) {
        const seg_t *seg = &p->segs[s];
        bool last = s + 1 == p->n_segs;
        json_t *child;
        size_t at;
        if (seg->kind == SEG_FIELD) {
            if (!json_is_object(cur))
                goto bad;
            if (last) {
                json_object_set_new(cur, seg->name, value);
                return 0;
            }
            child = json_object_get(cur, seg->name);
            if (child == NULL || (!json_is_object(child) && !json_is_array(child))) {
                if (child != NULL)
                    goto bad;
                child = json_object();
                if (json_object_set_new(cur, seg->name, child) != 0)
                    goto bad; /* a key jansson refuses (not UTF-8): child is gone */
            }
        } else {
            if (!json_is_array(cur) || !index_of(seg->idx, json_array_size(cur), &at))
                goto bad;
            if (last) {
                json_array_set_new(cur, at, value);
                return 0;
            }
            child = json_array_get(cur, at);
            if (!json_is_object(child) && !json_is_array(child))
                goto bad;
        }
        cur = child;
    }
    json_decref(value);
    return 0;
bad:
    json_decref(value);
    return wr_err_set(err, WR_EINVALID,
                      "Unable to apply ResultPath '%s': a value on the way is not an object",
                      p->text);
}

/* ==== Serialising ==== */

void wr_json_real_text(double d, wr_buf_t *b)
{
    char tmp[40];

    if (isnan(d) || isinf(d)) {
        wr_buf_puts(b, "null");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    wr_buf_puts(b, tmp);
    if (strpbrk(tmp, ".e") == NULL)
        wr_buf_puts(b, ".0");
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped, see the file header. */
static void dump_value(const json_t *v, wr_buf_t *b, int depth)
{
    size_t i;
    const char *k;
    json_t *x;
    bool first = true;

    if (depth > WR_JSON_MAX_NESTING) {
        wr_buf_puts(b, "null");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        wr_buf_puts(b, "{");
        json_object_foreach((json_t *)v, k, x)
        {
            json_t *ks = json_string(k);
            char *kt = json_dumps(ks, JSON_ENCODE_ANY);
            if (!first)
                wr_buf_puts(b, ",");
            first = false;
            wr_buf_puts(b, kt ? kt : "\"\"");
            wr_buf_puts(b, ":");
            free(kt);
            json_decref(ks);
            dump_value(x, b, depth + 1);
        }
        wr_buf_puts(b, "}");
        return;
    case JSON_ARRAY:
        wr_buf_puts(b, "[");
        json_array_foreach((json_t *)v, i, x)
        {
            if (i > 0)
                wr_buf_puts(b, ",");
            dump_value(x, b, depth + 1);
        }
        wr_buf_puts(b, "]");
        return;
    case JSON_REAL:
        wr_json_real_text(json_real_value(v), b);
        return;
    default: {
        char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        wr_buf_puts(b, t ? t : "null");
        free(t);
        return;
    }
    }
}

char *wr_json_dumps(const json_t *v)
{
    wr_buf_t b;
    char *s;

    wr_buf_init(&b);
    if (v == NULL)
        wr_buf_puts(&b, "null");
    else
        dump_value(v, &b, 0);
    s = wr_buf_steal(buf_term(&b));
    return s ? s : wr_xstrdup("null");
}
