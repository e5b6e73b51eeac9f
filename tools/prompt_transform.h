/*
 * prompt_transform.h - named, deterministic rewrites of a prompt template,
 * used by `llmopt prompt variants` to make candidate arms
 * (docs/PROMPT_VARIANTS.md describes each one with an example).
 *
 *   conciseness  drops filler words and phrases ("please", "I would like you
 *                to", "basically", "in order to" -> "to", ...), repeated
 *                sentences and extra whitespace
 *   clarity      one sentence per line, each capitalised and terminated,
 *                plus one line asking the model to state its assumption
 *                when the request is ambiguous
 *   specificity  appends explicit constraints: a word limit, exact terms,
 *                "say so instead of guessing"
 *   examples     appends few-shot examples (input/output pairs, required)
 *   structure    a "## Task" (first sentence), a numbered "## Instructions"
 *                list (the other sentences) and an "## Input" section (the
 *                sentences that hold {{placeholders}})
 *
 * Template placeholders ({{name}}) are never split or altered. Sentences
 * end at '.', '!' or '?' followed by a space or the end, or at a newline.
 *
 * Refusals: a base whose transformation leaves no word of the base
 * (nothing but filler, whitespace or punctuation) is refused with
 * LLMOPT_ERR_INVALID and "transformation 'NAME' produced an empty prompt";
 * 'examples' without examples is refused too. Pure: no I/O.
 */
#ifndef LLMOPT_PROMPT_TRANSFORM_H
#define LLMOPT_PROMPT_TRANSFORM_H

#include <stddef.h>

#include "common/err.h"

typedef enum llmopt_prompt_transform {
    LLMOPT_PT_CONCISENESS = 0,
    LLMOPT_PT_CLARITY,
    LLMOPT_PT_SPECIFICITY,
    LLMOPT_PT_EXAMPLES,
    LLMOPT_PT_STRUCTURE,
    LLMOPT_PT_COUNT
} llmopt_prompt_transform;
extern const char *const llmopt_prompt_transform_names[LLMOPT_PT_COUNT];

/* -1 when the name is none of the above. */
int llmopt_prompt_transform_from_name(const char *name);

typedef struct llmopt_prompt_opts {
    int max_words;                      /* specificity's limit, > 0 (default 150) */
    const char *const *example_inputs;  /* examples: n pairs */
    const char *const *example_outputs;
    size_t n_examples;
} llmopt_prompt_opts;

void llmopt_prompt_opts_default(llmopt_prompt_opts *o);

/* The transformed template in *out (malloc'd, NUL-terminated; the caller
 * frees it). INVALID with a message on refusal, NOMEM. *out is NULL on
 * failure. */
llmopt_err_t llmopt_prompt_transform_apply(llmopt_prompt_transform t, const char *base,
                                           const llmopt_prompt_opts *o, char **out,
                                           char *errstr, size_t errstr_size);

#endif
