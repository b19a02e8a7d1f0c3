/*
 * rand.h - randomness from the kernel (getrandom), for backoff jitter and ids. rand() is banned: its state is
 * global and predictable. Tests that need repeatable jitter inject their own generator (see net/retry.h).
 */
#ifndef SV_BASE_RAND_H
#define SV_BASE_RAND_H

#include <stddef.h>
#include <stdint.h>

#define RAND_UUID_LEN 36

/* Fills p with n random bytes; fatal if the kernel cannot provide them. */
void rand_bytes(void *p, size_t n);
uint64_t rand_u64(void);
/* Uniform double in [0, 1). */
double rand_unit(void);
/* A version 4 UUID, lowercase: out must hold 37 bytes. */
void rand_uuid4(char out[RAND_UUID_LEN + 1]);

#endif
