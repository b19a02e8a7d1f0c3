/*
 * time.h - calendar arithmetic and the formats AWS uses, without gmtime (banned: not reentrant, locale-free
 * code wants no libc time state). Times are Unix seconds (int64, UTC) or milliseconds.
 *
 * Only main.c and net/ read the clocks (time_wall_ms, time_mono_ms); everything else gets "now" passed in,
 * so tests never read the wall clock.
 */
#ifndef SV_BASE_TIME_H
#define SV_BASE_TIME_H

#include "base/err.h"
#include "base/span.h"

#include <stdint.h>

#define TIME_ISO8601_LEN 20 /* "2015-08-30T12:36:00Z" */
#define TIME_AMZ_LEN 16     /* "20150830T123600Z" */
#define TIME_DATE_LEN 10    /* "2015-08-30" */

struct civil {
    int year, month, day, hour, min, sec; /* month 1-12, day 1-31 */
};

int64_t time_wall_ms(void);
int64_t time_mono_ms(void);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back (Howard Hinnant's algorithms). */
int64_t time_days_from_civil(int y, int m, int d);
struct civil time_civil_from_unix(int64_t unix_s);
int64_t time_unix_from_civil(const struct civil *c);

/* out must hold LEN + 1 bytes. */
void time_format_iso8601(int64_t unix_s, char out[TIME_ISO8601_LEN + 1]);
void time_format_amz(int64_t unix_s, char out[TIME_AMZ_LEN + 1]);
void time_format_date(int64_t unix_s, char out[TIME_DATE_LEN + 1]);
/* "2015-08-30T12:36:00.123Z" (millisecond precision). */
void time_format_iso8601_ms(int64_t unix_ms, char out[TIME_ISO8601_LEN + 5]);

/*
 * RFC 3339 / ISO 8601 as AWS writes it: "YYYY-MM-DDThh:mm:ss[.fff...](Z|±hh:mm)". Lower-case 't'/'z' are
 * accepted. Fractions are truncated to milliseconds. ERR_PARSE on anything else.
 */
enum err time_parse_rfc3339_ms(struct span s, int64_t *unix_ms) SV_MUST_CHECK;
enum err time_parse_rfc3339(struct span s, int64_t *unix_s) SV_MUST_CHECK;
/* "20150830T123600Z" */
enum err time_parse_amz(struct span s, int64_t *unix_s) SV_MUST_CHECK;
/* RFC 7231 IMF-fixdate, the HTTP Date header: "Sun, 06 Nov 1994 08:49:37 GMT". */
enum err time_parse_http_date(struct span s, int64_t *unix_s) SV_MUST_CHECK;

#endif
