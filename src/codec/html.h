/*
 * html.h - the escaping HTML writer: every byte of text that did not come from our own templates goes through
 * here on its way into a page (backup/webreport).
 *
 * One escaping rule for text content and for double-quoted attribute values (HTML Living Standard, "13.1.2.3
 * Attributes" and "13.1.3 Text"): `&` `<` `>` `"` `'` become character references, so a value can neither close
 * the element or the attribute it sits in nor open a new tag. Beyond the five characters:
 *   - invalid UTF-8 (bad or truncated sequences, overlong forms, surrogates) becomes U+FFFD, one per bad byte,
 *     so the page is always valid UTF-8 whatever bytes a tag value holds;
 *   - C0 controls other than TAB, LF and CR, DEL, and the C1 controls (U+0080-U+009F) become U+FFFD: HTML calls
 *     them parse errors and some browsers render them as invisible glyphs;
 *   - U+0000 becomes U+FFFD (the HTML parser would do the same, but a NUL must never reach a C string).
 * Nothing else is touched: non-ASCII text stays as it is (the page declares UTF-8).
 *
 * What it does not do: escape for a <script> or <style> body, a URL attribute (href, src) or an unquoted
 * attribute. The page never puts data in any of those places; callers must not either.
 */
#ifndef SV_CODEC_HTML_H
#define SV_CODEC_HTML_H

#include "base/buf.h"
#include "base/span.h"

#include <stdint.h>

/* Appends s escaped for HTML text or a double-quoted attribute value (see above). */
void html_text(struct buf *b, struct span s);
/* The same for a C string; NULL appends nothing. */
void html_cstr(struct buf *b, const char *s);
/* Bytes html_text would append for s (for size checks in tests). */
size_t html_text_len(struct span s);

#endif
