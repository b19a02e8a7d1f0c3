/*
 * creds.c - the credentials provider chain.
 *
 * What it does: walks the providers in order (AWS_CLIENT_SPEC_NOTES.md §1), logs which link answered, keeps
 * the answer in wipeable holders, and refreshes it from the same link before it expires (the rule is
 * creds_refresh_due in creds_util.c, with the helpers the providers share).
 *
 * What it does not do: any network or environment access of its own (the providers do that), profile files,
 * SSO, credential_process, or background refresh: SmartVault has one thread, so a refresh happens inside the
 * creds_get call that needs it, with `now` passed in.
 */
#include "aws/creds.h"

#include "aws/creds_provider.h"
#include "aws/creds_util.h"
#include "base/log.h"
#include "base/time.h"
#include "net/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The default chain has four links; tests build shorter ones. */
#define CREDS_MAX_PROVIDERS 8
/* Credential documents are a few KiB; the scratch arena for parsing them needs little. */
#define CREDS_SCRATCH_MAX ((size_t) 4 * 1024 * 1024)

struct creds_chain {
    struct creds_provider *providers[CREDS_MAX_PROVIDERS];
    size_t count;
    struct creds_provider *source; /* the link that answered; NULL until one has */
    struct creds current;
    struct creds incoming; /* fetch target, copied into current only once validated */
    int64_t retry_after_s;
    uint64_t fetches;
    char failure[CREDS_MAX_FAILURE];
    /* What the default providers point at (creds_chain_new). */
    struct creds_provider_ctx ctx;
    struct arena scratch;
    char region[REGION_MAX + 1];
};

/* ---- the chain ---- */

static void s_sleep_ms(int64_t ms) {
    struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static struct creds_chain *s_chain_alloc(void) {
    struct creds_chain *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        FATAL("out of memory");
    }
    arena_init(&c->scratch, CREDS_SCRATCH_MAX);
    return c;
}

enum err creds_chain_new_from(struct creds_provider *const *providers, size_t count, struct creds_chain **out) {
    ENSURE(count > 0 && count <= CREDS_MAX_PROVIDERS, ERR_INVALID, "a chain has 1..%d providers", CREDS_MAX_PROVIDERS);
    struct creds_chain *c = s_chain_alloc();
    for (size_t i = 0; i < count; i++) {
        c->providers[i] = providers[i];
    }
    c->count = count;
    *out = c;
    return ERR_OK;
}

enum err creds_chain_new(const struct creds_chain_options *opt, struct creds_chain **out) {
    ENSURE(opt->http != NULL, ERR_INVALID, "the credentials chain needs an HTTP client");
    struct creds_chain *c = s_chain_alloc();
    if (opt->region != NULL && span_copy_cstr(span_from_cstr(opt->region), c->region, sizeof(c->region)) != ERR_OK) {
        creds_chain_free(c);
        FAIL(ERR_INVALID, "region name longer than %d bytes", REGION_MAX);
    }
    c->ctx = (struct creds_provider_ctx){
        .env = opt->env != NULL ? opt->env : &endpoint_env_none,
        .http = opt->http,
        .region = c->region,
        .sleep_ms = opt->sleep_ms != NULL ? opt->sleep_ms : s_sleep_ms,
        .scratch = &c->scratch,
    };
    /* notes §1, C runtime order: "env → profile → STS web identity → ECS *or* IMDS". */
    c->providers[c->count++] = creds_env_new(&c->ctx);
    c->providers[c->count++] = creds_web_identity_new(&c->ctx);
    c->providers[c->count++] = creds_container_new(&c->ctx);
    c->providers[c->count++] = creds_imds_new(&c->ctx);
    *out = c;
    return ERR_OK;
}

void creds_chain_free(struct creds_chain *chain) {
    if (chain == NULL) {
        return;
    }
    for (size_t i = 0; i < chain->count; i++) {
        chain->providers[i]->vt->destroy(chain->providers[i]);
    }
    arena_free(&chain->scratch);
    explicit_bzero(chain, sizeof(*chain));
    free(chain);
}

const char *creds_chain_failure(const struct creds_chain *chain) {
    return chain->failure;
}

uint64_t creds_chain_fetch_count(const struct creds_chain *chain) {
    return chain->fetches;
}

