/*
 * main.c - the command line: parses the subcommand, runs it, and chooses the exit code.
 *
 * Exit codes (DESIGN.md §2) are decided here and nowhere else:
 *   0  everything succeeded
 *   1  the cycle ran but some actions failed
 *   2  usage or configuration error; nothing was done
 *   3  could not start (no credentials, no region, endpoint unreachable); nothing was done
 *
 * Developer subcommands live under `smartvault debug ...`; they exist to test the layers below from outside.
 */
#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/imds.h"
#include "aws/sigv4.h"
#include "aws/stack.h"
#include "backup/cycle.h"
#include "backup/report.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/span.h"
#include "base/time.h"
#include "cfg/cfg.h"
#include "net/batch.h"
#include "net/http.h"
#include "net/retry.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum exit_code { EXIT_OK = 0, EXIT_PARTIAL = 1, EXIT_USAGE = 2, EXIT_CANNOT_START = 3 };

/* POSIX: the application declares it. cfg reads the environment only through this array, handed to it. */
extern char **environ;

static const char s_usage[] =
  "usage: smartvault [command] [options]\n"
  "\n"
  "Runs one SmartVault backup cycle and exits (0 ok, 1 some actions failed, 2 bad configuration,\n"
  "3 could not start).\n"
  "\n"
  "commands:\n"
  "  run [options]       run one backup cycle (the default; `smartvault --dry-run` is `run --dry-run`)\n"
  "  config [options]    print the effective configuration, one NAME=value  (source: ...) per line,\n"
  "                      credentials shown only as (set); exit 2 with one line naming a bad variable\n"
  "  --version, version  print the versions of SmartVault, libcurl and BearSSL\n"
  "  --help, help        print this help\n"
  "\n"
  "developer commands:\n"
  "  debug http URL      GET URL through the HTTP layer; prints status=<code> and the body\n"
  "  debug batch --url URL [--count N] [--concurrency C] ...   N unsigned requests through the batch\n"
  "                      executor (retries per AWS_RETRY_MODE, AWS_MAX_ATTEMPTS); prints a JSON summary\n"
  "  debug sign [FILE]   SigV4-sign a raw HTTP request (test suite .req format); see debug sign --help\n"
  "  debug creds [--now S] [--twice] [--advance S]   resolve the credentials chain; prints the provider, the\n"
  "                      key id's last 4 characters, token presence, expiration; --twice asks again S later\n"
  "  debug endpoint SERVICE [--region R] [--bucket B]   the resolved URL, Host, signing name and region\n"
  "  debug cfg-vars      every environment variable the configuration knows, one per line\n"
  "  debug call SERVICE OPERATION [args]  one signed AWS call (Query: key=value ...; s3: METHOD /bucket/key\n"
  "                      [query=Q] [body=TEXT|@FILE] [header=N:V]; dynamodb: OPERATION '{json}')\n"
  "\n"
  "options (run, config): flags override the environment variable of the same meaning\n"
  "  --source-region R  --dest-region R  --retention-days N  --min-keep N  --backup-tag K=V\n"
  "  --dry-run[=false]  --now TIME  --log-format F  --log-level L\n"
  "  --set VAR=VALUE     set any variable below for this run (not credentials: argv is visible to all)\n"
  "  (--name=value also works; an empty value unsets the variable)\n";

/*
 * Every variable the configuration knows (cfg/cfg.h, `smartvault debug cfg-vars`), with its default; the
 * integration tests check that none is missing. In chunks: ISO C only promises 4095-byte string literals.
 */
