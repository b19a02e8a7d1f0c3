/*
 * test_audit.c - the DynamoDB audit log: item keys and attributes, unique sort keys, batches of 25, and the write
 * loop against a fake DynamoDB (UnprocessedItems, throttled batches, hard errors: no item lost silently); and
 * svc/dynamodb's BatchWriteItem body and response.
 */
#include "harness.h"

#include "backup/audit.h"
#include "codec/json.h"

#include <stdio.h>
#include <stdlib.h>

#define RUN_ID "11111111-2222-4333-8444-555555555555"
#define NOW_S 1767225600 /* 2026-01-01T00:00:00Z */

struct fixture {
    struct arena arena;
    struct report r;
};

static void s_fixture(struct fixture *f) {
    arena_init(&f->arena, 0);
    report_init(&f->r, &f->arena, (int64_t) NOW_S * 1000);
    memcpy(f->r.run_id, RUN_ID, RAND_UUID_LEN + 1);
}

static void s_free(struct fixture *f) {
    report_free(&f->r);
    arena_free(&f->arena);
}

static void s_add(struct fixture *f, struct report_item it) {
    (void) report_add(&f->r, &it);
}

/* n created snapshots, one per millisecond. */
static void s_add_created(struct fixture *f, size_t n) {
    char id[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "snap-%05zu", i);
        s_add(
          f,
          (struct report_item){ .action = REPORT_CREATED,
                                .job = REPORT_JOB_EBS,
                                .ts_ms = (int64_t) NOW_S * 1000 + (int64_t) i,
                                .region = "us-east-1",
                                .instance_id = "i-1",
                                .snapshot_id = id });
    }
}

/* ---- items ---- */

TEST(audit_items_have_the_documented_keys_and_attributes) {
    struct fixture f;
    s_fixture(&f);
    s_add(
      &f,
      (struct report_item){ .action = REPORT_CREATED,
                            .job = REPORT_JOB_EBS,
                            .ts_ms = (int64_t) NOW_S * 1000 + 123,
                            .region = "us-east-1",
                            .instance_id = "i-0abc",
                            .volume_id = "vol-0abc",
                            .device = "/dev/xvda",
                            .snapshot_id = "snap-0new" });
    s_add(
      &f,
      (struct report_item){ .action = REPORT_FAILED,
                            .job = REPORT_JOB_EBS,
                            .ts_ms = (int64_t) NOW_S * 1000 + 500,
                            .region = "us-east-1",
                            .instance_id = "i-0def",
                            .aws_code = "UnauthorizedOperation",
                            .message = "CreateSnapshots: not authorized" });
    s_add(
      &f,
      (struct report_item){ .action = REPORT_COPIED,
                            .job = REPORT_JOB_S3,
                            .ts_ms = (int64_t) NOW_S * 1000 + 600,
                            .bucket = "docs-backup",
                            .key = "documents/a.pdf",
                            .bytes = 1234 });
    s_add(&f, (struct report_item){ .action = REPORT_SKIPPED, .job = REPORT_JOB_EBS, .reason = "no EBS volumes" });
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 365, &items);
    REQUIRE(items.n == 4);
    const struct audit_item *it = &items.items[0];
    CHECK_STR(audit_attr(it, "pk"), RUN_ID);
    CHECK_STR(audit_attr(it, "sk"), "2026-01-01T00:00:00.123Z#created#snap-0new");
    CHECK_STR(it->sk, "2026-01-01T00:00:00.123Z#created#snap-0new");
    CHECK_STR(audit_attr(it, "run_id"), RUN_ID);
    CHECK_STR(audit_attr(it, "timestamp"), "2026-01-01T00:00:00.123Z");
    CHECK_STR(audit_attr(it, "action"), "created");
    CHECK_STR(audit_attr(it, "job"), "ebs");
    CHECK_STR(audit_attr(it, "region"), "us-east-1");
    CHECK_STR(audit_attr(it, "instance_id"), "i-0abc");
    CHECK_STR(audit_attr(it, "volume_id"), "vol-0abc");
    CHECK_STR(audit_attr(it, "snapshot_id"), "snap-0new");
    CHECK_STR(audit_attr(it, "device"), "/dev/xvda");
    CHECK(audit_attr(it, "reason") == NULL);
    CHECK(audit_attr(it, "error_code") == NULL);
    CHECK(audit_attr(it, "dry_run") == NULL);
    /* expires_at: a Number, now + 365 days. */
    CHECK_STR(audit_attr(it, "expires_at"), "1798761600");
    CHECK_INT(it->item.attrs[it->item.nattrs - 1].type, DYNAMODB_N);
    CHECK_INT(it->item.attrs[0].type, DYNAMODB_S);
    CHECK_INT(it->report_index, 0);
    CHECK_INT(it->state, AUDIT_PENDING);

    it = &items.items[1];
    CHECK_STR(it->sk, "2026-01-01T00:00:00.500Z#failed#i-0def");
    CHECK_STR(audit_attr(it, "error_code"), "UnauthorizedOperation");
    CHECK_STR(audit_attr(it, "message"), "CreateSnapshots: not authorized");

    it = &items.items[2];
    CHECK_STR(it->sk, "2026-01-01T00:00:00.600Z#copied#docs-backup/documents/a.pdf");
    CHECK_STR(audit_attr(it, "job"), "s3");
    CHECK_STR(audit_attr(it, "bucket"), "docs-backup");
    CHECK_STR(audit_attr(it, "key"), "documents/a.pdf");
    CHECK_STR(audit_attr(it, "bytes"), "1234");
    CHECK(audit_attr(it, "region") == NULL);

    /* No timestamp of its own: the report's start. No resource: "-". */
    it = &items.items[3];
    CHECK_STR(it->sk, "2026-01-01T00:00:00.000Z#skipped#-");
    CHECK_STR(audit_attr(it, "reason"), "no EBS volumes");
    s_free(&f);
}

