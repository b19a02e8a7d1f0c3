/*
 * cfg_typo.c - unknown variables that look like ours (the rules are in cfg_typo.h).
 *
 * The known names are read from cfg.c's variable table at run time (cfg_var_info), never copied, so a variable
 * added there is covered at once. This file decides only whether one name is suspect; cfg.c walks the
 * environment and writes the error line. It does not look at values (they may be secrets).
 */
#include "cfg/cfg_typo.h"

#include "cfg/cfg_vars.h"

#include <string.h>

#define S_PREFIX "SMARTVAULT_"

static char s_upper(char c) {
    return c >= 'a' && c <= 'z' ? (char) (c - 'a' + 'A') : c;
}

static size_t s_min3(size_t a, size_t b, size_t c) {
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

size_t cfg_typo_distance(struct span a, struct span b, size_t cap) {
    if (a.n > CFG_TYPO_NAME_MAX || b.n > CFG_TYPO_NAME_MAX) {
        return cap + 1;
    }
    unsigned char d[CFG_TYPO_NAME_MAX + 1][CFG_TYPO_NAME_MAX + 1]; /* distances never exceed 64 */
    for (size_t i = 0; i <= a.n; i++) {
        d[i][0] = (unsigned char) i;
    }
    for (size_t j = 0; j <= b.n; j++) {
        d[0][j] = (unsigned char) j;
    }
    for (size_t i = 1; i <= a.n; i++) {
        for (size_t j = 1; j <= b.n; j++) {
            size_t cost = s_upper(a.p[i - 1]) == s_upper(b.p[j - 1]) ? 0 : 1;
            d[i][j] = (unsigned char) s_min3(d[i - 1][j] + 1u, d[i][j - 1] + 1u, d[i - 1][j - 1] + cost);
            if (
              i > 1 && j > 1 && s_upper(a.p[i - 1]) == s_upper(b.p[j - 2]) &&
              s_upper(a.p[i - 2]) == s_upper(b.p[j - 1]) && d[i - 2][j - 2] + 1 < d[i][j]) {
                d[i][j] = (unsigned char) (d[i - 2][j - 2] + 1); /* two adjacent letters swapped */
            }
        }
    }
    return d[a.n][b.n] > cap ? cap + 1 : d[a.n][b.n];
}

/* Variable names as shells write them; anything else is not one of ours. */
static bool s_is_name(struct span s) {
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}

static bool s_all_digits(struct span s) {
    if (s.n == 0) {
        return false;
    }
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') {
            return false;
        }
    }
    return true;
}

/* "<n>_TCP", "<n>_UDP", "<n>_SCTP", each optionally followed by "_PROTO", "_PORT" or "_ADDR". */
static bool s_port_link_tail(struct span s) {
    long us = span_index(s, '_');
    if (us <= 0 || !s_all_digits(span_sub(s, 0, (size_t) us))) {
        return false;
    }
    struct span rest = span_sub(s, (size_t) us + 1, s.n - (size_t) us - 1);
    static const char *const protos[] = { "TCP", "UDP", "SCTP" };
    static const char *const parts[] = { "", "_PROTO", "_PORT", "_ADDR" };
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
        for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++) {
            size_t pn = strlen(protos[i]), kn = strlen(parts[k]);
            if (rest.n == pn + kn && memcmp(rest.p, protos[i], pn) == 0 && memcmp(rest.p + pn, parts[k], kn) == 0) {
                return true;
            }
        }
    }
    return false;
}

/*
 * The variables Kubernetes injects for every Service in the namespace (docker links style): <SVC>_SERVICE_HOST,
 * <SVC>_SERVICE_PORT, <SVC>_SERVICE_PORT_<PORTNAME>, <SVC>_PORT, <SVC>_PORT_<n>_<PROTO>[_PROTO|_PORT|_ADDR].
 */
static bool s_service_link(struct span name) {
    for (size_t i = 1; i < name.n; i++) {
        if (name.p[i - 1] != '_') {
            continue;
        }
        struct span tail = span_sub(name, i, name.n - i);
        if (span_eq_cstr(tail, "SERVICE_HOST") || span_eq_cstr(tail, "SERVICE_PORT") || span_eq_cstr(tail, "PORT")) {
            return true;
        }
        if (span_starts_with(tail, SPAN_LIT("SERVICE_PORT_")) && tail.n > 13) {
            return true;
        }
        if (span_starts_with(tail, SPAN_LIT("PORT_")) && s_port_link_tail(span_sub(tail, 5, tail.n - 5))) {
            return true;
        }
    }
    return false;
}

/* Names others set on purpose that sit close to ours. */
static bool s_foreign(struct span name) {
    static const char *const exact[] = { "http_proxy", "https_proxy", "no_proxy", "all_proxy", "ALL_PROXY" };
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        if (span_eq_cstr(name, exact[i])) {
            return true;
        }
    }
    /* The AWS SDKs' per-service endpoints: any service, of which SmartVault reads six. */
    return span_starts_with(name, SPAN_LIT("AWS_ENDPOINT_URL_")) || s_service_link(name);
}

/* How far a name may be from a known one: one edit for short names, two from 9 characters on. */
static size_t s_allowed(size_t n) {
    return n >= 9 ? 2 : 1;
}

bool cfg_typo_suspect(struct span name, const char **suggest) {
    *suggest = NULL;
    if (name.n == 0 || name.n > CFG_TYPO_NAME_MAX || !s_is_name(name)) {
        return false;
    }
    size_t best = (size_t) -1;
    for (size_t v = 0; v < CFG_VAR__COUNT; v++) {
        const char *known = cfg_var_info((enum cfg_var) v)->name;
        struct span k = span_from_cstr(known);
        if (span_eq(name, k)) {
            return false;
        }
        size_t cap = s_allowed(k.n);
        size_t d = cfg_typo_distance(name, k, cap);
        if (d <= cap && d < best) {
            best = d;
            *suggest = known;
        }
    }
    if (s_foreign(name)) {
        *suggest = NULL;
        return false;
    }
    return *suggest != NULL || span_starts_with(name, SPAN_LIT(S_PREFIX));
}
