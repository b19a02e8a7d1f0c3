/*
 * creds.c - `smartvault debug creds`: resolves the credentials chain once (or twice, to see a refresh) and prints
 * which provider answered, never a secret (the key id is cut to its last 4 characters).
 */
#include "debug/debug.h"

#include "aws/creds.h"
#include "base/err.h"
#include "base/span.h"
#include "base/time.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* `[--now S] [--twice] [--advance S]`; false for anything else. */
static bool s_creds_args(int argc, char **argv, int64_t *now_s, int64_t *advance_s, bool *twice) {
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--twice") == 0) {
            *twice = true;
        } else if (strcmp(argv[i], "--now") == 0 && v != NULL) {
            if (span_to_i64(span_from_cstr(v), 0, INT64_MAX / 2, now_s) != ERR_OK) {
                return false;
            }
            i++;
        } else if (strcmp(argv[i], "--advance") == 0 && v != NULL) {
            if (span_to_i64(span_from_cstr(v), 0, INT64_MAX / 4, advance_s) != ERR_OK) {
                return false;
            }
            i++;
        } else {
            return false;
        }
    }
    return true;
}

/* debug creds: the chain once (or twice, `--advance` seconds apart, to see a refresh); exit 3 without creds. */
int debug_creds(int argc, char **argv) {
    int64_t now_s = time_wall_ms() / 1000, advance_s = 0;
    bool twice = false;
    if (!s_creds_args(argc, argv, &now_s, &advance_s, &twice)) {
        fprintf(stderr, "smartvault: usage: smartvault debug creds [--now S] [--twice] [--advance S]\n");
        return EXIT_USAGE;
    }
    const char *region = debug_cfg()->source_region;
    struct http_client_options hopt = { .ca_file = debug_ca_file() };
    struct http_client *http = NULL;
    struct creds_chain *chain = NULL;
    if (http_client_new(&hopt, &http) != ERR_OK) {
        fprintf(stderr, "smartvault: cannot start the HTTP client: %s\n", err_last()->msg);
        return EXIT_CANNOT_START;
    }
    struct creds_chain_options copt = { .env = &debug_cfg()->env, .http = http, .region = region };
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
