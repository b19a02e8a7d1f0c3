/*
 * pacing.h - who waits for whom: the retry policies and the client-side rate limiters of every AWS call, keyed
 * the way AWS throttles them, and EC2's documented request buckets in one table.
 *
 * EC2 throttles "for each AWS account on a per-Region basis", per API, with token buckets whose sizes and refill
 * rates it documents (Amazon EC2 Developer Guide, "Request throttling for the Amazon EC2 API", section "Request
 * token bucket sizes and refill rates"): an empty bucket answers RequestLimitExceeded and the call is not run.
 * So every EC2 API gets a PACED limiter (net/ratelimit.h) per (account, region, API), seeded from that table and
 * on from the first request in every retry mode; a throttle lowers only that API's rate. Every other service gets
 * one botocore-style adaptive limiter per (account, service, region), armed by its first throttling reply (S3's
 * per-prefix rates, 3,500 writes and 5,500 reads per second, are far above one cycle's concurrency; SlowDown still
 * slows that service down and nothing else).
 *
 * Retry quotas are kept per (service, region), as the SDKs keep one per client. Throttling replies are retried
 * until the run's deadline without touching the quota or the attempt count (net/retry.h); other transient errors
 * are governed by AWS_MAX_ATTEMPTS and the quota of their (service, region).
 *
 * Fixed-size tables (the cycle has ~10 APIs in 2 regions): past PACING_MAX_LIMITERS or PACING_MAX_POLICIES new keys
 * share the last entry (logged once), which is slower, never wrong. Not thread-safe.
 */
#ifndef SV_AWS_PACING_H
#define SV_AWS_PACING_H

#include "aws/endpoint.h"
#include "net/ratelimit.h"
#include "net/retry.h"

#include <stddef.h>
#include <stdint.h>

#define PACING_MAX_POLICIES 32
#define PACING_MAX_LIMITERS 128
#define PACING_ACCOUNT_MAX 12 /* an AWS account id is 12 digits */
#define PACING_API_MAX 47

/* One row of EC2's documented request buckets. */
struct pacing_ec2_bucket {
    const char *api; /* exact API name, or "Describe*" for the non-mutating default */
    double capacity; /* tokens */
    double refill;   /* tokens per second */
};

struct pacing_policy_entry {
    enum endpoint_service service;
    char region[REGION_MAX + 1];
    struct retry_policy policy;
};

struct pacing_limiter_entry {
    char account[PACING_ACCOUNT_MAX + 1];
    enum endpoint_service service;
    char region[REGION_MAX + 1];
    char api[PACING_API_MAX + 1]; /* "" for the per-(service, region) limiter of non-EC2 services */
    struct ratelimit limiter;
};

struct pacing {
    struct retry_config cfg; /* applied to every policy made */
    struct pacing_policy_entry policies[PACING_MAX_POLICIES];
    size_t npolicies;
    struct pacing_limiter_entry limiters[PACING_MAX_LIMITERS];
    size_t nlimiters;
    bool full_logged;
};

void pacing_init(struct pacing *p, const struct retry_config *cfg);

/*
 * EC2's documented bucket for an API: the row with its exact name, else the class default (names starting with
 * "Describe" are non-mutating: 100 / 20 per s; everything else is mutating: 50 / 5 per s).
 */
struct pacing_ec2_bucket pacing_ec2_bucket(const char *api);

/* The retry policy (quota, counters) of (service, region); made on first use. Never NULL. */
struct retry_policy *pacing_policy(struct pacing *p, enum endpoint_service service, const char *region, int64_t now_ms);

/*
 * The limiter of one call: EC2 → paced, per (account, region, api); other services → adaptive, per (account,
 * service, region). Made on first use at now_ms. Never NULL.
 */
struct ratelimit *pacing_limiter(
  struct pacing *p,
  const char *account,
  enum endpoint_service service,
  const char *region,
  const char *api,
  int64_t now_ms);

/* Every policy's counters summed (for cycle.done). */
struct retry_counters pacing_counters(const struct pacing *p);

#endif
