/*
 * sign.c - `smartvault debug sign`: signs raw HTTP requests (the AWS SigV4 test suite's .req format) through
 * aws/sigv4 and prints each stage, so the suite and the differential test against botocore check the signer from
 * outside. It only parses arguments and prints: every signing rule lives in aws/sigv4.c.
 */
#include "debug/debug.h"

#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/span.h"
#include "base/time.h"
#include "codec/uri.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_debug_usage[] =
  "usage: smartvault debug sign [options] [FILE|-]\n"
  "\n"
  "Signs a raw HTTP request in the SigV4 test suite's .req format (FILE, '-' for stdin, or --request TEXT)\n"
  "and prints the canonical request, the string to sign and the Authorization value (or the presigned URL).\n"
  "\n"
  "  --access-key ID        access key id (default: $AWS_ACCESS_KEY_ID)\n"
  "  --secret KEY           secret access key (default: $AWS_SECRET_ACCESS_KEY)\n"
  "  --token TOKEN          session token (default: $AWS_SESSION_TOKEN when the keys come from the environment)\n"
  "  --region REGION        signing region (required)\n"
  "  --service NAME         signing name (required)\n"
  "  --time YYYYMMDDTHHMMSSZ  signing time (required; the clock is never read)\n"
  "  --s3                   S3 rules: path signed as given, X-Amz-Content-SHA256\n"
  "  --presign SECONDS      presign (query string) instead of an Authorization header\n"
  "  --payload-hash HASH    precomputed payload hash (64 hex digits or UNSIGNED-PAYLOAD)\n"
  "  --unsigned-payload     same as --payload-hash UNSIGNED-PAYLOAD\n"
  "  --scheme SCHEME        scheme of the printed presigned URL (default https)\n"
  "  --print WHAT           creq, sts, authz, url, signature, headers or all (default); one item is printed\n"
  "                         exactly, without a trailing newline\n"
  "  --request TEXT         the raw request itself instead of a file\n"
  "  --batch                read cases from stdin, one per line: space-separated, percent-encoded arguments\n"
  "                         applied over the command line's; writes one JSON object per line\n";

#define S_DEBUG_MAX_LINE_BYTES ((size_t) 4 * 1024 * 1024)
#define S_DEBUG_MAX_ARGS 64

struct s_debug_args {
    const char *access_key, *secret, *token, *region, *service, *time, *payload_hash, *print, *file, *request;
    const char *scheme;
    size_t request_len; /* --request may hold NUL bytes when it comes from a batch line */
    bool s3, batch, help, presign_set;
    uint32_t presign_expires_s;
};

static enum err
s_flag_value(int argc, char **argv, int *i, const char *flag, const char *inline_value, const char **out) {
    if (inline_value != NULL) {
        *out = inline_value;
        return ERR_OK;
    }
    ENSURE(*i + 1 < argc, ERR_INVALID, "%s needs a value", flag);
    *out = argv[++*i];
    return ERR_OK;
}

/* The flags that take a value, and where it goes. */
static const struct {
    const char *flag;
    size_t offset;
} s_value_flags[] = {
    { "--access-key", offsetof(struct s_debug_args, access_key) },
    { "--secret", offsetof(struct s_debug_args, secret) },
    { "--token", offsetof(struct s_debug_args, token) },
    { "--region", offsetof(struct s_debug_args, region) },
    { "--service", offsetof(struct s_debug_args, service) },
    { "--time", offsetof(struct s_debug_args, time) },
    { "--payload-hash", offsetof(struct s_debug_args, payload_hash) },
    { "--print", offsetof(struct s_debug_args, print) },
    { "--request", offsetof(struct s_debug_args, request) },
    { "--scheme", offsetof(struct s_debug_args, scheme) },
};

/* One option, already split into its name and its inline value (NULL without '='); *i moves past a value. */
struct s_option {
    int argc;
    char **argv;
    int *i;
    const size_t *lens;
    const char *name;
    size_t name_len;
    const char *inline_value;
};

