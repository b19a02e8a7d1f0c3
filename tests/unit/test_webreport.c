/*
 * test_webreport.c - the coverage model and its two renderings: per-volume state (newest snapshot, DR copy state,
 * backlog, calendar, problems), volumes only snapshots know, deletions and failures of the run, row order; the
 * page's escaping and Content-Security-Policy (hashes checked with BearSSL directly), report.json parsed back,
 * the size promise at 10 / 1,000 / 5,000 synthetic healthy volumes, and the run index's DynamoDB Query.
 */
#include "harness.h"

#include "backup/cycle.h"
#include "backup/webreport.h"
#include "backup/webreport_calendar.h"
#include "codec/json.h"
#include "svc/dynamodb.h"

#include <bearssl.h>
#include <stdio.h>
#include <stdlib.h>

#define NOW ((int64_t) 1767225600 + 43200) /* 2026-01-01T12:00:00Z */
#define HOUR 3600
#define DAY 86400

static struct cfg s_cfg(const char *dest) {
    struct cfg c;
    memset(&c, 0, sizeof(c));
    c.source_region = "us-east-1";
    c.dest_region = dest;
    c.retention_days = 7;
    c.min_interval_s = 1800; /* RPO = 1 h */
    c.backup_tag.keys[0] = "Backup";
    c.backup_tag.nkeys = 1;
    c.backup_tag.value = "true";
    return c;
}

/* A snapshot with the SmartVault marker and the given tags ("Key", "Value", ... NULL). */
static struct ec2_snapshot
s_snap(struct arena *a, const char *id, const char *vol, const char *state, int64_t start, const char *const *kv) {
    struct ec2_snapshot s;
    memset(&s, 0, sizeof(s));
    s.id = span_from_cstr(id);
    s.volume_id = span_from_cstr(vol);
    s.state = span_from_cstr(state);
    s.start_time_s = start;
    size_t n = 1;
    while (kv && kv[2 * (n - 1)]) {
        n++;
    }
    s.tags = ARENA_NEW_ARRAY(a, struct ec2_tag, n);
    s.tags[0] = (struct ec2_tag){ SPAN_LIT("CreatedBy"), SPAN_LIT("SmartVault") };
    for (size_t i = 1; i < n; i++) {
        s.tags[i] = (struct ec2_tag){ span_from_cstr(kv[2 * (i - 1)]), span_from_cstr(kv[2 * (i - 1) + 1]) };
    }
    s.ntags = n;
    return s;
}

/* The EBS job hands the page compact listings (svc/ec2.h): the same snapshots, as its listing keeps them. */
static const char *const s_kept[] = { "CreatedBy",        "InstanceId",       "VolumeId",  "SourceSnapshotId",
                                      "SmartVault:Hold",  "SmartVault:RunId", "CreatedOn", "Name",
                                      "SmartVault:Device" };
static struct ec2_snaps *s_made[16];
static size_t s_nmade;

static const struct ec2_snaps *s_compact(struct arena *a, const struct ec2_snapshot_list *l) {
    struct ec2_snaps *c = ARENA_NEW(a, struct ec2_snaps);
    ec2_snaps_init(c, s_kept, sizeof(s_kept) / sizeof(s_kept[0]), 1000000, "test maximum");
    for (size_t i = 0; i < l->n; i++) {
        const struct ec2_snapshot *s = &l->items[i];
        if (ec2_snaps_push(c, s->id, s->volume_id, s->state, s->start_time_s, s->tags, s->ntags) != ERR_OK) {
            abort();
        }
    }
    if (s_nmade == sizeof(s_made) / sizeof(s_made[0])) {
        abort();
    }
    s_made[s_nmade++] = c;
    return c;
}

static void s_compact_free(void) {
    while (s_nmade > 0) {
        ec2_snaps_free(s_made[--s_nmade]);
    }
}

static struct ec2_instance *s_inst(struct arena *a, const char *id, const char *name, size_t nvol, const char **vols) {
    struct ec2_instance *i = ARENA_NEW(a, struct ec2_instance);
    memset(i, 0, sizeof(*i));
    i->id = span_from_cstr(id);
    i->state = SPAN_LIT("running");
    i->tags = ARENA_NEW_ARRAY(a, struct ec2_tag, 1);
    i->tags[0] = (struct ec2_tag){ SPAN_LIT("Name"), span_from_cstr(name) };
    i->ntags = 1;
    i->volumes = ARENA_NEW_ARRAY(a, struct ec2_volume_ref, nvol);
    static const char *const devs[] = { "/dev/xvda", "/dev/xvdb", "/dev/xvdc", "/dev/xvdd", "/dev/xvde" };
    for (size_t k = 0; k < nvol; k++) {
        i->volumes[k] = (struct ec2_volume_ref){ span_from_cstr(devs[k]), span_from_cstr(vols[k]) };
    }
    i->nvolumes = nvol;
    return i;
}

