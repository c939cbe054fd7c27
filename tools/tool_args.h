/*
 * tools/tool_args.h: the argument parsing the programs in tools/ share (the
 * tunegan CLI has its own option tables in src/cli). Header only: each tool
 * is a single source file.
 */
#ifndef TG_TOOL_ARGS_H
#define TG_TOOL_ARGS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* s as a whole number in [lo, hi] into *out: 0; else prints
 * "<prog>: <flag> must be a whole number in lo..hi, got '<s>'" and returns 1. */
static inline int tool_parse_long(const char *prog, const char *flag, const char *s, long lo,
                                  long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "%s: %s must be a whole number in %ld..%ld, got '%s'\n", prog, flag, lo, hi,
                s);
        return 1;
    }
    *out = v;
    return 0;
}

#endif
