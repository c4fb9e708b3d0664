/* SPDX-License-Identifier: MIT
 * engine/yaml_json.h: YAML text -> JSON values, with the YAML 1.2 core schema for plain
 * scalars (null, true/false, integers, floats; everything else, and every quoted scalar, a
 * string). Used for configuration and for state machines written in YAML. Thread: any. */
#ifndef WR_ENGINE_YAML_JSON_H
#define WR_ENGINE_YAML_JSON_H

#include <jansson.h>

#include "engine/common.h"

/** The JSON value of one scalar: `plain` is false for quoted/literal scalars (always a
 *  string). New reference. */
json_t *wr_yaml_scalar_json(const char *s, size_t len, bool plain);

/** Parses the single YAML document in text[0..len) into *out (new reference). Errors
 *  (syntax, duplicate keys, non-scalar keys, nesting deeper than 64, aliases expanding to
 *  more than 100,000 extra values) name `path:line:column`. */
WR_MUST_CHECK int wr_yaml_to_json(const char *path, const char *text, size_t len, json_t **out,
                                  wr_err_t *err);

#endif
