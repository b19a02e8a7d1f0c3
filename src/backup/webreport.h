/*
 * webreport.h - the coverage report people look at: one self-contained HTML page and the JSON behind it
 * (report.json), both rendered from one model built from the EBS listings and the cycle report.
 *
 * The model (struct webreport) is built by webreport_build() from plain data and "now": no I/O, no clock, no
 * logging, so the same input renders the same bytes. It holds one row per backed-up volume with what an
 * operator asks first (is it protected, since when, in both regions?) and the run's facts (counts, failures,
 * S3 routes), from the other jobs' records: the restore drill's per volume (this run's report items, earlier
 * runs' from the calendar history), the configured RPO, the copy plan's DR backlog (report.dr_backlog). What can
 * be computed from the listings is computed here: newest snapshot age per volume, DR copy presence and backlog.
 * A multi-target run gives one part per (account, region) target; rows are grouped by them.
 *
 * Definitions (the page's footer says them in words):
 *   - a volume is a volume of a discovered instance (block device mapping) or a volume that has SmartVault
 *     snapshots kept in the source region (its instance is gone or no longer tagged: its last backups matter);
 *   - protected: at least one completed SmartVault snapshot kept in the source region;
 *   - within the RPO: the newest pending or completed snapshot (or one this run created) started at most rpo_s
 *     ago; the header's share counts the volumes of discovered instances only, as cycle.done's coverage does;
 *   - DR copy up to date: the newest completed source snapshot has a copy (completed, pending, or started this
 *     run) in the DR region; DR backlog: completed source snapshots inside retention without a copy;
 *   - a problem row: not within the RPO, a DR backlog older than the RPO, a failure of this run naming the
 *     instance or the volume, or a failed drill. Problem rows come first.
 *
 * Calendar: bit d of `days` (d = 0 today, UTC) is set when a completed source snapshot of the volume started
 * that day; bit d of `dr_days` when a DR copy of a snapshot of that day exists. History beyond the snapshots
 * retention keeps comes from `history` (the audit table's calendar items, backup/webreport_calendar.h).
 *
 * The HTML (webreport_html): UTF-8, one file, inline CSS and SVG, a small inline script (sorting, filtering) the
 * page works without, and a Content-Security-Policy meta tag that allows nothing but that style and that script
 * (by their SHA-256), so nothing in the page can load or run anything else. Every value from AWS passes
 * through codec/html. Size: about 300 bytes per healthy volume (WEBREPORT_PAGE_BYTES_PER_VOLUME_MAX is the
 * promise the tests hold it to).
 */
#ifndef SV_BACKUP_WEBREPORT_H
#define SV_BACKUP_WEBREPORT_H

#include "backup/report.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "cfg/cfg.h"
#include "svc/ec2.h"

#include <stdbool.h>
#include <stdint.h>

#define WEBREPORT_DAYS 30                       /* calendar days, today included */
#define WEBREPORT_PAGE_BYTES_PER_VOLUME_MAX 600 /* issue 15: the page stays under this per volume */
#define WEBREPORT_FAILURES_MAX 10000            /* failures listed (all are counted) */
#define WEBREPORT_RUNS_MAX 30                   /* last runs listed */
#define WEBREPORT_OPEN_ROWS_MAX 200             /* more healthy rows than this start collapsed (render time) */
#define WEBREPORT_PAGE_MAX ((size_t) 64 * 1024 * 1024)
#define WEBREPORT_SCHEMA_VERSION 1

enum webreport_dr {
    WEBREPORT_DR_OFF = 0, /* no DR region configured */
    WEBREPORT_DR_OK,      /* the newest completed snapshot has a completed copy */
    WEBREPORT_DR_PENDING, /* ... a copy in progress (or started this run) */
    WEBREPORT_DR_BEHIND,  /* an older snapshot has a copy, the newest completed not yet */
    WEBREPORT_DR_MISSING, /* no copy at all (or nothing completed to copy yet: WEBREPORT_DR_NONE) */
    WEBREPORT_DR_NONE,    /* no completed snapshot yet: nothing to copy */
    WEBREPORT_DR_UNKNOWN, /* the DR region could not be listed */
};

enum webreport_drill { WEBREPORT_DRILL_NONE = 0, WEBREPORT_DRILL_PASSED, WEBREPORT_DRILL_FAILED };

struct webreport_volume {
    const char *account; /* "" when unknown */
    const char *region;
    const char *instance_id; /* "" when the snapshots do not say */
    const char *name;        /* the instance's Name tag (or the snapshots'), "" when none */
    const char *device;      /* "" when unknown (instance gone) */
    const char *volume_id;
    bool instance_gone;          /* only known from snapshots */
    int64_t newest_s;            /* StartTime of the newest pending or completed snapshot; 0 = none */
    int64_t newest_done_s;       /* ... of the newest completed one; 0 = none */
    uint32_t kept;               /* source snapshots kept (any state) */
    uint32_t dr_kept;            /* copies kept in the DR region */
    enum webreport_dr dr;        /* DR state of the newest completed snapshot */
    uint32_t dr_backlog;         /* completed snapshots inside retention without a copy */
    int64_t dr_backlog_oldest_s; /* StartTime of the oldest of them; 0 = none */
    uint32_t days;               /* calendar bits (see above) */
    uint32_t dr_days;
    enum webreport_drill drill; /* filled by the restore drill when it ran for this volume */
    int64_t drill_s;
    const char *failure_code; /* the AWS code of this run's first failure naming it, or NULL */
    bool problem;
    const char *problem_why; /* short: "no snapshot", "stale", "DR behind", "failed", "drill failed" */
};

