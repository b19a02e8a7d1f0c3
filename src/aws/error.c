/*
 * error.c - AWS error responses (Query, EC2, S3 REST-XML, JSON 1.0, or a bare status) into one struct aws_error.
 *
 * The shapes are told apart by the body's first character and, for XML, by the root element's name; the fields
 * are then read with the codec/ readers and copied, bounded, into the struct. Everything that can go wrong with
 * the body (not XML, not JSON, truncated, too large, no code) ends in the same place: a code derived from the
 * HTTP status, so callers always get something to log and to classify.
 *
 * What it does not do: decide about retries (net/retry), clock-skew correction (it only reports <ServerTime>),
 * or map errors to exit codes (main.c). It also does not read HTTP headers itself; the caller passes the three
 * that matter.
 */
#include "aws/error.h"

#include "base/time.h"
#include "codec/json.h"

#include <stdio.h>
#include <string.h>

/* Error documents are small and shallow; tighter limits than the readers' defaults keep a hostile body cheap. */
static const struct xml_limits s_xml_limits = {
    .max_doc_bytes = AWS_ERROR_MAX_BODY_BYTES,
    .max_depth = 16,
    .max_nodes = 4096,
};
static const struct json_limits s_json_limits = {
    .max_doc_bytes = AWS_ERROR_MAX_BODY_BYTES,
    .max_depth = 16,
    .max_nodes = 4096,
};

/*
 * Copies s into dst (capacity cap, NUL included), cut at a UTF-8 character boundary if it does not fit, and
 * stopping at an embedded NUL (a JSON "\u0000"), which a C string cannot carry.
 */
