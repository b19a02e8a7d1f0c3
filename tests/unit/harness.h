/*
 * harness.h - the unit test harness: tests register themselves, main() runs them (optionally filtered by a
 * substring of the name given as argv[1]) and prints `N passed, N failed` as its last line.
 *
 *   TEST(span_trim_strips_both_ends) {
 *       CHECK(span_eq_cstr(span_trim(SPAN_LIT("  a ")), "a"));
 *   }
 *
 * A test passes when none of its CHECKs failed. CHECK does not abort the test; REQUIRE does (returns).
 * Property tests use harness_rng_* (splitmix64, seeded from SV_TEST_SEED or a fixed default) so every run
 * is repeatable; the seed is printed when a property test fails.
 */
#ifndef SV_TESTS_HARNESS_H
#define SV_TESTS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef void (*harness_fn)(void);

void harness_register(const char *name, harness_fn fn, const char *file);
bool harness_check(bool ok, const char *expr, const char *file, int line);
bool harness_check_str(const char *got, const char *want, const char *expr, const char *file, int line);
bool harness_check_mem(
  const void *got,
  size_t got_len,
  const void *want,
  size_t want_len,
  const char *expr,
  const char *file,
  int line);
bool harness_check_int(long long got, long long want, const char *expr, const char *file, int line);
void harness_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Deterministic pseudo-random numbers for property tests. */
uint64_t harness_seed(void);
uint64_t harness_rng_next(uint64_t *state);
/* Uniform in [lo, hi]. */
int64_t harness_rng_range(uint64_t *state, int64_t lo, int64_t hi);

#define TEST(name)                                                                                                     \
    static void test_##name(void);                                                                                     \
    __attribute__((constructor)) static void register_##name(void) {                                                   \
        harness_register(#name, test_##name, __FILE__);                                                                \
    }                                                                                                                  \
    static void test_##name(void)

#define CHECK(cond) harness_check((cond), #cond, __FILE__, __LINE__)
#define CHECK_STR(got, want) harness_check_str((got), (want), #got " == " #want, __FILE__, __LINE__)
#define CHECK_SPAN(got, want) harness_check_mem((got).p, (got).n, (want), strlen(want), #got, __FILE__, __LINE__)
#define CHECK_INT(got, want) harness_check_int((long long) (got), (long long) (want), #got, __FILE__, __LINE__)
#define CHECK_OK(expr) harness_check_int((long long) (expr), 0, #expr " is ERR_OK", __FILE__, __LINE__)
#define REQUIRE(cond)                                                                                                  \
    do {                                                                                                               \
        if (!CHECK(cond)) {                                                                                            \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)
#define REQUIRE_OK(expr)                                                                                               \
    do {                                                                                                               \
        if (!CHECK_OK(expr)) {                                                                                         \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

#endif
