/*
 * xml.c - a bounded, non-validating XML 1.0 reader that builds a read-only tree in an arena.
 *
 * It is written for the documents AWS sends back (Query and REST-XML responses, error documents), which use one
 * default namespace, no DTD and few attributes. It is one pass over the input with an explicit stack (never
 * recursion), so neither depth nor size can exhaust the C stack, and every count it keeps has a named maximum.
 * Before the pass, one loop checks that the whole document is UTF-8 and free of the control characters XML 1.0
 * forbids (§2.2 "Char"), so the pass itself only ever has to look at ASCII.
 *
 * Character data of open elements is gathered in one heap scratch buffer used as a stack: an element's text
 * starts where the buffer ended when the element opened, each child truncates it back when it closes, and the
 * element copies its (now contiguous) text into the arena when it closes. Attribute values are decoded the same
 * way.
 *
 * What it does not do: DTDs of any kind (DOCTYPE is refused, so there is no entity expansion), namespace
 * resolution (prefixes are dropped, see xml.h), encodings other than UTF-8, validation of the XML declaration's
 * content, and writing XML (SmartVault only ever sends form-encoded or JSON requests).
 */
#include "codec/xml.h"

#include "base/utf8.h"

#include "base/buf.h"

#include <inttypes.h>
#include <string.h>

const struct xml_limits xml_limits_default = {
    .max_doc_bytes = XML_MAX_DOC_BYTES,
    .max_depth = XML_MAX_DEPTH_DEFAULT,
    .max_nodes = XML_MAX_NODES_DEFAULT,
};

/* Longest entity or character reference body we look at before deciding it is malformed ("#x" + leading zeros
 * are allowed by the grammar, so this bounds only the scan, not the value, which is checked as it is read). */
#define XML_MAX_REF_BYTES ((size_t) 32)

/* One open element. */
struct s_frame {
    struct xml_node *node;
    struct span qname; /* the name as written in the start tag, prefix included: the end tag must match it */
    struct xml_node *last_child;
    size_t text_start; /* where this element's text starts in the scratch buffer */
};

struct s_parser {
    struct arena *arena;
    const char *p;
    size_t n;
    size_t pos;
    struct xml_limits lim;
    size_t nodes;
    struct s_frame *stack;
    size_t depth;
    struct buf scratch;
    bool seen_markup; /* a comment, PI or element has been read: an XML declaration may no longer come */
};

#define XML_FAIL_AT(ps, code, what) FAIL((code), "xml: %s at byte %zu", (what), (ps)->pos)

static const struct span s_empty = { "", 0 };

/* ---- UTF-8 and character classes -------------------------------------------------------------------------- */

/* XML 1.0 §2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF] */
static bool s_is_xml_char(uint32_t cp) {
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
           (cp >= 0x10000 && cp <= 0x10ffff);
}

/* Appends cp (already checked to be a valid scalar value) as UTF-8. */
static void s_append_utf8(struct buf *b, uint32_t cp) {
    char out[UTF8_MAX_SEQ];
    buf_append(b, out, utf8_encode(cp, out));
}

static enum err s_check_chars(struct s_parser *ps) {
    const unsigned char *p = (const unsigned char *) ps->p;
    size_t i = 0;
    while (i < ps->n) {
        if (p[i] >= 0x20 && p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t len = utf8_decode(p + i, ps->n - i, &cp);
        ps->pos = i;
        ENSURE(len != 0, ERR_PARSE, "xml: invalid UTF-8 at byte %zu", i);
        ENSURE(s_is_xml_char(cp), ERR_PARSE, "xml: character U+%04X not allowed at byte %zu", (unsigned) cp, i);
        i += len;
    }
    ps->pos = 0;
    return ERR_OK;
}

static bool s_is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* XML 1.0 §2.3 NameStartChar, restricted to ASCII plus "any non-ASCII character" (AWS names are ASCII). */
static bool s_is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (unsigned char) c >= 0x80;
}

