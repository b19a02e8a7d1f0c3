/*
 * test_ec2.c - EC2 request builders and response parsers against documented response shapes.
 */
#include "harness.h"

#include "svc/ec2.h"

static const char s_instances_xml[] =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
  "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
  "  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>\n"
  "  <reservationSet>\n"
  "    <item><reservationId>r-1</reservationId><instancesSet>\n"
  "      <item><instanceId>i-aaa</instanceId><instanceState><code>16</code><name>running</name></instanceState>\n"
  "        <blockDeviceMapping>\n"
  "          <item><deviceName>/dev/xvda</deviceName><ebs><volumeId>vol-1</volumeId><status>attached</status></ebs>"
  "</item>\n"
  "          <item><deviceName>/dev/sdb</deviceName><ebs><volumeId>vol-2</volumeId></ebs></item>\n"
  "        </blockDeviceMapping>\n"
  "        <tagSet><item><key>Name</key><value>web &amp; api</value></item>"
  "<item><key>backup</key><value>TRUE</value></item></tagSet>\n"
  "      </item>\n"
  "      <item><instanceId>i-bbb</instanceId><instanceState><name>stopped</name></instanceState>"
  "<blockDeviceMapping/></item>\n"
  "    </instancesSet></item>\n"
  "  </reservationSet>\n"
  "  <nextToken>tok-2</nextToken>\n"
  "</DescribeInstancesResponse>\n";

TEST(ec2_parse_describe_instances) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root;
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(s_instances_xml), NULL, &root));
    struct ec2_instance_list list = { 0 };
    struct span next;
    REQUIRE_OK(ec2_describe_instances_parse(&a, root, &list, &next));
    REQUIRE(list.n == 2);
    CHECK_SPAN(list.items[0].id, "i-aaa");
    CHECK_SPAN(list.items[0].state, "running");
    CHECK_INT(list.items[0].nvolumes, 2);
    CHECK_SPAN(list.items[0].volumes[1].volume_id, "vol-2");
    CHECK_SPAN(list.items[0].volumes[0].device, "/dev/xvda");
    bool found = false;
    CHECK_SPAN(ec2_tag_value(list.items[0].tags, list.items[0].ntags, "Name", &found), "web & api");
    CHECK(found);
    ec2_tag_value(list.items[0].tags, list.items[0].ntags, "Backup", &found);
    CHECK(!found);
    CHECK_SPAN(list.items[1].state, "stopped");
    CHECK_INT(list.items[1].nvolumes, 0);
    CHECK_SPAN(next, "tok-2");
    arena_free(&a);
}

TEST(ec2_parse_snapshots_and_create) {
    static const char describe[] =
      "<DescribeSnapshotsResponse><snapshotSet><item><snapshotId>snap-1</snapshotId><volumeId>vol-1</volumeId>"
      "<status>pending</status><startTime>2026-11-20T01:00:00.000Z</startTime><encrypted>true</encrypted>"
      "<tagSet><item><key>CreatedBy</key><value>SmartVault</value></item></tagSet></item></snapshotSet>"
      "</DescribeSnapshotsResponse>";
    static const char create[] =
      "<CreateSnapshotsResponse><snapshotSet><item><snapshotId>snap-9</snapshotId><volumeId>vol-9</volumeId>"
      "<state>pending</state><startTime>2026-11-20T01:00:00Z</startTime></item></snapshotSet>"
      "</CreateSnapshotsResponse>";
    static const char bad_time[] = "<DescribeSnapshotsResponse><snapshotSet><item><snapshotId>snap-1</snapshotId>"
                                   "<startTime>yesterday</startTime></item></snapshotSet></DescribeSnapshotsResponse>";
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root;
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(describe), NULL, &root));
    struct ec2_snapshot_list list = { 0 };
    struct span next;
    REQUIRE_OK(ec2_describe_snapshots_parse(&a, root, &list, &next));
    REQUIRE(list.n == 1);
    CHECK_SPAN(list.items[0].state, "pending");
    CHECK(list.items[0].encrypted);
    CHECK(list.items[0].start_time_s == 1795136400);
    CHECK_INT(next.n, 0);
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(create), NULL, &root));
    struct ec2_snapshot_list created = { 0 };
    REQUIRE_OK(ec2_create_snapshots_parse(&a, root, &created));
    REQUIRE(created.n == 1);
    CHECK_SPAN(created.items[0].state, "pending");
    CHECK_SPAN(created.items[0].volume_id, "vol-9");
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(bad_time), NULL, &root));
    struct ec2_snapshot_list bad = { 0 };
    CHECK_INT(ec2_describe_snapshots_parse(&a, root, &bad, &next), ERR_PARSE);
    /* A response of the wrong operation is refused, not read as empty. */
    CHECK_INT(ec2_create_snapshots_parse(&a, root, &bad), ERR_PARSE);
    arena_free(&a);
}

