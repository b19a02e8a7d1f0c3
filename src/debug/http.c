/*
 * http.c - `smartvault debug http URL`: one GET through net/http, printing the status and the body. It proves
 * the HTTP layer (TLS, CA bundle, proxies) from outside; it signs nothing and retries nothing.
 */
#include "debug/debug.h"

#include "base/buf.h"
#include "base/err.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int debug_http(int argc, char **argv) {
    if (argc != 1) {
        fprintf(stderr, "smartvault: usage: smartvault debug http URL\n");
        return EXIT_USAGE;
    }
    struct http_client_options opt = { .ca_file = debug_ca_file() };
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
