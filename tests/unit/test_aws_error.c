/*
 * test_aws_error.c - aws/error: every document shape AWS uses, bodiless responses, S3's 200-with-<Error>, broken
 * bodies, truncation of long fields, and the auth and status tables.
 */
#include "harness.h"

#include "aws/error.h"
#include "base/arena.h"
#include "base/buf.h"
#include "codec/xml.h"

#include <stdio.h>

TEST(aws_error_parse_table) {
    static const struct {
        int status;
        const char *amzn_request_id;
        const char *amz_request_id;
        const char *error_type;
        const char *body;
        enum err want;
        enum aws_error_shape shape;
        const char *code;
        const char *message;
        const char *request_id;
        bool code_from_status;
    } cases[] = {
        /* Query (STS): the shape from the STS API Reference's "Common Errors". */
        { 403,
          "",
          "",
          "",
          "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
          "  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidClientTokenId</Code>\n"
          "    <Message>The security token included in the request is invalid.</Message>\n  </Error>\n"
          "  <RequestId>4c5d0ae8-0b67-4c87-9d4e-example</RequestId>\n</ErrorResponse>\n",
          ERR_AUTH,
          AWS_ERROR_SHAPE_QUERY,
          "InvalidClientTokenId",
          "The security token included in the request is invalid.",
          "4c5d0ae8-0b67-4c87-9d4e-example",
          false },
        /* Query (SNS) throttling; the header id loses to the body's. */
        { 400,
          "hdr-id",
          "",
          "",
          "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
          "<RequestId>body-id</RequestId></ErrorResponse>",
          ERR_AWS,
          AWS_ERROR_SHAPE_QUERY,
          "Throttling",
          "Rate exceeded",
          "body-id",
          false },
        /* Query as moto (and some older endpoints) write it: ErrorResponse/Errors/Error. */
        { 403,
          "",
          "",
          "",
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse>\n  <Errors>\n    <Error>\n"
          "      <Code>SignatureDoesNotMatch</Code>\n      <Message><![CDATA[no match]]></Message>\n"
          "    </Error>\n  </Errors>\n  <RequestId>RID1</RequestId>\n</ErrorResponse>",
          ERR_AUTH,
          AWS_ERROR_SHAPE_QUERY,
          "SignatureDoesNotMatch",
          "no match",
          "RID1",
          false },
        /* EC2. */
        { 400,
          "",
          "",
          "",
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>InvalidSnapshot.NotFound</Code>"
          "<Message>The snapshot 'snap-1' does not exist.</Message></Error></Errors>"
          "<RequestID>ec2-req-1</RequestID></Response>",
          ERR_AWS,
          AWS_ERROR_SHAPE_EC2,
          "InvalidSnapshot.NotFound",
          "The snapshot 'snap-1' does not exist.",
          "ec2-req-1",
          false },
        { 401,
          "",
          "",
          "",
          "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided "
          "access credentials</Message></Error></Errors><RequestID>r</RequestID></Response>",
          ERR_AUTH,
          AWS_ERROR_SHAPE_EC2,
          "AuthFailure",
          "AWS was not able to validate the provided access credentials",
          "r",
          false },
        /* EC2 with two errors: the first is reported. */
        { 400,
          "",
          "",
          "",
          "<Response><Errors><Error><Code>First</Code><Message>1</Message></Error>"
          "<Error><Code>Second</Code><Message>2</Message></Error></Errors><RequestID>r2</RequestID></Response>",
          ERR_AWS,
          AWS_ERROR_SHAPE_EC2,
          "First",
          "1",
          "r2",
          false },
        { 503,
          "",
          "",
          "",
          "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
          "</Error></Errors><RequestID>r3</RequestID></Response>",
          ERR_AWS,
          AWS_ERROR_SHAPE_EC2,
          "RequestLimitExceeded",
          "Request limit exceeded.",
          "r3",
          false },
        /* S3 REST-XML. */
        { 404,
          "",
          "4442587FB7D0A2F9",
          "",
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
          "<Message>The resource you requested does not exist</Message><Resource>/vault/k</Resource>"
          "<RequestId>4442587FB7D0A2F9</RequestId></Error>",
          ERR_AWS,
          AWS_ERROR_SHAPE_S3,
          "NoSuchKey",
          "The resource you requested does not exist",
          "4442587FB7D0A2F9",
          false },
        { 403,
          "",
          "",
          "",
          "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match"
          "</Message><RequestId>s3r</RequestId><HostId>h</HostId></Error>",
          ERR_AUTH,
          AWS_ERROR_SHAPE_S3,
          "SignatureDoesNotMatch",
          "The request signature we calculated does not match",
          "s3r",
          false },
        /* S3 CopyObject: 200 with an <Error>, after keep-alive whitespace. */
        { 200,
          "",
          "cp-hdr",
          "",
          "\n \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
          "<Message>We encountered an internal error. Please try again.</Message></Error>",
          ERR_AWS,
          AWS_ERROR_SHAPE_S3,
          "InternalError",
          "We encountered an internal error. Please try again.",
          "cp-hdr",
          false },
        /* S3 CopyObject success: not an error. */
        { 200,
          "",
          "cp-ok",
          "",
          "<CopyObjectResult><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>\"e\"</ETag>"
          "</CopyObjectResult>",
          ERR_OK,
          AWS_ERROR_SHAPE_NONE,
          "",
          "",
          "",
          false },
        { 200, "", "", "", "", ERR_OK, AWS_ERROR_SHAPE_NONE, "", "", "", false },
        { 204, "", "", "", "{\"__type\":\"X\"}", ERR_OK, AWS_ERROR_SHAPE_NONE, "", "", "", false },
        /* HEAD responses have no body: the code comes from the status. */
        { 404, "", "head-404", "", "", ERR_HTTP, AWS_ERROR_SHAPE_NONE, "NotFound", "", "head-404", true },
        { 403, "", "head-403", "", "", ERR_AUTH, AWS_ERROR_SHAPE_NONE, "Forbidden", "", "head-403", true },
        { 301, "", "", "", "", ERR_HTTP, AWS_ERROR_SHAPE_NONE, "MovedPermanently", "", "", true },
        { 503, "", "", "", "", ERR_HTTP, AWS_ERROR_SHAPE_NONE, "ServiceUnavailable", "", "", true },
        { 418, "", "", "", "", ERR_HTTP, AWS_ERROR_SHAPE_NONE, "418", "", "", true },
        /* Bodies that are not AWS documents. */
        { 502,
          "",
          "",
          "",
          "<html><body>Bad Gateway</body></html>",
          ERR_HTTP,
          AWS_ERROR_SHAPE_NONE,
          "BadGateway",
          "",
          "",
          true },
        { 500, "", "", "", "<Error><Code>Internal", ERR_HTTP, AWS_ERROR_SHAPE_NONE, "InternalError", "", "", true },
        { 504, "", "", "", "upstream timed out", ERR_HTTP, AWS_ERROR_SHAPE_NONE, "GatewayTimeout", "", "", true },
        { 400,
          "",
          "",
          "",
          "<!DOCTYPE x><Error><Code>X</Code></Error>",
          ERR_HTTP,
          AWS_ERROR_SHAPE_NONE,
          "BadRequest",
          "",
          "",
          true },
        /* An <Error> without a <Code>: keep the message, take the code from the status. */
        { 409,
          "",
          "",
          "",
          "<Error><Message>busy</Message><RequestId>q</RequestId></Error>",
          ERR_HTTP,
          AWS_ERROR_SHAPE_S3,
          "Conflict",
          "busy",
          "q",
          true },
        /* JSON 1.0 (DynamoDB). */
        { 400,
          "DDBREQ1",
          "",
          "",
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
          "\"message\":\"Requested resource not found\"}",
          ERR_AWS,
          AWS_ERROR_SHAPE_JSON,
          "ResourceNotFoundException",
          "Requested resource not found",
          "DDBREQ1",
          false },
        { 400,
          "DDBREQ2",
          "",
          "",
          "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\","
          "\"Message\":\"The security token included in the request is invalid.\"}",
          ERR_AUTH,
          AWS_ERROR_SHAPE_JSON,
          "UnrecognizedClientException",
          "The security token included in the request is invalid.",
          "DDBREQ2",
          false },
        { 400,
          "",
          "",
          "",
          "{\"__type\":\"ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/\","
          "\"message\":\"1 validation error\"}",
          ERR_AWS,
          AWS_ERROR_SHAPE_JSON,
          "ValidationException",
          "1 validation error",
          "",
          false },
        { 400,
          "",
          "",
          "",
          "{\"__type\":\"aws.protocoltests#FooError:http://x/y#z\"}",
          ERR_AWS,
          AWS_ERROR_SHAPE_JSON,
          "FooError",
          "",
          "",
          false },
        /* The header wins over the body; "code" wins over "__type". */
        { 400,
          "id",
          "",
          "ThrottlingException:http://internal.amazon.com/coral/",
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#Other\",\"message\":\"slow down\"}",
          ERR_AWS,
          AWS_ERROR_SHAPE_JSON,
          "ThrottlingException",
          "slow down",
          "id",
          false },
        { 400,
          "",
          "",
          "",
          "{\"code\":\"ConditionalCheckFailedException\",\"__type\":\"x#Other\"}",
          ERR_AWS,
          AWS_ERROR_SHAPE_JSON,
          "ConditionalCheckFailedException",
          "",
          "",
          false },
        { 500,
          "hid",
          "",
          "InternalServerError",
          "",
          ERR_AWS,
          AWS_ERROR_SHAPE_JSON,
          "InternalServerError",
          "",
          "hid",
          false },
        { 400, "", "", "A, B", "", ERR_AWS, AWS_ERROR_SHAPE_JSON, "A", "", "", false },
        /* A JSON object without a type, a non-string type, and a broken body. */
        { 500,
          "",
          "",
          "",
          "{\"message\":\"boom\"}",
          ERR_HTTP,
          AWS_ERROR_SHAPE_JSON,
          "InternalError",
          "boom",
          "",
          true },
        { 400, "", "", "", "{\"__type\":7}", ERR_HTTP, AWS_ERROR_SHAPE_JSON, "BadRequest", "", "", true },
        { 400, "", "", "", "{\"__type\":\"Trunc", ERR_HTTP, AWS_ERROR_SHAPE_NONE, "BadRequest", "", "", true },
        { 400, "", "", "", "[\"__type\"]", ERR_HTTP, AWS_ERROR_SHAPE_NONE, "BadRequest", "", "", true },
        /* Request id fallbacks: x-amzn-RequestId, then x-amz-request-id. */
        { 500, "a-id", "b-id", "", "", ERR_HTTP, AWS_ERROR_SHAPE_NONE, "InternalError", "", "a-id", true },
        { 500, " ", "b-id", "", "", ERR_HTTP, AWS_ERROR_SHAPE_NONE, "InternalError", "", "b-id", true },
    };
    struct arena a;
    arena_init(&a, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct aws_error_response resp = {
            .http_status = cases[i].status,
            .body = span_from_cstr(cases[i].body),
            .amzn_request_id = span_from_cstr(cases[i].amzn_request_id),
            .amz_request_id = span_from_cstr(cases[i].amz_request_id),
            .amzn_error_type = span_from_cstr(cases[i].error_type),
        };
        struct aws_error e;
        size_t before = a.used_total;
        bool ok = CHECK_INT(aws_error_parse(&a, &resp, &e), cases[i].want);
        ok &= CHECK_INT(e.shape, cases[i].shape);
        ok &= CHECK_STR(e.code, cases[i].code);
        ok &= CHECK_STR(e.message, cases[i].message);
        ok &= CHECK_STR(e.request_id, cases[i].request_id);
        ok &= CHECK(e.code_from_status == cases[i].code_from_status);
        ok &= CHECK_INT(e.http_status, cases[i].status);
        ok &= CHECK_INT(a.used_total, before); /* the scratch arena is rewound */
        if (!ok) {
            harness_note("case %zu", i);
        }
    }
    arena_free(&a);
}

