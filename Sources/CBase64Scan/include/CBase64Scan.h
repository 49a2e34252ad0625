#ifndef CBASE64SCAN_H
#define CBASE64SCAN_H
#include <stddef.h>
#include <stdint.h>

/// The number of leading bytes of p[0..<n] that are characters of the base64 alphabet
/// (A–Z, a–z, 0–9, +, /). Sixteen bytes per step with SSE2 where the CPU has it (every x86-64),
/// one at a time elsewhere.
size_t rathaus_base64_alphabet_run(const uint8_t *p, size_t n);

#endif
