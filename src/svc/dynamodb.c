/*
 * dynamodb.c - DynamoDB BatchWriteItem as a JSON 1.0 body, and the UnprocessedItems of its response.
 *
 * What it does not do: decide what the items say (backup/audit), batch or resend (backup/audit), sign, send or
 * retry a request (aws/).
 */
#include "svc/dynamodb.h"

#include <string.h>

/* DynamoDB's number grammar is wider, but SmartVault only writes non-negative integers. */
static bool s_is_decimal(const char *s) {
    if (s == NULL || s[0] == '\0') {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
    }
    return true;
}

static enum err s_write_item(struct json_writer *w, const struct dynamodb_item *item) {
    json_write_object_begin(w);
    for (size_t i = 0; i < item->nattrs; i++) {
        const struct dynamodb_attr *a = &item->attrs[i];
        ENSURE(a->name != NULL && a->name[0], ERR_INVALID, "dynamodb: attribute %zu without a name", i);
        json_write_key(w, a->name);
        json_write_object_begin(w);
        switch (a->type) {
            case DYNAMODB_S:
                ENSURE(a->text != NULL, ERR_INVALID, "dynamodb: %s: string without text", a->name);
                json_write_key(w, "S");
                json_write_cstr(w, a->text);
                break;
            case DYNAMODB_N:
                ENSURE(s_is_decimal(a->text), ERR_INVALID, "dynamodb: %s: not a decimal number", a->name);
                json_write_key(w, "N");
                json_write_cstr(w, a->text);
                break;
            case DYNAMODB_BOOL:
                json_write_key(w, "BOOL");
                json_write_bool(w, a->flag);
                break;
            default:
                FAIL(ERR_INVALID, "dynamodb: %s: unknown type", a->name);
        }
        json_write_object_end(w);
    }
    json_write_object_end(w);
    return ERR_OK;
}

enum err
dynamodb_batch_write_body(struct buf *out, const char *table, const struct dynamodb_item *const *items, size_t nitems) {
    ENSURE(table != NULL && table[0], ERR_INVALID, "dynamodb: no table");
    ENSURE(nitems > 0, ERR_INVALID, "dynamodb: BatchWriteItem without items");
    ENSURE(
      nitems <= DYNAMODB_BATCH_WRITE_MAX_ITEMS,
      ERR_LIMIT,
      "dynamodb: %zu items in one BatchWriteItem, at most 25",
      nitems);
    struct json_writer w;
    json_writer_init(&w, out);
    json_write_object_begin(&w);
    json_write_key(&w, "RequestItems");
    json_write_object_begin(&w);
    json_write_key(&w, table);
    json_write_array_begin(&w);
    for (size_t i = 0; i < nitems; i++) {
        json_write_object_begin(&w);
        json_write_key(&w, "PutRequest");
        json_write_object_begin(&w);
        json_write_key(&w, "Item");
        TRY(s_write_item(&w, items[i]));
        json_write_object_end(&w);
        json_write_object_end(&w);
    }
    json_write_array_end(&w);
    json_write_object_end(&w);
    json_write_object_end(&w);
    return json_writer_finish(&w);
}

enum err dynamodb_batch_write_parse(
  struct arena *out,
  const struct json_value *root,
  const char *key_attr,
  struct span **keys,
  size_t *nkeys) {
    *keys = NULL;
    *nkeys = 0;
    ENSURE(json_is(root, JSON_OBJECT), ERR_PARSE, "BatchWriteItem response is not an object");
    const struct json_value *unprocessed = json_get(root, "UnprocessedItems");
    if (unprocessed == NULL || json_is(unprocessed, JSON_NULL)) {
        return ERR_OK;
    }
    ENSURE(json_is(unprocessed, JSON_OBJECT), ERR_PARSE, "UnprocessedItems is not an object");
    size_t total = 0;
    for (const struct json_value *t = json_first(unprocessed); t; t = t->next) {
        ENSURE(json_is(t, JSON_ARRAY), ERR_PARSE, "UnprocessedItems: a table's requests are not a list");
        total += t->count;
    }
    if (total == 0) {
        return ERR_OK;
    }
    *keys = ARENA_NEW_ARRAY(out, struct span, total);
    for (const struct json_value *t = json_first(unprocessed); t; t = t->next) {
        for (const struct json_value *req = json_first(t); req; req = req->next) {
            const struct json_value *put = json_get(req, "PutRequest");
            ENSURE(put != NULL, ERR_PARSE, "UnprocessedItems: a request that is not a PutRequest");
            const struct json_value *key = json_get(json_get(json_get(put, "Item"), key_attr), "S");
            ENSURE(json_is(key, JSON_STRING), ERR_PARSE, "UnprocessedItems: an item without %s", key_attr);
            (*keys)[(*nkeys)++] = arena_span_dup(out, json_string(key));
        }
    }
    return ERR_OK;
}