static const char *const s_usage_env[] = {
    "\n"
    "environment (12-factor; values are trimmed, an empty value means unset):\n"
    " EBS snapshots\n"
    "  SOURCE_REGION       region to back up (--source-region); default AWS_REGION, then\n"
    "                      AWS_DEFAULT_REGION, then the instance metadata service\n"
    "  AWS_REGION, AWS_DEFAULT_REGION   used for SOURCE_REGION when it is not set, as the AWS SDKs do\n"
    "  DEST_REGION         region snapshots are copied to for disaster recovery (--dest-region);\n"
    "                      must differ from SOURCE_REGION; default: no copies\n"
    "  EBS_BACKUP          true|false: run the EBS snapshot job (default true; false = only the S3 job)\n"
    "  BACKUP_TAG          Key=Value on the instances to back up (--backup-tag); default: key Backup or\n"
    "                      backup with value true (the value matches in any case)\n"
    "  RETENTION_DAYS      days snapshots are kept, 1-36500 (--retention-days; default 7)\n"
    "  DEST_RETENTION_DAYS days copies in DEST_REGION are kept, 1-36500 (default RETENTION_DAYS)\n"
    "  MIN_KEEP            newest completed snapshots always kept per volume, however old, 0-1000\n"
    "                      (--min-keep; default 1; 0 lets the last snapshot of a volume expire)\n"
    "  KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY   grandfather-father-son: also keep one snapshot per day,\n"
    "                      week, month for the last N of each, 0-1000 (default unset: not used)\n"
    "  MIN_INTERVAL        an instance is due when its newest snapshot is older than this: 90s, 30m,\n"
    "                      2h30m, 1d or whole seconds, up to 90d (default 30m)\n"
    "  KMS_KEY_ID          KMS key for the copies, in DEST_REGION: key id, alias/NAME or key/alias ARN\n"
    "                      (default: the source snapshot's encryption)\n"
    "  WAIT_FOR_COMPLETION how long to wait for pending snapshots so they are copied in this run, up to\n"
    "                      2h (default 0s: a later run copies them)\n"
    "  MAX_CONCURRENCY     AWS requests in flight, 1-256 (default 16)\n"
    "  COPY_LIMIT          snapshot copies in flight per destination region, 1-100 (default 20, the\n"
    "                      default EC2 quota; raise it only with the quota)\n"
    "  COPY_WINDOW         how long to keep COPY_LIMIT copies in flight, starting the next as copies\n"
    "                      complete, up to 1d; 0s starts one round only (default 20m)\n"
    "  EC2_PAGE_SIZE       MaxResults of EC2 listings, 5-1000 (default 1000; lower only to test paging)\n",
    " run\n"
    "  DRY_RUN             true|false|1|0|yes|no: plan and print, change nothing (--dry-run; default false)\n"
    "  SMARTVAULT_NOW      RFC 3339 time used as now, for what-if planning (--now; default the clock)\n"
    "  LOG_FORMAT          json|text (--log-format; default json)\n"
    "  LOG_LEVEL           debug|info|warn|error (--log-level; default info)\n"
    "  RUN_TIMEOUT         no new AWS request starts after this; what is left is reported as deferred\n"
    "                      and the exit code is 1, up to 1d (default 55m: inside a 1 h job deadline)\n"
    " reporting\n"
    "  SNS_TOPIC_ARN       topic for the run summary, arn:aws:sns:REGION:ACCOUNT:NAME (default: none)\n"
    "  METRIC_NAMESPACE    CloudWatch namespace, not AWS/... (default SmartVault)\n"
    "  METRICS_MODE        api|emf|both|off: PutMetricData, embedded-metric log lines, both or none\n"
    "                      (default api)\n"
    "  DYNAMODB_TABLE      audit table, name or ARN (default: none)\n"
    "  AUDIT_TTL_DAYS      days before an audit item expires (DynamoDB TTL), 1-36500 (default 365)\n",
    " S3 folder backup (runs when a source bucket and at least one route are set)\n"
    "  S3_SOURCE_BUCKET    the bucket to back up (default: none, no S3 job)\n"
    "  SRC_BUCKET          seed 004's name for S3_SOURCE_BUCKET\n"
    "  S3_ROUTES           prefix=bucket[,prefix=bucket...]: the longest matching prefix picks the backup\n"
    "                      bucket; keys that match no prefix are not copied; an empty prefix matches all\n"
    "  DOC_DEST, PHOTO_DEST, DB_DEST   seed 004's routes documents/=, photos/=, database/= (merged with\n"
    "                      S3_ROUTES; the same prefix to two buckets is an error)\n"
    "  S3_DEST_PREFIX      prefix added to keys in the backup buckets (default none)\n"
    "  S3_STORAGE_CLASS    STANDARD|STANDARD_IA|ONEZONE_IA|INTELLIGENT_TIERING|GLACIER|GLACIER_IR|\n"
    "                      DEEP_ARCHIVE (default STANDARD)\n"
    "  S3_SSE              AES256|aws:kms: encryption of the copies (default AES256)\n"
    "  S3_SSE_KMS_KEY_ID   KMS key for S3_SSE=aws:kms (required with it, refused without it)\n"
    "  S3_MULTIPART_THRESHOLD   objects this large are copied in parts: bytes or KiB/MiB/GiB, 5MiB-5GiB\n"
    "                      (default 64MiB)\n"
    "  S3_PART_SIZE        part size of multipart copies, 5MiB-5GiB (default 64MiB)\n",
    " AWS SDK settings\n"
    "  AWS_MAX_ATTEMPTS    attempts per request including the first, 1-20 (default 3; 5 in legacy mode)\n"
    "  AWS_RETRY_MODE      standard|adaptive|legacy (default standard)\n"
    "  AWS_ENDPOINT_URL    http(s)://host[:port][/path] used for every service (default: AWS)\n"
    "  AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SNS, AWS_ENDPOINT_URL_CLOUDWATCH,\n"
    "  AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_STS   one service's endpoint, over AWS_ENDPOINT_URL\n"
    "  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS   true: ignore the endpoint variables above (default false)\n"
    "  AWS_CA_BUNDLE       PEM file of CA certificates that replaces the embedded Mozilla bundle\n"
    "  SSL_CERT_FILE       same as AWS_CA_BUNDLE (AWS_CA_BUNDLE wins when both are set)\n"
    "  AWS_EC2_METADATA_DISABLED   true: never ask the instance metadata service (default false)\n"
    " credentials (read by the credentials chain; `config` shows secrets only as (set))\n"
    "  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN   static or temporary keys\n"
    "  AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_SESSION_NAME   web identity (EKS IRSA)\n"
    "  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI,\n"
    "  AWS_CONTAINER_AUTHORIZATION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE   ECS task role,\n"
    "                      EKS Pod Identity\n"
    "  HTTPS_PROXY, HTTP_PROXY, NO_PROXY   proxies, as libcurl reads them\n",
};