TEST(aws_error_s3_server_time) {
    struct arena a;
    arena_init(&a, 0);
    struct aws_error_response resp = {
        .http_status = 403,
        .body = SPAN_LIT(
          "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current "
          "time is too large.</Message><RequestTime>20240101T000000Z</RequestTime>"
          "<ServerTime>2024-01-01T00:20:00Z</ServerTime><MaxAllowedSkewMilliseconds>900000"
          "</MaxAllowedSkewMilliseconds><RequestId>sk</RequestId></Error>"),
    };
    struct aws_error e;
    CHECK_INT(aws_error_parse(&a, &resp, &e), ERR_AWS);
    CHECK_STR(e.code, "RequestTimeTooSkewed");
    CHECK(e.has_server_time);
    CHECK(e.server_time_s == 1704068400);
    /* A <ServerTime> that is not a time is ignored. */
    resp.body = SPAN_LIT("<Error><Code>RequestTimeTooSkewed</Code><ServerTime>soon</ServerTime></Error>");
    CHECK_INT(aws_error_parse(&a, &resp, &e), ERR_AWS);
    CHECK(!e.has_server_time);
    /* The compact form is accepted too. */
    resp.body = SPAN_LIT("<Error><Code>RequestTimeTooSkewed</Code><ServerTime>20240101T002000Z</ServerTime></Error>");
    CHECK_INT(aws_error_parse(&a, &resp, &e), ERR_AWS);
    CHECK(e.has_server_time && e.server_time_s == 1704068400);
    arena_free(&a);
}