TEST(audit_resource_id_order) {
    struct {
        struct report_item it;
        const char *want;
    } cases[] = {
        { { .snapshot_id = "snap-c", .source_snapshot_id = "snap-s", .instance_id = "i-1" }, "snap-c" },
        { { .source_snapshot_id = "snap-s", .instance_id = "i-1" }, "snap-s" },
        { { .instance_id = "i-1", .volume_id = "vol-1" }, "i-1" },
        { { .volume_id = "vol-1" }, "vol-1" },
        { { .bucket = "b", .key = "k/x" }, "b/k/x" },
        { { .key = "k/x" }, "k/x" },
        { { .bucket = "b" }, "b" },
        { { .snapshot_id = "", .instance_id = "i-2" }, "i-2" },
        { { .region = "us-east-1" }, "-" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        s_fixture(&f);
        cases[i].it.ts_ms = (int64_t) NOW_S * 1000;
        cases[i].it.action = REPORT_DELETED;
        s_add(&f, cases[i].it);
        struct audit_items items;
        audit_build(&f.arena, &f.r, NOW_S, 1, &items);
        char want[256];
        snprintf(want, sizeof(want), "2026-01-01T00:00:00.000Z#deleted#%s", cases[i].want);
        if (!CHECK_STR(items.items[0].sk, want)) {
            harness_note("case %zu", i);
        }
        s_free(&f);
    }
}

TEST(audit_sort_keys_are_unique_even_when_actions_collide) {
    struct fixture f;
    s_fixture(&f);
    struct report_item same = { .action = REPORT_SKIPPED,
                                .job = REPORT_JOB_EBS,
                                .ts_ms = (int64_t) NOW_S * 1000,
                                .instance_id = "i-1",
                                .reason = "x" };
    s_add(&f, same);
    s_add(&f, same);
    s_add(&f, same);
    /* A resource id that looks like a suffixed key: the suffix must step over it. */
    struct report_item tricky = same;
    tricky.instance_id = "i-1#2";
    s_add(&f, tricky);
    s_add(&f, same);
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 1, &items);
    REQUIRE(items.n == 5);
    CHECK_STR(items.items[0].sk, "2026-01-01T00:00:00.000Z#skipped#i-1");
    CHECK_STR(items.items[1].sk, "2026-01-01T00:00:00.000Z#skipped#i-1#2");
    CHECK_STR(items.items[2].sk, "2026-01-01T00:00:00.000Z#skipped#i-1#3");
    CHECK_STR(items.items[3].sk, "2026-01-01T00:00:00.000Z#skipped#i-1#2#2"); /* "i-1#2" itself was taken */
    CHECK_STR(items.items[4].sk, "2026-01-01T00:00:00.000Z#skipped#i-1#4");
    s_free(&f);
}

static int s_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* 10,000 actions over few timestamps, ids and actions: every sk distinct, every sk within the key limit. */
TEST(audit_sort_keys_property_unique_and_bounded) {
    uint64_t rng = harness_seed();
    struct fixture f;
    s_fixture(&f);
    char id[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "i-%d", (int) harness_rng_range(&rng, 0, 20));
        s_add(
          &f,
          (struct report_item){ .action = (enum report_action) harness_rng_range(&rng, 0, REPORT__ACTIONS - 1),
                                .job = REPORT_JOB_EBS,
                                .ts_ms = (int64_t) NOW_S * 1000 + harness_rng_range(&rng, 0, 3),
                                .instance_id = id });
    }
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 1, &items);
    REQUIRE(items.n == 10000);
    const char **sks = malloc(items.n * sizeof(*sks));
    for (size_t i = 0; i < items.n; i++) {
        sks[i] = items.items[i].sk;
        CHECK(strlen(sks[i]) <= AUDIT_SK_MAX_BYTES);
    }
    qsort(sks, items.n, sizeof(*sks), s_cmp_str);
    size_t dups = 0;
    for (size_t i = 1; i < items.n; i++) {
        dups += strcmp(sks[i - 1], sks[i]) == 0;
    }
    CHECK_INT(dups, 0);
    free(sks);
    s_free(&f);
}

