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

size_t rathaus_base64_alphabet_run(const uint8_t *p, size_t n) {
    size_t i = 0;
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