TEST(ec2_requests) {
    struct arena a;
    arena_init(&a, 0);
    struct query_params q;
    query_init(&q, &a);
    static const char *const keys[] = { "Backup", "backup" };
    static const char *const states[] = { "running", "stopping", "stopped" };
    ec2_describe_instances_request(&q, keys, 2, states, 3, 500, SPAN_LIT("t1"));
    CHECK_SPAN(query_get(&q, "Filter.1.Name"), "tag-key");
    CHECK_SPAN(query_get(&q, "Filter.1.Value.2"), "backup");
    CHECK_SPAN(query_get(&q, "Filter.2.Name"), "instance-state-name");
    CHECK_SPAN(query_get(&q, "Filter.2.Value.3"), "stopped");
    CHECK_SPAN(query_get(&q, "MaxResults"), "500");
    CHECK_SPAN(query_get(&q, "NextToken"), "t1");
    query_init(&q, &a);
    struct ec2_tag tags[] = { { SPAN_LIT("CreatedBy"), SPAN_LIT("SmartVault") },
                              { SPAN_LIT("Name"), SPAN_LIT("web") } };
    struct ec2_copy_request cr = {
        .source_region = SPAN_LIT("us-east-1"),
        .source_snapshot_id = SPAN_LIT("snap-1"),
        .destination_region = SPAN_LIT("us-west-2"),
        .kms_key_id = SPAN_LIT("alias/dr"),
        .presigned_url = SPAN_LIT("https://x"),
        .tags = tags,
        .ntags = 2,
    };
    ec2_copy_snapshot_request(&q, &cr, false);
    CHECK_SPAN(query_get(&q, "Encrypted"), "true");
    CHECK_SPAN(query_get(&q, "KmsKeyId"), "alias/dr");
    CHECK_SPAN(query_get(&q, "TagSpecification.1.ResourceType"), "snapshot");
    CHECK_SPAN(query_get(&q, "TagSpecification.1.Tag.2.Value"), "web");
    CHECK_INT(query_get(&q, "PresignedUrl").n, 0);
    ec2_copy_snapshot_request(&q, &cr, true);
    CHECK_SPAN(query_get(&q, "PresignedUrl"), "https://x");
    query_init(&q, &a);
    ec2_create_snapshots_request(&q, SPAN_LIT("i-1"), SPAN_LIT("d"), tags, 1);
    CHECK_SPAN(query_get(&q, "InstanceSpecification.InstanceId"), "i-1");
    CHECK_SPAN(query_get(&q, "InstanceSpecification.ExcludeBootVolume"), "false");
    CHECK_SPAN(query_get(&q, "TagSpecification.1.Tag.1.Key"), "CreatedBy");
    arena_free(&a);
}

/* ---- compact listings ---- */

