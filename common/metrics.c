/* metrics.c - Prometheus registry with lock-free updates (metrics.h). */
#include "common/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM } mtype;

struct llmopt_counter {
    _Atomic uint64_t v;
};

struct llmopt_gauge {
    _Atomic uint64_t bits; /* the double's bit pattern */
};

struct llmopt_histogram {
    size_t n_bounds;
    const double *bounds;      /* the family's */
    _Atomic uint64_t *buckets; /* n_bounds + 1, not cumulative; last is +Inf */
    _Atomic uint64_t sum_bits;
};

typedef struct series {
    char **values;
    struct series *next;
    union {
        struct llmopt_counter c;
        struct llmopt_gauge g;
        struct llmopt_histogram h;
    } u;
} series;

typedef struct family {
    mtype type;
    char *name, *help;
    char **label_names;
    size_t n_labels;
    double *bounds;
    size_t n_bounds;
    series *first, *last;
    struct family *next;
} family;

struct llmopt_metrics {
    pthread_mutex_t lock;
    family *first, *last;
};

static const double default_bounds[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

llmopt_metrics *llmopt_metrics_new(void) {
    llmopt_metrics *m = calloc(1, sizeof(*m));
    if (m)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void free_strv(char **v, size_t n) {
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void series_free(series *s, const family *f) {
    free_strv(s->values, f->n_labels);
    if (f->type == M_HISTOGRAM)
        free(s->u.h.buckets);
    free(s);
}

static void family_free(family *f) {
    for (series *s = f->first, *n; s; s = n) {
        n = s->next;
        series_free(s, f);
    }
    free(f->name);
    free(f->help);
    free_strv(f->label_names, f->n_labels);
    free(f->bounds);
    free(f);
}

void llmopt_metrics_destroy(llmopt_metrics *m) {
    if (!m)
        return;
    for (family *f = m->first, *n; f; f = n) {
        n = f->next;
        family_free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static bool valid_name(const char *s, bool colon) {
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                     (colon && *p == ':');
        if (!alpha && !(p != s && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

static size_t count(const char *const *v) {
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static char **dup_strv(const char *const *v, size_t n) {
    char **out = calloc(n ? n : 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = strdup(v[i]))) {
            free_strv(out, i);
            return NULL;
        }
    return out;
}

/* Finds or creates the family and the series; called with the lock held. */
static series *lookup(llmopt_metrics *m, mtype type, const char *name, const char *help,
                      const double *bounds, size_t n_bounds, const char *const *label_names,
                      const char *const *label_values) {
    size_t nl = count(label_names), nv = count(label_values);
    if (!valid_name(name, true) || nl != nv)
        return NULL;
    for (size_t i = 0; i < nl; i++) {
        if (!valid_name(label_names[i], false) || !strncmp(label_names[i], "__", 2) ||
            (type == M_HISTOGRAM && !strcmp(label_names[i], "le")))
            return NULL;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(label_names[i], label_names[j]))
                return NULL;
    }
    if (type == M_HISTOGRAM) {
        if (!bounds) {
            bounds = default_bounds;
            n_bounds = sizeof(default_bounds) / sizeof(default_bounds[0]);
        }
        for (size_t i = 0; i < n_bounds; i++)
            if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
                return NULL;
    }
    help = help ? help : "";
    family *f = m->first;
    for (; f; f = f->next)
        if (!strcmp(f->name, name))
            break;
    if (f) {
        if (f->type != type || strcmp(f->help, help) || f->n_labels != nl)
            return NULL;
        for (size_t i = 0; i < nl; i++)
            if (strcmp(f->label_names[i], label_names[i]))
                return NULL;
        if (type == M_HISTOGRAM &&
            (f->n_bounds != n_bounds || memcmp(f->bounds, bounds, n_bounds * sizeof(double))))
            return NULL;
        for (series *s = f->first; s; s = s->next) {
            size_t i = 0;
            while (i < nl && !strcmp(s->values[i], label_values[i]))
                i++;
            if (i == nl)
                return s;
        }
    } else {
        f = calloc(1, sizeof(*f));
        if (!f)
            return NULL;
        f->type = type;
        f->name = strdup(name);
        f->help = strdup(help);
        f->label_names = dup_strv(label_names, nl);
        f->n_labels = nl;
        if (type == M_HISTOGRAM) {
            f->bounds = malloc((n_bounds ? n_bounds : 1) * sizeof(double));
            if (f->bounds)
                memcpy(f->bounds, bounds, n_bounds * sizeof(double));
            f->n_bounds = n_bounds;
        }
        if (!f->name || !f->help || !f->label_names || (type == M_HISTOGRAM && !f->bounds)) {
            family_free(f);
            return NULL;
        }
        if (m->last)
            m->last->next = f;
        else
            m->first = f;
        m->last = f;
    }
    series *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->values = dup_strv(label_values, nl);
    if (type == M_HISTOGRAM) {
        s->u.h.n_bounds = f->n_bounds;
        s->u.h.bounds = f->bounds;
        s->u.h.buckets = calloc(f->n_bounds + 1, sizeof(*s->u.h.buckets));
    }
    if (!s->values || (type == M_HISTOGRAM && !s->u.h.buckets)) {
        series_free(s, f);
        return NULL;
    }
    if (f->last)
        f->last->next = s;
    else
        f->first = s;
    f->last = s;
    return s;
}

static series *locked_lookup(llmopt_metrics *m, mtype type, const char *name, const char *help,
                             const double *bounds, size_t n_bounds,
                             const char *const *label_names, const char *const *label_values) {
    if (!m)
        return NULL;
    pthread_mutex_lock(&m->lock);
    series *s = lookup(m, type, name, help, bounds, n_bounds, label_names, label_values);
    pthread_mutex_unlock(&m->lock);
    return s;
}

llmopt_counter *llmopt_metrics_counter(llmopt_metrics *m, const char *name, const char *help,
                                       const char *const *label_names,
                                       const char *const *label_values) {
    series *s = locked_lookup(m, M_COUNTER, name, help, NULL, 0, label_names, label_values);
    return s ? &s->u.c : NULL;
}

llmopt_gauge *llmopt_metrics_gauge(llmopt_metrics *m, const char *name, const char *help,
                                   const char *const *label_names,
                                   const char *const *label_values) {
    series *s = locked_lookup(m, M_GAUGE, name, help, NULL, 0, label_names, label_values);
    return s ? &s->u.g : NULL;
}

llmopt_histogram *llmopt_metrics_histogram(llmopt_metrics *m, const char *name,
                                           const char *help, const double *bounds,
                                           size_t n_bounds, const char *const *label_names,
                                           const char *const *label_values) {
    series *s = locked_lookup(m, M_HISTOGRAM, name, help, bounds, n_bounds, label_names,
                              label_values);
    return s ? &s->u.h : NULL;
}

/* ---- updates: lock-free ----------------------------------------------- */

static uint64_t d2u(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double u2d(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static void atomic_add_double(_Atomic uint64_t *bits, double delta) {
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, d2u(u2d(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void llmopt_counter_add(llmopt_counter *c, uint64_t n) {
    if (c)
        atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

void llmopt_counter_inc(llmopt_counter *c) {
    llmopt_counter_add(c, 1);
}

uint64_t llmopt_counter_value(const llmopt_counter *c) {
    return c ? atomic_load_explicit(&((llmopt_counter *)c)->v, memory_order_relaxed) : 0;
}

void llmopt_gauge_set(llmopt_gauge *g, double v) {
    if (g)
        atomic_store_explicit(&g->bits, d2u(v), memory_order_relaxed);
}

void llmopt_gauge_add(llmopt_gauge *g, double delta) {
    if (g)
        atomic_add_double(&g->bits, delta);
}

double llmopt_gauge_value(const llmopt_gauge *g) {
    return g ? u2d(atomic_load_explicit(&((llmopt_gauge *)g)->bits, memory_order_relaxed))
             : 0.0;
}

void llmopt_histogram_observe(llmopt_histogram *h, double v) {
    if (!h || isnan(v))
        return;
    /* binary search for the first bound >= v; le is inclusive */
    size_t lo = 0, hi = h->n_bounds;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v <= h->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&h->buckets[lo], 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, v);
}

/* ---- rendering -------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) {
    sb_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* `quote`: label value (escape \ " and newline); otherwise HELP (\ and newline). */
static void sb_escaped(sbuf *b, const char *s, bool quote) {
    for (; *s; s++) {
        if (*s == '\\')
            sb_str(b, "\\\\");
        else if (*s == '\n')
            sb_str(b, "\\n");
        else if (quote && *s == '"')
            sb_str(b, "\\\"");
        else
            sb_put(b, s, 1);
    }
}

/* Go's strconv.FormatFloat(v, 'g', -1, 64) spelling, as Prometheus clients use. */
static void sb_double(sbuf *b, double d) {
    if (isnan(d)) {
        sb_str(b, "NaN");
        return;
    }
    if (isinf(d)) {
        sb_str(b, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    char tmp[40];
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(tmp, sizeof(tmp), "%.0f", d);
        sb_str(b, tmp);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    sb_str(b, tmp);
}

/* {a="x",b="y"[,le="..."]} or nothing. */
static void sb_labels(sbuf *b, const family *f, const series *s, const char *le) {
    if (!f->n_labels && !le)
        return;
    sb_str(b, "{");
    for (size_t i = 0; i < f->n_labels; i++) {
        if (i)
            sb_str(b, ",");
        sb_str(b, f->label_names[i]);
        sb_str(b, "=\"");
        sb_escaped(b, s->values[i], true);
        sb_str(b, "\"");
    }
    if (le) {
        if (f->n_labels)
            sb_str(b, ",");
        sb_str(b, "le=\"");
        sb_str(b, le);
        sb_str(b, "\"");
    }
    sb_str(b, "}");
}

static void render_histogram(sbuf *b, const family *f, const series *s) {
    const struct llmopt_histogram *h = &s->u.h;
    uint64_t cum = 0;
    char le[40];
    for (size_t i = 0; i <= h->n_bounds; i++) {
        cum += atomic_load_explicit(&((struct llmopt_histogram *)h)->buckets[i],
                                    memory_order_relaxed);
        if (i < h->n_bounds) {
            sbuf t = {0};
            sb_double(&t, h->bounds[i]);
            snprintf(le, sizeof(le), "%s", t.p ? t.p : "0");
            free(t.p);
        } else {
            snprintf(le, sizeof(le), "+Inf");
        }
        sb_str(b, f->name);
        sb_str(b, "_bucket");
        sb_labels(b, f, s, le);
        sb_printf(b, " %" PRIu64 "\n", cum);
    }
    sb_str(b, f->name);
    sb_str(b, "_sum");
    sb_labels(b, f, s, NULL);
    sb_str(b, " ");
    sb_double(b, u2d(atomic_load_explicit(&((struct llmopt_histogram *)h)->sum_bits,
                                          memory_order_relaxed)));
    sb_str(b, "\n");
    sb_str(b, f->name);
    sb_str(b, "_count");
    sb_labels(b, f, s, NULL);
    sb_printf(b, " %" PRIu64 "\n", cum);
}

char *llmopt_metrics_render(llmopt_metrics *m, size_t *len) {
    static const char *const tnames[] = {"counter", "gauge", "histogram"};
    sbuf b = {0};
    sb_put(&b, "", 0); /* an empty registry renders as "" */
    pthread_mutex_lock(&m->lock);
    for (const family *f = m->first; f; f = f->next) {
        sb_str(&b, "# HELP ");
        sb_str(&b, f->name);
        sb_str(&b, " ");
        sb_escaped(&b, f->help, false);
        sb_str(&b, "\n# TYPE ");
        sb_str(&b, f->name);
        sb_str(&b, " ");
        sb_str(&b, tnames[f->type]);
        sb_str(&b, "\n");
        for (const series *s = f->first; s; s = s->next) {
            if (f->type == M_HISTOGRAM) {
                render_histogram(&b, f, s);
                continue;
            }
            sb_str(&b, f->name);
            sb_labels(&b, f, s, NULL);
            sb_str(&b, " ");
            if (f->type == M_COUNTER)
                sb_printf(&b, "%" PRIu64, llmopt_counter_value(&s->u.c));
            else
                sb_double(&b, llmopt_gauge_value(&s->u.g));
            sb_str(&b, "\n");
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}
