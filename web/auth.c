/* SPDX-License-Identifier: MIT
 * web/auth.c: bearer tokens. A token is 256 random bits shown once by `weir token create`;
 * the database keeps only its SHA-256, so a copy of weir.db gives no way into the API.
 * Roles are ordered: viewer (read) < operator (trigger, cancel, retry, pause) < admin. */
#include "web/web_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <uv.h>

#include "engine/query.h"

int wr__web_token_hash(const char *token, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return WR_ESTORE;
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

int wr__web_token_new(char out[64], wr_err_t *err)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[33]; /* 256 bits used; one spare byte pads the last 6-bit group */
    size_t o = 0;
    int rc;

    memset(r, 0, sizeof(r));
    if ((rc = uv_random(NULL, NULL, r, 32, 0, NULL)) != 0)
        return wr_err_set(err, rc, "random: %s", uv_strerror(rc));
    o = (size_t)snprintf(out, 64, "weir_");
    for (size_t i = 0; i < 32; i += 3) {
        unsigned v = (unsigned)r[i] << 16 | (unsigned)r[i + 1] << 8 | r[i + 2];
        for (int k = 0; k < 4 && o < 5 + 43; k++)
            out[o++] = b64[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    return 0;
}

static const char *const role_names[] = {"none", "viewer", "operator", "admin"};

wr_web_role_t wr__web_role_parse(const char *name)
{
    for (int i = WR_ROLE_VIEWER; i <= WR_ROLE_ADMIN; i++)
        if (name != NULL && strcmp(name, role_names[i]) == 0)
            return (wr_web_role_t)i;
    return WR_ROLE_NONE;
}

const char *wr__web_role_name(wr_web_role_t role)
{
    return role <= WR_ROLE_ADMIN ? role_names[role] : "none";
}

bool wr__web_authorize(wr_web_req_t *req, wr_web_role_t need)
{
    const char *h = wr__web_header(req, "Authorization");
    char hash[65];
    json_t *tok = NULL;
    wr_store_t *store;
    wr_web_role_t have;
    wr_err_t err;
    bool ok = false;

    memset(&err, 0, sizeof(err));
    snprintf(req->actor, sizeof(req->actor), "anonymous");
    if (!req->web->auth_required || need == WR_ROLE_NONE)
        return true;
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
        req->www_authenticate = true;
        wr__web_error(req, 401, "unauthorized",
                      "this server requires a bearer token "
                      "(Authorization: Bearer TOKEN)");
        return false;
    }
    if (wr__web_token_hash(h + 7, hash) != 0) {
        wr__web_error(req, 500, "internal", "cannot hash the token");
        return false;
    }
    if ((store = wr__web_store(req, &err)) == NULL) {
        wr__web_fail(req, &err);
        return false;
    }
    if (wr_query_token_find(store, hash, &tok, &err) != 0) {
        if (err.code == WR_ENOTFOUND) {
            req->www_authenticate = true;
            wr__web_error(req, 401, "unauthorized", "unknown or revoked token");
        } else {
            wr__web_fail(req, &err);
        }
        return false;
    }
    have = wr__web_role_parse(json_string_value(json_object_get(tok, "role")));
    if (have < need) {
        wr__web_error(req, 403, "forbidden", "this needs the %s role; the token has %s",
                      wr__web_role_name(need), wr__web_role_name(have));
        goto done;
    }
    {
        const char *name = json_string_value(json_object_get(tok, "name"));
        if (name != NULL)
            snprintf(req->actor, sizeof(req->actor), "token:%s", name);
        else
            snprintf(req->actor, sizeof(req->actor), "token:%lld",
                     (long long)json_integer_value(json_object_get(tok, "id")));
    }
    ok = true;
done:
    json_decref(tok);
    return ok;
}
