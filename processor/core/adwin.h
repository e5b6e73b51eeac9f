/*
 * adwin.h - ADWIN2 adaptive windowing drift detector (Bifet & Gavaldà,
 * "Learning from time-changing data with adaptive windowing", SDM 2007).
 *
 * Algorithm. The detector keeps a window W of the most recent values as an
 * exponential histogram: row i holds up to max_buckets buckets, each the sum
 * and the variance (sum of squared deviations) of 2^i consecutive values,
 * oldest first. A new value enters row 0; a row reaching max_buckets + 1
 * buckets merges its two oldest into one bucket of the next row. Every
 * `clock` samples, once the window holds more than grace_period values, every
 * bucket boundary splits W into an older W0 (n0 values) and a newer W1 (n1),
 * and the window is cut when
 *     |mean(W0) - mean(W1)| > eps,  eps = sqrt(2 m s2 d') + 2/3 d' m,
 *     m = 1/(n0 - mwl + 1) + 1/(n1 - mwl + 1),  d' = ln(2 ln|W| / delta),
 *     s2 = variance of W,   both n0 and n1 >= min_window_length (mwl).
 * On a cut the oldest bucket is dropped and the whole scan repeats until no
 * boundary qualifies: the window shrinks to the part that agrees with the
 * newest data, as in the paper. One update that cut at least once is one
 * detection.
 *
 * Reference parity. The arithmetic (operation order included) follows
 * River 0.26 (rust_src/adwin.rs, itself a port of River's Cython
 * adwin_c.pyx), so detections are bit-for-bit River's; this is tested against
 * golden files from tests/tools/gen_drift_golden.py. Two choices differ
 * between implementations and are options here (docs/DRIFT.md has detail):
 *
 *  - scan: LLMOPT_ADWIN_SCAN_FULL (default) visits every bucket of every row,
 *    as MOA and River >= 0.22 do. LLMOPT_ADWIN_SCAN_SKIP_NEWEST reproduces the
 *    loop bound of River <= 0.21 and scikit-multiflow (River issue 1539): the
 *    newest bucket of every row is left out of W0 and of the cut points.
 *  - after: LLMOPT_ADWIN_AFTER_SHRINK (default) keeps the shrunk window after
 *    a detection (the paper; MOA's ADWIN; River's AdaptiveWindowing helper).
 *    LLMOPT_ADWIN_AFTER_RESET empties the window after reporting, which is
 *    what river.drift.ADWIN does (it rebuilds its helper on the next update),
 *    and is one reason River's change points differ from MOA's (issue 1614).
 *
 * Detection report: direction is the sign of mean(kept window) - mean(dropped
 * part); estimate_before is the mean of everything dropped by this update's
 * cuts (the old regime), estimate_after the mean of the window kept.
 *
 * Memory and cost. All state is inside the struct (no heap): 192 bucket slots
 * split into rows of max_buckets + 1, i.e. 32 rows for the default 5, a window
 * of up to about max_buckets * 2^rows values (2.1e10 by default). Should the
 * top row ever overflow, its oldest bucket is dropped (the window then slides
 * at that bound). Insertion is amortised O(1); the cut scan is
 * O(max_buckets * log(W / max_buckets)) and runs only every `clock` samples.
 *
 * Compact allocation. A whole struct is 3.2 KB, but a window of n values
 * uses only about log2(n / max_buckets) + 1 rows. A holder of many detectors
 * (one per key and metric) may therefore allocate only a prefix of the struct
 * holding `rows` rows (llmopt_adwin_sizeof), start it with
 * llmopt_adwin_init_rows, and before each update grow it when
 * llmopt_adwin_rows_wanted() exceeds llmopt_adwin_rows_cap(): realloc to
 * llmopt_adwin_sizeof(new rows), then llmopt_adwin_set_rows_cap(). With one
 * spare row the window never reaches the storage bound before the real one,
 * so a compact detector computes exactly what a whole struct computes. (If
 * the holder cannot grow it, the window slides at the smaller bound.)
 *
 * Non-finite inputs (NaN, +-inf) are ignored: they would poison the sums for
 * ever. They still advance the sample index. (Finite but huge inputs, near
 * 1e308, can still overflow the sums; the state stays memory-safe and
 * serialisable, the statistics are then meaningless.)
 *
 * Threading: none inside; one owner per struct. The struct body is public so
 * that per-key state can be embedded without allocation; treat its fields as
 * private and use the accessors.
 */
#ifndef LLMOPT_ADWIN_H
#define LLMOPT_ADWIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/drift.h"
#include "processor/core/serial.h"

#define LLMOPT_ADWIN_SLOTS 192
/* Rows are capped so that any window (< 31 * 2^48 values) is an exact
 * integer in a double even after further updates. */
#define LLMOPT_ADWIN_MAX_ROWS 48

typedef enum llmopt_adwin_scan {
    LLMOPT_ADWIN_SCAN_FULL = 0,
    LLMOPT_ADWIN_SCAN_SKIP_NEWEST = 1,
} llmopt_adwin_scan;

typedef enum llmopt_adwin_after {
    LLMOPT_ADWIN_AFTER_SHRINK = 0,
    LLMOPT_ADWIN_AFTER_RESET = 1,
} llmopt_adwin_after;

