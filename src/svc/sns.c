/*
 * sns.c - SNS Publish as a Query request and its XML response.
 *
 * What it does not do: render the message (backup/notify), decide whether to publish (backup/publish), sign,
 * send or retry (aws/).
 */
#include "svc/sns.h"

#include <string.h>

bool sns_topic_is_fifo(const char *topic_arn) {
    return topic_arn != NULL && span_ends_with(span_from_cstr(topic_arn), SPAN_LIT(".fifo"));
}

bool sns_subject_valid(struct span s) {
    if (s.n == 0 || s.n > SNS_SUBJECT_MAX || s.p[0] == ' ') {
        return false;
    }
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char) s.p[i];
        if (c < 0x20 || c > 0x7e) {
            return false;
        }
    }
    return true;
}

void sns_publish_request(
  struct query_params *q,
  const char *topic_arn,
  struct span subject,
  struct span message,
  const char *group_id,
  const char *dedup_id) {
    query_add_cstr(q, "TopicArn", topic_arn);
    if (subject.n > 0) {
        query_add(q, "Subject", subject);
    }
    query_add(q, "Message", message);
    if (sns_topic_is_fifo(topic_arn)) {
        if (group_id != NULL) {
            query_add_cstr(q, "MessageGroupId", group_id);
        }
        if (dedup_id != NULL) {
            query_add_cstr(q, "MessageDeduplicationId", dedup_id);
        }
    }
}

enum err sns_publish_parse(struct arena *out, const struct xml_node *root, struct span *message_id) {
    ENSURE(root != NULL && span_eq_cstr(root->name, "PublishResponse"), ERR_PARSE, "not a Publish response");
    *message_id = arena_span_dup(out, xml_path_text(root, "PublishResult/MessageId"));
    ENSURE(message_id->n > 0, ERR_PARSE, "Publish response without MessageId");
    return ERR_OK;
}
