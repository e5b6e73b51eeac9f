/*
 * tdigest.h - Dunning's merging t-digest: a mergeable sketch of a
 * distribution that answers quantile and CDF queries, accurate at the tails.
 * Pure: no I/O, no clock.
 *
 * Algorithm. Added values go to an input buffer (O(1) per add). When the
 * buffer is full, or before a query, it is sorted and merged with the sorted
 * centroids in one pass that greedily grows each centroid while it fits the
 * size limit given by the scale function
 *
 *     k1(q) = compression / pi * asin(2q - 1) + compression / 2,  q in [0,1]
 *
 * i.e. a centroid may span at most one unit of k. k1 (arcsin) is chosen over
 * the log-based k2/k3 because our queries sit at p50..p99, not at p99.999:
 * k1 keeps the middle fine (a centroid at the median holds at most
 * pi/(2*compression) of the data, 1.6 % at 100) where k2/k3, normalised for
 * n, make it several times coarser, while still shrinking centroids towards
 * the tails. Its k range [0, compression] is the one the Postgres tdigest
 * extension uses, so "compression 100" means the same size class (at most
 * about 100 centroids) in C and in SQL.
 *
 * Invariants: centroids are sorted by mean (non-decreasing) and have counts
 * >= 1 that sum, with the buffered input, to count(); min <= every mean <=
 * max; values are finite. min and max are exact and queries return them at
 * q = 0 and q = 1. A centroid of count 1 is an exact sample, so digests of
 * few values answer exactly.
 *
 * Determinism: the result depends only on the sequence of adds, merges and
 * flushes, never on addresses or timing. Queries and to_text flush the
 * buffer first (that changes when later merges happen), so replayable code
 * must query at replayable points; serialize does not flush.
 *
 * Ownership: a digest is a heap object (_new/_destroy), owned by one thread.
 * merge() reads src and never keeps a reference to it.
 *
 * Text format: the TEXT form of the Postgres tdigest extension
 * (postgresql-15-tdigest 1.4.0 and later):
 *     flags 1 count N compression C centroids K (mean, count) (mean, count) ...
 * We write flags 1 (centroids store means) with means printed "%.17g", which
 * the extension reads exactly (sscanf %lf / strtod). We read flags 1 and the
 * legacy flags 0 (centroids store sums; mean = sum / count, rounded). Losses:
 * the format has no min/max, so after parsing min/max are the first/last
 * centroid means (exact when those centroids are single samples); and the
 * 1.4.0 extension prints means with "%lf", 6 decimals, so digests coming out
 * of Postgres carry an absolute error up to 5e-7 per mean (1e-7 reads back
 * as 0). Our own text -> C round trip of the centroids is exact.
 *
 * Binary format (serial.h, tag "TDIG" version 1): the whole state including
 * the unflushed buffers, min and max, so deserialize(serialize(d)) behaves
 * bit for bit like d.
 */
#ifndef LLMOPT_TDIGEST_H
#define LLMOPT_TDIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/serial.h"

#define LLMOPT_TDIGEST_DEFAULT_COMPRESSION 100u
/* The Postgres extension's accepted range; we keep to it so every digest
 * can be stored there. */
#define LLMOPT_TDIGEST_MIN_COMPRESSION 10u
#define LLMOPT_TDIGEST_MAX_COMPRESSION 10000u

typedef struct llmopt_tdigest llmopt_tdigest;

typedef struct llmopt_tdigest_centroid {
    double mean;
    int64_t count; /* >= 1 */
} llmopt_tdigest_centroid;

/* An empty digest, or NULL when compression is outside
 * [LLMOPT_TDIGEST_MIN_COMPRESSION, LLMOPT_TDIGEST_MAX_COMPRESSION] or memory
 * ran out. */
llmopt_tdigest *llmopt_tdigest_new(uint32_t compression);
/* NULL is a no-op. */
void llmopt_tdigest_destroy(llmopt_tdigest *d);
/* A deep copy, or NULL when memory ran out. */
llmopt_tdigest *llmopt_tdigest_clone(const llmopt_tdigest *d);
/* Back to empty, keeping the compression and the buffers' memory. */
void llmopt_tdigest_reset(llmopt_tdigest *d);

/* Add one value: O(1) amortised. INVALID for NaN or infinities (the digest
 * is unchanged); NOMEM when a buffer could not grow (unchanged). -0.0 is
 * stored as 0.0. */
