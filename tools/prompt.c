/*
 * prompt.c - `llmopt prompt variants`: candidate arms from named rewrites of
 * a base prompt template (tools/prompt_transform.h, docs/PROMPT_VARIANTS.md).
 *
 *   llmopt prompt variants policy=FILE route=R base=ARM templates=FILE
 *          [transforms=conciseness,clarity,specificity,examples,structure]
 *          [examples=FILE] [max_words=150] [out=FILE] [templates_out=FILE]
 *
 * The base arm's prompt_template_id names the base text in the templates
 * file ({"templates": {"id": "text", ...}}). Each transformation T adds
 * template "<base template>.T" to the templates file and arm "<base arm>.T"
 * (the base arm with that template) to the route in the policy file, which
 * is what llmopt-controller reads at start. All or nothing: a refused
 * transformation (empty result, 'examples' without examples), an arm id
 * already taken, or a policy the controller would refuse (checked with the
 * controller's own parser) writes nothing and exits 1 with the reason.
 * Prints one JSON line per new arm and the `llmopt experiment create` line
 * that runs them against the base arm.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/policy.h"
#include "tools/commands.h"
#include "tools/prompt_transform.h"

#define MAX_EX 32

static const char *kv(const char *arg, const char *key) {
    size_t n = strlen(key);
    return !strncmp(arg, key, n) && arg[n] == '=' ? arg + n + 1 : NULL;
}

static void usage(FILE *f) {
    fprintf(f, "usage: llmopt prompt variants policy=FILE route=R base=ARM templates=FILE\n"
               "         [transforms=NAME,...] [examples=FILE] [max_words=N] [out=FILE]\n"
               "         [templates_out=FILE]\n"
               "transformations: conciseness, clarity, specificity, examples, structure\n"
               "(default: all but examples, plus examples when examples=FILE is given)\n"
               "examples file: [{\"input\": \"...\", \"output\": \"...\"}, ...]\n");
}

static json_t *load(const char *what, const char *path, char *err, size_t es) {
    json_error_t je;
    json_t *j = json_load_file(path, JSON_DECODE_ANY, &je);
    if (!j)
        snprintf(err, es, "%s '%s': %s (line %d)", what, path, je.text, je.line);
    return j;
}

static int variants(int argc, char **argv) {
    const char *policy = NULL, *route = NULL, *base = NULL, *templates = NULL, *out = NULL;
    const char *tout = NULL, *transforms = NULL, *examples = NULL;
    llmopt_prompt_opts po;
    llmopt_prompt_opts_default(&po);
    for (int i = 0; i < argc; i++) {
        const char *v;
        if ((v = kv(argv[i], "policy")))
            policy = v;
        else if ((v = kv(argv[i], "route")))
            route = v;
        else if ((v = kv(argv[i], "base")))
            base = v;
        else if ((v = kv(argv[i], "templates")))
            templates = v;
        else if ((v = kv(argv[i], "out")))
            out = v;
        else if ((v = kv(argv[i], "templates_out")))
            tout = v;
        else if ((v = kv(argv[i], "transforms")))
            transforms = v;
        else if ((v = kv(argv[i], "examples")))
            examples = v;
        else if ((v = kv(argv[i], "max_words"))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n <= 0 || n > 100000) {
                fprintf(stderr, "llmopt prompt variants: max_words '%s' is not 1..100000\n", v);
                return 2;
            }
            po.max_words = (int)n;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "llmopt prompt variants: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!policy || !route || !base || !templates) {
        fprintf(stderr, "llmopt prompt variants: policy=, route=, base= and templates= are "
                        "required\n");
        usage(stderr);
        return 2;
    }
    out = out ? out : policy;
    tout = tout ? tout : templates;
    int rc = 1;
    char err[1024] = "";
    json_t *pj = NULL, *tj = NULL, *ej = NULL, *made = json_array();
    char *ptxt = NULL;
    const char *ex_in[MAX_EX], *ex_out[MAX_EX];
    int todo[LLMOPT_PT_COUNT] = {0};
    size_t ntodo = 0;
    if (!made)
        goto oom;
    /* which transformations */
    if (transforms) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", transforms);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            int t = llmopt_prompt_transform_from_name(tok);
            if (t < 0) {
                snprintf(err, sizeof(err), "unknown transformation '%s'", tok);
                rc = 2;
                goto out;
            }
            if (!todo[t])
                ntodo++;
            todo[t] = 1;
        }
    } else {
        for (int t = 0; t < LLMOPT_PT_COUNT; t++)
            if (t != LLMOPT_PT_EXAMPLES || examples)
                todo[t] = 1, ntodo++;
    }
    if (examples) {
        if (!(ej = load("examples", examples, err, sizeof(err))))
            goto out;
        if (!json_is_array(ej) || json_array_size(ej) > MAX_EX) {
            snprintf(err, sizeof(err), "examples '%s': expected an array of at most %d "
                     "{\"input\", \"output\"} objects", examples, MAX_EX);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(ej); i++) {
            json_t *e = json_array_get(ej, i);
            ex_in[i] = json_string_value(json_object_get(e, "input"));
            ex_out[i] = json_string_value(json_object_get(e, "output"));
            if (!ex_in[i] || !ex_out[i]) {
                snprintf(err, sizeof(err), "examples '%s'[%zu]: expected string members "
                         "\"input\" and \"output\"", examples, i);
                goto out;
            }
        }
        po.example_inputs = ex_in;
        po.example_outputs = ex_out;
        po.n_examples = json_array_size(ej);
    }
    /* the base arm and its template */
    if (!(pj = load("policy", policy, err, sizeof(err))) ||
        !(tj = load("templates", templates, err, sizeof(err))))
        goto out;
    json_t *tmap = json_object_get(tj, "templates");
    if (!json_is_object(tmap)) {
        snprintf(err, sizeof(err), "templates '%s': expected {\"templates\": {\"id\": \"text\"}}",
                 templates);
        goto out;
    }
    json_t *routes = json_object_get(pj, "routes"), *rj = NULL, *arms = NULL, *barm = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(routes, i, it) {
        if (json_is_string(json_object_get(it, "route")) &&
            !strcmp(json_string_value(json_object_get(it, "route")), route))
            rj = it;
    }
    if (!rj || !json_is_array(arms = json_object_get(rj, "arms"))) {
        snprintf(err, sizeof(err), "policy '%s' has no route '%s' with arms", policy, route);
        goto out;
    }
    json_array_foreach(arms, i, it) {
        if (json_is_string(json_object_get(it, "id")) &&
            !strcmp(json_string_value(json_object_get(it, "id")), base))
            barm = it;
    }
    if (!barm) {
        snprintf(err, sizeof(err), "route '%s' has no arm '%s'", route, base);
        goto out;
    }
    const char *btid = json_string_value(json_object_get(barm, "prompt_template_id"));
    if (!btid) {
        snprintf(err, sizeof(err), "arm '%s' has no prompt_template_id to start from", base);
        goto out;
    }
    const char *btext = json_string_value(json_object_get(tmap, btid));
    if (!btext) {
        snprintf(err, sizeof(err), "templates '%s' has no text for template '%s'", templates,
                 btid);
        goto out;
    }
    /* transform: everything in memory first, all or nothing */
    for (int t = 0; t < LLMOPT_PT_COUNT; t++) {
        if (!todo[t])
            continue;
        const char *tn = llmopt_prompt_transform_names[t];
        char te[256], tid[256], aid[256];
        char *txt = NULL;
        if (llmopt_prompt_transform_apply((llmopt_prompt_transform)t, btext, &po, &txt, te,
                                          sizeof(te))) {
            snprintf(err, sizeof(err), "template '%s': %s; nothing written", btid, te);
            goto out;
        }
        snprintf(tid, sizeof(tid), "%s.%s", btid, tn);
        snprintf(aid, sizeof(aid), "%s.%s", base, tn);
        json_t *x;
        size_t k;
        json_array_foreach(arms, k, x) {
            if (json_is_string(json_object_get(x, "id")) &&
                !strcmp(json_string_value(json_object_get(x, "id")), aid)) {
                snprintf(err, sizeof(err), "route '%s' already has an arm '%s'; nothing written",
                         route, aid);
                free(txt);
                goto out;
            }
        }
        json_t *na = json_deep_copy(barm);
        if (!na) {
            free(txt);
            goto oom;
        }
        json_object_set_new(na, "id", json_string(aid));
        json_object_set_new(na, "prompt_template_id", json_string(tid));
        json_array_append_new(arms, na);
        json_object_set_new(tmap, tid, json_string(txt));
        json_array_append_new(made, json_pack("{s:s, s:s, s:s, s:i}", "arm", aid, "template_id",
                                              tid, "transform", tn, "chars", (int)strlen(txt)));
        free(txt);
    }
    /* would the controller take it? its own parser decides */
    if (!(ptxt = json_dumps(pj, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12))))
        goto oom;
    char pe[512];
    llmopt_policy *chk = llmopt_policy_parse(ptxt, strlen(ptxt), NULL, 0, pe, sizeof(pe));
    if (!chk) {
        snprintf(err, sizeof(err), "the new policy would be refused by the controller: %s; "
                 "nothing written", pe);
        goto out;
    }
    llmopt_policy_destroy(chk);
    if (json_dump_file(tj, tout, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) {
        snprintf(err, sizeof(err), "cannot write templates '%s'", tout);
        goto out;
    }
    FILE *f = fopen(out, "w");
    if (!f || fputs(ptxt, f) < 0 || fputc('\n', f) < 0 || fclose(f)) {
        snprintf(err, sizeof(err), "cannot write policy '%s'", out);
        goto out;
    }
    json_array_foreach(made, i, it) {
        char *line = json_dumps(it, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line)
            printf("%s\n", line);
        free(line);
    }
    /* equal shares in 1e-4 steps, the rounding left to the control, so they
     * sum to 1 as `llmopt experiment create` requires */
    long share = 10000 / (long)(ntodo + 1);
    printf("# run them against '%s' (restart the controller with the new policy first):\n"
           "# llmopt experiment create ID route=%s primary=quality guardrail=error_rate "
           "variant=base:%s:%.4f:control",
           base, route, base, (double)(10000 - share * (long)ntodo) / 10000);
    json_array_foreach(made, i, it) {
        printf(" variant=%s:%s:%.4f", json_string_value(json_object_get(it, "transform")),
               json_string_value(json_object_get(it, "arm")), (double)share / 10000);
    }
    printf("\n");
    rc = 0;
    goto out;
oom:
    snprintf(err, sizeof(err), "out of memory");
out:
    if (rc)
        fprintf(stderr, "llmopt prompt variants: %s\n", err);
    free(ptxt);
    json_decref(pj);
    json_decref(tj);
    json_decref(ej);
    json_decref(made);
    return rc;
}

int llmopt_cmd_prompt(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "variants")) {
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    return variants(argc - 2, argv + 2);
}