static void s_print_usage(void) {
    fputs(s_usage, stdout);
    for (size_t i = 0; i < sizeof(s_usage_env) / sizeof(s_usage_env[0]); i++) {
        fputs(s_usage_env[i], stdout);
    }
}

static int s_version(void) {
    printf("smartvault %s\n%s\nBearSSL %s\n", SMARTVAULT_VERSION, http_library_version(), SMARTVAULT_BEARSSL_VERSION);
    return EXIT_OK;
}

/* The CA file that replaces the embedded bundle, or NULL. */
static const char *s_ca_file(void) {
    const char *f = getenv("AWS_CA_BUNDLE");
    if (f == NULL || *f == '\0') {
        f = getenv("SSL_CERT_FILE");
    }
    return (f != NULL && *f != '\0') ? f : NULL;
}

static int s_debug_http(int argc, char **argv) {
    if (argc != 1) {
        fprintf(stderr, "smartvault: usage: smartvault debug http URL\n");
        return EXIT_USAGE;
    }
    struct http_client_options opt = { .ca_file = s_ca_file() };
    struct http_client *c = NULL;
    if (http_client_new(&opt, &c) != ERR_OK) {
        fprintf(stderr, "smartvault: cannot start the HTTP client: %s\n", err_last()->msg);
        return EXIT_CANNOT_START;
    }
    struct http_request req = { .method = "GET", .url = argv[0] };
    struct http_response resp;
    http_response_init(&resp);
    enum err e = http_perform(c, &req, &resp);
    int code = EXIT_OK;
    if (e != ERR_OK) {
        fprintf(stderr, "smartvault: %s error: %s\n", err_name(e), resp.error);
        code = EXIT_CANNOT_START;
    } else {
        printf("status=%ld\n", resp.status);
        fwrite(buf_cstr(&resp.body), 1, resp.body.len, stdout);
    }
    http_response_free(&resp);
    http_client_free(c);
    return code;
}

/* The work is in aws/sigv4.c; here only the exit code: 2 for a usage error (the message names the flag). */
static int s_debug_sign(int argc, char **argv) {
    enum err e = sigv4_debug_command(argc, argv, stdin, stdout);
    if (e == ERR_OK) {
        return EXIT_OK;
    }
    fprintf(stderr, "smartvault: debug sign: %s\n", err_last()->msg);
    return (e == ERR_INVALID || e == ERR_PARSE || e == ERR_LIMIT) ? EXIT_USAGE : EXIT_PARTIAL;
}