static const struct webreport_volume *s_vol(const struct webreport *w, const char *id) {
    for (size_t i = 0; i < w->nvolumes; i++) {
        if (strcmp(w->volumes[i].volume_id, id) == 0) {
            return &w->volumes[i];
        }
    }
    return NULL;
}

/* One instance, two volumes: vol-a fresh with a copy of its newest and an older uncopied one; vol-b 3 days old. */
TEST(webreport_volume_states_calendar_and_problems) {
    struct arena a;
    arena_init(&a, 0);
    const char *vols[] = { "vol-a", "vol-b" };
    const struct ec2_instance *insts[] = { s_inst(&a, "i-1", "web", 2, vols) };
    struct ec2_snapshot src_items[] = {
        s_snap(&a, "snap-a1", "vol-a", "completed", NOW - HOUR / 2, NULL),
        s_snap(&a, "snap-a2", "vol-a", "completed", NOW - 2 * DAY, NULL),
        s_snap(&a, "snap-b1", "vol-b", "completed", NOW - 3 * DAY - 60, NULL),
        s_snap(&a, "snap-x", "vol-a", "error", NOW - 10, NULL),
    };
    static const char *const copy_tags[] = { "VolumeId",   "vol-a", "SourceSnapshotId", "snap-a1", "CreatedOn",
                                             "2025-12-31", NULL };
    struct ec2_snapshot dst_items[] = { s_snap(&a, "snap-c1", "vol-ffffffff", "completed", NOW - 60, copy_tags) };
    struct ec2_snapshot_list src = { src_items, 4, 4 }, dst = { dst_items, 1, 1 };
    struct cfg c = s_cfg("us-west-2");
    struct webreport_input in = { .cfg = &c,
                                  .source_region = "us-east-1",
                                  .now_s = NOW,
                                  .instances = insts,
                                  .ninstances = 1,
                                  .src = s_compact(&a, &src),
                                  .dst = s_compact(&a, &dst) };
    struct webreport w;
    webreport_build(&a, &in, &w);
    REQUIRE(w.nvolumes == 2);
    const struct webreport_volume *va = s_vol(&w, "vol-a"), *vb = s_vol(&w, "vol-b");
    REQUIRE(va && vb);
    CHECK_INT(va->kept, 3);
    CHECK_INT(va->newest_s, NOW - HOUR / 2);
    CHECK(va->dr == WEBREPORT_DR_OK);
    CHECK_INT(va->dr_kept, 1);
    CHECK_INT(va->dr_backlog, 1); /* snap-a2: inside retention, no copy */
    CHECK_INT(va->days, 1u << 0 | 1u << 2);
    CHECK_INT(va->dr_days, 1u << 1); /* the copy's CreatedOn: yesterday */
    CHECK(va->problem);
    CHECK_STR(va->problem_why, "DR behind");
    CHECK(vb->problem);
    CHECK_STR(vb->problem_why, "stale");
    CHECK(vb->dr == WEBREPORT_DR_MISSING);
    CHECK_STR(vb->device, "/dev/xvdb");
    CHECK_INT(w.protected_n, 2);
    CHECK_INT(w.within_rpo, 1);
    CHECK_INT(w.outside_rpo, 1);
    CHECK_INT(w.dr_up_to_date, 1);
    CHECK_INT(w.dr_backlog, 2);
    CHECK_INT(w.oldest_backup_age_s, 3 * DAY + 60);
    /* Problems first, then by name/instance/device: vol-a (DR behind) and vol-b (stale) are both problems. */
    CHECK_STR(w.volumes[0].device, "/dev/xvda");
    s_compact_free();
    arena_free(&a);
}

TEST(webreport_without_dr_region_and_failed_dr_listing) {
    struct arena a;
    arena_init(&a, 0);
    const char *vols[] = { "vol-a" };
    const struct ec2_instance *insts[] = { s_inst(&a, "i-1", "web", 1, vols) };
    struct ec2_snapshot items[] = { s_snap(&a, "snap-a1", "vol-a", "completed", NOW - 60, NULL) };
    struct ec2_snapshot_list src = { items, 1, 1 };
    struct cfg off = s_cfg(NULL), on = s_cfg("us-west-2");
    struct webreport_input in = { .cfg = &off,
                                  .source_region = "us-east-1",
                                  .now_s = NOW,
                                  .instances = insts,
                                  .ninstances = 1,
                                  .src = s_compact(&a, &src) };
    struct webreport w;
    webreport_build(&a, &in, &w);
    CHECK(w.volumes[0].dr == WEBREPORT_DR_OFF);
    CHECK(!w.volumes[0].problem);
    in.cfg = &on; /* DR configured, dst NULL: the DR region could not be listed */
    webreport_build(&a, &in, &w);
    CHECK(w.dst_failed);
    CHECK(w.volumes[0].dr == WEBREPORT_DR_UNKNOWN);
    CHECK_INT(w.volumes[0].dr_backlog, 0); /* unknown is not counted as backlog */
    s_compact_free();
    arena_free(&a);
}

