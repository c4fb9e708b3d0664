/* SPDX-License-Identifier: MIT
 * engine/cli_catalog.c: `weir catalog` (see engine/cli_catalog.h). Reads only; a database
 * file that does not exist is reported, not created. */
#include "engine/cli_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "engine/catalog.h"
#include "engine/config.h"
#include "engine/store.h"

static const char usage_text[] =
    "usage: weir catalog [--db F] [--config F] [--json] [DATABASE[.TABLE]]\n"
    "\n"
    "Shows the data catalog that crawler tasks fill: every database; with DATABASE, its\n"
    "tables and their columns; with DATABASE.TABLE, the table's columns, partition keys,\n"
    "partitions, files and the changes crawls made. --json prints one JSON value instead.\n"
    "  --db F       database file (default: db from the configuration, else ./weir.db)\n"
    "  --config F   configuration file (default: ./weir.yaml when it exists)\n";

static void print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    printf("%s\n", s ? s : "null");
    free(s);
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void print_columns(const json_t *t, const char *indent)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(t, "Columns"), i, c)
    {
        printf("%s%-28s %s\n", indent, str(c, "Name"), str(c, "Type"));
    }
    json_array_foreach(json_object_get(t, "PartitionKeys"), i, c)
    {
        printf("%s%-28s %s (partition key)\n", indent, str(c, "Name"), str(c, "Type"));
    }
}

static int show_databases(wr_store_t *store, bool as_json, wr_err_t *err)
{
    json_t *dbs = NULL;
    size_t i;
    json_t *d;

    if (wr_catalog_databases(store, &dbs, err) != 0)
        return 1;
    if (as_json) {
        print_json(dbs);
    } else if (json_array_size(dbs) == 0) {
        printf("(no databases: run a crawler first)\n");
    } else {
        printf("%-28s %s\n", "DATABASE", "TABLES");
        json_array_foreach(dbs, i, d)
        {
            printf("%-28s %lld\n", str(d, "Name"),
                   (long long)json_integer_value(json_object_get(d, "TableCount")));
        }
    }
    json_decref(dbs);
    return 0;
}

static int show_tables(wr_store_t *store, const char *database, bool as_json, wr_err_t *err)
{
    json_t *tables = NULL;
    size_t i;
    json_t *t;

    if (wr_catalog_tables(store, database, &tables, err) != 0)
        return 1;
    if (as_json) {
        print_json(tables);
    } else {
        json_array_foreach(tables, i, t)
        {
            printf("%s.%s  (%s, %s; %lld partitions, %lld files; version %lld)\n", database,
                   str(t, "Name"), str(t, "Classification"), str(t, "Location"),
                   (long long)json_integer_value(json_object_get(t, "PartitionCount")),
                   (long long)json_integer_value(json_object_get(t, "FileCount")),
                   (long long)json_integer_value(json_object_get(t, "Version")));
            print_columns(t, "    ");
        }
    }
    json_decref(tables);
    return 0;
}

static int show_table(wr_store_t *store, const char *database, const char *table, bool as_json,
                      wr_err_t *err)
{
    json_t *t = NULL, *changes = NULL, *v;
    size_t i;

    if (wr_catalog_table_get(store, database, table, &t, err) != 0 ||
        wr_catalog_table_changes(store, database, table, &changes, err) != 0) {
        json_decref(t);
        return 1;
    }
    json_object_set_new(t, "Changes", changes);
    if (as_json) {
        print_json(t);
        json_decref(t);
        return 0;
    }
    printf("table     %s.%s\nlocation  %s\nformat    %s\ncrawler   %s\nversion   %lld\n"
           "created   %s\nupdated   %s\ncolumns:\n",
           database, table, str(t, "Location"), str(t, "Classification"), str(t, "Crawler"),
           (long long)json_integer_value(json_object_get(t, "Version")), str(t, "CreateTime"),
           str(t, "UpdateTime"));
    print_columns(t, "  ");
    printf("partitions (%zu):\n", json_array_size(json_object_get(t, "Partitions")));
    json_array_foreach(json_object_get(t, "Partitions"), i, v)
    {
        char *vals = json_dumps(json_object_get(v, "Values"), JSON_COMPACT);
        printf("  %-40s %s\n", vals ? vals : "[]", str(v, "Location"));
        free(vals);
    }
    printf("files (%zu):\n", json_array_size(json_object_get(t, "Files")));
    json_array_foreach(json_object_get(t, "Files"), i, v)
    {
        printf("  %s  (%lld bytes)\n", str(v, "Path"),
               (long long)json_integer_value(json_object_get(v, "Size")));
    }
    printf("changes (%zu):\n", json_array_size(changes));
    json_array_foreach(changes, i, v)
    {
        json_t *d = json_deep_copy(v);
        char *rest;
        json_object_del(d, "Kind");
        json_object_del(d, "Time");
        json_object_del(d, "Crawler");
        rest = json_dumps(d, JSON_COMPACT);
        printf("  %s  %-20s %s\n", str(v, "Time"), str(v, "Kind"), rest ? rest : "");
        free(rest);
        json_decref(d);
    }
    json_decref(t);
    return 0;
}

int wr_cli_catalog(int argc, char **argv)
{
    const char *db = NULL, *config = NULL, *what = NULL;
    bool as_json = false;
    wr_config_t cfg;
    wr_store_t *store = NULL;
    wr_err_t err;
    int status = 2;

    memset(&cfg, 0, sizeof(cfg));
    memset(&err, 0, sizeof(err));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            as_json = true;
        } else if (strcmp(a, "--db") == 0 && i + 1 < argc) {
            db = argv[++i];
        } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (a[0] == '-' || what != NULL) {
            fprintf(stderr, "weir catalog: unexpected argument '%s'\n%s", a, usage_text);
            return 2;
        } else {
            what = a;
        }
    }
    if (wr_config_load(config, &cfg, &err) != 0) {
        fprintf(stderr, "weir catalog: %s\n", err.msg);
        goto done;
    }
    if (db == NULL)
        db = cfg.db ? cfg.db : "weir.db";
    if (access(db, F_OK) != 0) {
        fprintf(stderr, "weir catalog: %s: no such database file\n", db);
        status = 1;
        goto done;
    }
    if (wr_store_open(db, &store, &err) != 0) {
        fprintf(stderr, "weir catalog: %s\n", err.msg);
        status = 1;
        goto done;
    }
    if (what == NULL) {
        status = show_databases(store, as_json, &err);
    } else {
        const char *dot = strchr(what, '.');
        if (dot == NULL) {
            status = show_tables(store, what, as_json, &err);
        } else {
            char *database = wr_xstrndup(what, (size_t)(dot - what));
            status = show_table(store, database, dot + 1, as_json, &err);
            free(database);
        }
    }
    if (status != 0)
        fprintf(stderr, "weir catalog: %s\n", err.msg);
done:
    wr_store_close(store);
    wr_config_dispose(&cfg);
    return status;
}
