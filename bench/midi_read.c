/*
 * midi_read.c: how fast the MIDI reader reads a folder of files and extracts
 * their notes (tg_midi_read_file: the file read from disk, parsed, notes
 * paired and sorted). Prints files, notes, and the time of the whole folder:
 * the median of 5 repetitions, after one warm-up pass (the page cache is
 * warm, so this measures the reader, not the disk).
 *
 * usage: bench_midi_read [FOLDER]   (default: ../shared/data/nottingham/full
 * beside the repository; skipped with a message when it is absent)
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#include "bench.h"

#define REPEATS 5

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One pass over every file; returns the seconds taken, or -1 after an error. */
static double read_all(char **paths, size_t n, size_t *notes)
{
    double t0 = tg_now_sec();
    *notes = 0;
    for (size_t i = 0; i < n; i++) {
        tg_score *s = NULL;
        tg_midi_error err;
        tg_status st = tg_midi_read_file(paths[i], NULL, &s, NULL, &err);
        if (st != TG_OK) {
            fprintf(stderr, "bench_midi_read: %s: %s\n", paths[i], err.what);
            return -1;
        }
        *notes += tg_score_note_count(s);
        tg_score_free(s);
    }
    return tg_now_sec() - t0;
}

int main(int argc, char **argv)
{
    char dflt[4096];
    const char *dir = argc > 1 ? argv[1] : NULL;
    if (argc > 2 || (dir && dir[0] == '-')) {
        fprintf(stderr, "usage: bench_midi_read [FOLDER]\n");
        return 2;
    }
    if (!dir) {
        /* the repository is two levels above this file */
        snprintf(dflt, sizeof dflt, "%s", __FILE__);
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(dflt, '/');
            if (slash) *slash = 0;
        }
        strncat(dflt, "/../shared/data/nottingham/full", sizeof dflt - strlen(dflt) - 1);
        dir = dflt;
    }
    DIR *d = opendir(dir);
    if (!d) {
        printf("bench_midi_read: skipped, %s is not present\n", dir);
        return 0;
    }
    char **paths = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".mid") != 0) continue;
        if (tg_grow((void **)&paths, &cap, n + 1, sizeof *paths) != TG_OK) break;
        size_t plen = strlen(dir) + len + 2;
        paths[n] = malloc(plen);
        if (!paths[n]) break;
        snprintf(paths[n], plen, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(paths, n, sizeof *paths, cmp_str);

    size_t notes = 0;
    double times[REPEATS];
    int status = 0;
    if (read_all(paths, n, &notes) < 0) status = 1; /* warm-up */
    for (int r = 0; r < REPEATS && !status; r++) {
        times[r] = read_all(paths, n, &notes);
        if (times[r] < 0) status = 1;
    }
    if (!status) {
        double total = 0;
        for (int r = 0; r < REPEATS; r++) total += times[r];
        double med = bench_median(times, REPEATS);
        printf("bench_midi_read: %s\n", dir);
        printf("files %zu, notes %zu\n", n, notes);
        printf("total time of %d repetitions %.3f s; median per repetition %.4f s "
               "(min %.4f, max %.4f)\n", REPEATS, total, med, times[0], times[REPEATS - 1]);
        printf("%.0f files/s, %.1f M notes/s\n", med > 0 ? n / med : 0.0,
               med > 0 ? notes / med / 1e6 : 0.0);
    }
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    return status;
}
