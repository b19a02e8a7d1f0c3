/*
 * sns.h - the SNS Publish call SmartVault makes: a request builder and a response parser.
 *
 * SNS speaks the Query protocol with an XML response (API version 2010-03-31). The builder fills a query_params
 * list (aws/call adds Action/Version, encodes and signs it); the parser reads a successful response.
 *
 * Limits quoted from the SNS API Reference, Publish:
 *   Message: "messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not 262,144
 *            characters)."
 *   Subject: "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100
 *            characters long."
 *   MessageGroupId / MessageDeduplicationId: required for FIFO topics (names end in ".fifo") unless the topic
 *            has content-based deduplication (the deduplication id is then optional, and harmless).
 * The builder does not check them: the renderer (backup/notify) produces text that meets them, and the caller
 * checks with sns_subject_valid / SNS_MESSAGE_MAX_BYTES before sending.
 */
#ifndef SV_SVC_SNS_H
#define SV_SVC_SNS_H

#include "aws/query.h"
#include "base/arena.h"
#include "base/err.h"
#include "base/span.h"
#include "codec/xml.h"

#include <stdbool.h>

#define SNS_API_VERSION "2010-03-31"
/* "less than 100 characters": at most 99. SmartVault's subjects are printable ASCII, so characters = bytes. */
#define SNS_SUBJECT_MAX 99
/* The message limit in bytes of UTF-8. */
#define SNS_MESSAGE_MAX_BYTES ((size_t) 262144)
/* MessageGroupId / MessageDeduplicationId: at most 128 characters. */
#define SNS_FIFO_ID_MAX 128

/* True when the topic ARN (or name) ends in ".fifo": Publish then needs a MessageGroupId. */
bool sns_topic_is_fifo(const char *topic_arn);

/* True when s is 1..SNS_SUBJECT_MAX printable ASCII characters (0x20..0x7e) and starts with a non-space. */
bool sns_subject_valid(struct span s);

/*
 * Publish to a topic. An empty subject is left out. For a FIFO topic (sns_topic_is_fifo) `group_id` and
 * `dedup_id` are sent as MessageGroupId / MessageDeduplicationId; for a standard topic they are ignored.
 */
void sns_publish_request(
  struct query_params *q,
  const char *topic_arn,
  struct span subject,
  struct span message,
  const char *group_id,
  const char *dedup_id);

/* PublishResponse/PublishResult/MessageId, copied into `out`. ERR_PARSE if it is not a Publish response. */
enum err sns_publish_parse(struct arena *out, const struct xml_node *root, struct span *message_id) SV_MUST_CHECK;

#endif
