/*
 * test_notify.c - the SNS summary: a subject for every outcome, the body's content and its size limit (whole
 * lines, "… and N more", fair shares), UTF-8 cleaning and cutting at character boundaries, and svc/sns's
 * Publish request and response.
 */
#include "harness.h"

#include "backup/notify.h"
#include "svc/sns.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- helpers ---- */

/* An independent UTF-8 check (RFC 3629 §4 grammar), so the renderer is not checked against itself. */
static bool s_valid_utf8(const char *p, size_t n) {
    const unsigned char *s = (const unsigned char *) p;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) {
            return false;
        }
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const unsigned min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += len;
    }
    return true;
}

/* No control characters other than the line feeds the body is made of. */
static bool s_no_controls(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) p[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

static bool s_starts(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

struct fixture {
    struct arena arena;
    struct report r;
};

static void s_fixture(struct fixture *f) {
    arena_init(&f->arena, 0);
    report_init(&f->r, &f->arena, 1767225600000); /* 2026-01-01T00:00:00Z */
    memcpy(f->r.run_id, "11111111-2222-4333-8444-555555555555", RAND_UUID_LEN + 1);
    f->r.wall_ms = 12345;
    f->r.ebs_ran = true;
}

static void s_free(struct fixture *f) {
    report_free(&f->r);
    arena_free(&f->arena);
}

static void s_add(struct fixture *f, struct report_item it) {
    (void) report_add(&f->r, &it);
}

static void s_created(struct fixture *f, const char *region, const char *inst, const char *vol, const char *snap) {
    s_add(
      f,
      (struct report_item){ .action = REPORT_CREATED,
                            .job = REPORT_JOB_EBS,
                            .region = region,
                            .instance_id = inst,
                            .volume_id = vol,
                            .device = "/dev/xvda",
                            .snapshot_id = snap });
}

static const struct notify_context s_ctx = { .backup_tag = "Backup=true",
                                             .source_region = "us-east-1",
                                             .dest_region = "us-west-2" };

static char *s_body(const struct report *r, size_t max) {
    struct buf b;
    buf_init(&b, SNS_MESSAGE_MAX_BYTES);
    if (notify_body(r, &s_ctx, max, &b) != ERR_OK) {
        buf_free(&b);
        return NULL;
    }
    char *s = malloc(b.len + 1);
    memcpy(s, buf_cstr(&b), b.len + 1);
    buf_free(&b);
    return s;
}

/* ---- subject ---- */

TEST(notify_subject_for_every_outcome) {
    struct {
        const char *name;
        bool dry_run, ebs_ran, s3_ran;
        uint64_t instances, created, copied, deleted, failed, s3_copied;
        enum notify_outcome outcome;
        const char *want;
    } cases[] = {
        { "ok",
          false,
          true,
          false,
          42,
          42,
          40,
          12,
          0,
          0,
          NOTIFY_OK,
          "SmartVault OK: 42 created, 40 copied, 12 deleted" },
        { "ok zero", false, true, false, 3, 0, 0, 0, 0, 0, NOTIFY_OK, "SmartVault OK: 0 created, 0 copied, 0 deleted" },
        { "one error",
          false,
          true,
          false,
          3,
          2,
          0,
          0,
          1,
          0,
          NOTIFY_FAILED,
          "SmartVault FAILED: 1 error, 2 created, 0 copied, 0 deleted" },
        { "three errors",
          false,
          true,
          false,
          3,
          0,
          0,
          0,
          3,
          0,
          NOTIFY_FAILED,
          "SmartVault FAILED: 3 errors, 0 created, 0 copied, 0 deleted" },
        { "no instances",
          false,
          true,
          false,
          0,
          0,
          0,
          0,
          0,
          0,
          NOTIFY_NO_INSTANCES,
          "SmartVault OK: No instances found with Backup=true" },
        { "no instances, S3",
          false,
          true,
          true,
          0,
          0,
          0,
          0,
          0,
          5,
          NOTIFY_NO_INSTANCES,
          "SmartVault OK: No instances found with Backup=true, S3 5 copied" },
        { "dry run",
          true,
          true,
          false,
          3,
          3,
          2,
          1,
          0,
          0,
          NOTIFY_OK,
          "SmartVault DRY RUN: would create 3, copy 2, delete 1" },
        { "dry run failed",
          true,
          true,
          false,
          3,
          3,
          0,
          0,
          2,
          0,
          NOTIFY_FAILED,
          "SmartVault DRY RUN FAILED: 2 errors, would create 3, copy 0, delete 0" },
        { "dry run no instances",
          true,
          true,
          false,
          0,
          0,
          0,
          0,
          0,
          0,
          NOTIFY_NO_INSTANCES,
          "SmartVault DRY RUN: No instances found with Backup=true" },
        { "ebs and s3",
          false,
          true,
          true,
          2,
          2,
          0,
          1,
          0,
          7,
          NOTIFY_OK,
          "SmartVault OK: 2 created, 0 copied, 1 deleted, S3 7 copied" },
        { "s3 only", false, false, true, 0, 0, 0, 0, 0, 7, NOTIFY_OK, "SmartVault OK: S3 7 copied" },
        { "s3 only failed",
          false,
          false,
          true,
          0,
          0,
          0,
          0,
          1,
          7,
          NOTIFY_FAILED,
          "SmartVault FAILED: 1 error, S3 7 copied" },
        { "s3 only dry run", true, false, true, 0, 0, 0, 0, 0, 7, NOTIFY_OK, "SmartVault DRY RUN: S3 would copy 7" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        s_fixture(&f);
        f.r.dry_run = cases[i].dry_run;
        f.r.ebs_ran = cases[i].ebs_ran;
        f.r.s3_ran = cases[i].s3_ran;
        f.r.instances_seen = cases[i].instances;
        for (uint64_t k = 0; k < cases[i].created; k++) {
            s_created(&f, "us-east-1", "i-1", "vol-1", "snap-1");
        }
        for (uint64_t k = 0; k < cases[i].copied; k++) {
            s_add(&f, (struct report_item){ .action = REPORT_COPIED, .job = REPORT_JOB_EBS, .region = "us-west-2" });
        }
        for (uint64_t k = 0; k < cases[i].deleted; k++) {
            s_add(&f, (struct report_item){ .action = REPORT_DELETED, .job = REPORT_JOB_EBS, .region = "us-east-1" });
        }
        for (uint64_t k = 0; k < cases[i].failed; k++) {
            s_add(
              &f,
              (struct report_item){ .action = REPORT_FAILED,
                                    .job = cases[i].ebs_ran ? REPORT_JOB_EBS : REPORT_JOB_S3,
                                    .region = "us-east-1",
                                    .aws_code = "AccessDenied" });
        }
        for (uint64_t k = 0; k < cases[i].s3_copied; k++) {
            s_add(&f, (struct report_item){ .action = REPORT_COPIED, .job = REPORT_JOB_S3, .bucket = "b", .key = "k" });
        }
        char subject[NOTIFY_SUBJECT_MAX + 1];
        notify_subject(&f.r, &s_ctx, subject);
        if (!CHECK_STR(subject, cases[i].want)) {
            harness_note("case %s", cases[i].name);
        }
        CHECK_INT(notify_outcome(&f.r), cases[i].outcome);
        CHECK(sns_subject_valid(span_from_cstr(subject)));
        s_free(&f);
    }
}

TEST(notify_subject_no_instances_after_a_reporting_failure_still_says_so) {
    struct fixture f;
    s_fixture(&f);
    s_add(&f, (struct report_item){ .action = REPORT_FAILED, .job = REPORT_JOB_REPORTING, .aws_code = "AccessDenied" });
    char subject[NOTIFY_SUBJECT_MAX + 1];
    notify_subject(&f.r, &s_ctx, subject);
    CHECK_STR(subject, "SmartVault FAILED: 1 error, No instances found with Backup=true");
    CHECK_INT(notify_outcome(&f.r), NOTIFY_FAILED);
    s_free(&f);
}

TEST(notify_subject_is_ascii_and_cut_to_the_sns_limit) {
    struct fixture f;
    s_fixture(&f);
    char tag[400];
    memset(tag, 'k', sizeof(tag) - 1);
    tag[sizeof(tag) - 1] = '\0';
    struct notify_context ctx = { .backup_tag = tag };
    char subject[NOTIFY_SUBJECT_MAX + 1];
    notify_subject(&f.r, &ctx, subject);
    CHECK_INT(strlen(subject), NOTIFY_SUBJECT_MAX);
    CHECK(strcmp(subject + NOTIFY_SUBJECT_MAX - 3, "...") == 0);
    CHECK(strncmp(subject, "SmartVault OK: No instances found with kkk", 42) == 0);
    CHECK(sns_subject_valid(span_from_cstr(subject)));
    /* Non-ASCII and control characters: one '?' per character, whatever its length. */
    ctx.backup_tag = "Sauvegarde=\xc3\xa9t\xc3\xa9\n\xf0\x9f\x98\x80\xff";
    notify_subject(&f.r, &ctx, subject);
    CHECK_STR(subject, "SmartVault OK: No instances found with Sauvegarde=?t????");
    CHECK(sns_subject_valid(span_from_cstr(subject)));
    s_free(&f);
}

/* ---- body ---- */

TEST(notify_body_lists_every_kind_of_action) {
    struct fixture f;
    s_fixture(&f);
    f.r.instances_seen = 3;
    s_created(&f, "us-east-1", "i-0aaa", "vol-0aaa", "snap-0new");
    s_add(
      &f,
      (struct report_item){ .action = REPORT_COPIED,
                            .job = REPORT_JOB_EBS,
                            .region = "us-west-2",
                            .instance_id = "i-0aaa",
                            .volume_id = "vol-0aaa",
                            .source_snapshot_id = "snap-0src",
                            .snapshot_id = "snap-0dst" });
    s_add(
      &f,
      (struct report_item){ .action = REPORT_DELETED,
                            .job = REPORT_JOB_EBS,
                            .region = "us-east-1",
                            .snapshot_id = "snap-0old",
                            .reason = "older than 7 days" });
    s_add(
      &f,
      (struct report_item){ .action = REPORT_SKIPPED,
                            .job = REPORT_JOB_EBS,
                            .region = "us-east-1",
                            .instance_id = "i-0bbb",
                            .reason = "not due: newest snapshot is 10 minutes old" });
    s_add(
      &f,
      (struct report_item){ .action = REPORT_FAILED,
                            .job = REPORT_JOB_EBS,
                            .region = "us-east-1",
                            .instance_id = "i-0ccc",
                            .aws_code = "UnauthorizedOperation",
                            .message = "CreateSnapshots: You are not authorized" });
    char *body = s_body(&f.r, NOTIFY_BODY_MAX_BYTES);
    REQUIRE(body != NULL);
    CHECK(s_starts(body, "SmartVault FAILED: 1 error, 1 created, 1 copied, 1 deleted\n\n"));
    CHECK(strstr(body, "Run id:    11111111-2222-4333-8444-555555555555\n") != NULL);
    CHECK(strstr(body, "Started:   2026-01-01T00:00:00.000Z\n") != NULL);
    CHECK(strstr(body, "Duration:  12.345 s (until this report)\n") != NULL);
    CHECK(strstr(body, "Regions:   us-east-1, copies to us-west-2\n") != NULL);
    CHECK(strstr(body, "Instances seen:     3\n") != NULL);
    CHECK(strstr(body, "Snapshots created:  1\n") != NULL);
    CHECK(strstr(body, "Errors:             1\n") != NULL);
    CHECK(strstr(body, "  us-east-1: 1 created, 0 copied, 1 deleted, 1 skipped, 1 failed\n") != NULL);
    CHECK(strstr(body, "  us-west-2: 0 created, 1 copied, 0 deleted, 0 skipped, 0 failed\n") != NULL);
    CHECK(
      strstr(
        body,
        "\nErrors (1):\n  - us-east-1 i-0ccc: UnauthorizedOperation - CreateSnapshots: You are not "
        "authorized\n") != NULL);
    CHECK(strstr(body, "\nSnapshots created (1):\n  - us-east-1 i-0aaa /dev/xvda vol-0aaa -> snap-0new\n") != NULL);
    CHECK(strstr(body, "\nSnapshots copied (1):\n  - us-west-2 i-0aaa vol-0aaa snap-0src -> snap-0dst\n") != NULL);
    CHECK(strstr(body, "\nSnapshots deleted (1):\n  - us-east-1 snap-0old: older than 7 days\n") != NULL);
    CHECK(strstr(body, "\nSkipped (1):\n  - us-east-1 i-0bbb: not due: newest snapshot is 10 minutes old\n") != NULL);
    CHECK(strstr(body, "S3") == NULL); /* the S3 job did not run */
    CHECK(strstr(body, "DRY RUN") == NULL);
    /* Errors come before the other lists. */
    CHECK(strstr(body, "\nErrors (1):") < strstr(body, "\nSnapshots created (1):"));
    free(body);
    s_free(&f);
}

TEST(notify_body_s3_counts_and_lines_when_the_s3_job_ran) {
    struct fixture f;
    s_fixture(&f);
    f.r.ebs_ran = false;
    f.r.s3_ran = true;
    f.r.s3_objects_seen = 10;
    f.r.s3_unchanged = 6;
    s_add(
      &f,
      (struct report_item){ .action = REPORT_COPIED,
                            .job = REPORT_JOB_S3,
                            .bucket = "docs-backup",
                            .key = "documents/a.pdf",
                            .bytes = 1234 });
    s_add(
      &f,
      (struct report_item){ .action = REPORT_SKIPPED, .job = REPORT_JOB_S3, .key = "misc/x", .reason = "no route" });
    s_add(
      &f,
      (struct report_item){ .action = REPORT_FAILED,
                            .job = REPORT_JOB_S3,
                            .bucket = "docs-backup",
                            .key = "documents/b.pdf",
                            .aws_code = "AccessDenied",
                            .message = "CopyObject: Access Denied" });
    char *body = s_body(&f.r, NOTIFY_BODY_MAX_BYTES);
    REQUIRE(body != NULL);
    CHECK(s_starts(body, "SmartVault FAILED: 1 error, S3 1 copied\n"));
    CHECK(strstr(body, "Snapshots created") == NULL); /* the EBS job did not run */
    CHECK(
      strstr(
        body,
        "\nS3 backup:\n  Objects seen:     10\n  Objects copied:   1 (1234 bytes)\n"
        "  Unchanged:        6\n  Skipped:          1\n  Failed:           1\n") != NULL);
    CHECK(strstr(body, "\nS3 objects copied (1):\n  - documents/a.pdf -> s3://docs-backup (1234 bytes)\n") != NULL);
    CHECK(strstr(body, "\nS3 objects skipped (1):\n  - misc/x: no route\n") != NULL);
    CHECK(strstr(body, "  - documents/b.pdf -> s3://docs-backup: AccessDenied - CopyObject: Access Denied\n") != NULL);
    free(body);
    s_free(&f);
}

TEST(notify_body_no_instances_uses_seed_001_words) {
    struct fixture f;
    s_fixture(&f);
    char *body = s_body(&f.r, NOTIFY_BODY_MAX_BYTES);
    REQUIRE(body != NULL);
    CHECK(s_starts(
      body,
      "SmartVault OK: No instances found with Backup=true\n\n"
      "No instances found with Backup=true \xe2\x80\x94 skipping snapshot.\n\n"));
    CHECK(strstr(body, "Errors:             0\n") != NULL);
    CHECK(strstr(body, "):\n") == NULL); /* no lists */
    free(body);
    s_free(&f);
}

TEST(notify_body_dry_run_says_nothing_was_changed) {
    struct fixture f;
    s_fixture(&f);
    f.r.dry_run = true;
    f.r.instances_seen = 1;
    s_add(
      &f,
      (struct report_item){ .action = REPORT_CREATED,
                            .job = REPORT_JOB_EBS,
                            .region = "us-east-1",
                            .instance_id = "i-1",
                            .reason = "dry run" });
    char *body = s_body(&f.r, NOTIFY_BODY_MAX_BYTES);
    REQUIRE(body != NULL);
    CHECK(s_starts(body, "SmartVault DRY RUN: would create 1, copy 0, delete 0\n\nDRY RUN: nothing was changed"));
    CHECK(strstr(body, "  - us-east-1 i-1: dry run\n") != NULL);
    free(body);
    s_free(&f);
}

TEST(notify_body_refuses_a_budget_below_the_minimum) {
    struct fixture f;
    s_fixture(&f);
    struct buf b;
    buf_init(&b, BUF_MAX_REQUEST);
    CHECK_INT(notify_body(&f.r, &s_ctx, NOTIFY_BODY_MIN_BYTES - 1, &b), ERR_INVALID);
    CHECK_OK(notify_body(&f.r, &s_ctx, NOTIFY_BODY_MIN_BYTES, &b));
    buf_free(&b);
    /* A buffer whose own maximum is smaller than the budget reports its sticky error. */
    buf_init(&b, 100);
    CHECK_INT(notify_body(&f.r, &s_ctx, NOTIFY_BODY_MIN_BYTES, &b), ERR_LIMIT);
    buf_free(&b);
    s_free(&f);
}

/* "  … and N more" after `title`: N, or -1 when the list was not cut. */
static long s_more(const char *body, const char *title) {
    const char *sec = strstr(body, title);
    if (sec == NULL) {
        return -2;
    }
    const char *next = strstr(sec + 1, "\n\n"); /* the end of this list */
    const char *more = strstr(sec, "  \xe2\x80\xa6 and ");
    if (more == NULL || (next != NULL && more > next)) {
        return -1;
    }
    return strtol(more + strlen("  \xe2\x80\xa6 and "), NULL, 10);
}

/* Lines shown in the list after `title`. */
static long s_shown(const char *body, const char *title) {
    const char *sec = strstr(body, title);
    if (sec == NULL) {
        return -2;
    }
    long n = 0;
    for (const char *p = strchr(sec + 1, '\n'); p && strncmp(p, "\n  - ", 5) == 0; p = strchr(p + 1, '\n')) {
        n++;
    }
    return n;
}

/* A 5,000-snapshot cycle: created, copied and deleted 5,000 each, plus skips and errors. */
TEST(notify_body_of_a_5000_snapshot_cycle_stays_under_256_kb) {
    struct fixture f;
    s_fixture(&f);
    f.r.instances_seen = 2500;
    char a[64], b[64], c[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(a, sizeof(a), "i-%017x", i / 2);
        snprintf(b, sizeof(b), "vol-%017x", i);
        snprintf(c, sizeof(c), "snap-%017x", i);
        s_created(&f, "us-east-1", a, b, c);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(a, sizeof(a), "snap-%017x", i);
        snprintf(c, sizeof(c), "snap-%017x", 100000 + i);
        s_add(
          &f,
          (struct report_item){ .action = REPORT_COPIED,
                                .job = REPORT_JOB_EBS,
                                .region = "us-west-2",
                                .source_snapshot_id = a,
                                .snapshot_id = c });
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(c, sizeof(c), "snap-%017x", 200000 + i);
        s_add(
          &f,
          (struct report_item){ .action = REPORT_DELETED,
                                .job = REPORT_JOB_EBS,
                                .region = i % 2 ? "us-east-1" : "us-west-2",
                                .snapshot_id = c,
                                .reason = "retention: older than 7 days, 3 newer completed snapshots kept" });
    }
    for (int i = 0; i < 300; i++) {
        snprintf(a, sizeof(a), "i-%017x", 90000 + i);
        s_add(
          &f,
          (struct report_item){ .action = REPORT_FAILED,
                                .job = REPORT_JOB_EBS,
                                .region = "us-east-1",
                                .instance_id = a,
                                .aws_code = "InternalError",
                                .message = "CreateSnapshots: We encountered an internal error. Please try again." });
    }
    char subject[NOTIFY_SUBJECT_MAX + 1];
    notify_subject(&f.r, &s_ctx, subject);
    CHECK_STR(subject, "SmartVault FAILED: 300 errors, 5000 created, 5000 copied, 5000 deleted");
    char *body = s_body(&f.r, NOTIFY_BODY_MAX_BYTES);
    REQUIRE(body != NULL);
    size_t len = strlen(body);
    harness_note("5,000-snapshot body: %zu bytes (limit %zu)", len, (size_t) NOTIFY_BODY_MAX_BYTES);
    CHECK(len <= NOTIFY_BODY_MAX_BYTES);
    CHECK(len + strlen(subject) <= SNS_MESSAGE_MAX_BYTES);
    CHECK(len > NOTIFY_BODY_MAX_BYTES - 4096); /* the room is used, not wasted */
    CHECK(s_valid_utf8(body, len));
    CHECK(s_no_controls(body, len));
    /* All 300 errors fit in their share; every other list is cut, shows some lines, and counts the rest. */
    CHECK_INT(s_more(body, "\nErrors (300):"), -1);
    CHECK_INT(s_shown(body, "\nErrors (300):"), 300);
    const char *titles[] = {
        "\nSnapshots created (5000):", "\nSnapshots copied (5000):", "\nSnapshots deleted (5000):"
    };
    for (size_t t = 0; t < 3; t++) {
        long shown = s_shown(body, titles[t]), more = s_more(body, titles[t]);
        CHECK(shown > 100);
        CHECK(more > 0);
        CHECK_INT(shown + more, 5000);
    }
    /* The per-region counts are exact, whatever the lists show. */
    CHECK(strstr(body, "  us-east-1: 5000 created, 0 copied, 2500 deleted, 0 skipped, 300 failed\n") != NULL);
    CHECK(strstr(body, "  us-west-2: 0 created, 5000 copied, 2500 deleted, 0 skipped, 0 failed\n") != NULL);
    free(body);
    s_free(&f);
}

/* At every budget from the minimum up, the body fits exactly, and shown + more always equals the count. */
TEST(notify_body_truncation_accounts_for_every_item_at_every_budget) {
    struct fixture f;
    s_fixture(&f);
    f.r.instances_seen = 400;
    char a[64], c[64];
    for (int i = 0; i < 400; i++) {
        snprintf(a, sizeof(a), "i-%04d", i);
        snprintf(c, sizeof(c), "snap-%04d", i);
        s_created(&f, "us-east-1", a, "vol-1", c);
        s_add(
          &f,
          (struct report_item){
            .action = REPORT_SKIPPED, .job = REPORT_JOB_EBS, .region = "us-east-1", .instance_id = a, .reason = "r" });
    }
    for (size_t max = NOTIFY_BODY_MIN_BYTES; max <= 40000; max += 997) {
        char *body = s_body(&f.r, max);
        REQUIRE(body != NULL);
        CHECK(strlen(body) <= max);
        long shown = s_shown(body, "\nSnapshots created (400):"), more = s_more(body, "\nSnapshots created (400):");
        CHECK_INT(shown + (more < 0 ? 0 : more), 400);
        shown = s_shown(body, "\nSkipped (400):");
        more = s_more(body, "\nSkipped (400):");
        CHECK_INT(shown + (more < 0 ? 0 : more), 400);
        free(body);
    }
    s_free(&f);
}

/* Random bytes in every field, random budgets: always valid UTF-8, no control characters, within the budget. */
TEST(notify_body_property_random_fields_stay_clean_and_bounded) {
    uint64_t rng = harness_seed();
    for (int iter = 0; iter < 200; iter++) {
        struct fixture f;
        s_fixture(&f);
        f.r.instances_seen = 1;
        f.r.s3_ran = harness_rng_range(&rng, 0, 1);
        int n = (int) harness_rng_range(&rng, 0, 300);
        for (int i = 0; i < n; i++) {
            char fields[4][200];
            for (int k = 0; k < 4; k++) {
                int len = (int) harness_rng_range(&rng, 0, 199);
                for (int j = 0; j < len; j++) {
                    /* Bias towards UTF-8 lead and continuation bytes so sequences are often almost valid. */
                    int r = (int) harness_rng_range(&rng, 0, 9);
                    fields[k][j] = (char) (r < 4   ? harness_rng_range(&rng, 0x80, 0xff)
                                           : r < 5 ? harness_rng_range(&rng, 1, 0x1f)
                                                   : harness_rng_range(&rng, 0x20, 0x7e));
                }
                fields[k][len] = '\0';
            }
            s_add(
              &f,
              (struct report_item){ .action = (enum report_action) harness_rng_range(&rng, 0, REPORT__ACTIONS - 1),
                                    .job = (enum report_job) harness_rng_range(&rng, 0, REPORT__JOBS - 1),
                                    .region = "us-east-1",
                                    .instance_id = fields[0],
                                    .key = fields[1],
                                    .reason = fields[2],
                                    .message = fields[3],
                                    .aws_code = "X" });
        }
        size_t max = (size_t) harness_rng_range(&rng, NOTIFY_BODY_MIN_BYTES, 30000);
        char *body = s_body(&f.r, max);
        REQUIRE(body != NULL);
        size_t len = strlen(body);
        CHECK(len <= max);
        CHECK(s_valid_utf8(body, len));
        CHECK(s_no_controls(body, len));
        char subject[NOTIFY_SUBJECT_MAX + 1];
        notify_subject(&f.r, &s_ctx, subject);
        CHECK(sns_subject_valid(span_from_cstr(subject)));
        free(body);
        s_free(&f);
    }
}

/* ---- text cleaning ---- */

TEST(notify_text_append_cleans_and_cuts_at_character_boundaries) {
    struct {
        const char *in;
        size_t max;
        const char *want;
    } cases[] = {
        { "abc", 10, "abc" },
        { "abcdef", 6, "abcdef" },                                      /* exact fit: no mark */
        { "abcdefg", 6, "abc\xe2\x80\xa6" },                            /* cut: 3 bytes + "…" */
        { "a\nb\tc\x7f", 20, "a b c " },                                /* controls become spaces */
        { "\xc3\xa9\xc3\xa9\xc3\xa9", 6, "\xc3\xa9\xc3\xa9\xc3\xa9" },  /* "ééé" fits */
        { "\xc3\xa9\xc3\xa9\xc3\xa9", 5, "\xc3\xa9\xe2\x80\xa6" },      /* "é…": never half of "é" */
        { "\xc3\xa9\xc3\xa9\xc3\xa9", 4, "\xe2\x80\xa6" },              /* 1 byte left: no room for "é" */
        { "\xf0\x9f\x98\x80x", 5, "\xf0\x9f\x98\x80x" },                /* 4-byte character kept */
        { "\xf0\x9f\x98\x80xyz", 6, "\xe2\x80\xa6" },                   /* 3 bytes of room: no half emoji */
        { "\xff", 10, "\xef\xbf\xbd" },                                 /* invalid byte: U+FFFD */
        { "a\xe2\x82", 10, "a\xef\xbf\xbd\xef\xbf\xbd" },               /* truncated sequence: one U+FFFD per byte */
        { "\xc0\xaf", 10, "\xef\xbf\xbd\xef\xbf\xbd" },                 /* overlong '/' */
        { "\xed\xa0\x80", 10, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
        { "\xf4\x90\x80\x80", 20, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* above U+10FFFF */
        { "abcdef", 2, "ab" }, /* below the mark's size: plain cut */
        { "", 5, "" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 1024);
        size_t n = notify_text_append(&b, span_from_cstr(cases[i].in), cases[i].max);
        if (!CHECK_STR(buf_cstr(&b), cases[i].want)) {
            harness_note("case %zu", i);
        }
        CHECK_INT(n, b.len);
        CHECK(b.len <= cases[i].max);
        CHECK(s_valid_utf8(b.data ? b.data : "", b.len));
        buf_free(&b);
    }
}

/* A field made only of 2-, 3- and 4-byte characters, cut at every budget: never a partial character. */
TEST(notify_text_append_every_cut_of_multibyte_text_is_valid) {
    const char *text = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    for (size_t max = 0; max <= strlen(text) + 1; max++) {
        struct buf b;
        buf_init(&b, 1024);
        notify_text_append(&b, span_from_cstr(text), max);
        CHECK(b.len <= max);
        CHECK(s_valid_utf8(b.data ? b.data : "", b.len));
        buf_free(&b);
    }
}

/* ---- svc/sns ---- */

TEST(sns_subject_valid_rules) {
    CHECK(sns_subject_valid(SPAN_LIT("SmartVault OK: 1 created, 0 copied, 0 deleted")));
    CHECK(!sns_subject_valid(SPAN_LIT("")));
    CHECK(!sns_subject_valid(SPAN_LIT(" leading space")));
    CHECK(!sns_subject_valid(SPAN_LIT("line\nbreak")));
    CHECK(!sns_subject_valid(SPAN_LIT("caf\xc3\xa9")));
    char s[101];
    memset(s, 'a', 100);
    s[100] = '\0';
    CHECK(!sns_subject_valid(span_from_cstr(s)));
    s[99] = '\0';
    CHECK(sns_subject_valid(span_from_cstr(s)));
}

TEST(sns_publish_request_and_response) {
    struct arena a;
    arena_init(&a, 0);
    struct query_params q;
    query_init(&q, &a);
    sns_publish_request(&q, "arn:aws:sns:us-east-1:123456789012:backup", SPAN_LIT("Subj"), SPAN_LIT("Body"), "g", "d");
    CHECK_SPAN(query_get(&q, "TopicArn"), "arn:aws:sns:us-east-1:123456789012:backup");
    CHECK_SPAN(query_get(&q, "Subject"), "Subj");
    CHECK_SPAN(query_get(&q, "Message"), "Body");
    CHECK_INT(query_get(&q, "MessageGroupId").n, 0); /* a standard topic takes none */
    CHECK_INT(q.n, 3);
    struct query_params fifo;
    query_init(&fifo, &a);
    sns_publish_request(&fifo, "arn:aws:sns:us-east-1:123456789012:b.fifo", SPAN_NULL, SPAN_LIT("Body"), "g", "d");
    CHECK(sns_topic_is_fifo("arn:aws:sns:us-east-1:123456789012:b.fifo"));
    CHECK_SPAN(query_get(&fifo, "MessageGroupId"), "g");
    CHECK_SPAN(query_get(&fifo, "MessageDeduplicationId"), "d");
    CHECK_INT(query_get(&fifo, "Subject").n, 0);

    const struct xml_node *root;
    REQUIRE_OK(xml_parse(
      &a,
      SPAN_LIT("<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult>"
               "<MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult><ResponseMetadata>"
               "<RequestId>f187a3c1</RequestId></ResponseMetadata></PublishResponse>"),
      NULL,
      &root));
    struct span id;
    REQUIRE_OK(sns_publish_parse(&a, root, &id));
    CHECK_SPAN(id, "94f20ce6-13c5-43a0-9a9e-ca52d816e90b");
    REQUIRE_OK(xml_parse(&a, SPAN_LIT("<PublishResponse><PublishResult/></PublishResponse>"), NULL, &root));
    CHECK_INT(sns_publish_parse(&a, root, &id), ERR_PARSE);
    REQUIRE_OK(xml_parse(&a, SPAN_LIT("<Other/>"), NULL, &root));
    CHECK_INT(sns_publish_parse(&a, root, &id), ERR_PARSE);
    arena_free(&a);
}
