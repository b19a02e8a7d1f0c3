/*
 * dynamodb.h - the DynamoDB BatchWriteItem call SmartVault makes: a request body builder and a response parser.
 *
 * DynamoDB speaks JSON 1.0: a POST with X-Amz-Target "DynamoDB_20120810.<Operation>" and a JSON body; aws/call
 * signs and sends it. Items use DynamoDB's typed JSON ({"S":"text"}, {"N":"123"}, {"BOOL":true}).
 *
 * Limits quoted from the DynamoDB API Reference, BatchWriteItem: "A single call to BatchWriteItem can transmit
 * up to 16MB of data over the network, consisting of up to 25 item put or delete operations" and "If any
 * requested operations fail because the table's provisioned throughput is exceeded or an internal processing
 * failure occurs, the failed operations are returned in the UnprocessedItems response parameter. You can
 * investigate and optionally resend the requests." From "Service, account, and table quotas": an item is at most
 * 400 KB; a partition key value at most 2048 bytes, a sort key value at most 1024 bytes.
 *
 * Table names: since 2024 every data-plane operation takes the table's ARN wherever it takes a name, and
 * UnprocessedItems is keyed by the name or ARN as the request gave it. The builder writes it as given.
 */
#ifndef SV_SVC_DYNAMODB_H
#define SV_SVC_DYNAMODB_H

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/span.h"
#include "codec/json.h"

#include <stdbool.h>
#include <stddef.h>

#define DYNAMODB_TARGET_BATCH_WRITE_ITEM "DynamoDB_20120810.BatchWriteItem"
#define DYNAMODB_TARGET_QUERY "DynamoDB_20120810.Query"
#define DYNAMODB_TARGET_PUT_ITEM "DynamoDB_20120810.PutItem"
#define DYNAMODB_TARGET_DELETE_ITEM "DynamoDB_20120810.DeleteItem"
/* The error code of a conditional write whose condition did not hold (PutItem, DeleteItem). */
#define DYNAMODB_CONDITION_FAILED "ConditionalCheckFailedException"
#define DYNAMODB_BATCH_WRITE_MAX_ITEMS 25
#define DYNAMODB_BATCH_WRITE_MAX_BYTES ((size_t) 16 * 1024 * 1024)
#define DYNAMODB_ITEM_MAX_BYTES ((size_t) 400 * 1024)
#define DYNAMODB_PARTITION_KEY_MAX_BYTES 2048
#define DYNAMODB_SORT_KEY_MAX_BYTES 1024

enum dynamodb_type {
    DYNAMODB_S = 0, /* string: `text` */
    DYNAMODB_N,     /* number: `text` holds its decimal form ("1767225600") */
    DYNAMODB_BOOL,  /* boolean: `flag` */
};

struct dynamodb_attr {
    const char *name;
    enum dynamodb_type type;
    const char *text;
    bool flag;
};

struct dynamodb_item {
    const struct dynamodb_attr *attrs;
    size_t nattrs;
};

/*
 * The BatchWriteItem body: {"RequestItems":{"<table>":[{"PutRequest":{"Item":{...}}},...]}}, one PutRequest
 * per item, in order. ERR_INVALID for no items, an attribute without a name or text, or a number that is not
 * a decimal; ERR_LIMIT for more than 25 items; the buffer's sticky error (ERR_LIMIT past its maximum) too.
 */
enum err dynamodb_batch_write_body(
  struct buf *out,
  const char *table,
  const struct dynamodb_item *const *items,
  size_t nitems) SV_MUST_CHECK;

/*
 * A BatchWriteItem success response: for every PutRequest in UnprocessedItems (whatever table key it is under:
 * a request names one table), the string value of attribute `key_attr`, copied into `out`. *keys is NULL and
 * *nkeys 0 when everything was processed (UnprocessedItems absent or {}). ERR_PARSE if the document is not an
 * object, or an unprocessed PutRequest lacks `key_attr` as a string (it could then not be matched, and an item
 * would be lost silently).
 */
enum err dynamodb_batch_write_parse(
  struct arena *out,
  const struct json_value *root,
  const char *key_attr,
  struct span **keys,
  size_t *nkeys) SV_MUST_CHECK;

/*
 * A Query body: the items whose partition key `key_name` (String) is `key_value`, newest sort key first when
 * `forward` is false, at most `limit` (1..1000) of them ({"TableName", "KeyConditionExpression": "#k = :v",
 * "ExpressionAttributeNames", "ExpressionAttributeValues", "ScanIndexForward", "Limit"}).
 */
enum err dynamodb_query_body(
  struct buf *out,
  const char *table,
  const char *key_name,
  const char *key_value,
  uint32_t limit,
  bool forward) SV_MUST_CHECK;

/*
 * A Query of a partition's sort-key range, one page at a time: {"TableName", "KeyConditionExpression":
 * "#k = :v AND #s >= :f" (without the range when sort_from is NULL), "ScanIndexForward", "Limit",
 * "ExclusiveStartKey" (the previous page's LastEvaluatedKey, when `start` has attributes)}.
 */
struct dynamodb_query {
    const char *table;
    const char *key_name, *key_value;  /* the partition (String) */
    const char *sort_name, *sort_from; /* optional: sort key (String) >= sort_from */
    uint32_t limit;                    /* 1..1000 */
    bool forward;
    const struct dynamodb_item *start; /* optional: ExclusiveStartKey (String attributes) */
};
enum err dynamodb_query_page_body(struct buf *out, const struct dynamodb_query *q) SV_MUST_CHECK;

/* A Query response's LastEvaluatedKey into *key (nattrs 0 when it is the last page); ERR_PARSE if malformed. */
enum err dynamodb_query_last_key(struct arena *out, const struct json_value *root, struct dynamodb_item *key)
  SV_MUST_CHECK;

/*
 * A Query response's Items, copied into `out`: String and Number attributes are kept (text), BOOL as flag, other
 * types are skipped. ERR_PARSE when the document is not an object or Items is not a list of objects.
 */
enum err dynamodb_query_parse(struct arena *out, const struct json_value *root, struct dynamodb_item **items, size_t *n)
  SV_MUST_CHECK;

/* The text of attribute `name` of an item (NULL if absent). */
const char *dynamodb_item_text(const struct dynamodb_item *item, const char *name);

/*
 * A conditional PutItem ({"TableName","Item","ConditionExpression",...}) or DeleteItem ({"TableName","Key",...})
 * body. `names` maps placeholders to attribute names (attr.name "#o", attr.text "owner"; written as plain strings)
 * and `values` holds the typed placeholder values (attr.name ":now"); either may have no attributes. ERR_INVALID
 * for a missing table, item or condition, or an attribute as dynamodb_batch_write_body refuses it.
 */
enum err dynamodb_conditional_body(
  struct buf *out,
  const char *table,
  bool put,
  const struct dynamodb_item *item_or_key,
  const char *condition,
  const struct dynamodb_item *names,
  const struct dynamodb_item *values) SV_MUST_CHECK;

#endif