typedef struct llmopt_adwin_config {
    /* Confidence: the probability of a false cut per check is bounded by
     * about delta. Smaller = fewer false alarms, slower detection. (0, 1). */
    double delta;                /* default 0.002 */
    /* Check for cuts every `clock` samples; 1 = every sample. Detection
     * delay grows by up to clock - 1 samples; cost falls by ~clock. >= 1. */
    uint32_t clock;              /* default 32 */
    /* Buckets per row, M. More = finer cut points and more memory/time;
     * 1..31 (the window bound shrinks as 192 / (M + 1) rows). With M = 1
     * inner rows can empty out; River then reads an empty row after a cut,
     * we skip empty rows, so River parity holds for M >= 2 only. */
    uint32_t max_buckets;        /* default 5 */
    /* Neither sub-window may be shorter than this. >= 1. */
    uint32_t min_window_length;  /* default 5 (MOA uses 10) */
    /* No check until the window holds more than this many values. */
    uint32_t grace_period;       /* default 10 */
    llmopt_adwin_scan scan;      /* default FULL */
    llmopt_adwin_after after;    /* default SHRINK */
} llmopt_adwin_config;

typedef struct llmopt_adwin {
    llmopt_adwin_config cfg;
    uint32_t row_cap;   /* max_buckets + 1 slots per row */
    uint32_t max_rows;  /* rows that fit in the slots of a whole struct */
    uint32_t cap_rows;  /* rows the storage holds: max_rows, fewer when compact */
    uint32_t bv_off;    /* cap_rows * row_cap: where the variances start in slots */
    uint32_t nrows;     /* rows in use, >= 1; the last one is non-empty unless nrows == 1 */
    uint64_t tick;      /* updates since the window was last emptied; drives `clock` */
    uint32_t phase;     /* tick % clock, kept incrementally (a 64-bit modulo per update is slow) */
    uint64_t n_seen;    /* updates since init/reset: the next sample_index */
    uint64_t n_detections;
    double width;       /* values in the window (an exact integer) */
    double total;       /* their sum */
    double variance;    /* their sum of squared deviations from the mean */
    uint8_t cnt[LLMOPT_ADWIN_MAX_ROWS];       /* buckets in each row */
    /* bucket sums in slots[0, bv_off), row-major, oldest first; the
     * variances in the same layout from slots[bv_off]; a compact allocation
     * ends after slots[2 * bv_off) (must stay the last member) */
    double slots[2 * LLMOPT_ADWIN_SLOTS];
} llmopt_adwin;

/* River's defaults (see the fields above). */
llmopt_adwin_config llmopt_adwin_config_default(void);

/* Validate cfg and start with an empty window. On failure (RANGE or INVALID,
 * reason in errstr) *a is left zeroed and must not be updated. */
llmopt_err_t llmopt_adwin_init(llmopt_adwin *a, const llmopt_adwin_config *cfg,
                               char *errstr, size_t errstr_size);

/* Bytes of an allocation holding `rows` rows (clamped to [1, the whole
 * struct's rows]) for cfg; sizeof(llmopt_adwin) or less. cfg must be valid. */
size_t llmopt_adwin_sizeof(const llmopt_adwin_config *cfg, uint32_t rows);
/* init() for an allocation of llmopt_adwin_sizeof(cfg, rows) bytes. */
llmopt_err_t llmopt_adwin_init_rows(llmopt_adwin *a, const llmopt_adwin_config *cfg,
                                    uint32_t rows, char *errstr, size_t errstr_size);
/* Rows the storage holds, and the rows the next update may need (rows in
 * use plus one, at most the whole struct's). */
uint32_t llmopt_adwin_rows_cap(const llmopt_adwin *a);
uint32_t llmopt_adwin_rows_wanted(const llmopt_adwin *a);
/* Re-lay the storage for `rows` rows (clamped to [rows in use, whole]); the
 * allocation must span llmopt_adwin_sizeof() of both the old and the new
 * count while this runs: realloc before growing, after shrinking. */
void llmopt_adwin_set_rows_cap(llmopt_adwin *a, uint32_t rows);

/* Empty the window and restart the sample index; keeps the configuration. */
void llmopt_adwin_reset(llmopt_adwin *a);

/* Feed one value. Returns 1 and fills *det (when det is not NULL) if this
 * sample completed a detection, else 0. Never fails, never allocates. */
int llmopt_adwin_update(llmopt_adwin *a, double x, llmopt_drift_detection *det);

double llmopt_adwin_mean(const llmopt_adwin *a);      /* 0 when empty */
double llmopt_adwin_width(const llmopt_adwin *a);
/* Population variance of the window (variance / width); 0 when empty. */
double llmopt_adwin_variance(const llmopt_adwin *a);
uint64_t llmopt_adwin_detections(const llmopt_adwin *a);

/* Append the full state (configuration included) as an "ADWN" v1 record.
 * Errors surface as w->err (NOMEM). */
void llmopt_adwin_serialize(const llmopt_adwin *a, llmopt_wbuf *w);

/* Read an "ADWN" record into a whole struct (a compact one can be shrunk
 * afterwards with llmopt_adwin_set_rows_cap and realloc). Everything update() relies on is validated
 * (configuration ranges, row and bucket counts, last row non-empty, width
 * equal to the sum of bucket sizes); sums are taken as they are, since a
 * detector fed huge values may legitimately hold infinities. On any failure *a is untouched and INVALID/TRUNCATED/VERSION is
 * returned with the reason in errstr. A restored detector continues exactly
 * where the serialized one was. */
llmopt_err_t llmopt_adwin_deserialize(llmopt_adwin *a, llmopt_rbuf *r,
                                      char *errstr, size_t errstr_size);

#endif