struct webreport_route {
    const char *prefix;
    const char *bucket;
    uint64_t copied, bytes, skipped, failed;
};

/* One earlier run (from the audit table), newest first. */
struct webreport_run {
    const char *run_id;
    int64_t start_ms;
    const char *outcome;
    int64_t duration_ms; /* -1 unknown */
    struct report_counts counts;
};

/* What an item of the calendar's history says about a volume on a day (backup/webreport_calendar.c). */
enum webreport_hist {
    WEBREPORT_HIST_SNAP = 0,     /* a completed source snapshot started that day */
    WEBREPORT_HIST_DR,           /* a completed DR copy of a snapshot of that day */
    WEBREPORT_HIST_DRILL_PASSED, /* a restore drill of the volume passed that day */
    WEBREPORT_HIST_DRILL_FAILED, /* ... failed */
    WEBREPORT_HIST__KINDS
};

struct webreport_history_day {
    const char *volume_id;
    int64_t start_s; /* any time of the day (UTC) */
    enum webreport_hist kind;
};

/*
 * One (account, source region) of the fleet: its listings and its history. A single-target run has one (the
 * input's own fields when nparts is 0); a multi-account run one per target, and the page groups rows by them.
 */
struct webreport_part {
    const char *account; /* NULL/"" when unknown */
    const char *region;
    const char *dest_region; /* NULL: no DR for this target */
    const struct ec2_instance *const *instances;
    size_t ninstances;
    const struct ec2_snaps *src; /* NULL: not listed */
    const struct ec2_snaps *dst; /* NULL: no DR region, or not listed (dst_failed) */
    bool dst_failed;
    const struct webreport_history_day *history;
    size_t nhistory;
};

/* What webreport_build needs besides the report. */
struct webreport_input {
    const struct cfg *cfg;
    const char *account;       /* the account id when the credentials say, else NULL */
    const char *source_region; /* resolved */
    int64_t now_s;
    int64_t rpo_s; /* 0: cfg->rpo_s, else webreport_default_rpo_s(cfg) */
    /* The listings: discovered instances, SmartVault snapshots in the source and DR regions. */
    const struct ec2_instance *const *instances;
    size_t ninstances;
    const struct ec2_snaps *src; /* NULL: the source region could not be listed */
    const struct ec2_snaps *dst; /* NULL: no DR region, or it could not be listed (dst_failed) */
    bool dst_failed;
    /* The run (NULL for `smartvault report`, which runs no cycle). */
    const struct report *report;
    const char *outcome; /* the run's outcome so far ("ok", "partial"); NULL without a report */
    /* Optional: earlier runs and older snapshot history (audit table). */
    const struct webreport_run *runs;
    size_t nruns;
    const struct webreport_history_day *history;
    size_t nhistory;
    /* Multi-target runs: the targets (then the single-target fields above are not used). */
    const struct webreport_part *parts;
    size_t nparts;
};

struct webreport {
    const char *generated_at; /* RFC 3339 of now */
    int64_t now_s;
    const char *account;
    const char *source_region;
    const char *dest_region; /* NULL: no DR */
    const char *backup_tag;  /* "Backup=true" */
    int64_t rpo_s;
    uint32_t retention_days;
    bool listed;     /* the source listing is complete (else the volume table is what could be learned) */
    bool dst_failed; /* the DR region could not be listed */
    struct webreport_volume *volumes;
    size_t nvolumes;
    size_t ngroups; /* distinct (account, region) pairs */
    /* Fleet figures (derived from volumes). */
    size_t protected_n, dr_up_to_date, problems;
    /* The RPO share, over the volumes of discovered instances as cycle.done's coverage counts them (volumes only
     * kept snapshots know are listed but no longer backed up, so not held to it). */
    size_t rpo_volumes, within_rpo, outside_rpo;
    int64_t oldest_backup_age_s;     /* the oldest "newest snapshot" age; -1 when no volume has one */
    uint64_t dr_backlog;             /* the run's copy plan's (cycle.done dr_backlog) when it ran, else the rows' */
    int64_t dr_backlog_oldest_age_s; /* -1 when none */
    bool dr_backlog_from_run;
    bool has_history; /* the calendar includes the audit table's history */
    /* Restore drills: volumes whose last drill (this run's or the calendar's, 30 days) passed / failed. */
    bool has_drills;
    uint64_t drills_passed, drills_failed;
    /* The run. */
    bool has_run;
    const struct report *report;
    const char *outcome;
    struct report_counts counts;
    const struct report_item **failures;
    size_t nfailures; /* listed, at most WEBREPORT_FAILURES_MAX */
    struct webreport_route *routes;
    size_t nroutes;
    const struct webreport_run *runs;
    size_t nruns;
};

/* The RPO the page uses when none is configured: two MIN_INTERVALs (one missed run), at least one hour. */
int64_t webreport_default_rpo_s(const struct cfg *cfg);

/* Builds the model; everything it allocates (and copies of the strings it keeps) goes to `a`. */
void webreport_build(struct arena *a, const struct webreport_input *in, struct webreport *out);

/* The page. ERR_LIMIT past the buffer's maximum. */
enum err webreport_html(const struct webreport *w, struct buf *out) SV_MUST_CHECK;
/* report.json: the model's data, counts exactly as in cycle.done. */
enum err webreport_json(const struct webreport *w, struct buf *out) SV_MUST_CHECK;

const char *webreport_dr_name(enum webreport_dr d);

#endif