static bool s_is_name_char(char c) {
    return s_is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* ---- cursor ----------------------------------------------------------------------------------------------- */

static bool s_at_end(const struct s_parser *ps) {
    return ps->pos >= ps->n;
}

static bool s_looking_at(const struct s_parser *ps, const char *lit) {
    size_t len = strlen(lit);
    return ps->n - ps->pos >= len && memcmp(ps->p + ps->pos, lit, len) == 0;
}

static void s_skip_space(struct s_parser *ps) {
    while (!s_at_end(ps) && s_is_space(ps->p[ps->pos])) {
        ps->pos++;
    }
}

/* Moves past the next occurrence of `end` (searching from pos). False, pos unchanged, if there is none. */
static bool s_skip_past(struct s_parser *ps, const char *end) {
    size_t len = strlen(end);
    for (size_t i = ps->pos; ps->n - i >= len; i++) {
        if (ps->p[i] == end[0] && memcmp(ps->p + i, end, len) == 0) {
            ps->pos = i + len;
            return true;
        }
    }
    return false;
}

/* ---- names, references, character data ---------------------------------------------------------------------- */

/*
 * Reads a qualified name at pos. *qname is the name as written; *local is the part after the prefix
 * (Namespaces in XML 1.0 §4: QName ::= Prefix ':' LocalPart, so at most one colon and neither part empty).
 */
static enum err s_read_name(struct s_parser *ps, struct span *qname, struct span *local) {
    size_t start = ps->pos;
    if (s_at_end(ps) || !s_is_name_start(ps->p[ps->pos])) {
        XML_FAIL_AT(ps, ERR_PARSE, "expected a name");
    }
    while (!s_at_end(ps) && s_is_name_char(ps->p[ps->pos])) {
        ps->pos++;
        if (ps->pos - start > XML_MAX_NAME_BYTES) {
            XML_FAIL_AT(ps, ERR_LIMIT, "name longer than XML_MAX_NAME_BYTES");
        }
    }
    *qname = (struct span){ ps->p + start, ps->pos - start };
    struct span prefix, rest;
    if (!span_split(*qname, ':', &prefix, &rest)) {
        *local = *qname;
        return ERR_OK;
    }
    if (prefix.n == 0 || rest.n == 0 || span_index(rest, ':') >= 0 || !s_is_name_start(rest.p[0])) {
        XML_FAIL_AT(ps, ERR_PARSE, "malformed qualified name");
    }
    *local = rest;
    return ERR_OK;
}

/* Decodes the reference at pos ('&' ... ';') and appends its replacement. XML 1.0 §4.1 and §4.6. */
/* complexity: the five entities and both numeric forms of §4.1, each with its own bound check */
static enum err s_read_reference(struct s_parser *ps) {
    size_t start = ps->pos + 1;
    size_t end = start;
    while (end < ps->n && ps->p[end] != ';' && end - start < XML_MAX_REF_BYTES) {
        end++;
    }
    if (end >= ps->n || ps->p[end] != ';') {
        XML_FAIL_AT(ps, ERR_PARSE, "unterminated or overlong reference");
    }
    struct span ref = { ps->p + start, end - start };
    static const struct {
        const char *name;
        char c;
    } predefined[] = { { "lt", '<' }, { "gt", '>' }, { "amp", '&' }, { "quot", '"' }, { "apos", '\'' } };
    for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
        if (span_eq_cstr(ref, predefined[i].name)) {
            buf_append_char(&ps->scratch, predefined[i].c);
            ps->pos = end + 1;
            return ERR_OK;
        }
    }
    if (ref.n < 2 || ref.p[0] != '#') {
        XML_FAIL_AT(ps, ERR_PARSE, "unknown entity (only the five predefined ones exist without a DTD)");
    }
    bool hex = ref.p[1] == 'x';
    size_t i = hex ? 2 : 1;
    if (i == ref.n) {
        XML_FAIL_AT(ps, ERR_PARSE, "empty character reference");
    }
    uint32_t cp = 0;
    for (; i < ref.n; i++) {
        char c = ref.p[i];
        uint32_t d;
        if (c >= '0' && c <= '9') {
            d = (uint32_t) (c - '0');
        } else if (hex && c >= 'a' && c <= 'f') {
            d = (uint32_t) (c - 'a' + 10);
        } else if (hex && c >= 'A' && c <= 'F') {
            d = (uint32_t) (c - 'A' + 10);
        } else {
            XML_FAIL_AT(ps, ERR_PARSE, "bad digit in character reference");
        }
        cp = cp * (hex ? 16 : 10) + d;
        if (cp > 0x10ffff) {
            XML_FAIL_AT(ps, ERR_PARSE, "character reference beyond U+10FFFF");
        }
    }
    /* "Characters referred to using character references MUST match the production for Char." (§4.1) */
    if (!s_is_xml_char(cp)) {
        XML_FAIL_AT(ps, ERR_PARSE, "character reference to a character XML does not allow");
    }
    s_append_utf8(&ps->scratch, cp);
    ps->pos = end + 1;
    return ERR_OK;
}

