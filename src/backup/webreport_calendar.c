/*
 * webreport_calendar.c - the coverage calendar's history in the audit table (the item schema is in
 * webreport_calendar.h): read the last 30 days of an (account, region) with one paged Query, and write back the
 * days the run knows more about, as the union of what is stored and what the run saw.
 *
 * Cost at 5,000 volumes with DR copies: today's ids are about 220 KB (two chunks), so a run writes two items
 * (plus those of a day whose late DR copies or drills it just learned), and the page reads 30 such days (a few
 * 1 MB Query pages). No index and no scan: the key schema (pk, sk) of the audit table is all it needs.
 *
 * What it does not do: decide what a day shows (webreport.c marks the bits), render, or retry beyond resending
 * UnprocessedItems a few times (the next run writes the same day again).
 */
#include "backup/webreport_calendar.h"

#include "base/log.h"
#include "base/time.h"
#include "svc/dynamodb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAL_DAY_S 86400
#define CAL_QUERY_LIMIT 1000
#define CAL_ROUNDS_MAX 4 /* BatchWriteItem rounds for UnprocessedItems */
#define CAL_SK_LEN (TIME_DATE_LEN + 3)

static const char *const s_attr[WEBREPORT_HIST__KINDS] = { "snap", "dr", "drill_passed", "drill_failed" };

struct s_rec {
    int64_t day; /* days since 1970-01-01 */
    enum webreport_hist kind;
    const char *id;
};

static int s_rec_cmp(const void *a, const void *b) {
    const struct s_rec *x = a, *y = b;
    if (x->day != y->day) {
        return x->day < y->day ? -1 : 1;
    }
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    return strcmp(x->id, y->id);
}

static const char *s_table_region(const struct cfg *cfg) {
    return cfg->dynamodb_table_region ? cfg->dynamodb_table_region : cfg->source_region;
}

const char *webreport_calendar_pk(struct arena *a, const char *account, const char *region) {
    return arena_printf(a, "%s%s#%s", WEBREPORT_CAL_PK_PREFIX, account && account[0] ? account : "unknown", region);
}

/* ---- reading ---- */

/* "2026-12-06#00" -> its day; -1 when the sort key is not a calendar day. */
static int64_t s_sk_day(const char *sk) {
    if (sk == NULL || strlen(sk) < TIME_DATE_LEN) {
        return -1;
    }
    char tmp[TIME_DATE_LEN + 1];
    memcpy(tmp, sk, TIME_DATE_LEN);
    tmp[TIME_DATE_LEN] = '\0';
    struct civil c = { 0 };
    c.year = (int) strtol(tmp, NULL, 10);
    c.month = (int) strtol(tmp + 5, NULL, 10);
    c.day = (int) strtol(tmp + 8, NULL, 10);
    if (c.year < 1971 || c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31) {
        return -1;
    }
    return time_unix_from_civil(&c) / CAL_DAY_S;
}

struct s_hist {
    struct arena *a;
    struct webreport_history_day *v;
    size_t n, cap;
};

/* The space-separated ids of one attribute, as records of `day`. */
static void s_split(struct s_hist *h, const char *text, int64_t day, enum webreport_hist kind) {
    for (const char *p = text; p != NULL && *p;) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t) (e - p) : strlen(p);
        if (len > 0) {
            if (h->n == h->cap) {
                h->v = arena_grow_array(h->a, h->v, h->n, &h->cap, sizeof(*h->v));
            }
            h->v[h->n++] =
              (struct webreport_history_day){ arena_strndup(h->a, p, len), day * CAL_DAY_S + CAL_DAY_S / 2, kind };
        }
        p = e ? e + 1 : NULL;
    }
}

