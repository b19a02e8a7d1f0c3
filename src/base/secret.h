/*
 * secret.h - a fixed-size holder for secret strings (secret access keys, session tokens, bearer tokens).
 *
 * Secrets live outside the cycle arena, in these holders, so they can be wiped deterministically
 * (secret_wipe, and at exit). There is deliberately no function that formats a secret for a log: code that
 * logs takes spans, and a secret is only ever read with secret_span() at the signing or header boundary.
 */
#ifndef SV_BASE_SECRET_H
#define SV_BASE_SECRET_H

#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>

/* Session tokens from STS can be a few KiB; 8 KiB leaves room. */
#define SECRET_MAX 8192

struct secret {
    size_t len;
    bool set;
    char value[SECRET_MAX + 1];
};

enum err secret_set(struct secret *s, struct span v) SV_MUST_CHECK;
struct span secret_span(const struct secret *s);
void secret_wipe(struct secret *s);

#endif