TEST(aws_error_long_fields_are_cut_on_character_boundaries) {
    struct buf b;
    buf_init(&b, BUF_MAX_REQUEST);
    buf_append_cstr(&b, "<Error><Code>");
    for (size_t i = 0; i < AWS_ERROR_CODE_MAX + 10; i++) {
        buf_append_char(&b, 'C');
    }
    buf_append_cstr(&b, "</Code><Message>x");
    for (size_t i = 0; i < AWS_ERROR_MESSAGE_MAX; i++) {
        buf_append_cstr(&b, "\xc3\xa9"); /* 2 bytes each: the cut falls inside one */
    }
    buf_append_cstr(&b, "</Message><RequestId>");
    for (size_t i = 0; i < AWS_ERROR_REQUEST_ID_MAX * 2; i++) {
        buf_append_char(&b, 'r');
    }
    buf_append_cstr(&b, "</RequestId></Error>");
    REQUIRE_OK(buf_status(&b));
    struct arena a;
    arena_init(&a, 0);
    struct aws_error_response resp = { .http_status = 400, .body = buf_span(&b) };
    struct aws_error e;
    CHECK_INT(aws_error_parse(&a, &resp, &e), ERR_AWS);
    CHECK_INT(strlen(e.code), AWS_ERROR_CODE_MAX);
    CHECK_INT(strlen(e.request_id), AWS_ERROR_REQUEST_ID_MAX);
    size_t mlen = strlen(e.message);
    CHECK(mlen <= AWS_ERROR_MESSAGE_MAX && mlen >= AWS_ERROR_MESSAGE_MAX - 1);
    CHECK(e.message[0] == 'x');
    CHECK((mlen - 1) % 2 == 0); /* whole characters only */
    /* A NUL in a JSON message ends the C string there. */
    resp.body = SPAN_LIT("{\"__type\":\"T\",\"message\":\"before\\u0000after\"}");
    CHECK_INT(aws_error_parse(&a, &resp, &e), ERR_AWS);
    CHECK_STR(e.message, "before");
    arena_free(&a);
    buf_free(&b);
}

