/*
 * err.c - error names and the diagnostic "where was it raised" record.
 *
 * The record is overwritten by every raise; callers that want to keep a message copy it before the next call.
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct err_site s_last;

static const char *const s_names[ERR__COUNT] = {
    [ERR_OK] = "ok",
    [ERR_NOMEM] = "nomem",
    [ERR_INVALID] = "invalid",
    [ERR_LIMIT] = "limit",
    [ERR_PARSE] = "parse",
    [ERR_IO] = "io",
    [ERR_NET] = "net",
    [ERR_TIMEOUT] = "timeout",
    [ERR_TLS] = "tls",
    [ERR_HTTP] = "http",
    [ERR_AWS] = "aws",
    [ERR_AUTH] = "auth",
    [ERR_NOT_FOUND] = "not_found",
    [ERR_CONFIG] = "config",
    [ERR_CREDS] = "creds",
    [ERR_CANCELLED] = "cancelled",
};

const char *err_name(enum err e) {
    if ((int) e < 0 || e >= ERR__COUNT || s_names[e] == NULL) {
        return "unknown";
    }
    return s_names[e];
}

const struct err_site *err_last(void) {
    return &s_last;
}

void err_clear(void) {
    memset(&s_last, 0, sizeof(s_last));
}

enum err err_raise(enum err e, const char *file, int line, const char *fmt, ...) {
    s_last.code = e;
    s_last.file = file;
    s_last.line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s_last.msg, sizeof(s_last.msg), fmt, ap);
    va_end(ap);
    return e;
}

void sv_fatal(const char *file, int line, const char *what) {
    /* stdout carries the JSON log; a fatal line goes there too so log shippers see it, then stderr for humans. */
    fflush(stdout);
    fprintf(stdout, "{\"level\":\"fatal\",\"event\":\"fatal\",\"what\":\"%s\",\"at\":\"%s:%d\"}\n", what, file, line);
    fflush(stdout);
    fprintf(stderr, "smartvault: fatal: %s (%s:%d)\n", what, file, line);
    exit(70);
}
