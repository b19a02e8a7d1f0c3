/*
 * log.c - the line writer. Each line is built in a bounded buffer and written with one fwrite + fflush, so
 * lines never interleave or tear, even if a scheduler kills the process mid-cycle.
 */
#include "base/log.h"

#include "base/buf.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>

/* A single log line longer than this is cut and marked "truncated": true. */
#define LOG_LINE_MAX ((size_t) 64 * 1024)

static struct log_config s_cfg = { LOG_FORMAT_JSON, LOG_INFO, NULL };

void log_configure(const struct log_config *cfg) {
    s_cfg = *cfg;
}

bool log_enabled(enum log_level level) {
    return level >= s_cfg.min_level && level != LOG_OFF;
}

const char *log_level_name(enum log_level level) {
    switch (level) {
        case LOG_DEBUG:
            return "debug";
        case LOG_INFO:
            return "info";
        case LOG_WARN:
            return "warn";
        case LOG_ERROR:
            return "error";
        case LOG_OFF:
            return "off";
    }
    return "unknown";
}

bool log_level_parse(struct span s, enum log_level *out) {
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {
        { "debug", LOG_DEBUG },  { "info", LOG_INFO },   { "warn", LOG_WARN },
        { "warning", LOG_WARN }, { "error", LOG_ERROR }, { "off", LOG_OFF },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (span_eq_nocase(s, span_from_cstr(names[i].name))) {
            *out = names[i].level;
            return true;
        }
    }
    return false;
}

static bool s_contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        if (span_eq_nocase((struct span){ p, strnlen(p, n) }, (struct span){ needle, n })) {
            return true;
        }
    }
    return false;
}

bool log_key_is_secret(const char *key) {
    static const char *const words[] = { "secret", "token", "password", "authorization", "signature", "credential" };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (s_contains_nocase(key, words[i])) {
            return true;
        }
    }
    return false;
}

static void s_value_json(struct buf *b, const struct log_field *f) {
    switch (f->type) {
        case LOGF_STR:
            if (f->v.s == NULL) {
                buf_append_cstr(b, "null");
            } else {
                buf_append_json_string(b, span_from_cstr(f->v.s));
            }
            break;
        case LOGF_SPAN:
            buf_append_json_string(b, f->v.sp);
            break;
        case LOGF_I64:
            buf_appendf(b, "%lld", (long long) f->v.i);
            break;
        case LOGF_U64:
            buf_appendf(b, "%llu", (unsigned long long) f->v.u);
            break;
        case LOGF_BOOL:
            buf_append_cstr(b, f->v.b ? "true" : "false");
            break;
        case LOGF_DBL:
            buf_appendf(b, "%.17g", f->v.d);
            break;
        case LOGF_RAW:
            buf_append_span(b, f->v.sp);
            break;
    }
}

static void s_value_text(struct buf *b, const struct log_field *f) {
    if (f->type == LOGF_STR || f->type == LOGF_SPAN) {
        struct span v = f->type == LOGF_STR ? span_from_cstr(f->v.s ? f->v.s : "") : f->v.sp;
        bool plain = v.n > 0;
        for (size_t i = 0; i < v.n && plain; i++) {
            plain = v.p[i] > ' ' && v.p[i] != '"' && v.p[i] != '=' && v.p[i] != 0x7f;
        }
        if (plain) {
            buf_append_span(b, v);
        } else {
            buf_append_json_string(b, v);
        }
        return;
    }
    s_value_json(b, f);
}

/* ---- context fields (log_context_set) ---- */

static struct {
    struct log_field fields[LOG_CONTEXT_MAX];
    char values[LOG_CONTEXT_MAX][LOG_CONTEXT_VALUE_MAX + 1];
    size_t n;
} s_ctx;

void log_context_set(const struct log_field *fields, size_t n) {
    s_ctx.n = 0;
    for (size_t i = 0; i < n && i < LOG_CONTEXT_MAX; i++) {
        /* Only strings: copied, so the caller's storage may go away. */
        snprintf(s_ctx.values[i], sizeof(s_ctx.values[i]), "%s", fields[i].v.s ? fields[i].v.s : "");
        s_ctx.fields[i] = (struct log_field){ .key = fields[i].key, .type = LOGF_STR, .v.s = s_ctx.values[i] };
        s_ctx.n++;
    }
}

void log_context_clear(void) {
    s_ctx.n = 0;
}

static bool s_has_key(const struct log_field *fields, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(fields[i].key, key) == 0) {
            return true;
        }
    }
    return false;
}

static void s_field(struct buf *b, bool json, const struct log_field *f) {
    struct log_field redacted = { .key = f->key, .type = LOGF_STR, .v.s = "[redacted]" };
    if (log_key_is_secret(f->key)) {
        f = &redacted;
    }
    if (json) {
        buf_append_char(b, ',');
        buf_append_json_string(b, span_from_cstr(f->key));
        buf_append_char(b, ':');
        s_value_json(b, f);
    } else {
        buf_appendf(b, " %s=", f->key);
        s_value_text(b, f);
    }
}

void log_emit(enum log_level level, const char *event, const struct log_field *fields, size_t nfields) {
    if (!log_enabled(level)) {
        return;
    }
    struct buf b;
    buf_init(&b, LOG_LINE_MAX);
    char ts[TIME_ISO8601_LEN + 5];
    time_format_iso8601_ms(time_wall_ms(), ts);
    bool json = s_cfg.format == LOG_FORMAT_JSON;
    if (json) {
        buf_appendf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts, log_level_name(level));
        buf_append_json_string(&b, span_from_cstr(event));
    } else {
        buf_appendf(&b, "%s %-5s %s", ts, log_level_name(level), event);
    }
    /* The context first (minus keys the line sets itself: its own value is the more specific one). */
    for (size_t i = 0; i < s_ctx.n; i++) {
        if (!s_has_key(fields, nfields, s_ctx.fields[i].key)) {
            s_field(&b, json, &s_ctx.fields[i]);
        }
    }
    for (size_t i = 0; i < nfields; i++) {
        s_field(&b, json, &fields[i]);
    }
    if (buf_status(&b) != ERR_OK) {
        /* Too long: say so in a line that is still valid JSON rather than emitting a torn one. */
        buf_reset(&b);
        if (json) {
            buf_appendf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts, log_level_name(level));
            buf_append_json_string(&b, span_from_cstr(event));
            buf_append_cstr(&b, ",\"truncated\":true");
        } else {
            buf_appendf(&b, "%s %-5s %s truncated=true", ts, log_level_name(level), event);
        }
    }
    buf_append_cstr(&b, json ? "}\n" : "\n");
    FILE *out = s_cfg.out ? s_cfg.out : stdout;
    fwrite(buf_cstr(&b), 1, b.len, out);
    fflush(out);
    buf_free(&b);
}
