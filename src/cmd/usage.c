/*
 * usage.c - `smartvault --help`: the commands (written here) and every variable of the configuration, generated
 * from its table (cfg/cfg_vars.def through cfg_help), so --help cannot miss or misstate a variable.
 */
#include "cmd/cmd.h"

#include "base/buf.h"
#include "cfg/cfg.h"
#include "exit_code.h"
#include "net/http.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

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
  "  sbom                print this binary's SBOM: CycloneDX 1.5 JSON (SmartVault, musl, BearSSL, libcurl:\n"
  "                      versions, licences, SHA-256 of the pinned source archives)\n"
  "  --help, help        print this help\n"
  "\n"
  "developer commands:\n"
  "  debug http URL      GET URL through the HTTP layer; prints status=<code> and the body\n"
  "  debug batch [--count N] [--concurrency C] ... SERVICE OPERATION [args]   N copies of one debug call\n"
  "                      run together through the AWS stack a cycle uses; prints a JSON summary\n"
  "  debug sign [FILE]   SigV4-sign a raw HTTP request (test suite .req format); see debug sign --help\n"
  "  debug creds [--now S] [--twice] [--advance S]   resolve the credentials chain; prints the provider, the\n"
  "                      key id's last 4 characters, token presence, expiration; --twice asks again S later\n"
  "  debug endpoint SERVICE [--region R] [--bucket B]   the resolved URL, Host, signing name and region\n"
  "  debug cfg-vars [--markdown]   every variable of the configuration table, one per line (or the README's\n"
  "                      reference table: name, default, meaning)\n"
  "  debug call SERVICE OPERATION [args]  one signed AWS call (Query: key=value ...; s3: METHOD /bucket/key\n"
  "                      [query=Q] [body=TEXT|@FILE] [header=N:V]; dynamodb: OPERATION '{json}')\n"
  "\n"
  "options (run, config): flags override the environment variable of the same meaning\n"
  "  --source-region R  --dest-region R  --retention-days N  --min-keep N  --backup-tag K=V\n"
  "  --dry-run[=false]  --now TIME  --log-format F  --log-level L\n"
  "  --set VAR=VALUE     set any variable below for this run (not credentials: argv is visible to all)\n"
  "  (--name=value also works; an empty value unsets the variable)\n";

void cmd_usage(void) {
    fputs(s_usage, stdout);
    struct buf env;
    buf_init(&env, BUF_MAX_REQUEST);
    cfg_help(&env);
    if (buf_status(&env) == ERR_OK) {
        fwrite(buf_cstr(&env), 1, env.len, stdout);
    }
    buf_free(&env);
}

bool cmd_wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

int cmd_version(void) {
    printf("smartvault %s\n%s\nBearSSL %s\n", SMARTVAULT_VERSION, http_library_version(), SMARTVAULT_BEARSSL_VERSION);
    return EXIT_OK;
}