TEST(audit_sort_key_of_a_long_multibyte_key_fits_and_is_valid_utf8) {
    struct fixture f;
    s_fixture(&f);
    /* An S3 key of 1024 bytes of 3-byte characters, plus a bucket: far over the resource budget. */
    char key[1025];
    for (size_t i = 0; i + 3 <= 1023; i += 3) {
        memcpy(key + i, "\xe2\x82\xac", 3);
        key[i + 3] = '\0';
    }
    s_add(&f, (struct report_item){ .action = REPORT_COPIED, .job = REPORT_JOB_S3, .bucket = "b", .key = key });
    s_add(&f, (struct report_item){ .action = REPORT_COPIED, .job = REPORT_JOB_S3, .bucket = "b", .key = key });
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 1, &items);
    for (size_t i = 0; i < 2; i++) {
        const char *sk = items.items[i].sk;
        CHECK(strlen(sk) <= AUDIT_SK_MAX_BYTES);
        /* Ends in "…" (then maybe "#2"), and never in a partial "€". */
        const char *cut = strstr(sk, "\xe2\x80\xa6");
        REQUIRE(cut != NULL);
        CHECK((size_t) (cut - sk - strlen("2026-01-01T00:00:00.000Z#copied#b/")) % 3 == 0);
    }
    CHECK(strcmp(items.items[0].sk, items.items[1].sk) != 0);
    CHECK_STR(audit_attr(&items.items[0], "key"), key); /* the attribute itself is whole */
    s_free(&f);
}

TEST(audit_dry_run_items_say_so) {
    struct fixture f;
    s_fixture(&f);
    f.r.dry_run = true;
    s_add_created(&f, 1);
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 30, &items);
    bool found = false;
    for (size_t i = 0; i < items.items[0].item.nattrs; i++) {
        const struct dynamodb_attr *a = &items.items[0].item.attrs[i];
        if (strcmp(a->name, "dry_run") == 0) {
            found = a->type == DYNAMODB_BOOL && a->flag;
        }
    }
    CHECK(found);
    CHECK_STR(audit_attr(&items.items[0], "expires_at"), "1769817600"); /* + 30 days */
    s_free(&f);
}

/* ---- the write loop, against a fake DynamoDB ---- */

struct fake {
    size_t sizes[512]; /* batch sizes in the order sent */
    size_t nbatches;
    size_t sends;
    uint32_t round;
    int64_t slept[16];
    size_t nsleeps;
    /* Behaviour. */
    uint32_t unprocessed_rounds;     /* items with an odd report index come back unprocessed in the first N rounds */
    uint32_t throttle_rounds;        /* every batch fails retryably in the first N rounds */
    enum err hard_error;             /* every batch fails with this, not retryably */
    size_t hard_error_batch_of_item; /* ...only the batch holding this report index (SIZE_MAX: all) */
    size_t writes[4096];             /* per report index: times written */
    size_t run_items;                /* items of the run (coverage) written */
};

static void s_fake_send(void *ctx, struct audit_batch *batches, size_t n) {
    struct fake *fk = ctx;
    fk->sends++;
    for (size_t k = 0; k < n; k++) {
        struct audit_batch *b = &batches[k];
        if (fk->nbatches < sizeof(fk->sizes) / sizeof(fk->sizes[0])) {
            fk->sizes[fk->nbatches] = b->n;
        }
        fk->nbatches++;
        bool hard = false;
        for (size_t j = 0; j < b->n && fk->hard_error != ERR_OK; j++) {
            hard |=
              fk->hard_error_batch_of_item == SIZE_MAX || b->items[j]->report_index == fk->hard_error_batch_of_item;
        }
        if (hard) {
            b->result = fk->hard_error;
            b->retryable = false;
            snprintf(b->code, sizeof(b->code), "AccessDeniedException");
            continue;
        }
        if (fk->round <= fk->throttle_rounds) {
            b->result = ERR_AWS;
            b->retryable = true;
            snprintf(b->code, sizeof(b->code), "ProvisionedThroughputExceededException");
            continue;
        }
        b->result = ERR_OK;
        for (size_t j = 0; j < b->n; j++) {
            if (fk->round <= fk->unprocessed_rounds && b->items[j]->report_index % 2 == 1) {
                b->unprocessed[j] = true;
            } else if (b->items[j]->report_index < sizeof(fk->writes) / sizeof(fk->writes[0])) {
                fk->writes[b->items[j]->report_index]++;
            } else {
                fk->run_items++; /* the coverage item (no report index) */
            }
        }
    }
}