static void s_copy(char *dst, size_t cap, struct span s) {
    size_t n = s.n < cap - 1 ? s.n : cap - 1;
    if (n < s.n) {
        /* Back up over continuation bytes so a multi-byte character is never split. */
        while (n > 0 && ((unsigned char) s.p[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    if (n > 0) {
        memcpy(dst, s.p, n);
    }
    dst[n] = '\0';
}

static bool s_is_2xx(int status) {
    return status >= 200 && status < 300;
}

/*
 * JSON protocols name the error type as a Smithy shape id, possibly with a namespace and a URL:
 * "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "ValidationException:http://internal...".
 * Every SDK sanitises it the same way: "If a : character is present, then take only the contents before the
 * first : character in the value. If a # character is present, then take only the contents after the first #
 * character in the value." (Smithy awsJson1_0 protocol, "Operation error serialization"). A header may also
 * carry several comma-separated values; the first is the one.
 */
static struct span s_sanitize_type(struct span t) {
    struct span head, tail;
    t = span_trim(t);
    (void) span_split(t, ',', &head, &tail);
    (void) span_split(head, ':', &head, &tail);
    if (span_split(head, '#', &tail, &t)) {
        head = t;
    }
    return span_trim(head);
}

/* Request id: the body's, else x-amzn-RequestId, else x-amz-request-id. */
static void s_fill_request_id(struct aws_error *out, const struct aws_error_response *resp, struct span from_body) {
    struct span id = span_trim(from_body);
    if (id.n == 0) {
        id = span_trim(resp->amzn_request_id);
    }
    if (id.n == 0) {
        id = span_trim(resp->amz_request_id);
    }
    s_copy(out->request_id, sizeof(out->request_id), id);
}

/* The class to return once out is filled. */
static enum err s_classify(const struct aws_error *out) {
    if (out->code[0] == '\0') {
        return ERR_OK;
    }
    if (aws_error_is_auth(aws_error_code(out))) {
        return ERR_AUTH;
    }
    return out->code_from_status ? ERR_HTTP : ERR_AWS;
}

/* Sets the code from the status unless the response gave one. A 2xx without an error document is no error. */
static void s_finish_code(struct aws_error *out) {
    if (out->code[0] != '\0') {
        return;
    }
    if (out->shape == AWS_ERROR_SHAPE_NONE && s_is_2xx(out->http_status)) {
        return;
    }
    char code[AWS_ERROR_STATUS_CODE_BYTES];
    aws_error_code_for_status(out->http_status, code);
    s_copy(out->code, sizeof(out->code), span_from_cstr(code));
    out->code_from_status = true;
}

static void s_init(struct aws_error *out, const struct aws_error_response *resp) {
    memset(out, 0, sizeof(*out));
    out->http_status = resp->http_status;
}

/* Reads an XML <Error> element (the same fields in all three XML shapes). */
static void s_fill_from_error_element(struct aws_error *out, const struct xml_node *error) {
    s_copy(out->code, sizeof(out->code), span_trim(xml_child_text(error, "Code")));
    s_copy(out->message, sizeof(out->message), span_trim(xml_child_text(error, "Message")));
    const struct xml_node *server_time = xml_child(error, "ServerTime");
    if (server_time) {
        int64_t t = 0;
        struct span s = span_trim(xml_text(server_time));
        if (time_parse_rfc3339(s, &t) == ERR_OK || time_parse_amz(s, &t) == ERR_OK) {
            out->has_server_time = true;
            out->server_time_s = t;
        }
    }
}

static enum err s_from_xml(const struct aws_error_response *resp, const struct xml_node *root, struct aws_error *out) {
    struct span request_id = SPAN_NULL;
    if (root && span_eq_cstr(root->name, "ErrorResponse")) {
        out->shape = AWS_ERROR_SHAPE_QUERY;
        /* moto (and some older endpoints) nest it as ErrorResponse/Errors/Error: read either. */
        const struct xml_node *error = xml_child(root, "Error");
        s_fill_from_error_element(out, error ? error : xml_path(root, "Errors/Error"));
        request_id = xml_child_text(root, "RequestId");
    } else if (root && span_eq_cstr(root->name, "Response") && xml_child(root, "Errors")) {
        out->shape = AWS_ERROR_SHAPE_EC2;
        /* EC2 can list several errors; the first is the one every SDK reports. */
        s_fill_from_error_element(out, xml_path(root, "Errors/Error"));
        request_id = xml_child_text(root, "RequestID");
    } else if (root && span_eq_cstr(root->name, "Error")) {
        out->shape = AWS_ERROR_SHAPE_S3;
        s_fill_from_error_element(out, root);
        request_id = xml_child_text(root, "RequestId");
    }
    /* A 2xx body that is not an error document is a success, whatever headers came with it. */
    if (out->shape == AWS_ERROR_SHAPE_NONE && s_is_2xx(out->http_status)) {
        return ERR_OK;
    }
    s_fill_request_id(out, resp, request_id);
    s_finish_code(out);
    return s_classify(out);
}

enum err aws_error_from_xml(const struct aws_error_response *resp, const struct xml_node *root, struct aws_error *out) {
    s_init(out, resp);
    return s_from_xml(resp, root, out);
}

static void s_from_json(const struct aws_error_response *resp, const struct json_value *doc, struct aws_error *out) {
    struct span type = span_trim(resp->amzn_error_type);
    if (type.n == 0) {
        type = json_get_string(doc, "code");
    }
    if (type.n == 0) {
        type = json_get_string(doc, "__type");
    }
    type = s_sanitize_type(type);
    struct span message = json_get_string(doc, "message");
    if (message.n == 0) {
        message = json_get_string(doc, "Message");
    }
    if (message.n == 0) {
        message = json_get_string(doc, "errorMessage");
    }
    if (type.n > 0 || json_is(doc, JSON_OBJECT)) {
        out->shape = AWS_ERROR_SHAPE_JSON;
    }
    s_copy(out->code, sizeof(out->code), type);
    s_copy(out->message, sizeof(out->message), span_trim(message));
}

enum err aws_error_parse(struct arena *scratch, const struct aws_error_response *resp, struct aws_error *out) {
    s_init(out, resp);
    struct span body = span_trim(resp->body);
    char first = body.n > 0 ? body.p[0] : '\0';
    if (body.n > AWS_ERROR_MAX_BODY_BYTES) {
        first = '\0';
    }
    struct arena_mark mark = arena_mark(scratch);
    enum err e = ERR_OK;
    if (first == '<') {
        const struct xml_node *root = NULL;
        if (xml_parse(scratch, resp->body, &s_xml_limits, &root) != ERR_OK) {
            root = NULL;
        }
        e = s_from_xml(resp, root, out);
        arena_rewind(scratch, mark);
        return e;
    }
    if (s_is_2xx(resp->http_status)) {
        /* Only XML shapes turn up inside a 2xx (S3's CopyObject); JSON services use error statuses. */
        arena_rewind(scratch, mark);
        return ERR_OK;
    }
    const struct json_value *doc = NULL;
    if (first == '{' && json_parse(scratch, resp->body, &s_json_limits, &doc) != ERR_OK) {
        doc = NULL;
    }
    if (doc || span_trim(resp->amzn_error_type).n > 0) {
        s_from_json(resp, doc, out);
    }
    arena_rewind(scratch, mark);
    s_fill_request_id(out, resp, SPAN_NULL);
    s_finish_code(out);
    return s_classify(out);
}

struct span aws_error_code(const struct aws_error *e) {
    return span_from_cstr(e->code);
}

bool aws_error_is_auth(struct span code) {
    static const char *const codes[] = {
        "AccessDenied",
        "AccessDeniedException",
        "AuthFailure",
        "AuthorizationError",
        "ExpiredToken",
        "ExpiredTokenException",
        "Forbidden",
        "IncompleteSignature",
        "IncompleteSignatureException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "InvalidIdentityToken",
        "InvalidSignatureException",
        "InvalidToken",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "NotAuthorized",
        "SignatureDoesNotMatch",
        "Unauthorized",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (span_eq_cstr(code, codes[i])) {
            return true;
        }
    }
    return false;
}

void aws_error_code_for_status(int http_status, char out[AWS_ERROR_STATUS_CODE_BYTES]) {
    static const struct {
        int status;
        const char *code;
    } table[] = {
        { 301, "MovedPermanently" },
        { 302, "Found" },
        { 304, "NotModified" },
        { 307, "TemporaryRedirect" },
        { 400, "BadRequest" },
        { 401, "Unauthorized" },
        { 403, "Forbidden" },
        { 404, "NotFound" },
        { 405, "MethodNotAllowed" },
        { 408, "RequestTimeout" },
        { 409, "Conflict" },
        { 411, "LengthRequired" },
        { 412, "PreconditionFailed" },
        { 413, "RequestEntityTooLarge" },
        { 416, "RequestedRangeNotSatisfiable" },
        { 429, "TooManyRequests" },
        { 500, "InternalError" },
        { 501, "NotImplemented" },
        { 502, "BadGateway" },
        { 503, "ServiceUnavailable" },
        { 504, "GatewayTimeout" },
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].status == http_status) {
            snprintf(out, AWS_ERROR_STATUS_CODE_BYTES, "%s", table[i].code);
            return;
        }
    }
    snprintf(out, AWS_ERROR_STATUS_CODE_BYTES, "%d", http_status);
}
