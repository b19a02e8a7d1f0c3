/*
 * audit.c - audit items from the report, and the BatchWriteItem loop that writes them all or says which not.
 *
 * Items are built once, in the arena, from the report's records; the writer only moves each between pending,
 * written and failed. Unique sort keys come from a hash set of every key handed out.
 *
 * What it does not do: talk to DynamoDB (the injected sender does; backup/publish's sender goes through aws/call
 * and svc/dynamodb), decide which errors are worth another round (the sender says), read a clock or sleep by
 * itself, or log (the caller logs the result and every lost item).
 */
#include "backup/audit.h"

#include "backup/notify.h"
#include "base/buf.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_SECONDS_PER_DAY 86400

/* ---- unique keys ---- */

/* The set of every sk handed out: open addressing (FNV-1a) in the arena, at most half full, doubled as it grows. */
static uint64_t s_fnv1a(const char *s) {
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) {
        h ^= (unsigned char) *s;
        h *= 1099511628211ull;
    }
    return h;
}

static void s_keys_put(const char **slots, size_t mask, const char *s) {
    size_t i = s_fnv1a(s) & mask;
    while (slots[i] != NULL) {
        i = (i + 1) & mask;
    }
    slots[i] = s;
}

/* Adds s; false (and nothing added) when it is already there. */
static bool s_keyset_add(struct audit_items *set, const char *s) {
    if (2 * (set->nkeys + 1) > set->keys_mask + 1) {
        size_t cap = 2 * (set->keys_mask + 1);
        const char **slots = ARENA_NEW_ARRAY(set->arena, const char *, cap);
        for (size_t i = 0; i <= set->keys_mask; i++) {
            if (set->keys[i] != NULL) {
                s_keys_put(slots, cap - 1, set->keys[i]);
            }
        }
        set->keys = slots;
        set->keys_mask = cap - 1;
    }
    for (size_t i = s_fnv1a(s) & set->keys_mask;; i = (i + 1) & set->keys_mask) {
        if (set->keys[i] == NULL) {
            set->keys[i] = s;
            set->nkeys++;
            return true;
        }
        if (strcmp(set->keys[i], s) == 0) {
            return false;
        }
    }
}

/* Room for one more item (the array is doubled in the arena; items are addressed by index while it grows). */
static struct audit_item *s_new_item(struct audit_items *out) {
    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 64;
        struct audit_item *v = ARENA_NEW_ARRAY(out->arena, struct audit_item, cap);
        if (out->n) {
            memcpy(v, out->items, out->n * sizeof(*v));
        }
        out->items = v;
        out->cap = cap;
    }
    out->npending++; /* every new item starts pending */
    return &out->items[out->n++];
}

/* ---- items ---- */

static bool s_set(const char *s) {
    return s != NULL && s[0] != '\0';
}

/* The resource id part of sk (see audit.h), cleaned and cut, in the arena. */
static const char *s_resource(struct arena *a, const struct report_item *it, struct buf *tmp) {
    buf_reset(tmp);
    if (s_set(it->snapshot_id)) {
        buf_append_cstr(tmp, it->snapshot_id);
    } else if (s_set(it->source_snapshot_id)) {
        buf_append_cstr(tmp, it->source_snapshot_id);
    } else if (s_set(it->instance_id)) {
        buf_append_cstr(tmp, it->instance_id);
    } else if (s_set(it->volume_id)) {
        buf_append_cstr(tmp, it->volume_id);
    } else if (s_set(it->bucket) && s_set(it->key)) {
        buf_appendf(tmp, "%s/%s", it->bucket, it->key);
    } else if (s_set(it->key)) {
        buf_append_cstr(tmp, it->key);
    } else if (s_set(it->bucket)) {
        buf_append_cstr(tmp, it->bucket);
    } else {
        buf_append_char(tmp, '-');
    }
    struct buf clean;
    buf_init(&clean, AUDIT_RESOURCE_MAX_BYTES);
    notify_text_append(&clean, buf_span(tmp), AUDIT_RESOURCE_MAX_BYTES);
    char *s = arena_strndup(a, buf_cstr(&clean), clean.len);
    buf_free(&clean);
    return s;
}