/* One Query page into `h`; `next` gets its LastEvaluatedKey (copied into h->a). */
static enum err
s_read_page(struct cycle *cy, const struct dynamodb_query *q, struct s_hist *h, struct dynamodb_item *next) {
    struct buf body;
    buf_init(&body, BUF_MAX_SMALL);
    enum err e = dynamodb_query_page_body(&body, q);
    struct aws_request req = { .service = ENDPOINT_DYNAMODB,
                               .region = s_table_region(cy->cfg),
                               .operation = "Query",
                               .target = DYNAMODB_TARGET_QUERY,
                               .body = buf_span(&body) };
    struct arena_mark m = arena_mark(cy->scratch);
    const struct json_value *root = NULL;
    struct dynamodb_item *items = NULL;
    size_t n = 0;
    if (
      e == ERR_OK && (e = aws_run_one(cy->aws, &req)) == ERR_OK &&
      (e = aws_response_json(&req, cy->scratch, &root)) == ERR_OK &&
      (e = dynamodb_query_parse(cy->scratch, root, &items, &n)) == ERR_OK) {
        e = dynamodb_query_last_key(h->a, root, next);
    }
    for (size_t i = 0; e == ERR_OK && i < n; i++) {
        int64_t day = s_sk_day(dynamodb_item_text(&items[i], "sk"));
        for (int k = 0; day >= 0 && k < WEBREPORT_HIST__KINDS; k++) {
            s_split(h, dynamodb_item_text(&items[i], s_attr[k]), day, (enum webreport_hist) k);
        }
    }
    if (e != ERR_OK && req.error.code[0]) {
        err_raise(e, __FILE__, __LINE__, "Query: %s: %s", req.error.code, req.error.message);
    }
    arena_rewind(cy->scratch, m);
    aws_request_free(&req);
    buf_free(&body);
    return e;
}

enum err webreport_calendar_read(
  struct cycle *cy,
  const char *account,
  const char *region,
  struct webreport_history_day **out,
  size_t *n) {
    char from[TIME_DATE_LEN + 1];
    time_format_date(cy->now_s - (int64_t) (WEBREPORT_DAYS - 1) * CAL_DAY_S, from);
    struct s_hist h = { .a = cy->arena };
    struct dynamodb_item next = { NULL, 0 };
    struct dynamodb_query q = { .table = cy->cfg->dynamodb_table,
                                .key_name = "pk",
                                .key_value = webreport_calendar_pk(cy->arena, account, region),
                                .sort_name = "sk",
                                .sort_from = from,
                                .limit = CAL_QUERY_LIMIT,
                                .forward = true };
    enum err e = ERR_OK;
    size_t pages = 0;
    do {
        q.start = &next;
        e = s_read_page(cy, &q, &h, &next);
    } while (e == ERR_OK && next.nattrs > 0 && ++pages < WEBREPORT_CAL_PAGES_MAX);
    if (e != ERR_OK) {
        LOG(
          LOG_WARN,
          "report.calendar_unavailable",
          LF_S("table", cy->cfg->dynamodb_table),
          LF_S("pk", q.key_value),
          LF_S("error", err_last()->msg),
          LF_S("effect", "the coverage calendar shows the snapshots kept only"));
    }
    *out = h.v;
    *n = e == ERR_OK ? h.n : 0;
    return e;
}

/* ---- writing ---- */

struct s_recs {
    struct arena *a;
    struct s_rec *v;
    size_t n, cap;
};

static void s_push(struct s_recs *r, int64_t day, enum webreport_hist kind, const char *id) {
    if (r->n == r->cap) {
        r->v = arena_grow_array(r->a, r->v, r->n, &r->cap, sizeof(*r->v));
    }
    r->v[r->n++] = (struct s_rec){ day, kind, id };
}

static void s_push_bits(struct s_recs *r, int64_t today, uint32_t bits, enum webreport_hist kind, const char *id) {
    for (int d = 0; d < WEBREPORT_DAYS; d++) {
        if (bits & ((uint32_t) 1 << d)) {
            s_push(r, today - d, kind, id);
        }
    }
}

