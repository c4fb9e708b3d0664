/* SPDX-License-Identifier: MIT
 * web/web.h: the web front end of `weir serve` (the REST API of issue 3, served by
 * libmicrohttpd) and the CLI commands that talk to it or manage its access.
 *
 * engine/main.c, the composition root, hands both to wr_cli_main(): the engine does not know
 * HTTP (DESIGN.md §1). Thread: the front end starts and stops on the loop thread; requests are
 * served on libmicrohttpd's threads, one per connection (see web/http.c). */
#ifndef WR_WEB_WEB_H
#define WR_WEB_WEB_H

#include "engine/cli.h"
#include "engine/server.h"

/** The REST API front end: `start` listens on HOST:PORT (refusing a non-loopback address
 *  unless weir.yaml says `auth: required`), `stop` closes every connection. */
extern const wr_frontend_t wr_web_frontend;

/** `weir trigger` (the CI client) and `weir token` (API tokens), ending with {NULL, NULL}. */
extern const wr_cli_command_t wr_web_commands[];

/** `weir trigger NAME [--input JSON] [--run-id ID] [--wait] [--server URL] [--token T]`:
 *  0 triggered (with --wait: the run SUCCEEDED), 1 the run failed, 2 usage or connection. */
int wr_web_cli_trigger(int argc, char **argv);
/** `weir token create|list|revoke ...`: 0 done, 1 failed, 2 usage. */
int wr_web_cli_token(int argc, char **argv);

#endif
