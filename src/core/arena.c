/*
 * arena.c: a bump arena. One block is allocated (and zeroed) when the arena is
 * created, by calloc, so that pages no activation ever touches cost no memory
 * (a model's arena is sized for its longest forward pass: an fc model with a
 * 4,096-token context generating a short tune touches a small part of it); tg_arena_alloc hands out 64-byte aligned pieces of it in order, and
 * tg_arena_reset (or tg_arena_rewind to a mark) takes them all back at once.
 * Models keep their activations in one arena sized when they are created, so a
 * training step never calls malloc. Nothing here is thread-safe: one arena
 * belongs to one thread of control at a time.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core.h"

struct tg_arena {
    void *raw;           /* calloc's block, TG_ARENA_ALIGN bytes longer than size */
    unsigned char *base; /* TG_ARENA_ALIGN-aligned block of size bytes inside it */
    size_t size;
    size_t used;      /* bytes handed out, a multiple of TG_ARENA_ALIGN */
    size_t high;      /* largest used seen since creation */
};

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

tg_status tg_arena_create(size_t size, tg_arena **out)
{
    *out = NULL;
    if (size > SIZE_MAX - TG_ARENA_ALIGN) return TG_ERR_NOMEM;
    size = round_up(size, TG_ARENA_ALIGN);
    tg_arena *a = calloc(1, sizeof *a);
    if (!a) return TG_ERR_NOMEM;
    if (size > 0) {
        /* Zeroed (calloc), so that a kernel reading memory nobody wrote behaves
         * the same on every run instead of depending on what malloc left
         * there; calloc's large blocks are fresh zero pages, touched only when
         * written. */
        a->raw = calloc(1, size + TG_ARENA_ALIGN);
        if (!a->raw) {
            free(a);
            return TG_ERR_NOMEM;
        }
        a->base = (unsigned char *)round_up((size_t)(uintptr_t)a->raw, TG_ARENA_ALIGN);
    }
    a->size = size;
    *out = a;
    return TG_OK;
}

void tg_arena_free(tg_arena *a)
{
    if (!a) return;
    free(a->raw);
    free(a);
}

void *tg_arena_alloc(tg_arena *a, size_t bytes)
{
    /* a zero-byte request takes nothing and returns the current position */
    if (bytes > SIZE_MAX - TG_ARENA_ALIGN) return NULL;
    size_t n = round_up(bytes, TG_ARENA_ALIGN);
    if (!a->base || n > a->size - a->used) return NULL;
    void *p = a->base + a->used;
    a->used += n;
    if (a->used > a->high) a->high = a->used;
    return p;
}

float *tg_arena_alloc_floats(tg_arena *a, size_t n)
{
    if (n > SIZE_MAX / sizeof(float)) return NULL;
    return tg_arena_alloc(a, n * sizeof(float));
}

void tg_arena_reset(tg_arena *a) { a->used = 0; }

size_t tg_arena_mark(const tg_arena *a) { return a->used; }

void tg_arena_rewind(tg_arena *a, size_t mark)
{
    if (mark < a->used) a->used = mark;
}

size_t tg_arena_used(const tg_arena *a) { return a->used; }
size_t tg_arena_size(const tg_arena *a) { return a->size; }
size_t tg_arena_high_water(const tg_arena *a) { return a->high; }