/*
 * Decodes character data from pos up to the byte `stop` (not consumed) and appends it to the scratch buffer.
 * Text stops at '<' or the end of input (the caller decides what an end means); an attribute value stops at its
 * quote, and may not contain '<' (§3.1 AttValue). Line ends become "\n" (§2.11); in attribute values, tab and
 * newline then become spaces (§3.3.3).
 */
/* complexity: the character-data rules of §2.4, §2.11 and §3.3.3 in one loop over the input */
static enum err s_read_chars(struct s_parser *ps, char stop, bool attr) {
    while (!s_at_end(ps)) {
        size_t run = ps->pos;
        while (run < ps->n) {
            char c = ps->p[run];
            if (c == stop || c == '<' || c == '&' || c == '\r' || (attr && (c == '\n' || c == '\t'))) {
                break;
            }
            run++;
        }
        buf_append(&ps->scratch, ps->p + ps->pos, run - ps->pos);
        ps->pos = run;
        if (s_at_end(ps)) {
            break;
        }
        char c = ps->p[ps->pos];
        if (c == stop) {
            return ERR_OK;
        }
        if (c == '<') {
            XML_FAIL_AT(ps, ERR_PARSE, "'<' in attribute value");
        }
        if (c == '&') {
            TRY(s_read_reference(ps));
            continue;
        }
        if (c == '\r') {
            ps->pos++;
            if (!s_at_end(ps) && ps->p[ps->pos] == '\n') {
                ps->pos++;
            }
        } else {
            ps->pos++;
        }
        buf_append_char(&ps->scratch, attr ? ' ' : '\n');
    }
    if (attr) {
        XML_FAIL_AT(ps, ERR_PARSE, "unterminated attribute value");
    }
    return ERR_OK;
}

/* Appends a CDATA section's content (pos is just past "<![CDATA["), normalising line ends only. */
static enum err s_read_cdata(struct s_parser *ps) {
    size_t start = ps->pos;
    if (!s_skip_past(ps, "]]>")) {
        XML_FAIL_AT(ps, ERR_PARSE, "unterminated CDATA section");
    }
    size_t end = ps->pos - 3;
    size_t i = start;
    while (i < end) {
        const char *cr = memchr(ps->p + i, '\r', end - i);
        size_t run = cr ? (size_t) (cr - ps->p) : end;
        buf_append(&ps->scratch, ps->p + i, run - i);
        if (run == end) {
            break;
        }
        buf_append_char(&ps->scratch, '\n');
        i = run + 1;
        if (i < end && ps->p[i] == '\n') {
            i++;
        }
    }
    return ERR_OK;
}

/* Moves the scratch bytes from `start` into the arena, then truncates the scratch buffer back to start. */
static enum err s_take_scratch(struct s_parser *ps, size_t start, bool drop_if_space, struct span *out) {
    TRY(buf_status(&ps->scratch));
    struct span s = { ps->scratch.data ? ps->scratch.data + start : "", ps->scratch.len - start };
    bool all_space = true;
    for (size_t i = 0; i < s.n && all_space; i++) {
        all_space = s_is_space(s.p[i]);
    }
    if (s.n == 0 || (drop_if_space && all_space)) {
        *out = s_empty;
    } else {
        *out = arena_span_dup(ps->arena, s);
    }
    buf_truncate(&ps->scratch, start);
    return ERR_OK;
}

