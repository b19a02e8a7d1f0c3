/*
 * s3copy.h - the decisions of the S3 backup job (seed 004), as pure functions with table tests.
 *
 * The job itself is s3copy_run (below, implemented in s3copy.c): merge the sorted listings of the source
 * bucket and every destination scope as they arrive, decide per object from the listings alone, copy server-side
 * what needs it, record every action in the report. This header is the part with no I/O: what to copy, how to
 * split a large copy, which destination prefixes to list, which incomplete uploads are abandoned.
 *
 * The copy rule (s3copy_decide), in order, for a source object and its copy in the destination listing:
 *
 *   1. no copy                                          → copy ("missing")
 *   2. sizes differ                                     → copy ("size differs")
 *   3. ETags comparable and equal                       → unchanged ("same etag"): the bytes are the same, even
 *                                                         if the source was rewritten later
 *   4. source LastModified after the copy's             → copy ("source newer")
 *   5. same LastModified and ETags comparable (unequal) → copy ("changed in the second of its copy")
 *   6. otherwise                                        → unchanged ("copy is newer")
 *
 * ETags are comparable when both are single-part ETags (non-empty, no '-': a multipart ETag is an MD5 of part
 * MD5s and depends on the part size) and the copies are not SSE-KMS encrypted (S3_SSE=aws:kms: "objects
 * encrypted by SSE-KMS ... have ETags that are not an MD5 digest of their object data"). The source's own
 * encryption is not in a listing; a KMS-encrypted source has an ETag that never equals its copy's, which rule 3
 * only ever reads as "maybe changed", and rules 4-6 then decide by time, so no object is copied over and over.
 *
 * Why LastModified works: a server-side copy is written after its source, so the copy's LastModified is never
 * before the source's; a source rewritten later has a later LastModified. S3 keeps whole seconds, so a source
 * rewritten within the second of its copy ties (rule 5 catches that when ETags are comparable). Consequence of
 * rule 3, documented for operators: a change of metadata only (same bytes, same single-part ETag) is not copied.
 *
 * Which copy: objects of at least the multipart threshold (S3_MULTIPART_THRESHOLD, at most 5 GiB, so every
 * object CopyObject cannot take) are copied with UploadPartCopy parts of S3_PART_SIZE, grown when needed so an
 * object never needs more than 10,000 parts.
 */
#ifndef SV_BACKUP_S3COPY_H
#define SV_BACKUP_S3COPY_H

#include "backup/job.h"
#include "base/arena.h"
#include "base/span.h"
#include "cfg/cfg.h"
#include "svc/s3.h"

#include <stdbool.h>
#include <stdint.h>

/* Part sizes are rounded up to whole MiB when grown to fit S3_MAX_PARTS. */
#define S3COPY_PART_ALIGN S3_MIB

struct s3copy_decision {
    bool copy;
    const char *why; /* static text: "missing", "size differs", "same etag", ... */
};

/*
 * The copy rule above. `dst` NULL means the destination has no copy. `etags_comparable` is false when copies
 * are SSE-KMS encrypted (then rules 3 and 5 never apply).
 */
struct s3copy_decision s3copy_decide(const struct s3_object *src, const struct s3_object *dst, bool etags_comparable);

/* True for a non-empty ETag without '-' (a single-part upload's). */
bool s3copy_etag_single_part(struct span etag);

/*
 * True for storage classes whose objects must be restored before they can be copied (GLACIER, DEEP_ARCHIVE;
 * not GLACIER_IR, which is instant). Such sources are reported as skipped, as `aws s3 sync` does.
 */
bool s3copy_archived(struct span storage_class);

/* True when an object of `size` bytes is copied with multipart: size >= threshold, or above 5 GiB. */
bool s3copy_use_multipart(uint64_t size, uint64_t threshold);

/*
 * The part size for an object of `size` bytes: `configured`, grown (rounded up to S3COPY_PART_ALIGN) when
 * size / configured would need more than S3_MAX_PARTS parts, and kept within [S3_PART_MIN, S3_PART_MAX].
 */
uint64_t s3copy_part_size(uint64_t size, uint64_t configured);
/* Parts of `part_size` needed for `size` bytes (at least 1). */
uint32_t s3copy_part_count(uint64_t size, uint64_t part_size);
/* The inclusive byte range of part `part` (1-based) of an object of `size` bytes (size > 0). */
void s3copy_part_range(uint64_t size, uint64_t part_size, uint32_t part, uint64_t *first, uint64_t *last);

/*
 * True when an incomplete upload in a destination scope, initiated at `initiated_s` (S3's clock), was left by an
 * earlier run, for a run that started at `run_start_s`: initiated before this run started, whatever its age. No
 * other live run owns it, because at most one run is live at a time (the lease with DYNAMODB_TABLE, the
 * scheduler's concurrency policy otherwise); this run's own uploads all start after it. A local clock behind S3's
 * only keeps an abandoned upload for the next run; one far ahead could abort an overlapping run's upload, whose
 * part copies then fail with NoSuchUpload and are copied again by the next run (nothing is lost).
 */
bool s3copy_upload_stale(int64_t initiated_s, int64_t run_start_s);

/*
 * StartAfter split points of one flat key range (issue 12): after the range's first page, whose keys run from
 * `first` to `last` (both under `prefix`, first < last), the rest of the range - keys after `last` and, when
 * `end` is not empty, up to and including `end` - is cut at boundaries B1 < B2 < ... (at most `max`, written
 * into `out`, bytes in `a`). Level v is two byte positions above where the page's keys start to differ; first
 * `last` cut before v with the byte at v raised by 1, 2, ... (up to half of max: about one range per value),
 * then one boundary per position further out (the rest of each). The sub-ranges (last, B1], (B1, B2], ...,
 * (Bk, end] are each listed with StartAfter and stop at their upper bound, so no key is lost or listed twice
 * whatever the boundaries are. Boundaries are valid UTF-8 without control characters (only ASCII bytes of
 * `last` are raised; 0x7F is raised to U+0080), and with `delimited` never end in '/', so a common prefix is
 * never cut. Returns how many.
 */
size_t s3copy_split_points(
  struct arena *a,
  struct span prefix,
  struct span first,
  struct span last,
  struct span end,
  bool delimited,
  struct span *out,
  size_t max);

/* One destination listing: a bucket and the prefix under which its copies live. */
struct s3copy_scope {
    const char *bucket;
    struct span prefix; /* s3_dest_prefix + the route's prefix */
};

/*
 * The destination scopes to list for cfg's routes, in route order: one per route, except that a route whose
 * prefix lies under another route's prefix to the same bucket is covered by that one's listing. `out` must
 * hold cfg->s3_nroutes entries; prefixes are written into `a`. Returns how many.
 */
size_t s3copy_scopes(struct arena *a, const struct cfg *cfg, struct s3copy_scope *out);

/* The S3 job of a cycle: incremental server-side copy of the source bucket into the routed buckets. */
enum err s3copy_run(struct cycle *cy) SV_MUST_CHECK;

#endif
