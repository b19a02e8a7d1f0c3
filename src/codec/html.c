/*
 * html.c - escaping text for HTML pages: the five markup characters as references, invalid UTF-8 and control
 * characters as U+FFFD (html.h states the rule).
 *
 * It works on runs: the longest run of bytes that need nothing is appended in one call, so a page of mostly
 * plain ids costs one memcpy per value. It does not build elements, attributes or documents: the page renderer
 * (backup/webreport) writes its own fixed markup and calls this for every value.
 */
#include "codec/html.h"

#include "base/utf8.h"

#include <string.h>

#define HTML_REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD in UTF-8 */

/* The reference for one of the five markup characters, or NULL. */
static const char *s_reference(unsigned char c) {
    switch (c) {
        case '&':
            return "&amp;";
        case '<':
            return "&lt;";
        case '>':
            return "&gt;";
        case '"':
            return "&quot;";
        case '\'':
            return "&#39;";
        default:
            return NULL;
    }
}

static bool s_control(uint32_t cp) {
    return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || (cp >= 0x7f && cp <= 0x9f);
}

/*
 * How the byte sequence at p is written: *len bytes of input are consumed; the return value is what to append
 * instead (NULL: the bytes themselves).
 */
static const char *s_classify(const unsigned char *p, size_t n, size_t *len) {
    if (p[0] < 0x80) {
        *len = 1;
        const char *ref = s_reference(p[0]);
        return ref ? ref : s_control(p[0]) ? HTML_REPLACEMENT : NULL;
    }
    uint32_t cp = 0;
    size_t k = utf8_decode(p, n, &cp);
    if (k == 0) {
        *len = 1;
        return HTML_REPLACEMENT;
    }
    *len = k;
    return s_control(cp) ? HTML_REPLACEMENT : NULL;
}

void html_text(struct buf *b, struct span s) {
    const unsigned char *p = (const unsigned char *) s.p;
    size_t run = 0, i = 0;
    while (i < s.n) {
        size_t len = 0;
        const char *instead = s_classify(p + i, s.n - i, &len);
        if (instead == NULL) {
            i += len;
            continue;
        }
        buf_append(b, p + run, i - run);
        buf_append_cstr(b, instead);
        i += len;
        run = i;
    }
    buf_append(b, p + run, s.n - run);
}

void html_cstr(struct buf *b, const char *s) {
    if (s != NULL) {
        html_text(b, span_from_cstr(s));
    }
}

size_t html_text_len(struct span s) {
    const unsigned char *p = (const unsigned char *) s.p;
    size_t total = 0, i = 0;
    while (i < s.n) {
        size_t len = 0;
        const char *instead = s_classify(p + i, s.n - i, &len);
        total += instead ? strlen(instead) : len;
        i += len;
    }
    return total;
}
