/* simulate_quality.c - parameter and template effects on quality (see
 * simulate_quality.h). */
#include "tools/simulate_quality.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QM_MAX 8

struct llmopt_sim_qmodel {
    size_t n_params;
    char param[QM_MAX][64];
    double best[QM_MAX], curvature[QM_MAX];
    size_t n_templates;
    char tmpl[QM_MAX][64];
    double delta[QM_MAX];
};

static int num_in(json_t *o, const char *k, double lo, double hi, double *out) {
    json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return isfinite(*out) && *out >= lo && *out <= hi;
}

llmopt_sim_qmodel *llmopt_sim_qmodel_parse(json_t *v, char *errstr, size_t errstr_size) {
    llmopt_sim_qmodel *q = calloc(1, sizeof(*q));
    if (!q) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    const char *k;
    json_t *x;
    if (!json_is_object(v))
        goto bad_top;
    json_object_foreach(v, k, x) {
        if (strcmp(k, "params") && strcmp(k, "templates"))
            goto bad_top;
    }
    json_t *ps = json_object_get(v, "params"), *ts = json_object_get(v, "templates");
    if ((ps && !json_is_object(ps)) || (ts && !json_is_object(ts)))
        goto bad_top;
    json_object_foreach(ps, k, x) {
        if (q->n_params == QM_MAX || strlen(k) >= sizeof(q->param[0]) || !json_is_object(x) ||
            json_object_size(x) != 2 || !num_in(x, "best", -1e9, 1e9, &q->best[q->n_params]) ||
            !num_in(x, "curvature", 0, 1e6, &q->curvature[q->n_params])) {
            llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "params.%s: expected {\"best\": N, \"curvature\": N >= 0} (at most %d "
                        "params)", k, QM_MAX);
            goto fail;
        }
        snprintf(q->param[q->n_params++], sizeof(q->param[0]), "%s", k);
    }
    json_object_foreach(ts, k, x) {
        if (q->n_templates == QM_MAX || strlen(k) >= sizeof(q->tmpl[0]) || !json_is_number(x) ||
            !(fabs(json_number_value(x)) <= 1)) {
            llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "templates.%s: expected a quality shift in [-1, 1] (at most %d "
                        "templates)", k, QM_MAX);
            goto fail;
        }
        q->delta[q->n_templates] = json_number_value(x);
        snprintf(q->tmpl[q->n_templates++], sizeof(q->tmpl[0]), "%s", k);
    }
    return q;
bad_top:
    llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                "expected an object with \"params\" and/or \"templates\" objects");
fail:
    free(q);
    return NULL;
}

llmopt_sim_qmodel *llmopt_sim_qmodel_dup(const llmopt_sim_qmodel *q) {
    llmopt_sim_qmodel *c = malloc(sizeof(*c));
    if (c)
        *c = *q;
    return c;
}

void llmopt_sim_qmodel_destroy(llmopt_sim_qmodel *q) {
    free(q);
}

double llmopt_sim_qmodel_shift(const llmopt_sim_qmodel *q, size_t n_params,
                               const char *const *names, const double *values,
                               const char *template_id) {
    if (!q)
        return 0;
    double s = 0;
    for (size_t i = 0; i < q->n_params; i++)
        for (size_t j = 0; j < n_params; j++)
            if (!strcmp(names[j], q->param[i])) {
                double d = values[j] - q->best[i];
                s -= q->curvature[i] * d * d;
                break;
            }
    for (size_t i = 0; template_id && *template_id && i < q->n_templates; i++)
        if (!strcmp(template_id, q->tmpl[i]))
            s += q->delta[i];
    return s;
}
