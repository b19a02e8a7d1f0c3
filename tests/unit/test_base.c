/*
 * test_base.c - span, buf, arena, time, log and secret.
 */
#include "harness.h"

#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/secret.h"
#include "base/span.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>

TEST(span_trim_and_split) {
    CHECK_SPAN(span_trim(SPAN_LIT("  a b \t\r\n")), "a b");
    CHECK_SPAN(span_trim(SPAN_LIT("   ")), "");
    struct span h, t;
    CHECK(span_split(SPAN_LIT("Key=Value=x"), '=', &h, &t));
    CHECK_SPAN(h, "Key");
    CHECK_SPAN(t, "Value=x");
    CHECK(!span_split(SPAN_LIT("novalue"), '=', &h, &t));
    CHECK_SPAN(h, "novalue");
    CHECK_INT(t.n, 0);
}

TEST(span_compare) {
    CHECK(span_eq_nocase(SPAN_LIT("Backup"), SPAN_LIT("bACKUP")));
    CHECK(!span_eq_nocase(SPAN_LIT("Backup"), SPAN_LIT("Backups")));
    CHECK(span_cmp(SPAN_LIT("a"), SPAN_LIT("b")) < 0);
    CHECK(span_cmp(SPAN_LIT("ab"), SPAN_LIT("a")) > 0);
    CHECK(span_cmp(SPAN_LIT(""), SPAN_LIT("")) == 0);
    CHECK(span_starts_with(SPAN_LIT("documents/a"), SPAN_LIT("documents/")));
    CHECK(!span_starts_with(SPAN_LIT("doc"), SPAN_LIT("documents/")));
    CHECK(span_ends_with(SPAN_LIT("x.amazonaws.com"), SPAN_LIT(".amazonaws.com")));
}