/* ---- markup ----------------------------------------------------------------------------------------------- */

/* Comments, processing instructions and markup declarations: pos is at '<'. *handled false if it is none. */
static enum err s_skip_misc(struct s_parser *ps, bool *handled) {
    *handled = true;
    if (s_looking_at(ps, "<!--")) {
        ps->pos += 4;
        if (!s_skip_past(ps, "-->")) {
            XML_FAIL_AT(ps, ERR_PARSE, "unterminated comment");
        }
        ps->seen_markup = true;
        return ERR_OK;
    }
    if (s_looking_at(ps, "<?")) {
        ps->pos += 2;
        struct span target, local;
        TRY(s_read_name(ps, &target, &local));
        /* "The target names XML, xml, and so on are reserved" (§2.6): only the declaration, and only first.
         * Whitespace before it is tolerated, against §2.8: S3 sends whitespace to keep a long CopyObject's
         * connection alive before the body (which may then be an <Error>). */
        if (span_eq_nocase(target, SPAN_LIT("xml")) && ps->seen_markup) {
            XML_FAIL_AT(ps, ERR_PARSE, "XML declaration not at the start of the document");
        }
        if (!s_skip_past(ps, "?>")) {
            XML_FAIL_AT(ps, ERR_PARSE, "unterminated processing instruction");
        }
        ps->seen_markup = true;
        return ERR_OK;
    }
    if (s_looking_at(ps, "<!") && !s_looking_at(ps, "<![CDATA[")) {
        XML_FAIL_AT(ps, ERR_PARSE, "DOCTYPE and markup declarations are not accepted");
    }
    *handled = false;
    return ERR_OK;
}

static enum err s_count_node(struct s_parser *ps) {
    if (ps->nodes >= ps->lim.max_nodes) {
        XML_FAIL_AT(ps, ERR_LIMIT, "more nodes than the limit");
    }
    ps->nodes++;
    return ERR_OK;
}

/* Reads the attributes of a start tag, up to (not including) '>' or "/>". */
/* complexity: §3.1 Attribute grammar (name, Eq, quoted value, uniqueness, limit) read left to right */
static enum err s_read_attrs(struct s_parser *ps, struct xml_node *node) {
    struct span seen[XML_MAX_ATTRS];
    size_t nseen = 0;
    struct xml_attr *tail = NULL;
    for (;;) {
        size_t before = ps->pos;
        s_skip_space(ps);
        if (s_at_end(ps)) {
            XML_FAIL_AT(ps, ERR_PARSE, "unterminated start tag");
        }
        char c = ps->p[ps->pos];
        if (c == '>' || c == '/') {
            return ERR_OK;
        }
        /* §3.1: STag ::= '<' Name (S Attribute)* S? '>' - attributes are separated by whitespace. */
        if (ps->pos == before) {
            XML_FAIL_AT(ps, ERR_PARSE, "expected whitespace before an attribute");
        }
        struct span qname, local;
        TRY(s_read_name(ps, &qname, &local));
        if (nseen == XML_MAX_ATTRS) {
            XML_FAIL_AT(ps, ERR_LIMIT, "more attributes than XML_MAX_ATTRS");
        }
        for (size_t i = 0; i < nseen; i++) {
            if (span_eq(seen[i], qname)) {
                XML_FAIL_AT(ps, ERR_PARSE, "duplicate attribute");
            }
        }
        seen[nseen++] = qname;
        s_skip_space(ps);
        if (s_at_end(ps) || ps->p[ps->pos] != '=') {
            XML_FAIL_AT(ps, ERR_PARSE, "expected '=' after attribute name");
        }
        ps->pos++;
        s_skip_space(ps);
        if (s_at_end(ps) || (ps->p[ps->pos] != '"' && ps->p[ps->pos] != '\'')) {
            XML_FAIL_AT(ps, ERR_PARSE, "expected a quoted attribute value");
        }
        char quote = ps->p[ps->pos++];
        size_t start = ps->scratch.len;
        TRY(s_read_chars(ps, quote, true));
        ps->pos++; /* the closing quote */
        struct span value;
        TRY(s_take_scratch(ps, start, false, &value));
        bool is_xmlns = span_eq_cstr(qname, "xmlns") || span_starts_with(qname, SPAN_LIT("xmlns:"));
        if (is_xmlns) {
            continue;
        }
        TRY(s_count_node(ps));
        struct xml_attr *attr = ARENA_NEW(ps->arena, struct xml_attr);
        attr->name = arena_span_dup(ps->arena, local);
        attr->value = value;
        if (tail) {
            tail->next = attr;
        } else {
            node->attrs = attr;
        }
        tail = attr;
    }
}

