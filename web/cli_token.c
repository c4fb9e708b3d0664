/* SPDX-License-Identifier: MIT
 * web/cli_token.c: `weir token create|list|revoke`, the API tokens of `auth: required`.
 * Runs as its own process with its own writable store (WAL lets it write beside a running
 * `weir serve`); the token is printed once and only its SHA-256 is stored. */
#include "web/web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/config.h"
#include "engine/query.h"
#include "engine/store.h"
#include "web/web_int.h"

static const char token_usage[] =
    "usage: weir token create --role ROLE [--name NAME] [--db F] [--config F]\n"
    "       weir token list [--json] [--db F] [--config F]\n"
    "       weir token revoke ID [--db F] [--config F]\n"
    "\n"
    "API tokens for `weir serve` with `auth: required` in weir.yaml. Send one as\n"
    "`Authorization: Bearer TOKEN` (or `weir trigger --token`, or $WEIR_TOKEN).\n"
    "\n"
    "  create         make a token and print it (once: only its hash is stored)\n"
    "  --role ROLE    viewer (read), operator (also trigger, cancel, retry, pause) or admin\n"
    "  --name NAME    a label, shown in `list` and recorded as who made each change\n"
    "  list           the tokens (never their secrets)\n"
    "  revoke ID      stop accepting token ID at once\n"
    "  --db F         database file (default: db from the configuration, else ./weir.db)\n"
    "  --config F     configuration file (default: ./weir.yaml when it exists)\n";

WR_PRINTF(1, 2) static int usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "weir token: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'weir token --help'.\n");
    return 2;
}

int wr_web_cli_token(int argc, char **argv)
{
    const char *sub = NULL, *role = NULL, *name = NULL, *db = NULL, *config = NULL;
    const char *id_text = NULL;
    wr_config_t cfg;
    wr_store_t *store = NULL;
    json_t *list = NULL;
    bool as_json = false;
    wr_err_t err;
    int status = 1;

    memset(&cfg, 0, sizeof(cfg));
    memset(&err, 0, sizeof(err));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(token_usage, stdout);
            return 0;
        } else if (strcmp(a, "--role") == 0 && has_val) {
            role = argv[++i];
        } else if (strcmp(a, "--name") == 0 && has_val) {
            name = argv[++i];
        } else if (strcmp(a, "--db") == 0 && has_val) {
            db = argv[++i];
        } else if (strcmp(a, "--config") == 0 && has_val) {
            config = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            as_json = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage("unknown or incomplete option '%s'", a);
        } else if (sub == NULL) {
            sub = a;
        } else if (id_text == NULL && strcmp(sub, "revoke") == 0) {
            id_text = a;
        } else {
            return usage("unexpected argument '%s'", a);
        }
    }
    if (sub == NULL)
        return usage("%s", "a subcommand is required: create, list or revoke");
    if (strcmp(sub, "create") == 0) {
        if (role == NULL)
            return usage("%s", "create needs --role viewer|operator|admin");
        if (wr__web_role_parse(role) == WR_ROLE_NONE)
            return usage("unknown role '%s' (viewer, operator, admin)", role);
    } else if (strcmp(sub, "revoke") == 0) {
        int64_t id;
        if (id_text == NULL || !wr__web_parse_int(id_text, 1, INT64_MAX, &id))
            return usage("%s", "revoke needs a token ID (see 'weir token list')");
    } else if (strcmp(sub, "list") != 0) {
        return usage("unknown subcommand '%s' (create, list, revoke)", sub);
    }

    if (wr_config_load(config, &cfg, &err) != 0) {
        fprintf(stderr, "weir token: %s\n", err.msg);
        return 2;
    }
    if (db == NULL)
        db = cfg.db ? cfg.db : "weir.db";
    if (wr_store_open(db, &store, &err) != 0) {
        fprintf(stderr, "weir token: %s\n", err.msg);
        goto done;
    }
    if (strcmp(sub, "create") == 0) {
        char token[64], hash[65];
        int64_t id = 0;
        if (wr__web_token_new(token, &err) != 0 || wr__web_token_hash(token, hash) != 0 ||
            wr_query_token_create(store, name, role, hash, &id, &err) != 0) {
            fprintf(stderr, "weir token: %s\n", err.msg[0] ? err.msg : "cannot create a token");
            goto done;
        }
        printf("%s\n", token);
        fprintf(stderr, "weir token: created token %lld (role %s%s%s); it is shown only once\n",
                (long long)id, role, name ? ", name " : "", name ? name : "");
    } else if (strcmp(sub, "revoke") == 0) {
        int64_t id = 0;
        (void)wr__web_parse_int(id_text, 1, INT64_MAX, &id);
        if (wr_query_token_revoke(store, id, &err) != 0) {
            fprintf(stderr, "weir token: %s\n", err.msg);
            goto done;
        }
        printf("revoked token %lld\n", (long long)id);
    } else {
        size_t i;
        json_t *t;
        if (wr_query_tokens(store, &list, &err) != 0) {
            fprintf(stderr, "weir token: %s\n", err.msg);
            goto done;
        }
        if (as_json) {
            char *s = json_dumps(list, JSON_COMPACT);
            printf("%s\n", s ? s : "[]");
            free(s);
        } else {
            printf("%-6s %-9s %-8s %-24s %s\n", "ID", "ROLE", "STATE", "CREATED", "NAME");
            json_array_foreach(list, i, t)
            {
                const char *n = json_string_value(json_object_get(t, "name"));
                printf("%-6lld %-9s %-8s %-24s %s\n",
                       (long long)json_integer_value(json_object_get(t, "id")),
                       json_string_value(json_object_get(t, "role")),
                       json_is_true(json_object_get(t, "revoked")) ? "revoked" : "active",
                       json_string_value(json_object_get(t, "created_at")), n ? n : "-");
            }
        }
    }
    status = 0;
done:
    json_decref(list);
    wr_store_close(store);
    wr_config_dispose(&cfg);
    return status;
}