static void s_attr_s(struct dynamodb_attr *attrs, size_t *n, const char *name, const char *value) {
    if (s_set(value) && *n < AUDIT_MAX_ATTRS) {
        attrs[(*n)++] = (struct dynamodb_attr){ .name = name, .type = DYNAMODB_S, .text = value };
    }
}

static void s_attr_n(struct arena *a, struct dynamodb_attr *attrs, size_t *n, const char *name, long long value) {
    if (*n < AUDIT_MAX_ATTRS) {
        attrs[(*n)++] =
          (struct dynamodb_attr){ .name = name, .type = DYNAMODB_N, .text = arena_printf(a, "%lld", value) };
    }
}

/* The run's coverage (backup/coverage.h): one item, action "coverage", resource "run", at the run's start. */
void audit_add_coverage(struct audit_items *out, const struct report *r) {
    if (!r->coverage.known || r->coverage.volumes == 0) {
        return;
    }
    struct arena *arena = out->arena;
    long long expires_at = out->expires_at;
    char ts[TIME_ISO8601_LEN + 5];
    time_format_iso8601_ms(r->start_ms, ts);
    const struct coverage *c = &r->coverage;
    struct dynamodb_attr *attrs = ARENA_NEW_ARRAY(arena, struct dynamodb_attr, AUDIT_MAX_ATTRS);
    size_t n = 0;
    const char *run_id = arena_strndup(arena, r->run_id[0] ? r->run_id : "-", strlen(r->run_id[0] ? r->run_id : "-"));
    const char *sk = arena_printf(arena, "%s#coverage#run", ts);
    s_attr_s(attrs, &n, "pk", run_id);
    s_attr_s(attrs, &n, "sk", sk);
    s_attr_s(attrs, &n, "run_id", run_id);
    s_attr_s(attrs, &n, "timestamp", arena_strndup(arena, ts, strlen(ts)));
    s_attr_s(attrs, &n, "action", "coverage");
    s_attr_s(attrs, &n, "job", "ebs");
    s_attr_n(arena, attrs, &n, "volumes", (long long) c->volumes);
    s_attr_n(arena, attrs, &n, "volumes_outside_rpo", (long long) c->outside_rpo);
    s_attr_n(arena, attrs, &n, "never_backed_up", (long long) c->never_backed_up);
    s_attr_n(arena, attrs, &n, "oldest_backup_age_s", (long long) c->oldest_age_s);
    s_attr_n(arena, attrs, &n, "rpo_s", (long long) c->rpo_s);
    if (r->dry_run) {
        attrs[n++] = (struct dynamodb_attr){ .name = "dry_run", .type = DYNAMODB_BOOL, .flag = true };
    }
    if (r->interrupted) {
        attrs[n++] = (struct dynamodb_attr){ .name = "interrupted", .type = DYNAMODB_BOOL, .flag = true };
    }
    s_attr_n(arena, attrs, &n, "expires_at", expires_at);
    *s_new_item(out) = (struct audit_item){ .report_index = SIZE_MAX,
                                            .sk = sk,
                                            .item = { .attrs = attrs, .nattrs = n },
                                            .state = AUDIT_PENDING,
                                            .ts_ms = r->start_ms };
    out->first_pending = out->first_pending < out->n - 1 ? out->first_pending : out->n - 1;
}

/* A sort key no item of the run has had: "<ts>#<action>#<resource>", with "#2", "#3", ... when taken. */
static const char *s_unique_sk(struct audit_items *out, const char *ts, const char *action, const char *resource) {
    const char *sk = arena_printf(out->arena, "%s#%s#%s", ts, action, resource);
    if (s_keyset_add(out, sk)) {
        return sk;
    }
    for (unsigned long long seq = 2;; seq++) {
        const char *next = arena_printf(out->arena, "%s#%llu", sk, seq);
        if (s_keyset_add(out, next)) {
            return next;
        }
    }
}

