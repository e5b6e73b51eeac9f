/* prompt_transform.c - prompt template rewrites (see prompt_transform.h). */
#include "tools/prompt_transform.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const llmopt_prompt_transform_names[LLMOPT_PT_COUNT] = {
    "conciseness", "clarity", "specificity", "examples", "structure"};

int llmopt_prompt_transform_from_name(const char *name) {
    for (int i = 0; name && i < LLMOPT_PT_COUNT; i++)
        if (!strcmp(name, llmopt_prompt_transform_names[i]))
            return i;
    return -1;
}

void llmopt_prompt_opts_default(llmopt_prompt_opts *o) {
    memset(o, 0, sizeof(*o));
    o->max_words = 150;
}

/* ---- a growable string --------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) {
    sb_putn(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_putn(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- sentences ----------------------------------------------------------- */

#define MAX_SENT 256

typedef struct sentences {
    char *s[MAX_SENT];
    int newline_after[MAX_SENT]; /* the sentence ended a line */
    size_t n;
    int oom;
} sentences;

static void sent_release(sentences *ss) {
    for (size_t i = 0; i < ss->n; i++)
        free(ss->s[i]);
    ss->n = 0;
}

/* Copies [a, b) with whitespace runs collapsed to one space and trimmed. */
static char *squeeze(const char *a, const char *b) {
    char *o = malloc((size_t)(b - a) + 1);
    if (!o)
        return NULL;
    size_t n = 0;
    int sp = 0;
    for (const char *p = a; p < b; p++) {
        if (isspace((unsigned char)*p)) {
            sp = n > 0;
            continue;
        }
        if (sp)
            o[n++] = ' ';
        sp = 0;
        o[n++] = *p;
    }
    o[n] = '\0';
    return o;
}

static void sent_add(sentences *ss, const char *a, const char *b, int nl) {
    char *s = squeeze(a, b);
    if (!s) {
        ss->oom = 1;
        return;
    }
    if (!*s || ss->n == MAX_SENT) { /* beyond MAX_SENT: joined to the last one */
        if (*s && ss->n) {
            size_t l1 = strlen(ss->s[ss->n - 1]), l2 = strlen(s);
            char *j = realloc(ss->s[ss->n - 1], l1 + l2 + 2);
            if (!j) {
                ss->oom = 1;
            } else {
                j[l1] = ' ';
                memcpy(j + l1 + 1, s, l2 + 1);
                ss->s[ss->n - 1] = j;
            }
        }
        free(s);
        if (ss->n && nl)
            ss->newline_after[ss->n - 1] = 1;
        return;
    }
    ss->newline_after[ss->n] = nl;
    ss->s[ss->n++] = s;
}

static void split(const char *t, sentences *ss) {
    memset(ss, 0, sizeof(*ss));
    const char *start = t;
    int in_ph = 0;
    for (const char *p = t; *p; p++) {
        if (!in_ph && p[0] == '{' && p[1] == '{') {
            in_ph = 1;
            p++;
            continue;
        }
        if (in_ph) {
            if (p[0] == '}' && p[1] == '}') {
                in_ph = 0;
                p++;
            }
            continue;
        }
        if (*p == '\n') {
            sent_add(ss, start, p, 1);
            start = p + 1;
        } else if ((*p == '.' || *p == '!' || *p == '?') &&
                   (p[1] == '\0' || isspace((unsigned char)p[1]))) {
            sent_add(ss, start, p + 1, 0);
            start = p + 1;
        }
    }
    sent_add(ss, start, start + strlen(start), 0);
}

static int has_placeholder(const char *s) {
    const char *a = strstr(s, "{{");
    return a && strstr(a + 2, "}}");
}

/* A word of the base: a letter or digit, or a placeholder. */
static int has_word(const char *s) {
    if (has_placeholder(s))
        return 1;
    for (; *s; s++)
        if (isalnum((unsigned char)*s))
            return 1;
    return 0;
}

static void capitalise(char *s) {
    if (*s && islower((unsigned char)*s))
        *s = (char)toupper((unsigned char)*s);
}