/* Reads a start tag (pos at '<'), links the new element under the current one and opens it unless it is empty. */
static enum err s_start_element(struct s_parser *ps) {
    ps->seen_markup = true;
    ps->pos++;
    struct span qname, local;
    TRY(s_read_name(ps, &qname, &local));
    if (ps->depth >= ps->lim.max_depth) {
        XML_FAIL_AT(ps, ERR_LIMIT, "elements nested deeper than the limit");
    }
    TRY(s_count_node(ps));
    struct xml_node *node = arena_alloc(ps->arena, sizeof(*node) + local.n + 1);
    char *name = (char *) (node + 1);
    memcpy(name, local.p, local.n);
    node->name = (struct span){ name, local.n };
    node->text = s_empty;
    if (ps->depth > 0) {
        struct s_frame *parent = &ps->stack[ps->depth - 1];
        node->parent = parent->node;
        if (parent->last_child) {
            parent->last_child->next_sibling = node;
        } else {
            parent->node->first_child = node;
        }
        parent->last_child = node;
    }
    TRY(s_read_attrs(ps, node));
    if (ps->p[ps->pos] == '/') {
        ps->pos++;
        if (s_at_end(ps) || ps->p[ps->pos] != '>') {
            XML_FAIL_AT(ps, ERR_PARSE, "expected '>' after '/'");
        }
        ps->pos++;
        if (ps->depth == 0) {
            ps->stack[0].node = node; /* an empty root: keep it for the caller */
        }
        return ERR_OK;
    }
    ps->pos++; /* '>' */
    ps->stack[ps->depth++] = (struct s_frame){
        .node = node,
        .qname = qname,
        .last_child = NULL,
        .text_start = ps->scratch.len,
    };
    return ERR_OK;
}

/* Reads an end tag (pos at "</") and closes the current element. */
static enum err s_end_element(struct s_parser *ps) {
    ps->pos += 2;
    struct span qname, local;
    TRY(s_read_name(ps, &qname, &local));
    s_skip_space(ps);
    if (s_at_end(ps) || ps->p[ps->pos] != '>') {
        XML_FAIL_AT(ps, ERR_PARSE, "expected '>' to end the end tag");
    }
    struct s_frame *top = &ps->stack[ps->depth - 1];
    if (!span_eq(qname, top->qname)) {
        XML_FAIL_AT(ps, ERR_PARSE, "end tag does not match the start tag");
    }
    ps->pos++;
    TRY(s_take_scratch(ps, top->text_start, top->last_child != NULL, &top->node->text));
    ps->depth--;
    return ERR_OK;
}

/* The content of the open elements, until the root closes. */
static enum err s_read_content(struct s_parser *ps) {
    while (ps->depth > 0) {
        TRY(s_read_chars(ps, '<', false));
        if (s_at_end(ps)) {
            XML_FAIL_AT(ps, ERR_PARSE, "document ends inside an element");
        }
        if (s_looking_at(ps, "</")) {
            TRY(s_end_element(ps));
            continue;
        }
        if (s_looking_at(ps, "<![CDATA[")) {
            ps->pos += 9;
            TRY(s_read_cdata(ps));
            continue;
        }
        bool handled = false;
        TRY(s_skip_misc(ps, &handled));
        if (!handled) {
            TRY(s_start_element(ps));
        }
    }
    return ERR_OK;
}