/* A volume only its snapshots know; a snapshot deleted this run; a failure naming an instance; copies started. */
TEST(webreport_orphans_deletions_failures_and_started_copies) {
    struct arena a;
    arena_init(&a, 0);
    const char *v1[] = { "vol-1" }, *v2[] = { "vol-2" };
    const struct ec2_instance *insts[] = { s_inst(&a, "i-1", "alpha", 1, v1), s_inst(&a, "i-2", "beta", 1, v2) };
    static const char *const gone_tags[] = { "InstanceId", "i-9", "Name", "old-db", NULL };
    struct ec2_snapshot items[] = {
        s_snap(&a, "snap-1", "vol-1", "completed", NOW - 60, NULL),
        s_snap(&a, "snap-1old", "vol-1", "completed", NOW - 9 * DAY, NULL),
        s_snap(&a, "snap-2", "vol-2", "completed", NOW - 60, NULL),
        s_snap(&a, "snap-9", "vol-9", "completed", NOW - 20 * DAY, gone_tags),
        s_snap(&a, "snap-9b", "vol-9", "completed", NOW - 21 * DAY, gone_tags),
    };
    struct ec2_snapshot_list src = { items, 5, 5 }, dst = { NULL, 0, 0 };
    struct report r;
    report_init(&r, &a, NOW * 1000);
    r.ebs_ran = true;
    report_add(
      &r, &(struct report_item){ .action = REPORT_DELETED, .job = REPORT_JOB_EBS, .snapshot_id = "snap-1old" });
    report_add(
      &r,
      &(struct report_item){
        .action = REPORT_COPIED, .job = REPORT_JOB_EBS, .source_snapshot_id = "snap-1", .snapshot_id = "snap-c" });
    report_add(
      &r,
      &(struct report_item){ .action = REPORT_FAILED,
                             .job = REPORT_JOB_EBS,
                             .instance_id = "i-2",
                             .aws_code = "UnauthorizedOperation",
                             .message = "<b>no</b>" });
    struct cfg c = s_cfg("us-west-2");
    struct webreport_input in = { .cfg = &c,
                                  .source_region = "us-east-1",
                                  .now_s = NOW,
                                  .instances = insts,
                                  .ninstances = 2,
                                  .src = s_compact(&a, &src),
                                  .dst = s_compact(&a, &dst),
                                  .report = &r,
                                  .outcome = "partial" };
    struct webreport w;
    webreport_build(&a, &in, &w);
    REQUIRE(w.nvolumes == 3);
    const struct webreport_volume *o = s_vol(&w, "vol-9"), *v1v = s_vol(&w, "vol-1"), *v2v = s_vol(&w, "vol-2");
    REQUIRE(o && v1v && v2v);
    CHECK(o->instance_gone);
    CHECK_STR(o->instance_id, "i-9");
    CHECK_STR(o->name, "old-db");
    CHECK_INT(o->kept, 2);
    CHECK_STR(o->problem_why, "not discovered"); /* no longer backed up: listed, not held to the RPO share */
    CHECK_INT(w.rpo_volumes, 2);
    CHECK_INT(w.within_rpo, 2);
    CHECK_INT(w.outside_rpo, 0);
    CHECK_INT(v1v->kept, 1); /* snap-1old was deleted by this run */
    CHECK(v1v->dr == WEBREPORT_DR_PENDING);
    CHECK(!v1v->problem);
    CHECK_STR(v2v->failure_code, "UnauthorizedOperation");
    CHECK_STR(v2v->problem_why, "failed");
    /* Problem rows first: vol-2 (beta, failed) and vol-9 (old-db, stale) before vol-1 (alpha). */
    CHECK(w.volumes[0].problem && w.volumes[1].problem && !w.volumes[2].problem);
    CHECK_STR(w.volumes[2].volume_id, "vol-1");
    CHECK_INT(w.nfailures, 1);
    CHECK_INT(w.counts.failures, 1);
    report_free(&r);
    s_compact_free();
    arena_free(&a);
}

/*
 * The calendar's history (audit items) marks days beyond the snapshots kept; drills come from the history and
 * from this run (the newer wins, a failure on the same day wins); the header's backlog is the run's copy plan's.
 */
