/*
 * main.c - the command line: parses the subcommand, runs it, and chooses the exit code.
 *
 * Exit codes (exit_code.h, DESIGN.md §2) are decided here and, for the developer commands, in src/debug/:
 *   0  everything succeeded
 *   1  the cycle ran but some actions failed
 *   2  usage or configuration error; nothing was done
 *   3  could not start (no credentials, no region, endpoint unreachable); nothing was done
 *   4  interrupted: SIGTERM/SIGINT stopped the cycle early; what was done is reported (a RUN_TIMEOUT deadline
 *      ends the run the same way but exits 1: its undone work is reported as deferred)
 *   128+N  a second signal N while stopping: the process ended at once (base/stop.c)
 *
 * Developer subcommands live under `smartvault debug ...` (src/debug/, one file per command); they exist to test
 * the layers below from outside.
 */
#include "backup/cycle.h"
#include "backup/report.h"
#include "backup/restore.h"
#include "backup/shard.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/stop.h"
#include "cfg/cfg.h"
#include "debug/debug.h"
#include "exit_code.h"
#include "net/http.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Of STOP_TIMEOUT, the share requests in flight at a stop may use before they are cancelled; the rest is reporting. */
#define S_STOP_DRAIN_PERCENT 40

/* POSIX: the application declares it. cfg reads the environment only through this array, handed to it. */
extern char **environ;