/* ---- conciseness --------------------------------------------------------- */

static const struct {
    const char *phrase, *with;
} fillers[] = {
    {"i would like you to", ""}, {"i want you to", ""},   {"could you please", ""},
    {"could you", ""},           {"can you", ""},         {"please", ""},
    {"kindly", ""},              {"make sure to", ""},    {"make sure that", ""},
    {"it is important that you", ""}, {"note that", ""},  {"feel free to", ""},
    {"as a matter of fact,", ""}, {"basically", ""},      {"actually", ""},
    {"really", ""},              {"very", ""},            {"just", ""},
    {"simply", ""},              {"in order to", "to"},
};

static size_t match_ci(const char *s, const char *phrase) {
    size_t n = strlen(phrase);
    for (size_t i = 0; i < n; i++)
        if (!s[i] || tolower((unsigned char)s[i]) != phrase[i])
            return 0;
    return n;
}

/* The sentence without filler; NULL on OOM. */
static char *deflate(const char *s) {
    sbuf b = {0};
    int in_ph = 0;
    for (const char *p = s; *p;) {
        if (!in_ph && p[0] == '{' && p[1] == '{')
            in_ph = 1;
        else if (in_ph && p[0] == '}' && p[1] == '}') {
            sb_putn(&b, p, 2);
            p += 2;
            in_ph = 0;
            continue;
        }
        int at_word = !in_ph && (p == s || !isalnum((unsigned char)p[-1]));
        size_t m = 0, f = 0;
        for (f = 0; at_word && f < sizeof(fillers) / sizeof(fillers[0]); f++) {
            m = match_ci(p, fillers[f].phrase);
            if (m && !isalnum((unsigned char)p[m]))
                break;
            m = 0;
        }
        if (m) {
            sb_puts(&b, fillers[f].with);
            p += m;
            while (*p == ' ')
                p++;
            if (*fillers[f].with && *p)
                sb_putn(&b, " ", 1);
            continue;
        }
        sb_putn(&b, p, 1);
        p++;
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (!b.p)
        return calloc(1, 1);
    /* tidy: collapse spaces, no space before , . ; : ! ?, no leading punctuation */
    char *o = squeeze(b.p, b.p + b.len);
    free(b.p);
    if (!o)
        return NULL;
    size_t w = 0;
    for (size_t r = 0; o[r]; r++) {
        if (o[r] == ' ' && strchr(",.;:!?", o[r + 1]))
            continue;
        o[w++] = o[r];
    }
    o[w] = '\0';
    size_t lead = strspn(o, ",;: ");
    memmove(o, o + lead, strlen(o + lead) + 1);
    capitalise(o);
    return o;
}

/* ---- the transformations ------------------------------------------------- */

static int join(sbuf *b, sentences *ss, size_t i) {
    if (!ss->n || i + 1 >= ss->n)
        return 0;
    sb_puts(b, ss->newline_after[i] ? "\n" : " ");
    return 1;
}

llmopt_err_t llmopt_prompt_transform_apply(llmopt_prompt_transform t, const char *base,
                                           const llmopt_prompt_opts *o, char **out,
                                           char *errstr, size_t errstr_size) {
    llmopt_prompt_opts def;
    if (!o) {
        llmopt_prompt_opts_default(&def);
        o = &def;
    }
    *out = NULL;
    if ((int)t < 0 || t >= LLMOPT_PT_COUNT || !base)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "unknown transformation");
    const char *name = llmopt_prompt_transform_names[t];
    if (t == LLMOPT_PT_EXAMPLES && o->n_examples == 0)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "transformation 'examples' needs at least one example");
    if (t == LLMOPT_PT_SPECIFICITY && o->max_words <= 0)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "transformation 'specificity' needs max_words > 0");
    sentences ss;
    split(base, &ss);
    /* the base's own content: conciseness first drops its filler */
    size_t kept = 0, at = 0;
    for (; at < ss.n && !ss.oom; at++) {
        size_t i = at;
        char *s = ss.s[i];
        if (t == LLMOPT_PT_CONCISENESS) {
            char *d = deflate(s);
            if (!d) {
                ss.oom = 1;
                break;
            }
            free(s);
            s = d;
            /* a repeated sentence says nothing new */
            for (size_t j = 0; j < kept && has_word(s); j++)
                if (!strcasecmp(ss.s[j], s))
                    s[0] = '\0';
        }
        if (!has_word(s)) {
            if (kept && ss.newline_after[i])
                ss.newline_after[kept - 1] = 1;
            free(s);
            continue;
        }
        ss.newline_after[kept] = ss.newline_after[i];
        ss.s[kept++] = s;
    }
    if (ss.oom) {
        for (size_t j = 0; j < kept; j++)
            free(ss.s[j]);
        for (size_t j = at; j < ss.n; j++) /* not reached by the loop */
            free(ss.s[j]);
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    ss.n = kept;
    if (!ss.n) {
        sent_release(&ss);
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "transformation '%s' produced an empty prompt", name);
    }
    sbuf b = {0};
    switch (t) {
    case LLMOPT_PT_CONCISENESS:
        for (size_t i = 0; i < ss.n; i++) {
            sb_puts(&b, ss.s[i]);
            join(&b, &ss, i);
        }
        break;
    case LLMOPT_PT_CLARITY:
        for (size_t i = 0; i < ss.n; i++) {
            capitalise(ss.s[i]);
            sb_puts(&b, ss.s[i]);
            char last = ss.s[i][strlen(ss.s[i]) - 1];
            if (!strchr(".!?:", last) && !has_placeholder(ss.s[i]))
                sb_puts(&b, ".");
            sb_puts(&b, "\n");
        }
        sb_puts(&b, "If the request is ambiguous, state the assumption you make before answering.");
        break;
    case LLMOPT_PT_SPECIFICITY:
        for (size_t i = 0; i < ss.n; i++) {
            sb_puts(&b, ss.s[i]);
            join(&b, &ss, i);
        }
        sb_printf(&b,
                  "\n\nConstraints:\n- Answer in at most %d words.\n- Use names and terms "
                  "exactly as they appear in the input.\n- If the input does not contain the "
                  "answer, say so instead of guessing.",
                  o->max_words);
        break;
    case LLMOPT_PT_EXAMPLES:
        for (size_t i = 0; i < ss.n; i++) {
            sb_puts(&b, ss.s[i]);
            join(&b, &ss, i);
        }
        sb_puts(&b, "\n\nExamples:");
        for (size_t i = 0; i < o->n_examples; i++) {
            sb_puts(&b, "\nInput: ");
            sb_puts(&b, o->example_inputs[i] ? o->example_inputs[i] : "");
            sb_puts(&b, "\nOutput: ");
            sb_puts(&b, o->example_outputs[i] ? o->example_outputs[i] : "");
        }
        break;
    case LLMOPT_PT_STRUCTURE: {
        size_t task = ss.n;
        for (size_t i = 0; i < ss.n && task == ss.n; i++)
            if (!has_placeholder(ss.s[i]))
                task = i;
        if (task == ss.n)
            task = 0;
        sb_puts(&b, "## Task\n");
        sb_puts(&b, ss.s[task]);
        int step = 0;
        for (size_t i = 0; i < ss.n; i++) {
            if (i == task || has_placeholder(ss.s[i]))
                continue;
            sb_printf(&b, "%s%d. ", step ? "\n" : "\n\n## Instructions\n", step + 1);
            sb_puts(&b, ss.s[i]);
            step++;
        }
        int inp = 0;
        for (size_t i = 0; i < ss.n; i++) {
            if (i == task || !has_placeholder(ss.s[i]))
                continue;
            sb_puts(&b, inp ? "\n" : "\n\n## Input\n");
            sb_puts(&b, ss.s[i]);
            inp = 1;
        }
        break;
    }
    default:
        break;
    }
    sent_release(&ss);
    if (b.oom || !b.p) {
        free(b.p);
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    *out = b.p;
    return LLMOPT_OK;
}