llmopt_err_t llmopt_tdigest_add(llmopt_tdigest *d, double x);
/* Add a value seen count (>= 1) times. INVALID / NOMEM as above; RANGE when
 * the total count would exceed INT64_MAX. */
llmopt_err_t llmopt_tdigest_add_n(llmopt_tdigest *d, double x, int64_t count);
/* Merge src into dst (src is not changed; dst may be src's clone but not
 * src itself). The compression of dst is kept. NOMEM or RANGE leaves dst
 * unchanged. */
llmopt_err_t llmopt_tdigest_merge(llmopt_tdigest *dst, const llmopt_tdigest *src);
/* Put the buffered unit input in ascending order. Changes no answer and no
 * later result (every consumer of the buffer sorts it, and equal values are
 * identical), only the serialized byte order of the buffer; a digest that
 * is merged into several others (a closed pane into its windows) is then
 * sorted once instead of on every merge. */
void llmopt_tdigest_sort_input(llmopt_tdigest *d);
/* Merge the buffered input into the centroids. NOMEM leaves d unchanged
 * (its answers stay correct, the buffer stays full). */
llmopt_err_t llmopt_tdigest_flush(llmopt_tdigest *d);

int64_t llmopt_tdigest_count(const llmopt_tdigest *d);
uint32_t llmopt_tdigest_compression(const llmopt_tdigest *d);
/* Exact extremes; NaN when empty. */
double llmopt_tdigest_min(const llmopt_tdigest *d);
double llmopt_tdigest_max(const llmopt_tdigest *d);
/* The flushed centroids (call flush first to include buffered input),
 * valid until the next call that changes d. */
const llmopt_tdigest_centroid *llmopt_tdigest_centroids(const llmopt_tdigest *d, size_t *n);

/* Value at quantile q in [0,1], interpolating between centroid centres and
 * the exact min/max at the tails. NaN when d is empty, q is outside [0,1]
 * or the flush ran out of memory. Flushes first. */
double llmopt_tdigest_quantile(llmopt_tdigest *d, double q);
/* Fraction of the mass at or below x (values equal to x count half), in
 * [0,1]; NaN when empty, x is NaN or the flush ran out of memory. */
double llmopt_tdigest_cdf(llmopt_tdigest *d, double x);

/* The Postgres TEXT form, NUL-terminated, malloc()ed into *out (free() it),
 * length in *out_len (may be NULL). Flushes first. STATE for an empty
 * digest, which the extension cannot represent (store SQL NULL instead);
 * NOMEM. */
llmopt_err_t llmopt_tdigest_to_text(llmopt_tdigest *d, char **out, size_t *out_len,
                                    char *errstr, size_t errstr_size);
/* Writes x as snprintf("%.17g") would, NUL-terminated, into out (at least
 * LLMOPT_G17_MAX bytes); returns the length. Exact integer arithmetic for
 * 1e-5 <= |x| < 1e16 and zero, snprintf itself for the rest. */
#define LLMOPT_G17_MAX 32
size_t llmopt_fmt_g17(double x, char *out);

/* Parse the Postgres TEXT form from text[0..len) (no NUL needed; a final
 * NUL and surrounding whitespace are accepted). Rules follow the
 * extension's tdigest_in: flags 0 or 1 (else VERSION), compression in
 * [10, 10000], count > 0, 0 < centroids <= 10 * compression, every centroid
 * count > 0, counts summing to count, finite means sorted by mean (else
 * INVALID, RANGE or TRUNCATED). Deliberate differences: we also accept
 * leading whitespace, and refuse NaN/Infinity means, which 1.4.0 accepts
 * (and prints) but cannot answer with. *out is set only on success. */
llmopt_err_t llmopt_tdigest_from_text(const char *text, size_t len, llmopt_tdigest **out,
                                      char *errstr, size_t errstr_size);

/* Append the full binary state to w (check w->err for NOMEM). Does not
 * change d. */
void llmopt_tdigest_serialize(const llmopt_tdigest *d, llmopt_wbuf *w);
/* Read one digest written by llmopt_tdigest_serialize from r, leaving r
 * after it. Every field is validated (INVALID, TRUNCATED, VERSION); on
 * failure *out is untouched and r->err is set when the bytes were at fault. */
llmopt_err_t llmopt_tdigest_deserialize(llmopt_rbuf *r, llmopt_tdigest **out,
                                        char *errstr, size_t errstr_size);

#endif