/* A flag of s_value_flags: stores its value; *matched says whether `o->name` was one. */
static enum err s_value_flag(struct s_debug_args *a, const struct s_option *o, bool *matched) {
    *matched = false;
    for (size_t f = 0; f < sizeof(s_value_flags) / sizeof(s_value_flags[0]); f++) {
        if (strcmp(o->name, s_value_flags[f].flag) == 0) {
            const char **slot = (const char **) (void *) ((char *) a + s_value_flags[f].offset);
            TRY(s_flag_value(o->argc, o->argv, o->i, s_value_flags[f].flag, o->inline_value, slot));
            *matched = true;
            if (strcmp(o->name, "--request") == 0) {
                size_t whole = o->lens ? o->lens[*o->i] : strlen(o->argv[*o->i]);
                a->request_len = o->inline_value ? whole - o->name_len - 1 : whole;
            }
            return ERR_OK;
        }
    }
    return ERR_OK;
}

static enum err s_presign_flag(struct s_debug_args *a, const struct s_option *o) {
    const char *v = NULL;
    TRY(s_flag_value(o->argc, o->argv, o->i, "--presign", o->inline_value, &v));
    uint64_t secs = 0;
    ENSURE(
      span_to_u64(span_from_cstr(v), SIGV4_MAX_EXPIRES_S, &secs) == ERR_OK && secs > 0,
      ERR_INVALID,
      "--presign: expected seconds in 1-%u, got '%s'",
      (unsigned) SIGV4_MAX_EXPIRES_S,
      v);
    a->presign_expires_s = (uint32_t) secs;
    a->presign_set = true;
    return ERR_OK;
}

/* The flags without a value. */
static enum err s_switch_flag(struct s_debug_args *a, const struct s_option *o) {
    ENSURE(o->inline_value == NULL, ERR_INVALID, "%s takes no value", o->name);
    if (strcmp(o->name, "--s3") == 0) {
        a->s3 = true;
    } else if (strcmp(o->name, "--unsigned-payload") == 0) {
        a->payload_hash = SIGV4_UNSIGNED_PAYLOAD;
    } else if (strcmp(o->name, "--batch") == 0) {
        a->batch = true;
    } else if (strcmp(o->name, "--help") == 0) {
        a->help = true;
    } else {
        FAIL(ERR_INVALID, "unknown option '%s'", o->name);
    }
    return ERR_OK;
}

/* Parses arguments over `a`. lens[i] is the length of argv[i] (batch lines may carry NUL bytes), or lens is NULL. */
static enum err s_debug_parse(struct s_debug_args *a, int argc, char **argv, const size_t *lens) {
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0) {
            ENSURE(a->file == NULL, ERR_INVALID, "more than one request file ('%s')", arg);
            a->file = arg;
            continue;
        }
        /* "--flag=value" or "--flag value". */
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t) (eq - arg) : strlen(arg);
        ENSURE(name_len < sizeof(name), ERR_INVALID, "unknown option '%.40s...'", arg);
        memcpy(name, arg, name_len);
        name[name_len] = '\0';
        struct s_option o = { argc, argv, &i, lens, name, name_len, eq ? eq + 1 : NULL };
        bool matched = false;
        TRY(s_value_flag(a, &o, &matched));
        if (!matched) {
            TRY(strcmp(name, "--presign") == 0 ? s_presign_flag(a, &o) : s_switch_flag(a, &o));
        }
    }
    return ERR_OK;
}

/* Credentials from the flags, or from the environment as one set (as the SDKs' environment provider does). */
static enum err s_debug_credentials(const struct s_debug_args *a, struct sigv4_credentials *c) {
    const char *key = a->access_key;
    const char *secret = a->secret;
    const char *token = a->token;
    bool from_env = key == NULL && secret == NULL;
    if (key == NULL) {
        key = cfg_env_get((void *) debug_cfg(), "AWS_ACCESS_KEY_ID");
    }
    if (secret == NULL) {
        secret = cfg_env_get((void *) debug_cfg(), "AWS_SECRET_ACCESS_KEY");
    }
    if (token == NULL && from_env) {
        token = cfg_env_get((void *) debug_cfg(), "AWS_SESSION_TOKEN");
    }
    ENSURE(key != NULL && *key != '\0', ERR_INVALID, "--access-key: missing (or set AWS_ACCESS_KEY_ID)");
    ENSURE(secret != NULL && *secret != '\0', ERR_INVALID, "--secret: missing (or set AWS_SECRET_ACCESS_KEY)");
    c->access_key_id = span_from_cstr(key);
    c->secret_access_key = span_from_cstr(secret);
    c->session_token = span_from_cstr(token);
    return ERR_OK;
}

