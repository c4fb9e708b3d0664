/* SPDX-License-Identifier: MIT
 * engine/cli_asl.c: state machines on the command line. Amazon States Language execution is
 * not part of this version yet: both commands say so and fail. */
#include "engine/cli_asl.h"

#include <stdio.h>

int wr_cli_run_asl(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "?";
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-') {
            file = argv[i];
            break;
        }
    fprintf(stderr,
            "weir run: %s: Amazon States Language state machines are not supported by this "
            "version of weir yet\n",
            file);
    return 2;
}

int wr_cli_validate_asl(const char *path, const char *text, size_t len)
{
    (void)text;
    (void)len;
    fprintf(stderr,
            "%s:1:1: Amazon States Language state machines are not supported by this version "
            "of weir yet\n",
            path);
    return 1;
}
