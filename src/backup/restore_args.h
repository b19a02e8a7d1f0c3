/*
 * restore_args.h - the flags of `smartvault restore` and `smartvault list`. Flags a command does not know
 * (--log-format, --set VAR=VALUE, --source-region ...) are handed on to the configuration unchanged.
 */
#ifndef SV_BACKUP_RESTORE_ARGS_H
#define SV_BACKUP_RESTORE_ARGS_H

#include "base/err.h"
#include "base/span.h"
#include "cfg/cfg.h"

#include <stdbool.h>
#include <stdint.h>

/* Named maxima of the flags. */
#define RESTORE_MAX_VOLUMES 64         /* --volume flags; an instance has at most 40 EBS volumes (Nitro: 28) */
#define RESTORE_DEFAULT_TIMEOUT_S 1800 /* how long `restore` waits for `available` unless --timeout */
#define RESTORE_MAX_TIMEOUT_S 21600    /* --timeout at most 6 h */

#define RESTORE_ARGS_ERROR_MAX 256

struct restore_args {
    const char *instance;  /* --instance (required by restore; a filter for list) */
    const char *region;    /* --region, NULL: the source region */
    const char *az;        /* --az */
    const char *attach_to; /* --attach-to */
    bool at_set;
    int64_t at_s; /* --at */
    struct span volumes[RESTORE_MAX_VOLUMES];
    size_t nvolumes;
    bool dry_run;
    bool no_wait;
    int64_t timeout_s; /* --timeout, default RESTORE_DEFAULT_TIMEOUT_S */
    const char *rest[CFG_FLAG_ARGS_MAX];
    int nrest;
    char error[RESTORE_ARGS_ERROR_MAX]; /* the one line on ERR_INVALID */
};

/* `restore` (is_list false) or `list` (only --instance and --region). ERR_INVALID with args->error set. */
enum err restore_args_parse(struct restore_args *args, int argc, char **argv, bool is_list) SV_MUST_CHECK;

#endif
