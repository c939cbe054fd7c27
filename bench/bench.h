/*
 * bench/bench.h: the helpers the benchmark programs share: medians of
 * timings, whole-string integer arguments, and this process's CPU time.
 * Header only (static inline): CMake builds every .c file in bench/ as a
 * program of its own, so a shared .c file here would become a program too.
 * bench_cpu_sec needs clock_gettime: the file defines _POSIX_C_SOURCE before
 * its first #include, or the build's flags do (-D_DEFAULT_SOURCE).
 */
#ifndef TG_BENCH_H
#define TG_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* qsort's comparator for doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n-1] ascending. */
static inline void bench_sort(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
}

/* The median of v[0..n-1] (n >= 1), v[n/2] after sorting v in place: v[0]
 * and v[n-1] are then the fastest and the slowest. */
static inline double bench_median(double *v, int n)
{
    bench_sort(v, n);
    return v[n / 2];
}

/* Whether s (NULL: no) is a whole-string integer in [lo, hi]; if so, its
 * value into *v. */
static inline int bench_int_parse(const char *s, int lo, int hi, int *v)
{
    if (!s) return 0;
    char *end;
    long x = strtol(s, &end, 10);
    if (end == s || *end != '\0' || x < lo || x > hi) return 0;
    *v = (int)x;
    return 1;
}

/* s as a whole-string integer in [lo, hi]; anything else (NULL too: a flag
 * given without its value) prints `<prog>: <what> must be an integer in
 * [lo, hi], got "<s>"` and `usage: <usage>` to stderr and exits 2. */
static inline int bench_int(const char *prog, const char *what, const char *s, int lo, int hi,
                            const char *usage)
{
    int v;
    if (!bench_int_parse(s, lo, hi, &v)) {
        fprintf(stderr, "%s: %s must be an integer in [%d, %d], got \"%s\"\n", prog, what, lo, hi,
                s ? s : "");
        fprintf(stderr, "usage: %s\n", usage);
        exit(2);
    }
    return v;
}

/* CPU seconds of this process: on a shared machine the wall time counts the
 * time slices other jobs took; the CPU time does not. */
static inline double bench_cpu_sec(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
