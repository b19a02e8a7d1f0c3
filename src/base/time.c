/*
 * time.c - civil-date conversions (days_from_civil / civil_from_days, H. Hinnant, public domain algorithms)
 * and strict parsers for the date formats AWS emits. Parsers reject anything not fully consumed.
 */
#include "base/time.h"

#include <string.h>
#include <time.h>

int64_t time_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t s_floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

struct civil time_civil_from_unix(int64_t unix_s) {
    int64_t days = s_floor_div(unix_s, 86400);
    int64_t secs = unix_s - days * 86400;
    int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    struct civil c;
    c.year = (int) (yoe + era * 400 + (m <= 2));
    c.month = (int) m;
    c.day = (int) d;
    c.hour = (int) (secs / 3600);
    c.min = (int) (secs / 60 % 60);
    c.sec = (int) (secs % 60);
    return c;
}

int64_t time_unix_from_civil(const struct civil *c) {
    return time_days_from_civil(c->year, c->month, c->day) * 86400 + c->hour * 3600 + c->min * 60 + c->sec;
}

/* Writes v as exactly `width` decimal digits (v is non-negative and fits); returns the position after. */
static char *s_put(char *p, int v, int width) {
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char) ('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* Years outside 0..9999 cannot be written in these formats; they are clamped (AWS never sends them). */
static struct civil s_civil_clamped(int64_t unix_s) {
    struct civil c = time_civil_from_unix(unix_s);
    if (c.year < 0) {
        c = (struct civil){ 0, 1, 1, 0, 0, 0 };
    } else if (c.year > 9999) {
        c = (struct civil){ 9999, 12, 31, 23, 59, 59 };
    }
    return c;
}

static char *s_put_date(char *p, const struct civil *c, bool dashes) {
    p = s_put(p, c->year, 4);
    if (dashes) {
        *p++ = '-';
    }
    p = s_put(p, c->month, 2);
    if (dashes) {
        *p++ = '-';
    }
    return s_put(p, c->day, 2);
}

static char *s_put_clock(char *p, const struct civil *c, bool colons) {
    p = s_put(p, c->hour, 2);
    if (colons) {
        *p++ = ':';
    }
    p = s_put(p, c->min, 2);
    if (colons) {
        *p++ = ':';
    }
    return s_put(p, c->sec, 2);
}

void time_format_iso8601(int64_t unix_s, char out[TIME_ISO8601_LEN + 1]) {
    struct civil c = s_civil_clamped(unix_s);
    char *p = s_put_date(out, &c, true);
    *p++ = 'T';
    p = s_put_clock(p, &c, true);
    *p++ = 'Z';
    *p = '\0';
}

void time_format_iso8601_ms(int64_t unix_ms, char out[TIME_ISO8601_LEN + 5]) {
    int64_t s = s_floor_div(unix_ms, 1000);
    struct civil c = s_civil_clamped(s);
    char *p = s_put_date(out, &c, true);
    *p++ = 'T';
    p = s_put_clock(p, &c, true);
    *p++ = '.';
    p = s_put(p, (int) (unix_ms - s * 1000), 3);
    *p++ = 'Z';
    *p = '\0';
}

void time_format_amz(int64_t unix_s, char out[TIME_AMZ_LEN + 1]) {
    struct civil c = s_civil_clamped(unix_s);
    char *p = s_put_date(out, &c, false);
    *p++ = 'T';
    p = s_put_clock(p, &c, false);
    *p++ = 'Z';
    *p = '\0';
}

void time_format_date(int64_t unix_s, char out[TIME_DATE_LEN + 1]) {
    struct civil c = s_civil_clamped(unix_s);
    char *p = s_put_date(out, &c, true);
    *p = '\0';
}

/* Reads exactly n digits at *i. */
static int s_digits(struct span s, size_t *i, size_t n, int *out) {
    if (*i + n > s.n) {
        return -1;
    }
    int v = 0;
    for (size_t k = 0; k < n; k++) {
        char ch = s.p[*i + k];
        if (ch < '0' || ch > '9') {
            return -1;
        }
        v = v * 10 + (ch - '0');
    }
    *i += n;
    *out = v;
    return 0;
}

static int s_expect(struct span s, size_t *i, char c) {
    if (*i >= s.n || s.p[*i] != c) {
        return -1;
    }
    (*i)++;
    return 0;
}

static int s_days_in_month(int y, int m) {
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

static bool s_civil_valid(const struct civil *c) {
    return c->month >= 1 && c->month <= 12 && c->day >= 1 && c->day <= s_days_in_month(c->year, c->month) &&
           c->hour <= 23 && c->min <= 59 && c->sec <= 60;
}

/* complexity: one check per field of RFC 3339 §5.6 read left to right; split up, the grammar would not show */
enum err time_parse_rfc3339_ms(struct span s, int64_t *unix_ms) {
    struct civil c = { 0 };
    size_t i = 0;
    if (
      s_digits(s, &i, 4, &c.year) || s_expect(s, &i, '-') || s_digits(s, &i, 2, &c.month) || s_expect(s, &i, '-') ||
      s_digits(s, &i, 2, &c.day)) {
        FAIL(ERR_PARSE, "bad date");
    }
    ENSURE(i < s.n && (s.p[i] == 'T' || s.p[i] == 't'), ERR_PARSE, "missing T");
    i++;
    if (
      s_digits(s, &i, 2, &c.hour) || s_expect(s, &i, ':') || s_digits(s, &i, 2, &c.min) || s_expect(s, &i, ':') ||
      s_digits(s, &i, 2, &c.sec)) {
        FAIL(ERR_PARSE, "bad time");
    }
    ENSURE(s_civil_valid(&c), ERR_PARSE, "date out of range");
    int ms = 0;
    if (i < s.n && s.p[i] == '.') {
        i++;
        size_t start = i;
        int scale = 100;
        while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') {
            ms += (s.p[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        ENSURE(i > start, ERR_PARSE, "empty fraction");
    }
    int offset_s = 0;
    ENSURE(i < s.n, ERR_PARSE, "missing zone");
    if (s.p[i] == 'Z' || s.p[i] == 'z') {
        i++;
    } else if (s.p[i] == '+' || s.p[i] == '-') {
        int sign = s.p[i] == '-' ? -1 : 1;
        int oh = 0, om = 0;
        i++;
        if (s_digits(s, &i, 2, &oh) || s_expect(s, &i, ':') || s_digits(s, &i, 2, &om) || oh > 23 || om > 59) {
            FAIL(ERR_PARSE, "bad zone offset");
        }
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        FAIL(ERR_PARSE, "bad zone");
    }
    ENSURE(i == s.n, ERR_PARSE, "trailing characters");
    *unix_ms = (time_unix_from_civil(&c) - offset_s) * 1000 + ms;
    return ERR_OK;
}

enum err time_parse_rfc3339(struct span s, int64_t *unix_s) {
    int64_t ms = 0;
    TRY(time_parse_rfc3339_ms(s, &ms));
    *unix_s = s_floor_div(ms, 1000);
    return ERR_OK;
}

enum err time_parse_amz(struct span s, int64_t *unix_s) {
    struct civil c = { 0 };
    size_t i = 0;
    if (
      s_digits(s, &i, 4, &c.year) || s_digits(s, &i, 2, &c.month) || s_digits(s, &i, 2, &c.day) ||
      s_expect(s, &i, 'T') || s_digits(s, &i, 2, &c.hour) || s_digits(s, &i, 2, &c.min) || s_digits(s, &i, 2, &c.sec) ||
      s_expect(s, &i, 'Z') || i != s.n) {
        FAIL(ERR_PARSE, "bad amz date");
    }
    ENSURE(s_civil_valid(&c), ERR_PARSE, "date out of range");
    *unix_s = time_unix_from_civil(&c);
    return ERR_OK;
}

/* complexity: one check per field of RFC 7231 §7.1.1.1 IMF-fixdate, in the order they appear */
enum err time_parse_http_date(struct span s, int64_t *unix_s) {
    static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct civil c = { 0 };
    size_t i = 0;
    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    ENSURE(s.n == 29, ERR_PARSE, "bad http date length");
    i = 5;
    if (s.p[3] != ',' || s.p[4] != ' ' || s_digits(s, &i, 2, &c.day) || s_expect(s, &i, ' ')) {
        FAIL(ERR_PARSE, "bad http date");
    }
    c.month = 0;
    for (int m = 0; m < 12; m++) {
        if (memcmp(s.p + i, months[m], 3) == 0) {
            c.month = m + 1;
        }
    }
    ENSURE(c.month != 0, ERR_PARSE, "bad month");
    i += 3;
    if (
      s_expect(s, &i, ' ') || s_digits(s, &i, 4, &c.year) || s_expect(s, &i, ' ') || s_digits(s, &i, 2, &c.hour) ||
      s_expect(s, &i, ':') || s_digits(s, &i, 2, &c.min) || s_expect(s, &i, ':') || s_digits(s, &i, 2, &c.sec) ||
      memcmp(s.p + i, " GMT", 4) != 0) {
        FAIL(ERR_PARSE, "bad http date");
    }
    ENSURE(s_civil_valid(&c), ERR_PARSE, "date out of range");
    *unix_s = time_unix_from_civil(&c);
    return ERR_OK;
}
