/*
 * endpoint.c - `smartvault debug endpoint SERVICE [--region R] [--bucket B]`: endpoint resolution from outside
 * (the resolved URL, Host, signing name and region), asking instance metadata for the region when none is set.
 */
#include "debug/debug.h"

#include "aws/endpoint.h"
#include "aws/imds.h"
#include "aws/region.h"
#include "base/err.h"
#include "base/span.h"
#include "base/time.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `SERVICE [--region R] [--bucket B]`; false for anything else. */
static bool
s_endpoint_args(int argc, char **argv, enum endpoint_service *svc, const char **region, const char **bucket) {
    bool ok = argc >= 1 && endpoint_service_parse(span_from_cstr(argv[0]), svc);
    for (int i = 1; ok && i < argc; i += 2) {
        ok = i + 1 < argc && (strcmp(argv[i], "--region") == 0 || strcmp(argv[i], "--bucket") == 0);
        if (ok) {
            *(argv[i][2] == 'r' ? region : bucket) = argv[i + 1];
        }
    }
    return ok;
}

/* Exit 2 for anything it refuses. */
int debug_endpoint(int argc, char **argv) {
    enum endpoint_service svc;
    const char *region = debug_cfg()->source_region;
    const char *bucket = NULL;
    if (!s_endpoint_args(argc, argv, &svc, &region, &bucket)) {
        fprintf(stderr, "smartvault: usage: smartvault debug endpoint SERVICE [--region R] [--bucket B]\n");
        return EXIT_USAGE;
    }
    /* No region configured: ask instance metadata, as a task on EC2 would. */
    char imds_region[REGION_MAX + 1];
    struct http_client_options hopt = { .ca_file = debug_ca_file() };
    struct http_client *http = NULL;
    if (region == NULL && http_client_new(&hopt, &http) == ERR_OK) {
        enum err e = imds_discover_region(&debug_cfg()->env, http, time_wall_ms() / 1000, imds_region);
        http_client_free(http);
        if (e != ERR_OK) {
            fprintf(stderr, "smartvault: no region: %s\n", err_last()->msg);
            return e == ERR_CONFIG ? EXIT_USAGE : EXIT_CANNOT_START;
        }
        region = imds_region;
        printf("region_source=imds\n");
    }
    struct endpoint ep;
    if (endpoint_resolve(&debug_cfg()->env, svc, region, bucket, &ep) != ERR_OK) {
        fprintf(stderr, "smartvault: endpoint: %s\n", err_last()->msg);
        return EXIT_USAGE;
    }
    printf(
      "url=%s\nhost=%s\nsigning_name=%s\nsigning_region=%s\nsource=%s\npath_style=%s\n",
      ep.base_url,
      ep.host_header,
      ep.signing_name,
      ep.signing_region,
      ep.source,
      ep.s3_path_style ? "yes" : "no");
    return EXIT_OK;
}
