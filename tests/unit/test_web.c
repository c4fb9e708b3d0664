/* SPDX-License-Identifier: MIT
 * tests/unit/test_web.c: the pure helpers of the web front end (route patterns, body limits,
 * numbers, listen addresses, run-list cursors, token hashing) and the route table against
 * web/openapi.json (every route documented, every documented operation routed). */
#include "web/web_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/query.h"
#include "tests/unit/harness.h"

static void route_match(void)
{
    wr_web_params_t p = {0};

    ASSERT(wr__web_path_match("/api/v1/workflows", "/api/v1/workflows", &p));
    ASSERT_EQ(p.n, 0);
    ASSERT(wr__web_path_match("/api/v1/runs/{id}/tasks/{task}/logs",
                              "/api/v1/runs/r-1/tasks/"
                              "load/logs",
                              &p));
    ASSERT_EQ(p.n, 2);
    ASSERT_STR_EQ(p.value[0], "r-1");
    ASSERT_STR_EQ(p.value[1], "load");
    ASSERT(!wr__web_path_match("/api/v1/runs/{id}", "/api/v1/runs/", &p)); /* empty segment */
    ASSERT_EQ(p.n, 0);
    ASSERT(!wr__web_path_match("/api/v1/runs/{id}", "/api/v1/runs/a/b", &p));
    ASSERT(!wr__web_path_match("/api/v1/runs/{id}", "/api/v1/run", &p));
    ASSERT(!wr__web_path_match("/api/v1/workflows", "/api/v1/workflows/", &p));
    ASSERT(!wr__web_path_match("/metrics", "/metricsx", &p));
    ASSERT(wr__web_path_match("/api/v1/workflows/{name}/runs", "/api/v1/workflows/daily/runs", &p));
    ASSERT_STR_EQ(p.value[0], "daily");
    wr__web_params_dispose(&p);
}

static void body_limit(void)
{
    wr_web_body_t b;
    char chunk[400];

    memset(chunk, 'x', sizeof(chunk));
    wr__web_body_init(&b, 1000);
    ASSERT(wr__web_body_append(&b, chunk, 400));
    ASSERT(wr__web_body_append(&b, chunk, 400));
    ASSERT(wr__web_body_append(&b, chunk, 200)); /* exactly the limit is fine */
    ASSERT_EQ(b.buf.len, 1000);
    ASSERT(!b.too_large);
    ASSERT(!wr__web_body_append(&b, chunk, 1)); /* one byte more is not */
    ASSERT(b.too_large);
    ASSERT_EQ(b.buf.len, 0); /* nothing kept */
    ASSERT(!wr__web_body_append(&b, chunk, 10));
    ASSERT_EQ(b.seen, 1011);
    wr__web_body_dispose(&b);
}

static void parse_numbers(void)
{
    int64_t v = 0;

    ASSERT(wr__web_parse_int("42", 0, 100, &v));
    ASSERT_EQ(v, 42);
    ASSERT(!wr__web_parse_int("101", 0, 100, &v));
    ASSERT(!wr__web_parse_int("-1", 0, 100, &v));
    ASSERT(!wr__web_parse_int("4x", 0, 100, &v));
    ASSERT(!wr__web_parse_int("", 0, 100, &v));
    ASSERT(!wr__web_parse_int(" 4", 0, 100, &v));
    ASSERT(!wr__web_parse_int("99999999999999999999999", 0, INT64_MAX, &v));
}

static void listen_address(void)
{
    char host[64];
    int port = 0;

    ASSERT(wr__web_split_listen("127.0.0.1:8080", host, sizeof(host), &port));
    ASSERT_STR_EQ(host, "127.0.0.1");
    ASSERT_EQ(port, 8080);
    ASSERT(wr__web_split_listen("[::1]:9", host, sizeof(host), &port));
    ASSERT_STR_EQ(host, "::1");
    ASSERT_EQ(port, 9);
    ASSERT(!wr__web_split_listen("::1:80", host, sizeof(host), &port));
    ASSERT(!wr__web_split_listen("localhost", host, sizeof(host), &port));
    ASSERT(!wr__web_split_listen(":80", host, sizeof(host), &port));
    ASSERT(!wr__web_split_listen("h:99999", host, sizeof(host), &port));
    ASSERT(wr__web_host_is_loopback("127.0.0.1"));
    ASSERT(wr__web_host_is_loopback("127.1.2.3"));
    ASSERT(wr__web_host_is_loopback("::1"));
    ASSERT(wr__web_host_is_loopback("localhost"));
    ASSERT(!wr__web_host_is_loopback("0.0.0.0"));
    ASSERT(!wr__web_host_is_loopback("127.example.com"));
    ASSERT(!wr__web_host_is_loopback("10.0.0.1"));
}