TEST(ec2_pool_interns_each_string_once_and_spans_stay_valid) {
    struct ec2_pool p = { 0 };
    CHECK_INT(ec2_pool_intern(&p, SPAN_NULL), 0);
    CHECK_INT(ec2_pool_get(&p, 0).n, 0);
    uint32_t a = ec2_pool_intern(&p, SPAN_LIT("vol-0123456789abcdef0"));
    uint32_t b = ec2_pool_intern(&p, SPAN_LIT("vol-0123456789abcdef1"));
    CHECK(a != 0 && b != 0 && a != b);
    CHECK_INT(ec2_pool_intern(&p, SPAN_LIT("vol-0123456789abcdef0")), a);
    struct span first = ec2_pool_get(&p, a);
    /* 200,000 distinct ids: chunks are added and the table rehashed, handles and spans never move. */
    char id[32];
    uint32_t last = 0;
    for (int i = 0; i < 200000; i++) {
        int n = snprintf(id, sizeof(id), "snap-%017x", (unsigned) i);
        last = ec2_pool_intern(&p, (struct span){ id, (size_t) n });
        REQUIRE(last != 0 && last != UINT32_MAX);
    }
    CHECK(ec2_pool_get(&p, a).p == first.p);
    CHECK_SPAN(ec2_pool_get(&p, a), "vol-0123456789abcdef0");
    CHECK_SPAN(ec2_pool_get(&p, last), "snap-00000000000030d3f");
    CHECK_INT(
      ec2_pool_intern(&p, SPAN_LIT("snap-00000000000000007")), ec2_pool_intern(&p, SPAN_LIT("snap-00000000000000007")));
    /* about 25 bytes per 22-byte id plus its slot: no per-string allocation */
    CHECK(ec2_pool_bytes(&p) < (size_t) 200000 * 48);
    ec2_pool_free(&p);
    CHECK_INT(p.nchunks, 0);
}

static const char s_listing_xml[] =
  "<DescribeSnapshotsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><snapshotSet>"
  "<item><snapshotId>snap-1</snapshotId><volumeId>vol-a</volumeId><status>completed</status>"
  "<startTime>2026-01-02T03:04:05.000Z</startTime><description>a long description we do not keep</description>"
  "<tagSet><item><key>CreatedBy</key><value>SmartVault</value></item><item><key>InstanceId</key><value>i-1</value>"
  "</item><item><key>Owner</key><value>team-a</value></item><item><key>Name</key><value></value></item></tagSet></item>"
  "<item><snapshotId>snap-2</snapshotId><volumeId>vol-a</volumeId><status>pending</status>"
  "<startTime>2026-01-03T03:04:05.000Z</startTime><tagSet><item><key>InstanceId</key><value>i-1</value></item>"
  "</tagSet></item></snapshotSet><nextToken>page-2</nextToken></DescribeSnapshotsResponse>";

TEST(ec2_snaps_parse_page_keeps_only_the_kept_tags_and_interns_values) {
    static const char *const keys[] = { "CreatedBy", "InstanceId", "Name" };
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root;
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(s_listing_xml), NULL, &root));
    struct ec2_snaps l;
    ec2_snaps_init(&l, keys, 3, 10, "TEST_MAX");
    uint64_t v0 = l.version;
    struct span next;
    REQUIRE_OK(ec2_snaps_parse_page(&l, root, &a, &next));
    CHECK_SPAN(next, "page-2");
    REQUIRE(l.n == 2);
    CHECK(l.version != v0);
    CHECK_SPAN(ec2_snaps_str(&l, l.items[0].id), "snap-1");
    CHECK_SPAN(ec2_snaps_str(&l, l.items[0].volume_id), "vol-a");
    CHECK_SPAN(ec2_snaps_str(&l, l.items[1].state), "pending");
    CHECK_INT(l.items[0].start_time_s, 1767323045);
    CHECK_SPAN(ec2_snaps_tag(&l, &l.items[0], "CreatedBy"), "SmartVault");
    CHECK_SPAN(ec2_snaps_tag(&l, &l.items[0], "InstanceId"), "i-1");
    CHECK_INT(ec2_snaps_tag(&l, &l.items[0], "Owner").n, 0); /* not a kept key: not stored */
    CHECK_INT(ec2_snaps_tag(&l, &l.items[0], "Name").n, 0);
    CHECK_INT(ec2_snaps_tag(&l, &l.items[1], "CreatedBy").n, 0);
    /* one copy of each repeated value: the volume id and the instance id are the same handle */
    CHECK_INT(l.items[0].volume_id, l.items[1].volume_id);
    CHECK_INT(l.items[0].tags[1], l.items[1].tags[1]);
    CHECK_INT(sizeof(struct ec2_snaprec), 56);
    ec2_snaps_free(&l);
    arena_free(&a);
}

