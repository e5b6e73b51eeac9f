/* tuner.c - local search with shrinking steps over generation parameters
 * (see tuner.h). */
#include "controller/core/tuner.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const llmopt_tuner_slot_state_names[LLMOPT_TUNER_N_STATES] = {"idle", "best",
                                                                          "candidate"};

void llmopt_tuner_config_default(llmopt_tuner_config *c) {
    memset(c, 0, sizeof(*c));
    c->n_slots = 3;
    c->min_samples = 200;
    c->z = 1.0;
    c->shrink = 0.5;
}

static int fin(double x) {
    return isfinite(x);
}

static llmopt_err_t check(const llmopt_tuner_config *c, char *errstr, size_t sz) {
    if (c->n_params < 1 || c->n_params > LLMOPT_TUNER_MAX_PARAMS)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'params' must hold 1..%d parameters",
                           LLMOPT_TUNER_MAX_PARAMS);
    if (c->n_slots < 2 || c->n_slots > LLMOPT_TUNER_MAX_SLOTS)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'slots' must be 2..%d, got %zu",
                           LLMOPT_TUNER_MAX_SLOTS, c->n_slots);
    for (size_t i = 0; i < c->n_params; i++) {
        const llmopt_tuner_param *p = &c->params[i];
        if (!p->name[0])
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "parameter %zu has no name", i);
        if (!(fin(p->lo) && fin(p->hi) && p->lo < p->hi))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz,
                               "'%s': range must be finite with min < max", p->name);
        if (!(p->step > 0 && fin(p->step)) || !(p->min_step > 0 && p->min_step <= p->step))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz,
                               "'%s': need 0 < min_step <= step", p->name);
        if (!(c->start[i] >= p->lo && c->start[i] <= p->hi))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz,
                               "'%s': start %g outside [%g, %g]", p->name, c->start[i], p->lo,
                               p->hi);
    }
    if (!(c->min_samples >= 1 && fin(c->min_samples)))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'min_samples' must be >= 1");
    if (!(c->z >= 0 && fin(c->z)))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'z' must be >= 0");
    if (!(c->shrink > 0 && c->shrink < 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'shrink' must be in (0, 1)");
    return LLMOPT_OK;
}

static void fmt_x(const llmopt_tuner *t, const double *x, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->cfg.n_params && n < size; i++) {
        int w = snprintf(buf + n, size - n, "%s%s=%.4g", i ? "," : "", t->cfg.params[i].name, x[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

static int same_x(const llmopt_tuner *t, const double *a, const double *b) {
    for (size_t i = 0; i < t->cfg.n_params; i++)
        if (fabs(a[i] - b[i]) > 1e-12 * (1 + fabs(a[i])))
            return 0;
    return 1;
}

static void add_change(llmopt_tuner_change *ch, size_t cap, size_t *n, size_t slot,
                       llmopt_tuner_slot_state from, llmopt_tuner_slot_state to,
                       const char *reason) {
    if (*n < cap) {
        ch[*n].slot = slot;
        ch[*n].from = from;
        ch[*n].to = to;
        snprintf(ch[*n].reason, sizeof(ch[*n].reason), "%s", reason);
    }
    (*n)++;
}

/* Proposes candidates around the incumbent into every slot but `best`;
 * slots left over go idle. Records the changes (prev[] = states before the
 * round). */
static void propose(llmopt_tuner *t, const llmopt_tuner_slot_state *prev,
                    llmopt_tuner_change *ch, size_t cap, size_t *nch) {
    const llmopt_tuner_config *c = &t->cfg;
    double cand[2 * LLMOPT_TUNER_MAX_PARAMS][LLMOPT_TUNER_MAX_PARAMS];
    size_t nc = 0;
    t->converged = 1;
    for (size_t i = 0; i < c->n_params; i++) {
        if (t->step[i] < c->params[i].min_step)
            continue;
        t->converged = 0;
        for (int dir = 1; dir >= -1; dir -= 2) {
            double *y = cand[nc];
            memcpy(y, t->slot[t->best].x, sizeof(double) * c->n_params);
            double v = y[i] + dir * t->step[i];
            y[i] = v < c->params[i].lo ? c->params[i].lo : v > c->params[i].hi ? c->params[i].hi : v;
            int dup = same_x(t, y, t->slot[t->best].x);
            for (size_t j = 0; j < nc && !dup; j++)
                dup = same_x(t, y, cand[j]);
            if (!dup)
                nc++;
        }
    }
    size_t next = 0;
    char xs[128], bs[128], why[LLMOPT_TUNER_REASON_MAX];
    fmt_x(t, t->slot[t->best].x, bs, sizeof(bs));
    for (size_t s = 0; s < c->n_slots; s++) {
        if (s == t->best)
            continue;
        llmopt_tuner_slot *sl = &t->slot[s];
        if (next < nc) {
            memcpy(sl->x, cand[next++], sizeof(sl->x));
            sl->state = LLMOPT_TUNER_CANDIDATE;
            sl->n = sl->mean = sl->m2 = 0;
            sl->generation++;
            fmt_x(t, sl->x, xs, sizeof(xs));
            snprintf(why, sizeof(why), "proposed %.80s (around best %.80s)", xs, bs);
            add_change(ch, cap, nch, s, prev[s], LLMOPT_TUNER_CANDIDATE, why);
        } else if (sl->state != LLMOPT_TUNER_IDLE || prev[s] != LLMOPT_TUNER_IDLE) {
            sl->state = LLMOPT_TUNER_IDLE;
            sl->n = sl->mean = sl->m2 = 0;
            snprintf(why, sizeof(why), "%s", t->converged ? "retired: search converged"
                                                          : "retired: no candidate left to try");
            if (prev[s] != LLMOPT_TUNER_IDLE)
                add_change(ch, cap, nch, s, prev[s], LLMOPT_TUNER_IDLE, why);
        }
    }
}

llmopt_err_t llmopt_tuner_init(llmopt_tuner *t, const llmopt_tuner_config *c, char *errstr,
                               size_t errstr_size) {
    llmopt_err_t e = check(c, errstr, errstr_size);
    if (e)
        return e;
    memset(t, 0, sizeof(*t));
    t->cfg = *c;
    for (size_t i = 0; i < c->n_params; i++)
        t->step[i] = c->params[i].step;
    t->best = 0;
    t->slot[0].state = LLMOPT_TUNER_BEST;
    memcpy(t->slot[0].x, c->start, sizeof(t->slot[0].x));
    llmopt_tuner_slot_state prev[LLMOPT_TUNER_MAX_SLOTS] = {0};
    size_t n = 0;
    propose(t, prev, NULL, 0, &n);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_tuner_observe(llmopt_tuner *t, size_t slot, double n, double mean,
                                  double m2) {
    if (slot >= t->cfg.n_slots || t->slot[slot].state == LLMOPT_TUNER_IDLE || !(n >= 0) ||
        !fin(n) || !fin(mean) || !(m2 >= 0) || !fin(m2))
        return LLMOPT_ERR_RANGE;
    if (n == 0)
        return LLMOPT_OK;
    llmopt_tuner_slot *s = &t->slot[slot];
    double nn = s->n + n, d = mean - s->mean;
    double mean2 = s->mean + d * (n / nn), m22 = s->m2 + m2 + d * d * (s->n * n / nn);
    if (!fin(nn) || !fin(mean2) || !fin(m22))
        return LLMOPT_ERR_RANGE; /* would overflow: refused, the slot is unchanged */
    s->mean = mean2;
    s->m2 = m22;
    s->n = nn;
    return LLMOPT_OK;
}

int llmopt_tuner_ready(const llmopt_tuner *t) {
    int any = 0;
    for (size_t s = 0; s < t->cfg.n_slots; s++) {
        const llmopt_tuner_slot *sl = &t->slot[s];
        if (sl->state == LLMOPT_TUNER_IDLE)
            continue;
        if (sl->n < t->cfg.min_samples)
            return 0;
        any |= sl->state == LLMOPT_TUNER_CANDIDATE;
    }
    return any;
}

static double var_of(const llmopt_tuner_slot *s) {
    return s->n > 1 ? s->m2 / (s->n - 1) : 0.25; /* 0.25: the largest variance in [0, 1] */
}

size_t llmopt_tuner_round(llmopt_tuner *t, llmopt_tuner_change *ch, size_t cap) {
    if (!llmopt_tuner_ready(t))
        return 0;
    const llmopt_tuner_config *c = &t->cfg;
    llmopt_tuner_slot_state prev[LLMOPT_TUNER_MAX_SLOTS];
    for (size_t s = 0; s < c->n_slots; s++)
        prev[s] = t->slot[s].state;
    const llmopt_tuner_slot *b = &t->slot[t->best];
    int win = -1;
    for (size_t s = 0; s < c->n_slots; s++) {
        const llmopt_tuner_slot *sl = &t->slot[s];
        if (sl->state != LLMOPT_TUNER_CANDIDATE)
            continue;
        double se = sqrt(var_of(sl) / sl->n + var_of(b) / b->n);
        if (sl->mean - b->mean > c->z * se && (win < 0 || sl->mean > t->slot[win].mean))
            win = (int)s;
    }
    size_t nch = 0;
    char why[LLMOPT_TUNER_REASON_MAX], xs[128];
    t->rounds++;
    if (win >= 0) {
        size_t old = t->best;
        llmopt_tuner_slot *w = &t->slot[win];
        fmt_x(t, w->x, xs, sizeof(xs));
        snprintf(why, sizeof(why), "won round %llu: %.80s mean %.4f vs best %.4f (n %.0f, %.0f)",
                 (unsigned long long)t->rounds, xs, w->mean, b->mean, w->n, b->n);
        w->state = LLMOPT_TUNER_BEST;
        t->best = (size_t)win;
        add_change(ch, cap, &nch, (size_t)win, LLMOPT_TUNER_CANDIDATE, LLMOPT_TUNER_BEST, why);
        /* the old incumbent lost: its slot is free for a new candidate */
        t->slot[old].state = LLMOPT_TUNER_IDLE;
        prev[old] = LLMOPT_TUNER_BEST;
    } else {
        for (size_t i = 0; i < c->n_params; i++)
            if (t->step[i] >= c->params[i].min_step) /* a converged step stays put (never 0) */
                t->step[i] *= c->shrink;
    }
    /* candidates that did not win have lost: retired, their slots re-used */
    for (size_t s = 0; s < c->n_slots; s++)
        if (s != t->best && t->slot[s].state == LLMOPT_TUNER_CANDIDATE)
            t->slot[s].state = LLMOPT_TUNER_IDLE;
    propose(t, prev, ch, cap, &nch);
    return nch;
}

void llmopt_tuner_serialize(const llmopt_tuner *t, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, "TUNR", 1);
    llmopt_wbuf_u32(w, (uint32_t)t->cfg.n_slots);
    llmopt_wbuf_u32(w, (uint32_t)t->cfg.n_params);
    llmopt_wbuf_u32(w, (uint32_t)t->best);
    llmopt_wbuf_u64(w, t->rounds);
    llmopt_wbuf_u8(w, (uint8_t)t->converged);
    for (size_t i = 0; i < t->cfg.n_params; i++)
        llmopt_wbuf_f64(w, t->step[i]);
    for (size_t s = 0; s < t->cfg.n_slots; s++) {
        const llmopt_tuner_slot *sl = &t->slot[s];
        llmopt_wbuf_u8(w, (uint8_t)sl->state);
        for (size_t i = 0; i < t->cfg.n_params; i++)
            llmopt_wbuf_f64(w, sl->x[i]);
        llmopt_wbuf_f64(w, sl->n);
        llmopt_wbuf_f64(w, sl->mean);
        llmopt_wbuf_f64(w, sl->m2);
        llmopt_wbuf_u64(w, sl->generation);
    }
}

llmopt_err_t llmopt_tuner_deserialize(llmopt_tuner *t, llmopt_rbuf *r, char *errstr,
                                      size_t errstr_size) {
    if (!llmopt_rbuf_header(r, "TUNR", 1))
        return llmopt_errf(r->err ? (llmopt_err_t)r->err : LLMOPT_ERR_INVALID, errstr,
                           errstr_size, "not a tuner state");
    llmopt_tuner x = *t;
    uint32_t ns = llmopt_rbuf_u32(r), np = llmopt_rbuf_u32(r);
    x.best = llmopt_rbuf_u32(r);
    x.rounds = llmopt_rbuf_u64(r);
    x.converged = llmopt_rbuf_u8(r) != 0;
    if (r->err)
        return llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size, "tuner state truncated");
    if (ns != t->cfg.n_slots || np != t->cfg.n_params || x.best >= ns)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "tuner state for %u slots and %u params, config has %zu and %zu", ns,
                           np, t->cfg.n_slots, t->cfg.n_params);
    int bad = 0;
    for (size_t i = 0; i < np; i++) {
        x.step[i] = llmopt_rbuf_f64(r);
        bad |= !(x.step[i] > 0 && x.step[i] <= t->cfg.params[i].step);
    }
    size_t nbest = 0;
    for (size_t s = 0; s < ns; s++) {
        llmopt_tuner_slot *sl = &x.slot[s];
        uint8_t st = llmopt_rbuf_u8(r);
        bad |= st >= LLMOPT_TUNER_N_STATES;
        sl->state = (llmopt_tuner_slot_state)(st % LLMOPT_TUNER_N_STATES);
        nbest += sl->state == LLMOPT_TUNER_BEST;
        for (size_t i = 0; i < np; i++) {
            sl->x[i] = llmopt_rbuf_f64(r);
            bad |= !(sl->x[i] >= t->cfg.params[i].lo && sl->x[i] <= t->cfg.params[i].hi);
        }
        sl->n = llmopt_rbuf_f64(r);
        sl->mean = llmopt_rbuf_f64(r);
        sl->m2 = llmopt_rbuf_f64(r);
        sl->generation = llmopt_rbuf_u64(r);
        bad |= !(sl->n >= 0 && fin(sl->n) && fin(sl->mean) && sl->m2 >= 0 && fin(sl->m2));
    }
    if (r->err)
        return llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size, "tuner state truncated");
    if (bad || nbest != 1 || x.slot[x.best].state != LLMOPT_TUNER_BEST)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "tuner state out of range");
    *t = x;
    return LLMOPT_OK;
}
