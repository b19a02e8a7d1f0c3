/*
 * notify.h - the SNS summary of a cycle: a subject that says the outcome at a glance and a plain-text body,
 * both rendered from the report (backup/report.h) and nothing else, so they agree with the metrics and the
 * cycle.done line (issue 5, item 4). Pure: no clock, no network, no logging.
 *
 * Subject (printable ASCII, at most SNS_SUBJECT_MAX = 99 characters, no line breaks), by outcome:
 *
 *   some action failed        SmartVault FAILED: 3 errors, 42 created, 40 copied, 12 deleted
 *   no instances, no failure  SmartVault OK: No instances found with Backup=true        (seed 001's words)
 *   success                   SmartVault OK: 42 created, 40 copied, 12 deleted
 *   dry run                   SmartVault DRY RUN: would create 3, copy 2, delete 1
 *   dry run with failures     SmartVault DRY RUN FAILED: 1 error, would create 3, copy 2, delete 1
 *
 * When the S3 job ran its counts follow (", S3 10 copied"); when only the S3 job ran they replace the snapshot
 * counts. Characters outside printable ASCII (from a tag key or value) become '?'; a subject that would be
 * longer than the limit is cut and ends in "...".
 *
 * Body (UTF-8), in this order: the subject line; for no instances seed 001's sentence ("No instances found with
 * Backup=true — skipping snapshot."); run id, start, duration, regions, dry-run note; the totals; per-region
 * counts; the S3 counts when the S3 job ran; then the lists, each headed "<Title> (<count>):" — errors with
 * their AWS codes first, then created, copied, deleted, skipped snapshots, S3 objects copied, skipped.
 *
 * Size: the body never exceeds `max_bytes` bytes of UTF-8 (SNS counts bytes, not characters). The head (up to
 * the lists) is bounded and small; the lists share what is left: each list gets an equal share of the room
 * that remains when its turn comes (so a list that needs less leaves more to the ones after it), and a list
 * that does not fit ends with "  … and N more". Lines are whole or absent, never cut, so the cut is always at a
 * character boundary. Every field goes through notify_text_append: invalid UTF-8 becomes U+FFFD, control
 * characters become spaces (one action stays one line), and a field longer than NOTIFY_FIELD_MAX_BYTES is cut
 * at a character boundary and ends in "…".
 */
#ifndef SV_BACKUP_NOTIFY_H
#define SV_BACKUP_NOTIFY_H

#include "backup/report.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/span.h"
#include "svc/sns.h"

#include <stddef.h>

#define NOTIFY_SUBJECT_MAX SNS_SUBJECT_MAX
/*
 * Room kept below the SNS limit for what travels with the body: the subject, and the JSON envelope SNS wraps
 * around a message for SQS, HTTP and Lambda subscribers (Type, MessageId, TopicArn, Subject, Timestamp,
 * Signature, SigningCertURL, UnsubscribeURL: about 1.5 KB) plus its escaping of every line break (one byte per
 * line). An SQS queue subscribed to the topic has the same 256 KiB limit, so the envelope must fit too.
 */
#define NOTIFY_ENVELOPE_RESERVE ((size_t) 8 * 1024)
/* The body budget for SNS: 256 KiB - 8 KiB = 253,952 bytes of UTF-8. */
#define NOTIFY_BODY_MAX_BYTES (SNS_MESSAGE_MAX_BYTES - NOTIFY_ENVELOPE_RESERVE)
/* The smallest budget notify_body accepts: the head (no lists) always fits in it. */
#define NOTIFY_BODY_MIN_BYTES ((size_t) 4096)
/* The longest coverage link (or location) put in the body: a presigned URL with a session token is ~1.5 KB. */
#define NOTIFY_LINK_MAX_BYTES ((size_t) 2048)
/* One field of one line (an S3 key is at most 1024 bytes, an AWS message 512). */
#define NOTIFY_FIELD_MAX_BYTES ((size_t) 1024)
/* The backup tag as written in the no-instances sentence ("Backup=true"); longer is cut. */
#define NOTIFY_TAG_MAX_BYTES ((size_t) 400)

enum notify_outcome {
    NOTIFY_OK = 0,
    NOTIFY_NO_INSTANCES, /* the EBS job ran, found no tagged instance, and nothing failed */
    NOTIFY_FAILED,       /* some action failed (the exit code is 1) */
};

/* What the report does not say about the cycle. Every pointer may be NULL. */
struct notify_context {
    const char *backup_tag;    /* "Backup=true": how instances are selected (seed 001's sentence) */
    const char *source_region; /* shown in the head */
    const char *dest_region;   /* NULL: no DR copy */
    /* The coverage page (backup/webreport), when it was written: its S3 location and a presigned link. */
    const char *report_location;   /* "s3://bucket/prefix/index.html", or NULL */
    const char *report_url;        /* presigned GET URL, or NULL (then only the location is given) */
    int64_t report_url_expires_at; /* Unix seconds when the link stops working */
};

enum notify_outcome notify_outcome(const struct report *r);

/* Writes the subject, NUL-terminated, into out. Always valid for SNS (sns_subject_valid). */
void notify_subject(const struct report *r, const struct notify_context *ctx, char out[NOTIFY_SUBJECT_MAX + 1]);

/*
 * Appends the body to out, at most max_bytes bytes (counted from out's length on entry). ERR_INVALID if
 * max_bytes < NOTIFY_BODY_MIN_BYTES; the buffer's sticky error if out cannot hold max_bytes more.
 */
enum err notify_body(const struct report *r, const struct notify_context *ctx, size_t max_bytes, struct buf *out)
  SV_MUST_CHECK;

/*
 * Appends s as clean UTF-8 text of at most max_bytes bytes: valid sequences are copied, each invalid byte
 * becomes U+FFFD, C0 control characters and DEL become ' '. When the clean text is longer than max_bytes it is
 * cut at a character boundary and "…" (3 bytes) is added within max_bytes (when max_bytes < 3, no mark).
 * Returns the number of bytes appended. The one text cleaner of the report renderers (SNS body, audit keys).
 */
size_t notify_text_append(struct buf *out, struct span s, size_t max_bytes);

#endif
