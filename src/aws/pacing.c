/*
 * pacing.c - the registry of retry policies (per service and region) and rate limiters (per account, service,
 * region and API), and EC2's documented request buckets.
 *
 * What it does not do: decide retries (net/retry), wait (net/batch), or know which calls a job makes.
 */
#include "aws/pacing.h"

#include "base/log.h"

#include <stdio.h>
#include <string.h>

/*
 * Amazon EC2 Developer Guide, "Request throttling for the Amazon EC2 API" (docs.aws.amazon.com/ec2/latest/devguide/
 * ec2-api-throttling.html), "Request token bucket sizes and refill rates": per account, per Region, per API.
 * "Each request that you make removes one token from the API's bucket ... Buckets automatically refill at a set
 * rate." The rows are the APIs SmartVault calls; pacing_ec2_bucket() gives the class default for any other.
 */
static const struct pacing_ec2_bucket s_ec2_buckets[] = {
    { "CreateSnapshot", 100, 5 },     /* snapshot actions: bucket 100, refill 5/s */
    { "CreateSnapshots", 100, 5 },    /* */
    { "DeleteSnapshot", 100, 5 },     /* */
    { "CopySnapshot", 50, 5 },        /* mutating actions: bucket 50, refill 5/s */
    { "DescribeInstances", 100, 20 }, /* non-mutating actions (filtered, paginated): bucket 100, refill 20/s */
    { "DescribeSnapshots", 100, 20 }, /* */
    { "DescribeVolumes", 100, 20 },   /* */
};
static const struct pacing_ec2_bucket s_ec2_non_mutating = { "Describe*", 100, 20 };
static const struct pacing_ec2_bucket s_ec2_mutating = { "mutating", 50, 5 };

struct pacing_ec2_bucket pacing_ec2_bucket(const char *api) {
    for (size_t i = 0; i < sizeof(s_ec2_buckets) / sizeof(s_ec2_buckets[0]); i++) {
        if (strcmp(s_ec2_buckets[i].api, api) == 0) {
            return s_ec2_buckets[i];
        }
    }
    return strncmp(api, "Describe", 8) == 0 ? s_ec2_non_mutating : s_ec2_mutating;
}

void pacing_init(struct pacing *p, const struct retry_config *cfg) {
    memset(p, 0, sizeof(*p));
    if (cfg != NULL) {
        p->cfg = *cfg;
    }
}

static void s_full(struct pacing *p, const char *what) {
    if (!p->full_logged) {
        p->full_logged = true;
        LOG(LOG_WARN, "pacing.table_full", LF_S("table", what));
    }
}

struct retry_policy *
pacing_policy(struct pacing *p, enum endpoint_service service, const char *region, int64_t now_ms) {
    const char *r = region != NULL ? region : "";
    for (size_t i = 0; i < p->npolicies; i++) {
        struct pacing_policy_entry *e = &p->policies[i];
        if (e->service == service && strcmp(e->region, r) == 0) {
            return &e->policy;
        }
    }
    if (p->npolicies == PACING_MAX_POLICIES) {
        s_full(p, "policies");
        return &p->policies[PACING_MAX_POLICIES - 1].policy;
    }
    struct pacing_policy_entry *e = &p->policies[p->npolicies++];
    e->service = service;
    snprintf(e->region, sizeof(e->region), "%s", r);
    retry_policy_init(&e->policy, &p->cfg, now_ms);
    return &e->policy;
}

struct ratelimit *pacing_limiter(
  struct pacing *p,
  const char *account,
  enum endpoint_service service,
  const char *region,
  const char *api,
  int64_t now_ms) {
    const char *acct = account != NULL ? account : "";
    const char *r = region != NULL ? region : "";
    const char *a = service == ENDPOINT_EC2 && api != NULL ? api : ""; /* others: one per (service, region) */
    for (size_t i = 0; i < p->nlimiters; i++) {
        struct pacing_limiter_entry *e = &p->limiters[i];
        if (
          e->service == service && strcmp(e->api, a) == 0 && strcmp(e->region, r) == 0 &&
          strcmp(e->account, acct) == 0) {
            return &e->limiter;
        }
    }
    if (p->nlimiters == PACING_MAX_LIMITERS) {
        s_full(p, "limiters");
        return &p->limiters[PACING_MAX_LIMITERS - 1].limiter;
    }
    struct pacing_limiter_entry *e = &p->limiters[p->nlimiters++];
    snprintf(e->account, sizeof(e->account), "%s", acct);
    e->service = service;
    snprintf(e->region, sizeof(e->region), "%s", r);
    snprintf(e->api, sizeof(e->api), "%s", a);
    double now = (double) now_ms / 1000.0;
    if (service == ENDPOINT_EC2) {
        struct pacing_ec2_bucket b = pacing_ec2_bucket(a);
        ratelimit_init_paced(&e->limiter, b.capacity, b.refill, now);
    } else {
        ratelimit_init(&e->limiter, now);
    }
    return &e->limiter;
}

struct retry_counters pacing_counters(const struct pacing *p) {
    struct retry_counters t = { 0 };
    for (size_t i = 0; i < p->npolicies; i++) {
        const struct retry_counters *c = &p->policies[i].policy.counters;
        t.attempts += c->attempts;
        t.retries += c->retries;
        t.throttles += c->throttles;
        t.timeouts += c->timeouts;
        t.quota_exhausted += c->quota_exhausted;
        t.max_attempts += c->max_attempts;
        t.limiter_waits += c->limiter_waits;
    }
    return t;
}
