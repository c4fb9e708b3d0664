/* SPDX-License-Identifier: MIT
 * tests/unit/harness.h: a tiny test harness. Each test file defines
 *   static const wr_test_t tests[] = {{"name", fn}, ..., {NULL, NULL}};
 * and ends with WR_TEST_MAIN(tests). `test_x NAME` runs one test. A failed ASSERT prints both
 * operands with file:line and aborts. */
#ifndef WR_TESTS_UNIT_HARNESS_H
#define WR_TESTS_UNIT_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    void (*fn)(void);
} wr_test_t;

#define ASSERT_FAIL_(fmt, ...)                                                                  \
    do {                                                                                        \
        fprintf(stderr, "%s:%d: assertion failed: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__); \
        abort();                                                                                \
    } while (0)
#define ASSERT(c)                   \
    do {                            \
        if (!(c))                   \
            ASSERT_FAIL_("%s", #c); \
    } while (0)
#define ASSERT_EQ(a, b)                                                            \
    do {                                                                           \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                              \
        if (a_ != b_)                                                              \
            ASSERT_FAIL_("%s == %s (%" PRId64 " vs %" PRId64 ")", #a, #b, a_, b_); \
    } while (0)
#define ASSERT_OK(a) ASSERT_EQ(a, 0)
#define ASSERT_STR_EQ(a, b)                                                         \
    do {                                                                            \
        const char *a_ = (a), *b_ = (b);                                            \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                        \
            ASSERT_FAIL_("%s == %s (\"%s\" vs \"%s\")", #a, #b, a_ ? a_ : "(null)", \
                         b_ ? b_ : "(null)");                                       \
    } while (0)
#define ASSERT_CONTAINS(hay, needle)                                        \
    do {                                                                    \
        const char *h_ = (hay), *n_ = (needle);                             \
        if (h_ == NULL || strstr(h_, n_) == NULL)                           \
            ASSERT_FAIL_("\"%s\" contains \"%s\"", h_ ? h_ : "(null)", n_); \
    } while (0)

#define WR_TEST_MAIN(table)                                        \
    int main(int argc, char **argv)                                \
    {                                                              \
        int n = 0;                                                 \
        for (const wr_test_t *t = (table); t->name != NULL; t++) { \
            if (argc > 1 && strcmp(argv[1], t->name) != 0)         \
                continue;                                          \
            t->fn();                                               \
            printf("ok %s\n", t->name);                            \
            n++;                                                   \
        }                                                          \
        printf("%d passed, 0 failed\n", n);                        \
        return n > 0 ? 0 : 1;                                      \
    }

#endif
