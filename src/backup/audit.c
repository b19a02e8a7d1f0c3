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

/* An open-addressing set of C strings (FNV-1a), sized for n keys at most half full. */
struct s_keyset {
    const char **slots;
    size_t mask;
};

static uint64_t s_fnv1a(const char *s) {
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) {
        h ^= (unsigned char) *s;
        h *= 1099511628211ull;
    }
    return h;
}

static void s_keyset_init(struct s_keyset *set, struct arena *a, size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) {
        cap *= 2;
    }
    set->slots = ARENA_NEW_ARRAY(a, const char *, cap);
    set->mask = cap - 1;
}

/* Adds s; false (and nothing added) when it is already there. */
static bool s_keyset_add(struct s_keyset *set, const char *s) {
    for (size_t i = s_fnv1a(s) & set->mask;; i = (i + 1) & set->mask) {
        if (set->slots[i] == NULL) {
            set->slots[i] = s;
            return true;
        }
        if (strcmp(set->slots[i], s) == 0) {
            return false;
        }
    }
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
static void
s_coverage_item(struct arena *arena, const struct report *r, long long expires_at, struct audit_items *out) {
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
    out->items[out->n++] = (struct audit_item){
        .report_index = SIZE_MAX, .sk = sk, .item = { .attrs = attrs, .nattrs = n }, .state = AUDIT_PENDING
    };
}

void audit_build(
  struct arena *arena,
  const struct report *r,
  int64_t now_s,
  uint32_t ttl_days,
  struct audit_items *out) {
    out->arena = arena;
    out->n = 0;
    out->items = ARENA_NEW_ARRAY(arena, struct audit_item, r->nitems + 1); /* + the coverage item */
    struct s_keyset keys;
    s_keyset_init(&keys, arena, r->nitems);
    struct buf tmp;
    buf_init(&tmp, 4 * AUDIT_RESOURCE_MAX_BYTES);
    long long expires_at = (long long) now_s + (long long) ttl_days * AUDIT_SECONDS_PER_DAY;
    for (size_t i = 0; i < r->nitems; i++) {
        const struct report_item *it = &r->items[i];
        char ts[TIME_ISO8601_LEN + 5];
        time_format_iso8601_ms(it->ts_ms ? it->ts_ms : r->start_ms, ts);
        const char *timestamp = arena_strndup(arena, ts, strlen(ts));
        const char *action = report_action_name(it->action);
        const char *sk = arena_printf(arena, "%s#%s#%s", ts, action, s_resource(arena, it, &tmp));
        if (!s_keyset_add(&keys, sk)) {
            const char *base = sk;
            for (unsigned long long seq = 2;; seq++) {
                sk = arena_printf(arena, "%s#%llu", base, seq);
                if (s_keyset_add(&keys, sk)) {
                    break;
                }
            }
        }
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
        s_attr_n(arena, attrs, &n, "expires_at", expires_at);
        out->items[out->n++] = (struct audit_item){
            .report_index = i,
            .sk = sk,
            .item = { .attrs = attrs, .nattrs = n },
            .state = AUDIT_PENDING,
        };
    }
    buf_free(&tmp);
    if (r->coverage.known && r->coverage.volumes > 0) {
        s_coverage_item(arena, r, expires_at, out);
    }
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

/* Fills up to AUDIT_BATCHES_PER_SEND batches with pending items from *cursor on; returns how many. */
static size_t s_fill(struct audit_items *items, size_t *cursor, struct audit_batch *batches) {
    size_t nb = 0;
    while (nb < AUDIT_BATCHES_PER_SEND && *cursor < items->n) {
        struct audit_batch *b = &batches[nb];
        memset(b, 0, sizeof(*b));
        while (b->n < AUDIT_BATCH_MAX && *cursor < items->n) {
            struct audit_item *it = &items->items[(*cursor)++];
            if (it->state == AUDIT_PENDING) {
                b->items[b->n++] = it;
            }
        }
        if (b->n > 0) {
            nb++;
        }
    }
    return nb;
}

static size_t s_pending(const struct audit_items *items) {
    size_t n = 0;
    for (size_t i = 0; i < items->n; i++) {
        n += items->items[i].state == AUDIT_PENDING;
    }
    return n;
}

enum err audit_write(struct audit_items *items, const struct audit_sender *s, struct audit_result *res) {
    memset(res, 0, sizeof(*res));
    uint32_t max_rounds = s->max_rounds ? s->max_rounds : AUDIT_MAX_ROUNDS_DEFAULT;
    struct audit_batch *batches = calloc(AUDIT_BATCHES_PER_SEND, sizeof(*batches));
    if (batches == NULL) {
        FATAL("out of memory");
    }
    enum err hard_err = ERR_OK;  /* first non-retryable batch failure */
    enum err retry_err = ERR_OK; /* last retryable batch failure */
    for (uint32_t round = 1; round <= max_rounds; round++) {
        size_t pending = s_pending(items);
        if (pending == 0) {
            break;
        }
        if (round > 1) {
            res->resent += pending;
            s->sleep_ms(s->ctx, s->backoff_ms(s->ctx, round));
        }
        res->rounds = round;
        size_t cursor = 0;
        for (;;) {
            size_t nb = s_fill(items, &cursor, batches);
            if (nb == 0) {
                break;
            }
            s->send(s->ctx, batches, nb);
            res->batches_sent += nb;
            for (size_t k = 0; k < nb; k++) {
                struct audit_batch *b = &batches[k];
                if (b->result == ERR_OK) {
                    for (size_t j = 0; j < b->n; j++) {
                        if (b->unprocessed[j]) {
                            b->items[j]->error_code = AUDIT_CODE_UNPROCESSED;
                            res->unprocessed++;
                        } else {
                            b->items[j]->state = AUDIT_WRITTEN;
                            b->items[j]->error_code = NULL;
                            res->written++;
                        }
                    }
                    continue;
                }
                b->code[AUDIT_CODE_MAX] = '\0';
                const char *code = arena_strndup(items->arena, b->code, strlen(b->code));
                if (code[0] == '\0') {
                    code = err_name(b->result);
                }
                res->last_code = code;
                if (b->retryable) {
                    retry_err = b->result;
                } else if (hard_err == ERR_OK) {
                    hard_err = b->result;
                }
                for (size_t j = 0; j < b->n; j++) {
                    b->items[j]->error_code = code;
                    if (!b->retryable) {
                        b->items[j]->state = AUDIT_FAILED;
                        res->lost++;
                    }
                }
            }
        }
    }
    free(batches);
    for (size_t i = 0; i < items->n; i++) {
        struct audit_item *it = &items->items[i];
        if (it->state == AUDIT_PENDING) {
            it->state = AUDIT_FAILED;
            if (it->error_code == NULL) {
                it->error_code = AUDIT_CODE_UNPROCESSED;
            }
            res->last_code = it->error_code;
            res->lost++;
        }
    }
    if (res->lost == 0) {
        return ERR_OK;
    }
    enum err e = hard_err != ERR_OK ? hard_err : retry_err != ERR_OK ? retry_err : ERR_LIMIT;
    FAIL(e, "audit: %zu of %zu items not written (%s)", res->lost, items->n, res->last_code ? res->last_code : "?");
}
