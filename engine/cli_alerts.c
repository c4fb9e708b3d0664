/* SPDX-License-Identifier: MIT
 * engine/cli_alerts.c: `weir alerts` (see engine/cli_alerts.h). */
#include "engine/cli_alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/alerts.h"
#include "engine/config.h"
#include "engine/store.h"

static const char usage_text[] =
    "usage: weir alerts [--db F] [--limit N] [--json] [--config F]\n"
    "\n"
    "Lists the alerts sns_alert tasks published (local provider), newest first.\n"
    "  --db F      database file (default: db from the configuration, else ./weir.db)\n"
    "  --limit N   at most N alerts (default 20)\n"
    "  --json      one JSON array of alert objects on stdout\n"
    "  --config F  configuration file (default: ./weir.yaml when it exists)\n";

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "weir alerts: %s '%s'\n%s", what, arg, usage_text);
    return 2;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

int wr_cli_alerts(int argc, char **argv)
{
    const char *db = NULL, *config = NULL;
    long limit = 20;
    bool as_json = false;
    wr_config_t cfg;
    wr_store_t *store = NULL;
    json_t *list = NULL, *a;
    wr_err_t err;
    size_t i;
    int status = 1;

    memset(&cfg, 0, sizeof(cfg));
    memset(&err, 0, sizeof(err));
    for (int k = 1; k < argc; k++) {
        const char *arg = argv[k];
        bool has_val = k + 1 < argc;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(arg, "--json") == 0) {
            as_json = true;
        } else if (strcmp(arg, "--db") == 0 && has_val) {
            db = argv[++k];
        } else if (strcmp(arg, "--config") == 0 && has_val) {
            config = argv[++k];
        } else if (strcmp(arg, "--limit") == 0 && has_val) {
            char *end;
            limit = strtol(argv[++k], &end, 10);
            if (*end != '\0' || limit < 1 || limit > 1000000)
                return usage_error("--limit must be a whole number >= 1, not", argv[k]);
        } else {
            return usage_error("unknown or incomplete option", arg);
        }
    }
    if (wr_config_load(config, &cfg, &err) != 0) {
        fprintf(stderr, "weir alerts: %s\n", err.msg);
        goto done;
    }
    if (db == NULL)
        db = cfg.db ? cfg.db : "weir.db";
    if (wr_store_open(db, &store, &err) != 0 ||
        wr_alerts_list(store, (int)limit, &list, &err) != 0) {
        fprintf(stderr, "weir alerts: %s\n", err.msg);
        goto done;
    }
    if (as_json) {
        char *s = json_dumps(list, JSON_COMPACT);
        printf("%s\n", s ? s : "[]");
        free(s);
    } else if (json_array_size(list) == 0) {
        printf("no alerts in %s\n", db);
    } else {
        json_array_foreach(list, i, a)
        {
            const char *detail = str(a, "delivery_detail");
            printf("%s  [%s] %s\n", str(a, "created_at"), str(a, "topic"), str(a, "subject"));
            printf("  id %s  run %s  task %s\n", str(a, "message_id"), str(a, "run_id"),
                   str(a, "task"));
            printf("  webhook: %s%s%s\n", str(a, "delivery"), *detail ? " - " : "", detail);
            printf("  %s\n\n", str(a, "message"));
        }
    }
    status = 0;
done:
    json_decref(list);
    wr_store_close(store);
    wr_config_dispose(&cfg);
    return status;
}
