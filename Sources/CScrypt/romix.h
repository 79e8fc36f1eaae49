// scrypt's ROMix (RFC 7914 §5) with an SSE2 Salsa20/8. Header-only: nothing to link.
// SwiftPM does not track this header: after editing it, touch Sources/LifeboatCore/Scrypt.swift.
//
// Swift's generic SIMD types compile vector shifts lane by lane here, which made a Swift
// SIMD Salsa20/8 slower than the scalar one; these intrinsics are single instructions.
// With SSE2 the words of each 64-byte block are kept in diagonal order, so that the four
// quarter-rounds of a column (or row) round are the four lanes of one vector and a round is
// four vector steps; XOR and copy do not care about the order, and Integerify reads word 0,
// which stays in place.
#ifndef LIFEBOAT_ROMIX_H
#define LIFEBOAT_ROMIX_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__SSE2__)

// Block word i holds Salsa20 word lifeboat_diagonal[i]: rows of the 4x4 state read along
// the diagonals (x0 x5 x10 x15 | x4 x9 x14 x3 | x8 x13 x2 x7 | x12 x1 x6 x11).
static const uint8_t lifeboat_diagonal[16] = {0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11};

#define LIFEBOAT_ROTL(v, n) _mm_xor_si128(_mm_slli_epi32((v), (n)), _mm_srli_epi32((v), 32 - (n)))

// One quarter-round on four lanes at once: b ^= (a+d) <<< 7, c ^= (b+a) <<< 9,
// d ^= (c+b) <<< 13, a ^= (d+c) <<< 18.
static inline void lifeboat_quarter_rounds(__m128i *a, __m128i *b, __m128i *c, __m128i *d) {
    *b = _mm_xor_si128(*b, LIFEBOAT_ROTL(_mm_add_epi32(*a, *d), 7));
    *c = _mm_xor_si128(*c, LIFEBOAT_ROTL(_mm_add_epi32(*b, *a), 9));
    *d = _mm_xor_si128(*d, LIFEBOAT_ROTL(_mm_add_epi32(*c, *b), 13));
    *a = _mm_xor_si128(*a, LIFEBOAT_ROTL(_mm_add_epi32(*d, *c), 18));
}

static inline void lifeboat_salsa20_8(__m128i b[4]) {
    __m128i x0 = b[0], x1 = b[1], x2 = b[2], x3 = b[3];
    for (int i = 0; i < 4; i++) {
        // Column round: lane k of x0..x3 is (a, b, c, d) of column k.
        lifeboat_quarter_rounds(&x0, &x1, &x2, &x3);
        // Turn the lanes so that lane k holds row k: then x3 is its b, x2 its c, x1 its d.
        x1 = _mm_shuffle_epi32(x1, 0x93);
        x2 = _mm_shuffle_epi32(x2, 0x4E);
        x3 = _mm_shuffle_epi32(x3, 0x39);
        lifeboat_quarter_rounds(&x0, &x3, &x2, &x1);
        x1 = _mm_shuffle_epi32(x1, 0x39);
        x2 = _mm_shuffle_epi32(x2, 0x4E);
        x3 = _mm_shuffle_epi32(x3, 0x93);
    }
    b[0] = _mm_add_epi32(b[0], x0);
    b[1] = _mm_add_epi32(b[1], x1);
    b[2] = _mm_add_epi32(b[2], x2);
    b[3] = _mm_add_epi32(b[3], x3);
}

// BlockMix: Salsa20/8 chained over the 2r blocks of `in`, even outputs first.
static inline void lifeboat_block_mix(const __m128i *in, __m128i *out, size_t r) {
    __m128i t[4];
    for (int k = 0; k < 4; k++) t[k] = in[(2 * r - 1) * 4 + k];
    for (size_t i = 0; i < 2 * r; i++) {
        for (int k = 0; k < 4; k++) t[k] = _mm_xor_si128(t[k], in[i * 4 + k]);
        lifeboat_salsa20_8(t);
        __m128i *o = out + ((i & 1) ? r + i / 2 : i / 2) * 4;
        for (int k = 0; k < 4; k++) o[k] = t[k];
    }
}

/// ROMix over one lane `b` of 32·r host-order words. `v` holds every 2^shift-th of the N
/// rows (N·32·r >> shift words); a row in between is recomputed from the stored one before
/// it, by up to 2^shift - 1 BlockMix steps (the usual time-memory trade: shift 1 halves the
/// table for a quarter more work). `xy` (128·r words) is scratch: x, y and two rows for the
/// recomputation; all 16-byte aligned. N is a power of two below 2^32, at least 2^shift.
static inline void lifeboat_scrypt_romix(uint32_t *b, size_t r, uint64_t n, unsigned shift, uint32_t *v, uint32_t *xy) {
    const size_t words = 32 * r, vectors = 8 * r;
    const uint64_t between = ((uint64_t)1 << shift) - 1;
    __m128i *x = (__m128i *)xy, *y = (__m128i *)(xy + words), *table = (__m128i *)v;
    __m128i *step[2] = {(__m128i *)(xy + 2 * words), (__m128i *)(xy + 3 * words)};
    uint32_t *xw = xy;
    for (size_t block = 0; block < 2 * r; block++)
        for (int i = 0; i < 16; i++) xw[block * 16 + i] = b[block * 16 + lifeboat_diagonal[i]];
    for (uint64_t i = 0; i < n; i++) {
        if ((i & between) == 0) memcpy(table + (i >> shift) * vectors, x, words * 4);
        lifeboat_block_mix(x, y, r);
        __m128i *swap = x; x = y; y = swap;
    }
    for (uint64_t i = 0; i < n; i++) {
        const uint32_t j = ((const uint32_t *)x)[(2 * r - 1) * 16] & (uint32_t)(n - 1);
        const __m128i *row = table + (size_t)(j >> shift) * vectors;
        for (uint64_t s = 0; s < (j & between); s++) {
            lifeboat_block_mix(row, step[s & 1], r);
            row = step[s & 1];
        }
        for (size_t k = 0; k < vectors; k++) x[k] = _mm_xor_si128(x[k], row[k]);
        lifeboat_block_mix(x, y, r);
        __m128i *swap = x; x = y; y = swap;
    }
    const uint32_t *result = (const uint32_t *)x;
    for (size_t block = 0; block < 2 * r; block++)
        for (int i = 0; i < 16; i++) b[block * 16 + lifeboat_diagonal[i]] = result[block * 16 + i];
}

#define LIFEBOAT_ROMIX_SIMD 1

#else
#define LIFEBOAT_ROMIX_SIMD 0
#endif

#endif
