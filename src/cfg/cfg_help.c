/*
 * cfg_help.c - the configuration table (cfg_vars.def) written out for people: the environment part of `--help`,
 * the README's reference table (`smartvault debug cfg-vars --markdown`), and the shared formatting of values
 * (durations, sizes, choices) that `config`, the error lines and the defaults use.
 *
 * Everything here is generated from the table: a variable added there appears in --help and the README table
 * with its range and default, in the same words. It does not parse anything and reads no environment.
 */
#include "cfg/cfg_help.h"

#include "base/span.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* --help layout: names in a 20-column field, lines wrapped at S_WIDTH, continuation lines indented. */
#define S_WIDTH 104
#define S_NAME_COLUMN 22
#define S_TEXT_MAX 1024 /* one variable's generated description */

static const char *const s_group_titles[CFG_GROUP__COUNT] = {
    [CFG_GROUP_EBS] = "EBS snapshots",
    [CFG_GROUP_DRILL] = "restore drill (after the backup, restore N volumes and delete them again)",
    [CFG_GROUP_TARGETS] = "accounts, regions and shards (every account x source region is one target)",
    [CFG_GROUP_RUN] = "run",
    [CFG_GROUP_REPORTING] = "reporting",
    [CFG_GROUP_S3] = "S3 folder backup (runs when a source bucket and at least one route are set)",
    [CFG_GROUP_SDK] = "AWS SDK settings",
    [CFG_GROUP_CREDS] = "credentials and proxies (read by the credentials chain and libcurl; secrets: (set) in config)",
};

