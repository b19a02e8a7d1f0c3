/*
 * ec2io.c - EC2 reads and waits shared by `list`, `restore` and the restore drill (see ec2io.h).
 *
 * What it does not do: decide (the planners in restore_plan.c), or record report items (the callers do, since
 * a failed listing means "exit 1" in a command and "drill failed" in the cycle).
 */
#include "backup/ec2io.h"

#include "aws/imds.h"
#include "backup/tags.h"
#include "base/log.h"
#include "base/stop.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum err ec2io_call(
  struct cycle *cy,
  const char *region,
  const char *operation,
  const struct query_params *q,
  struct arena *tree_arena,
  const struct xml_node **root,
  char code[AWS_ERROR_CODE_MAX + 1]) {
    struct aws_request r = { .service = ENDPOINT_EC2, .region = region, .operation = operation, .params = q };
    enum err e = aws_run_one(cy->aws, &r);
    if (e == ERR_OK) {
        e = aws_response_xml(&r, tree_arena, root);
    }
    if (e != ERR_OK) {
        const char *c = r.error.code[0] ? r.error.code : err_name(e);
        if (code != NULL) {
            snprintf(code, AWS_ERROR_CODE_MAX + 1, "%s", c);
        }
        LOG(
          LOG_ERROR,
          "ec2.failed",
          LF_S("step", operation),
          LF_S("region", region),
          LF_S("aws_code", c),
          LF_S("request_id", r.error.request_id),
          LF_S("message", r.error.message[0] ? r.error.message : err_last()->msg),
          LF_U("attempts", r.attempts));
    }
    aws_request_free(&r);
    return e;
}

enum err ec2io_list_snapshots(struct cycle *cy, const char *region, struct ec2_snapshot_list *out) {
    struct span token = SPAN_NULL;
    do {
        struct arena_mark m = arena_mark(cy->scratch);
        struct query_params q;
        query_init(&q, cy->scratch);
        ec2_describe_snapshots_request(&q, TAG_CREATED_BY, TAG_CREATED_BY_VALUE, cy->page_size, token);
        const struct xml_node *root = NULL;
        enum err e = ec2io_call(cy, region, "DescribeSnapshots", &q, cy->scratch, &root, NULL);
        if (e == ERR_OK) {
            e = ec2_describe_snapshots_parse(cy->arena, root, out, &token);
        }
        arena_rewind(cy->scratch, m);
        TRY(e);
    } while (token.n > 0);
    return ERR_OK;
}

enum err ec2io_list_volumes(
  struct cycle *cy,
  const char *region,
  const char *filter,
  const struct span *values,
  size_t nvalues,
  struct ec2_volume_list *out) {
    size_t done = 0;
    do {
        size_t chunk = nvalues - done < EC2_FILTER_MAX_VALUES ? nvalues - done : EC2_FILTER_MAX_VALUES;
        struct span token = SPAN_NULL;
        do {
            struct arena_mark m = arena_mark(cy->scratch);
            struct query_params q;
            query_init(&q, cy->scratch);
            uint32_t page =
              cy->page_size < EC2_DESCRIBE_VOLUMES_MAX_RESULTS ? cy->page_size : EC2_DESCRIBE_VOLUMES_MAX_RESULTS;
            ec2_describe_volumes_request(&q, filter, values + done, chunk, page, token);
            const struct xml_node *root = NULL;
            enum err e = ec2io_call(cy, region, "DescribeVolumes", &q, cy->scratch, &root, NULL);
            if (e == ERR_OK) {
                e = ec2_describe_volumes_parse(cy->arena, root, out, &token);
            }
            arena_rewind(cy->scratch, m);
            TRY(e);
        } while (token.n > 0);
        done += chunk;
    } while (done < nvalues);
    return ERR_OK;
}

enum err ec2io_instances(
  struct cycle *cy,
  const char *region,
  const struct span *ids,
  size_t nids,
  struct ec2_instance_list *out) {
    for (size_t done = 0; done < nids; done += EC2_FILTER_MAX_VALUES) {
        size_t chunk = nids - done < EC2_FILTER_MAX_VALUES ? nids - done : EC2_FILTER_MAX_VALUES;
        struct arena_mark m = arena_mark(cy->scratch);
        struct query_params q;
        query_init(&q, cy->scratch);
        ec2_describe_instances_by_id_request(&q, ids + done, chunk);
        const struct xml_node *root = NULL;
        struct span token = SPAN_NULL;
        enum err e = ec2io_call(cy, region, "DescribeInstances", &q, cy->scratch, &root, NULL);
        if (e == ERR_OK) {
            e = ec2_describe_instances_parse(cy->arena, root, out, &token);
        }
        arena_rewind(cy->scratch, m);
        TRY(e);
    }
    return ERR_OK;
}

enum err ec2io_first_zone(struct cycle *cy, const char *region, struct span *zone) {
    struct arena_mark m = arena_mark(cy->scratch);
    struct query_params q;
    query_init(&q, cy->scratch);
    ec2_describe_availability_zones_request(&q);
    const struct xml_node *root = NULL;
    enum err e = ec2io_call(cy, region, "DescribeAvailabilityZones", &q, cy->scratch, &root, NULL);
    if (e == ERR_OK) {
        e = ec2_first_available_zone_parse(cy->arena, root, zone);
    }
    arena_rewind(cy->scratch, m);
    return e;
}

static int s_span_cmp(const void *a, const void *b) {
    return span_cmp(*(const struct span *) a, *(const struct span *) b);
}

size_t ec2io_unique_spans(struct span *v, size_t n) {
    qsort(v, n, sizeof(*v), s_span_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k == 0 || !span_eq(v[k - 1], v[i])) {
            v[k++] = v[i];
        }
    }
    return k;
}