/*
 * debug batch: N unsigned requests through net/batch, with the retry policy of AWS_RETRY_MODE/AWS_MAX_ATTEMPTS,
 * and a JSON summary on stdout (tests/integration/test_net_faults.py, test_tls_reuse.py). "{i}" in the URL or
 * the body is replaced by the request's index. The AWS error code is sniffed from the body (<Code> or JSON
 * __type) only to feed the retry decision; the real parser is aws/error.
 */
#define S_DEBUG_BATCH_MAX_COUNT 10000
#define S_DEBUG_BATCH_MAX_HEADERS 16

struct s_debug_batch_cfg {
    const char *method;
    struct http_header headers[S_DEBUG_BATCH_MAX_HEADERS];
    size_t nheaders;
};

struct s_debug_batch_job {
    const struct s_debug_batch_cfg *cfg;
    struct buf url;
    struct buf body;
    enum err final;
    struct batch_item_result res;
};

static void s_debug_subst(const char *tmpl, size_t index, struct buf *out) {
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (strncmp(p, "{i}", 3) == 0) {
            buf_appendf(out, "%zu", index);
            p += 2;
        } else {
            buf_append_char(out, *p);
        }
    }
}

static struct span s_debug_error_code(struct span body) {
    struct span rest = body;
    for (size_t i = 0; i + 6 <= rest.n; i++) {
        if (memcmp(rest.p + i, "<Code>", 6) == 0) {
            struct span code = span_sub(rest, i + 6, rest.n - i - 6);
            long end = span_index(code, '<');
            return end >= 0 ? span_sub(code, 0, (size_t) end) : SPAN_NULL;
        }
    }
    for (size_t i = 0; i + 8 <= rest.n; i++) {
        if (memcmp(rest.p + i, "\"__type\"", 8) == 0) {
            struct span v = span_sub(rest, i + 8, rest.n - i - 8), head;
            if (!span_split(v, '"', &head, &v) || !span_split(v, '"', &v, &head)) {
                return SPAN_NULL;
            }
            long hash = -1;
            for (size_t k = 0; k < v.n; k++) {
                hash = v.p[k] == '#' ? (long) k : hash;
            }
            return hash >= 0 ? span_sub(v, (size_t) hash + 1, v.n - (size_t) hash - 1) : v;
        }
    }
    return SPAN_NULL;
}

static enum err s_debug_batch_prepare(void *user, uint32_t attempt, struct http_request *out) {
    (void) attempt;
    struct s_debug_batch_job *j = user;
    out->method = j->cfg->method;
    out->url = buf_cstr(&j->url);
    out->headers = j->cfg->headers;
    out->nheaders = j->cfg->nheaders;
    out->body = buf_span(&j->body);
    return ERR_OK;
}

static void
s_debug_batch_classify(void *user, enum err transport, const struct http_response *resp, struct retry_input *in) {
    (void) user;
    if (transport == ERR_OK && resp->status >= 300) {
        in->aws_code = s_debug_error_code(buf_span(&resp->body));
    }
}

static void
s_debug_batch_complete(void *user, enum err final, struct http_response *resp, const struct batch_item_result *res) {
    (void) resp;
    struct s_debug_batch_job *j = user;
    j->final = final;
    j->res = *res;
}

static const struct batch_ops s_debug_batch_ops = { s_debug_batch_prepare,
                                                    s_debug_batch_classify,
                                                    s_debug_batch_complete };

static bool s_debug_number(const char *flag, const char *v, uint64_t max, uint64_t *out) {
    if (span_to_u64(span_from_cstr(v), max, out) != ERR_OK) {
        fprintf(stderr, "smartvault: %s must be a whole number up to %llu\n", flag, (unsigned long long) max);
        return false;
    }
    return true;
}