enum s_print { S_PRINT_ALL, S_PRINT_CREQ, S_PRINT_STS, S_PRINT_AUTHZ, S_PRINT_URL, S_PRINT_SIGNATURE, S_PRINT_HEADERS };

static enum err s_debug_check(const struct s_debug_args *a, enum s_print *print) {
    static const char *const names[] = {
        [S_PRINT_ALL] = "all",         [S_PRINT_CREQ] = "creq", [S_PRINT_STS] = "sts",
        [S_PRINT_AUTHZ] = "authz",     [S_PRINT_URL] = "url",   [S_PRINT_SIGNATURE] = "signature",
        [S_PRINT_HEADERS] = "headers",
    };
    *print = S_PRINT_ALL;
    if (a->print != NULL) {
        bool found = false;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !found; i++) {
            if (strcmp(a->print, names[i]) == 0) {
                *print = (enum s_print) i;
                found = true;
            }
        }
        ENSURE(found, ERR_INVALID, "--print: expected creq, sts, authz, url, signature, headers or all");
    }
    ENSURE(a->region != NULL && *a->region, ERR_INVALID, "--region: missing");
    ENSURE(a->service != NULL && *a->service, ERR_INVALID, "--service: missing");
    ENSURE(a->time != NULL, ERR_INVALID, "--time: missing (YYYYMMDDTHHMMSSZ)");
    ENSURE(
      (*print != S_PRINT_AUTHZ && *print != S_PRINT_HEADERS) || !a->presign_set,
      ERR_INVALID,
      "--print %s: a presigned request has no Authorization header (drop --presign)",
      a->print);
    ENSURE(*print != S_PRINT_URL || a->presign_set, ERR_INVALID, "--print url: needs --presign");
    if (a->payload_hash != NULL) {
        struct span h = span_from_cstr(a->payload_hash);
        ENSURE(
          sigv4_is_payload_hash(h),
          ERR_INVALID,
          "--payload-hash: expected 64 lowercase hex digits or UNSIGNED-PAYLOAD");
    }
    return ERR_OK;
}

static enum err s_read_request(const struct s_debug_args *a, FILE *in, struct buf *raw) {
    if (a->request != NULL) {
        ENSURE(a->file == NULL, ERR_INVALID, "--request: give the request either inline or as a file, not both");
        buf_append(raw, a->request, a->request_len);
        return buf_status(raw);
    }
    ENSURE(a->file != NULL, ERR_INVALID, "no request: give FILE, '-' or --request TEXT");
    if (strcmp(a->file, "-") == 0) {
        return buf_append_stream(raw, in);
    }
    FILE *f = fopen(a->file, "rb");
    ENSURE(f != NULL, ERR_INVALID, "cannot open request file '%s'", a->file);
    enum err e = buf_append_stream(raw, f);
    fclose(f);
    return e;
}

/* Signs one case: `url` receives the presigned URL when presigning. */
static enum err
s_debug_sign_one(const struct s_debug_args *a, FILE *in, struct buf *raw, struct sigv4_output *out, struct buf *url) {
    struct sigv4_credentials creds;
    TRY(s_debug_credentials(a, &creds));
    struct sigv4_options opt = {
        .region = span_from_cstr(a->region),
        .service = span_from_cstr(a->service),
        .s3 = a->s3,
        .presign_expires_s = a->presign_set ? a->presign_expires_s : 0,
    };
    ENSURE(
      time_parse_amz(span_from_cstr(a->time), &opt.time_unix_s) == ERR_OK,
      ERR_INVALID,
      "--time: expected YYYYMMDDTHHMMSSZ, got '%s'",
      a->time);
    TRY(s_read_request(a, in, raw));
    struct sigv4_raw_request r;
    TRY(sigv4_raw_request_parse(buf_span(raw), &r));
    struct sigv4_request req = {
        .method = r.method,
        .path = r.path,
        .query = r.query,
        .headers = r.headers,
        .header_count = r.header_count,
        .payload = r.body,
        .payload_hash = span_from_cstr(a->payload_hash),
    };
    TRY(sigv4_sign(&req, &creds, &opt, out));
    if (opt.presign_expires_s == 0) {
        return ERR_OK;
    }
    struct span host = SPAN_NULL;
    for (size_t i = 0; i < r.header_count && host.p == NULL; i++) {
        if (span_eq_nocase(r.headers[i].name, SPAN_LIT("host"))) {
            host = span_trim(r.headers[i].value);
        }
    }
    buf_append_cstr(url, a->scheme ? a->scheme : "https");
    buf_append_cstr(url, "://");
    buf_append_span(url, host);
    buf_append_span(url, r.path.n ? r.path : SPAN_LIT("/"));
    buf_append_char(url, '?');
    buf_append_span(url, buf_span(&out->query));
    return buf_status(url);
}