/* The item of report->items[i]. */
static void s_build_item(struct audit_items *out, const struct report *r, size_t i, struct buf *tmp) {
    struct arena *arena = out->arena;
    const struct report_item *it = &r->items[i];
    char ts[TIME_ISO8601_LEN + 5];
    time_format_iso8601_ms(it->ts_ms ? it->ts_ms : r->start_ms, ts);
    const char *timestamp = arena_strndup(arena, ts, strlen(ts));
    const char *action = report_action_name(it->action);
    const char *sk = s_unique_sk(out, ts, action, s_resource(arena, it, tmp));
    static const char *const jobs[REPORT__JOBS] = { "ebs", "s3", "reporting", "drill" };
    struct dynamodb_attr *attrs = ARENA_NEW_ARRAY(arena, struct dynamodb_attr, AUDIT_MAX_ATTRS);
    size_t n = 0;
    s_attr_s(attrs, &n, "pk", r->run_id[0] ? arena_strndup(arena, r->run_id, strlen(r->run_id)) : "-");
    s_attr_s(attrs, &n, "sk", sk);
    s_attr_s(attrs, &n, "run_id", attrs[0].text);
    s_attr_s(attrs, &n, "timestamp", timestamp);
    s_attr_s(attrs, &n, "action", action);
    s_attr_s(attrs, &n, "job", (unsigned) it->job < REPORT__JOBS ? jobs[it->job] : "unknown");
    s_attr_s(attrs, &n, "region", it->region);
    s_attr_s(attrs, &n, "account_id", it->account_id); /* multi-account runs only */
    s_attr_s(attrs, &n, "instance_id", it->instance_id);
    s_attr_s(attrs, &n, "volume_id", it->volume_id);
    s_attr_s(attrs, &n, "snapshot_id", it->snapshot_id);
    s_attr_s(attrs, &n, "source_snapshot_id", it->source_snapshot_id);
    s_attr_s(attrs, &n, "device", it->device);
    s_attr_s(attrs, &n, "bucket", it->bucket);
    s_attr_s(attrs, &n, "key", it->key);
    if (it->bytes > 0) {
        s_attr_n(arena, attrs, &n, "bytes", (long long) it->bytes);
    }
    if (it->job == REPORT_JOB_DRILL && it->duration_ms >= 0 && it->snapshot_id) {
        s_attr_n(arena, attrs, &n, "duration_ms", (long long) it->duration_ms);
    }
    s_attr_s(attrs, &n, "reason", it->reason);
    s_attr_s(attrs, &n, "error_code", it->aws_code);
    s_attr_s(attrs, &n, "message", it->message);
    if (r->dry_run) {
        attrs[n++] = (struct dynamodb_attr){ .name = "dry_run", .type = DYNAMODB_BOOL, .flag = true };
    }
    if (r->interrupted) {
        attrs[n++] = (struct dynamodb_attr){ .name = "interrupted", .type = DYNAMODB_BOOL, .flag = true };
    }
    s_attr_n(arena, attrs, &n, "expires_at", out->expires_at);
    *s_new_item(out) = (struct audit_item){ .report_index = i,
                                            .sk = sk,
                                            .item = { .attrs = attrs, .nattrs = n },
                                            .state = AUDIT_PENDING,
                                            .ts_ms = it->ts_ms ? it->ts_ms : r->start_ms };
}

void audit_begin(struct audit_items *out, struct arena *arena, int64_t now_s, uint32_t ttl_days) {
    memset(out, 0, sizeof(*out));
    out->arena = arena;
    out->expires_at = (long long) now_s + (long long) ttl_days * AUDIT_SECONDS_PER_DAY;
    out->keys_mask = 15;
    out->keys = ARENA_NEW_ARRAY(arena, const char *, out->keys_mask + 1);
}

