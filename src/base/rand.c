/*
 * rand.c - kernel randomness. getrandom(2) blocks only before the pool is initialised at boot, which a
 * container never sees.
 */
#include "base/rand.h"

#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

void rand_bytes(void *p, size_t n) {
    unsigned char *out = p;
    while (n > 0) {
        ssize_t got = getrandom(out, n, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            FATAL("getrandom failed");
        }
        out += got;
        n -= (size_t) got;
    }
}

uint64_t rand_u64(void) {
    uint64_t v;
    rand_bytes(&v, sizeof(v));
    return v;
}

double rand_unit(void) {
    return (double) (rand_u64() >> 11) * (1.0 / 9007199254740992.0);
}

void rand_uuid4(char out[RAND_UUID_LEN + 1]) {
    unsigned char b[16];
    rand_bytes(b, sizeof(b));
    b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);
    snprintf(
      out,
      RAND_UUID_LEN + 1,
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      b[0],
      b[1],
      b[2],
      b[3],
      b[4],
      b[5],
      b[6],
      b[7],
      b[8],
      b[9],
      b[10],
      b[11],
      b[12],
      b[13],
      b[14],
      b[15]);
}
