/* SPDX-License-Identifier: MIT
 * web/commands.c: the CLI commands the web front end adds to `weir` (see web/web.h). Kept
 * apart from web/http.c so that linking the commands does not pull the daemon in. */
#include "web/web.h"

const wr_cli_command_t wr_web_commands[] = {
    {"trigger", wr_web_cli_trigger},
    {"token", wr_web_cli_token},
    {NULL, NULL},
};
