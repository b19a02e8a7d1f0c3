/*
 * stop.h - the process-wide "stop starting new work" flag.
 *
 * A cycle is asked to stop for two reasons: a signal from the scheduler (SIGTERM/SIGINT: ECS and Kubernetes stop a
 * container that way) or the run's own deadline (RUN_TIMEOUT). Both end the same way: no new request is started,
 * what is in flight finishes within a bound or is cancelled, and the cycle reports what it did and what it left
 * undone. This module only holds the flag; who sets it (a signal handler, the deadline check in the batch
 * executor) and who reads it (the batch executor, the jobs between phases) live elsewhere.
 *
 * The flag is a `volatile sig_atomic_t`, so a signal handler may set it; reading it is cheap enough for every turn
 * of an event loop. It never goes back to "not stopping" except through stop_reset(), which exists for tests.
 */
#ifndef SV_BASE_STOP_H
#define SV_BASE_STOP_H

#include <stdbool.h>
#include <stdint.h>

enum stop_reason {
    STOP_NONE = 0,
    STOP_SIGNAL,   /* SIGTERM or SIGINT arrived */
    STOP_DEADLINE, /* the run's deadline (RUN_TIMEOUT) passed */
};

/* Asks the cycle to stop. The first reason wins; later requests keep it. Async-signal-safe. */
void stop_request(enum stop_reason why, int signo);

/* True once a stop was requested. */
bool stop_requested(void);

/* Why the stop was requested (STOP_NONE when it was not). */
enum stop_reason stop_reason(void);

/* The signal that requested the stop, 0 when none did. */
int stop_signal(void);

/* A stable lowercase name for log lines: "none", "signal", "deadline". */
const char *stop_reason_name(enum stop_reason why);

/*
 * Installs handlers for SIGTERM and SIGINT (also effective as PID 1, where the kernel drops signals that have no
 * handler): the first one requests a stop; a second one ends the process at once with 128 + the signal number, as
 * an operator pressing Ctrl-C twice expects. No SA_RESTART: a blocking wait returns EINTR and looks at the flag.
 */
void stop_install_signal_handlers(void);

/*
 * The ending (DESIGN: "how stopping works"). After a stop is requested the cycle has `total_ms` (STOP_TIMEOUT)
 * to end: the jobs' requests already on the wire may finish during the first `drain_ms` and are cancelled after
 * it (net/http aborts them); then the cycle enters the ending (stop_begin_ending()): its own requests (audit,
 * metrics, SNS, lease release, multipart aborts) are allowed again, and cancelled when `total_ms` has passed
 * since the stop. Both are counted from the moment the stop was requested. 0 = the defaults below.
 */
#define STOP_DEFAULT_TOTAL_MS 20000
#define STOP_DEFAULT_DRAIN_MS 8000

void stop_configure(int64_t total_ms, int64_t drain_ms);

/* The jobs have returned: requests made from now on are the ending's own and are not refused. */
void stop_begin_ending(void);

/* True while new work must not start: a stop was requested and the ending has not begun. */
bool stop_refuses_new(void);

/*
 * True when a request in flight at `now_mono_ms` (time_mono_ms()) must be cancelled: the jobs' requests after the
 * drain bound, the ending's own after the total bound. False when no stop was requested.
 */
bool stop_cancels_in_flight(int64_t now_mono_ms);

/* Milliseconds since the stop was requested (0 when it was not). */
int64_t stop_elapsed_ms(int64_t now_mono_ms);

/* Clears the flag. For tests only. */
void stop_reset(void);

#endif