static int64_t s_fake_backoff(void *ctx, uint32_t round) {
    (void) ctx;
    return 100 * (int64_t) round;
}

static void s_fake_sleep(void *ctx, int64_t ms) {
    struct fake *fk = ctx;
    if (fk->nsleeps < 16) {
        fk->slept[fk->nsleeps] = ms;
    }
    fk->nsleeps++;
    fk->round++;
}

static struct audit_sender s_sender(struct fake *fk) {
    fk->round = 1;
    return (struct audit_sender){
        .ctx = fk, .send = s_fake_send, .backoff_ms = s_fake_backoff, .sleep_ms = s_fake_sleep, .max_rounds = 0
    };
}

TEST(audit_batches_of_25_for_0_1_25_26_51_items) {
    struct {
        size_t n;
        size_t nbatches;
        size_t sizes[3];
    } cases[] = { { 0, 0, { 0 } }, { 1, 1, { 1 } }, { 25, 1, { 25 } }, { 26, 2, { 25, 1 } }, { 51, 3, { 25, 25, 1 } } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        s_fixture(&f);
        s_add_created(&f, cases[i].n);
        struct audit_items items;
        audit_build(&f.arena, &f.r, NOW_S, 1, &items);
        static struct fake fk;
        memset(&fk, 0, sizeof(fk));
        struct audit_sender s = s_sender(&fk);
        struct audit_result res;
        CHECK_OK(audit_write(&items, &s, &res));
        CHECK_INT(audit_batch_count(cases[i].n), cases[i].nbatches);
        CHECK_INT(fk.nbatches, cases[i].nbatches);
        CHECK_INT(res.batches_sent, cases[i].nbatches);
        for (size_t k = 0; k < cases[i].nbatches; k++) {
            CHECK_INT(fk.sizes[k], cases[i].sizes[k]);
        }
        CHECK_INT(res.written, cases[i].n);
        CHECK_INT(res.lost, 0);
        CHECK_INT(res.rounds, cases[i].n ? 1 : 0);
        CHECK_INT(fk.nsleeps, 0);
        for (size_t k = 0; k < cases[i].n; k++) {
            CHECK_INT(fk.writes[k], 1);
            CHECK_INT(items.items[k].state, AUDIT_WRITTEN);
        }
        s_free(&f);
    }
}

TEST(audit_many_batches_are_handed_over_in_groups) {
    struct fixture f;
    s_fixture(&f);
    size_t n = AUDIT_BATCH_MAX * AUDIT_BATCHES_PER_SEND * 2 + 7; /* 1607: 65 batches, three sends */
    s_add_created(&f, n);
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 1, &items);
    static struct fake fk;
    memset(&fk, 0, sizeof(fk));
    struct audit_sender s = s_sender(&fk);
    struct audit_result res;
    CHECK_OK(audit_write(&items, &s, &res));
    CHECK_INT(fk.sends, 3);
    CHECK_INT(fk.nbatches, 65);
    CHECK_INT(res.written, n);
    s_free(&f);
}

TEST(audit_unprocessed_items_are_resent_after_backoff_and_none_is_lost) {
    struct fixture f;
    s_fixture(&f);
    s_add_created(&f, 60);
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 1, &items);
    static struct fake fk;
    memset(&fk, 0, sizeof(fk));
    fk.unprocessed_rounds = 2;
    struct audit_sender s = s_sender(&fk);
    struct audit_result res;
    CHECK_OK(audit_write(&items, &s, &res));
    CHECK_INT(res.written, 60);
    CHECK_INT(res.lost, 0);
    CHECK_INT(res.rounds, 3);
    /* Round 1: 60 sent in batches 25/25/10, the 30 odd ones unprocessed; round 2: those 30 (25/5), unprocessed
     * again; round 3: the 30, all written. */
    CHECK_INT(res.unprocessed, 60);
    CHECK_INT(res.resent, 60);
    CHECK_INT(fk.nbatches, 3 + 2 + 2);
    CHECK_INT(fk.sizes[3], 25);
    CHECK_INT(fk.sizes[4], 5);
    CHECK_INT(fk.nsleeps, 2);
    CHECK_INT(fk.slept[0], 200); /* backoff before round 2, then round 3 */
    CHECK_INT(fk.slept[1], 300);
    for (size_t k = 0; k < 60; k++) {
        CHECK_INT(fk.writes[k], 1);
    }
    s_free(&f);
}

