// Embedded attachments are most of an invoice's bytes, and each must pass libxml2's
// xs:base64Binary rule (see Attachments.swift in XRechnung). Swift's SIMD types were not
// specialised well enough for this loop (the whole validation ran six times slower), so the
// run of alphabet characters between two other bytes is found here.
#define _GNU_SOURCE
#include <string.h>
#include "CBase64Scan.h"

#if defined(__SSE2__)
#include <emmintrin.h>

// A bit per byte of v that is an alphabet character. Signed byte comparisons: bytes of 0x80 and
// above are negative and fall outside every range. Setting bit 5 turns A–Z into a–z and moves
// nothing else into a–z.
static inline int alphabet_mask(__m128i v) {
    __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                    _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
    // '/' (0x2F) and the digits (0x30–0x39) are adjacent
    __m128i digits = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('/' - 1)),
                                   _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i plus = _mm_cmpeq_epi8(v, _mm_set1_epi8('+'));
    return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letters, digits), plus));
}
#endif

static inline int is_alphabet(uint8_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
// The same test on 32 bytes at a time, for CPUs with AVX2 (chosen at run time: the package is
// built without CPU-specific flags).
__attribute__((target("avx2")))
static size_t run_avx2(const uint8_t *p, size_t n) {
    size_t i = 0;
    const __m256i bit5 = _mm256_set1_epi8(0x20), a0 = _mm256_set1_epi8('a' - 1), z1 = _mm256_set1_epi8('z' + 1);
    const __m256i s0 = _mm256_set1_epi8('/' - 1), n1 = _mm256_set1_epi8('9' + 1), plus = _mm256_set1_epi8('+');
    while (i + 32 <= n) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i lower = _mm256_or_si256(v, bit5);
        __m256i letters = _mm256_and_si256(_mm256_cmpgt_epi8(lower, a0), _mm256_cmpgt_epi8(z1, lower));
        __m256i digits = _mm256_and_si256(_mm256_cmpgt_epi8(v, s0), _mm256_cmpgt_epi8(n1, v));
        __m256i ok = _mm256_or_si256(_mm256_or_si256(letters, digits), _mm256_cmpeq_epi8(v, plus));
        unsigned m = (unsigned)_mm256_movemask_epi8(ok);
        if (m != 0xFFFFFFFFu) return i + (size_t)__builtin_ctz(~m);
        i += 32;
    }
    return i;
}

static int has_avx2(void) {
    // (libgcc reads the CPU's features once at start-up; this is a load and a bit test)
    return __builtin_cpu_supports("avx2");
}
#endif

size_t rathaus_base64_alphabet_run(const uint8_t *p, size_t n) {
    size_t i = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    if (n >= 32 && has_avx2()) i = run_avx2(p, n);
    if (i + 32 <= n) return i; // stopped at a byte outside the alphabet
#endif
#if defined(__SSE2__)
    while (i + 16 <= n) {
        int m = alphabet_mask(_mm_loadu_si128((const __m128i *)(p + i)));
        if (m != 0xFFFF) return i + (size_t)__builtin_ctz(~m & 0xFFFF);
        i += 16;
    }
#endif
    while (i < n && is_alphabet(p[i])) i++;
    return i;
}

size_t rathaus_find(const uint8_t *p, size_t n, const uint8_t *needle, size_t m) {
    const void *hit = memmem(p, n, needle, m);
    return hit ? (size_t)((const uint8_t *)hit - p) : n;
}