/* Whitespace, comments and processing instructions before or after the root (§2.8 Misc). */
static enum err s_read_misc(struct s_parser *ps, bool *at_element) {
    *at_element = false;
    for (;;) {
        s_skip_space(ps);
        if (s_at_end(ps)) {
            return ERR_OK;
        }
        if (ps->p[ps->pos] != '<') {
            XML_FAIL_AT(ps, ERR_PARSE, "text outside the root element");
        }
        if (s_looking_at(ps, "<![CDATA[")) {
            XML_FAIL_AT(ps, ERR_PARSE, "CDATA outside the root element");
        }
        bool handled = false;
        TRY(s_skip_misc(ps, &handled));
        if (!handled) {
            *at_element = true;
            return ERR_OK;
        }
    }
}

static enum err s_parse(struct s_parser *ps, const struct xml_node **root) {
    TRY(s_check_chars(ps));
    if (s_looking_at(ps, "\xef\xbb\xbf")) {
        ps->p += 3; /* the byte order mark: offsets in messages count from after it */
        ps->n -= 3;
    }
    bool at_element = false;
    TRY(s_read_misc(ps, &at_element));
    if (!at_element) {
        XML_FAIL_AT(ps, ERR_PARSE, "no root element");
    }
    if (s_looking_at(ps, "</")) {
        XML_FAIL_AT(ps, ERR_PARSE, "end tag before the root element");
    }
    TRY(s_start_element(ps));
    struct xml_node *top = ps->stack[0].node;
    TRY(s_read_content(ps));
    TRY(s_read_misc(ps, &at_element));
    if (at_element) {
        XML_FAIL_AT(ps, ERR_PARSE, "a second element after the root");
    }
    *root = top;
    return ERR_OK;
}

static size_t s_limit(size_t want, size_t dflt, size_t ceiling) {
    if (want == 0) {
        return dflt;
    }
    return want < ceiling ? want : ceiling;
}

enum err
xml_parse(struct arena *arena, struct span doc, const struct xml_limits *limits, const struct xml_node **root) {
    const struct xml_limits *want = limits ? limits : &xml_limits_default;
    struct s_parser ps = {
        .arena = arena,
        .p = doc.p ? doc.p : "",
        .n = doc.p ? doc.n : 0, /* a NULL span is empty, whatever its length says */
        .lim = {
            .max_doc_bytes = s_limit(want->max_doc_bytes, XML_MAX_DOC_BYTES, XML_MAX_DOC_BYTES),
            .max_depth = s_limit(want->max_depth, XML_MAX_DEPTH_DEFAULT, XML_MAX_DEPTH_CEILING),
            .max_nodes = s_limit(want->max_nodes, XML_MAX_NODES_DEFAULT, SIZE_MAX),
        },
    };
    ENSURE(doc.n <= ps.lim.max_doc_bytes, ERR_LIMIT, "xml: document of %zu bytes is over the limit", doc.n);
    ps.stack = ARENA_NEW_ARRAY(arena, struct s_frame, ps.lim.max_depth);
    buf_init(&ps.scratch, doc.n);
    enum err e = s_parse(&ps, root);
    buf_free(&ps.scratch);
    return e;
}

/* ---- lookups ---------------------------------------------------------------------------------------------- */

static bool s_name_is(const struct xml_node *node, const char *name) {
    return name == NULL || span_eq_cstr(node->name, name);
}

const struct xml_node *xml_child(const struct xml_node *node, const char *name) {
    if (node == NULL) {
        return NULL;
    }
    for (const struct xml_node *c = node->first_child; c; c = c->next_sibling) {
        if (s_name_is(c, name)) {
            return c;
        }
    }
    return NULL;
}

