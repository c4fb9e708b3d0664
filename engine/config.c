/* SPDX-License-Identifier: MIT
 * engine/config.c: loading weir.yaml. */
#include "engine/config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/def_dag.h"
#include "engine/yaml_json.h"

static const char *const known_keys[] = {
    "functions_dir",      "db",    "dags",           "listen", "parallelism", "connections",
    "default_connection", "pools", "shutdown_grace", "topics", "auth",        NULL};

/* `value` relative to the folder of `file`, unless absolute. */
static char *relative_to(const char *file, const char *value)
{
    const char *slash = strrchr(file, '/');
    if (value[0] == '/' || slash == NULL)
        return wr_xstrdup(value);
    return wr_xasprintf("%.*s/%s", (int)(slash - file), file, value);
}

static int get_path(const wr_config_t *cfg, const char *key, char **out, wr_err_t *err)
{
    json_t *v = json_object_get(cfg->raw, key);
    if (v == NULL)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return wr_err_set(err, WR_EINVALID, "%s: '%s' must be a non-empty string", cfg->path, key);
    *out = relative_to(cfg->path, json_string_value(v));
    return 0;
}

int wr_config_load(const char *path, wr_config_t *cfg, wr_err_t *err)
{
    char *text = NULL;
    size_t len = 0;
    const char *key;
    json_t *v;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if (path == NULL) {
        if (access("weir.yaml", F_OK) != 0)
            return 0;
        path = "weir.yaml";
    }
    cfg->path = wr_xstrdup(path);
    if ((rc = wr_read_file(path, WR_DEF_MAX_BYTES, &text, &len, err)) != 0)
        goto done;
    if ((rc = wr_yaml_to_json(path, text, len, &cfg->raw, err)) != 0)
        goto done;
    if (json_is_null(cfg->raw)) {
        json_decref(cfg->raw);
        cfg->raw = json_object();
    }
    if (!json_is_object(cfg->raw)) {
        rc = wr_err_set(err, WR_EINVALID, "%s: the configuration must be a mapping", path);
        goto done;
    }
    json_object_foreach(cfg->raw, key, v)
    {
        bool ok = false;
        for (size_t i = 0; known_keys[i] && !ok; i++)
            ok = strcmp(key, known_keys[i]) == 0;
        if (!ok) {
            const char *hint = wr_closest(key, known_keys);
            rc = wr_err_set(err, WR_EINVALID, "%s: unknown key '%s'%s%s%s", path, key,
                            hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
            goto done;
        }
    }
    if ((rc = get_path(cfg, "functions_dir", &cfg->functions_dir, err)) != 0 ||
        (rc = get_path(cfg, "db", &cfg->db, err)) != 0 ||
        (rc = get_path(cfg, "dags", &cfg->dags, err)) != 0)
        goto done;
    v = json_object_get(cfg->raw, "listen");
    if (v != NULL) {
        if (!json_is_string(v)) {
            rc = wr_err_set(err, WR_EINVALID, "%s: 'listen' must be HOST:PORT", path);
            goto done;
        }
        cfg->listen = wr_xstrdup(json_string_value(v));
    }
    v = json_object_get(cfg->raw, "parallelism");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100000) {
            rc =
                wr_err_set(err, WR_EINVALID, "%s: 'parallelism' must be a whole number >= 1", path);
            goto done;
        }
        cfg->parallelism = (int)json_integer_value(v);
    }
done:
    free(text);
    if (rc != 0)
        wr_config_dispose(cfg);
    return rc;
}

void wr_config_dispose(wr_config_t *cfg)
{
    free(cfg->path);
    free(cfg->functions_dir);
    free(cfg->db);
    free(cfg->dags);
    free(cfg->listen);
    json_decref(cfg->raw);
    memset(cfg, 0, sizeof(*cfg));
}
