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