/* Appends "; " + text to the one-line summary, cutting at the maximum. */
SV_PRINTF(2, 3)
static void s_summary_add(struct creds_chain *chain, const char *fmt, ...) {
    size_t used = strlen(chain->failure);
    if (used > 0 && used + 2 < sizeof(chain->failure)) {
        memcpy(chain->failure + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(chain->failure + used, sizeof(chain->failure) - used, fmt, ap);
    va_end(ap);
}

static void s_log_creds(const char *event, const struct creds *c) {
    char key[CREDS_REDACTED_KEY_ID_LEN + 1];
    char iso[TIME_ISO8601_LEN + 1];
    creds_redact_key_id(c->access_key_id, key);
    if (c->expiration_s != CREDS_NO_EXPIRY) {
        time_format_iso8601(c->expiration_s, iso);
    }
    LOG(
      LOG_INFO,
      event,
      LF_S("provider", c->provider),
      LF_S("key_id", key),
      LF_B("temporary", c->session_token.set),
      LF_S("expiration", c->expiration_s != CREDS_NO_EXPIRY ? iso : NULL));
}

/* Asks one provider; on success the answer becomes current. */
static enum err s_fetch(struct creds_chain *chain, struct creds_provider *p, int64_t now_s, struct creds_why *why) {
    creds_wipe(&chain->incoming);
    enum err e = p->vt->fetch(p, now_s, &chain->incoming, why);
    if (e == ERR_OK) {
        e = creds_validate(&chain->incoming, now_s, why);
    }
    if (e != ERR_OK) {
        creds_wipe(&chain->incoming);
        return e;
    }
    chain->incoming.provider = p->name;
    creds_copy(&chain->current, &chain->incoming);
    creds_wipe(&chain->incoming);
    chain->source = p;
    chain->fetches++;
    /* Still inside the advisory window (IMDS before rotation): do not ask again before every request. */
    bool short_lived = creds_refresh_due(chain->current.expiration_s, now_s, 0) != CREDS_REFRESH_NONE;
    chain->retry_after_s = short_lived ? now_s + CREDS_REFRESH_RETRY_S : 0;
    return ERR_OK;
}

static enum err s_resolve(struct creds_chain *chain, int64_t now_s) {
    for (size_t i = 0; i < chain->count; i++) {
        struct creds_provider *p = chain->providers[i];
        struct creds_why why = { { 0 } };
        if (!p->vt->configured(p, &why)) {
            s_summary_add(chain, "%s %s", p->label, why.text);
            continue;
        }
        enum err e = s_fetch(chain, p, now_s, &why);
        if (e == ERR_OK) {
            chain->failure[0] = '\0';
            s_log_creds("creds.resolved", &chain->current);
            return ERR_OK;
        }
        if (e == ERR_CONFIG) {
            snprintf(chain->failure, sizeof(chain->failure), "%s: %s", p->label, why.text);
            LOG(LOG_ERROR, "creds.config_error", LF_S("provider", p->name), LF_S("reason", why.text));
            FAIL(ERR_CONFIG, "%s", chain->failure);
        }
        s_summary_add(chain, "%s: %s", p->label, why.text);
        LOG(
          LOG_WARN,
          "creds.provider_failed",
          LF_S("provider", p->name),
          LF_S("error", err_name(e)),
          LF_S("reason", why.text));
    }
    FAIL(ERR_CREDS, "no credentials: %s", chain->failure);
}

static enum err s_refresh(struct creds_chain *chain, int64_t now_s, enum creds_refresh due) {
    struct creds_provider *p = chain->source;
    struct creds_why why = { { 0 } };
    enum err e = s_fetch(chain, p, now_s, &why);
    if (e == ERR_OK) {
        s_log_creds("creds.refreshed", &chain->current);
        return ERR_OK;
    }
    bool mandatory = due == CREDS_REFRESH_MANDATORY;
    LOG(
      mandatory ? LOG_ERROR : LOG_WARN,
      "creds.refresh_failed",
      LF_S("provider", p->name),
      LF_B("mandatory", mandatory),
      LF_S("error", err_name(e)),
      LF_S("reason", why.text));
    if (!mandatory) {
        /* botocore `_protected_refresh`: an advisory failure is logged and the current credentials kept. */
        chain->retry_after_s = now_s + CREDS_REFRESH_RETRY_S;
        return ERR_OK;
    }
    snprintf(chain->failure, sizeof(chain->failure), "%s: refresh failed: %s", p->label, why.text);
    FAIL(e == ERR_CONFIG ? ERR_CONFIG : ERR_CREDS, "%s", chain->failure);
}

enum err creds_get(struct creds_chain *chain, int64_t now_s, const struct creds **out) {
    chain->failure[0] = '\0';
    if (chain->source == NULL) {
        TRY(s_resolve(chain, now_s));
    } else {
        enum creds_refresh due = creds_refresh_due(chain->current.expiration_s, now_s, chain->retry_after_s);
        if (due != CREDS_REFRESH_NONE) {
            TRY(s_refresh(chain, now_s, due));
        }
    }
    *out = &chain->current;
    return ERR_OK;
}