#define DYNAMODB_QUERY_MAX_LIMIT 1000u

enum err dynamodb_query_body(
  struct buf *out,
  const char *table,
  const char *key_name,
  const char *key_value,
  uint32_t limit,
  bool forward) {
    ENSURE(table != NULL && table[0], ERR_INVALID, "dynamodb: no table");
    ENSURE(key_name && key_name[0] && key_value, ERR_INVALID, "dynamodb: Query without a key");
    ENSURE(limit >= 1 && limit <= DYNAMODB_QUERY_MAX_LIMIT, ERR_INVALID, "dynamodb: Query limit %u", limit);
    struct json_writer w;
    json_writer_init(&w, out);
    json_write_object_begin(&w);
    json_write_key(&w, "TableName");
    json_write_cstr(&w, table);
    json_write_key(&w, "KeyConditionExpression");
    json_write_cstr(&w, "#k = :v");
    json_write_key(&w, "ExpressionAttributeNames");
    json_write_object_begin(&w);
    json_write_key(&w, "#k");
    json_write_cstr(&w, key_name);
    json_write_object_end(&w);
    json_write_key(&w, "ExpressionAttributeValues");
    json_write_object_begin(&w);
    json_write_key(&w, ":v");
    json_write_object_begin(&w);
    json_write_key(&w, "S");
    json_write_cstr(&w, key_value);
    json_write_object_end(&w);
    json_write_object_end(&w);
    json_write_key(&w, "ScanIndexForward");
    json_write_bool(&w, forward);
    json_write_key(&w, "Limit");
    json_write_u64(&w, limit);
    json_write_object_end(&w);
    return json_writer_finish(&w);
}

static void s_write_s(struct json_writer *w, const char *key, const char *text) {
    json_write_key(w, key);
    json_write_object_begin(w);
    json_write_key(w, "S");
    json_write_cstr(w, text);
    json_write_object_end(w);
}

enum err dynamodb_query_page_body(struct buf *out, const struct dynamodb_query *q) {
    ENSURE(q->table != NULL && q->table[0], ERR_INVALID, "dynamodb: no table");
    ENSURE(q->key_name && q->key_name[0] && q->key_value, ERR_INVALID, "dynamodb: Query without a key");
    ENSURE(q->sort_from == NULL || (q->sort_name && q->sort_name[0]), ERR_INVALID, "dynamodb: range without a key");
    ENSURE(q->limit >= 1 && q->limit <= DYNAMODB_QUERY_MAX_LIMIT, ERR_INVALID, "dynamodb: Query limit %u", q->limit);
    struct json_writer w;
    json_writer_init(&w, out);
    json_write_object_begin(&w);
    json_write_key(&w, "TableName");
    json_write_cstr(&w, q->table);
    json_write_key(&w, "KeyConditionExpression");
    json_write_cstr(&w, q->sort_from ? "#k = :v AND #s >= :f" : "#k = :v");
    json_write_key(&w, "ExpressionAttributeNames");
    json_write_object_begin(&w);
    json_write_key(&w, "#k");
    json_write_cstr(&w, q->key_name);
    if (q->sort_from) {
        json_write_key(&w, "#s");
        json_write_cstr(&w, q->sort_name);
    }
    json_write_object_end(&w);
    json_write_key(&w, "ExpressionAttributeValues");
    json_write_object_begin(&w);
    s_write_s(&w, ":v", q->key_value);
    if (q->sort_from) {
        s_write_s(&w, ":f", q->sort_from);
    }
    json_write_object_end(&w);
    json_write_key(&w, "ScanIndexForward");
    json_write_bool(&w, q->forward);
    json_write_key(&w, "Limit");
    json_write_u64(&w, q->limit);
    if (q->start != NULL && q->start->nattrs > 0) {
        json_write_key(&w, "ExclusiveStartKey");
        json_write_object_begin(&w);
        for (size_t i = 0; i < q->start->nattrs; i++) {
            ENSURE(q->start->attrs[i].name && q->start->attrs[i].text, ERR_INVALID, "dynamodb: start key %zu", i);
            s_write_s(&w, q->start->attrs[i].name, q->start->attrs[i].text);
        }
        json_write_object_end(&w);
    }
    json_write_object_end(&w);
    return json_writer_finish(&w);
}

static void s_read_attr(struct arena *out, const struct json_value *m, struct dynamodb_attr *a, bool *keep) {
    const struct json_value *v;
    *keep = true;
    a->name = arena_span_cstr(out, m->key);
    if ((v = json_get(m, "S")) != NULL && json_is(v, JSON_STRING)) {
        a->type = DYNAMODB_S;
        a->text = arena_span_cstr(out, json_string(v));
    } else if ((v = json_get(m, "N")) != NULL && json_is(v, JSON_STRING)) {
        a->type = DYNAMODB_N;
        a->text = arena_span_cstr(out, json_string(v));
    } else if ((v = json_get(m, "BOOL")) != NULL && json_is(v, JSON_BOOL)) {
        a->type = DYNAMODB_BOOL;
        a->flag = v->boolean;
    } else {
        *keep = false;
    }
}