static void cursor_roundtrip(void)
{
    char *c = wr_query_cursor_encode(1767225600123, "run-1:x");
    int64_t at = 0;
    char *id = NULL;

    for (const char *p = c; *p; p++)
        ASSERT(isxdigit((unsigned char)*p)); /* URL-safe */
    ASSERT_OK(wr_query_cursor_decode(c, &at, &id, NULL));
    ASSERT_EQ(at, 1767225600123);
    ASSERT_STR_EQ(id, "run-1:x"); /* the first ':' separates: ids may hold ':' */
    free(id);
    free(c);
    id = NULL;
    ASSERT_EQ(wr_query_cursor_decode("zz", &at, &id, NULL), WR_EPARSE);
    ASSERT_EQ(wr_query_cursor_decode("414", &at, &id, NULL), WR_EPARSE);  /* odd length */
    ASSERT_EQ(wr_query_cursor_decode("41", &at, &id, NULL), WR_EPARSE);   /* "A": no ':' */
    ASSERT_EQ(wr_query_cursor_decode("3a41", &at, &id, NULL), WR_EPARSE); /* ":A": no time */
    ASSERT_EQ(wr_query_cursor_decode("", &at, &id, NULL), WR_EPARSE);
    ASSERT(id == NULL);
}

static void token_hash_and_new(void)
{
    char hash[65], t1[64], t2[64];

    ASSERT_OK(wr__web_token_hash("abc", hash));
    ASSERT_STR_EQ(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ASSERT_OK(wr__web_token_new(t1, NULL));
    ASSERT_OK(wr__web_token_new(t2, NULL));
    ASSERT_EQ(strlen(t1), 48);
    ASSERT(strncmp(t1, "weir_", 5) == 0);
    ASSERT(strcmp(t1, t2) != 0);
    ASSERT_EQ(wr__web_role_parse("operator"), WR_ROLE_OPERATOR);
    ASSERT_EQ(wr__web_role_parse("root"), WR_ROLE_NONE);
    ASSERT(WR_ROLE_VIEWER < WR_ROLE_OPERATOR && WR_ROLE_OPERATOR < WR_ROLE_ADMIN);
}

/* Every route is in openapi.json, and every operation there is a route. */
static void openapi_matches_routes(void)
{
    json_error_t je;
    json_t *doc = json_loadb(wr__web_openapi_json, wr__web_openapi_json_len, 0, &je);
    json_t *paths = json_object_get(doc, "paths"), *ops;
    const char *path, *method;
    json_t *op;
    size_t documented = 0, routes = 0;

    ASSERT(doc != NULL);
    ASSERT(strncmp(json_string_value(json_object_get(doc, "openapi")), "3.", 2) == 0);
    for (const wr_web_route_t *r = wr__web_routes; r->method != NULL; r++) {
        char lower[8];
        size_t i;
        for (i = 0; r->method[i] && i + 1 < sizeof(lower); i++)
            lower[i] = (char)tolower((unsigned char)r->method[i]);
        lower[i] = '\0';
        if (json_object_get(json_object_get(paths, r->pattern), lower) == NULL)
            ASSERT_FAIL_("route %s %s is not in web/openapi.json", r->method, r->pattern);
        routes++;
    }
    json_object_foreach(paths, path, ops)
    {
        json_object_foreach(ops, method, op)
        {
            bool found = false;
            if (strcmp(method, "parameters") == 0)
                continue;
            for (const wr_web_route_t *r = wr__web_routes; r->method != NULL && !found; r++)
                found = strcmp(r->pattern, path) == 0 && strcasecmp(r->method, method) == 0;
            if (!found)
                ASSERT_FAIL_("web/openapi.json documents %s %s, which is not routed", method, path);
            documented++;
        }
    }
    ASSERT_EQ(documented, routes);
    json_decref(doc);
}

static const wr_test_t tests[] = {
    {"route_match", route_match},
    {"body_limit", body_limit},
    {"parse_numbers", parse_numbers},
    {"listen_address", listen_address},
    {"cursor_roundtrip", cursor_roundtrip},
    {"token_hash_and_new", token_hash_and_new},
    {"openapi_matches_routes", openapi_matches_routes},
    {NULL, NULL},
};

WR_TEST_MAIN(tests)