static int s_debug_batch(int argc, char **argv) {
    static const char usage[] = "smartvault: usage: smartvault debug batch --url URL [--count N] [--concurrency C] "
                                "[--method M] [--body B] [--header 'Name: value']... [--timeout-ms T] "
                                "[--deadline-ms D] [--low-speed-ms L]\n";
    struct s_debug_batch_cfg cfg = { .method = "GET" };
    const char *url = NULL, *body = "";
    uint64_t count = 1, concurrency = 1, timeout_ms = 0, deadline_ms = 0, low_speed_ms = 0;
    static char header_lines[S_DEBUG_BATCH_MAX_HEADERS][512];
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
        i++;
        bool ok = true;
        if (strcmp(a, "--url") == 0) {
            url = v;
        } else if (strcmp(a, "--count") == 0) {
            ok = s_debug_number(a, v, S_DEBUG_BATCH_MAX_COUNT, &count);
        } else if (strcmp(a, "--concurrency") == 0) {
            ok = s_debug_number(a, v, BATCH_MAX_IN_FLIGHT, &concurrency);
        } else if (strcmp(a, "--timeout-ms") == 0) {
            ok = s_debug_number(a, v, 3600000, &timeout_ms);
        } else if (strcmp(a, "--deadline-ms") == 0) {
            ok = s_debug_number(a, v, 3600000, &deadline_ms);
        } else if (strcmp(a, "--low-speed-ms") == 0) {
            ok = s_debug_number(a, v, 3600000, &low_speed_ms);
        } else if (strcmp(a, "--method") == 0) {
            cfg.method = v;
        } else if (strcmp(a, "--body") == 0) {
            body = v;
        } else if (strcmp(a, "--header") == 0 && cfg.nheaders < S_DEBUG_BATCH_MAX_HEADERS) {
            char *line = header_lines[cfg.nheaders];
            snprintf(line, sizeof(header_lines[0]), "%s", v);
            char *colon = strchr(line, ':');
            ok = colon != NULL;
            if (ok) {
                *colon = '\0';
                cfg.headers[cfg.nheaders++] = (struct http_header){ line, colon + 1 + strspn(colon + 1, " ") };
            }
        } else {
            ok = false;
        }
        if (!ok) {
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (url == NULL || count == 0 || concurrency == 0) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    struct retry_config rc = { .mode = RETRY_MODE_STANDARD };
    const char *mode = getenv("AWS_RETRY_MODE"), *attempts = getenv("AWS_MAX_ATTEMPTS");
    if (
      (mode != NULL && *mode != '\0' && retry_mode_parse(span_from_cstr(mode), &rc.mode) != ERR_OK) ||
      (attempts != NULL && *attempts != '\0' &&
       retry_max_attempts_parse(span_from_cstr(attempts), &rc.max_attempts) != ERR_OK)) {
        fprintf(stderr, "smartvault: %s\n", err_last()->msg);
        return EXIT_USAGE;
    }
    struct http_client_options hopt = {
        .ca_file = s_ca_file(),
        .max_host_connections = (long) concurrency,
        .low_speed_time_ms = (int64_t) low_speed_ms,
    };
    struct http_client *client = NULL;
    if (http_client_new(&hopt, &client) != ERR_OK) {
        fprintf(stderr, "smartvault: cannot start the HTTP client: %s\n", err_last()->msg);
        return EXIT_CANNOT_START;
    }
    struct retry_policy policy;
    retry_policy_init(&policy, &rc, time_mono_ms());
    struct batch_options bopt = {
        .max_in_flight = (size_t) concurrency,
        .policy = &policy,
        .attempt_timeout_ms = (int64_t) timeout_ms,
        .item_deadline_ms = (int64_t) deadline_ms,
    };
    struct batch *b = NULL;
    struct s_debug_batch_job *jobs = calloc((size_t) count, sizeof(*jobs));
    struct buf out;
    buf_init(&out, BUF_MAX_RESPONSE);
    int code = EXIT_CANNOT_START;
    if (jobs == NULL || batch_new(client, &bopt, &b) != ERR_OK) {
        fprintf(stderr, "smartvault: cannot start the batch: %s\n", err_last()->msg);
        goto done;
    }
    for (size_t i = 0; i < (size_t) count; i++) {
        jobs[i].cfg = &cfg;
        buf_init(&jobs[i].url, BUF_MAX_SMALL);
        buf_init(&jobs[i].body, BUF_MAX_REQUEST);
        s_debug_subst(url, i, &jobs[i].url);
        s_debug_subst(body, i, &jobs[i].body);
        if (buf_status(&jobs[i].url) != ERR_OK || buf_status(&jobs[i].body) != ERR_OK) {
            fprintf(stderr, "smartvault: request %zu: URL or body too long\n", i);
            code = EXIT_USAGE;
            goto done;
        }
        if (batch_add(b, &s_debug_batch_ops, &jobs[i], NULL) != ERR_OK) {
            fprintf(stderr, "smartvault: batch: %s\n", err_last()->msg);
            goto done;
        }
    }
    if (batch_run(b) != ERR_OK) {
        fprintf(stderr, "smartvault: batch: %s\n", err_last()->msg);
        goto done;
    }
    const struct batch_stats *bs = batch_stats(b);
    const struct http_stats *hs = http_client_stats(client);
    buf_appendf(
      &out,
      "{\"count\":%zu,\"concurrency\":%zu,\"mode\":\"%s\",\"max_attempts\":%u,\"succeeded\":%llu,\"attempts\":%llu,"
      "\"retries\":%llu,\"throttles\":%llu,\"timeouts\":%llu,\"limiter_waits\":%llu,\"quota_exhausted\":%llu,"
      "\"quota_left\":%u,\"peak_in_flight\":%zu,\"wall_ms\":%lld,\"requests_sent\":%llu,\"connections\":%llu,"
      "\"tls_handshakes\":%llu,\"requests\":[",
      (size_t) count,
      (size_t) concurrency,
      retry_mode_name(policy.cfg.mode),
      policy.cfg.max_attempts,
      (unsigned long long) bs->succeeded,
      (unsigned long long) bs->attempts,
      (unsigned long long) bs->retries,
      (unsigned long long) bs->throttles,
      (unsigned long long) policy.counters.timeouts,
      (unsigned long long) bs->limiter_waits,
      (unsigned long long) policy.counters.quota_exhausted,
      policy.quota,
      bs->peak_in_flight,
      (long long) bs->wall_ms,
      (unsigned long long) hs->requests,
      (unsigned long long) hs->connections,
      (unsigned long long) hs->tls_handshakes);
    for (size_t i = 0; i < (size_t) count; i++) {
        const struct s_debug_batch_job *j = &jobs[i];
        buf_appendf(
          &out,
          "%s{\"i\":%zu,\"final\":\"%s\",\"status\":%ld,\"transport\":\"%s\",\"class\":\"%s\",\"stop\":\"%s\","
          "\"code\":",
          i ? "," : "",
          i,
          err_name(j->final),
          j->res.status,
          err_name(j->res.transport),
          retry_class_name(j->res.last_class),
          retry_stop_name(j->res.stop));
        buf_append_json_string(&out, span_from_cstr(j->res.aws_code));
        buf_appendf(
          &out,
          ",\"attempts\":%u,\"retries\":%u,\"wall_ms\":%lld}",
          j->res.attempts,
          j->res.retries,
          (long long) j->res.wall_ms);
    }
    buf_append_cstr(&out, "]}\n");
    fwrite(buf_cstr(&out), 1, out.len, stdout);
    code = bs->succeeded == count ? EXIT_OK : EXIT_PARTIAL;
done:
    buf_free(&out);
    for (size_t i = 0; jobs != NULL && i < (size_t) count; i++) {
        buf_free(&jobs[i].url);
        buf_free(&jobs[i].body);
    }
    free(jobs);
    batch_free(b);
    http_client_free(client);
    return code;
}

/* Prints what a request layer would sign with, never a secret: the key id is cut to its last 4 characters. */
static void s_print_creds(const struct creds *c) {
    char key[CREDS_REDACTED_KEY_ID_LEN + 1], exp[TIME_ISO8601_LEN + 1] = "none";
    creds_redact_key_id(c->access_key_id, key);
    if (c->expiration_s != CREDS_NO_EXPIRY) {
        time_format_iso8601(c->expiration_s, exp);
    }
    printf(
      "provider=%s\naccess_key_id=%s\nsession_token=%s\nexpiration=%s\n",
      c->provider,
      key,
      c->session_token.set ? "present" : "absent",
      exp);
}

/* debug creds: the chain once (or twice, `--advance` seconds apart, to see a refresh); exit 3 without creds. */
static int s_debug_creds(int argc, char **argv) {
    int64_t now_s = time_wall_ms() / 1000, advance_s = 0;
    bool twice = false;
    for (int i = 0; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--twice") == 0) {
            twice = true;
        } else if (
          strcmp(argv[i], "--now") == 0 && has_value &&
          span_to_i64(span_from_cstr(argv[++i]), 0, INT64_MAX / 2, &now_s) == ERR_OK) {
        } else if (
          strcmp(argv[i], "--advance") == 0 && has_value &&
          span_to_i64(span_from_cstr(argv[++i]), 0, INT64_MAX / 4, &advance_s) == ERR_OK) {
        } else {
            fprintf(stderr, "smartvault: usage: smartvault debug creds [--now S] [--twice] [--advance S]\n");
            return EXIT_USAGE;
        }
    }
    const char *region = getenv("AWS_REGION") ? getenv("AWS_REGION") : getenv("AWS_DEFAULT_REGION");
    struct http_client_options hopt = { .ca_file = s_ca_file() };
    struct http_client *http = NULL;
    struct creds_chain *chain = NULL;
    if (http_client_new(&hopt, &http) != ERR_OK) {
        fprintf(stderr, "smartvault: cannot start the HTTP client: %s\n", err_last()->msg);
        return EXIT_CANNOT_START;
    }
    struct creds_chain_options copt = { .http = http, .region = region };
    const struct creds *c = NULL;
    enum err e = creds_chain_new(&copt, &chain);
    for (int round = 0; e == ERR_OK && round < (twice ? 2 : 1); round++) {
        if (round == 1) {
            now_s += advance_s;
            printf("advanced=%lld\n", (long long) advance_s);
        }
        e = creds_get(chain, now_s, &c);
        if (e == ERR_OK) {
            s_print_creds(c);
        }
    }
    int code = EXIT_OK;
    if (e == ERR_OK) {
        printf("fetches=%llu\n", (unsigned long long) creds_chain_fetch_count(chain));
    } else {
        bool config = e == ERR_CONFIG || e == ERR_INVALID;
        fprintf(
          stderr,
          "smartvault: %s: %s\n",
          config ? "credentials configuration" : "no credentials",
          chain != NULL ? creds_chain_failure(chain) : err_last()->msg);
        code = config ? EXIT_USAGE : EXIT_CANNOT_START;
    }
    creds_chain_free(chain);
    http_client_free(http);
    return code;
}

