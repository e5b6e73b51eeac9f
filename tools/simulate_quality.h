/*
 * simulate_quality.h - how an arm's generation parameters and prompt
 * template move its quality in the simulator (scenario arm member
 * "quality_by"):
 *
 *   "quality_by": {"params": {"temperature": {"best": 0.35, "curvature": 1.0}},
 *                  "templates": {"base": 0, "concise": 0.06}}
 *
 * The request's quality mean becomes
 *   profile mean - sum over params of curvature * (value - best)^2
 *                + templates[the chosen arm's prompt template id]
 * where value is the parameter the decision gave the chosen arm (the
 * gateway's choice); a parameter the choice lacks, or a template not
 * listed, shifts nothing. So two arms of one model that differ only in
 * temperature or template differ in quality, and the best temperature is
 * known to the test that runs the scenario.
 *
 * Ownership: llmopt_sim_qmodel_parse() returns a heap object owned by the
 * scenario arm; _destroy(NULL) is a no-op. Read-only afterwards.
 */
#ifndef LLMOPT_SIMULATE_QUALITY_H
#define LLMOPT_SIMULATE_QUALITY_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"

typedef struct llmopt_sim_qmodel llmopt_sim_qmodel;

/* NULL and a message (relative to "quality_by") on a malformed member. */
llmopt_sim_qmodel *llmopt_sim_qmodel_parse(json_t *v, char *errstr, size_t errstr_size);
void llmopt_sim_qmodel_destroy(llmopt_sim_qmodel *q);
/* A copy (NULL when out of memory). */
llmopt_sim_qmodel *llmopt_sim_qmodel_dup(const llmopt_sim_qmodel *q);

/* The quality shift for a choice with these params (names[i], values[i])
 * and template id (NULL or "": none). q NULL: 0. */
double llmopt_sim_qmodel_shift(const llmopt_sim_qmodel *q, size_t n_params,
                               const char *const *names, const double *values,
                               const char *template_id);

#endif
