/*
 * test_json.c - codec/json: the reader on AWS-shaped documents, RFC 8259 edge cases, every limit at and past its
 * maximum, number conversions, and the writer (commas, misuse, sticky errors, round trips).
 */
#include "harness.h"

#include "base/arena.h"
#include "base/buf.h"
#include "codec/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static enum err s_parse(struct arena *a, const char *doc, const struct json_value **root) {
    return json_parse(a, span_from_cstr(doc), NULL, root);
}

/* Writes v compactly with the writer, for comparisons. */
static const char *s_render(struct arena *a, const struct json_value *v) {
    struct buf b;
    buf_init(&b, BUF_MAX_REQUEST);
    struct json_writer w;
    json_writer_init(&w, &b);
    json_write_value(&w, v);
    const char *out = json_writer_finish(&w) == ERR_OK ? arena_strndup(a, b.data, b.len) : "<error>";
    buf_free(&b);
    return out;
}

TEST(json_dynamodb_get_item_response) {
    struct arena a;
    arena_init(&a, 0);
    const struct json_value *root = NULL;
    REQUIRE_OK(s_parse(
      &a,
      "{\"Item\": {\"pk\": {\"S\": \"vol-1\"}, \"count\": {\"N\": \"42\"}, \"ok\": {\"BOOL\": true},\n"
      "  \"tags\": {\"L\": [{\"S\": \"a\"}, {\"S\": \"b\"}]}, \"gone\": {\"NULL\": true}},\n"
      " \"ConsumedCapacity\": {\"TableName\": \"smartvault-audit\", \"CapacityUnits\": 0.5}}",
      &root));
    const struct json_value *item = json_get(root, "Item");
    CHECK_SPAN(json_get_string(json_get(item, "pk"), "S"), "vol-1");
    CHECK_SPAN(json_get_string(json_get(item, "count"), "N"), "42");
    CHECK(json_get(json_get(item, "ok"), "BOOL")->boolean);
    const struct json_value *list = json_get(json_get(item, "tags"), "L");
    CHECK_INT(list->count, 2);
    CHECK_SPAN(json_get_string(json_at(list, 1), "S"), "b");
    CHECK(json_at(list, 2) == NULL);
    CHECK_INT(item->count, 5);
    CHECK_SPAN(json_first(item)->key, "pk");
    double cu = 0;
    CHECK_OK(json_as_double(json_get(json_get(root, "ConsumedCapacity"), "CapacityUnits"), &cu));
    CHECK(cu == 0.5);
    CHECK(json_get(root, "Missing") == NULL);
    CHECK(json_get(list, "S") == NULL); /* not an object */
    CHECK(json_get(NULL, "x") == NULL);
    CHECK_SPAN(json_get_string(NULL, "x"), "");
    CHECK_SPAN(json_get_string(item, "pk"), ""); /* an object, not a string */
    arena_free(&a);
}

TEST(json_container_credentials_document) {
    struct arena a;
    arena_init(&a, 0);
    const struct json_value *root = NULL;
    REQUIRE_OK(s_parse(
      &a,
      "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2024-05-01T10:00:00Z\",\n  \"Type\" : \"AWS-HMAC\",\n"
      "  \"AccessKeyId\" : \"ASIAEXAMPLE\",\n  \"SecretAccessKey\" : \"wJalr\\/K7MDENG\",\n"
      "  \"Token\" : \"IQoJb3JpZ2luX2Vj\",\n  \"Expiration\" : \"2024-05-01T16:00:00Z\"\n}\n",
      &root));
    CHECK(json_is(root, JSON_OBJECT));
    CHECK_SPAN(json_get_string(root, "AccessKeyId"), "ASIAEXAMPLE");
    CHECK_SPAN(json_get_string(root, "SecretAccessKey"), "wJalr/K7MDENG");
    CHECK_SPAN(json_get_string(root, "Expiration"), "2024-05-01T16:00:00Z");
    arena_free(&a);
}