/* What the model shows of (account, region): one record per volume, day and kind. */
static void s_model_recs(const struct webreport *w, const char *account, const char *region, struct s_recs *r) {
    int64_t today = w->now_s / CAL_DAY_S;
    const char *acct = account ? account : "";
    for (size_t i = 0; i < w->nvolumes; i++) {
        const struct webreport_volume *v = &w->volumes[i];
        if (strcmp(v->account, acct) != 0 || strcmp(v->region, region) != 0) {
            continue;
        }
        s_push_bits(r, today, v->days, WEBREPORT_HIST_SNAP, v->volume_id);
        s_push_bits(r, today, v->dr_days, WEBREPORT_HIST_DR, v->volume_id);
        int64_t dd = v->drill_s / CAL_DAY_S;
        if (v->drill != WEBREPORT_DRILL_NONE && today - dd >= 0 && today - dd < WEBREPORT_DAYS) {
            bool passed = v->drill == WEBREPORT_DRILL_PASSED;
            s_push(r, dd, passed ? WEBREPORT_HIST_DRILL_PASSED : WEBREPORT_HIST_DRILL_FAILED, v->volume_id);
        }
    }
}

/* One chunk's item: the ids [from, to) of one day (sorted by kind, id). */
static struct dynamodb_item s_item(
  struct arena *a,
  const struct webreport_calendar_day *d,
  const char *const *ids,
  const enum webreport_hist *kinds,
  size_t from,
  size_t to,
  unsigned chunk) {
    struct dynamodb_attr *attrs = ARENA_NEW_ARRAY(a, struct dynamodb_attr, 5 + WEBREPORT_HIST__KINDS);
    char day[TIME_DATE_LEN + 1];
    time_format_date(d->day * CAL_DAY_S, day);
    size_t n = 0;
    attrs[n++] = (struct dynamodb_attr){ .name = "pk", .type = DYNAMODB_S, .text = d->pk };
    attrs[n++] =
      (struct dynamodb_attr){ .name = "sk", .type = DYNAMODB_S, .text = arena_printf(a, "%s#%02u", day, chunk) };
    attrs[n++] = (struct dynamodb_attr){ .name = "run_id", .type = DYNAMODB_S, .text = d->run_id };
    attrs[n++] = (struct dynamodb_attr){ .name = "written_at",
                                         .type = DYNAMODB_N,
                                         .text = arena_printf(a, "%lld", (long long) d->written_ms) };
    int64_t expires = (d->day + WEBREPORT_CAL_TTL_DAYS) * CAL_DAY_S;
    attrs[n++] = (struct dynamodb_attr){ .name = "expires_at",
                                         .type = DYNAMODB_N,
                                         .text = arena_printf(a, "%lld", (long long) expires) };
    for (size_t i = from; i < to;) {
        struct buf text;
        buf_init(&text, WEBREPORT_CAL_CHUNK_BYTES * 2);
        enum webreport_hist k = kinds[i];
        for (; i < to && kinds[i] == k; i++) {
            if (text.len) {
                buf_append_char(&text, ' ');
            }
            buf_append_cstr(&text, ids[i]);
        }
        attrs[n++] = (struct dynamodb_attr){ .name = s_attr[k],
                                             .type = DYNAMODB_S,
                                             .text = arena_strndup(a, text.data, text.len) };
        buf_free(&text);
    }
    return (struct dynamodb_item){ attrs, n };
}

size_t webreport_calendar_day_items(
  struct arena *a,
  const struct webreport_calendar_day *d,
  const char *const *ids,
  const enum webreport_hist *kinds,
  size_t n,
  struct dynamodb_item **out) {
    size_t cap = 1, nitems = 0, start = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        cap += 1 + strlen(ids[i]) / WEBREPORT_CAL_CHUNK_BYTES;
    }
    *out = ARENA_NEW_ARRAY(a, struct dynamodb_item, cap);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(ids[i]) + 1;
        if (bytes + len > WEBREPORT_CAL_CHUNK_BYTES && i > start) {
            (*out)[nitems] = s_item(a, d, ids, kinds, start, i, (unsigned) nitems);
            nitems++;
            start = i;
            bytes = 0;
        }
        bytes += len;
    }
    if (n > 0) {
        (*out)[nitems] = s_item(a, d, ids, kinds, start, n, (unsigned) nitems);
        nitems++;
    }
    return nitems;
}

