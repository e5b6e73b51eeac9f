/*
 * metrics.h - a registry of counters, gauges and histograms with labels,
 * rendered in the Prometheus text exposition format 0.0.4.
 *
 * A family (name, help, type, label names) holds series, one per distinct
 * tuple of label values. Looking up a series takes the registry mutex: do it
 * once, at start-up or when a new route appears, and keep the pointer. The
 * returned series lives as long as the registry. Updating a series
 * (llmopt_counter_add, llmopt_gauge_set, llmopt_histogram_observe) is
 * lock-free (C11 atomics) and may happen from any thread while another
 * renders.
 *
 * Lookups return NULL when the name or a label name is not a valid
 * Prometheus identifier, the family already exists with another type, help,
 * label names or buckets, the number of label values does not match, or on
 * allocation failure. Every update function accepts NULL and does nothing,
 * so a failed lookup costs a metric, not a crash.
 *
 * Families render in registration order, series in creation order. A
 * histogram's +Inf bucket and _count are computed from the same bucket
 * reads, so they always agree; _sum is read separately.
 */
#ifndef LLMOPT_METRICS_H
#define LLMOPT_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct llmopt_metrics llmopt_metrics;
typedef struct llmopt_counter llmopt_counter;
typedef struct llmopt_gauge llmopt_gauge;
typedef struct llmopt_histogram llmopt_histogram;

llmopt_metrics *llmopt_metrics_new(void);
void llmopt_metrics_destroy(llmopt_metrics *m); /* NULL is a no-op */

/* Label names and values are given as NULL-terminated arrays, e.g.
 *   const char *names[] = {"route", "arm", NULL};
 *   const char *values[] = {"chat", "gpt-small", NULL};
 * `names` may be NULL for an unlabelled family; then `values` must be NULL
 * or empty. Strings are copied. */
llmopt_counter *llmopt_metrics_counter(llmopt_metrics *m, const char *name, const char *help,
                                       const char *const *label_names,
                                       const char *const *label_values);
llmopt_gauge *llmopt_metrics_gauge(llmopt_metrics *m, const char *name, const char *help,
                                   const char *const *label_names,
                                   const char *const *label_values);
/* `bounds` are the finite upper bounds, strictly increasing (+Inf is
 * implicit); NULL uses Prometheus' defaults .005 .01 .025 .05 .1 .25 .5 1
 * 2.5 5 10. */
llmopt_histogram *llmopt_metrics_histogram(llmopt_metrics *m, const char *name,
                                           const char *help, const double *bounds,
                                           size_t n_bounds, const char *const *label_names,
                                           const char *const *label_values);

void llmopt_counter_add(llmopt_counter *c, uint64_t n);
void llmopt_counter_inc(llmopt_counter *c);
uint64_t llmopt_counter_value(const llmopt_counter *c);

void llmopt_gauge_set(llmopt_gauge *g, double v);
void llmopt_gauge_add(llmopt_gauge *g, double delta);
double llmopt_gauge_value(const llmopt_gauge *g);

void llmopt_histogram_observe(llmopt_histogram *h, double v);

/* The whole registry as Prometheus text, malloc'd and NUL-terminated; the
 * caller frees it. *len (may be NULL) gets the length. NULL on allocation
 * failure. */
char *llmopt_metrics_render(llmopt_metrics *m, size_t *len);

/* The content type to serve it with. */
#define LLMOPT_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