size_t audit_add_new(struct audit_items *out, const struct report *r) {
    size_t first = out->n;
    if (out->built >= r->nitems) {
        return 0;
    }
    struct buf tmp;
    buf_init(&tmp, 4 * AUDIT_RESOURCE_MAX_BYTES);
    for (; out->built < r->nitems; out->built++) {
        s_build_item(out, r, out->built, &tmp);
    }
    buf_free(&tmp);
    out->first_pending = out->first_pending < first ? out->first_pending : first;
    return out->n - first;
}

void audit_build(
  struct arena *arena,
  const struct report *r,
  int64_t now_s,
  uint32_t ttl_days,
  struct audit_items *out) {
    audit_begin(out, arena, now_s, ttl_days);
    audit_add_new(out, r);
    audit_add_coverage(out, r);
}

size_t audit_count(const struct audit_items *items, enum audit_state state) {
    size_t n = 0;
    for (size_t i = 0; i < items->n; i++) {
        n += items->items[i].state == state;
    }
    return n;
}

size_t audit_batch_count(size_t nitems) {
    return (nitems + AUDIT_BATCH_MAX - 1) / AUDIT_BATCH_MAX;
}

const char *audit_attr(const struct audit_item *it, const char *name) {
    for (size_t i = 0; i < it->item.nattrs; i++) {
        if (strcmp(it->item.attrs[i].name, name) == 0) {
            return it->item.attrs[i].text;
        }
    }
    return NULL;
}

/* ---- writing ---- */

/* audit_take from *cursor on (it moves past what was looked at): a round passes over the items once. */
static size_t s_take(struct audit_items *items, size_t *cursor, bool partial, struct audit_batch *b) {
    memset(b, 0, sizeof(*b));
    size_t i = *cursor;
    while (i < items->n && items->items[i].state != AUDIT_PENDING) {
        i++;
    }
    size_t start = i;
    size_t idx[AUDIT_BATCH_MAX];
    size_t n = 0;
    for (; i < items->n && n < AUDIT_BATCH_MAX; i++) {
        if (items->items[i].state == AUDIT_PENDING) {
            idx[n++] = i;
        }
    }
    if (n == 0 || (n < AUDIT_BATCH_MAX && !partial)) {
        *cursor = start;
        return 0;
    }
    *cursor = i;
    items->npending -= n;
    for (size_t k = 0; k < n; k++) {
        items->items[idx[k]].state = AUDIT_SENDING;
        b->items[k] = &items->items[idx[k]];
    }
    b->n = n;
    return n;
}

size_t audit_take(struct audit_items *items, bool partial, struct audit_batch *b) {
    size_t cursor = items->first_pending;
    size_t n = s_take(items, &cursor, partial, b);
    items->first_pending = n ? (size_t) (b->items[0] - items->items) : cursor;
    return n;
}

/* Back to pending (sent again later); first_pending follows. */
static void s_repend(struct audit_items *items, struct audit_item *it, const char *code) {
    it->state = AUDIT_PENDING;
    it->error_code = code;
    items->npending++;
    size_t i = (size_t) (it - items->items);
    items->first_pending = i < items->first_pending ? i : items->first_pending;
}

void audit_settle(struct audit_items *items, struct audit_batch *b, struct audit_result *res) {
    res->batches_sent++;
    if (b->result == ERR_OK) {
        for (size_t j = 0; j < b->n; j++) {
            if (b->unprocessed[j]) {
                s_repend(items, b->items[j], AUDIT_CODE_UNPROCESSED);
                res->unprocessed++;
            } else {
                b->items[j]->state = AUDIT_WRITTEN;
                b->items[j]->error_code = NULL;
                res->written++;
            }
        }
        return;
    }
    b->code[AUDIT_CODE_MAX] = '\0';
    const char *code = b->code[0] ? arena_strndup(items->arena, b->code, strlen(b->code)) : err_name(b->result);
    res->last_code = code;
    for (size_t j = 0; j < b->n; j++) {
        if (b->retryable) {
            s_repend(items, b->items[j], code);
        } else {
            b->items[j]->state = AUDIT_FAILED;
            b->items[j]->error_code = code;
        }
    }
}