enum err
dynamodb_query_parse(struct arena *out, const struct json_value *root, struct dynamodb_item **items, size_t *n) {
    *items = NULL;
    *n = 0;
    ENSURE(json_is(root, JSON_OBJECT), ERR_PARSE, "Query response is not an object");
    const struct json_value *list = json_get(root, "Items");
    if (list == NULL) {
        return ERR_OK;
    }
    ENSURE(json_is(list, JSON_ARRAY), ERR_PARSE, "Query response: Items is not a list");
    *items = list->count ? ARENA_NEW_ARRAY(out, struct dynamodb_item, list->count) : NULL;
    for (const struct json_value *it = json_first(list); it; it = it->next) {
        ENSURE(json_is(it, JSON_OBJECT), ERR_PARSE, "Query response: an item is not an object");
        struct dynamodb_attr *attrs = it->count ? ARENA_NEW_ARRAY(out, struct dynamodb_attr, it->count) : NULL;
        size_t na = 0;
        for (const struct json_value *m = json_first(it); m; m = m->next) {
            bool keep = false;
            s_read_attr(out, m, &attrs[na], &keep);
            na += keep;
        }
        (*items)[(*n)++] = (struct dynamodb_item){ attrs, na };
    }
    return ERR_OK;
}

enum err dynamodb_query_last_key(struct arena *out, const struct json_value *root, struct dynamodb_item *key) {
    *key = (struct dynamodb_item){ NULL, 0 };
    ENSURE(json_is(root, JSON_OBJECT), ERR_PARSE, "Query response is not an object");
    const struct json_value *k = json_get(root, "LastEvaluatedKey");
    if (k == NULL || json_is(k, JSON_NULL)) {
        return ERR_OK;
    }
    ENSURE(json_is(k, JSON_OBJECT), ERR_PARSE, "Query response: LastEvaluatedKey is not an object");
    struct dynamodb_attr *attrs = k->count ? ARENA_NEW_ARRAY(out, struct dynamodb_attr, k->count) : NULL;
    size_t na = 0;
    for (const struct json_value *m = json_first(k); m; m = m->next) {
        bool keep = false;
        s_read_attr(out, m, &attrs[na], &keep);
        ENSURE(keep && attrs[na].type == DYNAMODB_S, ERR_PARSE, "Query response: LastEvaluatedKey is not strings");
        na++;
    }
    *key = (struct dynamodb_item){ attrs, na };
    return ERR_OK;
}

const char *dynamodb_item_text(const struct dynamodb_item *item, const char *name) {
    for (size_t i = 0; i < item->nattrs; i++) {
        if (strcmp(item->attrs[i].name, name) == 0) {
            return item->attrs[i].text;
        }
    }
    return NULL;
}

enum err dynamodb_conditional_body(
  struct buf *out,
  const char *table,
  bool put,
  const struct dynamodb_item *item_or_key,
  const char *condition,
  const struct dynamodb_item *names,
  const struct dynamodb_item *values) {
    ENSURE(table != NULL && table[0], ERR_INVALID, "dynamodb: no table");
    ENSURE(item_or_key != NULL && item_or_key->nattrs > 0, ERR_INVALID, "dynamodb: no item or key");
    ENSURE(condition != NULL && condition[0], ERR_INVALID, "dynamodb: no condition");
    struct json_writer w;
    json_writer_init(&w, out);
    json_write_object_begin(&w);
    json_write_key(&w, "TableName");
    json_write_cstr(&w, table);
    json_write_key(&w, put ? "Item" : "Key");
    TRY(s_write_item(&w, item_or_key));
    json_write_key(&w, "ConditionExpression");
    json_write_cstr(&w, condition);
    if (names != NULL && names->nattrs > 0) {
        json_write_key(&w, "ExpressionAttributeNames");
        json_write_object_begin(&w);
        for (size_t i = 0; i < names->nattrs; i++) {
            ENSURE(names->attrs[i].name && names->attrs[i].text, ERR_INVALID, "dynamodb: attribute name %zu", i);
            json_write_key(&w, names->attrs[i].name);
            json_write_cstr(&w, names->attrs[i].text);
        }
        json_write_object_end(&w);
    }
    if (values != NULL && values->nattrs > 0) {
        json_write_key(&w, "ExpressionAttributeValues");
        TRY(s_write_item(&w, values));
    }
    json_write_object_end(&w);
    return json_writer_finish(&w);
}
