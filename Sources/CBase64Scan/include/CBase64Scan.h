#ifndef CBASE64SCAN_H
#define CBASE64SCAN_H
#include <stddef.h>
#include <stdint.h>

/// The number of leading bytes of p[0..<n] that are characters of the base64 alphabet
/// (A–Z, a–z, 0–9, +, /). Sixteen bytes per step with SSE2 where the CPU has it (every x86-64),
/// one at a time elsewhere.
size_t rathaus_base64_alphabet_run(const uint8_t *p, size_t n);

/// The offset of the first occurrence of needle[0..<m] in p[0..<n], or n when there is none
/// (glibc's memmem, which Swift does not import without _GNU_SOURCE).
size_t rathaus_find(const uint8_t *p, size_t n, const uint8_t *needle, size_t m);

#endif