TEST(aws_error_oversized_body_is_not_parsed) {
    struct buf b;
    buf_init(&b, BUF_MAX_RESPONSE);
    buf_append_cstr(&b, "<Error><Code>Big</Code><Message>");
    while (b.len <= AWS_ERROR_MAX_BODY_BYTES) {
        buf_append_cstr(&b, "padding padding padding ");
    }
    buf_append_cstr(&b, "</Message></Error>");
    REQUIRE_OK(buf_status(&b));
    struct arena a;
    arena_init(&a, 0);
    struct aws_error_response resp = { .http_status = 500, .body = buf_span(&b) };
    struct aws_error e;
    CHECK_INT(aws_error_parse(&a, &resp, &e), ERR_HTTP);
    CHECK_STR(e.code, "InternalError");
    arena_free(&a);
    buf_free(&b);
}

TEST(aws_error_from_parsed_xml) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root = NULL;
    REQUIRE_OK(xml_parse(&a, SPAN_LIT("<Error><Code>SlowDown</Code><RequestId>x1</RequestId></Error>"), NULL, &root));
    struct aws_error_response resp = { .http_status = 200 };
    struct aws_error e;
    CHECK_INT(aws_error_from_xml(&resp, root, &e), ERR_AWS);
    CHECK_STR(e.code, "SlowDown");
    CHECK_STR(e.request_id, "x1");
    CHECK(aws_error_code(&e).n == 8);
    REQUIRE_OK(xml_parse(&a, SPAN_LIT("<CompleteMultipartUploadResult/>"), NULL, &root));
    CHECK_INT(aws_error_from_xml(&resp, root, &e), ERR_OK);
    CHECK_STR(e.code, "");
    CHECK_INT(aws_error_from_xml(&resp, NULL, &e), ERR_OK);
    resp.http_status = 500;
    CHECK_INT(aws_error_from_xml(&resp, NULL, &e), ERR_HTTP);
    CHECK_STR(e.code, "InternalError");
    arena_free(&a);
}

