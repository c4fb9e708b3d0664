/* SPDX-License-Identifier: MIT
 * tests/fuzz/replay.c: a main() for the fuzz targets when libFuzzer is not linked in (gcc,
 * the normal and the sanitizer builds). Every argument is a file or a folder of files; each
 * file is passed once to LLVMFuzzerTestOneInput, in name order, so the corpora replay under
 * ASan and UBSan as ctests (SQLite test/fuzzcheck.c). A crash aborts with the file named
 * on stderr just before it; exit status 0 means every input ran. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t len = 0, cap = 0, n;

    if (fp == NULL) {
        perror(path);
        return 1;
    }
    do {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 65536;
            data = realloc(data, cap);
            if (data == NULL) {
                fclose(fp);
                fprintf(stderr, "%s: out of memory\n", path);
                return 1;
            }
        }
        n = fread(data + len, 1, cap - len, fp);
        len += n;
    } while (n > 0);
    if (ferror(fp)) {
        perror(path);
        fclose(fp);
        free(data);
        return 1;
    }
    fclose(fp);
    fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
    /* An exact-size copy, so that ASan sees a read one byte past the input. */
    {
        uint8_t *exact = malloc(len ? len : 1);
        if (exact == NULL) {
            free(data);
            return 1;
        }
        if (len > 0)
            memcpy(exact, data, len);
        free(data);
        (void)LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_path(const char *path, size_t *count)
{
    struct stat st;
    DIR *dir;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int failed = 0;

    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    if ((dir = opendir(path)) == NULL) {
        perror(path);
        return 1;
    }
    while ((de = readdir(dir)) != NULL) {
        size_t need;
        char *full;
        if (de->d_name[0] == '.')
            continue;
        need = strlen(path) + strlen(de->d_name) + 2;
        if ((full = malloc(need)) == NULL)
            break;
        snprintf(full, need, "%s/%s", path, de->d_name);
        if (n == cap) {
            char **grown;
            cap = cap ? cap * 2 : 64;
            if ((grown = realloc(names, cap * sizeof(*names))) == NULL) {
                free(full);
                break;
            }
            names = grown;
        }
        names[n++] = full;
    }
    closedir(dir);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            (*count)++;
            failed |= replay_file(names[i]);
        }
        free(names[i]);
    }
    free(names);
    return failed;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-FOLDER...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        failed |= replay_path(argv[i], &count);
    if (count == 0) {
        fprintf(stderr, "no inputs found\n");
        return 1;
    }
    fprintf(stderr, "%zu inputs replayed%s\n", count, failed ? ", some unreadable" : "");
    return failed;
}
