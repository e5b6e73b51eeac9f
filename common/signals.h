/*
 * signals.h - SIGINT/SIGTERM (stop) and SIGHUP (reload) as flags.
 *
 * The handlers only set a volatile sig_atomic_t; the main loop polls with
 * llmopt_signals_stop_requested() and llmopt_signals_take_reload(). Process
 * wide: install once from the main thread before starting other threads
 * (threads inherit the dispositions). SA_RESTART is not set, so a blocking
 * call in the main thread returns EINTR and the loop gets to look.
 */
#ifndef LLMOPT_SIGNALS_H
#define LLMOPT_SIGNALS_H

#include <stdbool.h>

#include "common/err.h"

/* Installs the handlers. LLMOPT_ERR_IO if sigaction fails. */
llmopt_err_t llmopt_signals_install(void);

/* True once SIGINT or SIGTERM arrived (stays true until cleared). */
bool llmopt_signals_stop_requested(void);

/* The number of the last stop signal (SIGINT or SIGTERM), 0 if none. */
int llmopt_signals_stop_signal(void);

/* True if SIGHUP arrived since the last call; clears the flag. */
bool llmopt_signals_take_reload(void);

/* Clears both flags (tests, or a binary that restarts its loop). */
void llmopt_signals_clear(void);

#endif
