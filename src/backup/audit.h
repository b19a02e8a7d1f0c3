/*
 * audit.h - the DynamoDB audit log of a cycle: one item per action of the report, written with BatchWriteItem in
 * batches of 25, UnprocessedItems sent again with backoff, and nothing lost silently.
 *
 * Key schema (issue 5; the table is created by the deployment templates, and operators and dashboards rely on
 * it): partition key `pk` (String) = the run id, sort key `sk` (String) =
 * `<RFC 3339 timestamp>#<action>#<resource id>`, e.g. `2025-01-01T02:00:00.123Z#created#snap-0abc`. The
 * timestamp is the action's own (millisecond precision, UTC), so a run's items sort in the order they happened.
 * The resource id is the first that is set of: snapshot id, source snapshot id, instance id, volume id,
 * `bucket/key`, key, bucket; "-" when none is. It is cleaned (notify_text_append) and cut at a character
 * boundary to AUDIT_RESOURCE_MAX_BYTES so the key stays under DynamoDB's 1024-byte sort key limit. sk is unique
 * within a run: when two actions would share timestamp, action and resource id, the later ones get "#2", "#3",
 * ... (checked against every key already given, so a suffix never collides either).
 *
 * Other attributes, each present only when it applies: run_id, timestamp (S, as in sk), action
 * (created|copied|deleted|skipped|failed), job (ebs|s3|reporting), region, instance_id, volume_id,
 * snapshot_id, source_snapshot_id, device, bucket, key, bytes (N), reason, error_code (the AWS error code or
 * error class of a failure), message, dry_run (BOOL, only in a dry run), interrupted (BOOL, only when a stop
 * ended the run early), expires_at (N, Unix seconds = now + AUDIT_TTL_DAYS days: the table's TTL attribute).
 * `timestamp`, `action`, `key` and `bytes` are
 * DynamoDB reserved words: name them with ExpressionAttributeNames in queries.
 *
 * When the EBS job measured coverage (backup/coverage.h) of at least one volume, one more item per run: action
 * `coverage`, sk `<run start>#coverage#run`, job ebs, and the numbers volumes, volumes_outside_rpo,
 * never_backed_up, oldest_backup_age_s, rpo_s (N); it has no report_index (SIZE_MAX).
 *
 * Streaming (issue 11): items are built as the report grows (audit_begin, then audit_add_new whenever the caller
 * likes) and sent during the run a batch at a time (audit_take a batch, send it, audit_settle its result), so a
 * killed run loses at most the batch it had not sent yet. An item is built once: its sk never changes, and an item
 * sent twice (a batch whose answer was lost) overwrites itself. The run's ending builds what is left, adds the
 * coverage item and calls audit_write, which sends only what is still pending (never an item already written) and
 * counts the failures of the whole run, streamed or not. Because items are built when they are first sent,
 * `interrupted` is on the items the ending writes after a stop (every item recorded after it, the ones not yet
 * sent and the coverage item) and not on items written while the run was not yet stopping.
 *
 * Writing (audit_write) is a loop over rounds: round 1 sends every pending item, later rounds what is still pending,
 * after a backoff. Within a round the pending items are cut into batches of 25 (in report order), handed to the
 * sender AUDIT_BATCHES_PER_SEND at a time (it may run them concurrently). After a batch:
 *   - success: the items DynamoDB listed in UnprocessedItems stay pending, the others are written;
 *   - an error the sender calls retryable (throttling such as ProvisionedThroughputExceededException, 5xx,
 *     network — after the request layer's own retries): the whole batch stays pending;
 *   - any other error (AccessDenied, ResourceNotFoundException, ValidationException): its items fail at once.
 * After the last round whatever is pending fails too. Every failed item keeps the reason (error_code), so the
 * caller can log each one and record the loss in the report: an item is either written or reported, never
 * dropped. Puts are idempotent (same key, same item), so sending an item twice never makes two items.
 *
 * The sender, the backoff and the sleep are injected: this file has no network, clock or randomness of its own,
 * and the unit tests drive every path with a fake DynamoDB.
 */
#ifndef SV_BACKUP_AUDIT_H
#define SV_BACKUP_AUDIT_H

#include "backup/report.h"
#include "base/arena.h"
#include "base/err.h"
#include "svc/dynamodb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_BATCH_MAX DYNAMODB_BATCH_WRITE_MAX_ITEMS
/* Batches handed to the sender at once (request bodies in memory at once: 32 x 25 items of a few KiB). */
#define AUDIT_BATCHES_PER_SEND 32
/* Rounds of audit_write when the sender does not say: the first send and 5 resends. */
#define AUDIT_MAX_ROUNDS_DEFAULT 6
#define AUDIT_SK_MAX_BYTES DYNAMODB_SORT_KEY_MAX_BYTES
/* The resource id part of sk: 24 (timestamp) + 1 + 7 (action) + 1 + 900 + "#" + 20 digits < 1024. */
#define AUDIT_RESOURCE_MAX_BYTES 900
#define AUDIT_MAX_ATTRS 24
/* The error code a batch failure carries (AWS codes are shorter; longer is cut). */
#define AUDIT_CODE_MAX 128
/* The code of items DynamoDB kept returning unprocessed until the rounds ran out. */
#define AUDIT_CODE_UNPROCESSED "UnprocessedItems"

