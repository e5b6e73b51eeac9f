/* signals.c - stop/reload flags set from signal handlers (signals.h). */
#include "common/signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_sig;
static volatile sig_atomic_t reload_flag;

static void on_stop(int sig) {
    stop_sig = sig;
}

static void on_hup(int sig) {
    (void)sig;
    reload_flag = 1;
}

llmopt_err_t llmopt_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
        return LLMOPT_ERR_IO;
    sa.sa_handler = on_hup;
    if (sigaction(SIGHUP, &sa, NULL))
        return LLMOPT_ERR_IO;
    return LLMOPT_OK;
}

bool llmopt_signals_stop_requested(void) {
    return stop_sig != 0;
}

int llmopt_signals_stop_signal(void) {
    return stop_sig;
}

bool llmopt_signals_take_reload(void) {
    if (!reload_flag)
        return false;
    reload_flag = 0;
    return true;
}

void llmopt_signals_clear(void) {
    stop_sig = 0;
    reload_flag = 0;
}
