/*
 * xml.h - a bounded XML reader for AWS Query and REST-XML responses and error documents.
 *
 * xml_parse() reads a whole document into a small read-only tree allocated in the caller's arena:
 *
 *   struct arena_mark m = arena_mark(arena);
 *   const struct xml_node *root;
 *   TRY(xml_parse(arena, body, NULL, &root));
 *   for (const struct xml_node *r = xml_path(root, "reservationSet/item"); r; r = xml_next(r, "item")) {
 *       for (const struct xml_node *i = xml_path(r, "instancesSet/item"); i; i = xml_next(i, "item")) {
 *           struct span id = xml_child_text(i, "instanceId");
 *           ...
 *       }
 *   }
 *   arena_rewind(arena, m);
 *
 * What it accepts: one UTF-8 document (an optional byte order mark, an optional XML declaration - also after
 * whitespace, which S3 sends ahead of a slow CopyObject's body - comments and processing instructions anywhere
 * they are allowed, one root element). Element and attribute names are kept as
 * their local part (the namespace prefix before ':' is dropped, and xmlns / xmlns:* attributes are not kept):
 * AWS documents use one default namespace, and matching on local names is what every SDK does. Text is decoded:
 * the five predefined entities (&lt; &gt; &amp; &quot; &apos;), decimal and hexadecimal character references
 * (written as UTF-8), CDATA sections, and line ends normalised to "\n" (XML 1.0 §2.11).
 *
 * What it rejects, with ERR_PARSE: DOCTYPE and every other markup declaration (no DTDs, so no entity expansion
 * attacks and no external entities), unknown entities, character references to characters XML does not allow,
 * mismatched or unterminated tags, duplicate attributes, text or a second element after the root, invalid
 * UTF-8, and control characters other than tab, CR and LF. With ERR_LIMIT: a document, depth, node count, name,
 * or attribute count above the limits below.
 *
 * Ownership: every name and text in the tree is copied into the arena, so the tree does not refer to `doc` and
 * the response buffer may be freed after parsing. The tree lives until the arena is rewound past it. On error
 * the arena may hold a partial tree; rewind to a mark taken before the call to reclaim it.
 */
#ifndef SV_CODEC_XML_H
#define SV_CODEC_XML_H

#include "base/arena.h"
#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest response body the reader accepts at all (the same maximum as a response buffer). */
#define XML_MAX_DOC_BYTES ((size_t) 64 * 1024 * 1024)
/* Default element nesting limit. AWS's deepest documents (EC2 DescribeInstances) nest about 8 deep. */
#define XML_MAX_DEPTH_DEFAULT ((size_t) 64)
/* Hard ceiling for any caller-chosen depth limit. */
#define XML_MAX_DEPTH_CEILING ((size_t) 1024)
/*
 * Default limit on elements plus attributes. A node costs about 100 bytes of arena, so the default bounds a tree
 * at roughly 400 MiB, below ARENA_MAX_DEFAULT: no document can make the arena's out-of-memory exit happen.
 */
#define XML_MAX_NODES_DEFAULT ((size_t) 4 * 1024 * 1024)
/* Longest element or attribute name, prefix included. AWS names are under 64 bytes. */
#define XML_MAX_NAME_BYTES ((size_t) 256)
/* Most attributes on one element (xmlns declarations included). AWS elements carry at most one or two. */
#define XML_MAX_ATTRS ((size_t) 32)

/* A zero field means its default; values above a ceiling are clamped to it. */
struct xml_limits {
    size_t max_doc_bytes; /* at most XML_MAX_DOC_BYTES */
    size_t max_depth;     /* the root element is depth 1; at most XML_MAX_DEPTH_CEILING */
    size_t max_nodes;     /* elements + kept attributes */
};

/* XML_MAX_DOC_BYTES, XML_MAX_DEPTH_DEFAULT, XML_MAX_NODES_DEFAULT. */
extern const struct xml_limits xml_limits_default;

struct xml_attr {
    struct span name;  /* local name */
    struct span value; /* decoded; whitespace characters normalised to spaces (XML 1.0 §3.3.3) */
    const struct xml_attr *next;
};

struct xml_node {
    struct span name; /* local name, never empty */
    /*
     * The decoded character data directly inside this element (CDATA included), concatenated. For an element
     * that has child elements, text that is only whitespace (indentation) is dropped. Never NULL: "" if none.
     */
    struct span text;
    const struct xml_node *parent; /* NULL for the root */
    const struct xml_node *first_child;
    const struct xml_node *next_sibling;
    const struct xml_attr *attrs; /* in document order */
};

/*
 * Parses doc into a tree in `arena`; *root is set only on success. `limits` NULL means xml_limits_default.
 * Errors: ERR_PARSE (malformed), ERR_LIMIT (a limit exceeded);
 * err_last() says what and at which byte offset.
 */
enum err xml_parse(struct arena *arena, struct span doc, const struct xml_limits *limits, const struct xml_node **root)
  SV_MUST_CHECK;

/*
 * Lookups. Every function accepts a NULL node and then returns NULL / an empty span, so chains need no checks
 * in between. `name` is a local name and matches exactly (case-sensitive); NULL matches any element.
 */

/* The first child element called name. */
const struct xml_node *xml_child(const struct xml_node *node, const char *name);
/* Same as xml_child: reads well at the head of a loop over repeated children. */
const struct xml_node *xml_first(const struct xml_node *parent, const char *name);
/* The next sibling after node called name: `for (n = xml_first(p, "item"); n; n = xml_next(n, "item"))`. */
const struct xml_node *xml_next(const struct xml_node *node, const char *name);
/* Number of child elements called name. */
size_t xml_count(const struct xml_node *parent, const char *name);
/*
 * Follows a '/'-separated path of child names from node, taking the first match at each step:
 * xml_path(root, "reservationSet/item") is xml_child(xml_child(root, "reservationSet"), "item"). The path is
 * relative (it does not name `node` itself); an empty path or an empty step gives NULL.
 */
const struct xml_node *xml_path(const struct xml_node *node, const char *path);

/* node's text, or an empty span for NULL. */
struct span xml_text(const struct xml_node *node);
/* The text of the first child called name; empty if there is none. */
struct span xml_child_text(const struct xml_node *node, const char *name);
/* The text of the node at path; empty if there is none. */
struct span xml_path_text(const struct xml_node *node, const char *path);
/* The value of node's attribute called name (local name); empty if absent. */
struct span xml_attr(const struct xml_node *node, const char *name);
/* True if node has an attribute called name (to tell an absent attribute from an empty one). */
bool xml_has_attr(const struct xml_node *node, const char *name);

/*
 * Typed reads of a child's text, for fields such as S3's <IsTruncated> and <Size> or EC2's <volumeSize>.
 * ERR_NOT_FOUND if there is no such child (the caller decides whether that is a default or an error), ERR_PARSE
 * if the text is not "true"/"false" or a decimal number, ERR_LIMIT if above max. Surrounding whitespace is
 * ignored. *out is written only on success.
 */
enum err xml_child_bool(const struct xml_node *node, const char *name, bool *out) SV_MUST_CHECK;
enum err xml_child_u64(const struct xml_node *node, const char *name, uint64_t max, uint64_t *out) SV_MUST_CHECK;

#endif
