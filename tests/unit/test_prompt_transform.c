/* test_prompt_transform.c - CUnit suite for tools/prompt_transform.c: each
 * named rewrite against its exact expected text, placeholders kept whole,
 * and the refusals (empty result, examples without examples). */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "tools/prompt_transform.h"

static char *run(llmopt_prompt_transform t, const char *base, const llmopt_prompt_opts *o,
                 llmopt_err_t *e, char *err, size_t es) {
    char *out = NULL;
    *e = llmopt_prompt_transform_apply(t, base, o, &out, err, es);
    return out;
}

static void expect(llmopt_prompt_transform t, const char *base, const llmopt_prompt_opts *o,
                   const char *want) {
    llmopt_err_t e;
    char err[200] = "";
    char *got = run(t, base, o, &e, err, sizeof(err));
    CU_ASSERT_EQUAL(e, LLMOPT_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    if (strcmp(got, want))
        fprintf(stderr, "\n%s: got\n[%s]\nwant\n[%s]\n", llmopt_prompt_transform_names[t], got,
                want);
    CU_ASSERT_STRING_EQUAL(got, want);
    free(got);
}

static void test_names(void) {
    CU_ASSERT_EQUAL(llmopt_prompt_transform_from_name("conciseness"), LLMOPT_PT_CONCISENESS);
    CU_ASSERT_EQUAL(llmopt_prompt_transform_from_name("structure"), LLMOPT_PT_STRUCTURE);
    CU_ASSERT_EQUAL(llmopt_prompt_transform_from_name("brevity"), -1);
    CU_ASSERT_EQUAL(llmopt_prompt_transform_from_name(NULL), -1);
}

static void test_conciseness(void) {
    expect(LLMOPT_PT_CONCISENESS,
           "Please could you summarise the following text. I would like you to be very brief.\n"
           "Text: {{input}}\nPlease summarise the following text.",
           NULL, "Summarise the following text. Be brief.\nText: {{input}}");
    /* whole words only: "every" and "justice" keep their letters */
    expect(LLMOPT_PT_CONCISENESS, "List every  justice, in order to   compare them.", NULL,
           "List every justice, to compare them.");
}

static void test_clarity(void) {
    expect(LLMOPT_PT_CLARITY, "summarise the text\nbe brief. Text: {{input}}", NULL,
           "Summarise the text.\nBe brief.\nText: {{input}}\nIf the request is ambiguous, "
           "state the assumption you make before answering.");
}

static void test_specificity(void) {
    llmopt_prompt_opts o;
    llmopt_prompt_opts_default(&o);
    o.max_words = 50;
    expect(LLMOPT_PT_SPECIFICITY, "Summarise {{input}}.", &o,
           "Summarise {{input}}.\n\nConstraints:\n- Answer in at most 50 words.\n- Use names "
           "and terms exactly as they appear in the input.\n- If the input does not contain "
           "the answer, say so instead of guessing.");
}

static void test_examples(void) {
    const char *in[] = {"the cat sat", "a b"}, *out[] = {"cat", "b"};
    llmopt_prompt_opts o;
    llmopt_prompt_opts_default(&o);
    o.example_inputs = in;
    o.example_outputs = out;
    o.n_examples = 2;
    expect(LLMOPT_PT_EXAMPLES, "Name the last noun. {{input}}", &o,
           "Name the last noun. {{input}}\n\nExamples:\nInput: the cat sat\nOutput: cat\n"
           "Input: a b\nOutput: b");
    llmopt_err_t e;
    char err[200];
    llmopt_prompt_opts_default(&o);
    char *got = run(LLMOPT_PT_EXAMPLES, "Name the last noun.", &o, &e, err, sizeof(err));
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT_EQUAL(e, LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err, "transformation 'examples' needs at least one example");
}

static void test_structure(void) {
    expect(LLMOPT_PT_STRUCTURE, "Summarise the text. Be brief. Keep names.\nText: {{input}}",
           NULL,
           "## Task\nSummarise the text.\n\n## Instructions\n1. Be brief.\n2. Keep names.\n\n"
           "## Input\nText: {{input}}");
    /* a single sentence: no instructions section */
    expect(LLMOPT_PT_STRUCTURE, "Translate {{input}} to French", NULL,
           "## Task\nTranslate {{input}} to French");
}

static void test_placeholders_whole(void) {
    /* a '.' inside a placeholder does not end a sentence, filler words inside one stay */
    expect(LLMOPT_PT_CLARITY, "Greet {{user.name}}. Then stop", NULL,
           "Greet {{user.name}}.\nThen stop.\nIf the request is ambiguous, state the "
           "assumption you make before answering.");
    expect(LLMOPT_PT_CONCISENESS, "Just greet {{please just}} now.", NULL,
           "Greet {{please just}} now.");
}

static void test_empty_refused(void) {
    llmopt_err_t e;
    char err[200];
    char *got = run(LLMOPT_PT_CONCISENESS, "Please. Kindly, just!", NULL, &e, err, sizeof(err));
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT_EQUAL(e, LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err, "transformation 'conciseness' produced an empty prompt");
    for (int t = 0; t < LLMOPT_PT_COUNT; t++) {
        const char *in[] = {"x"}, *out[] = {"y"};
        llmopt_prompt_opts o;
        llmopt_prompt_opts_default(&o);
        o.example_inputs = in, o.example_outputs = out, o.n_examples = 1;
        got = run((llmopt_prompt_transform)t, "  \n\t . ", &o, &e, err, sizeof(err));
        CU_ASSERT_PTR_NULL(got);
        CU_ASSERT_EQUAL(e, LLMOPT_ERR_INVALID);
        CU_ASSERT(strstr(err, "produced an empty prompt") != NULL);
    }
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("prompt_transform", NULL, NULL);
    CU_add_test(s, "names", test_names);
    CU_add_test(s, "conciseness", test_conciseness);
    CU_add_test(s, "clarity", test_clarity);
    CU_add_test(s, "specificity", test_specificity);
    CU_add_test(s, "examples", test_examples);
    CU_add_test(s, "structure", test_structure);
    CU_add_test(s, "placeholders_whole", test_placeholders_whole);
    CU_add_test(s, "empty_refused", test_empty_refused);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned f = CU_get_number_of_failures();
    CU_cleanup_registry();
    return f ? 1 : 0;
}
