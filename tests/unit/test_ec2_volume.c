/*
 * test_ec2_volume.c - svc/ec2_volume: the request parameters and response parsing of the restore/drill calls.
 */
#include "codec/xml.h"
#include "harness.h"
#include "svc/ec2_volume.h"

static const char s_volumes_xml[] =
  "<DescribeVolumesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId>"
  "<volumeSet><item><volumeId>vol-1</volumeId><size>20</size><snapshotId>snap-1</snapshotId>"
  "<availabilityZone>us-east-1b</availabilityZone><status>creating</status>"
  "<createTime>2026-12-06T10:00:00.000Z</createTime><volumeType>gp3</volumeType><iops>4000</iops>"
  "<throughput>250</throughput><encrypted>true</encrypted><kmsKeyId>arn:k</kmsKeyId>"
  "<tagSet><item><key>SmartVault:Drill</key><value>true</value></item></tagSet></item>"
  "<item><volumeId>vol-2</volumeId><size>8</size><status>available</status><volumeType>gp2</volumeType>"
  "<encrypted>false</encrypted></item></volumeSet><nextToken>more</nextToken></DescribeVolumesResponse>";

TEST(ec2_volume_parse_describe_and_create) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root = NULL;
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(s_volumes_xml), NULL, &root));
    struct ec2_volume_list l = { 0 };
    struct span token;
    REQUIRE_OK(ec2_describe_volumes_parse(&a, root, &l, &token));
    REQUIRE(l.n == 2);
    CHECK_SPAN(token, "more");
    const struct ec2_volume *v = &l.items[0];
    CHECK_SPAN(v->id, "vol-1");
    CHECK_SPAN(v->state, "creating");
    CHECK_SPAN(v->availability_zone, "us-east-1b");
    CHECK_SPAN(v->volume_type, "gp3");
    CHECK_INT(v->size_gib, 20);
    CHECK_INT(v->iops, 4000);
    CHECK_INT(v->throughput, 250);
    CHECK(v->encrypted && l.items[1].encrypted == false);
    CHECK_INT(v->create_time_s, 1796551200);
    CHECK_SPAN(ec2_tag_value(v->tags, v->ntags, "SmartVault:Drill", NULL), "true");
    CHECK_INT(l.items[1].iops, 0);
    /* Another response is not a volume list. */
    CHECK(ec2_create_volume_parse(&a, root, &l.items[0]) == ERR_PARSE);
    static const char created[] = "<CreateVolumeResponse><volumeId>vol-9</volumeId><status>creating</status>"
                                  "<size>8</size></CreateVolumeResponse>";
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(created), NULL, &root));
    struct ec2_volume nv;
    REQUIRE_OK(ec2_create_volume_parse(&a, root, &nv));
    CHECK_SPAN(nv.id, "vol-9");
    static const char no_id[] = "<CreateVolumeResponse><status>creating</status></CreateVolumeResponse>";
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(no_id), NULL, &root));
    CHECK(ec2_create_volume_parse(&a, root, &nv) == ERR_PARSE);
    arena_free(&a);
}

TEST(ec2_volume_first_available_zone) {
    struct arena a;
    arena_init(&a, 0);
    static const char zones[] = "<DescribeAvailabilityZonesResponse><availabilityZoneInfo>"
                                "<item><zoneName>us-east-1c</zoneName><zoneState>available</zoneState></item>"
                                "<item><zoneName>us-east-1a</zoneName><zoneState>impaired</zoneState></item>"
                                "<item><zoneName>us-east-1b</zoneName><zoneState>available</zoneState></item>"
                                "</availabilityZoneInfo></DescribeAvailabilityZonesResponse>";
    const struct xml_node *root = NULL;
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(zones), NULL, &root));
    struct span z;
    REQUIRE_OK(ec2_first_available_zone_parse(&a, root, &z));
    CHECK_SPAN(z, "us-east-1b");
    static const char none[] = "<DescribeAvailabilityZonesResponse><availabilityZoneInfo/>"
                               "</DescribeAvailabilityZonesResponse>";
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(none), NULL, &root));
    CHECK(ec2_first_available_zone_parse(&a, root, &z) == ERR_NOT_FOUND);
    arena_free(&a);
}

TEST(ec2_volume_requests) {
    struct arena a;
    arena_init(&a, 0);
    struct query_params q;
    query_init(&q, &a);
    struct ec2_tag tags[] = { { SPAN_LIT("SmartVault:Drill"), SPAN_LIT("true") } };
    struct ec2_volume_spec spec = { .snapshot_id = SPAN_LIT("snap-1"),
                                    .availability_zone = SPAN_LIT("us-east-1a"),
                                    .volume_type = SPAN_LIT("gp3"),
                                    .iops = 4000,
                                    .encrypted = true,
                                    .tags = tags,
                                    .ntags = 1 };
    ec2_create_volume_request(&q, &spec);
    CHECK_SPAN(query_get(&q, "SnapshotId"), "snap-1");
    CHECK_SPAN(query_get(&q, "AvailabilityZone"), "us-east-1a");
    CHECK_SPAN(query_get(&q, "Iops"), "4000");
    CHECK_INT(query_get(&q, "Size").n, 0); /* not given: the snapshot's size */
    CHECK_INT(query_get(&q, "Throughput").n, 0);
    CHECK_SPAN(query_get(&q, "Encrypted"), "true");
    CHECK_SPAN(query_get(&q, "TagSpecification.1.ResourceType"), "volume");
    CHECK_SPAN(query_get(&q, "TagSpecification.1.Tag.1.Key"), "SmartVault:Drill");
    query_init(&q, &a);
    struct span ids[] = { SPAN_LIT("snap-1"), SPAN_LIT("snap-2") };
    struct ec2_tag dev = { SPAN_LIT("SmartVault:Device"), SPAN_LIT("/dev/sdf") };
    ec2_create_tags_request(&q, ids, 2, &dev, 1);
    CHECK_SPAN(query_get(&q, "ResourceId.2"), "snap-2");
    CHECK_SPAN(query_get(&q, "Tag.1.Value"), "/dev/sdf");
    query_init(&q, &a);
    ec2_describe_volumes_request(&q, "volume-id", ids, 2, 500, SPAN_LIT("t"));
    CHECK_SPAN(query_get(&q, "Filter.1.Name"), "volume-id");
    CHECK_SPAN(query_get(&q, "Filter.1.Value.2"), "snap-2");
    CHECK_SPAN(query_get(&q, "NextToken"), "t");
    query_init(&q, &a);
    ec2_attach_volume_request(&q, SPAN_LIT("vol-1"), SPAN_LIT("i-1"), SPAN_LIT("/dev/sdf"));
    CHECK_SPAN(query_get(&q, "Device"), "/dev/sdf");
    query_init(&q, &a);
    ec2_describe_instances_by_id_request(&q, ids, 1);
    CHECK_SPAN(query_get(&q, "Filter.1.Name"), "instance-id");
    arena_free(&a);
}