void cfg_format_duration(int64_t secs, char *out, size_t cap) {
    static const struct {
        char unit;
        int64_t secs;
    } units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
    size_t used = 0;
    out[0] = '\0';
    if (secs == 0) {
        snprintf(out, cap, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        int64_t n = secs / units[i].secs;
        secs %= units[i].secs;
        if (n > 0 && used < cap) {
            int w = snprintf(out + used, cap - used, "%" PRId64 "%c", n, units[i].unit);
            used += w > 0 ? (size_t) w : 0;
        }
    }
}

static void s_format_size(uint64_t bytes, char *out, size_t cap) {
    if (bytes != 0 && bytes % CFG_GIB == 0) {
        snprintf(out, cap, "%" PRIu64 "GiB", bytes / CFG_GIB);
    } else if (bytes != 0 && bytes % CFG_MIB == 0) {
        snprintf(out, cap, "%" PRIu64 "MiB", bytes / CFG_MIB);
    } else {
        snprintf(out, cap, "%" PRIu64, bytes);
    }
}

bool cfg_choice_name(enum cfg_var v, int64_t index, char *out, size_t cap) {
    struct span rest = span_from_cstr(cfg_var_info(v)->extra), choice = SPAN_NULL;
    for (int64_t i = 0; i <= index; i++) {
        if (rest.n == 0) {
            return false;
        }
        span_split(rest, '|', &choice, &rest); /* the last part: all of it, rest empty */
    }
    snprintf(out, cap, "%.*s", SPAN_FMT(choice));
    return true;
}

void cfg_choices_text(const struct cfg_var_info *t, const char *sep, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (const char *c = t->extra; c != NULL && *c != '\0' && used + 1 < cap; c++) {
        int w = *c == '|' ? snprintf(out + used, cap - used, "%s", sep) : snprintf(out + used, cap - used, "%c", *c);
        used += w > 0 ? (size_t) w : 0;
    }
}

void cfg_format_value(enum cfg_var v, int64_t n, char *out, size_t cap) {
    switch (cfg_var_info(v)->type) {
        case CFG_TYPE_DURATION:
            cfg_format_duration(n, out, cap);
            break;
        case CFG_TYPE_SIZE:
            s_format_size((uint64_t) n, out, cap);
            break;
        case CFG_TYPE_BOOL:
            snprintf(out, cap, "%s", n ? "true" : "false");
            break;
        case CFG_TYPE_CHOICE:
            cfg_choice_name(v, n, out, cap);
            break;
        default:
            snprintf(out, cap, "%" PRId64, n);
            break;
    }
}

void cfg_default_text(enum cfg_var v, char *out, size_t cap) {
    const struct cfg_var_info *t = cfg_var_info(v);
    if (t->default_text != NULL) {
        snprintf(out, cap, "%s", t->default_text);
    } else if (t->def != CFG_NO_DEF) {
        cfg_format_value(v, t->def, out, cap);
    } else {
        snprintf(out, cap, "none");
    }
}

void cfg_range_text(enum cfg_var v, char *out, size_t cap) {
    const struct cfg_var_info *t = cfg_var_info(v);
    char lo[32], hi[32];
    out[0] = '\0';
    switch (t->type) {
        case CFG_TYPE_UINT:
        case CFG_TYPE_DURATION:
        case CFG_TYPE_SIZE:
            cfg_format_value(v, t->min, lo, sizeof(lo));
            cfg_format_value(v, t->max, hi, sizeof(hi));
            if (t->type == CFG_TYPE_DURATION && t->min == 0) {
                snprintf(out, cap, "up to %s", hi);
            } else {
                snprintf(out, cap, "%s-%s", lo, hi);
            }
            break;
        case CFG_TYPE_BOOL:
            snprintf(out, cap, "true|false");
            break;
        case CFG_TYPE_CHOICE:
            cfg_choices_text(t, "|", out, cap);
            break;
        default:
            break;
    }
}

/* The description after the name: help, range, flag, default; or what an alias or a variable read elsewhere is. */
static void s_describe(enum cfg_var v, char *out, size_t cap) {
    const struct cfg_var_info *t = cfg_var_info(v);
    char range[256], def[256];
    cfg_range_text(v, range, sizeof(range));
    cfg_default_text(v, def, sizeof(def));
    if (t->kind == CFG_KIND_ALIAS || t->kind == CFG_KIND_SHOWN) {
        snprintf(out, cap, "%s", t->help);
    } else if (t->kind == CFG_KIND_SECRET) {
        snprintf(out, cap, "%s (secret)", t->help);
    } else {
        snprintf(
          out,
          cap,
          "%s%s%s (%s%sdefault %s)",
          t->help,
          range[0] ? ", " : "",
          range,
          t->flag ? t->flag : "",
          t->flag ? "; " : "",
          def);
    }
}

/* Appends `text` after the name column, wrapped at S_WIDTH on spaces; continuation lines are indented. */
static void s_wrapped(struct buf *b, size_t col, const char *text) {
    const char *p = text;
    while (*p != '\0') {
        size_t room = S_WIDTH > col ? S_WIDTH - col : 20;
        size_t n = strlen(p);
        if (n > room) {
            n = room;
            while (n > 0 && p[n] != ' ' && p[n - 1] != '|') {
                n--; /* break at a space, or after a '|' of a long list of choices */
            }
            n = n == 0 ? room : n;
        }
        buf_appendf(b, "%.*s\n", (int) n, p);
        p += n;
        while (*p == ' ') {
            p++;
        }
        if (*p != '\0') {
            buf_appendf(b, "%*s", S_NAME_COLUMN, "");
            col = S_NAME_COLUMN;
        }
    }
}

void cfg_help(struct buf *out) {
    buf_append_cstr(out, "\nenvironment (12-factor; values are trimmed, an empty value means unset):\n");
    for (int g = 0; g < CFG_GROUP__COUNT; g++) {
        buf_appendf(out, " %s\n", s_group_titles[g]);
        for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
            const struct cfg_var_info *t = cfg_var_info((enum cfg_var) i);
            if ((int) t->group != g) {
                continue;
            }
            char text[S_TEXT_MAX];
            s_describe((enum cfg_var) i, text, sizeof(text));
            size_t name = strlen(t->name);
            size_t col = name + 2 < S_NAME_COLUMN - 1 ? S_NAME_COLUMN : name + 2 + 3;
            buf_appendf(out, "  %-*s", (int) (col - 2), t->name);
            s_wrapped(out, col, text);
        }
    }
}

/* A markdown cell: '|' escaped. */
static void s_cell(struct buf *b, const char *s) {
    for (; *s != '\0'; s++) {
        buf_append_cstr(b, *s == '|' ? "\\|" : (char[]){ *s, '\0' });
    }
}

void cfg_markdown(struct buf *out) {
    buf_append_cstr(out, "| variable | default | meaning |\n| --- | --- | --- |\n");
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        enum cfg_var v = (enum cfg_var) i;
        const struct cfg_var_info *t = cfg_var_info(v);
        char def[256], range[256];
        cfg_default_text(v, def, sizeof(def));
        cfg_range_text(v, range, sizeof(range));
        buf_appendf(out, "| `%s` | ", t->name);
        if (t->kind == CFG_KIND_SETTING) {
            s_cell(out, def);
        }
        buf_append_cstr(out, " | ");
        s_cell(out, t->help);
        if (range[0] != '\0') {
            buf_append_cstr(out, "; ");
            s_cell(out, range);
        }
        if (t->kind == CFG_KIND_SECRET) {
            buf_append_cstr(out, " (secret)");
        }
        buf_append_cstr(out, " |\n");
    }
}