/* AUDIT_SENDING: taken into a batch that is on the wire (audit_take .. audit_settle). */
enum audit_state { AUDIT_PENDING = 0, AUDIT_WRITTEN, AUDIT_FAILED, AUDIT_SENDING };

struct audit_item {
    size_t report_index; /* the action it records: report->items[report_index] */
    const char *sk;
    struct dynamodb_item item;
    enum audit_state state;
    const char *error_code; /* why it is still pending, or why it failed */
    int64_t ts_ms;          /* the action's time (wall clock ms): the age of a pending item */
};

struct audit_items {
    struct arena *arena; /* items, attributes and their strings */
    struct audit_item *items;
    size_t n;
    size_t npending; /* items in AUDIT_PENDING */
    /* --- internal: the incremental build --- */
    size_t cap;
    size_t built;         /* report items built so far (report->items[0..built)) */
    size_t first_pending; /* no item below it is AUDIT_PENDING */
    long long expires_at;
    const char **keys; /* open-addressing set of every sk handed out */
    size_t keys_mask, nkeys;
};

/*
 * One item per action of the report (in report order), all pending. `now_s` is the wall clock (expires_at =
 * now_s + ttl_days days); item timestamps come from the actions. An action with no timestamp (ts_ms 0) uses
 * report->start_ms.
 */
void audit_build(
  struct arena *arena,
  const struct report *r,
  int64_t now_s,
  uint32_t ttl_days,
  struct audit_items *out);

/* No items yet; expires_at of every item = now_s + ttl_days days. */
void audit_begin(struct audit_items *out, struct arena *arena, int64_t now_s, uint32_t ttl_days);
/* Builds the items of the report's actions recorded since the last call (pending); returns how many. */
size_t audit_add_new(struct audit_items *items, const struct report *r);
/* The run's coverage item (when the report has coverage of at least one volume); call once, at the end. */
void audit_add_coverage(struct audit_items *items, const struct report *r);
/* Items in a state. */
size_t audit_count(const struct audit_items *items, enum audit_state state);

/* Number of BatchWriteItem calls n items take when nothing is resent: ceil(n / 25). */
size_t audit_batch_count(size_t nitems);

/* One BatchWriteItem's items, and what the sender learned. */
struct audit_batch {
    struct audit_item *items[AUDIT_BATCH_MAX];
    size_t n;
    /* --- set by the sender --- */
    enum err result;                   /* ERR_OK: DynamoDB answered 200 (some items may be unprocessed) */
    bool retryable;                    /* result != ERR_OK: worth sending again in the next round */
    char code[AUDIT_CODE_MAX + 1];     /* result != ERR_OK: AWS error code or error class */
    bool unprocessed[AUDIT_BATCH_MAX]; /* result == ERR_OK: items[i] was returned in UnprocessedItems */
};

struct audit_sender {
    void *ctx;
    /* Sends every batch and fills its result; batches are independent (may run concurrently). */
    void (*send)(void *ctx, struct audit_batch *batches, size_t nbatches);
    /* The wait before round `round` (2, 3, ...). */
    int64_t (*backoff_ms)(void *ctx, uint32_t round);
    void (*sleep_ms)(void *ctx, int64_t ms);
    uint32_t max_rounds; /* 0 = AUDIT_MAX_ROUNDS_DEFAULT */
};

struct audit_result {
    size_t written;
    size_t lost; /* items that ended AUDIT_FAILED */
    uint32_t rounds;
    size_t batches_sent;
    size_t resent;         /* item sends after the first (unprocessed, or in a batch that failed retryably) */
    size_t unprocessed;    /* times DynamoDB returned an item in UnprocessedItems */
    const char *last_code; /* the last failure's code (for the report line), or NULL */
};

/*
 * Takes the oldest pending items into `b` (reset first) and marks them AUDIT_SENDING: 25, or fewer only when
 * `partial`; returns how many (0: none taken). The caller sends the batch and hands its result to audit_settle.
 */
size_t audit_take(struct audit_items *items, bool partial, struct audit_batch *b);
/*
 * Applies a sent batch's result to its items: written; pending again (unprocessed, or a retryable failure: the
 * next send or the final audit_write takes them); or failed (any other error). Counts go to res.
 */
void audit_settle(struct audit_items *items, struct audit_batch *b, struct audit_result *res);

/*
 * Writes every pending item (see the header comment). Items already written (streamed) are not sent again;
 * items that failed before count as lost. ERR_OK when every item is written; otherwise the result
 * of the first failed batch, or ERR_LIMIT when only UnprocessedItems outlasted the rounds. Items in `items`
 * say which were written.
 */
enum err audit_write(struct audit_items *items, const struct audit_sender *s, struct audit_result *res) SV_MUST_CHECK;

/* The value of attribute `name` of an item (NULL if absent). For logs and tests. */
const char *audit_attr(const struct audit_item *it, const char *name);

#endif
