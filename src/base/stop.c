/*
 * stop.c - the process-wide stop flag (see stop.h) and the SIGTERM/SIGINT handlers that set it. It does not decide
 * what stopping means: the batch executor and the jobs read the flag.
 */
#include "base/stop.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

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
}
