/*
 * test.h: the assertions every test program uses. Each failed check prints
 * both values with file and line and counts a failure; a test's main returns
 * test_finish(), which is non-zero when anything failed.
 */
#ifndef TG_TEST_H
#define TG_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunegan.h"

static int test_failures_;
static int test_checks_;

#define TEST_FAIL_(...)                                                        \
    do {                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                        \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        test_failures_++;                                                      \
    } while (0)

#define CHECK(cond)                                                            \
    do {                                                                       \
        test_checks_++;                                                        \
        if (!(cond)) TEST_FAIL_("check failed: %s", #cond);                     \
    } while (0)

#define CHECK_INT(a, b)                                                        \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        test_checks_++;                                                        \
        if (a_ != b_) TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);     \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        test_checks_++;                                                        \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                 \
            TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", \
                       b_ ? b_ : "(null)");                                    \
    } while (0)

/* |a - b| <= tol * max(1, |a|, |b|) */
#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double a_ = (double)(a), b_ = (double)(b);                             \
        double s_ = fmax(1.0, fmax(fabs(a_), fabs(b_)));                       \
        test_checks_++;                                                        \
        if (!(fabs(a_ - b_) <= (tol) * s_))                                    \
            TEST_FAIL_("%s ~= %s: %.9g != %.9g (tol %g)", #a, #b, a_, b_, (double)(tol)); \
    } while (0)

#define CHECK_OK(expr)                                                         \
    do {                                                                       \
        tg_status s_ = (expr);                                                 \
        test_checks_++;                                                        \
        if (s_ != TG_OK) TEST_FAIL_("%s: %s", #expr, tg_status_str(s_));        \
    } while (0)

#define CHECK_STATUS(expr, want)                                               \
    do {                                                                       \
        tg_status s_ = (expr);                                                 \
        test_checks_++;                                                        \
        if (s_ != (want))                                                      \
            TEST_FAIL_("%s: got %s, want %s", #expr, tg_status_name(s_), tg_status_name(want)); \
    } while (0)

/* Exit code ctest reads as "skipped" (SKIP_RETURN_CODE). */
#define TEST_SKIP_CODE 77

static inline int test_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks_, test_failures_);
    return test_failures_ ? 1 : 0;
}

#endif /* TG_TEST_H */
