/*
 * err.h - the one error type of SmartVault.
 *
 * Every fallible function returns `enum err`, marked SV_MUST_CHECK so the compiler makes the caller look at it.
 * The enum is the truth; the macros FAIL/ENSURE/TRY also record where an error was raised (file, line, a short
 * message) in a small process-wide record, so the log line that finally reports it can say where it came from.
 * That record is for diagnostics only: no decision is ever made from it. SmartVault has one thread of its own
 * (libcurl's resolver threads never call back into our code), so the record needs no locking.
 *
 * Exit codes are not chosen here: main.c maps classes of errors to the codes of DESIGN.md §2.
 */
#ifndef SV_BASE_ERR_H
#define SV_BASE_ERR_H

#define SV_MUST_CHECK __attribute__((warn_unused_result))
#define SV_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#define SV_NORETURN _Noreturn

enum err {
    ERR_OK = 0,
    ERR_NOMEM,     /* allocation failed (normally fatal before it gets here) */
    ERR_INVALID,   /* bad argument or input value */
    ERR_LIMIT,     /* a named maximum was exceeded */
    ERR_PARSE,     /* malformed document (XML, JSON, date, number) */
    ERR_IO,        /* local file or pipe error */
    ERR_NET,       /* connection, DNS, reset, truncated transfer */
    ERR_TIMEOUT,   /* a deadline passed */
    ERR_TLS,       /* TLS handshake or certificate verification failed */
    ERR_HTTP,      /* an HTTP status the caller did not expect, without an AWS error document */
    ERR_AWS,       /* AWS returned a typed error document (see aws/error.h) */
    ERR_AUTH,      /* the request was rejected as unauthenticated or unauthorized */
    ERR_NOT_FOUND, /* the thing looked up does not exist */
    ERR_CONFIG,    /* configuration value rejected */
    ERR_CREDS,     /* no credentials could be obtained */
    ERR_CANCELLED, /* work not done because an earlier step failed or a quota ran out */
    ERR__COUNT
};

/* A stable lowercase name for an error ("nomem", "timeout", ...), for log lines. */
const char *err_name(enum err e);

/* Where the most recent FAIL/ENSURE was raised. Diagnostics only. */
struct err_site {
    enum err code;
    const char *file;
    int line;
    char msg[256];
};

const struct err_site *err_last(void);
void err_clear(void);

/* Records the site and returns `e`, so it can be used as `return err_raise(...)`. */
enum err err_raise(enum err e, const char *file, int line, const char *fmt, ...) SV_PRINTF(4, 5);

/* FAIL(code, "fmt", ...): record and return code from the current function. */
#define FAIL(code, ...) return err_raise((code), __FILE__, __LINE__, __VA_ARGS__)

/* ENSURE(cond, code, "fmt", ...): if cond is false, FAIL. */
#define ENSURE(cond, code, ...)                                                                                        \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            FAIL((code), __VA_ARGS__);                                                                                 \
        }                                                                                                              \
    } while (0)

/* TRY(expr): evaluate an enum err expression; return it if it is not ERR_OK. */
#define TRY(expr)                                                                                                      \
    do {                                                                                                               \
        enum err try_e_ = (expr);                                                                                      \
        if (try_e_ != ERR_OK) {                                                                                        \
            return try_e_;                                                                                             \
        }                                                                                                              \
    } while (0)

/* Out of memory and broken invariants are fatal: log one line and exit(70). */
SV_NORETURN void sv_fatal(const char *file, int line, const char *what);
#define FATAL(what) sv_fatal(__FILE__, __LINE__, (what))

#endif