TEST(span_numbers_table) {
    static const struct {
        const char *in;
        uint64_t max;
        int err;
        uint64_t want;
    } cases[] = {
        { "0", 10, ERR_OK, 0 },
        { "7", 10, ERR_OK, 7 },
        { "10", 10, ERR_OK, 10 },
        { "11", 10, ERR_LIMIT, 0 },
        { "", 10, ERR_PARSE, 0 },
        { "-1", 10, ERR_PARSE, 0 },
        { " 1", 10, ERR_PARSE, 0 },
        { "1x", 10, ERR_PARSE, 0 },
        { "18446744073709551615", UINT64_MAX, ERR_OK, UINT64_MAX },
        { "18446744073709551616", UINT64_MAX, ERR_PARSE, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 0;
        enum err e = span_to_u64(span_from_cstr(cases[i].in), cases[i].max, &v);
        CHECK_INT(e, cases[i].err);
        if (e == ERR_OK) {
            CHECK(v == cases[i].want);
        }
    }
    int64_t s = 0;
    CHECK_OK(span_to_i64(SPAN_LIT("-5"), -10, 10, &s));
    CHECK_INT(s, -5);
    CHECK_INT(span_to_i64(SPAN_LIT("-11"), -10, 10, &s), ERR_LIMIT);
    CHECK_OK(span_to_i64(SPAN_LIT("-9223372036854775808"), INT64_MIN, INT64_MAX, &s));
    CHECK(s == INT64_MIN);
}

TEST(span_copy_cstr_bounds) {
    char out[4];
    CHECK_OK(span_copy_cstr(SPAN_LIT("abc"), out, sizeof(out)));
    CHECK_STR(out, "abc");
    CHECK_INT(span_copy_cstr(SPAN_LIT("abcd"), out, sizeof(out)), ERR_LIMIT);
    CHECK_STR(out, "");
}

TEST(buf_grows_and_respects_max) {
    struct buf b;
    buf_init(&b, 10);
    buf_append_cstr(&b, "hello");
    buf_appendf(&b, "%d", 1234);
    CHECK_OK(buf_status(&b));
    CHECK_STR(buf_cstr(&b), "hello1234");
    buf_append_cstr(&b, "xy"); /* 11 > 10: sticky limit */
    CHECK_INT(buf_status(&b), ERR_LIMIT);
    buf_append_cstr(&b, "z");
    CHECK_STR(buf_cstr(&b), "hello1234");
    buf_reset(&b);
    CHECK_OK(buf_status(&b));
    CHECK_STR(buf_cstr(&b), "");
    buf_free(&b);
    struct buf empty;
    buf_init(&empty, 0);
    CHECK_STR(buf_cstr(&empty), "");
    buf_append_char(&empty, 'a');
    CHECK_INT(buf_status(&empty), ERR_LIMIT);
    buf_free(&empty);
}

TEST(buf_json_string_escapes) {
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        { "plain", 5, "\"plain\"" },
        { "q\"b\\", 4, "\"q\\\"b\\\\\"" },
        { "a\nb\tc\r", 6, "\"a\\nb\\tc\\r\"" },
        { "\x01\x1f", 2, "\"\\u0001\\u001f\"" },
        { "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },
        { "bad\xff", 4, "\"bad\xef\xbf\xbd\"" },
        { "\xc0\x80", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"" },                 /* overlong NUL */
        { "\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" }, /* surrogate */
        { "\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"" },
        { "", 0, "\"\"" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 1024);
        buf_append_json_string(&b, (struct span){ cases[i].in, cases[i].n });
        CHECK_STR(buf_cstr(&b), cases[i].want);
        buf_free(&b);
    }
}

TEST(arena_alloc_mark_rewind) {
    struct arena a;
    arena_init(&a, 0);
    char *s = arena_strndup(&a, "abc", 3);
    CHECK_STR(s, "abc");
    struct arena_mark m = arena_mark(&a);
    size_t before = a.used_total;
    for (int i = 0; i < 100; i++) {
        char *big = arena_alloc(&a, 10000);
        big[9999] = 1;
    }
    CHECK(a.used_total > before + 100 * 10000 - 1);
    arena_rewind(&a, m);
    CHECK_INT(a.used_total, before);
    CHECK_STR(s, "abc");
    CHECK_STR(arena_printf(&a, "%s-%d", "x", 42), "x-42");
    CHECK(a.peak_total >= 100 * 10000);
    int *zero = ARENA_NEW_ARRAY(&a, int, 8);
    CHECK_INT(zero[7], 0);
    arena_free(&a);
}

TEST(time_civil_roundtrip_table) {
    static const struct {
        int64_t unix_s;
        const char *iso;
    } cases[] = {
        { 0, "1970-01-01T00:00:00Z" },          { 951782400, "2000-02-29T00:00:00Z" },
        { 1440938160, "2015-08-30T12:36:00Z" }, { 4102444799, "2099-12-31T23:59:59Z" },
        { -1, "1969-12-31T23:59:59Z" },         { 1709164800, "2024-02-29T00:00:00Z" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[TIME_ISO8601_LEN + 1];
        time_format_iso8601(cases[i].unix_s, out);
        CHECK_STR(out, cases[i].iso);
        int64_t back = 0;
        CHECK_OK(time_parse_rfc3339(span_from_cstr(cases[i].iso), &back));
        CHECK(back == cases[i].unix_s);
    }
}

TEST(time_property_roundtrip) {
    uint64_t st = harness_seed();
    for (int i = 0; i < 20000; i++) {
        int64_t t = harness_rng_range(&st, -2208988800LL, 7258118400LL);
        char out[TIME_ISO8601_LEN + 1];
        time_format_iso8601(t, out);
        int64_t back = 0;
        if (!CHECK_OK(time_parse_rfc3339(span_from_cstr(out), &back)) || !CHECK(back == t)) {
            harness_note("t=%lld out=%s", (long long) t, out);
            return;
        }
    }
}

TEST(time_parse_rfc3339_variants) {
    int64_t ms = 0;
    CHECK_OK(time_parse_rfc3339_ms(SPAN_LIT("2024-01-02T03:04:05.678Z"), &ms));
    CHECK(ms == 1704164645678LL);
    CHECK_OK(time_parse_rfc3339_ms(SPAN_LIT("2024-01-02T03:04:05.000+01:00"), &ms));
    CHECK(ms == 1704164645000LL - 3600000LL);
    CHECK_OK(time_parse_rfc3339_ms(SPAN_LIT("2024-01-02t03:04:05.123456z"), &ms));
    CHECK(ms == 1704164645123LL);
    static const char *const bad[] = {
        "",
        "2024-01-02",
        "2024-01-02T03:04:05",
        "2024-13-02T03:04:05Z",
        "2023-02-29T00:00:00Z",
        "2024-01-02T24:00:00Z",
        "2024-01-02T03:04:05.Z",
        "2024-01-02T03:04:05Zjunk",
        "2024-01-02 03:04:05Z",
        "2024-01-02T03:04:05+0100",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (!CHECK_INT(time_parse_rfc3339_ms(span_from_cstr(bad[i]), &ms), ERR_PARSE)) {
            harness_note("accepted: %s", bad[i]);
        }
    }
}

TEST(time_amz_and_http_date) {
    char out[TIME_AMZ_LEN + 1];
    time_format_amz(1440938160, out);
    CHECK_STR(out, "20150830T123600Z");
    int64_t t = 0;
    CHECK_OK(time_parse_amz(SPAN_LIT("20150830T123600Z"), &t));
    CHECK(t == 1440938160);
    CHECK_INT(time_parse_amz(SPAN_LIT("20150830T123600"), &t), ERR_PARSE);
    CHECK_OK(time_parse_http_date(SPAN_LIT("Sun, 06 Nov 1994 08:49:37 GMT"), &t));
    CHECK(t == 784111777);
    CHECK_INT(time_parse_http_date(SPAN_LIT("Sun, 06 Foo 1994 08:49:37 GMT"), &t), ERR_PARSE);
    CHECK_INT(time_parse_http_date(SPAN_LIT("Sunday, 06-Nov-94 08:49:37 GMT"), &t), ERR_PARSE);
    char d[TIME_DATE_LEN + 1];
    time_format_date(1440938160, d);
    CHECK_STR(d, "2015-08-30");
}

static char *s_capture_log(void (*fn)(void), enum log_format fmt) {
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    struct log_config cfg = { fmt, LOG_DEBUG, f };
    log_configure(&cfg);
    fn();
    fclose(f);
    struct log_config restore = { LOG_FORMAT_JSON, LOG_OFF, NULL };
    log_configure(&restore);
    return data;
}

static void s_log_sample(void) {
    LOG(
      LOG_INFO,
      "snapshot.created",
      LF_S("instance_id", "i-1"),
      LF_I("volumes", 2),
      LF_B("dry_run", false),
      LF_S("secret_access_key", "AKIAsecretvalue"),
      LF_SP("session_token", SPAN_LIT("tok")));
}

TEST(log_json_line_and_redaction) {
    char *out = s_capture_log(s_log_sample, LOG_FORMAT_JSON);
    CHECK(
      strstr(
        out,
        "\"level\":\"info\",\"event\":\"snapshot.created\",\"instance_id\":\"i-1\",\"volumes\":2,"
        "\"dry_run\":false") != NULL);
    CHECK(strstr(out, "AKIAsecretvalue") == NULL);
    CHECK(strstr(out, "tok\"") == NULL);
    CHECK(strstr(out, "\"secret_access_key\":\"[redacted]\"") != NULL);
    CHECK(out[strlen(out) - 1] == '\n');
    free(out);
    out = s_capture_log(s_log_sample, LOG_FORMAT_TEXT);
    CHECK(strstr(out, " info  snapshot.created instance_id=i-1 volumes=2") != NULL);
    CHECK(strstr(out, "AKIAsecretvalue") == NULL);
    free(out);
}

TEST(log_level_parse_names) {
    enum log_level l;
    CHECK(log_level_parse(SPAN_LIT("WARNING"), &l) && l == LOG_WARN);
    CHECK(log_level_parse(SPAN_LIT("debug"), &l) && l == LOG_DEBUG);
    CHECK(!log_level_parse(SPAN_LIT("verbose"), &l));
    CHECK(log_key_is_secret("AWS_SECRET_ACCESS_KEY"));
    CHECK(log_key_is_secret("x-amz-security-token"));
    CHECK(!log_key_is_secret("instance_id"));
}

TEST(secret_set_and_wipe) {
    static struct secret s;
    CHECK_OK(secret_set(&s, SPAN_LIT("abc")));
    CHECK_SPAN(secret_span(&s), "abc");
    secret_wipe(&s);
    CHECK_INT(secret_span(&s).n, 0);
    CHECK(s.value[0] == 0 && s.value[1] == 0);
    char *big = calloc(1, SECRET_MAX + 2);
    memset(big, 'x', SECRET_MAX + 1);
    CHECK_INT(secret_set(&s, (struct span){ big, SECRET_MAX + 1 }), ERR_LIMIT);
    free(big);
}

TEST(rand_uuid_shape) {
    char u[RAND_UUID_LEN + 1], v[RAND_UUID_LEN + 1];
    rand_uuid4(u);
    rand_uuid4(v);
    CHECK_INT(strlen(u), 36);
    CHECK(u[14] == '4');
    CHECK(u[8] == '-' && u[13] == '-' && u[18] == '-' && u[23] == '-');
    CHECK(strcmp(u, v) != 0);
    double d = rand_unit();
    CHECK(d >= 0.0 && d < 1.0);
}

TEST(arena_clear_reuses_its_chunks) {
    struct arena a;
    arena_init(&a, 0);
    char *first = arena_alloc(&a, 100);
    memset(first, 'x', 100);
    for (int i = 0; i < 5; i++) {
        arena_alloc(&a, 40 * 1024); /* several chunks */
    }
    arena_clear(&a);
    CHECK_INT(a.used_total, 0);
    /* The next allocations come from the kept chunks, zeroed, and the arena works as before. */
    char *again = arena_alloc(&a, 100);
    CHECK(again[0] == 0 && again[99] == 0);
    for (int i = 0; i < 5; i++) {
        CHECK(arena_alloc(&a, 40 * 1024) != NULL);
    }
    CHECK(arena_alloc(&a, 200 * 1024) != NULL); /* larger than any kept chunk: a new one */
    arena_free(&a);
    CHECK(a.head == NULL && a.spare == NULL);
}
