/*
 * bench/corpus_build.c: times `data build` on the Nottingham folk tunes: the
 * remi corpus of all of ../shared/data/nottingham/full with its split.tsv,
 * MIDI reading included, written to a temporary file. Prints the median, the
 * fastest and the slowest of several runs for each thread count asked, and
 * the corpus's size. The goal (issue 4) is under 5 s on the 2-core machine.
 *
 *   bench_corpus_build [runs] [threads...]   (defaults: 5 runs; all cores, then 1)
 *   env TG_SHARED_DATA overrides the data folder (default ../shared/data
 *   from the source tree)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "data/data.h"

#include "bench.h"

#ifndef TG_BENCH_SHARED_DATA
#define TG_BENCH_SHARED_DATA "../shared/data"
#endif

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 100) {
        fprintf(stderr, "usage: bench_corpus_build [runs 1..100] [threads...]\n");
        return 1;
    }
    const char *shared = getenv("TG_SHARED_DATA");
    if (!shared) shared = TG_BENCH_SHARED_DATA;
    char dir[1024], split[1024], out[64];
    snprintf(dir, sizeof dir, "%s/nottingham/full", shared);
    snprintf(split, sizeof split, "%s/nottingham/split.tsv", shared);
    if (access(dir, R_OK) != 0 || access(split, R_OK) != 0) {
        printf("skipped: %s or %s not found (set TG_SHARED_DATA)\n", dir, split);
        return 0;
    }
    snprintf(out, sizeof out, "/tmp/tg_bench_corpus_%ld.corpus", (long)getpid());
    int thread_list[16] = {0, 1};
    int n_threads = 2;
    if (argc > 2) {
        n_threads = 0;
        for (int i = 2; i < argc && n_threads < 16; i++) thread_list[n_threads++] = atoi(argv[i]);
    }
    printf("data build: remi corpus of %s with %s, %d runs each\n", dir, split, runs);
    const char *dirs[] = {dir};
    for (int k = 0; k < n_threads; k++) {
        double t[100];
        data_build_report rep;
        for (int r = 0; r < runs; r++) {
            data_build_options o = data_build_options_default();
            o.split_path = split;
            o.threads = thread_list[k];
            data_error err;
            double t0 = tg_now_sec();
            tg_status st = data_build(dirs, 1, out, &o, &rep, &err);
            t[r] = tg_now_sec() - t0;
            if (st != TG_OK) {
                fprintf(stderr, "data build failed: %s\n", err.what);
                remove(out);
                return 1;
            }
        }
        double med = bench_median(t, runs);
        char label[16] = "all";
        if (thread_list[k]) snprintf(label, sizeof label, "%d", thread_list[k]);
        printf("threads %-4s median %.3f s  min %.3f s  max %.3f s  (%zu files, %zu tokens, "
               "%.0f files/s)\n",
               label, med, t[0], t[runs - 1], rep.files_read,
               rep.tokens[0] + rep.tokens[1] + rep.tokens[2], (double)rep.files_read / med);
    }
    remove(out);
    return 0;
}
