/* SPDX-License-Identifier: MIT
 * tests/fuzz/fuzz_config.c: weir.yaml (engine/config.c). wr_config_load() only reads files,
 * so each input is written to one temporary file (created once per process, removed at
 * exit) and loaded from there: YAML -> JSON, known keys, types, relative paths. Files over
 * WR_DEF_MAX_BYTES are refused by wr_read_file() and not written. */
#include <stdio.h>
#include <unistd.h>

#include "engine/config.h"
#include "engine/def_dag.h"
#include "tests/fuzz/fuzz.h"

static char path[64];
static int fd = -1;

static void cleanup(void)
{
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_config_t cfg;
    wr_err_t err;

    if (size > WR_DEF_MAX_BYTES)
        return 0;
    if (fd < 0) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof(path), "%s/weir-fuzz-config-XXXXXX",
                 dir != NULL && strlen(dir) < 32 ? dir : "/tmp");
        if ((fd = mkstemp(path)) < 0)
            abort();
        atexit(cleanup);
    }
    if (ftruncate(fd, 0) != 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    memset(&err, 0, sizeof(err));
    if (wr_config_load(path, &cfg, &err) == 0)
        wr_config_dispose(&cfg);
    return 0;
}
