/*
 * breaker.h - a circuit breaker per arm: takes an arm out of rotation when
 * it misbehaves and lets it back in carefully.
 *
 *   CLOSED    --error-rate surge or anomaly------------> OPEN      (weight 0)
 *   OPEN      --cooldown elapsed (tick)----------------> HALF_OPEN (fixed probe weight)
 *   HALF_OPEN --probe_requests seen, error rate ok-----> CLOSED    (cooldown back to base)
 *   HALF_OPEN --probe error rate too high, or anomaly--> OPEN      (cooldown doubled,
 *                                                                   capped at max_cooldown_ms)
 *
 * Error-rate surge: one observation (a closed window: requests, errors)
 * with at least min_requests requests and errors / requests above
 * error_rate_max. In HALF_OPEN, probe outcomes accumulate until
 * probe_requests have been seen, then one verdict. An anomaly in OPEN
 * restarts the current cooldown from that moment (no doubling, no
 * transition).
 *
 * Outage: an open caused by the error rate (a surge, or a failed probe)
 * marks the arm as in an outage. The processor's anomaly baselines of
 * that arm then describe the outage (an erroring arm answers fast and
 * cheap), so an anomaly measured against them says nothing about the
 * arm's health: while the outage lasts, through HALF_OPEN and for
 * settle_windows of the arm's windows after it closes, anomalies do not
 * trip the breaker (llmopt_breaker_anomaly returns 0 and
 * llmopt_breaker_in_outage says why). The error-rate rule always applies.
 *
 * Every transition goes through llmopt_breaker_set_state(), which records
 * it (from, to, ts_ms, reason) in `last`, counts it, and copies it to the
 * caller's *tr when given: the controller logs and persists exactly those.
 * Time is always passed in (ts_ms); nothing here reads a clock.
 *
 * Ownership: plain struct embedded by the caller; no allocation. One
 * thread. Invariants (checked by _init/_deserialize): state valid,
 * 0 < cooldown_ms <= max_cooldown_ms, 0 <= rates <= 1, 0 < half_open_weight < 1.
 */
#ifndef LLMOPT_BREAKER_H
#define LLMOPT_BREAKER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/core/alloc.h"
#include "processor/core/serial.h"

typedef enum llmopt_breaker_state {
    LLMOPT_BREAKER_CLOSED = 0,
    LLMOPT_BREAKER_OPEN,
    LLMOPT_BREAKER_HALF_OPEN,
    LLMOPT_BREAKER_N_STATES
} llmopt_breaker_state;

extern const char *const llmopt_breaker_state_names[LLMOPT_BREAKER_N_STATES];

#define LLMOPT_BREAKER_REASON_MAX 128

typedef struct llmopt_breaker_transition {
    llmopt_breaker_state from, to;
    int64_t ts_ms;
    char reason[LLMOPT_BREAKER_REASON_MAX];  /* NUL-terminated, truncated if longer */
} llmopt_breaker_transition;

typedef struct llmopt_breaker_config {
    double error_rate_max;        /* trip above this windowed error rate; default 0.2 */
    uint64_t min_requests;        /* requests a window needs to be judged, >= 1; default 20 */
    int64_t cooldown_ms;          /* first open period, > 0; default 30000 */
    int64_t max_cooldown_ms;      /* backoff cap, >= cooldown_ms; default 1800000 */
    double half_open_weight;      /* probe share while HALF_OPEN, (0, 1); default 0.02 */
    uint64_t probe_requests;      /* probe outcomes before a verdict, >= 1; default 20 */
    double probe_error_rate_max;  /* HALF_OPEN passes at or below; default 0.2 */
    uint32_t settle_windows;      /* windows after an outage closes with anomalies
                                     ignored, <= 100000; default 5 */
} llmopt_breaker_config;

typedef struct llmopt_breaker {
    llmopt_breaker_config cfg;
    llmopt_breaker_state state;
    int64_t since_ms;           /* when the current state began */
    int64_t cur_cooldown_ms;    /* cooldown of the current/next OPEN period */
    int64_t open_until_ms;      /* OPEN: earliest HALF_OPEN */
    uint64_t probe_n, probe_errors;  /* HALF_OPEN outcomes so far */
    uint64_t transitions;       /* count of set_state changes */
    uint8_t outage;             /* 1 from an error-rate open until settled */
    uint32_t settle_left;       /* CLOSED after an outage: windows still to settle */
    llmopt_breaker_transition last;  /* the latest transition (from == to == CLOSED, reason "" at init) */
} llmopt_breaker;

void llmopt_breaker_config_default(llmopt_breaker_config *c);
/* RANGE naming the field; *br untouched on failure. Starts CLOSED at ts_ms. */
llmopt_err_t llmopt_breaker_init(llmopt_breaker *br, const llmopt_breaker_config *c, int64_t ts_ms,
                                 char *errstr, size_t errstr_size);

/* The one transition function. Entering OPEN from HALF_OPEN doubles the
 * cooldown (cap max_cooldown_ms), from CLOSED uses cfg.cooldown_ms; the
 * open period runs from ts_ms. Entering HALF_OPEN clears the probe counts,
 * entering CLOSED resets the cooldown to cfg.cooldown_ms. Returns 1 and
 * fills *tr (may be NULL) if the state changed, 0 if `to` is the current
 * state (nothing recorded). reason may be NULL (recorded as ""). */
int llmopt_breaker_set_state(llmopt_breaker *br, llmopt_breaker_state to, int64_t ts_ms,
                             const char *reason, llmopt_breaker_transition *tr);

/* A closed window of this arm's traffic: requests and errors (errors <=
 * requests, else clamped). Returns 1 with *tr filled on a transition. */
int llmopt_breaker_observe(llmopt_breaker *br, int64_t ts_ms, uint64_t requests, uint64_t errors,
                           llmopt_breaker_transition *tr);
/* An anomaly signal on this arm (what: e.g. "latency_ms p95 z=6.1"). */
int llmopt_breaker_anomaly(llmopt_breaker *br, int64_t ts_ms, const char *what,
                           llmopt_breaker_transition *tr);
/* 1 while anomalies of this arm are ignored (see Outage above). */
int llmopt_breaker_in_outage(const llmopt_breaker *br);
/* Time passes: OPEN becomes HALF_OPEN once ts_ms >= open_until_ms. */
int llmopt_breaker_tick(llmopt_breaker *br, int64_t ts_ms, llmopt_breaker_transition *tr);

/* The arm's allocation role: CLOSED -> FLOAT (raw and floor left to the
 * caller), OPEN -> OFF, HALF_OPEN -> FIXED half_open_weight. */
void llmopt_breaker_alloc(const llmopt_breaker *br, llmopt_alloc_arm *a);

/* Checkpoint, tag "BRKR" v1 (the last transition included). deserialize
 * checks every invariant, INVALID/TRUNCATED/RANGE otherwise, *br untouched
 * on failure. */
void llmopt_breaker_serialize(const llmopt_breaker *br, llmopt_wbuf *w);
llmopt_err_t llmopt_breaker_deserialize(llmopt_breaker *br, llmopt_rbuf *r, char *errstr,
                                        size_t errstr_size);

#endif