const struct xml_node *xml_first(const struct xml_node *parent, const char *name) {
    return xml_child(parent, name);
}

const struct xml_node *xml_next(const struct xml_node *node, const char *name) {
    if (node == NULL) {
        return NULL;
    }
    for (const struct xml_node *c = node->next_sibling; c; c = c->next_sibling) {
        if (s_name_is(c, name)) {
            return c;
        }
    }
    return NULL;
}

size_t xml_count(const struct xml_node *parent, const char *name) {
    size_t n = 0;
    for (const struct xml_node *c = xml_first(parent, name); c; c = xml_next(c, name)) {
        n++;
    }
    return n;
}

const struct xml_node *xml_path(const struct xml_node *node, const char *path) {
    if (path == NULL || *path == '\0') {
        return NULL;
    }
    struct span rest = span_from_cstr(path);
    while (node) {
        struct span step, tail;
        bool more = span_split(rest, '/', &step, &tail);
        if (step.n == 0) {
            return NULL;
        }
        const struct xml_node *c = node->first_child;
        while (c && !span_eq(c->name, step)) {
            c = c->next_sibling;
        }
        node = c;
        if (!more) {
            return node;
        }
        rest = tail;
    }
    return NULL;
}

struct span xml_text(const struct xml_node *node) {
    return node ? node->text : s_empty;
}

struct span xml_child_text(const struct xml_node *node, const char *name) {
    return xml_text(xml_child(node, name));
}

struct span xml_path_text(const struct xml_node *node, const char *path) {
    return xml_text(xml_path(node, path));
}

static const struct xml_attr *s_find_attr(const struct xml_node *node, const char *name) {
    if (node == NULL || name == NULL) {
        return NULL;
    }
    for (const struct xml_attr *a = node->attrs; a; a = a->next) {
        if (span_eq_cstr(a->name, name)) {
            return a;
        }
    }
    return NULL;
}

struct span xml_attr(const struct xml_node *node, const char *name) {
    const struct xml_attr *a = s_find_attr(node, name);
    return a ? a->value : s_empty;
}

bool xml_has_attr(const struct xml_node *node, const char *name) {
    return s_find_attr(node, name) != NULL;
}

enum err xml_child_bool(const struct xml_node *node, const char *name, bool *out) {
    const struct xml_node *c = xml_child(node, name);
    ENSURE(c != NULL, ERR_NOT_FOUND, "xml: no <%s> element", name ? name : "*");
    struct span t = span_trim(c->text);
    if (span_eq_cstr(t, "true")) {
        *out = true;
    } else if (span_eq_cstr(t, "false")) {
        *out = false;
    } else {
        FAIL(ERR_PARSE, "xml: <%s> is not true or false", name ? name : "*");
    }
    return ERR_OK;
}

enum err xml_child_u64(const struct xml_node *node, const char *name, uint64_t max, uint64_t *out) {
    const struct xml_node *c = xml_child(node, name);
    ENSURE(c != NULL, ERR_NOT_FOUND, "xml: no <%s> element", name ? name : "*");
    struct span t = span_trim(c->text);
    ENSURE(t.n > 0, ERR_PARSE, "xml: <%s> is empty, not a number", name ? name : "*");
    uint64_t v = 0;
    for (size_t i = 0; i < t.n; i++) {
        ENSURE(t.p[i] >= '0' && t.p[i] <= '9', ERR_PARSE, "xml: <%s> is not a decimal number", name ? name : "*");
        uint64_t d = (uint64_t) (t.p[i] - '0');
        /* Past UINT64_MAX is "above max" too, whatever max is: ERR_LIMIT, not ERR_PARSE. */
        ENSURE(v <= (UINT64_MAX - d) / 10, ERR_LIMIT, "xml: <%s> is above %" PRIu64, name ? name : "*", max);
        v = v * 10 + d;
    }
    ENSURE(v <= max, ERR_LIMIT, "xml: <%s> is above %" PRIu64, name ? name : "*", max);
    *out = v;
    return ERR_OK;
}