struct s_batch {
    struct dynamodb_item items[DYNAMODB_BATCH_WRITE_MAX_ITEMS];
    size_t n;
    size_t written;
    enum err e;
};

/* One BatchWriteItem of items[0..n); the unprocessed ones are moved to the front, *n becomes their number. */
static enum err s_put_round(struct cycle *cy, const struct dynamodb_item **items, size_t *n, size_t *written) {
    struct buf body;
    buf_init(&body, DYNAMODB_BATCH_WRITE_MAX_BYTES);
    struct arena_mark m = arena_mark(cy->scratch);
    enum err e = dynamodb_batch_write_body(&body, cy->cfg->dynamodb_table, items, *n);
    struct aws_request req = { .service = ENDPOINT_DYNAMODB,
                               .region = s_table_region(cy->cfg),
                               .operation = "BatchWriteItem",
                               .target = DYNAMODB_TARGET_BATCH_WRITE_ITEM,
                               .body = buf_span(&body) };
    const struct json_value *root = NULL;
    struct span *left = NULL;
    size_t nleft = 0;
    if (
      e == ERR_OK && (e = aws_run_one(cy->aws, &req)) == ERR_OK &&
      (e = aws_response_json(&req, cy->scratch, &root)) == ERR_OK) {
        e = dynamodb_batch_write_parse(cy->scratch, root, "sk", &left, &nleft);
    }
    if (e != ERR_OK && req.error.code[0]) {
        err_raise(e, __FILE__, __LINE__, "BatchWriteItem: %s: %s", req.error.code, req.error.message);
    }
    size_t kept = 0;
    for (size_t i = 0; e == ERR_OK && i < *n; i++) {
        bool unprocessed = false;
        for (size_t k = 0; k < nleft && !unprocessed; k++) {
            unprocessed = span_eq_cstr(left[k], dynamodb_item_text(items[i], "sk"));
        }
        items[kept] = items[i];
        kept += unprocessed;
        *written += !unprocessed;
    }
    *n = e == ERR_OK ? kept : *n;
    arena_rewind(cy->scratch, m);
    aws_request_free(&req);
    buf_free(&body);
    return e;
}

/* Puts the batch, resending UnprocessedItems (matched by sk) for a few rounds. */
static enum err s_put_batch(struct cycle *cy, struct s_batch *b) {
    const struct dynamodb_item *items[DYNAMODB_BATCH_WRITE_MAX_ITEMS];
    size_t n = b->n;
    for (size_t i = 0; i < n; i++) {
        items[i] = &b->items[i];
    }
    enum err e = ERR_OK;
    for (int round = 0; n > 0 && round < CAL_ROUNDS_MAX && e == ERR_OK; round++) {
        e = s_put_round(cy, items, &n, &b->written);
    }
    b->n = 0;
    if (e == ERR_OK && n > 0) {
        e = err_raise(ERR_LIMIT, __FILE__, __LINE__, "UnprocessedItems: %zu items after %d rounds", n, CAL_ROUNDS_MAX);
    }
    return e;
}

static void s_add(struct cycle *cy, struct s_batch *b, struct dynamodb_item item) {
    if (b->e != ERR_OK) {
        return;
    }
    b->items[b->n++] = item;
    if (b->n == DYNAMODB_BATCH_WRITE_MAX_ITEMS) {
        b->e = s_put_batch(cy, b);
    }
}

