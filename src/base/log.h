/*
 * log.h - structured logging: one JSON object per line on stdout (DESIGN.md §6).
 *
 *   LOG(LOG_INFO, "snapshot.created", LF_S("instance_id", id), LF_I("volumes", 2));
 *
 * Every line starts with "ts", "level", "event", then the typed fields in the order given. LOG_FORMAT=text
 * gives "ts LEVEL event key=value ..." for humans at a terminal.
 *
 * Secrets are kept out by construction (they live in base/secret.h holders that have no log accessor), and a
 * safety net here replaces the value of any field whose key names a secret ("secret", "token", "password",
 * "authorization", "signature", "credential") with "[redacted]".
 */
#ifndef SV_BASE_LOG_H
#define SV_BASE_LOG_H

#include "base/span.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };
enum log_format { LOG_FORMAT_JSON = 0, LOG_FORMAT_TEXT };

enum log_ftype { LOGF_STR, LOGF_SPAN, LOGF_I64, LOGF_U64, LOGF_BOOL, LOGF_DBL, LOGF_RAW };

struct log_field {
    const char *key;
    enum log_ftype type;
    union {
        const char *s; /* NULL is written as null */
        struct span sp;
        int64_t i;
        uint64_t u;
        bool b;
        double d;
    } v;
};

#define LF_S(k, x) ((struct log_field){ .key = (k), .type = LOGF_STR, .v.s = (x) })
#define LF_SP(k, x) ((struct log_field){ .key = (k), .type = LOGF_SPAN, .v.sp = (x) })
#define LF_I(k, x) ((struct log_field){ .key = (k), .type = LOGF_I64, .v.i = (int64_t) (x) })
#define LF_U(k, x) ((struct log_field){ .key = (k), .type = LOGF_U64, .v.u = (uint64_t) (x) })
#define LF_B(k, x) ((struct log_field){ .key = (k), .type = LOGF_BOOL, .v.b = (x) })
#define LF_D(k, x) ((struct log_field){ .key = (k), .type = LOGF_DBL, .v.d = (x) })
/* A value that is already valid JSON (an object or array built with codec/json). */
#define LF_RAW(k, x) ((struct log_field){ .key = (k), .type = LOGF_RAW, .v.sp = (x) })

struct log_config {
    enum log_format format;
    enum log_level min_level;
    FILE *out; /* stdout when NULL */
};

void log_configure(const struct log_config *cfg);
bool log_enabled(enum log_level level);
const char *log_level_name(enum log_level level);
/* Parses "debug", "info", "warn"/"warning", "error", "off" (case-insensitive). Returns false if unknown. */
bool log_level_parse(struct span s, enum log_level *out);

void log_emit(enum log_level level, const char *event, const struct log_field *fields, size_t nfields);

#define LOG(level, event, ...)                                                                                         \
    log_emit(                                                                                                          \
      (level),                                                                                                         \
      (event),                                                                                                         \
      (const struct log_field[]){ __VA_ARGS__ },                                                                       \
      sizeof((const struct log_field[]){ __VA_ARGS__ }) / sizeof(struct log_field))
#define LOG0(level, event) log_emit((level), (event), NULL, 0)

/*
 * Context fields written on every line after "event" until cleared (multi-account runs: account_id and region of
 * the target being worked on). String fields only; keys must be static; values are copied (at most
 * LOG_CONTEXT_VALUE_MAX bytes). A line that sets a key itself keeps its own value. Single-threaded, like the rest.
 */
#define LOG_CONTEXT_MAX 4
#define LOG_CONTEXT_VALUE_MAX 63
void log_context_set(const struct log_field *fields, size_t n);
void log_context_clear(void);

/* True if the key names a secret and its value must never be printed. Exposed for tests. */
bool log_key_is_secret(const char *key);

#endif
