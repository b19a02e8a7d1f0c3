/*
 * ec2io.h - the EC2 reads and writes shared by `list`, `restore` and the restore drill: one call with its XML
 * response, paged listings of SmartVault snapshots and of volumes, instances by id, the first available zone,
 * and the bounded wait for volumes to become available.
 *
 * Failures are logged once here (event `ec2.failed` with the step, AWS code and request id) and returned;
 * the callers decide what a failure means (exit code, report item).
 */
#ifndef SV_BACKUP_EC2IO_H
#define SV_BACKUP_EC2IO_H

#include "backup/job.h"
#include "svc/ec2_volume.h"

/* DescribeVolumes while waiting for volumes to become available (the last poll is cut to the time left). */
#define EC2IO_POLL_MS 5000

/*
 * A command's session (`list`, `restore`): the configuration from the environment and the flags the command
 * did not take, the AWS stack, and a cycle context for the helpers below. Opened by ec2io_tool_open, which
 * prints the one error line itself; always closed with ec2io_tool_close.
 */
struct ec2io_tool {
    struct arena arena;
    struct arena scratch;
    struct cfg cfg;
    struct aws_stack st;
    struct report report;
    struct cycle cy;
    bool stack_open;
};

enum ec2io_open_result { EC2IO_OPEN_OK = 0, EC2IO_OPEN_USAGE, EC2IO_OPEN_CANNOT_START };

enum ec2io_open_result
ec2io_tool_open(struct ec2io_tool *t, const char *command, int argc, const char *const *argv, const char *const *envp);
void ec2io_tool_close(struct ec2io_tool *t);

/*
 * Runs one EC2 Query call in `region`; on success *root is its response tree in `tree_arena`. On failure the
 * AWS code (or the error class) is copied into `code` (may be NULL) and the error is returned.
 */
enum err ec2io_call(
  struct cycle *cy,
  const char *region,
  const char *operation,
  const struct query_params *q,
  struct arena *tree_arena,
  const struct xml_node **root,
  char code[AWS_ERROR_CODE_MAX + 1]) SV_MUST_CHECK;

/* Every SmartVault snapshot and DR copy in `region` (CreatedBy=SmartVault), all pages, into cy->arena. */
enum err ec2io_list_snapshots(struct cycle *cy, const char *region, struct ec2_snapshot_list *out) SV_MUST_CHECK;
/* Volumes matching one filter ("volume-id", "tag:SmartVault:Drill", ...), all pages, into cy->arena. */
enum err ec2io_list_volumes(
  struct cycle *cy,
  const char *region,
  const char *filter,
  const struct span *values,
  size_t nvalues,
  struct ec2_volume_list *out) SV_MUST_CHECK;
/* Instances by id (absent ids are simply missing), into cy->arena. */
enum err ec2io_instances(
  struct cycle *cy,
  const char *region,
  const struct span *ids,
  size_t nids,
  struct ec2_instance_list *out) SV_MUST_CHECK;
/* The first available zone of the region (by name). */
enum err ec2io_first_zone(struct cycle *cy, const char *region, struct span *zone) SV_MUST_CHECK;

/*
 * Polls DescribeVolumes until none of `ids` is `creating` or `timeout_ms` has passed (or a stop was requested).
 * states[i] is the last state seen ("available", "error", "creating", or "" when the volume was not listed);
 * ready_ms[i] is when it was first seen available, relative to `start_mono_ms`. Logs progress while waiting.
 */
enum err ec2io_wait_available(
  struct cycle *cy,
  const char *region,
  const struct span *ids,
  size_t n,
  int64_t start_mono_ms,
  int64_t timeout_ms,
  struct span *states,
  int64_t *ready_ms) SV_MUST_CHECK;

/* Sorts the ids and removes repeats; returns how many remain. */
size_t ec2io_unique_spans(struct span *v, size_t n);

/* The instance of a listing with this id, or NULL. */
const struct ec2_instance *ec2io_find_instance(const struct ec2_instance_list *l, struct span id);
/* The device of `volume_id` on the instance, or an empty span. */
struct span ec2io_device_of(const struct ec2_instance *inst, struct span volume_id);

#endif