static void s_print_headers(FILE *f, const struct sigv4_output *out) {
    for (size_t i = 0; i < out->header_count; i++) {
        fprintf(f, "%.*s: %.*s\n", SPAN_FMT(out->headers[i].name), SPAN_FMT(out->headers[i].value));
    }
}

static void s_print_one(FILE *f, enum s_print what, const struct sigv4_output *out, const struct buf *url) {
    const struct buf *auth = &out->authorization;
    switch (what) {
        case S_PRINT_CREQ:
            fwrite(out->canonical_request.data, 1, out->canonical_request.len, f);
            break;
        case S_PRINT_STS:
            fwrite(out->string_to_sign.data, 1, out->string_to_sign.len, f);
            break;
        case S_PRINT_AUTHZ:
            fwrite(auth->data, 1, auth->len, f);
            break;
        case S_PRINT_URL:
            fwrite(url->data, 1, url->len, f);
            break;
        case S_PRINT_SIGNATURE:
            fputs(out->signature, f);
            break;
        case S_PRINT_HEADERS:
            s_print_headers(f, out);
            break;
        case S_PRINT_ALL:
            fprintf(f, "# canonical request (.creq)\n%s\n", buf_cstr(&out->canonical_request));
            fprintf(f, "# string to sign (.sts)\n%s\n", buf_cstr(&out->string_to_sign));
            if (url->len > 0) {
                fprintf(f, "# presigned URL\n%s\n", buf_cstr(url));
            } else {
                fprintf(f, "# authorization (.authz)\n%s\n# headers to add\n", buf_cstr(auth));
                s_print_headers(f, out);
            }
            break;
    }
}

static void s_json_field(struct buf *j, const char *key, struct span value) {
    if (j->len > 1) {
        buf_append_char(j, ',');
    }
    buf_append_json_string(j, span_from_cstr(key));
    buf_append_char(j, ':');
    buf_append_json_string(j, value);
}

/* Splits a batch line into percent-decoded, NUL-terminated arguments stored in `store`. */
static enum err s_batch_args(struct span line, struct buf *store, char **argv, size_t *lens, int *argc) {
    size_t offsets[S_DEBUG_MAX_ARGS];
    int n = 0;
    struct span rest = line;
    while (rest.n > 0) {
        struct span tok, tail;
        span_split(rest, ' ', &tok, &tail);
        rest = tail;
        if (tok.n == 0) {
            continue;
        }
        ENSURE(n < S_DEBUG_MAX_ARGS, ERR_LIMIT, "batch line has more than %d arguments", S_DEBUG_MAX_ARGS);
        offsets[n++] = store->len;
        ENSURE(uri_decode(store, tok) == ERR_OK, ERR_INVALID, "batch line: argument %d is not percent-encoded", n);
        lens[n - 1] = store->len - offsets[n - 1];
        buf_append_char(store, '\0');
    }
    TRY(buf_status(store));
    for (int i = 0; i < n; i++) {
        argv[i] = store->data + offsets[i];
    }
    *argc = n;
    return ERR_OK;
}

