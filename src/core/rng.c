/*
 * rng.c: xoshiro256** (Blackman & Vigna, https://prng.di.unimi.it/), seeded
 * through splitmix64. Every consumer of randomness gets its own tg_rng, so
 * a run is reproducible from its seed whatever the thread count.
 */
#include <math.h>

#include "tunegan.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void tg_rng_seed(tg_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->state[i] = splitmix64(&x);
}

uint64_t tg_rng_u64(tg_rng *rng)
{
    uint64_t *s = rng->state;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Lemire's nearly divisionless method, with rejection so the result is unbiased. */
uint32_t tg_rng_below(tg_rng *rng, uint32_t n)
{
    uint64_t m = (tg_rng_u64(rng) >> 32) * (uint64_t)n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (tg_rng_u64(rng) >> 32) * (uint64_t)n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float tg_rng_float(tg_rng *rng) { return (float)(tg_rng_u64(rng) >> 40) * (1.0f / 16777216.0f); }

/* Box-Muller; one of the pair is dropped so the stream stays stateless beyond xoshiro. */
float tg_rng_normal(tg_rng *rng)
{
    double u1 = ((double)(tg_rng_u64(rng) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(tg_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
