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
#include "base/err.h"
#include "base/log.h"
#include "net/http.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum exit_code { EXIT_OK = 0, EXIT_PARTIAL = 1, EXIT_USAGE = 2, EXIT_CANNOT_START = 3 };

static const char s_usage[] =
  "usage: smartvault [command] [options]\n"
  "\n"
  "Runs one SmartVault backup cycle and exits (0 ok, 1 some actions failed, 2 bad configuration,\n"
  "3 could not start).\n"
  "\n"
  "commands:\n"
  "  run                 run one backup cycle (the default)\n"
  "  config              print the effective configuration, secrets redacted\n"
  "  --version, version  print the versions of SmartVault, libcurl and BearSSL\n"
  "  --help, help        print this help\n"
  "\n"
  "developer commands:\n"
  "  debug http URL      GET URL through the HTTP layer; prints status=<code> and the body\n"
  "\n"
  "environment:\n"
  "  AWS_CA_BUNDLE       PEM file of CA certificates that replaces the embedded Mozilla bundle\n"
  "  SSL_CERT_FILE       same as AWS_CA_BUNDLE (AWS_CA_BUNDLE wins when both are set)\n"
  "  HTTPS_PROXY, HTTP_PROXY, NO_PROXY   proxies, as libcurl reads them\n";

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

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct command s_debug_commands[] = {
    { "http", s_debug_http },
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
        fputs(s_usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "debug") == 0) {
        return s_debug(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "run") == 0) {
        fprintf(stderr, "smartvault: the backup cycle is not built yet (see README.md)\n");
        return EXIT_USAGE;
    }
    fprintf(stderr, "smartvault: unknown command '%s'; see smartvault --help\n", cmd);
    return EXIT_USAGE;
}
