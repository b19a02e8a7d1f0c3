/*
 * cfg_help.h - the configuration table written out for people (cfg_help.c): --help's environment part, the
 * README's reference table, and the formatting of values the table, `config` and the error lines share.
 */
#ifndef SV_CFG_CFG_HELP_H
#define SV_CFG_CFG_HELP_H

#include "base/buf.h"
#include "cfg/cfg_vars.h"

#include <stdbool.h>
#include <stddef.h>

/* Appends the environment part of `--help`: every variable by group, with its range, flag and default. */
void cfg_help(struct buf *out);

/* Appends the README's reference table: "| `NAME` | default | meaning |" per variable, in table order. */
void cfg_markdown(struct buf *out);

/* A duration the way it is accepted: 5400 -> "1h30m", 0 -> "0s". */
void cfg_format_duration(int64_t secs, char *out, size_t cap);

/* `n` written the way variable `v` accepts it (a count, "30m", "64MiB", "true", a choice's name). */
void cfg_format_value(enum cfg_var v, int64_t n, char *out, size_t cap);

/* The default as --help and the README show it; the range ("1-36500", "up to 2h", "json|text"), or "". */
void cfg_default_text(enum cfg_var v, char *out, size_t cap);
void cfg_range_text(enum cfg_var v, char *out, size_t cap);

/* CHOICE variables: the index-th choice (false past the end); all choices joined by `sep`. */
bool cfg_choice_name(enum cfg_var v, int64_t index, char *out, size_t cap);
void cfg_choices_text(const struct cfg_var_info *t, const char *sep, char *out, size_t cap);

#endif