static const char s_usage[] =
  "usage: smartvault [command] [options]\n"
  "\n"
  "Runs one SmartVault backup cycle and exits (0 ok, 1 some actions failed, 2 bad configuration,\n"
  "3 could not start, 4 interrupted by SIGTERM/SIGINT; a second signal exits at once with 128+signal).\n"
  "\n"
  "commands:\n"
  "  run [options]       run one backup cycle (the default; `smartvault --dry-run` is `run --dry-run`)\n"
  "  report --out FILE [--json FILE] [options]   write the coverage page (one self-contained HTML file)\n"
  "                      from the live account: instances and snapshots are listed, nothing is changed;\n"
  "                      --json also writes the data behind it (report.json)\n"
  "  config [options]    print the effective configuration, one NAME=value  (source: ...) per line,\n"
  "                      credentials shown only as (set); exit 2 with one line naming a bad variable\n"
  "  list [--instance ID] [--region R]   what can be restored: per volume its device, newest completed\n"
  "                      snapshot (id, age), snapshots kept, DR copy (inventory.volume lines; a table\n"
  "                      with --log-format text)\n"
  "  restore --instance ID [--region R] [--az AZ] [--at TIME] [--volume VOL]... [--attach-to ID]\n"
  "          [--dry-run] [--no-wait] [--timeout D]   new volumes from the newest complete snapshot set\n"
  "                      started at or before --at (default now); waits up to --timeout (default 30m)\n"
  "                      for available; attaches at the original devices with --attach-to\n"
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
    "  RPO                 recovery point objective: a volume whose newest snapshot is older is counted in\n"
    "                      VolumesOutsideRpo (the alarm's metric); default 2 x MIN_INTERVAL, at least 1h\n"
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
    " restore drill (after the backup, restore N volumes and delete them again)\n"
    "  RESTORE_DRILL       volumes restored per cycle from their newest completed snapshot, 0-100, alternating\n"
    "                      source and DEST_REGION (default 0: off); every volume is drilled within\n"
    "                      ceil(volumes / N) cycles\n"
    "  RESTORE_DRILL_AZ    zone of the drill volumes, one per region, comma-separated (default: the first\n"
    "                      available zone of the region)\n"
    "  RESTORE_DRILL_TIMEOUT   how long a drill volume may take to become available, 1s-2h (default 10m)\n"
    "  RESTORE_DRILL_PERIOD    the schedule's period, which numbers the cycles of the rotation, 1m-90d\n"
    "                      (default 1d)\n",
    " accounts, regions and shards (every account x source region is one target; see Multi-account)\n"
    "  SOURCE_REGIONS      region1,region2,...: regions to back up (default SOURCE_REGION)\n"
    "  DEST_REGION_MAP     src=dst[,src=dst...]: the DR region per source region (others use DEST_REGION;\n"
    "                      a region mapped to itself is refused)\n"
    "  ACCOUNTS            12-digit ids, comma-separated, or organization: every ACTIVE account AWS\n"
    "                      Organizations lists (default: only the credentials' own account)\n"
    "  ACCOUNTS_EXCLUDE    account ids left out of ACCOUNTS (default none)\n"
    "  ACCOUNT_ROLE_NAME   role assumed in every listed account, arn:PARTITION:iam::ID:role/NAME (required\n"
    "                      with ACCOUNTS; the credentials' own account is used directly)\n"
    "  ACCOUNT_ROLE_EXTERNAL_ID   sts:ExternalId the member role requires (default none)\n"
    "  SHARD_INDEX, SHARD_COUNT   this task's share of the targets, 0-based, 1-10000 shards (default 0\n"
    "                      of 1); rendezvous hashing of account:region\n"
    "  JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX   used for SHARD_INDEX when it is not set\n"
    "                      (Kubernetes Indexed Jobs, AWS Batch array jobs; SHARD_COUNT is then required)\n"
    "  AWS_BATCH_JOB_ARRAY_SIZE   used for SHARD_COUNT when it is not set\n",
    " run\n"
    "  DRY_RUN             true|false|1|0|yes|no: plan and print, change nothing (--dry-run; default false)\n"
    "  SMARTVAULT_NOW      RFC 3339 time used as now, for what-if planning (--now; default the clock)\n"
    "  LOG_FORMAT          json|text (--log-format; default json)\n"
    "  LOG_LEVEL           debug|info|warn|error (--log-level; default info)\n"
    "  STOP_TIMEOUT        after SIGTERM/SIGINT the run ends within this: requests in flight get 40% of it,\n"
    "                      then the reports are sent; exit 4 (default 20s, 1s-1h; keep it below the\n"
    "                      scheduler's grace period: ECS stopTimeout, terminationGracePeriodSeconds)\n"
    "  RUN_TIMEOUT         no new AWS request starts after this; what is left is reported as deferred\n"
    "                      and the exit code is 1, up to 1d (default 55m: inside a 1 h job deadline)\n"
    " reporting\n"
    "  SNS_TOPIC_ARN       topic for the run summary, arn:aws:sns:REGION:ACCOUNT:NAME (default: none)\n"
    "  METRIC_NAMESPACE    CloudWatch namespace, not AWS/... (default SmartVault)\n"
    "  METRICS_MODE        api|emf|both|off: PutMetricData, embedded-metric log lines, both or none\n"
    "                      (default api)\n"
    "  DYNAMODB_TABLE      audit table, name or ARN (default: none)\n"
    "  AUDIT_TTL_DAYS      days before an audit item expires (DynamoDB TTL), 1-36500 (default 365)\n"
    "  REPORT_BUCKET       bucket (in SOURCE_REGION) for the coverage page: each run writes\n"
    "                      <REPORT_PREFIX>index.html and report.json; the SNS summary links to the page\n"
    "                      (default: none, no page)\n"
    "  REPORT_PREFIX       key prefix of the page and its JSON (default smartvault/)\n",
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
    "  AWS_EC2_METADATA_V1_DISABLED   true: IMDSv2 only - no request without a session token (default false:\n"
    "                      IMDSv1 when the token request fails with anything but 400, as the AWS SDKs do)\n"
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
        shard_print(&c, &a, &out);
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
    /* From here a SIGTERM/SIGINT stops the cycle gracefully (also as PID 1, where unhandled signals are dropped). */
    stop_configure(c.stop_timeout_s * 1000, c.stop_timeout_s * 1000 * S_STOP_DRAIN_PERCENT / 100);
    stop_install_signal_handlers();
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
        case CYCLE_INTERRUPTED:
            return EXIT_INTERRUPTED;
        case CYCLE_SKIPPED:
            return EXIT_OK;
    }
    return EXIT_CANNOT_START;
}