TEST(json_valid_table_round_trips_compactly) {
    static const struct {
        const char *doc;
        const char *compact; /* what the writer makes of the tree */
    } cases[] = {
        { "null", "null" },
        { " true ", "true" },
        { "false", "false" },
        { "0", "0" },
        { "-0", "-0" },
        { "-12.5e+3", "-12.5e+3" },
        { "1E-7", "1E-7" },
        { "\"\"", "\"\"" },
        { "[]", "[]" },
        { "{}", "{}" },
        { "[ 1 , [ ] , { } , \"x\" ]", "[1,[],{},\"x\"]" },
        { "{\"a\":{\"b\":[null,true]}}", "{\"a\":{\"b\":[null,true]}}" },
        { "\t\r\n{ \"k\" : 1 }\n", "{\"k\":1}" },
        { "{\"a\":1,\"a\":2}", "{\"a\":1,\"a\":2}" },
        { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\\"\\\\/\\u0008\\u000c\\n\\r\\t\"" },
        { "\"\\u0041\\u00e9\\u20AC\"", "\"A\xc3\xa9\xe2\x82\xac\"" },
        { "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"" },
        { "\"\\uDBFF\\uDFFF\"", "\"\xf4\x8f\xbf\xbf\"" },
        { "\"\\u0000\"", "\"\\u0000\"" },
        { "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"" },
        { "\xef\xbb\xbf{\"bom\":1}", "{\"bom\":1}" },
        { "123456789012345678901234567890", "123456789012345678901234567890" },
        { "{\"\\u006b\":\"v\"}", "{\"k\":\"v\"}" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct arena a;
        arena_init(&a, 0);
        const struct json_value *root = NULL;
        if (CHECK_OK(s_parse(&a, cases[i].doc, &root))) {
            if (!CHECK_STR(s_render(&a, root), cases[i].compact)) {
                harness_note("case %zu", i);
            }
        } else {
            harness_note("case %zu: %s", i, cases[i].doc);
        }
        arena_free(&a);
    }
}

TEST(json_malformed_table) {
    static const char *const cases[] = {
        "",
        "   ",
        "nul",
        "nulll",
        "True",
        "undefined",
        "NaN",
        "Infinity",
        "-Infinity",
        "+1",
        "01",
        "-01",
        "1.",
        ".5",
        "1e",
        "1e+",
        "-",
        "0x10",
        "[1,]",
        "[,1]",
        "[1 2]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{a:1}",
        "{'a':1}",
        "{\"a\":1",
        "[1",
        "[",
        "{",
        "]",
        "}",
        "[1]]",
        "{} {}",
        "1 2",
        "\"open",
        "\"bad \\x escape\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"\\ud800\"",
        "\"\\ud800x\"",
        "\"\\ud800\\u0041\"",
        "\"\\udc00\"",
        "\"\\udc00\\ud800\"",
        "\"tab\there\"",
        "\"nl\nhere\"",
        "\"bad\xff\"",
        "\"\xc0\x80\"",
        "\"\xed\xa0\x80\"",
        "\"\xe2\x82\"",
        "/* c */ 1",
        "[1] // c",
        "\xef\xbb\xbf",
        "\"\\",
        "{\"a\":1}x",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct arena a;
        arena_init(&a, 0);
        const struct json_value *root = NULL;
        if (!CHECK_INT(s_parse(&a, cases[i], &root), ERR_PARSE)) {
            harness_note("case %zu: %s", i, cases[i]);
        }
        CHECK(root == NULL);
        arena_free(&a);
    }
    struct arena a;
    arena_init(&a, 0);
    const struct json_value *root = NULL;
    CHECK_INT(json_parse(&a, (struct span){ "[1]\0", 4 }, NULL, &root), ERR_PARSE);
    CHECK_INT(json_parse(&a, (struct span){ "\"a\0b\"", 5 }, NULL, &root), ERR_PARSE);
    arena_free(&a);
}

static void s_nested(struct buf *b, size_t depth, char open, char close) {
    for (size_t i = 0; i < depth; i++) {
        buf_append_char(b, open);
        if (open == '{') {
            buf_append_cstr(b, "\"k\":");
        }
    }
    buf_append_cstr(b, "1");
    for (size_t i = 0; i < depth; i++) {
        buf_append_char(b, close);
    }
}

TEST(json_limit_depth) {
    static const struct {
        size_t depth;
        size_t limit;
        char open, close;
        enum err want;
    } cases[] = {
        { JSON_MAX_DEPTH_DEFAULT, 0, '[', ']', ERR_OK },
        { JSON_MAX_DEPTH_DEFAULT + 1, 0, '[', ']', ERR_LIMIT },
        { JSON_MAX_DEPTH_DEFAULT, 0, '{', '}', ERR_OK },
        { JSON_MAX_DEPTH_DEFAULT + 1, 0, '{', '}', ERR_LIMIT },
        { 2, 2, '[', ']', ERR_OK },
        { 3, 2, '[', ']', ERR_LIMIT },
        { JSON_MAX_DEPTH_CEILING, SIZE_MAX, '[', ']', ERR_OK },
        { JSON_MAX_DEPTH_CEILING + 1, SIZE_MAX, '[', ']', ERR_LIMIT },
        { 1000000, 0, '[', ']', ERR_LIMIT },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, BUF_MAX_RESPONSE);
        s_nested(&b, cases[i].depth, cases[i].open, cases[i].close);
        REQUIRE_OK(buf_status(&b));
        struct arena a;
        arena_init(&a, 0);
        struct json_limits lim = { .max_depth = cases[i].limit };
        const struct json_value *root = NULL;
        if (!CHECK_INT(json_parse(&a, buf_span(&b), &lim, &root), cases[i].want)) {
            harness_note("case %zu", i);
        }
        arena_free(&a);
        buf_free(&b);
    }
}

TEST(json_limit_nodes_doc_number) {
    struct arena a;
    arena_init(&a, 0);
    const struct json_value *root = NULL;
    struct json_limits lim = { .max_nodes = 4 }; /* the object, two members, the array's one element = 4 */
    CHECK_OK(json_parse(&a, SPAN_LIT("{\"a\":1,\"b\":[2]}"), &lim, &root));
    lim.max_nodes = 3;
    CHECK_INT(json_parse(&a, SPAN_LIT("{\"a\":1,\"b\":[2]}"), &lim, &root), ERR_LIMIT);
    struct json_limits small = { .max_doc_bytes = 5 };
    CHECK_OK(json_parse(&a, SPAN_LIT("[1,2]"), &small, &root));
    CHECK_INT(json_parse(&a, SPAN_LIT("[1,23]"), &small, &root), ERR_LIMIT);
    CHECK_INT(json_parse(&a, (struct span){ "1", JSON_MAX_DOC_BYTES + 1 }, NULL, &root), ERR_LIMIT);
    char num[JSON_MAX_NUMBER_BYTES + 2];
    memset(num, '7', sizeof(num));
    CHECK_OK(json_parse(&a, (struct span){ num, JSON_MAX_NUMBER_BYTES }, NULL, &root));
    CHECK_INT(json_parse(&a, (struct span){ num, JSON_MAX_NUMBER_BYTES + 1 }, NULL, &root), ERR_LIMIT);
    arena_free(&a);
}

TEST(json_number_conversions_table) {
    static const struct {
        const char *lexeme;
        enum err i64_err;
        int64_t i64;
        enum err u64_err;
        uint64_t u64;
    } cases[] = {
        { "0", ERR_OK, 0, ERR_OK, 0 },
        { "-0", ERR_OK, 0, ERR_OK, 0 },
        { "42", ERR_OK, 42, ERR_OK, 42 },
        { "-42", ERR_OK, -42, ERR_LIMIT, 0 },
        { "9223372036854775807", ERR_OK, INT64_MAX, ERR_OK, (uint64_t) INT64_MAX },
        { "9223372036854775808", ERR_LIMIT, 0, ERR_OK, (uint64_t) INT64_MAX + 1 },
        { "-9223372036854775808", ERR_OK, INT64_MIN, ERR_LIMIT, 0 },
        { "-9223372036854775809", ERR_LIMIT, 0, ERR_LIMIT, 0 },
        { "18446744073709551615", ERR_LIMIT, 0, ERR_OK, UINT64_MAX },
        { "18446744073709551616", ERR_LIMIT, 0, ERR_LIMIT, 0 },
        { "99999999999999999999999999999999", ERR_LIMIT, 0, ERR_LIMIT, 0 },
        { "1.0", ERR_PARSE, 0, ERR_PARSE, 0 },
        { "1e3", ERR_PARSE, 0, ERR_PARSE, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct arena a;
        arena_init(&a, 0);
        const struct json_value *v = NULL;
        REQUIRE_OK(s_parse(&a, cases[i].lexeme, &v));
        int64_t s = 0;
        uint64_t u = 0;
        if (!CHECK_INT(json_as_i64(v, &s), cases[i].i64_err) || !CHECK_INT(json_as_u64(v, &u), cases[i].u64_err)) {
            harness_note("case %zu: %s", i, cases[i].lexeme);
        }
        if (cases[i].i64_err == ERR_OK) {
            CHECK(s == cases[i].i64);
        }
        if (cases[i].u64_err == ERR_OK) {
            CHECK(u == cases[i].u64);
        }
        arena_free(&a);
    }
    struct arena a;
    arena_init(&a, 0);
    const struct json_value *v = NULL;
    double d = 0;
    REQUIRE_OK(s_parse(&a, "[1.5e300, 1e400, -1e400, 1e-400, \"7\", 2.5]", &v));
    CHECK_OK(json_as_double(json_at(v, 0), &d));
    CHECK(d == 1.5e300);
    CHECK_INT(json_as_double(json_at(v, 1), &d), ERR_LIMIT);
    CHECK_INT(json_as_double(json_at(v, 2), &d), ERR_LIMIT);
    CHECK_OK(json_as_double(json_at(v, 3), &d));
    CHECK(d == 0.0);
    CHECK_INT(json_as_double(json_at(v, 4), &d), ERR_INVALID);
    int64_t s = 0;
    CHECK_INT(json_as_i64(json_at(v, 4), &s), ERR_INVALID);
    CHECK_INT(json_as_i64(NULL, &s), ERR_INVALID);
    CHECK_OK(json_as_double(json_at(v, 5), &d));
    CHECK(d == 2.5);
    arena_free(&a);
}

TEST(json_writer_dynamodb_put_item) {
    struct buf b;
    buf_init(&b, BUF_MAX_REQUEST);
    struct json_writer w;
    json_writer_init(&w, &b);
    json_write_object_begin(&w);
    json_write_key(&w, "TableName");
    json_write_cstr(&w, "smartvault-audit");
    json_write_key(&w, "Item");
    json_write_object_begin(&w);
    json_write_key(&w, "pk");
    json_write_object_begin(&w);
    json_write_key(&w, "S");
    json_write_string(&w, SPAN_LIT("snap-1 \"quoted\"\n"));
    json_write_object_end(&w);
    json_write_key(&w, "size");
    json_write_object_begin(&w);
    json_write_key(&w, "N");
    json_write_cstr(&w, "30");
    json_write_object_end(&w);
    json_write_key(&w, "tags");
    json_write_object_begin(&w);
    json_write_key(&w, "SS");
    json_write_array_begin(&w);
    json_write_cstr(&w, "a");
    json_write_cstr(&w, "b");
    json_write_array_end(&w);
    json_write_object_end(&w);
    json_write_object_end(&w);
    json_write_key_span(&w, SPAN_LIT("n"));
    json_write_array_begin(&w);
    json_write_i64(&w, INT64_MIN);
    json_write_u64(&w, UINT64_MAX);
    json_write_bool(&w, false);
    json_write_null(&w);
    json_write_raw(&w, SPAN_LIT("{\"pre\":1}"));
    json_write_array_end(&w);
    json_write_object_end(&w);
    CHECK_OK(json_writer_finish(&w));
    CHECK_STR(
      buf_cstr(&b),
      "{\"TableName\":\"smartvault-audit\",\"Item\":{\"pk\":{\"S\":\"snap-1 "
      "\\\"quoted\\\"\\n\"},\"size\":{\"N\":\"30\"},"
      "\"tags\":{\"SS\":[\"a\",\"b\"]}},\"n\":[-9223372036854775808,18446744073709551615,false,null,{\"pre\":1}]}");
    buf_free(&b);
}

TEST(json_writer_doubles) {
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        { 0.0, "0" },
        { -0.0, "-0" },
        { 0.1, "0.1" },
        { 1.0 / 3.0, "0.3333333333333333" },
        { 1e21, "1e+21" },
        { 123456.789, "123456.789" },
        { 5e-324, "4.94065645841247e-324" }, /* 15 digits already read back as the smallest subnormal */
        { 1.7976931348623157e308, "1.7976931348623157e+308" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 64);
        struct json_writer w;
        json_writer_init(&w, &b);
        json_write_double(&w, cases[i].v);
        CHECK_OK(json_writer_finish(&w));
        CHECK_STR(buf_cstr(&b), cases[i].want);
        buf_free(&b);
    }
}

/* Each sequence of calls must make the writer fail with `want` at the end. */
enum s_op { OB, OE, AB, AE, KEY, STR, INT, NANV, END };

TEST(json_writer_misuse_is_sticky) {
    static const struct {
        enum s_op ops[8];
        enum err want;
    } cases[] = {
        { { END }, ERR_INVALID },                 /* nothing written */
        { { OB, END }, ERR_INVALID },             /* still open */
        { { OB, STR, END }, ERR_INVALID },        /* value where a key is due */
        { { OB, KEY, KEY, END }, ERR_INVALID },   /* key where a value is due */
        { { OB, KEY, OE, END }, ERR_INVALID },    /* key without a value */
        { { AB, KEY, END }, ERR_INVALID },        /* key inside an array */
        { { KEY, END }, ERR_INVALID },            /* key at top level */
        { { AB, OE, END }, ERR_INVALID },         /* mismatched end */
        { { OE, END }, ERR_INVALID },             /* end without begin */
        { { INT, INT, END }, ERR_INVALID },       /* two top-level values */
        { { AB, NANV, AE, END }, ERR_INVALID },   /* NaN */
        { { AB, INT, AE, END }, ERR_OK },         /* and a good one */
        { { OB, KEY, AB, AE, OE, END }, ERR_OK }, /* another */
        { { STR, END }, ERR_OK },                 /* a top-level scalar */
        { { OB, KEY, STR, KEY, INT, OE, END }, ERR_OK },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 1024);
        struct json_writer w;
        json_writer_init(&w, &b);
        for (const enum s_op *op = cases[i].ops; *op != END; op++) {
            switch (*op) {
                case OB:
                    json_write_object_begin(&w);
                    break;
                case OE:
                    json_write_object_end(&w);
                    break;
                case AB:
                    json_write_array_begin(&w);
                    break;
                case AE:
                    json_write_array_end(&w);
                    break;
                case KEY:
                    json_write_key(&w, "k");
                    break;
                case STR:
                    json_write_cstr(&w, "s");
                    break;
                case INT:
                    json_write_i64(&w, 1);
                    break;
                case NANV:
                    json_write_double(&w, NAN);
                    break;
                case END:
                    break;
            }
        }
        if (!CHECK_INT(json_writer_finish(&w), cases[i].want)) {
            harness_note("case %zu: %s", i, buf_cstr(&b));
        }
        buf_free(&b);
    }
}

TEST(json_writer_limits) {
    /* Depth: JSON_WRITER_MAX_DEPTH arrays are fine, one more is ERR_LIMIT. */
    for (size_t depth = JSON_WRITER_MAX_DEPTH; depth <= JSON_WRITER_MAX_DEPTH + 1; depth++) {
        struct buf b;
        buf_init(&b, 4096);
        struct json_writer w;
        json_writer_init(&w, &b);
        for (size_t i = 0; i < depth; i++) {
            json_write_array_begin(&w);
        }
        for (size_t i = 0; i < depth; i++) {
            json_write_array_end(&w);
        }
        CHECK_INT(json_writer_finish(&w), depth == JSON_WRITER_MAX_DEPTH ? ERR_OK : ERR_LIMIT);
        buf_free(&b);
    }
    /* The buffer's maximum surfaces through finish. */
    struct buf b;
    buf_init(&b, 8);
    struct json_writer w;
    json_writer_init(&w, &b);
    json_write_cstr(&w, "longer than eight");
    CHECK_INT(json_writer_finish(&w), ERR_LIMIT);
    buf_free(&b);
    /* Invalid UTF-8 is replaced, never written through. */
    buf_init(&b, 64);
    json_writer_init(&w, &b);
    json_write_string(&w, SPAN_LIT("a\xff"));
    CHECK_OK(json_writer_finish(&w));
    CHECK_STR(buf_cstr(&b), "\"a\xef\xbf\xbd\"");
    buf_free(&b);
}

TEST(json_property_random_trees_round_trip) {
    /* Random documents built with the writer must parse, re-serialise identically, and compare equal. */
    uint64_t st = harness_seed();
    for (int iter = 0; iter < 500; iter++) {
        struct buf b;
        buf_init(&b, BUF_MAX_REQUEST);
        struct json_writer w;
        json_writer_init(&w, &b);
        /* A random walk of opens, closes and scalars. */
        bool stack[16];
        size_t depth = 0;
        json_write_array_begin(&w);
        stack[depth++] = false;
        int steps = (int) harness_rng_range(&st, 1, 60);
        for (int s = 0; s < steps; s++) {
            if (stack[depth - 1]) {
                char key[16];
                snprintf(key, sizeof(key), "k%d\xc3\xa9", s);
                json_write_key(&w, key);
            }
            int r = (int) harness_rng_range(&st, 0, 9);
            if (r == 0 && depth < 15) {
                json_write_object_begin(&w);
                stack[depth++] = true;
            } else if (r == 1 && depth < 15) {
                json_write_array_begin(&w);
                stack[depth++] = false;
            } else if (r == 2) {
                char str[8];
                for (size_t k = 0; k < sizeof(str); k++) {
                    str[k] = (char) harness_rng_range(&st, 0, 127);
                }
                json_write_string(&w, (struct span){ str, sizeof(str) });
            } else if (r == 3) {
                json_write_double(&w, (double) harness_rng_range(&st, -1000000, 1000000) / 977.0);
            } else if (r == 4) {
                json_write_i64(&w, (int64_t) harness_rng_next(&st));
            } else if (r == 5) {
                json_write_bool(&w, r & 1);
            } else {
                json_write_null(&w);
            }
            if (depth > 1 && harness_rng_range(&st, 0, 3) == 0) {
                if (stack[--depth]) {
                    json_write_object_end(&w);
                } else {
                    json_write_array_end(&w);
                }
            }
        }
        while (depth > 0) {
            if (stack[--depth]) {
                json_write_object_end(&w);
            } else {
                json_write_array_end(&w);
            }
        }
        if (!CHECK_OK(json_writer_finish(&w))) {
            buf_free(&b);
            return;
        }
        struct arena a;
        arena_init(&a, 0);
        const struct json_value *one = NULL, *two = NULL;
        if (CHECK_OK(json_parse(&a, buf_span(&b), NULL, &one))) {
            const char *again = s_render(&a, one);
            CHECK_STR(again, buf_cstr(&b));
            if (CHECK_OK(json_parse(&a, span_from_cstr(again), NULL, &two))) {
                CHECK(json_equal(one, two));
            }
            /* Every value read back as a double is finite. */
            for (const struct json_value *v = json_first(one); v; v = v->next) {
                double d = 0;
                if (v->type == JSON_NUMBER) {
                    CHECK_OK(json_as_double(v, &d));
                    CHECK(isfinite(d));
                }
            }
        } else {
            harness_note("seed %llu: %s", (unsigned long long) harness_seed(), buf_cstr(&b));
        }
        arena_free(&a);
        buf_free(&b);
    }
}

TEST(json_equal_distinguishes) {
    struct arena a;
    arena_init(&a, 0);
    static const char *const docs[] = {
        "{\"a\":1,\"b\":2}",
        "{\"b\":2,\"a\":1}",
        "{\"a\":1}",
        "[1,2]",
        "[1,2.0]",
        "\"1\"",
        "1",
        "null",
        "false",
        "true",
    };
    size_t n = sizeof(docs) / sizeof(docs[0]);
    const struct json_value *v[sizeof(docs) / sizeof(docs[0])];
    for (size_t i = 0; i < n; i++) {
        REQUIRE_OK(s_parse(&a, docs[i], &v[i]));
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            CHECK(json_equal(v[i], v[j]) == (i == j));
        }
    }
    arena_free(&a);
}

TEST(json_truncated_at_every_byte_fails) {
    const char *doc = "{\"Items\":[{\"pk\":{\"S\":\"a\\u00e9\\ud83d\\ude00\"},\"n\":{\"N\":\"-1.5e3\"}}],"
                      "\"Count\":1,\"LastEvaluatedKey\":null,\"ok\":true,\"no\":false}";
    size_t n = strlen(doc);
    for (size_t cut = 0; cut < n; cut++) {
        char *copy = malloc(cut ? cut : 1);
        REQUIRE(copy != NULL);
        memcpy(copy, doc, cut);
        struct arena a;
        arena_init(&a, 0);
        const struct json_value *root = NULL;
        enum err e = json_parse(&a, (struct span){ copy, cut }, NULL, &root);
        if (!CHECK_INT(e, ERR_PARSE)) {
            harness_note("cut at %zu", cut);
        }
        arena_free(&a);
        free(copy);
    }
}