TEST(aws_error_is_auth_table) {
    static const struct {
        const char *code;
        bool auth;
    } cases[] = {
        { "AuthFailure", true },
        { "SignatureDoesNotMatch", true },
        { "InvalidClientTokenId", true },
        { "UnrecognizedClientException", true },
        { "InvalidAccessKeyId", true },
        { "AccessDenied", true },
        { "AccessDeniedException", true },
        { "UnauthorizedOperation", true },
        { "ExpiredToken", true },
        { "ExpiredTokenException", true },
        { "IncompleteSignature", true },
        { "MissingAuthenticationToken", true },
        { "InvalidSignatureException", true },
        { "Forbidden", true },
        { "accessdenied", false },
        { "AccessDeniedX", false },
        { "Throttling", false },
        { "RequestTimeTooSkewed", false },
        { "InvalidSnapshot.NotFound", false },
        { "", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!CHECK(aws_error_is_auth(span_from_cstr(cases[i].code)) == cases[i].auth)) {
            harness_note("%s", cases[i].code);
        }
    }
}

TEST(aws_error_code_for_status_table) {
    static const struct {
        int status;
        const char *code;
    } cases[] = {
        { 400, "BadRequest" },
        { 401, "Unauthorized" },
        { 403, "Forbidden" },
        { 404, "NotFound" },
        { 405, "MethodNotAllowed" },
        { 409, "Conflict" },
        { 412, "PreconditionFailed" },
        { 429, "TooManyRequests" },
        { 500, "InternalError" },
        { 502, "BadGateway" },
        { 503, "ServiceUnavailable" },
        { 504, "GatewayTimeout" },
        { 599, "599" },
        { 0, "0" },
        { -1, "-1" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[AWS_ERROR_STATUS_CODE_BYTES];
        aws_error_code_for_status(cases[i].status, out);
        CHECK_STR(out, cases[i].code);
    }
}
