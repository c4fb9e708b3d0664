/* SPDX-License-Identifier: MIT
 * web/cli_trigger.c: `weir trigger`, the CI client of the REST API. It starts a run with
 * POST /api/v1/workflows/{name}/runs and, with --wait, follows it with the long poll
 * GET /api/v1/runs/{id}/wait until it ends. A short-lived CLI process, not the loop: it uses
 * libcurl's blocking easy API. With --run-id a retried CI step finds the run it already
 * started instead of starting a second one. */
#include "web/web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "engine/query.h"

#define WAIT_SLICE_S    30 /* each long poll asks the server to hold this long */
#define CONNECT_RETRIES 5  /* lost connections tolerated while waiting */

static const char trigger_usage[] =
    "usage: weir trigger NAME [--input JSON] [--run-id ID] [--wait] [--server URL]\n"
    "                    [--token T]\n"
    "\n"
    "Starts a run of workflow NAME on a running `weir serve` and prints the run id and its\n"
    "URL.\n"
    "\n"
    "  --input JSON   the run's input, a JSON object (default {})\n"
    "  --run-id ID    the run's id; triggering the same ID again returns that run instead of\n"
    "                 starting another, so a retried CI step never runs the pipeline twice\n"
    "  --wait         follow the run until it ends\n"
    "  --server URL   the API server (default $WEIR_SERVER, else http://127.0.0.1:8080)\n"
    "  --token T      API token (default $WEIR_TOKEN), for servers with `auth: required`\n"
    "\n"
    "Exit status: 0 the run was started (with --wait: it SUCCEEDED), 1 with --wait: it\n"
    "FAILED or was ABORTED, 2 bad usage, connection or server errors.\n";

WR_PRINTF(1, 2) static int fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "weir trigger: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

typedef struct {
    CURL *curl;
    const char *server;
    const char *token;
    char errbuf[CURL_ERROR_SIZE];
} client_t;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    wr_buf_append(arg, p, size * n);
    return size * n;
}

/* One request. Returns the HTTP status (0 when there was no answer) and the body parsed as
 * JSON in *out (NULL if it is not JSON). */
