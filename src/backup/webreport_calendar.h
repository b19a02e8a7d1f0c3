/*
 * webreport_calendar.h - the coverage calendar's history in the audit table (DYNAMODB_TABLE): what the page
 * knows about each day survives retention deleting the snapshots that showed it.
 *
 * Items (one partition per account and source region, one item per day, split into chunks past
 * WEBREPORT_CAL_CHUNK_BYTES of volume ids so that no item nears DynamoDB's 400 KB):
 *
 *     pk  "calendar#<account>#<region>"   (account "unknown" when the credentials do not say)
 *     sk  "<YYYY-MM-DD>#<chunk, 2 digits>"
 *     snap, dr, drill_passed, drill_failed   volume ids separated by one space (absent when none)
 *     run_id, written_at (Unix ms) of the run that wrote it; expires_at (TTL) 31 days after the day
 *
 * snap: a completed SmartVault snapshot of the volume started that day (UTC); dr: a completed copy of a snapshot
 * of that day is in the DR region; drill_*: a restore drill of the volume ended that day. A day's item only ever
 * grows: a run reads the last 30 days (one Query, paged), and rewrites a day only when its own listings or drills
 * know something the stored item lacks (the union of both), so a run normally writes today's item only.
 */
#ifndef SV_BACKUP_WEBREPORT_CALENDAR_H
#define SV_BACKUP_WEBREPORT_CALENDAR_H

#include "backup/job.h"
#include "backup/webreport.h"
#include "svc/dynamodb.h"

#define WEBREPORT_CAL_PK_PREFIX "calendar#"
#define WEBREPORT_CAL_CHUNK_BYTES ((size_t) 192 * 1024) /* volume id text per item: 400 KB is DynamoDB's item limit */
#define WEBREPORT_CAL_TTL_DAYS (WEBREPORT_DAYS + 1)
#define WEBREPORT_CAL_PAGES_MAX 1000 /* Query pages read (1 MB each): far past 30 days of any fleet */

/* A day to write: its partition, the day (days since 1970-01-01), the writer. */
struct webreport_calendar_day {
    const char *pk;
    int64_t day;
    const char *run_id;
    int64_t written_ms;
};

/*
 * The items of one day: ids[i] of kind kinds[i], sorted by kind then id (distinct), cut into chunks of at most
 * WEBREPORT_CAL_CHUNK_BYTES of ids (sk "<day>#00", "#01", ...). Returns the number of items (0 when n is 0).
 */
size_t webreport_calendar_day_items(
  struct arena *a,
  const struct webreport_calendar_day *d,
  const char *const *ids,
  const enum webreport_hist *kinds,
  size_t n,
  struct dynamodb_item **out);

/* The partition key of an (account, region); in `a`. */
const char *webreport_calendar_pk(struct arena *a, const char *account, const char *region);

/*
 * The last WEBREPORT_DAYS days' items of (account, region), as history records in cy->arena. A failure is a
 * warning (report.calendar_unavailable): the calendar then shows the snapshots kept only.
 */
enum err webreport_calendar_read(
  struct cycle *cy,
  const char *account,
  const char *region,
  struct webreport_history_day **out,
  size_t *n) SV_MUST_CHECK;

/*
 * Writes the days of (account, region) on which the model's volumes show something `stored` lacks (as the union
 * of both); *written is the number of items put. A failure is a warning (report.calendar_failed).
 */
enum err webreport_calendar_write(
  struct cycle *cy,
  const struct webreport *w,
  const char *account,
  const char *region,
  const struct webreport_history_day *stored,
  size_t nstored,
  size_t *written) SV_MUST_CHECK;

#endif