/* One day's records [from, to) (sorted, distinct) as items of at most WEBREPORT_CAL_CHUNK_BYTES of ids each. */
static void
s_write_day(struct cycle *cy, const char *pk, const struct s_rec *v, size_t from, size_t to, struct s_batch *b) {
    size_t n = to - from;
    const char **ids = ARENA_NEW_ARRAY(cy->arena, const char *, n);
    enum webreport_hist *kinds = ARENA_NEW_ARRAY(cy->arena, enum webreport_hist, n);
    for (size_t i = 0; i < n; i++) {
        ids[i] = v[from + i].id;
        kinds[i] = v[from + i].kind;
    }
    struct webreport_calendar_day d = { pk, v[from].day, cy->report->run_id, time_wall_ms() };
    struct dynamodb_item *items = NULL;
    size_t nitems = webreport_calendar_day_items(cy->arena, &d, ids, kinds, n, &items);
    for (size_t i = 0; i < nitems; i++) {
        s_add(cy, b, items[i]);
    }
}

/* The days (bit d = today - d) on which a model record is not stored. */
static uint32_t s_dirty_days(const struct s_recs *stored, const struct s_recs *model, int64_t today) {
    uint32_t dirty = 0;
    for (size_t i = 0; i < model->n; i++) {
        const struct s_rec *m = &model->v[i];
        if (bsearch(m, stored->v, stored->n, sizeof(*stored->v), s_rec_cmp) == NULL) {
            dirty |= (uint32_t) 1 << (today - m->day);
        }
    }
    return dirty;
}

/* Sorted, duplicates dropped. */
static void s_sort_unique(struct s_recs *r) {
    if (r->n == 0) {
        return;
    }
    qsort(r->v, r->n, sizeof(*r->v), s_rec_cmp);
    size_t k = 1;
    for (size_t i = 1; i < r->n; i++) {
        if (s_rec_cmp(&r->v[i], &r->v[k - 1]) != 0) {
            r->v[k++] = r->v[i];
        }
    }
    r->n = k;
}

enum err webreport_calendar_write(
  struct cycle *cy,
  const struct webreport *w,
  const char *account,
  const char *region,
  const struct webreport_history_day *stored,
  size_t nstored,
  size_t *written) {
    int64_t today = w->now_s / CAL_DAY_S;
    struct s_recs have = { .a = cy->arena }, model = { .a = cy->arena }, all = { .a = cy->arena };
    for (size_t i = 0; i < nstored; i++) {
        s_push(&have, stored[i].start_s / CAL_DAY_S, stored[i].kind, stored[i].volume_id);
    }
    s_sort_unique(&have);
    s_model_recs(w, account, region, &model);
    uint32_t dirty = s_dirty_days(&have, &model, today);
    for (size_t i = 0; i < have.n; i++) {
        int64_t d = today - have.v[i].day;
        if (d >= 0 && d < WEBREPORT_DAYS && (dirty >> d & 1)) {
            s_push(&all, have.v[i].day, have.v[i].kind, have.v[i].id);
        }
    }
    for (size_t i = 0; i < model.n; i++) {
        if (dirty >> (today - model.v[i].day) & 1) {
            s_push(&all, model.v[i].day, model.v[i].kind, model.v[i].id);
        }
    }
    s_sort_unique(&all);
    const char *pk = webreport_calendar_pk(cy->arena, account, region);
    struct s_batch *b = ARENA_NEW(cy->arena, struct s_batch);
    for (size_t i = 0; i < all.n && b->e == ERR_OK;) {
        size_t j = i;
        while (j < all.n && all.v[j].day == all.v[i].day) {
            j++;
        }
        s_write_day(cy, pk, all.v, i, j, b);
        i = j;
    }
    if (b->e == ERR_OK && b->n > 0) {
        b->e = s_put_batch(cy, b);
    }
    *written = b->written;
    if (b->e != ERR_OK) {
        LOG(
          LOG_WARN,
          "report.calendar_failed",
          LF_S("table", cy->cfg->dynamodb_table),
          LF_S("pk", pk),
          LF_S("error", err_last()->msg),
          LF_U("items_written", b->written),
          LF_S("effect", "the next run writes these days again; until then a later page may miss them"));
    }
    return b->e;
}
