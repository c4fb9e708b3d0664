/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz.h: what the fuzz targets share: the libFuzzer entry point's prototype and
 * a NUL-terminated copy of the input (the parsers read C strings, as their callers give). */
#ifndef WR_TESTS_FUZZ_FUZZ_H
#define WR_TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A heap copy of data[0..size) plus a NUL (embedded NULs stay: C-string parsers stop there,
 * as they do on the real input). Aborts when out of memory. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* True when s is valid UTF-8, as every string of a JSON or YAML document is. */
static inline bool fuzz_utf8(const char *s)
{
    json_t *j = json_string(s);
    bool ok = j != NULL;

    json_decref(j);
    return ok;
}

#endif