static long request(client_t *c, const char *method, const char *path, const char *body,
                    long timeout_s, json_t **out)
{
    struct curl_slist *headers = NULL;
    char *url = wr_xasprintf("%s%s", c->server, path);
    char *auth = NULL;
    wr_buf_t resp;
    long status = 0;
    CURLcode rc;

    *out = NULL;
    wr_buf_init(&resp);
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "weir-trigger/" WR_VERSION);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (c->token != NULL && c->token[0] != '\0') {
        auth = wr_xasprintf("Authorization: Bearer %s", c->token);
        headers = curl_slist_append(headers, auth);
    }
    if (body != NULL) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    c->errbuf[0] = '\0';
    rc = curl_easy_perform(c->curl);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        *out = json_loadb(wr_buf_cstr(&resp), resp.len, 0, NULL);
    } else if (c->errbuf[0] == '\0') {
        snprintf(c->errbuf, sizeof(c->errbuf), "%s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    free(auth);
    free(url);
    wr_buf_dispose(&resp);
    return status;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int server_error(long status, json_t *body)
{
    if (json_object_get(body, "message") != NULL)
        return fail("server answered %ld %s: %s", status, str(body, "error"), str(body, "message"));
    return fail("server answered %ld", status);
}

/* Follows run `id` until it ends: 0 SUCCEEDED, 1 FAILED/ABORTED, 2 lost. */
static int wait_run(client_t *c, const char *id_escaped, const char *id)
{
    char *path = wr_xasprintf("/api/v1/runs/%s/wait?timeout=%d", id_escaped, WAIT_SLICE_S);
    int lost = 0, rc = 2;

    for (;;) {
        json_t *run = NULL;
        long status = request(c, "GET", path, NULL, WAIT_SLICE_S + 30, &run);
        const char *st;

        if (status == 0) {
            if (++lost > CONNECT_RETRIES) {
                rc = fail("lost the server while waiting for run %s: %s", id, c->errbuf);
                break;
            }
            fprintf(stderr, "weir trigger: %s; retrying\n", c->errbuf);
            {
                struct timespec ts = {2, 0};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        lost = 0;
        if (status != 200 || !json_is_object(run)) {
            rc = server_error(status, run);
            json_decref(run);
            break;
        }
        st = str(run, "status");
        if (wr_query_run_status_is_final(st)) {
            if (strcmp(st, "SUCCEEDED") == 0) {
                fprintf(stderr, "weir trigger: run %s SUCCEEDED\n", id);
                rc = 0;
            } else {
                fprintf(
                    stderr, "weir trigger: run %s %s%s%s%s%s\n", id, st,
                    json_is_string(json_object_get(run, "error")) ? ": " : "", str(run, "error"),
                    json_is_string(json_object_get(run, "cause")) ? ": " : "", str(run, "cause"));
                rc = 1;
            }
            json_decref(run);
            break;
        }
        json_decref(run);
    }
    free(path);
    return rc;
}

int wr_web_cli_trigger(int argc, char **argv)
{
    const char *name = NULL, *input_text = NULL, *run_id = NULL;
    const char *server = getenv("WEIR_SERVER"),
               *token = getenv("WEIR_TOKEN"); // NOLINT(concurrency-mt-unsafe): single-threaded CLI
    json_t *body = NULL, *run = NULL;
    char *body_text = NULL, *path = NULL, *esc = NULL, *server_trim = NULL;
    bool wait = false;
    client_t c;
    long status;
    int rc = 2;

    memset(&c, 0, sizeof(c));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(trigger_usage, stdout);
            return 0;
        } else if (strcmp(a, "--input") == 0 && has_val) {
            input_text = argv[++i];
        } else if (strcmp(a, "--run-id") == 0 && has_val) {
            run_id = argv[++i];
        } else if (strcmp(a, "--server") == 0 && has_val) {
            server = argv[++i];
        } else if (strcmp(a, "--token") == 0 && has_val) {
            token = argv[++i];
        } else if (strcmp(a, "--wait") == 0) {
            wait = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            return fail("unknown or incomplete option '%s'\nTry 'weir trigger --help'.", a);
        } else if (name == NULL) {
            name = a;
        } else {
            return fail("one workflow NAME only ('%s' is extra)", a);
        }
    }
    if (name == NULL || name[0] == '\0')
        return fail("a workflow NAME is required\nTry 'weir trigger --help'.");
    body = json_object();
    if (input_text != NULL) {
        json_error_t je;
        json_t *input = json_loads(input_text, JSON_DECODE_ANY, &je);
        if (!json_is_object(input)) {
            json_decref(input);
            json_decref(body);
            return fail("--input must be a JSON object%s%s", input ? "" : ": ",
                        input ? "" : je.text);
        }
        json_object_set_new(body, "input", input);
    }
    if (run_id != NULL)
        json_object_set_new(body, "run_id", json_string(run_id));
    if (server == NULL || server[0] == '\0')
        server = "http://127.0.0.1:8080";
    server_trim = wr_xstrdup(server);
    for (size_t n = strlen(server_trim); n > 0 && server_trim[n - 1] == '/'; n--)
        server_trim[n - 1] = '\0';

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (c.curl = curl_easy_init()) == NULL) {
        rc = fail("cannot initialise libcurl");
        goto done;
    }
    c.server = server_trim;
    c.token = token;
    esc = curl_easy_escape(c.curl, name, 0);
    path = wr_xasprintf("/api/v1/workflows/%s/runs", esc);
    body_text = json_dumps(body, JSON_COMPACT);
    status = request(&c, "POST", path, body_text, 60, &run);
    if (status == 0) {
        rc = fail("cannot reach %s: %s", c.server, c.errbuf);
        goto done;
    }
    if ((status != 200 && status != 201) || !json_is_string(json_object_get(run, "id"))) {
        rc = server_error(status, run);
        goto done;
    }
    {
        const char *id = str(run, "id");
        char *id_esc = curl_easy_escape(c.curl, id, 0);
        printf("%s\n%s/api/v1/runs/%s\n", id, c.server, id_esc);
        fflush(stdout);
        fprintf(stderr, "weir trigger: %s run %s of %s\n",
                status == 201 ? "started" : "found the existing", id, name);
        rc = wait ? wait_run(&c, id_esc, id) : 0;
        curl_free(id_esc);
    }
done:
    curl_free(esc);
    if (c.curl != NULL)
        curl_easy_cleanup(c.curl);
    curl_global_cleanup();
    json_decref(run);
    json_decref(body);
    free(body_text);
    free(path);
    free(server_trim);
    return rc;
}
