/*
 * stop.c - the process-wide stop flag (see stop.h) and the SIGTERM/SIGINT handlers that set it. It does not decide
 * what stopping means: the batch executor and the jobs read the flag.
 */
#include "base/stop.h"

#include "base/time.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t s_reason = STOP_NONE;
static volatile sig_atomic_t s_signo = 0;
static volatile sig_atomic_t s_ending = 0;
/*
 * When the stop was requested (CLOCK_MONOTONIC ms). Written before s_reason, which readers check first; a 64-bit
 * aligned store is single-copy atomic on the targets we build for (x86-64, arm64).
 */
static volatile int64_t s_at_ms = 0;
static int64_t s_total_ms = STOP_DEFAULT_TOTAL_MS;
static int64_t s_drain_ms = STOP_DEFAULT_DRAIN_MS;

void stop_request(enum stop_reason why, int signo) {
    if (s_reason != STOP_NONE || why == STOP_NONE) {
        return;
    }
    s_signo = signo;
    s_at_ms = time_mono_ms(); /* only clock_gettime: async-signal-safe (POSIX.1-2008 XSH 2.4.3) */
    s_reason = why;
}

void stop_configure(int64_t total_ms, int64_t drain_ms) {
    s_total_ms = total_ms > 0 ? total_ms : STOP_DEFAULT_TOTAL_MS;
    s_drain_ms = drain_ms > 0 ? drain_ms : STOP_DEFAULT_DRAIN_MS;
    if (s_drain_ms > s_total_ms) {
        s_drain_ms = s_total_ms;
    }
}

void stop_begin_ending(void) {
    s_ending = 1;
}

bool stop_refuses_new(void) {
    return s_reason != STOP_NONE && !s_ending;
}

int64_t stop_elapsed_ms(int64_t now_mono_ms) {
    if (s_reason == STOP_NONE) {
        return 0;
    }
    int64_t d = now_mono_ms - s_at_ms;
    return d > 0 ? d : 0;
}

bool stop_cancels_in_flight(int64_t now_mono_ms) {
    if (s_reason == STOP_NONE) {
        return false;
    }
    return stop_elapsed_ms(now_mono_ms) >= (s_ending ? s_total_ms : s_drain_ms);
}

bool stop_requested(void) {
    return s_reason != STOP_NONE;
}

enum stop_reason stop_reason(void) {
    return (enum stop_reason) s_reason;
}

int stop_signal(void) {
    return (int) s_signo;
}

const char *stop_reason_name(enum stop_reason why) {
    switch (why) {
        case STOP_NONE:
            return "none";
        case STOP_SIGNAL:
            return "signal";
        case STOP_DEADLINE:
            return "deadline";
    }
    return "unknown";
}

static void s_on_signal(int signo) {
    if (s_signo != 0) {
        _exit(128 + signo); /* the second signal: the operator insists */
    }
    if (s_reason != STOP_NONE) {
        s_signo = signo; /* already stopping for the deadline: remember the signal so a second one exits */
        return;
    }
    stop_request(STOP_SIGNAL, signo);
}

void stop_install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    (void) sigaction(SIGTERM, &sa, NULL);
    (void) sigaction(SIGINT, &sa, NULL);
}

void stop_reset(void) {
    s_reason = STOP_NONE;
    s_signo = 0;
    s_ending = 0;
    s_at_ms = 0;
}
