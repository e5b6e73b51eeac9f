/* test_ctl_replay.c - CUnit suite for controller/replay: the controller's
 * decision loop over injected inputs and time. The initial decision equals
 * a fresh route's own first decision with the daemon's seed; a harmful
 * anomaly opens the arm's breaker in the next step's decision, with the
 * signal id; the breaker's cooldown ends on the injected clock (tick), not
 * the wall clock; unknown routes and arms are counted and change nothing;
 * two replays of the same inputs give identical decisions. */
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "controller/policy.h"
#include "controller/replay.h"
#include "controller/route.h"

static const char *POLICY =
    "{\"routes\":[{\"route\":\"chat\",\"algorithm\":\"thompson\",\"exploration_floor\":0.05,"
    "\"guardrails\":{\"cooldown_ms\":500,\"max_cooldown_ms\":4000,\"probe_weight\":0.1},"
    "\"arms\":[{\"id\":\"a\",\"provider\":\"openai\",\"model\":\"m1\"},"
    "{\"id\":\"b\",\"provider\":\"openai\",\"model\":\"m2\"}]}]}";

#define MAXD 32
typedef struct seen {
    size_t n;
    int64_t ts[MAXD], version[MAXD];
    double w[MAXD][2];
    int state[MAXD][2];
    char reason[MAXD][LLMOPT_ROUTE_REASON_MAX];
    char sig[MAXD][64];
} seen;

static void on_dec(void *ctx, const llmopt_ctl_replay_decision *d) {
    seen *s = ctx;
    if (s->n == MAXD)
        return;
    s->ts[s->n] = d->ts_ms;
    s->version[s->n] = d->version;
    for (int i = 0; i < 2; i++) {
        s->w[s->n][i] = d->d->w[i];
        s->state[s->n][i] = d->d->state[i];
    }
    snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", d->d->reason);
    snprintf(s->sig[s->n], sizeof(s->sig[0]), "%s", d->n_signal_ids ? d->signal_ids[0] : "");
    s->n++;
}

static llmopt_signal anomaly(const char *route, const char *arm, const char *id, int64_t ts) {
    llmopt_signal s;
    memset(&s, 0, sizeof(s));
    s.signal_id = llmopt_str_of(id);
    s.ts_ms = ts;
    s.route = llmopt_str_of(route);
    s.arm = llmopt_str_of(arm);
    s.kind = LLMOPT_SIGNAL_ANOMALY;
    s.detector = LLMOPT_DETECTOR_ZSCORE;
    s.metric = llmopt_str_of("error_rate");
    s.direction = LLMOPT_DIRECTION_UP;
    s.before = 0.01;
    s.after = 0.5;
    s.magnitude = 0.49;
    s.severity = 6;
    return s;
}

static void run(const llmopt_policy *p, seen *s, llmopt_ctl_replay_stats *st) {
    char err[256];
    memset(s, 0, sizeof(*s));
    llmopt_ctl_replay *rp = llmopt_ctl_replay_new(p, 1, 100, 1000, 10000, on_dec, s, err,
                                                  sizeof(err));
    CU_ASSERT_FATAL(rp != NULL);
    llmopt_ctl_replay_step(rp, 10000);
    llmopt_signal sg = anomaly("chat", "b", "sig-1", 10050);
    CU_ASSERT_EQUAL(llmopt_ctl_replay_signal(rp, &sg, 10060, err, sizeof(err)), LLMOPT_OK);
    llmopt_signal other = anomaly("nope", "b", "sig-2", 10050);
    CU_ASSERT_EQUAL(llmopt_ctl_replay_signal(rp, &other, 10060, err, sizeof(err)),
                    LLMOPT_ERR_UNKNOWN);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'nope'"));
    llmopt_signal ghost = anomaly("chat", "ghost", "sig-3", 10050);
    CU_ASSERT_EQUAL(llmopt_ctl_replay_signal(rp, &ghost, 10060, err, sizeof(err)),
                    LLMOPT_ERR_UNKNOWN);
    for (int64_t t = 10100; t <= 11000; t += 100)
        llmopt_ctl_replay_step(rp, t);
    llmopt_ctl_replay_get_stats(rp, st);
    llmopt_ctl_replay_destroy(rp);
}

