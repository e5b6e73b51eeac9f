/*
 * drift_golden.h - what the drift-detector suites (test_adwin.c,
 * test_page_hinkley.c, test_cusum.c) share: the golden
 * streams in tests/data/drift (made by tests/tools/gen_drift_golden.py) and
 * their expected detections, detection and checkpoint comparisons, and the
 * truncated-checkpoint check (the last two as macros: the detector types
 * differ). Paths are relative: run from the repository
 * root.
 */
#ifndef TEST_DRIFT_GOLDEN_H
#define TEST_DRIFT_GOLDEN_H

#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/drift.h"
#include "processor/core/serial.h"

#define DRIFT_MAXN 8192   /* values read from a stream at most */
#define DRIFT_MAXHITS 256 /* detections compared at most */

static const char *const DRIFT_STREAMS[] = {"abrupt_mean", "gradual", "variance", "bernoulli",
                                            "nochange"};
#define DRIFT_N_STREAMS (sizeof(DRIFT_STREAMS) / sizeof(DRIFT_STREAMS[0]))

/* Reads tests/data/drift/<name>.txt, one value a line, into xs
 * (DRIFT_MAXN values at most); returns the count. */
static inline size_t drift_load_stream(const char *name, double *xs) {
    char path[256];
    snprintf(path, sizeof(path), "tests/data/drift/%s.txt", name);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = 0;
    char line[128];
    while (n < DRIFT_MAXN && fgets(line, sizeof(line), f))
        xs[n++] = strtod(line, NULL);
    fclose(f);
    return n;
}

/* The expected.txt line "<stream> <variant> <rest>": copies rest and returns
 * 1, or returns 0 when there is no such line. */
static inline int drift_expected(const char *stream, const char *variant, char *rest,
                                 size_t rest_size) {
    FILE *f = fopen("tests/data/drift/expected.txt", "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[4096], s[64], v[64];
    int found = 0;
    while (fgets(line, sizeof(line), f)) {
        int off = 0;
        if (line[0] == '#' || sscanf(line, "%63s %63s %n", s, v, &off) != 2)
            continue;
        if (strcmp(s, stream) == 0 && strcmp(v, variant) == 0) {
            snprintf(rest, rest_size, "%s", line + off);
            rest[strcspn(rest, "\n")] = 0;
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

/* The expected detection indices ("-" for none, else comma-separated). */
static inline size_t drift_expected_hits(const char *stream, const char *variant,
                                         uint64_t *hits) {
    char rest[4096];
    CU_ASSERT_FATAL(drift_expected(stream, variant, rest, sizeof(rest)));
    if (strcmp(rest, "-") == 0)
        return 0;
    size_t n = 0;
    for (char *p = strtok(rest, ","); p && n < DRIFT_MAXHITS; p = strtok(NULL, ","))
        hits[n++] = strtoull(p, NULL, 10);
    return n;
}

/* Field by field: the struct has padding. */
static inline int drift_same_detection(const llmopt_drift_detection *a,
                                       const llmopt_drift_detection *b) {
    return a->direction == b->direction && a->estimate_before == b->estimate_before &&
           a->estimate_after == b->estimate_after && a->sample_index == b->sample_index;
}

/* Two checkpoints are byte-identical. */
static inline int wbuf_equal(const llmopt_wbuf *a, const llmopt_wbuf *b) {
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* a and b (detectors of one type) serialize to the same bytes. */
#define DRIFT_ASSERT_SAME_CHECKPOINT(serialize, a, b)                                       \
    do {                                                                                    \
        llmopt_wbuf wa_, wb_;                                                               \
        llmopt_wbuf_init(&wa_);                                                             \
        llmopt_wbuf_init(&wb_);                                                             \
        serialize((a), &wa_);                                                               \
        serialize((b), &wb_);                                                               \
        CU_ASSERT(wbuf_equal(&wa_, &wb_));                                                  \
        llmopt_wbuf_release(&wa_);                                                          \
        llmopt_wbuf_release(&wb_);                                                          \
    } while (0)

/* Every proper prefix of the checkpoint in wbuf w is refused by
 * deserialize(out, rbuf, errstr, size) as truncated or invalid; *out is
 * poisoned before each try, so nothing may depend on what it held. */
#define DRIFT_ASSERT_PREFIXES_REFUSED(deserialize, out, w)                                  \
    do {                                                                                    \
        char err_[128];                                                                     \
        for (size_t len_ = 0; len_ < (w).len; len_++) {                                     \
            llmopt_rbuf r_;                                                                 \
            llmopt_rbuf_init(&r_, (w).data, len_);                                          \
            memset((out), 0x5a, sizeof(*(out)));                                            \
            llmopt_err_t e_ = deserialize((out), &r_, err_, sizeof(err_));                  \
            CU_ASSERT(e_ == LLMOPT_ERR_TRUNCATED || e_ == LLMOPT_ERR_INVALID);              \
        }                                                                                   \
    } while (0)

#endif
