/*
 * test_html.c - the HTML writer's escaping: the five markup characters, hostile tag values, invalid UTF-8 and
 * control characters, and input split at every position (the escape of a whole equals the escapes of its parts
 * wherever no UTF-8 sequence is cut).
 */
#include "harness.h"

#include "codec/html.h"

#include <stdio.h>

struct html_case {
    const char *name;
    const char *in;
    size_t in_len; /* 0: strlen(in) */
    const char *want;
};

static const struct html_case s_cases[] = {
    { "empty", "", 0, "" },
    { "plain", "i-0abc web-1 /dev/xvda", 0, "i-0abc web-1 /dev/xvda" },
    { "five", "&<>\"'", 0, "&amp;&lt;&gt;&quot;&#39;" },
    { "hostile img tag", "<img src=x onerror=alert(1)>", 0, "&lt;img src=x onerror=alert(1)&gt;" },
    { "script tag", "</td><script>alert(1)</script>", 0, "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;" },
    { "attribute break", "x\" onmouseover=\"alert(1)", 0, "x&quot; onmouseover=&quot;alert(1)" },
    { "single quote break", "x' autofocus onfocus='a()", 0, "x&#39; autofocus onfocus=&#39;a()" },
    { "existing reference", "&lt;", 0, "&amp;lt;" },
    { "utf-8 kept", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xBE", 0, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xBE" },
    { "tab lf cr kept", "a\tb\nc\rd", 0, "a\tb\nc\rd" },
    { "nul",
      "a\0b",
      3,
      "a\xEF\xBF\xBD"
      "b" },
    { "c0 control", "a\x01\x1b[31mb", 0, "a\xEF\xBF\xBD\xEF\xBF\xBD[31mb" },
    { "del", "a\x7f", 0, "a\xEF\xBF\xBD" },
    { "c1 control", "a\xC2\x85z", 0, "a\xEF\xBF\xBDz" },
    { "lone continuation", "a\x80z", 0, "a\xEF\xBF\xBDz" },
    { "truncated sequence", "a\xE2\x82", 0, "a\xEF\xBF\xBD\xEF\xBF\xBD" },
    { "overlong slash", "\xC0\xAF", 0, "\xEF\xBF\xBD\xEF\xBF\xBD" },
    { "overlong lt",
      "\xC0\xBC"
      "script",
      0,
      "\xEF\xBF\xBD\xEF\xBF\xBDscript" },
    { "surrogate", "\xED\xA0\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
    { "past U+10FFFF", "\xF4\x90\x80\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
    { "bidi override kept",
      "\xE2\x80\xAE"
      "abc",
      0,
      "\xE2\x80\xAE"
      "abc" },
};

TEST(html_text_escapes_every_case) {
    for (size_t i = 0; i < sizeof(s_cases) / sizeof(s_cases[0]); i++) {
        const struct html_case *c = &s_cases[i];
        struct span in = { c->in, c->in_len ? c->in_len : strlen(c->in) };
        struct buf b;
        buf_init(&b, BUF_MAX_SMALL);
        html_text(&b, in);
        REQUIRE_OK(buf_status(&b));
        if (!CHECK_STR(buf_cstr(&b), c->want)) {
            harness_note("case: %s", c->name);
        }
        CHECK_INT(html_text_len(in), strlen(c->want));
        buf_free(&b);
    }
}

/* No output ever holds a markup character that was not written as a reference. */
TEST(html_text_never_emits_markup_for_random_bytes) {
    uint64_t rng = harness_seed();
    for (int round = 0; round < 2000; round++) {
        unsigned char in[64];
        size_t n = (size_t) harness_rng_range(&rng, 0, sizeof(in));
        for (size_t i = 0; i < n; i++) {
            in[i] = (unsigned char) harness_rng_range(&rng, 0, 255);
        }
        struct buf b;
        buf_init(&b, BUF_MAX_SMALL);
        html_text(&b, (struct span){ (const char *) in, n });
        REQUIRE_OK(buf_status(&b));
        const char *o = buf_cstr(&b);
        bool ok = strlen(o) == b.len; /* no NUL inside */
        for (size_t i = 0; i < b.len; i++) {
            ok = ok && o[i] != '<' && o[i] != '>' && o[i] != '"' && o[i] != '\'';
            unsigned char c = (unsigned char) o[i];
            ok = ok && !(c < 0x20 && c != '\t' && c != '\n' && c != '\r') && c != 0x7f;
            if (o[i] == '&') {
                ok = ok && (strncmp(o + i, "&amp;", 5) == 0 || strncmp(o + i, "&lt;", 4) == 0 ||
                            strncmp(o + i, "&gt;", 4) == 0 || strncmp(o + i, "&quot;", 6) == 0 ||
                            strncmp(o + i, "&#39;", 5) == 0);
            }
        }
        if (!CHECK(ok)) {
            harness_note("round %d, output %s", round, o);
            buf_free(&b);
            return;
        }
        CHECK_INT(html_text_len((struct span){ (const char *) in, n }), b.len);
        buf_free(&b);
    }
}

/* Split at every position of an ASCII hostile value: the parts escape to the whole. */
TEST(html_text_split_at_every_position) {
    const char *in = "<img src=x onerror=alert(1)> & \"q\" 'a'";
    struct buf whole;
    buf_init(&whole, BUF_MAX_SMALL);
    html_cstr(&whole, in);
    for (size_t cut = 0; cut <= strlen(in); cut++) {
        struct buf b;
        buf_init(&b, BUF_MAX_SMALL);
        html_text(&b, (struct span){ in, cut });
        html_text(&b, (struct span){ in + cut, strlen(in) - cut });
        CHECK_STR(buf_cstr(&b), buf_cstr(&whole));
        buf_free(&b);
    }
    buf_free(&whole);
}

TEST(html_cstr_null_appends_nothing) {
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    html_cstr(&b, NULL);
    CHECK_INT(b.len, 0);
    buf_free(&b);
}

/* Past the buffer's maximum the error is sticky, as for every builder. */
TEST(html_text_past_the_buffer_maximum_is_a_sticky_error) {
    struct buf b;
    buf_init(&b, 8);
    html_cstr(&b, "<<<");
    CHECK(buf_status(&b) == ERR_LIMIT);
    buf_free(&b);
}