TEST(audit_throttled_batches_are_retried_in_the_next_round) {
    struct fixture f;
    s_fixture(&f);
    s_add_created(&f, 30);
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 1, &items);
    static struct fake fk;
    memset(&fk, 0, sizeof(fk));
    fk.throttle_rounds = 2;
    struct audit_sender s = s_sender(&fk);
    struct audit_result res;
    CHECK_OK(audit_write(&items, &s, &res));
    CHECK_INT(res.written, 30);
    CHECK_INT(res.rounds, 3);
    CHECK_INT(res.resent, 60);
    CHECK_STR(res.last_code, "ProvisionedThroughputExceededException");
    s_free(&f);
}

TEST(audit_items_still_unprocessed_after_the_last_round_are_failures_not_lost) {
    struct fixture f;
    s_fixture(&f);
    s_add_created(&f, 10);
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 1, &items);
    static struct fake fk;
    memset(&fk, 0, sizeof(fk));
    fk.unprocessed_rounds = 100;
    struct audit_sender s = s_sender(&fk);
    s.max_rounds = 4;
    struct audit_result res;
    CHECK_INT(audit_write(&items, &s, &res), ERR_LIMIT);
    CHECK_INT(res.rounds, 4);
    CHECK_INT(fk.nsleeps, 3);
    CHECK_INT(res.written, 5);
    CHECK_INT(res.lost, 5);
    CHECK_INT(res.written + res.lost, 10);
    for (size_t k = 0; k < 10; k++) {
        CHECK_INT(items.items[k].state, k % 2 ? AUDIT_FAILED : AUDIT_WRITTEN);
        if (k % 2) {
            CHECK_STR(items.items[k].error_code, AUDIT_CODE_UNPROCESSED);
        }
    }
    CHECK_STR(res.last_code, AUDIT_CODE_UNPROCESSED);
    s_free(&f);
}

TEST(audit_throttled_past_the_last_round_fails_with_the_throttling_code) {
    struct fixture f;
    s_fixture(&f);
    s_add_created(&f, 3);
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 1, &items);
    static struct fake fk;
    memset(&fk, 0, sizeof(fk));
    fk.throttle_rounds = 100;
    struct audit_sender s = s_sender(&fk);
    struct audit_result res;
    CHECK_INT(audit_write(&items, &s, &res), ERR_AWS);
    CHECK_INT(res.rounds, AUDIT_MAX_ROUNDS_DEFAULT);
    CHECK_INT(res.lost, 3);
    for (size_t k = 0; k < 3; k++) {
        CHECK_STR(items.items[k].error_code, "ProvisionedThroughputExceededException");
    }
    s_free(&f);
}

TEST(audit_a_hard_error_fails_its_batch_at_once_and_spares_the_others) {
    struct fixture f;
    s_fixture(&f);
    s_add_created(&f, 51);
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 1, &items);
    static struct fake fk;
    memset(&fk, 0, sizeof(fk));
    fk.hard_error = ERR_AUTH;
    fk.hard_error_batch_of_item = 30; /* the second batch */
    struct audit_sender s = s_sender(&fk);
    struct audit_result res;
    CHECK_INT(audit_write(&items, &s, &res), ERR_AUTH);
    CHECK_INT(res.rounds, 1); /* nothing left to retry */
    CHECK_INT(fk.nsleeps, 0);
    CHECK_INT(res.written, 26);
    CHECK_INT(res.lost, 25);
    for (size_t k = 0; k < 51; k++) {
        bool in_second = k >= 25 && k < 50;
        CHECK_INT(items.items[k].state, in_second ? AUDIT_FAILED : AUDIT_WRITTEN);
        if (in_second) {
            CHECK_STR(items.items[k].error_code, "AccessDeniedException");
        }
    }
    s_free(&f);
}

/* ---- streaming: batches during the run, the rest at the end ---- */

