/* SPDX-License-Identifier: MIT
 * engine/main.c: the `weir` binary's entry point. */
#include <signal.h>

#include "engine/cli.h"
#include "web/web.h"

int main(int argc, char **argv)
{
    /* A child that closes its stdin early must not kill us with SIGPIPE: writes to it fail
     * with EPIPE instead, which the task layer ignores. */
    signal(SIGPIPE, SIG_IGN);
    return wr_cli_main(argc, argv, wr_web_commands, &wr_web_frontend);
}