static void s_batch_case(const struct s_debug_args *base, struct span line, FILE *in, FILE *f) {
    struct s_debug_args a = *base;
    struct buf store, raw, url, json;
    struct sigv4_output out;
    char *argv[S_DEBUG_MAX_ARGS];
    size_t lens[S_DEBUG_MAX_ARGS];
    int argc = 0;
    enum s_print print;
    buf_init(&store, S_DEBUG_MAX_LINE_BYTES);
    buf_init(&raw, BUF_MAX_REQUEST);
    buf_init(&url, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&json, 4 * SIGV4_MAX_CANONICAL_BYTES);
    sigv4_output_init(&out);
    a.file = NULL;
    a.request = NULL;
    err_clear();
    enum err e = s_batch_args(line, &store, argv, lens, &argc);
    if (e == ERR_OK) {
        e = s_debug_parse(&a, argc, argv, lens);
    }
    if (e == ERR_OK) {
        e = s_debug_check(&a, &print);
    }
    if (e == ERR_OK && a.file != NULL && strcmp(a.file, "-") == 0) {
        e = err_raise(ERR_INVALID, __FILE__, __LINE__, "--batch: a case cannot read its request from stdin");
    }
    if (e == ERR_OK) {
        e = s_debug_sign_one(&a, in, &raw, &out, &url);
    }
    buf_append_char(&json, '{');
    if (e == ERR_OK) {
        s_json_field(&json, "creq", buf_span(&out.canonical_request));
        s_json_field(&json, "sts", buf_span(&out.string_to_sign));
        s_json_field(&json, "signature", span_from_cstr(out.signature));
        if (a.presign_set) {
            s_json_field(&json, "url", buf_span(&url));
        } else {
            s_json_field(&json, "authz", buf_span(&out.authorization));
        }
    } else {
        s_json_field(&json, "error", span_from_cstr(err_last()->msg));
    }
    buf_append_cstr(&json, "}\n");
    if (buf_status(&json) == ERR_OK) {
        fwrite(json.data, 1, json.len, f);
    } else {
        fputs("{\"error\":\"result too large\"}\n", f);
    }
    sigv4_output_free(&out);
    buf_wipe_free(&store);
    buf_free(&raw);
    buf_wipe_free(&url);
    buf_wipe_free(&json);
}

static enum err s_debug_batch(const struct s_debug_args *base, FILE *in, FILE *f) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    enum err e = ERR_OK;
    while ((n = getline(&line, &cap, in)) >= 0) {
        struct span l = { line, (size_t) n };
        while (l.n > 0 && (l.p[l.n - 1] == '\n' || l.p[l.n - 1] == '\r')) {
            l.n--;
        }
        if (l.n == 0) {
            continue;
        }
        if (l.n > S_DEBUG_MAX_LINE_BYTES) {
            e = err_raise(ERR_LIMIT, __FILE__, __LINE__, "batch line longer than %zu bytes", S_DEBUG_MAX_LINE_BYTES);
            break;
        }
        s_batch_case(base, l, in, f);
    }
    if (line != NULL) {
        explicit_bzero(line, cap);
        free(line);
    }
    fflush(f);
    return e;
}

static enum err s_debug_command(int argc, char **argv, FILE *in, FILE *out) {
    struct s_debug_args a = { 0 };
    TRY(s_debug_parse(&a, argc, argv, NULL));
    if (a.help) {
        fputs(s_debug_usage, out);
        return ERR_OK;
    }
    if (a.batch) {
        ENSURE(a.file == NULL && a.request == NULL, ERR_INVALID, "--batch: cases come from stdin, not FILE/--request");
        return s_debug_batch(&a, in, out);
    }
    enum s_print print;
    TRY(s_debug_check(&a, &print));
    struct buf raw, url;
    struct sigv4_output o;
    buf_init(&raw, BUF_MAX_REQUEST);
    buf_init(&url, SIGV4_MAX_CANONICAL_BYTES);
    sigv4_output_init(&o);
    enum err e = s_debug_sign_one(&a, in, &raw, &o, &url);
    if (e == ERR_OK) {
        s_print_one(out, print, &o, &url);
        fflush(out);
    }
    sigv4_output_free(&o);
    buf_free(&raw);
    buf_wipe_free(&url);
    return e;
}

/* The exit code: 2 for a usage error (the message names the flag), 1 for a request that could not be signed. */
int debug_sign(int argc, char **argv) {
    enum err e = s_debug_command(argc, argv, stdin, stdout);
    if (e == ERR_OK) {
        return EXIT_OK;
    }
    fprintf(stderr, "smartvault: debug sign: %s\n", err_last()->msg);
    return (e == ERR_INVALID || e == ERR_PARSE || e == ERR_LIMIT) ? EXIT_USAGE : EXIT_PARTIAL;
}
