/*
 * error.h - one typed error from an AWS error response, whatever the protocol.
 *
 * AWS reports errors in four document shapes (plus none at all):
 *
 *   Query (STS, SNS, CloudWatch)   <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
 *                                  (moto writes <ErrorResponse><Errors><Error>...; both are read)
 *   EC2                            <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
 *   S3 REST-XML                    <Error><Code/><Message/><RequestId/><HostId/>...</Error>
 *   JSON 1.0 (DynamoDB)            {"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
 *                                   "message":"..."} with the request id in the x-amzn-RequestId header
 *   none (S3 HEAD, proxies)        only the HTTP status: the code is derived from it (404 -> "NotFound")
 *
 * aws_error_parse() takes the status, three headers and the body, and fills one struct aws_error with the code,
 * message, request id and (for S3's RequestTimeTooSkewed) the server's time. The struct holds its own bounded
 * copies, so it outlives the response and can be logged or passed up freely.
 *
 * This module only says what the error is. Whether to retry it is decided in one place, net/retry, from
 * http_status and code; how it maps to an exit code is decided in main.c.
 */
#ifndef SV_AWS_ERROR_H
#define SV_AWS_ERROR_H

#include "base/arena.h"
#include "base/err.h"
#include "base/span.h"
#include "codec/xml.h"

#include <stdbool.h>
#include <stdint.h>

/* Longest code kept. AWS codes are identifiers under 64 bytes ("InvalidSnapshot.NotFound"); longer is cut. */
#define AWS_ERROR_CODE_MAX ((size_t) 128)
/* Longest message kept; longer messages are cut at a UTF-8 character boundary. */
#define AWS_ERROR_MESSAGE_MAX ((size_t) 512)
/* Longest request id kept (AWS ids are 36-52 bytes). */
#define AWS_ERROR_REQUEST_ID_MAX ((size_t) 128)
/* Error bodies larger than this are not parsed (the code then comes from the status): real ones are < 2 KiB. */
#define AWS_ERROR_MAX_BODY_BYTES ((size_t) 256 * 1024)

enum aws_error_shape {
    AWS_ERROR_SHAPE_NONE = 0, /* no error document: the code was derived from the HTTP status */
    AWS_ERROR_SHAPE_QUERY,    /* <ErrorResponse> */
    AWS_ERROR_SHAPE_EC2,      /* <Response><Errors> */
    AWS_ERROR_SHAPE_S3,       /* <Error> */
    AWS_ERROR_SHAPE_JSON,     /* JSON body and/or x-amzn-ErrorType header */
};

struct aws_error {
    int http_status;
    enum aws_error_shape shape;
    bool code_from_status;                         /* no code in the response: `code` was derived from http_status */
    char code[AWS_ERROR_CODE_MAX + 1];             /* e.g. "InvalidSnapshot.NotFound"; "" only for a non-error */
    char message[AWS_ERROR_MESSAGE_MAX + 1];       /* may be "" */
    char request_id[AWS_ERROR_REQUEST_ID_MAX + 1]; /* may be "" */
    bool has_server_time;
    int64_t server_time_s; /* Unix seconds: S3's <ServerTime> (RequestTimeTooSkewed), when present and valid */
};

/* What aws_error_parse looks at. Absent headers are empty spans. */
struct aws_error_response {
    int http_status;
    struct span body;
    struct span amzn_request_id; /* x-amzn-RequestId (Query, EC2, JSON protocols) */
    struct span amz_request_id;  /* x-amz-request-id (S3) */
    struct span amzn_error_type; /* x-amzn-ErrorType (JSON protocols) */
};

/*
 * Fills *out from a response and returns the class of error for the caller to propagate:
 *
 *   ERR_AUTH  the code is an authentication/authorization failure (aws_error_is_auth)
 *   ERR_AWS   AWS sent an error document with a code
 *   ERR_HTTP  no usable error document; out->code is derived from the status (out->code_from_status)
 *   ERR_OK    the status is 2xx and the body is not an error document. This is how S3 CopyObject and
 *             CompleteMultipartUpload are checked: "a 200 OK response can contain either a success or an error"
 *             (S3 API Reference, CopyObject). out->code is then "".
 *
 * The body is sniffed, not trusted to the Content-Type: '<' means XML, '{' means JSON. Headers win over the body
 * for the JSON error type (as every SDK does); the body's request id wins over the headers'. `scratch` is used to
 * parse the body and is rewound before returning. Never fails in any other way: a malformed body gives ERR_HTTP
 * with a code derived from the status.
 */
enum err aws_error_parse(struct arena *scratch, const struct aws_error_response *resp, struct aws_error *out)
  SV_MUST_CHECK;

/*
 * The same for an XML body the caller has already parsed (S3 CopyObject reads its 200 body once, then asks
 * whether `root` is an <Error>). resp->body is not read. Same return values as aws_error_parse.
 */
enum err aws_error_from_xml(const struct aws_error_response *resp, const struct xml_node *root, struct aws_error *out)
  SV_MUST_CHECK;

/* out->code as a span. */
struct span aws_error_code(const struct aws_error *e);

/*
 * True for codes that mean the request was not authenticated or not authorized: AccessDenied,
 * AccessDeniedException, AuthFailure, AuthorizationError, ExpiredToken, ExpiredTokenException,
 * IncompleteSignature, IncompleteSignatureException, InvalidAccessKeyId, InvalidClientTokenId,
 * InvalidIdentityToken, InvalidSignatureException, InvalidToken, MissingAuthenticationToken,
 * MissingAuthenticationTokenException, NotAuthorized, SignatureDoesNotMatch, UnauthorizedOperation,
 * UnrecognizedClientException, and the status-derived "Unauthorized" (401) and "Forbidden" (403: an S3 HEAD
 * that was refused). Exact, case-sensitive match.
 */
bool aws_error_is_auth(struct span code);

/*
 * The code used when a response carries none: "BadRequest" (400), "Unauthorized" (401), "Forbidden" (403),
 * "NotFound" (404), "MethodNotAllowed" (405), "Conflict" (409), "PreconditionFailed" (412), "TooManyRequests"
 * (429), "InternalError" (500), "NotImplemented" (501), "BadGateway" (502), "ServiceUnavailable" (503),
 * "GatewayTimeout" (504), ... and otherwise the status in decimal ("418"), as botocore does.
 */
#define AWS_ERROR_STATUS_CODE_BYTES ((size_t) 32)
void aws_error_code_for_status(int http_status, char out[AWS_ERROR_STATUS_CODE_BYTES]);

#endif