TEST(webreport_history_drills_and_the_runs_backlog) {
    struct arena a;
    arena_init(&a, 0);
    const char *vols[] = { "vol-a", "vol-b" };
    const struct ec2_instance *insts[] = { s_inst(&a, "i-1", "web", 2, vols) };
    struct ec2_snapshot items[] = {
        s_snap(&a, "snap-a", "vol-a", "completed", NOW - 60, NULL),
        s_snap(&a, "snap-b", "vol-b", "completed", NOW - 60, NULL),
    };
    struct ec2_snapshot_list src = { items, 2, 2 };
    const struct webreport_history_day hist[] = {
        { "vol-a", NOW - 10 * DAY, WEBREPORT_HIST_SNAP },
        { "vol-a", NOW - 10 * DAY, WEBREPORT_HIST_DR },
        { "vol-a", NOW - 29 * DAY, WEBREPORT_HIST_SNAP },
        { "vol-a", NOW - 30 * DAY, WEBREPORT_HIST_SNAP },
        { "vol-gone", NOW - 3 * DAY, WEBREPORT_HIST_SNAP },
        { "vol-a", NOW - 2 * DAY, WEBREPORT_HIST_DRILL_FAILED },
        { "vol-b", NOW - 5 * DAY, WEBREPORT_HIST_DRILL_PASSED },
        { "vol-b", NOW - 4 * DAY, WEBREPORT_HIST_DRILL_FAILED },
        { "vol-b", NOW - 4 * DAY, WEBREPORT_HIST_DRILL_PASSED },
    };
    struct report r;
    report_init(&r, &a, NOW * 1000);
    r.ebs_ran = true;
    r.dr_backlog_known = true;
    r.dr_backlog = 7;
    r.dr_backlog_oldest_s = 2 * DAY;
    report_add(
      &r,
      &(struct report_item){ .action = REPORT_DRILLED,
                             .job = REPORT_JOB_DRILL,
                             .ts_ms = (NOW - 30) * 1000,
                             .volume_id = "vol-a",
                             .snapshot_id = "snap-a",
                             .duration_ms = 5000 });
    struct cfg c = s_cfg("us-west-2");
    c.rpo_s = 2 * DAY;
    struct webreport_input in = { .cfg = &c,
                                  .source_region = "us-east-1",
                                  .now_s = NOW,
                                  .instances = insts,
                                  .ninstances = 1,
                                  .src = s_compact(&a, &src),
                                  .report = &r,
                                  .history = hist,
                                  .nhistory = sizeof(hist) / sizeof(hist[0]) };
    struct webreport w;
    webreport_build(&a, &in, &w);
    REQUIRE(w.nvolumes == 2);
    const struct webreport_volume *va = s_vol(&w, "vol-a"), *vb = s_vol(&w, "vol-b");
    CHECK_INT(va->days, 1u << 0 | 1u << 10 | 1u << 29); /* day 30 is outside the calendar */
    CHECK_INT(va->dr_days, 1u << 10);
    CHECK(w.has_history);
    CHECK(va->drill == WEBREPORT_DRILL_PASSED && va->drill_s == NOW - 30); /* this run's, newer than day -2's */
    CHECK(vb->drill == WEBREPORT_DRILL_FAILED);                            /* day -4: failed and passed -> failed */
    CHECK(vb->problem);
    CHECK_STR(vb->problem_why, "drill failed");
    CHECK(w.has_drills);
    CHECK_INT(w.drills_passed, 1);
    CHECK_INT(w.drills_failed, 1);
    CHECK_INT(w.rpo_s, 2 * DAY); /* RPO from the configuration */
    CHECK(w.dr_backlog_from_run);
    CHECK_INT(w.dr_backlog, 7);
    CHECK_INT(w.dr_backlog_oldest_age_s, 2 * DAY);
    report_free(&r);
    s_compact_free();
    arena_free(&a);
}

