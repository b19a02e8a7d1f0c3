/*
 * fuzz_xml.c - libFuzzer target for codec/xml.
 *
 * Parses the input twice (default limits, then tight ones so the limit paths are reached with small inputs) and,
 * when a parse succeeds, walks the whole tree checking what xml.h promises: local names are non-empty and have no
 * ':', text and attribute values are valid UTF-8 with no forbidden control characters, parent links are
 * consistent, depth and node counts stay within the limits, and the lookup helpers agree with the tree.
 */
// fuzz-sources: src/codec/xml.c src/base/*.c
#include "base/arena.h"
#include "codec/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_assert(int cond) {
    if (!cond) {
        abort();
    }
}

/* Valid UTF-8 without the C0 controls XML forbids (tab, LF and CR are allowed; CR only via &#13;). */
static void s_check_utf8(struct span s) {
    const unsigned char *p = (const unsigned char *) s.p;
    size_t i = 0;
    while (i < s.n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            s_assert(c >= 0x20 || c == '\t' || c == '\n' || c == '\r');
            i++;
            continue;
        }
        size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        s_assert(len != 0 && i + len <= s.n);
        for (size_t k = 1; k < len; k++) {
            s_assert((p[i + k] & 0xc0) == 0x80);
        }
        i += len;
    }
}

static void s_check_tree(const struct xml_node *root, const struct xml_limits *lim) {
    size_t nodes = 0;
    size_t depth = 1;
    const struct xml_node *n = root;
    s_assert(root->parent == NULL);
    while (n) {
        nodes++;
        s_assert(n->name.n > 0 && n->name.n <= XML_MAX_NAME_BYTES);
        s_assert(memchr(n->name.p, ':', n->name.n) == NULL);
        s_assert(n->text.p != NULL);
        s_check_utf8(n->text);
        s_assert(depth <= lim->max_depth);
        size_t nattrs = 0;
        for (const struct xml_attr *a = n->attrs; a; a = a->next) {
            nodes++;
            nattrs++;
            s_assert(a->name.n > 0 && memchr(a->name.p, ':', a->name.n) == NULL);
            s_check_utf8(a->value);
            /* Lookups by name find an attribute with that name. */
            char name[XML_MAX_NAME_BYTES + 1];
            memcpy(name, a->name.p, a->name.n);
            name[a->name.n] = '\0';
            s_assert(xml_has_attr(n, name));
        }
        s_assert(nattrs <= XML_MAX_ATTRS);
        if (n->first_child) {
            s_assert(n->first_child->parent == n);
            /* xml_child by the first child's name finds it (it is the first with that name). */
            char name[XML_MAX_NAME_BYTES + 1];
            memcpy(name, n->first_child->name.p, n->first_child->name.n);
            name[n->first_child->name.n] = '\0';
            s_assert(xml_child(n, name) == n->first_child);
            s_assert(xml_path(n, name) == n->first_child);
            s_assert(xml_count(n, NULL) >= xml_count(n, name));
            n = n->first_child;
            depth++;
            continue;
        }
        while (n && n->next_sibling == NULL) {
            n = n->parent;
            depth--;
        }
        if (n) {
            s_assert(n->next_sibling->parent == n->parent);
            n = n->next_sibling;
        }
    }
    s_assert(nodes <= lim->max_nodes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const struct xml_limits tight = { .max_doc_bytes = 4096, .max_depth = 4, .max_nodes = 16 };
    const struct xml_limits *limits[] = { &xml_limits_default, &tight };
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        struct arena a;
        arena_init(&a, 0);
        const struct xml_node *root = NULL;
        enum err e = xml_parse(&a, (struct span){ (const char *) data, size }, limits[i], &root);
        s_assert(e == ERR_OK || e == ERR_PARSE || e == ERR_LIMIT);
        s_assert((e == ERR_OK) == (root != NULL));
        if (root) {
            s_check_tree(root, limits[i]);
            (void) xml_path_text(root, "a/b/c");
            bool b;
            uint64_t u;
            (void) (xml_child_bool(root, "IsTruncated", &b) == ERR_OK);
            (void) (xml_child_u64(root, "Size", UINT64_MAX, &u) == ERR_OK);
        }
        arena_free(&a);
    }
    return 0;
}