static bool s_has_attr(const struct audit_item *it, const char *name) {
    for (size_t i = 0; i < it->item.nattrs; i++) {
        if (strcmp(it->item.attrs[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* A streamed batch's answer: every item written (or the given failure). */
static void s_answer(struct audit_batch *b, enum err e, bool retryable, struct fake *fk) {
    b->result = e;
    b->retryable = retryable;
    if (e != ERR_OK) {
        snprintf(b->code, sizeof(b->code), "%s", retryable ? "ThrottlingException" : "AccessDeniedException");
        return;
    }
    for (size_t j = 0; j < b->n; j++) {
        fk->writes[b->items[j]->report_index]++;
    }
}

TEST(audit_stream_sends_full_batches_during_the_run_and_the_final_write_only_the_rest) {
    struct fixture f;
    s_fixture(&f);
    f.r.coverage = (struct coverage){ .known = true, .volumes = 3 };
    static struct fake fk;
    memset(&fk, 0, sizeof(fk));
    struct audit_items items;
    audit_begin(&items, &f.arena, NOW_S, 1);
    struct audit_result streamed = { 0 };
    struct audit_batch b;
    s_add_created(&f, 30);
    CHECK_INT(audit_add_new(&items, &f.r), 30);
    CHECK_INT(audit_take(&items, false, &b), 25); /* a full batch */
    const char *first_sk = items.items[0].sk;
    s_answer(&b, ERR_OK, false, &fk);
    audit_settle(&items, &b, &streamed);
    CHECK_INT(audit_take(&items, false, &b), 0); /* 5 pending: not a full batch yet */
    CHECK_INT(items.npending, 5);
    /* 30 more actions: the array grows, and the next full batch is 25..49. */
    for (size_t i = 0; i < 30; i++) {
        s_add(&f, (struct report_item){ .action = REPORT_SKIPPED, .job = REPORT_JOB_EBS, .instance_id = "i-2" });
    }
    CHECK_INT(audit_add_new(&items, &f.r), 30);
    CHECK_INT(audit_add_new(&items, &f.r), 0); /* built once */
    CHECK_INT(audit_take(&items, false, &b), 25);
    CHECK_INT(b.items[0]->report_index, 25);
    CHECK_INT(b.items[24]->report_index, 49);
    s_answer(&b, ERR_OK, false, &fk);
    audit_settle(&items, &b, &streamed);
    CHECK_INT(streamed.written, 50);
    CHECK_INT(streamed.batches_sent, 2);
    /* The ending: the coverage item, and one write of what is left (10 actions + coverage). */
    audit_add_coverage(&items, &f.r);
    CHECK_STR(items.items[0].sk, first_sk); /* keys are stable */
    struct audit_sender s = s_sender(&fk);
    struct audit_result res;
    CHECK_OK(audit_write(&items, &s, &res));
    CHECK_INT(fk.nbatches, 1);
    CHECK_INT(fk.sizes[0], 11);
    CHECK_INT(res.written, 11);
    CHECK_INT(audit_count(&items, AUDIT_WRITTEN), 61);
    CHECK_INT(fk.run_items, 1); /* the coverage item, written once, at the end */
    for (size_t k = 0; k < 60; k++) {
        CHECK_INT(fk.writes[k], 1); /* nothing written twice */
    }
    /* The skipped items' keys collide (same time, action, instance): still unique across the streamed batches. */
    CHECK_STR(items.items[30].sk, "2026-01-01T00:00:00.000Z#skipped#i-2");
    CHECK_STR(items.items[59].sk, "2026-01-01T00:00:00.000Z#skipped#i-2#30");
    s_free(&f);
}

TEST(audit_stream_partial_batch_only_when_asked) {
    struct fixture f;
    s_fixture(&f);
    s_add_created(&f, 7);
    struct audit_items items;
    audit_begin(&items, &f.arena, NOW_S, 1);
    audit_add_new(&items, &f.r);
    struct audit_batch b;
    CHECK_INT(audit_take(&items, false, &b), 0);
    CHECK_INT(audit_count(&items, AUDIT_PENDING), 7);
    CHECK_INT(audit_take(&items, true, &b), 7);
    CHECK_INT(items.npending, 0);
    CHECK_INT(audit_count(&items, AUDIT_SENDING), 7);
    CHECK_INT(audit_take(&items, true, &b), 0); /* on the wire: not taken twice */
    s_free(&f);
}

TEST(audit_stream_a_batch_that_failed_retryably_or_never_answered_is_sent_by_the_final_write) {
    struct fixture f;
    s_fixture(&f);
    s_add_created(&f, 75);
    static struct fake fk;
    memset(&fk, 0, sizeof(fk));
    struct audit_items items;
    audit_begin(&items, &f.arena, NOW_S, 1);
    audit_add_new(&items, &f.r);
    struct audit_result streamed = { 0 };
    struct audit_batch b1, b2, b3;
    REQUIRE(audit_take(&items, false, &b1) == 25);
    REQUIRE(audit_take(&items, false, &b2) == 25);
    REQUIRE(audit_take(&items, false, &b3) == 25);
    s_answer(&b1, ERR_AWS, true, &fk); /* throttled: pending again */
    audit_settle(&items, &b1, &streamed);
    s_answer(&b2, ERR_OK, false, &fk);
    audit_settle(&items, &b2, &streamed);
    /* b3 is still "on the wire" when the run ends (killed request, lost answer): the final write sends it. */
    CHECK_INT(items.npending, 25);
    struct audit_sender s = s_sender(&fk);
    struct audit_result res;
    CHECK_OK(audit_write(&items, &s, &res));
    CHECK_INT(res.lost, 0);
    CHECK_INT(audit_count(&items, AUDIT_WRITTEN), 75);
    CHECK_INT(fk.nbatches, 2); /* b1's and b3's items, 50, in two batches */
    for (size_t k = 0; k < 75; k++) {
        CHECK_INT(fk.writes[k], 1);
    }
    s_free(&f);
}

TEST(audit_stream_a_hard_failure_while_streaming_is_reported_by_the_final_write) {
    struct fixture f;
    s_fixture(&f);
    s_add_created(&f, 30);
    static struct fake fk;
    memset(&fk, 0, sizeof(fk));
    struct audit_items items;
    audit_begin(&items, &f.arena, NOW_S, 1);
    audit_add_new(&items, &f.r);
    struct audit_result streamed = { 0 };
    struct audit_batch b;
    REQUIRE(audit_take(&items, false, &b) == 25);
    s_answer(&b, ERR_AUTH, false, &fk);
    audit_settle(&items, &b, &streamed);
    CHECK_INT(audit_count(&items, AUDIT_FAILED), 25);
    CHECK_STR(items.items[0].error_code, "AccessDeniedException");
    struct audit_sender s = s_sender(&fk);
    struct audit_result res;
    CHECK_INT(audit_write(&items, &s, &res), ERR_AWS); /* never dropped: the run's audit write fails */
    CHECK_INT(res.lost, 25);
    CHECK_INT(res.written, 5);
    CHECK_INT(fk.nbatches, 1); /* the failed ones are not sent again */
    s_free(&f);
}

TEST(audit_stream_interrupted_is_on_what_the_ending_writes) {
    struct fixture f;
    s_fixture(&f);
    f.r.coverage = (struct coverage){ .known = true, .volumes = 1 };
    s_add_created(&f, 25);
    struct audit_items items;
    audit_begin(&items, &f.arena, NOW_S, 1);
    audit_add_new(&items, &f.r);
    f.r.interrupted = true; /* the stop: later items are built by the ending */
    s_add(&f, (struct report_item){ .action = REPORT_DEFERRED, .job = REPORT_JOB_EBS, .instance_id = "i-9" });
    audit_add_new(&items, &f.r);
    audit_add_coverage(&items, &f.r);
    REQUIRE(items.n == 27);
    CHECK(!s_has_attr(&items.items[0], "interrupted"));
    CHECK(!s_has_attr(&items.items[24], "interrupted"));
    CHECK(s_has_attr(&items.items[25], "interrupted"));
    CHECK_STR(audit_attr(&items.items[26], "action"), "coverage");
    CHECK(s_has_attr(&items.items[26], "interrupted"));
    s_free(&f);
}

/* ---- svc/dynamodb ---- */

TEST(dynamodb_batch_write_body_shape) {
    struct fixture f;
    s_fixture(&f);
    s_add_created(&f, 2);
    struct audit_items items;
    audit_build(&f.arena, &f.r, NOW_S, 1, &items);
    const struct dynamodb_item *v[2] = { &items.items[0].item, &items.items[1].item };
    struct buf b;
    buf_init(&b, BUF_MAX_REQUEST);
    REQUIRE_OK(dynamodb_batch_write_body(&b, "smartvault-audit", v, 2));
    const struct json_value *root;
    REQUIRE_OK(json_parse(&f.arena, buf_span(&b), NULL, &root));
    const struct json_value *reqs = json_get(json_get(root, "RequestItems"), "smartvault-audit");
    REQUIRE(json_is(reqs, JSON_ARRAY) && reqs->count == 2);
    const struct json_value *item = json_get(json_get(json_first(reqs), "PutRequest"), "Item");
    CHECK_SPAN(json_get_string(json_get(item, "pk"), "S"), RUN_ID);
    CHECK_SPAN(json_get_string(json_get(item, "sk"), "S"), "2026-01-01T00:00:00.000Z#created#snap-00000");
    const struct json_value *ttl = json_get(json_get(item, "expires_at"), "N");
    CHECK(json_is(ttl, JSON_STRING)); /* DynamoDB numbers travel as strings */
    CHECK_SPAN(json_string(ttl), "1767312000");
    buf_free(&b);
    s_free(&f);
}

TEST(dynamodb_batch_write_body_limits) {
    struct dynamodb_attr ok = { .name = "pk", .type = DYNAMODB_S, .text = "x" };
    struct dynamodb_item item = { &ok, 1 };
    const struct dynamodb_item *v[DYNAMODB_BATCH_WRITE_MAX_ITEMS + 1];
    for (size_t i = 0; i < DYNAMODB_BATCH_WRITE_MAX_ITEMS + 1; i++) {
        v[i] = &item;
    }
    struct buf b;
    buf_init(&b, BUF_MAX_REQUEST);
    CHECK_OK(dynamodb_batch_write_body(&b, "t", v, DYNAMODB_BATCH_WRITE_MAX_ITEMS));
    buf_reset(&b);
    CHECK_INT(dynamodb_batch_write_body(&b, "t", v, DYNAMODB_BATCH_WRITE_MAX_ITEMS + 1), ERR_LIMIT);
    CHECK_INT(dynamodb_batch_write_body(&b, "t", v, 0), ERR_INVALID);
    CHECK_INT(dynamodb_batch_write_body(&b, "", v, 1), ERR_INVALID);
    struct dynamodb_attr bad_n = { .name = "n", .type = DYNAMODB_N, .text = "12x" };
    struct dynamodb_item bad = { &bad_n, 1 };
    const struct dynamodb_item *vb[1] = { &bad };
    buf_reset(&b);
    CHECK_INT(dynamodb_batch_write_body(&b, "t", vb, 1), ERR_INVALID);
    struct dynamodb_attr no_name = { .name = "", .type = DYNAMODB_S, .text = "x" };
    bad.attrs = &no_name;
    buf_reset(&b);
    CHECK_INT(dynamodb_batch_write_body(&b, "t", vb, 1), ERR_INVALID);
    buf_free(&b);
}

TEST(dynamodb_batch_write_parse_unprocessed_items) {
    struct arena a;
    arena_init(&a, 0);
    struct {
        const char *doc;
        enum err want;
        size_t nkeys;
    } cases[] = {
        { "{}", ERR_OK, 0 },
        { "{\"UnprocessedItems\":{}}", ERR_OK, 0 },
        { "{\"UnprocessedItems\":{\"t\":[]}}", ERR_OK, 0 },
        { "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"r\"},\"sk\":{\"S\":\"k1\"}}}},"
          "{\"PutRequest\":{\"Item\":{\"sk\":{\"S\":\"k2\"},\"n\":{\"N\":\"1\"}}}}]}}",
          ERR_OK,
          2 },
        { "[]", ERR_PARSE, 0 },
        { "{\"UnprocessedItems\":[]}", ERR_PARSE, 0 },
        { "{\"UnprocessedItems\":{\"t\":{}}}", ERR_PARSE, 0 },
        { "{\"UnprocessedItems\":{\"t\":[{\"DeleteRequest\":{}}]}}", ERR_PARSE, 0 },
        { "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"r\"}}}}]}}", ERR_PARSE, 0 },
        { "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"sk\":{\"N\":\"1\"}}}}]}}", ERR_PARSE, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct json_value *root;
        REQUIRE_OK(json_parse(&a, span_from_cstr(cases[i].doc), NULL, &root));
        struct span *keys;
        size_t n;
        if (!CHECK_INT(dynamodb_batch_write_parse(&a, root, "sk", &keys, &n), cases[i].want)) {
            harness_note("case %zu", i);
        }
        if (cases[i].want == ERR_OK) {
            CHECK_INT(n, cases[i].nkeys);
        }
        if (n == 2) {
            CHECK_SPAN(keys[0], "k1");
            CHECK_SPAN(keys[1], "k2");
        }
    }
    arena_free(&a);
}

TEST(dynamodb_conditional_body_for_the_lease) {
    struct dynamodb_attr key_attrs[] = { { .name = "pk", .type = DYNAMODB_S, .text = "lease#eu-west-1" },
                                         { .name = "sk", .type = DYNAMODB_S, .text = "lease" },
                                         { .name = "expires_at", .type = DYNAMODB_N, .text = "1700000600" } };
    struct dynamodb_attr n[] = { { .name = "#o", .type = DYNAMODB_S, .text = "owner" } };
    struct dynamodb_attr v[] = { { .name = ":me", .type = DYNAMODB_S, .text = "run-1" },
                                 { .name = ":now", .type = DYNAMODB_N, .text = "1700000000" } };
    struct dynamodb_item item = { key_attrs, 3 }, names = { n, 1 }, values = { v, 2 };
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    REQUIRE_OK(dynamodb_conditional_body(&b, "t", true, &item, "expires_at < :now OR #o = :me", &names, &values));
    CHECK_STR(
      buf_cstr(&b),
      "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"lease#eu-west-1\"},\"sk\":{\"S\":\"lease\"},\"expires_at\":{"
      "\"N\":"
      "\"1700000600\"}},\"ConditionExpression\":\"expires_at < :now OR #o = :me\",\"ExpressionAttributeNames\":{\"#o\":"
      "\"owner\"},\"ExpressionAttributeValues\":{\":me\":{\"S\":\"run-1\"},\":now\":{\"N\":\"1700000000\"}}}");
    buf_reset(&b);
    item.nattrs = 2;
    REQUIRE_OK(dynamodb_conditional_body(&b, "t", false, &item, "#o = :me", &names, &values));
    CHECK(strstr(buf_cstr(&b), "\"Key\":{\"pk\"") != NULL);
    buf_reset(&b);
    CHECK_INT(dynamodb_conditional_body(&b, "t", true, &item, "", &names, &values), ERR_INVALID);
    v[1].text = "-1";
    buf_reset(&b);
    CHECK_INT(dynamodb_conditional_body(&b, "t", true, &item, "#o = :me", &names, &values), ERR_INVALID);
    buf_free(&b);
}
