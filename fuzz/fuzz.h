/*
 * fuzz.h: what the fuzz entry points (fuzz/fuzz_*.c) share: the libFuzzer
 * entry point's prototype and EXPECT, which prints the file, line, condition
 * and a formatted reason and aborts, which libFuzzer reports as a crash (and
 * the replay driver, replay.c, as a failed test).
 */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define EXPECT(cond, ...)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif /* TG_FUZZ_H */
