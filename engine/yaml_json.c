/* SPDX-License-Identifier: MIT
 * engine/yaml_json.c: YAML to JSON with libyaml's document API. */
#include "engine/yaml_json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define MAX_DEPTH 64
/* Aliases let a few bytes name a huge tree ("billion laughs", or `&a [*a, *a]`, which refers
 * to itself): beyond the document's own nodes, at most this many values come from aliases. */
#define MAX_ALIAS_VALUES 100000

static bool is_null(const char *s)
{
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

json_t *wr_yaml_scalar_json(const char *s, size_t len, bool plain)
{
    char *end;

    if (!plain || strlen(s) != len)
        return json_stringn_nocheck(s, len);
    if (is_null(s))
        return json_null();
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return json_false();
    if (len > 0 && !isspace((unsigned char)s[0])) {
        long long i;
        double d;
        errno = 0;
        i = strtoll(s, &end, 10);
        if (errno == 0 && *end == '\0')
            return json_integer((json_int_t)i);
        if (strpbrk(s, "0123456789") != NULL && strpbrk(s, "xXnN") == NULL) {
            errno = 0;
            d = strtod(s, &end);
            if (errno == 0 && *end == '\0' && isfinite(d))
                return json_real(d);
        }
    }
    return json_stringn_nocheck(s, len);
}

typedef struct {
    const char *path;
    yaml_document_t *doc;
    wr_err_t *err;
    int rc;
    size_t budget; /* values that may still be made */
} conv_t;

static int fail_at(conv_t *c, const yaml_node_t *n, const char *msg, const char *arg)
{
    if (c->rc == 0)
        c->rc = wr_err_set_at(c->err, WR_EPARSE, (int)n->start_mark.line + 1,
                              (int)n->start_mark.column + 1, "%s:%d:%d: %s%s", c->path,
                              (int)n->start_mark.line + 1, (int)n->start_mark.column + 1, msg, arg);
    return c->rc;
}

/* Recursion is capped at MAX_DEPTH levels of nesting. */
static json_t *convert(conv_t *c, yaml_node_t *n, int depth) /* NOLINT(misc-no-recursion) */
{
    if (depth > MAX_DEPTH) {
        fail_at(c, n, "nesting deeper than 64 levels", "");
        return json_null();
    }
    if (c->budget == 0) {
        fail_at(c, n, "too many values after expanding aliases", "");
        return json_null();
    }
    c->budget--;
    if (n->type == YAML_SCALAR_NODE)
        return wr_yaml_scalar_json((const char *)n->data.scalar.value, n->data.scalar.length,
                                   n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *a = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++)
            json_array_append_new(a, convert(c, yaml_document_get_node(c->doc, *it), depth + 1));
        return a;
    }
    if (n->type == YAML_MAPPING_NODE) {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            const char *key;
            if (k->type != YAML_SCALAR_NODE) {
                fail_at(c, k, "mapping keys must be strings", "");
                continue;
            }
            key = (const char *)k->data.scalar.value;
            if (json_object_get(o, key) != NULL) {
                fail_at(c, k, "duplicate key ", key);
                continue;
            }
            json_object_set_new(o, key,
                                convert(c, yaml_document_get_node(c->doc, p->value), depth + 1));
        }
        return o;
    }
    return json_null();
}

int wr_yaml_to_json(const char *path, const char *text, size_t len, json_t **out, wr_err_t *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    conv_t c = {path, &doc, err, 0, 0};
    yaml_node_t *root;
    json_t *v;

    if (!yaml_parser_initialize(&parser))
        return wr_err_set(err, WR_EPARSE, "%s: cannot initialise the YAML parser", path);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int line = (int)parser.problem_mark.line + 1, col = (int)parser.problem_mark.column + 1;
        int rc = wr_err_set_at(err, WR_EPARSE, line, col, "%s:%d:%d: YAML syntax error: %s", path,
                               line, col, parser.problem ? parser.problem : "malformed");
        yaml_parser_delete(&parser);
        return rc;
    }
    root = yaml_document_get_root_node(&doc);
    c.budget = (size_t)(doc.nodes.top - doc.nodes.start) + MAX_ALIAS_VALUES;
    v = root ? convert(&c, root, 0) : json_null();
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (c.rc != 0) {
        json_decref(v);
        return c.rc;
    }
    *out = v;
    return 0;
}
