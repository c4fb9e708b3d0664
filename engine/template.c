/* SPDX-License-Identifier: MIT
 * engine/template.c: scanning, validating and rendering `{{ ... }}` templates. */
#include "engine/template.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ident_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

int wr_template_parse_expr(const char *text, size_t len, wr_tpl_expr_t *out, wr_err_t *err)
{
    const char *p = text, *end = text + len;
    size_t used = 0;

    memset(out, 0, sizeof(*out));
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    if (p == end)
        return wr_err_set(err, WR_ETEMPLATE, "empty template '{{ }}'");
    while (p < end) {
        const char *start;
        bool index = false;
        size_t n;

        if (out->n > 0) {
            if (*p == '.') {
                p++;
            } else if (*p == '[') {
                index = true;
                p++;
            } else {
                goto bad;
            }
        }
        start = p;
        if (index) {
            while (p < end && isdigit((unsigned char)*p))
                p++;
            if (p == start || p >= end || *p != ']')
                goto bad;
        } else {
            if (p >= end || !(isalpha((unsigned char)*p) || *p == '_'))
                goto bad; /* also a trailing '.': text[len] is not ours to read */
            while (p < end && ident_char((unsigned char)*p))
                p++;
        }
        n = (size_t)(p - start);
        if (out->n >= WR_TEMPLATE_MAX_PARTS || used + n + 1 > sizeof(out->storage))
            return wr_err_set(err, WR_ETEMPLATE, "template '%.*s' is too long", (int)len, text);
        memcpy(out->storage + used, start, n);
        out->storage[used + n] = '\0';
        out->parts[out->n] = out->storage + used;
        out->is_index[out->n] = index;
        out->n++;
        used += n + 1;
        if (index)
            p++; /* ']' */
    }
    return 0;
bad:
    return wr_err_set(err, WR_ETEMPLATE,
                      "bad template '{{%.*s}}': expected a dotted name such as "
                      "'tasks.extract.output.rows'",
                      (int)len, text);
}

int wr_template_scan(const char *s, wr_tpl_visit_cb visit, void *ctx, wr_err_t *err)
{
    const char *p = s;

    while ((p = strstr(p, "{{")) != NULL) {
        const char *close = strstr(p + 2, "}}");
        wr_tpl_expr_t expr;
        int rc;

        if (close == NULL)
            return wr_err_set(err, WR_ETEMPLATE, "unclosed '{{' in \"%.40s\"", p);
        if ((rc = wr_template_parse_expr(p + 2, (size_t)(close - p - 2), &expr, err)) != 0)
            return rc;
        if (visit != NULL && (rc = visit(ctx, &expr, err)) != 0)
            return rc;
        p = close + 2;
    }
    return 0;
}

void wr_template_append_value(wr_buf_t *b, const json_t *v)
{
    char *s;

    if (json_is_string(v)) {
        wr_buf_append(b, json_string_value(v), json_string_length(v));
        return;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s != NULL) {
        wr_buf_puts(b, s);
        free(s);
    }
}

json_t *wr_template_follow(json_t *v, const wr_tpl_expr_t *expr, size_t from)
{
    for (size_t i = from; i < expr->n && v != NULL; i++) {
        if (expr->is_index[i]) {
            if (!json_is_array(v))
                return NULL;
            v = json_array_get(v, strtoul(expr->parts[i], NULL, 10));
        } else {
            if (!json_is_object(v))
                return NULL;
            v = json_object_get(v, expr->parts[i]);
        }
    }
    return v;
}

int wr_template_render(const char *s, wr_tpl_resolve_cb resolve, void *ctx, char **out,
                       wr_err_t *err)
{
    wr_buf_t b;
    const char *p = s;
    int rc = 0;

    wr_buf_init(&b);
    for (;;) {
        const char *open = strstr(p, "{{"), *close;
        wr_tpl_expr_t expr;
        json_t *v;

        if (open == NULL) {
            wr_buf_puts(&b, p);
            break;
        }
        wr_buf_append(&b, p, (size_t)(open - p));
        close = strstr(open + 2, "}}");
        if (close == NULL) {
            rc = wr_err_set(err, WR_ETEMPLATE, "unclosed '{{' in \"%.40s\"", open);
            goto done;
        }
        if ((rc = wr_template_parse_expr(open + 2, (size_t)(close - open - 2), &expr, err)))
            goto done;
        v = resolve(ctx, &expr, err);
        if (v == NULL) {
            rc = WR_ETEMPLATE;
            goto done;
        }
        wr_template_append_value(&b, v);
        p = close + 2;
    }
    *out = wr_buf_steal(&b);
done:
    wr_buf_dispose(&b);
    return rc;
}

int wr_template_render_json(const json_t *v, wr_tpl_resolve_cb resolve, void *ctx, json_t **out,
                            wr_err_t *err)
{
    json_t *copy = NULL;
    int rc = 0;

    if (json_is_string(v)) {
        char *s = NULL;
        if ((rc = wr_template_render(json_string_value(v), resolve, ctx, &s, err)) != 0)
            return rc;
        *out = json_string(s);
        free(s);
        if (*out == NULL) /* not UTF-8 after substitution */
            *out = json_stringn_nocheck("", 0);
        return 0;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *item;
        copy = json_object();
        json_object_foreach((json_t *)v, key, item)
        {
            json_t *r = NULL;
            if ((rc = wr_template_render_json(item, resolve, ctx, &r, err)) != 0)
                goto done;
            json_object_set_new(copy, key, r);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        copy = json_array();
        json_array_foreach(v, i, item)
        {
            json_t *r = NULL;
            if ((rc = wr_template_render_json(item, resolve, ctx, &r, err)) != 0)
                goto done;
            json_array_append_new(copy, r);
        }
    } else {
        copy = json_deep_copy(v);
    }
    *out = copy;
    copy = NULL;
done:
    json_decref(copy);
    return rc;
}