static int s_restore_exit(enum restore_outcome o) {
    static const int codes[] = { EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_CANNOT_START };
    return codes[o];
}

/* The directory of `path` can be written to: checked before any network call, so a typo exits 2 at once. */
static bool s_writable_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        return access(".", W_OK) == 0;
    }
    if (slash == path) {
        return access("/", W_OK) == 0;
    }
    char dir[4096];
    size_t n = (size_t) (slash - path);
    if (n >= sizeof(dir)) {
        return false;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return access(dir, W_OK) == 0;
}

/* report: --out FILE [--json FILE] and the configuration flags; the page from listings only (no cycle). */
static int s_report(int argc, char **argv) {
    if (s_wants_help(argc, argv)) {
        s_print_usage();
        return EXIT_OK;
    }
    const char *out = NULL, *json = NULL;
    char **rest = calloc((size_t) argc + 1, sizeof(*rest));
    int nrest = 0;
    for (int i = 0; rest != NULL && i < argc; i++) {
        bool is_out = strcmp(argv[i], "--out") == 0, is_json = strcmp(argv[i], "--json") == 0;
        if ((is_out || is_json) && i + 1 < argc && argv[i + 1][0] != '\0') {
            *(is_out ? &out : &json) = argv[++i];
        } else if (strncmp(argv[i], "--out=", 6) == 0 || strncmp(argv[i], "--json=", 7) == 0) {
            *(argv[i][2] == 'o' ? &out : &json) = strchr(argv[i], '=') + 1;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    int code = EXIT_USAGE;
    if (rest == NULL) {
        fprintf(stderr, "smartvault: out of memory\n");
    } else if (out == NULL || out[0] == '\0') {
        fprintf(stderr, "smartvault: report: --out FILE is required (where to write the HTML page)\n");
    } else if (!s_writable_dir(out) || (json != NULL && !s_writable_dir(json))) {
        fprintf(
          stderr,
          "smartvault: report: cannot write %s: its directory is not writable\n",
          s_writable_dir(out) ? json : out);
    } else {
        struct arena a;
        arena_init(&a, 0);
        struct cfg c;
        if (s_load_cfg(nrest, rest, &a, &c)) {
            struct log_config lc = { c.log_format, c.log_level, NULL };
            log_configure(&lc);
            enum cycle_outcome o = cycle_report_page(&c, &a, out, json);
            code = o == CYCLE_OK ? EXIT_OK : o == CYCLE_PARTIAL ? EXIT_PARTIAL : EXIT_CANNOT_START;
        }
        arena_free(&a);
    }
    free(rest);
    return code;
}

/* restore / list: the work is in backup/restore.c and backup/inventory.c; here only the exit code. */
static int s_restore(int argc, char **argv) {
    if (s_wants_help(argc, argv)) {
        s_print_usage();
        return EXIT_OK;
    }
    return s_restore_exit(restore_command(argc, argv, (const char *const *) environ));
}

static int s_list(int argc, char **argv) {
    if (s_wants_help(argc, argv)) {
        s_print_usage();
        return EXIT_OK;
    }
    return s_restore_exit(inventory_command(argc, argv, (const char *const *) environ));
}

int main(int argc, char **argv) {
    stop_install_signal_handlers();
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
        return debug_main(argc - 2, argv + 2);
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
    if (strcmp(cmd, "restore") == 0) {
        return s_restore(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "list") == 0) {
        return s_list(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "report") == 0) {
        return s_report(argc - 2, argv + 2);
    }
    if (cmd[0] == '-' && cmd[1] == '-') {
        return s_run(argc - 1, argv + 1); /* flags without a command: `smartvault --dry-run` */
    }
    fprintf(stderr, "smartvault: unknown command '%s'; see smartvault --help\n", cmd);
    return EXIT_USAGE;
}
