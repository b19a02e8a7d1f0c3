/*
 * cfg_vars.c - builds the configuration table from cfg_vars.def (the one list of variables) and hands it out.
 * No logic: what each column means is in cfg_vars.def.
 */
#include "cfg/cfg_vars.h"

#include <stddef.h>

/* ---- the variable table ----------------------------------------------------------------------------------- */

/* Generated from cfg_vars.def (the one table; its header says what each column means). */
#define CFG_SET(id, flag, group, type, min, max, def, extra, default_text, help)                                       \
    [CFG_VAR_##id] = { #id,                                                                                            \
                       CFG_KIND_SETTING,                                                                               \
                       CFG_VAR_##id,                                                                                   \
                       flag,                                                                                           \
                       CFG_GROUP_##group,                                                                              \
                       CFG_TYPE_##type,                                                                                \
                       (int64_t) (min),                                                                                \
                       (int64_t) (max),                                                                                \
                       (int64_t) (def),                                                                                \
                       extra,                                                                                          \
                       default_text,                                                                                   \
                       help },
#define CFG_ALIAS(id, of, group, help)                                                                                 \
    [CFG_VAR_##id] = { #id,        CFG_KIND_ALIAS, CFG_VAR_##of, NULL, CFG_GROUP_##group, CFG_TYPE_TEXT, 0, 0,         \
                       CFG_NO_DEF, NULL,           NULL,         help },
#define CFG_READ(id, kind, group, help)                                                                                \
    [CFG_VAR_##id] = {                                                                                                 \
        #id, CFG_KIND_##kind, CFG_VAR_##id, NULL, CFG_GROUP_##group, CFG_TYPE_TEXT, 0, 0, CFG_NO_DEF, NULL, NULL, help \
    },

static const struct cfg_var_info s_vars[CFG_VAR__COUNT] = {
#include "cfg/cfg_vars.def"
};

#undef CFG_SET
#undef CFG_ALIAS
#undef CFG_READ

const struct cfg_var_info *cfg_var_info(enum cfg_var v) {
    return &s_vars[v];
}

const struct cfg_var_info *cfg_var_table(void) {
    return s_vars;
}