/* Two (account, region) parts: rows grouped by them, each part's copies and history its own. */
TEST(webreport_parts_group_rows_by_account_and_region) {
    struct arena a;
    arena_init(&a, 0);
    const char *v1[] = { "vol-1" }, *v2[] = { "vol-2" };
    const struct ec2_instance *i1[] = { s_inst(&a, "i-1", "zeta", 1, v1) },
                              *i2[] = { s_inst(&a, "i-2", "alpha", 1, v2) };
    struct ec2_snapshot s1[] = { s_snap(&a, "snap-1", "vol-1", "completed", NOW - 60, NULL) };
    struct ec2_snapshot s2[] = { s_snap(&a, "snap-2", "vol-2", "completed", NOW - 3 * DAY, NULL) };
    struct ec2_snapshot_list l1 = { s1, 1, 1 }, l2 = { s2, 1, 1 }, none = { NULL, 0, 0 };
    const struct ec2_snaps *c1 = s_compact(&a, &l1), *c2 = s_compact(&a, &l2), *empty = s_compact(&a, &none);
    const struct webreport_history_day h2[] = { { "vol-2", NOW - 12 * DAY, WEBREPORT_HIST_SNAP },
                                                { "vol-1", NOW - 12 * DAY, WEBREPORT_HIST_SNAP } };
    const struct webreport_part parts[] = {
        { .account = "222222222222",
          .region = "eu-west-1",
          .instances = i2,
          .ninstances = 1,
          .src = c2,
          .history = h2,
          .nhistory = 2 },
        { .account = "111111111111",
          .region = "us-east-1",
          .dest_region = "us-west-2",
          .instances = i1,
          .ninstances = 1,
          .src = c1,
          .dst = empty },
    };
    struct cfg c = s_cfg(NULL);
    struct webreport_input in = { .cfg = &c, .source_region = "us-east-1", .now_s = NOW, .parts = parts, .nparts = 2 };
    struct webreport w;
    webreport_build(&a, &in, &w);
    REQUIRE(w.nvolumes == 2);
    CHECK_INT(w.ngroups, 2);
    CHECK_STR(w.volumes[0].account, "111111111111"); /* grouped by account, then region */
    CHECK_STR(w.volumes[0].volume_id, "vol-1");
    CHECK(w.volumes[0].dr == WEBREPORT_DR_MISSING);
    CHECK_INT(w.volumes[0].days, 1u); /* vol-1's history belongs to the other part: not used */
    CHECK_STR(w.volumes[1].region, "eu-west-1");
    CHECK(w.volumes[1].dr == WEBREPORT_DR_OFF);
    CHECK_INT(w.volumes[1].days, 1u << 3 | 1u << 12);
    CHECK_STR(w.volumes[1].problem_why, "stale");
    struct buf b;
    buf_init(&b, WEBREPORT_PAGE_MAX);
    REQUIRE_OK(webreport_html(&w, &b));
    const char *g1 = strstr(buf_cstr(&b), "<tr class=g><th colspan=10>111111111111 &middot; us-east-1");
    CHECK(g1 != NULL && strstr(buf_cstr(&b), "<tr class=g><th colspan=10>222222222222 &middot; eu-west-1") != NULL);
    CHECK_STR(w.dest_region, "us-west-2"); /* a target has DR: the header's DR figures are shown */
    CHECK(strstr(buf_cstr(&b), "2 accounts and regions (grouped below)") != NULL);
    buf_free(&b);
    s_compact_free();
    arena_free(&a);
}

/* ---- rendering ---- */

static void s_b64(const unsigned char *in, size_t n, char *out) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) in[i] << 16;
        v |= i + 1 < n ? (uint32_t) in[i + 1] << 8 : 0;
        v |= i + 2 < n ? in[i + 2] : 0;
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

/* The text between open and close (first occurrence), hashed as CSP does: 'sha256-<base64>'. */
static bool s_csp_of(const char *page, const char *open, const char *close, char out[64]) {
    const char *p = strstr(page, open), *q = p ? strstr(p, close) : NULL;
    if (!q) {
        return false;
    }
    p += strlen(open);
    br_sha256_context ctx;
    unsigned char d[32];
    br_sha256_init(&ctx);
    br_sha256_update(&ctx, p, (size_t) (q - p));
    br_sha256_out(&ctx, d);
    char b[48];
    s_b64(d, 32, b);
    snprintf(out, 64, "'sha256-%s'", b);
    return true;
}

static void s_hostile_model(struct arena *a, struct webreport *w, struct report *r, struct ec2_snapshot_list *src) {
    const char *vols[] = { "vol-<i>" };
    static const struct ec2_instance *insts[1];
    insts[0] = s_inst(a, "i-1\"><script>alert(1)</script>", "<img src=x onerror=alert(1)>", 1, vols);
    struct ec2_snapshot *items = ARENA_NEW_ARRAY(a, struct ec2_snapshot, 1);
    items[0] = s_snap(a, "snap-1", "vol-<i>", "completed", NOW - 60, NULL);
    *src = (struct ec2_snapshot_list){ items, 1, 1 };
    report_init(r, a, NOW * 1000);
    r->ebs_ran = true;
    report_add(
      r,
      &(struct report_item){ .action = REPORT_FAILED,
                             .job = REPORT_JOB_EBS,
                             .region = "us-east-1",
                             .aws_code = "Code<x>",
                             .message = "bad \"quote\" & <tag> \x01" });
    static struct cfg c;
    c = s_cfg(NULL);
    struct webreport_input in = { .cfg = &c,
                                  .source_region = "us-east-1",
                                  .now_s = NOW,
                                  .instances = insts,
                                  .ninstances = 1,
                                  .src = s_compact(a, src),
                                  .report = r,
                                  .outcome = "partial" };
    webreport_build(a, &in, w);
}

