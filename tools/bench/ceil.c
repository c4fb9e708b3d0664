/* SPDX-License-Identifier: MIT
 * tools/bench/ceil.c: the machine's own ceilings for the benchmark suite (tools/bench/).
 *
 *   ceil spawn N           fork+exec of /bin/true, N times in a row: prints spawns/s
 *   ceil shspawn N         fork+exec of `/bin/sh -c true` (what a command task runs)
 *   ceil sqlite DB N SYNC  N one-row WAL transactions, PRAGMA synchronous=SYNC (FULL: an
 *                          fsync per commit; NORMAL: weir's setting): prints commits/s
 *
 * Built by tools/bench/bench.py with `cc -O2 ceil.c -lsqlite3`; not part of weir. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int spawn(int n, char *const argv[])
{
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        int st;
        if (pid < 0)
            return 1;
        if (pid == 0) {
            execv(argv[0], argv);
            _exit(127);
        }
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 1;
    }
    printf("%.1f\n", n / (now_s() - t0));
    return 0;
}

static int commits(const char *path, int n, const char *sync)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    char pragma[128];
    double t0;

    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 1;
    snprintf(pragma, sizeof(pragma),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; "
             "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, ts INTEGER, v TEXT);",
             sync);
    if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO t (ts, v) VALUES (?1, 'TaskSucceeded')", -1, &ins,
                           NULL) != SQLITE_OK)
        return 1;
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        sqlite3_bind_int(ins, 1, i);
        if (sqlite3_step(ins) != SQLITE_DONE)
            return 1;
        sqlite3_reset(ins);
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            return 1;
    }
    printf("%.1f\n", n / (now_s() - t0));
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "spawn") == 0) {
        char *const a[] = {"/bin/true", NULL};
        return spawn(atoi(argv[2]), a);
    }
    if (argc == 3 && strcmp(argv[1], "shspawn") == 0) {
        char *const a[] = {"/bin/sh", "-c", "true", NULL};
        return spawn(atoi(argv[2]), a);
    }
    if (argc == 5 && strcmp(argv[1], "sqlite") == 0)
        return commits(argv[2], atoi(argv[3]), argv[4]);
    fprintf(stderr, "usage: ceil spawn N | shspawn N | sqlite DB N FULL|NORMAL\n");
    return 2;
}