/* Fills up to AUDIT_BATCHES_PER_SEND batches with pending items (the last may be short); returns how many. */
static size_t s_fill(struct audit_items *items, size_t *cursor, struct audit_batch *batches) {
    size_t nb = 0;
    while (nb < AUDIT_BATCHES_PER_SEND && s_take(items, cursor, true, &batches[nb]) > 0) {
        nb++;
    }
    return nb;
}

/* One round: every pending item sent once. The first non-retryable failure goes to *hard, the last other to *soft. */
static void s_round(
  struct audit_items *items,
  const struct audit_sender *s,
  struct audit_batch *batches,
  struct audit_result *res,
  enum err *hard,
  enum err *soft) {
    size_t cursor = 0;
    for (;;) {
        size_t nb = s_fill(items, &cursor, batches);
        if (nb == 0) {
            return;
        }
        s->send(s->ctx, batches, nb);
        for (size_t k = 0; k < nb; k++) {
            if (batches[k].result != ERR_OK && batches[k].retryable) {
                *soft = batches[k].result;
            } else if (batches[k].result != ERR_OK && *hard == ERR_OK) {
                *hard = batches[k].result;
            }
            audit_settle(items, &batches[k], res);
        }
    }
}

/* Before the first round: a streamed batch that never answered is sent again; one that failed is reported. */
static enum err s_prepare_write(struct audit_items *items, struct audit_result *res) {
    enum err e = ERR_OK;
    for (size_t i = 0; i < items->n; i++) {
        if (items->items[i].state == AUDIT_SENDING) {
            s_repend(items, &items->items[i], NULL);
        } else if (items->items[i].state == AUDIT_FAILED && e == ERR_OK) {
            e = ERR_AWS;
            res->last_code = items->items[i].error_code;
        }
    }
    return e;
}

/* After the last round: whatever is still pending failed (with the reason it was kept). */
static void s_fail_pending(struct audit_items *items, struct audit_result *res) {
    for (size_t i = 0; i < items->n; i++) {
        struct audit_item *it = &items->items[i];
        if (it->state == AUDIT_PENDING) {
            it->state = AUDIT_FAILED;
            items->npending--;
            it->error_code = it->error_code ? it->error_code : AUDIT_CODE_UNPROCESSED;
            res->last_code = it->error_code;
        }
    }
    res->lost = audit_count(items, AUDIT_FAILED);
}

enum err audit_write(struct audit_items *items, const struct audit_sender *s, struct audit_result *res) {
    memset(res, 0, sizeof(*res));
    uint32_t max_rounds = s->max_rounds ? s->max_rounds : AUDIT_MAX_ROUNDS_DEFAULT;
    struct audit_batch *batches = calloc(AUDIT_BATCHES_PER_SEND, sizeof(*batches));
    if (batches == NULL) {
        FATAL("out of memory");
    }
    enum err hard_err = s_prepare_write(items, res); /* first non-retryable batch failure */
    enum err retry_err = ERR_OK;                     /* last retryable batch failure */
    for (uint32_t round = 1; round <= max_rounds && items->npending > 0; round++) {
        if (round > 1) {
            res->resent += items->npending;
            s->sleep_ms(s->ctx, s->backoff_ms(s->ctx, round));
        }
        res->rounds = round;
        s_round(items, s, batches, res, &hard_err, &retry_err);
    }
    free(batches);
    s_fail_pending(items, res);
    if (res->lost == 0) {
        return ERR_OK;
    }
    enum err e = hard_err != ERR_OK ? hard_err : retry_err != ERR_OK ? retry_err : ERR_LIMIT;
    FAIL(e, "audit: %zu of %zu items not written (%s)", res->lost, items->n, res->last_code ? res->last_code : "?");
}
