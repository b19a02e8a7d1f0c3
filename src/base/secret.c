/*
 * secret.c - wipeable secret holders. explicit_bzero cannot be optimised away.
 */
#include "base/secret.h"

#include <string.h>

enum err secret_set(struct secret *s, struct span v) {
    secret_wipe(s);
    ENSURE(v.n <= SECRET_MAX, ERR_LIMIT, "secret longer than %d bytes", SECRET_MAX);
    if (v.n) {
        memcpy(s->value, v.p, v.n);
    }
    s->value[v.n] = '\0';
    s->len = v.n;
    s->set = true;
    return ERR_OK;
}

struct span secret_span(const struct secret *s) {
    return (struct span){ s->value, s->set ? s->len : 0 };
}

void secret_wipe(struct secret *s) {
    explicit_bzero(s, sizeof(*s));
}
