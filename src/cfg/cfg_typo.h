/*
 * cfg_typo.h - an environment variable that looks like one of ours but is not: a typo that would otherwise be
 * silently ignored (RETENTON_DAYS=30 would run with the default retention, and retention deletes snapshots).
 *
 * A name is refused when it is not a known variable (the table of cfg.c, read through cfg_var_info) and either
 * starts with "SMARTVAULT_" or is within a small edit distance of a known name (case-insensitive; adjacent
 * letters swapped count as one edit). Names that schedulers and shells set are never refused, including the
 * Kubernetes service links of a Service that shares a known prefix (SMARTVAULT_SERVICE_HOST,
 * SMARTVAULT_PORT_443_TCP_ADDR ...), any AWS SDK per-service endpoint (AWS_ENDPOINT_URL_<SERVICE>), and the
 * lower-case proxy variables libcurl honours.
 */
#ifndef SV_CFG_CFG_TYPO_H
#define SV_CFG_CFG_TYPO_H

#include "base/span.h"

#include <stdbool.h>
#include <stddef.h>

/* Names longer than this are never compared (no known name comes close). */
#define CFG_TYPO_NAME_MAX 64

/*
 * Whether `name` (a variable name, without "=value") should be refused. On true, *suggest is the closest known
 * name, or NULL when there is none close (a "SMARTVAULT_" name far from every known one). Pure.
 */
bool cfg_typo_suspect(struct span name, const char **suggest);

/* The optimal-string-alignment distance between a and b, ignoring ASCII case; values above `cap` return cap + 1. */
size_t cfg_typo_distance(struct span a, struct span b, size_t cap);

#endif
