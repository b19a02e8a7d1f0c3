/*
 * stop.c - the process-wide stop flag (see stop.h). No signal handling here: the handlers that set the flag are
 * installed by the program's entry point; this file only stores and reads it.
 */
#include "base/stop.h"

#include <signal.h>

static volatile sig_atomic_t s_reason = STOP_NONE;
static volatile sig_atomic_t s_signo = 0;

void stop_request(enum stop_reason why, int signo) {
    if (s_reason != STOP_NONE || why == STOP_NONE) {
        return;
    }
    s_signo = signo;
    s_reason = why;
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

void stop_reset(void) {
    s_reason = STOP_NONE;
    s_signo = 0;
}