static void test_decisions(void) {
    char err[256];
    llmopt_policy *p = llmopt_policy_parse(POLICY, strlen(POLICY), NULL, 0, err, sizeof(err));
    CU_ASSERT_FATAL(p != NULL);
    seen s, s2;
    llmopt_ctl_replay_stats st, st2;
    run(p, &s, &st);
    CU_ASSERT_FATAL(s.n >= 3);

    /* v1: a fresh route's own first decision, with the daemon's seed */
    llmopt_route *r = llmopt_route_new(&p->routes[0], llmopt_route_seed(1, "chat"), 10000, err,
                                       sizeof(err));
    CU_ASSERT_FATAL(r != NULL);
    llmopt_route_note(r, "initial decision");
    llmopt_route_decision d;
    CU_ASSERT_EQUAL(llmopt_route_decide(r, 10000, &d), 1);
    llmopt_route_destroy(r);
    CU_ASSERT_EQUAL(s.version[0], 1);
    CU_ASSERT_EQUAL(s.ts[0], 10000);
    CU_ASSERT_EQUAL(s.w[0][0], d.w[0]);
    CU_ASSERT_EQUAL(s.w[0][1], d.w[1]);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "initial decision"));

    /* v2 at the next step (10100): b's breaker open, b gets nothing */
    CU_ASSERT_EQUAL(s.version[1], 2);
    CU_ASSERT_EQUAL(s.ts[1], 10100);
    CU_ASSERT_STRING_EQUAL(s.sig[1], "sig-1");
    CU_ASSERT_EQUAL(s.w[1][1], 0.0);
    CU_ASSERT_DOUBLE_EQUAL(s.w[1][0], 1.0, 1e-12);
    CU_ASSERT_EQUAL(s.state[1][1], LLMOPT_ARM_COOLDOWN);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[1], "anomaly zscore on arm 'b' error_rate up"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[1], "breaker closed -> open (cooldown 0s)"));

    /* the 500 ms cooldown from 10060 ends at 10560: the tick at 10600 on the
     * injected clock moves b to half-open with its 10 % probe share */
    size_t h = 0;
    for (size_t i = 2; i < s.n && !h; i++)
        if (strstr(s.reason[i], "breaker open -> half_open"))
            h = i;
    CU_ASSERT_FATAL(h > 0);
    CU_ASSERT_EQUAL(s.ts[h], 10600);
    CU_ASSERT_DOUBLE_EQUAL(s.w[h][1], 0.1, 1e-12);
    CU_ASSERT_EQUAL(s.state[h][1], LLMOPT_ARM_COOLDOWN);
    for (size_t i = 1; i < s.n; i++)
        CU_ASSERT_EQUAL(s.version[i], s.version[i - 1] + 1);

    CU_ASSERT_EQUAL(st.inputs, 3);
    CU_ASSERT_EQUAL(st.unknown_route, 1);
    CU_ASSERT_EQUAL(st.rejected, 1);
    CU_ASSERT_EQUAL(st.steps, 11);
    CU_ASSERT_EQUAL(st.decisions, s.n);

    /* deterministic: the same inputs, the same decisions, bit for bit */
    run(p, &s2, &st2);
    CU_ASSERT_EQUAL(s2.n, s.n);
    CU_ASSERT_EQUAL(memcmp(s.w, s2.w, sizeof(s.w)), 0);
    CU_ASSERT_EQUAL(memcmp(s.ts, s2.ts, sizeof(s.ts)), 0);
    for (size_t i = 0; i < s.n; i++)
        CU_ASSERT_STRING_EQUAL(s.reason[i], s2.reason[i]);
    llmopt_policy_destroy(p);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite su = CU_add_suite("ctl_replay", NULL, NULL);
    CU_add_test(su, "decisions", test_decisions);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return fails ? 1 : 0;
}