TEST(webreport_html_escapes_every_value_and_its_csp_names_its_own_style_and_script) {
    struct arena a;
    arena_init(&a, 0);
    struct webreport w;
    struct report r;
    struct ec2_snapshot_list src;
    s_hostile_model(&a, &w, &r, &src);
    struct buf b;
    buf_init(&b, WEBREPORT_PAGE_MAX);
    REQUIRE_OK(webreport_html(&w, &b));
    const char *page = buf_cstr(&b);
    CHECK(strstr(page, "<img") == NULL);
    CHECK(strstr(page, "&lt;img src=x onerror=alert(1)&gt;") != NULL);
    CHECK(strstr(page, "i-1&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    CHECK(strstr(page, "Code&lt;x&gt;") != NULL);
    CHECK(strstr(page, "bad &quot;quote&quot; &amp; &lt;tag&gt; \xEF\xBF\xBD") != NULL);
    /* One <script> element, one <style>: ours. */
    size_t scripts = 0;
    for (const char *p = page; (p = strstr(p, "<script")) != NULL; p++) {
        scripts++;
    }
    CHECK_INT(scripts, 1);
    char style_hash[64], script_hash[64];
    REQUIRE(s_csp_of(page, "<style>", "</style>", style_hash));
    REQUIRE(s_csp_of(page, "<script>", "</script>", script_hash));
    const char *csp = strstr(page, "Content-Security-Policy content=\"");
    REQUIRE(csp != NULL);
    char want[512];
    snprintf(
      want,
      sizeof(want),
      "Content-Security-Policy content=\"default-src 'none'; style-src %s; script-src %s; img-src 'none'; "
      "base-uri 'none'; form-action 'none'\"",
      style_hash,
      script_hash);
    CHECK(strncmp(csp, want, strlen(want)) == 0);
    buf_free(&b);
    report_free(&r);
    s_compact_free();
    arena_free(&a);
}

TEST(webreport_json_parses_back_with_the_cycle_counts) {
    struct arena a;
    arena_init(&a, 0);
    struct webreport w;
    struct report r;
    struct ec2_snapshot_list src;
    s_hostile_model(&a, &w, &r, &src);
    struct buf b, counts;
    buf_init(&b, WEBREPORT_PAGE_MAX);
    buf_init(&counts, BUF_MAX_SMALL);
    REQUIRE_OK(webreport_json(&w, &b));
    const struct json_value *root = NULL;
    REQUIRE_OK(json_parse(&a, buf_span(&b), NULL, &root));
    struct report_counts c = report_counts(&r);
    buf_append_char(&counts, '{');
    report_counts_json(&c, &counts);
    buf_append_char(&counts, '}');
    const struct json_value *want = NULL;
    REQUIRE_OK(json_parse(&a, buf_span(&counts), NULL, &want));
    CHECK(json_equal(json_get(root, "counts"), want));
    const struct json_value *v = json_at(json_get(root, "volumes"), 0);
    CHECK_SPAN(json_get_string(v, "name"), "<img src=x onerror=alert(1)>");
    CHECK_SPAN(json_get_string(v, "days"), "000000000000000000000000000001");
    CHECK_SPAN(json_get_string(json_at(json_get(root, "failures"), 0), "aws_code"), "Code<x>");
    buf_free(&b);
    buf_free(&counts);
    report_free(&r);
    s_compact_free();
    arena_free(&a);
}

/* n healthy volumes (5 per instance), each with 7 daily snapshots and their copies. */
static size_t s_page_size(size_t n) {
    struct arena a;
    arena_init(&a, 0);
    size_t ninst = (n + 4) / 5;
    const struct ec2_instance **insts = ARENA_NEW_ARRAY(&a, const struct ec2_instance *, ninst);
    struct ec2_snapshot *src = ARENA_NEW_ARRAY(&a, struct ec2_snapshot, n * 7);
    struct ec2_snapshot *dst = ARENA_NEW_ARRAY(&a, struct ec2_snapshot, n * 7);
    size_t k = 0;
    for (size_t i = 0; i < ninst; i++) {
        const char *vols[5];
        size_t nv = n - i * 5 < 5 ? n - i * 5 : 5;
        for (size_t v = 0; v < nv; v++) {
            vols[v] = arena_printf(&a, "vol-%017zx", i * 5 + v);
        }
        insts[i] = s_inst(&a, arena_printf(&a, "i-%017zx", i), arena_printf(&a, "app-server-%04zu", i), nv, vols);
        for (size_t v = 0; v < nv; v++) {
            for (int d = 0; d < 7; d++) {
                const char *sid = arena_printf(&a, "snap-%017zx", k);
                src[k] = s_snap(&a, sid, vols[v], "completed", NOW - d * DAY - 600, NULL);
                const char **tags = ARENA_NEW_ARRAY(&a, const char *, 5);
                tags[0] = "VolumeId", tags[1] = vols[v], tags[2] = "SourceSnapshotId", tags[3] = sid, tags[4] = NULL;
                dst[k] =
                  s_snap(&a, arena_printf(&a, "snap-c%016zx", k), "vol-ffffffff", "completed", NOW - d * DAY, tags);
                k++;
            }
        }
    }
    struct ec2_snapshot_list sl = { src, k, k }, dl = { dst, k, k };
    struct cfg c = s_cfg("us-west-2");
    struct webreport_input in = { .cfg = &c,
                                  .source_region = "us-east-1",
                                  .now_s = NOW,
                                  .instances = insts,
                                  .ninstances = ninst,
                                  .src = s_compact(&a, &sl),
                                  .dst = s_compact(&a, &dl) };
    struct webreport w;
    webreport_build(&a, &in, &w);
    struct buf b;
    buf_init(&b, WEBREPORT_PAGE_MAX);
    size_t size = webreport_html(&w, &b) == ERR_OK ? b.len : SIZE_MAX;
    buf_free(&b);
    s_compact_free();
    arena_free(&a);
    return size;
}

TEST(webreport_page_size_per_volume_stays_under_the_promise) {
    static const size_t fleets[] = { 10, 1000, 5000 };
    for (size_t i = 0; i < 3; i++) {
        size_t size = s_page_size(fleets[i]);
        harness_note("%zu volumes: %zu bytes", fleets[i], size);
        if (fleets[i] >= 1000) {
            CHECK(size <= fleets[i] * WEBREPORT_PAGE_BYTES_PER_VOLUME_MAX);
        }
    }
}

/* ---- the run index: DynamoDB Query body and response ---- */

TEST(dynamodb_query_body_and_parse_for_the_run_index) {
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    REQUIRE_OK(dynamodb_query_body(&b, "audit", "pk", "smartvault#runs", 30, false));
    CHECK_STR(
      buf_cstr(&b),
      "{\"TableName\":\"audit\",\"KeyConditionExpression\":\"#k = :v\",\"ExpressionAttributeNames\":{\"#k\":\"pk\"},"
      "\"ExpressionAttributeValues\":{\":v\":{\"S\":\"smartvault#runs\"}},\"ScanIndexForward\":false,\"Limit\":30}");
    buf_reset(&b);
    CHECK(dynamodb_query_body(&b, "audit", "pk", "x", 0, false) == ERR_INVALID);
    CHECK(dynamodb_query_body(&b, "audit", "pk", "x", 1001, false) == ERR_INVALID);
    CHECK(dynamodb_query_body(&b, "", "pk", "x", 1, false) == ERR_INVALID);
    buf_free(&b);

    struct arena a;
    arena_init(&a, 0);
    const char *doc =
      "{\"Count\":2,\"Items\":[{\"run_id\":{\"S\":\"r2\"},\"failures\":{\"N\":\"3\"},\"dry\":{\"BOOL\":true},"
      "\"l\":{\"L\":[]}},{\"run_id\":{\"S\":\"r1\"}}]}";
    const struct json_value *root = NULL;
    REQUIRE_OK(json_parse(&a, span_from_cstr(doc), NULL, &root));
    struct dynamodb_item *items = NULL;
    size_t n = 0;
    REQUIRE_OK(dynamodb_query_parse(&a, root, &items, &n));
    REQUIRE(n == 2);
    CHECK_STR(dynamodb_item_text(&items[0], "run_id"), "r2");
    CHECK_STR(dynamodb_item_text(&items[0], "failures"), "3");
    CHECK_INT(items[0].nattrs, 3); /* the list attribute is skipped */
    CHECK(dynamodb_item_text(&items[1], "failures") == NULL);
    REQUIRE_OK(json_parse(&a, SPAN_LIT("{\"Items\":{}}"), NULL, &root));
    CHECK(dynamodb_query_parse(&a, root, &items, &n) == ERR_PARSE);
    REQUIRE_OK(json_parse(&a, SPAN_LIT("[]"), NULL, &root));
    CHECK(dynamodb_query_parse(&a, root, &items, &n) == ERR_PARSE);
    REQUIRE_OK(json_parse(&a, SPAN_LIT("{}"), NULL, &root));
    REQUIRE_OK(dynamodb_query_parse(&a, root, &items, &n));
    CHECK_INT(n, 0);
    s_compact_free();
    arena_free(&a);
}

/* The calendar's Query: a sort-key range, paged by LastEvaluatedKey. */
TEST(dynamodb_query_page_body_and_last_key) {
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    const struct dynamodb_attr start_attrs[] = { { .name = "pk", .text = "calendar#1#r" },
                                                 { .name = "sk", .text = "2026-01-02#00" } };
    const struct dynamodb_item start = { start_attrs, 2 };
    struct dynamodb_query q = { .table = "audit",
                                .key_name = "pk",
                                .key_value = "calendar#1#r",
                                .sort_name = "sk",
                                .sort_from = "2025-12-03",
                                .limit = 1000,
                                .forward = true,
                                .start = &start };
    REQUIRE_OK(dynamodb_query_page_body(&b, &q));
    CHECK_STR(
      buf_cstr(&b),
      "{\"TableName\":\"audit\",\"KeyConditionExpression\":\"#k = :v AND #s >= :f\",\"ExpressionAttributeNames\":"
      "{\"#k\":\"pk\",\"#s\":\"sk\"},\"ExpressionAttributeValues\":{\":v\":{\"S\":\"calendar#1#r\"},\":f\":{\"S\":"
      "\"2025-12-03\"}},\"ScanIndexForward\":true,\"Limit\":1000,\"ExclusiveStartKey\":{\"pk\":{\"S\":"
      "\"calendar#1#r\"},\"sk\":{\"S\":\"2026-01-02#00\"}}}");
    q.sort_name = NULL;
    buf_reset(&b);
    CHECK(dynamodb_query_page_body(&b, &q) == ERR_INVALID);
    buf_free(&b);
    struct arena a;
    arena_init(&a, 0);
    const struct json_value *root = NULL;
    struct dynamodb_item key;
    REQUIRE_OK(json_parse(
      &a, SPAN_LIT("{\"Items\":[],\"LastEvaluatedKey\":{\"pk\":{\"S\":\"p\"},\"sk\":{\"S\":\"s\"}}}"), NULL, &root));
    REQUIRE_OK(dynamodb_query_last_key(&a, root, &key));
    CHECK_INT(key.nattrs, 2);
    CHECK_STR(dynamodb_item_text(&key, "sk"), "s");
    REQUIRE_OK(json_parse(&a, SPAN_LIT("{\"Items\":[]}"), NULL, &root));
    REQUIRE_OK(dynamodb_query_last_key(&a, root, &key));
    CHECK_INT(key.nattrs, 0);
    REQUIRE_OK(json_parse(&a, SPAN_LIT("{\"LastEvaluatedKey\":{\"pk\":{\"N\":\"1\"}}}"), NULL, &root));
    CHECK(dynamodb_query_last_key(&a, root, &key) == ERR_PARSE);
    arena_free(&a);
}

/* ---- calendar items: DynamoDB's 400 KB item limit at 5,000 and 20,000 volumes ---- */

static size_t s_item_bytes(const struct dynamodb_item *it) {
    size_t n = 0; /* as DynamoDB sizes an item: attribute names plus values (numbers counted as their digits) */
    for (size_t i = 0; i < it->nattrs; i++) {
        n += strlen(it->attrs[i].name) + strlen(it->attrs[i].text);
    }
    return n;
}

static void s_check_chunks(size_t volumes, size_t want_items) {
    struct arena a;
    arena_init(&a, 0);
    size_t n = 2 * volumes + 10;
    const char **ids = ARENA_NEW_ARRAY(&a, const char *, n);
    enum webreport_hist *kinds = ARENA_NEW_ARRAY(&a, enum webreport_hist, n);
    for (size_t i = 0; i < n; i++) {
        size_t v = i < volumes ? i : i < 2 * volumes ? i - volumes : i - 2 * volumes;
        ids[i] = arena_printf(&a, "vol-%017zx", v);
        kinds[i] = i < volumes       ? WEBREPORT_HIST_SNAP
                   : i < 2 * volumes ? WEBREPORT_HIST_DR
                                     : WEBREPORT_HIST_DRILL_PASSED;
    }
    struct webreport_calendar_day d = { "calendar#123456789012#us-east-1", NOW / DAY, "run-1", NOW * 1000 };
    struct dynamodb_item *items = NULL;
    size_t nitems = webreport_calendar_day_items(&a, &d, ids, kinds, n, &items);
    CHECK_INT(nitems, want_items);
    size_t seen = 0, largest = 0;
    for (size_t i = 0; i < nitems; i++) {
        size_t bytes = s_item_bytes(&items[i]);
        largest = bytes > largest ? bytes : largest;
        CHECK(bytes < DYNAMODB_ITEM_MAX_BYTES / 2 + 1024);
        CHECK_STR(dynamodb_item_text(&items[i], "sk"), arena_printf(&a, "2026-01-01#%02zu", i));
        CHECK_STR(dynamodb_item_text(&items[i], "expires_at"), "1769904000"); /* 2026-02-01: the day + 31 d */
        for (int k = 0; k < WEBREPORT_HIST__KINDS; k++) {
            static const char *const names[] = { "snap", "dr", "drill_passed", "drill_failed" };
            const char *t = dynamodb_item_text(&items[i], names[k]);
            for (; t && *t; t = strchr(t, ' ') ? strchr(t, ' ') + 1 : "") {
                seen++;
            }
        }
    }
    CHECK_INT(seen, n); /* every id in exactly one chunk */
    const struct dynamodb_item *ptrs[DYNAMODB_BATCH_WRITE_MAX_ITEMS];
    for (size_t i = 0; i < nitems && i < DYNAMODB_BATCH_WRITE_MAX_ITEMS; i++) {
        ptrs[i] = &items[i];
    }
    struct buf body;
    buf_init(&body, DYNAMODB_BATCH_WRITE_MAX_BYTES);
    CHECK(dynamodb_batch_write_body(&body, "audit", ptrs, nitems) == ERR_OK);
    harness_note(
      "%zu volumes: %zu items, largest %zu bytes, BatchWriteItem body %zu bytes", volumes, nitems, largest, body.len);
    buf_free(&body);
    arena_free(&a);
}

TEST(webreport_calendar_items_stay_under_dynamodbs_item_limit) {
    s_check_chunks(1, 1);
    s_check_chunks(5000, 2);
    s_check_chunks(20000, 5);
}
