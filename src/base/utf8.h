/*
 * utf8.h - decoding and encoding one UTF-8 sequence (RFC 3629), for the JSON and XML readers and for the
 * logger's JSON strings. One implementation, so the three agree on what valid UTF-8 is.
 */
#ifndef SV_BASE_UTF8_H
#define SV_BASE_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_MAX_SEQ 4

/*
 * Decodes the sequence at p (n >= 1 bytes available): returns its length (1-4) and sets *cp, or returns 0 when
 * it is not valid UTF-8 — a bad lead or continuation byte, a truncated sequence, an overlong form, a surrogate,
 * or a value past U+10FFFF ("RFC 3629 §3"). cp may be NULL.
 */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* Writes the scalar value cp (the caller has checked it: <= U+10FFFF, not a surrogate); returns 1-4. */
size_t utf8_encode(uint32_t cp, char out[UTF8_MAX_SEQ]);

#endif
