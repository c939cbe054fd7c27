/*
 * bf16_x86.h: what the AVX512-BF16 kernels of src/nn share (matvec_bf16.c,
 * attend_bf16.c): the target their functions are compiled for, and the lane
 * sums of eight vectors at once. Included only where <immintrin.h> and the
 * GNU target attribute are available (x86-64 with gcc or clang).
 */
#ifndef TG_NN_BF16_X86_H
#define TG_NN_BF16_X86_H

#include <immintrin.h>

#define NN_BF16_TARGET __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/* The lane sums of a[0..7] as one vector of 8 (out[i] = sum of a[i]'s 16
 * lanes): fold each to 8 lanes, then pairwise horizontal adds, about a third
 * of the instructions of eight separate reductions. Every row's sum is folded
 * in the same order, whichever lane it lands in. */
NN_BF16_TARGET static inline __m256 nn_reduce8x16(const __m512 a[8])
{
    __m256 h[8];
    for (int i = 0; i < 8; i++)
        h[i] = _mm256_add_ps(_mm512_castps512_ps256(a[i]),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a[i]), 1)));
    __m256 h01 = _mm256_hadd_ps(h[0], h[1]), h23 = _mm256_hadd_ps(h[2], h[3]);
    __m256 h45 = _mm256_hadd_ps(h[4], h[5]), h67 = _mm256_hadd_ps(h[6], h[7]);
    __m256 q0 = _mm256_hadd_ps(h01, h23), q1 = _mm256_hadd_ps(h45, h67);
    return _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20), _mm256_permute2f128_ps(q0, q1, 0x31));
}

#endif /* TG_NN_BF16_X86_H */