TEST(ec2_snaps_past_the_maximum_is_one_limit_error_naming_it) {
    static const char *const keys[] = { "CreatedBy" };
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root;
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(s_listing_xml), NULL, &root));
    struct ec2_snaps l;
    ec2_snaps_init(&l, keys, 1, 3, "EBS_MAX_LISTED_SNAPSHOTS");
    struct span next;
    REQUIRE_OK(ec2_snaps_parse_page(&l, root, &a, &next));
    CHECK_INT(ec2_snaps_parse_page(&l, root, &a, &next), ERR_LIMIT);
    CHECK(strstr(err_last()->msg, "more than 3 snapshots") != NULL);
    CHECK(strstr(err_last()->msg, "EBS_MAX_LISTED_SNAPSHOTS") != NULL);
    CHECK_INT(l.n, 3);
    CHECK(l.cap <= 3); /* never grown past the maximum */
    /* a superseded listing is freed when the new one replaces it */
    struct ec2_snaps fresh;
    ec2_snaps_init(&fresh, keys, 1, 3, "EBS_MAX_LISTED_SNAPSHOTS");
    REQUIRE_OK(ec2_snaps_push(&fresh, SPAN_LIT("snap-9"), SPAN_LIT("vol-9"), SPAN_LIT("completed"), 5, NULL, 0));
    ec2_snaps_replace(&l, &fresh);
    CHECK_INT(l.n, 1);
    CHECK_SPAN(ec2_snaps_str(&l, l.items[0].id), "snap-9");
    CHECK_INT(fresh.n, 0);
    CHECK(fresh.items == NULL && fresh.pool.nchunks == 0);
    ec2_snaps_free(&l);
    arena_free(&a);
}

TEST(ec2_snaps_records_without_an_id_are_dropped_in_order_and_find_never_interns) {
    static const char *const keys[] = { "SourceSnapshotId" };
    struct ec2_snaps l;
    ec2_snaps_init(&l, keys, 1, 10, "TEST_MAX");
    CHECK_INT(ec2_pool_find(&l.pool, SPAN_LIT("pending")), 0); /* an empty pool */
    const struct ec2_tag src[] = { { SPAN_LIT("SourceSnapshotId"), SPAN_LIT("snap-a") } };
    REQUIRE_OK(ec2_snaps_push(&l, SPAN_LIT("snap-1"), SPAN_NULL, SPAN_LIT("completed"), 1, NULL, 0));
    REQUIRE_OK(ec2_snaps_push(&l, SPAN_NULL, SPAN_NULL, SPAN_LIT("pending"), 2, src, 1)); /* a queued copy */
    REQUIRE_OK(ec2_snaps_push(&l, SPAN_LIT("snap-3"), SPAN_NULL, SPAN_LIT("pending"), 3, NULL, 0));
    REQUIRE_OK(ec2_snaps_push(&l, SPAN_NULL, SPAN_NULL, SPAN_LIT("pending"), 4, src, 1));
    CHECK_SPAN(ec2_snaps_tag(&l, &l.items[1], "SourceSnapshotId"), "snap-a");
    uint32_t pending = ec2_pool_find(&l.pool, SPAN_LIT("pending"));
    CHECK(pending != 0 && pending == l.items[2].state);
    size_t strings = l.pool.nused;
    CHECK_INT(ec2_pool_find(&l.pool, SPAN_LIT("error")), 0);
    CHECK_INT(l.pool.nused, strings); /* looked up, not added */
    uint64_t v = l.version;
    CHECK_INT(ec2_snaps_drop_unnamed(&l), 2);
    CHECK(l.version != v); /* caches built from it see the change */
    CHECK_INT(l.n, 2);
    CHECK_SPAN(ec2_snaps_str(&l, l.items[0].id), "snap-1");
    CHECK_SPAN(ec2_snaps_str(&l, l.items[1].id), "snap-3");
    CHECK_INT(l.items[1].start_time_s, 3);
    v = l.version;
    CHECK_INT(ec2_snaps_drop_unnamed(&l), 0);
    CHECK(l.version == v); /* nothing dropped: unchanged */
    ec2_snaps_free(&l);
}
