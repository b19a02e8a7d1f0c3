/*
 * harness.c - registry and runner for the unit tests. See harness.h.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define HARNESS_MAX_TESTS 4096

struct harness_test {
    const char *name;
    harness_fn fn;
    const char *file;
};

static struct harness_test s_tests[HARNESS_MAX_TESTS];
static size_t s_count;
static int s_current_failures;
static const char *s_current_name;

void harness_register(const char *name, harness_fn fn, const char *file) {
    if (s_count == HARNESS_MAX_TESTS) {
        fprintf(stderr, "harness: too many tests (max %d)\n", HARNESS_MAX_TESTS);
        exit(2);
    }
    s_tests[s_count++] = (struct harness_test){ name, fn, file };
}

bool harness_check(bool ok, const char *expr, const char *file, int line) {
    if (!ok) {
        s_current_failures++;
        fprintf(stderr, "  FAIL %s: %s:%d: %s\n", s_current_name, file, line, expr);
    }
    return ok;
}

bool harness_check_str(const char *got, const char *want, const char *expr, const char *file, int line) {
    bool ok = got != NULL && want != NULL ? strcmp(got, want) == 0 : got == want;
    if (!ok) {
        s_current_failures++;
        fprintf(
          stderr,
          "  FAIL %s: %s:%d: %s\n    got:  \"%s\"\n    want: \"%s\"\n",
          s_current_name,
          file,
          line,
          expr,
          got ? got : "(null)",
          want ? want : "(null)");
    }
    return ok;
}

bool harness_check_mem(
  const void *got,
  size_t got_len,
  const void *want,
  size_t want_len,
  const char *expr,
  const char *file,
  int line) {
    bool ok = got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0);
    if (!ok) {
        s_current_failures++;
        fprintf(
          stderr,
          "  FAIL %s: %s:%d: %s\n    got:  \"%.*s\"\n    want: \"%.*s\"\n",
          s_current_name,
          file,
          line,
          expr,
          (int) got_len,
          got_len ? (const char *) got : "",
          (int) want_len,
          want_len ? (const char *) want : "");
    }
    return ok;
}

bool harness_check_int(long long got, long long want, const char *expr, const char *file, int line) {
    if (got != want) {
        s_current_failures++;
        fprintf(
          stderr,
          "  FAIL %s: %s:%d: %s\n    got:  %lld\n    want: %lld\n",
          s_current_name,
          file,
          line,
          expr,
          got,
          want);
        return false;
    }
    return true;
}

void harness_note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  note %s: ", s_current_name ? s_current_name : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

uint64_t harness_seed(void) {
    const char *env = getenv("SV_TEST_SEED");
    return env ? strtoull(env, NULL, 10) : 20261121u;
}

uint64_t harness_rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int64_t harness_rng_range(uint64_t *state, int64_t lo, int64_t hi) {
    uint64_t span = (uint64_t) (hi - lo) + 1;
    return lo + (int64_t) (span == 0 ? harness_rng_next(state) : harness_rng_next(state) % span);
}

static int s_by_name(const void *a, const void *b) {
    const struct harness_test *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    qsort(s_tests, s_count, sizeof(s_tests[0]), s_by_name);
    int passed = 0, failed = 0;
    for (size_t i = 0; i < s_count; i++) {
        if (filter && strstr(s_tests[i].name, filter) == NULL) {
            continue;
        }
        s_current_name = s_tests[i].name;
        s_current_failures = 0;
        s_tests[i].fn();
        if (s_current_failures) {
            failed++;
            fprintf(stderr, "FAIL %s (%s)\n", s_tests[i].name, s_tests[i].file);
        } else {
            passed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