/* debug endpoint: endpoint resolution from outside (tests); exit 2 for anything it refuses. */
/* debug call: one signed AWS call through the whole stack (aws/stack.h). */
static int s_debug_call(int argc, char **argv) {
    enum err e = aws_debug_call(argc, argv);
    switch (e) {
        case ERR_OK:
            return EXIT_OK;
        case ERR_INVALID:
        case ERR_CONFIG:
            fprintf(stderr, "smartvault: %s\n", err_last()->msg);
            return EXIT_USAGE;
        case ERR_AWS:
        case ERR_AUTH:
        case ERR_HTTP:
            return EXIT_PARTIAL;
        default:
            fprintf(stderr, "smartvault: %s: %s\n", err_name(e), err_last()->msg);
            return EXIT_CANNOT_START;
    }
}

static int s_debug_endpoint(int argc, char **argv) {
    enum endpoint_service svc;
    const char *region = getenv("AWS_REGION") ? getenv("AWS_REGION") : getenv("AWS_DEFAULT_REGION");
    const char *bucket = NULL;
    bool ok = argc >= 1 && endpoint_service_parse(span_from_cstr(argv[0]), &svc);
    for (int i = 1; ok && i < argc; i++) {
        ok = i + 1 < argc && (strcmp(argv[i], "--region") == 0 || strcmp(argv[i], "--bucket") == 0);
        if (ok) {
            *(argv[i][2] == 'r' ? &region : &bucket) = argv[i + 1];
            i++;
        }
    }
    if (!ok) {
        fprintf(stderr, "smartvault: usage: smartvault debug endpoint SERVICE [--region R] [--bucket B]\n");
        return EXIT_USAGE;
    }
    /* No region configured: ask instance metadata, as a task on EC2 would. */
    char imds_region[REGION_MAX + 1];
    struct http_client_options hopt = { .ca_file = s_ca_file() };
    struct http_client *http = NULL;
    if (region == NULL && http_client_new(&hopt, &http) == ERR_OK) {
        enum err e = imds_discover_region(&endpoint_env_process, http, time_wall_ms() / 1000, imds_region);
        http_client_free(http);
        if (e != ERR_OK) {
            fprintf(stderr, "smartvault: no region: %s\n", err_last()->msg);
            return e == ERR_CONFIG ? EXIT_USAGE : EXIT_CANNOT_START;
        }
        region = imds_region;
        printf("region_source=imds\n");
    }
    struct endpoint ep;
    if (endpoint_resolve(&endpoint_env_process, svc, region, bucket, &ep) != ERR_OK) {
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

/* debug cfg-vars: the names cfg knows, so tests (and the README check) can compare them with --help. */
static int s_debug_cfg_vars(int argc, char **argv) {
    (void) argv;
    if (argc != 0) {
        fprintf(stderr, "smartvault: usage: smartvault debug cfg-vars\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        printf("%s\n", cfg_var_info((enum cfg_var) i)->name);
    }
    return EXIT_OK;
}

/*
 * The configuration from the process environment and the flags after the command. On a bad value: the one line
 * naming the variable on stderr, nothing else, and false (the caller exits 2 before any network call).
 */
static bool s_load_cfg(int argc, char **argv, struct arena *a, struct cfg *c) {
    struct cfg_input in = { .envp = (const char *const *) environ, .argc = argc, .argv = (const char *const *) argv };
    struct cfg_error err;
    if (cfg_parse(c, a, &in, &err) != ERR_OK) {
        fprintf(stderr, "smartvault: %s\n", err.line);
        return false;
    }
    return true;
}

/* `--help` anywhere among a command's flags prints the usage (rather than "unknown flag"). */
static bool s_wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

/* config: print the effective configuration; exit 0, or 2 with the one error line. */
static int s_config(int argc, char **argv) {
    if (s_wants_help(argc, argv)) {
        s_print_usage();
        return EXIT_OK;
    }
    struct arena a;
    arena_init(&a, 0);
    struct cfg c;
    int code = EXIT_USAGE;
    if (s_load_cfg(argc, argv, &a, &c)) {
        struct buf out;
        buf_init(&out, BUF_MAX_REQUEST);
        cfg_print(&c, &out);
        if (buf_status(&out) == ERR_OK) {
            fwrite(buf_cstr(&out), 1, out.len, stdout);
            code = EXIT_OK;
        } else {
            fprintf(stderr, "smartvault: config: the configuration does not fit the output buffer\n");
        }
        buf_free(&out);
    }
    arena_free(&a);
    return code;
}

/* run: validate everything first (exit 2, nothing done, on any bad value), then the cycle. */
static int s_run(int argc, char **argv) {
    if (s_wants_help(argc, argv)) {
        s_print_usage();
        return EXIT_OK;
    }
    struct arena a;
    arena_init(&a, 0);
    struct cfg c;
    if (!s_load_cfg(argc, argv, &a, &c)) {
        arena_free(&a);
        return EXIT_USAGE;
    }
    struct log_config lc = { c.log_format, c.log_level, NULL };
    log_configure(&lc);
    struct report report;
    enum cycle_outcome outcome = cycle_run(&c, &report, &a);
    report_free(&report);
    arena_free(&a);
    switch (outcome) {
        case CYCLE_OK:
            return EXIT_OK;
        case CYCLE_PARTIAL:
            return EXIT_PARTIAL;
        case CYCLE_CANNOT_START:
            return EXIT_CANNOT_START;
    }
    return EXIT_CANNOT_START;
}

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct command s_debug_commands[] = {
    { "cfg-vars", s_debug_cfg_vars }, { "http", s_debug_http },   { "batch", s_debug_batch },
    { "sign", s_debug_sign },         { "creds", s_debug_creds }, { "endpoint", s_debug_endpoint },
    { "call", s_debug_call },
};

static int s_debug(int argc, char **argv) {
    if (argc >= 1) {
        for (size_t i = 0; i < sizeof(s_debug_commands) / sizeof(s_debug_commands[0]); i++) {
            if (strcmp(argv[0], s_debug_commands[i].name) == 0) {
                return s_debug_commands[i].fn(argc - 1, argv + 1);
            }
        }
    }
    fprintf(stderr, "smartvault: unknown debug command; see smartvault --help\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv) {
    struct log_config lc = { LOG_FORMAT_JSON, LOG_INFO, NULL };
    log_configure(&lc);
    const char *cmd = argc > 1 ? argv[1] : "run";
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
        return s_version();
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        s_print_usage();
        return EXIT_OK;
    }
    if (strcmp(cmd, "debug") == 0) {
        return s_debug(argc - 2, argv + 2);
    }
    if (argc <= 1) {
        return s_run(0, argv + argc);
    }
    if (strcmp(cmd, "run") == 0) {
        return s_run(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "config") == 0) {
        return s_config(argc - 2, argv + 2);
    }
    if (cmd[0] == '-' && cmd[1] == '-') {
        return s_run(argc - 1, argv + 1); /* flags without a command: `smartvault --dry-run` */
    }
    fprintf(stderr, "smartvault: unknown command '%s'; see smartvault --help\n", cmd);
    return EXIT_USAGE;
}