const struct ec2_instance *ec2io_find_instance(const struct ec2_instance_list *l, struct span id) {
    for (size_t i = 0; i < l->n; i++) {
        if (span_eq(l->items[i].id, id)) {
            return &l->items[i];
        }
    }
    return NULL;
}

struct span ec2io_device_of(const struct ec2_instance *inst, struct span volume_id) {
    for (size_t v = 0; inst != NULL && v < inst->nvolumes; v++) {
        if (span_eq(inst->volumes[v].volume_id, volume_id)) {
            return inst->volumes[v].device;
        }
    }
    return SPAN_NULL;
}

/* Copies the listed states into states[] (by id); returns how many are still creating. */
static size_t s_update_states(
  struct cycle *cy,
  const struct ec2_volume_list *l,
  const struct span *ids,
  size_t n,
  int64_t elapsed_ms,
  struct span *states,
  int64_t *ready_ms) {
    size_t creating = 0;
    for (size_t i = 0; i < n; i++) {
        states[i] = SPAN_NULL;
        for (size_t k = 0; k < l->n; k++) {
            if (span_eq(l->items[k].id, ids[i])) {
                states[i] = arena_span_dup(cy->arena, l->items[k].state);
            }
        }
        if (span_eq_cstr(states[i], "available") && ready_ms[i] < 0) {
            ready_ms[i] = elapsed_ms;
        }
        creating += span_eq_cstr(states[i], "creating") ? 1 : 0;
    }
    return creating;
}

enum err ec2io_wait_available(
  struct cycle *cy,
  const char *region,
  const struct span *ids,
  size_t n,
  int64_t start_mono_ms,
  int64_t timeout_ms,
  struct span *states,
  int64_t *ready_ms) {
    for (size_t i = 0; i < n; i++) {
        ready_ms[i] = -1;
    }
    for (;;) {
        struct ec2_volume_list l = { 0 };
        TRY(ec2io_list_volumes(cy, region, "volume-id", ids, n, &l));
        int64_t elapsed = time_mono_ms() - start_mono_ms;
        size_t creating = s_update_states(cy, &l, ids, n, elapsed, states, ready_ms);
        if (creating == 0 || elapsed >= timeout_ms || stop_requested()) {
            return ERR_OK;
        }
        LOG(
          LOG_INFO,
          "volumes.waiting",
          LF_S("region", region),
          LF_U("done", n - creating),
          LF_U("total", n),
          LF_I("elapsed_ms", elapsed),
          LF_I("timeout_ms", timeout_ms));
        int64_t left = timeout_ms - elapsed;
        int64_t sleep_ms = left < EC2IO_POLL_MS ? left : EC2IO_POLL_MS;
        struct timespec ts = { (time_t) (sleep_ms / 1000), (long) (sleep_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
}

/* The region of a command: SOURCE_REGION (or AWS_REGION...), else instance metadata, as the cycle does. */
static enum err s_tool_region(struct ec2io_tool *t) {
    if (t->cfg.source_region != NULL) {
        return ERR_OK;
    }
    char region[REGION_MAX + 1];
    enum err e = imds_discover_region(&t->cfg.env, t->st.http, time_wall_ms() / 1000, region);
    if (e != ERR_OK) {
        fprintf(stderr, "smartvault: no region: set SOURCE_REGION or AWS_REGION (%s)\n", err_last()->msg);
        return e;
    }
    t->cfg.source_region = arena_strndup(&t->arena, region, strlen(region));
    return ERR_OK;
}

enum ec2io_open_result
ec2io_tool_open(struct ec2io_tool *t, const char *command, int argc, const char *const *argv, const char *const *envp) {
    memset(t, 0, sizeof(*t));
    arena_init(&t->arena, 0);
    arena_init(&t->scratch, 0);
    struct cfg_input in = { .envp = envp, .argc = argc, .argv = argv };
    struct cfg_error err;
    if (cfg_parse(&t->cfg, &t->arena, &in, &err) != ERR_OK) {
        fprintf(stderr, "smartvault: %s: %s\n", command, err.line);
        return EC2IO_OPEN_USAGE;
    }
    struct log_config lc = { t->cfg.log_format, t->cfg.log_level, NULL };
    log_configure(&lc);
    int64_t now_ms = t->cfg.now_set ? t->cfg.now_ms : time_wall_ms();
    report_init(&t->report, &t->arena, now_ms);
    struct aws_stack_options so;
    job_stack_options(&t->cfg, &so);
    if (aws_stack_open(&so, &t->st) != ERR_OK) {
        fprintf(stderr, "smartvault: %s: cannot start: %s\n", command, err_last()->msg);
        return EC2IO_OPEN_CANNOT_START;
    }
    t->stack_open = true;
    if (s_tool_region(t) != ERR_OK) {
        return EC2IO_OPEN_CANNOT_START;
    }
    t->cy = (struct cycle){
        .cfg = &t->cfg,
        .aws = t->st.client,
        .arena = &t->arena,
        .scratch = &t->scratch,
        .report = &t->report,
        .now_s = now_ms / 1000,
        .dry_run = t->cfg.dry_run,
        .page_size = t->cfg.ec2_page_size ? t->cfg.ec2_page_size : EC2_DESCRIBE_SNAPSHOTS_MAX_RESULTS,
    };
    return EC2IO_OPEN_OK;
}

void ec2io_tool_close(struct ec2io_tool *t) {
    if (t->stack_open) {
        aws_stack_close(&t->st);
    }
    report_free(&t->report);
    arena_free(&t->scratch);
    arena_free(&t->arena);
}
