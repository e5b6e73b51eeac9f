/*
 * llmopt_gateway.h - libllmopt-gateway: the C library an LLM gateway links to
 * follow the routing decisions the controller publishes on llm.routing,
 * choose an arm per request, apply the decision's rate limits, cache policy
 * and batching, and report request/response/feedback telemetry.
 *
 * This is the ONE public header of the library; docs/GATEWAY.md has the
 * walkthrough and gateway/examples/minimal_gateway.c a complete program.
 *
 * ---------------------------------------------------------------------------
 * Objects and ownership
 *
 *   llmopt_gw          the gateway: decision table, follower thread, telemetry
 *                      producer, limiter, per-route caches. _new/_destroy.
 *   llmopt_gw_batcher  one request batcher bound to a route. _new/_destroy.
 *   llmopt_gw_choice   plain result struct filled by llmopt_gw_choose(); it
 *                      holds COPIES of the arm's strings, so it stays valid
 *                      after the decision it came from is replaced.
 * Every _destroy(NULL) is a no-op. Strings passed in are borrowed for the
 * duration of the call only (the config's strings are copied by _new).
 *
 * ---------------------------------------------------------------------------
 * Decision table and its concurrency scheme (read-copy-update)
 *
 * The table holds, per route, the latest valid decision as an immutable
 * snapshot (the decoded record plus precomputed cumulative weights). Routes
 * live in a fixed-capacity open-addressing hash table (config.max_routes);
 * a route's slot, once filled, is never removed or moved, and its snapshot is
 * published through an atomic pointer. One writer at a time (a mutex taken
 * by the follower thread and by llmopt_gw_apply_decision) validates a new
 * decision, swaps the pointer and retires the old snapshot.
 *
 * Readers (choose, admit, cache, batcher) never take a lock and never
 * allocate. They announce themselves in one of 64 cache-line-padded reader
 * counters (the thread's stripe), split by epoch parity: read the global
 * epoch e, increment counter[stripe][e & 1], load the snapshot pointer, use
 * it, decrement the same counter. That is a bounded number of atomic
 * operations: wait-free. The writer reclaims retired snapshots after a grace
 * period, as in userspace RCU: it advances the epoch to e+1 and waits until
 * every stripe's parity-e counter is 0, then advances to e+2 and waits for
 * parity e+1. Any reader that could have loaded a retired pointer entered
 * before the swap, so its increment is visible to one of the two waits; new
 * readers count under the other parity, so each wait drains in the time the
 * readers already inside take (a few hundred ns). Only the writer ever
 * waits; a reader preempted inside choose() delays reclamation, never
 * correctness.
 *
 * Versions: a decision whose version is not greater than the one held for
 * its route is ignored (counted in stats.ignored_old_version). A heartbeat
 * with the held version only refreshes the route's staleness clock. A Kafka
 * tombstone (key = route, null value) removes the route's decision (choose
 * falls back) but remembers its version so older decisions cannot return.
 *
 * ---------------------------------------------------------------------------
 * Validation: a decision is rejected (counted per reason in
 * stats.rejected[], the route keeps its last good decision) when:
 *   OVERSIZED      message > config.max_message_bytes, more than
 *                  LLMOPT_GW_MAX_ARMS arms, a string of an arm longer than
 *                  LLMOPT_GW_NAME_MAX-1 bytes, more than LLMOPT_GW_MAX_PARAMS
 *                  params, a param name >= LLMOPT_GW_PARAM_NAME_MAX, more
 *                  than LLMOPT_GW_MAX_DIM contextual features or 64 cache
 *                  exclude patterns
 *   DECODE         Avro/JSON decoding failed
 *   INVALID        empty route, version < 1, ts_ms < 0, no arms, empty or
 *                  duplicate arm_id, default_arm not among the arms, route
 *                  differs from the Kafka key, a non-finite param
 *   BAD_WEIGHT     a weight negative, > 1 or not finite; or the weights of
 *                  the arms that are not disabled (active, canary, cooldown)
 *                  not summing to 1 within 1e-6
 *   UNKNOWN_ALGORITHM  algorithm not one of: static, thompson, ucb1,
 *                  epsilon_greedy, softmax, exp3, linucb, lin_ts
 *   BAD_CONTEXTUAL linucb/lin_ts without a contextual model, dimension not in
 *                  1..LLMOPT_GW_MAX_DIM or != feature_names count, alpha < 0
 *                  or not finite, an arm without exactly one model, theta
 *                  not of dimension values or a_inv not dimension^2, any
 *                  coefficient not finite
 *   BAD_RATE_LIMITS  a bucket (present = enabled) with requests_per_s <= 0,
 *                  requests_burst < 1, negative or non-finite values, only
 *                  one of tokens_per_min / tokens_burst > 0 (both 0 = no
 *                  token limit); retry_after_ms or queue_timeout_ms outside
 *                  0..3600000; a priority weight < 0 or not finite, or a
 *                  class other than critical/high/medium/low
 *   BAD_CACHE_POLICY  enabled with ttl_ms <= 0 or > config.max_cache_ttl_ms,
 *                  or max_entries < 1 or > config.max_cache_entries; any
 *                  negative value
 *   BAD_BATCHING   enabled with max_batch outside 1..config.max_batch_size,
 *                  max_wait_ms outside 0..60000, token_budget < 0
 *   TOO_MANY_ROUTES the table already holds config.max_routes routes
 *
 * ---------------------------------------------------------------------------
 * Choosing an arm (llmopt_gw_choose)
 *
 * Eligible arms: state active or canary; state cooldown once
 * now_ms >= cooldown_until_ms (a cooldown without an end time never
 * expires); never disabled.
 *
 * Weighted algorithms (everything but linucb/lin_ts). With a uniform draw u
 * in [0,1) (args.u when 0 <= u < 1, else from the RNG):
 *   W = sum of the weights of the eligible arms, added in decision order
 *   t = u          when every arm is eligible (W is 1 within 1e-6)
 *   t = u * W      otherwise (renormalised over the eligible arms)
 *   c = 0; for each arm i in decision order, if eligible: c += w_i and the
 *   arm is i as soon as t < c. If rounding leaves no arm (t >= c at the
 *   end), it is the last eligible arm with w_i > 0.
 *   propensity = w_i when every arm is eligible, else w_i / W.
 * All arithmetic is IEEE double in that exact order, so Python floats
 * reproduce it bit for bit (docs/GATEWAY.md has the 10-line reference).
 *
 * Contextual algorithms. x = the decision's feature_names looked up in
 * args.features by name (absent features are 0). Per eligible arm a:
 *   mu_a = theta_a . x,   s_a = alpha * sqrt(max(0, x^T A_a^-1 x))
 *   linucb: the arm with the largest mu_a + s_a (ties: first in decision
 *           order); the rule is deterministic, so propensity = 1.
 *   lin_ts: linear Thompson sampling: z_a = mu_a + s_a * g_a with g_a
 *           standard normal draws from the RNG (Box-Muller, arms in decision
 *           order); the arm with the largest z_a. propensity = P(a is the
 *           argmax) = integral phi(g) prod_{b != a} Phi((mu_a + s_a g -
 *           mu_b) / s_b) dg, by the trapezoid rule on [-8, 8] with 257
 *           points (absolute error < 1e-6 for smooth cases; a step function
 *           where some s_b = 0). When every s_a is 0 it is linucb's argmax.
 *           lin_ts ignores args.u: use args.rng for reproducibility.
 * If no arm is eligible, or every eligible weight is 0, the decision's
 * default_arm is returned with propensity 1 and LLMOPT_GW_CHOICE_NO_ELIGIBLE.
 *
 * No decision for the route (unknown route, not received yet, or removed):
 * the configured default arm with propensity 1, decision_version 0 and
 * LLMOPT_GW_CHOICE_FALLBACK. A decision with now_ms - ts_ms >
 * config.stale_after_ms (ts_ms being the latest of the decision and its
 * heartbeats) is still used and flagged LLMOPT_GW_CHOICE_STALE.
 *
 * RNG: args.rng when given (caller-owned, one thread at a time), else a
 * thread-local xoshiro256** seeded from config.rng_seed and a per-thread
 * ordinal (splitmix64); u = (next >> 11) * 2^-53.
 *
 * ---------------------------------------------------------------------------
 * Rate limits (llmopt_gw_admit)
 *
 * Buckets are GCRA (generic cell rate algorithm), the exact equivalent of a
 * token bucket that stores one 64-bit number: the theoretical arrival time
 * (TAT, ns). Admitting cost c at time now with emission interval T = 1/rate
 * and capacity B: tat' = max(tat, now) + c*T, allowed iff tat' - now <=
 * share * B * T. State lives in a fixed-capacity lock-free hash table
 * (config.limiter_slots) keyed by 64-bit hashes of (route, scope, id);
 * slots are claimed with CAS and updated with CAS on the TAT, so there is no
 * lock at all. Per key there is a request bucket (requests_per_s,
 * requests_burst; cost 1) and, when tokens_per_min > 0, a token bucket
 * (cost = args.tokens). Scopes are checked global -> tenant -> user; a
 * failure refunds what earlier scopes took (all or nothing).
 *
 * Per-thread leases: a thread that checks a bucket at least twice per
 * millisecond takes up to k units from it in one CAS (k <= 1024, <= 1/16 of
 * the class's capacity, <= 1 ms of its rate; adaptive per thread) and
 * spends them locally within 1 ms, so threads on the same keys do not
 * contend on the shared cache lines. A lease is dropped when the route's
 * limits are republished, its thread-local entry is reused or it is 1 ms
 * old; its unspent part is given back minus its age. Accuracy per bucket,
 * R its rate, B the class's capacity, M the (thread, priority class) pairs
 * holding a lease on it:
 *   - admitted cost in any interval t <= B + R*t + min(R * 1 ms,
 *     M * min(1023 units, B/16)); buckets of fewer than 2000 units/s or a
 *     class capacity under 32 units never lease and stay exact
 *     (<= B + R*t);
 *   - from a fresh bucket, total admitted <= B + R*T (T: first check to
 *     last admission), with no excess;
 *   - refused while unspent leases exist: at most M * min(1023, B/16)
 *     units are held.
 * A refusal comes from the shared bucket itself (exact single-unit take),
 * and its retry-after is exact.
 *
 * Each key's buckets have a cache line of their own. When 64 slots from a
 * new key's hash are all taken, the key takes over one whose buckets have
 * both been full for a second (the state of a fresh bucket: the old key
 * loses nothing and gets a slot again when it returns;
 * stats.limiter_slots_reclaimed); only when none is idle does it use one
 * overflow bucket shared by every such key (stricter, never looser;
 * stats.limiter_overflowed). The route's limits are compiled
 * when its decision is installed (integer ns per request and per token,
 * capacity per priority class) and read without a lock, so a check costs
 * a hash per string, at most one clock read (none when now_us is given)
 * and, per bucket, a thread-local decrement (one CAS per lease or exact
 * take otherwise). A thread that repeats a check (same route, tenant,
 * user and class) finds it in a per-thread cache of 64 checks, with its
 * lease entries and the limits as of the route's current sequence number,
 * and only decrements its leases; the cheapest check is by route handle
 * (llmopt_gw_route_handle, llmopt_gw_admit_route) with tenant_id/user_id,
 * which hashes nothing. Same buckets, same results either way.
 *
 * Priority classes critical/high/medium/low: share = weight(class) /
 * max weight (weights from rate_limits.priority_weights; missing ones default
 * to 1, 0.8, 0.6, 0.4). A class may only take the bucket down to
 * (1 - share) of its capacity, so lower classes are refused first and
 * critical traffic keeps the headroom.
 *
 * Over the limit, per rate_limits.on_limit:
 *   deny     LLMOPT_GW_DENY, retry_after_ms = max(rate_limits.retry_after_ms,
 *            time until the bucket would admit)
 *   queue    the calling thread sleeps until the bucket would admit and
 *            retries, up to queue_timeout_ms in total (not FIFO-fair);
 *            then LLMOPT_GW_ADMIT (queued_ms set) or LLMOPT_GW_DENY
 *   degrade  LLMOPT_GW_DEGRADE: serve the decision's default_arm (the
 *            controller names its cheapest safe arm there); nothing is taken
 *            from the buckets
 * No decision or no rate_limits: LLMOPT_GW_ADMIT.
 *
 * ---------------------------------------------------------------------------
 * Cache. llmopt_gw_cache_key(): normalise the prompt (trim ASCII
 * whitespace, lowercase ASCII A-Z, collapse each whitespace run to one
 * space) and hash "route \n normalised prompt" with SHA-256, 64 hex chars.
 * Each route with cache_policy.enabled gets an in-process LRU (created by
 * the writer when the decision arrives, capacity = max_entries, entry
 * lifetime = ttl_ms at insert; a later decision updates both). One mutex per
 * route cache (locks are striped by route). An optional external cache
 * (llmopt_gw_external_cache, e.g. Redis) is asked on a local miss and
 * written through on put. Task types matching a glob of exclude_patterns
 * (fnmatch) are never cached.
 *
 * Batcher: requests of one route are grouped in arrival order; a batch is
 * closed when it holds max_batch requests, when adding the next request
 * would exceed token_budget tokens (0 = no budget; a request larger than the
 * budget travels alone), or when its oldest request has waited max_wait_ms.
 * Parameters are re-read from the route's current decision on every call;
 * batching disabled or absent means batches of one.
 *
 * ---------------------------------------------------------------------------
 * Threads: every function may be called from any thread concurrently,
 * except _destroy (no concurrent calls on that object) and that one
 * llmopt_gw_rng must not be shared without external locking. The library
 * starts up to two threads: the follower (consumes llm.routing) and the
 * telemetry poller (serves librdkafka delivery reports).
 */
#ifndef LLMOPT_GATEWAY_H
#define LLMOPT_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/avro_codec.h"
#include "common/err.h"
#include "common/records.h"

#define LLMOPT_GW_NAME_MAX 128      /* bytes of an arm string, with the NUL */
#define LLMOPT_GW_PARAM_NAME_MAX 32 /* bytes of a param name, with the NUL */
#define LLMOPT_GW_MAX_PARAMS 16     /* params per arm */
#define LLMOPT_GW_MAX_ARMS 64       /* arms per decision */
#define LLMOPT_GW_MAX_DIM 64        /* contextual features */

/* ---- configuration ------------------------------------------------------ */

typedef enum llmopt_gw_format {
    LLMOPT_GW_FORMAT_AUTO = 0, /* decisions: Avro if byte 0 is 0, else JSON;
                                * telemetry: Avro */
    LLMOPT_GW_FORMAT_AVRO = 1,
    LLMOPT_GW_FORMAT_JSON = 2,
} llmopt_gw_format;

typedef struct llmopt_gw_config {
    const char *gateway_id;        /* default "gw" */
    /* Kafka; NULL bootstrap_servers = no follower and no reporting (the
     * table is fed with llmopt_gw_apply_decision, e.g. in tests) */
    const char *bootstrap_servers;
    const char *routing_topic;     /* default "llm.routing" */
    const char *requests_topic;    /* default "llm.requests" */
    const char *responses_topic;   /* default "llm.responses" */
    const char *feedback_topic;    /* default "llm.feedback" */
    /* extra librdkafka properties for both clients: NULL-terminated list
     * "key", "value", ...; a key set here wins over the defaults */
    const char *const *kafka_props;
    bool follow;                   /* start the follower (default true) */
    bool report;                   /* create the producer (default true) */
    llmopt_gw_format decision_format; /* default AUTO */
    llmopt_gw_format report_format;   /* default AVRO */
    /* schema ids for Avro (borrowed; must outlive the gateway); NULL =
     * llmopt_avro_builtin_source() */
    const llmopt_schema_source *schema_source;
    int report_queue_max;          /* queue.buffering.max.messages, 100000 */

    /* fallback arm when a route has no decision (default "default") */
    const char *default_arm_id;
    const char *default_provider;  /* default "" */
    const char *default_model;     /* default "" */

    size_t max_routes;             /* default 65536 */
    size_t max_message_bytes;      /* default 1 MiB */
    int64_t stale_after_ms;        /* default 300000 */
    int64_t max_cache_ttl_ms;      /* default 7 days */
    int64_t max_cache_entries;     /* default 10000000 */
    int32_t max_batch_size;        /* default 1024 */
    size_t limiter_slots;          /* default 262144 (power of 2 used) */
    uint64_t rng_seed;             /* thread-local RNG seed, default 1 */
} llmopt_gw_config;

/* Fills every field with its default. */
void llmopt_gw_config_init(llmopt_gw_config *c);

/* ---- lifecycle ---------------------------------------------------------- */

typedef struct llmopt_gw llmopt_gw;

/* Creates a gateway: copies the config, allocates the tables and, when
 * bootstrap_servers is set, starts the follower (config.follow) and the
 * telemetry producer (config.report). Returns NULL with errstr on a bad
 * config, allocation failure or a client librdkafka refuses; it does not
 * wait for the broker (see llmopt_gw_wait_ready). */
llmopt_gw *llmopt_gw_new(const llmopt_gw_config *config, char *errstr,
                         size_t errstr_size);

/* Stops the threads, flushes telemetry for up to 5 s (what remains is
 * counted as dropped), frees everything. NULL: no-op. */
void llmopt_gw_destroy(llmopt_gw *gw);

/* True once the follower has consumed every partition of the routing topic
 * up to the end offsets it saw at start (a compacted topic: every route's
 * latest decision). Without a follower: true. */
bool llmopt_gw_ready(const llmopt_gw *gw);
/* Waits up to timeout_ms for ready: LLMOPT_OK or LLMOPT_ERR_TIMEOUT. */
llmopt_err_t llmopt_gw_wait_ready(const llmopt_gw *gw, int timeout_ms);

/* ---- decisions ---------------------------------------------------------- */

typedef enum llmopt_gw_reject {
    LLMOPT_GW_REJECT_NONE = 0,
    LLMOPT_GW_REJECT_OVERSIZED = 1,
    LLMOPT_GW_REJECT_DECODE = 2,
    LLMOPT_GW_REJECT_INVALID = 3,
    LLMOPT_GW_REJECT_BAD_WEIGHT = 4,
    LLMOPT_GW_REJECT_UNKNOWN_ALGORITHM = 5,
    LLMOPT_GW_REJECT_BAD_CONTEXTUAL = 6,
    LLMOPT_GW_REJECT_BAD_RATE_LIMITS = 7,
    LLMOPT_GW_REJECT_BAD_CACHE_POLICY = 8,
    LLMOPT_GW_REJECT_BAD_BATCHING = 9,
    LLMOPT_GW_REJECT_TOO_MANY_ROUTES = 10,
} llmopt_gw_reject;
#define LLMOPT_GW_REJECT_COUNT 11

/* "oversized", "decode", "invalid", ...; "?" when out of range. */
const char *llmopt_gw_reject_name(llmopt_gw_reject r);

/* Decodes (per config.decision_format), validates and installs one
 * llm.routing message, exactly as the follower does. key/key_len is the
 * Kafka key (may be NULL: not checked); value NULL is a tombstone for key.
 * Returns LLMOPT_OK when installed or ignored as not newer (*applied tells
 * which; may be NULL), LLMOPT_ERR_INVALID when rejected (*reject says why,
 * errstr the detail; may be NULL), LLMOPT_ERR_NOMEM. */
llmopt_err_t llmopt_gw_apply_decision(llmopt_gw *gw, const void *key, size_t key_len,
                                      const void *value, size_t value_len,
                                      bool *applied, llmopt_gw_reject *reject,
                                      char *errstr, size_t errstr_size);

/* Validation alone, on a decoded record (no table change). Exposed for the
 * controller's tests and the fuzz harness. limits may be NULL (defaults). */
llmopt_gw_reject llmopt_gw_validate(const llmopt_routing_decision *d,
                                    const llmopt_gw_config *limits,
                                    char *errstr, size_t errstr_size);

/* Version held for a route (0 when none) - for tests and admin output. */
int64_t llmopt_gw_route_version(llmopt_gw *gw, const char *route);

/* ---- choose -------------------------------------------------------------- */

typedef struct llmopt_gw_rng {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} llmopt_gw_rng;

/* Seeds with splitmix64(seed) so any seed (0 included) is valid. */
void llmopt_gw_rng_seed(llmopt_gw_rng *r, uint64_t seed);
/* Uniform double in [0,1): (next >> 11) * 2^-53. */
double llmopt_gw_rng_uniform(llmopt_gw_rng *r);

typedef struct llmopt_gw_feature {
    const char *name;  /* NUL-terminated */
    double value;
} llmopt_gw_feature;

typedef struct llmopt_gw_choose_args {
    int64_t now_ms;                     /* caller's clock, ms since epoch */
    double u;                           /* 0 <= u < 1: deterministic draw;
                                         * anything else: use the RNG */
    llmopt_gw_rng *rng;                 /* NULL: thread-local RNG */
    const llmopt_gw_feature *features;  /* contextual decisions only */
    size_t n_features;
} llmopt_gw_choose_args;

#define LLMOPT_GW_CHOICE_FALLBACK 0x1u    /* no decision: configured default */
#define LLMOPT_GW_CHOICE_STALE 0x2u       /* decision older than stale_after */
#define LLMOPT_GW_CHOICE_NO_ELIGIBLE 0x4u /* decision's default_arm used */
#define LLMOPT_GW_CHOICE_CONTEXTUAL 0x8u  /* chosen by linucb / lin_ts */

typedef struct llmopt_gw_param {
    char name[LLMOPT_GW_PARAM_NAME_MAX];
    double value;
} llmopt_gw_param;

typedef struct llmopt_gw_choice {
    char arm_id[LLMOPT_GW_NAME_MAX];
    char provider[LLMOPT_GW_NAME_MAX];
    char model[LLMOPT_GW_NAME_MAX];
    char prompt_template_id[LLMOPT_GW_NAME_MAX]; /* "" when none */
    char experiment_id[LLMOPT_GW_NAME_MAX];      /* "" when none */
    size_t n_params;
    llmopt_gw_param params[LLMOPT_GW_MAX_PARAMS];
    double propensity;        /* (0, 1] */
    int64_t decision_version; /* 0 on fallback */
    int64_t decision_ts_ms;   /* 0 on fallback */
    int arm_index;            /* in the decision's arms; -1 on fallback */
    unsigned flags;           /* LLMOPT_GW_CHOICE_* */
} llmopt_gw_choice;

/* Chooses the arm for one request on route (NUL-terminated), per the rules
 * at the top. Lock-free and allocation-free. Never fails for a missing
 * decision (fallback); LLMOPT_ERR_INVALID only for NULL arguments. */
llmopt_err_t llmopt_gw_choose(llmopt_gw *gw, const char *route,
                              const llmopt_gw_choose_args *args,
                              llmopt_gw_choice *out);

/* ---- rate limits --------------------------------------------------------- */

typedef enum llmopt_gw_priority {
    LLMOPT_GW_PRIO_CRITICAL = 0,
    LLMOPT_GW_PRIO_HIGH = 1,
    LLMOPT_GW_PRIO_MEDIUM = 2,
    LLMOPT_GW_PRIO_LOW = 3,
} llmopt_gw_priority;

typedef enum llmopt_gw_verdict {
    LLMOPT_GW_ADMIT = 0,
    LLMOPT_GW_DENY = 1,
    LLMOPT_GW_DEGRADE = 2,
} llmopt_gw_verdict;

typedef struct llmopt_gw_admit_args {
    const char *tenant;          /* NULL: no per-tenant bucket */
    const char *user;            /* NULL: no per-user bucket */
    /* llmopt_gw_limit_id(tenant) / (user), computed once by a caller that
     * sees the same tenant or user often; non-zero: used instead of hashing
     * the string (which may then be NULL), same bucket either way */
    uint64_t tenant_id, user_id;
    llmopt_gw_priority priority;
    double tokens;               /* estimated tokens (token buckets) */
    int64_t now_us;              /* monotonic clock, microseconds; 0: the
                                  * library reads CLOCK_MONOTONIC (queue mode
                                  * always uses it while waiting) */
} llmopt_gw_admit_args;

typedef struct llmopt_gw_admission {
    llmopt_gw_verdict verdict;
    int64_t retry_after_ms;      /* DENY */
    int64_t queued_ms;           /* time spent waiting (queue mode) */
    char degrade_arm_id[LLMOPT_GW_NAME_MAX]; /* DEGRADE: the current decision's
                                              * default_arm; "" otherwise */
    int64_t decision_version;
} llmopt_gw_admission;

/* Applies the route's rate limits; see the top. LLMOPT_ERR_INVALID for NULL
 * arguments; otherwise LLMOPT_OK with the verdict in *out. */
llmopt_err_t llmopt_gw_admit(llmopt_gw *gw, const char *route,
                             const llmopt_gw_admit_args *args,
                             llmopt_gw_admission *out);

/* The id llmopt_gw_admit derives from a tenant or user string (a 64-bit
 * hash, never 0), for llmopt_gw_admit_args.tenant_id / user_id. */
uint64_t llmopt_gw_limit_id(const char *id);

/* A route resolved once, for llmopt_gw_admit_route: the check then skips
 * hashing the name and probing the route table. Opaque. */
typedef struct llmopt_gw_route llmopt_gw_route;

/* The handle of route (NUL-terminated) in gw, valid until
 * llmopt_gw_destroy(gw) and only with gw. A route that has not had a
 * decision yet is added to the route table (it then counts in
 * stats.routes and against config.max_routes) and picks up its decisions
 * as they come; until then it has no limits, as by name. Takes the table's
 * writer lock: resolve once, not per request. NULL when an argument is
 * NULL, the name is empty (no decision can name it), the table is full
 * (config.max_routes), or on ENOMEM. */
llmopt_gw_route *llmopt_gw_route_handle(llmopt_gw *gw, const char *route);

/* llmopt_gw_admit for the route of handle route (from
 * llmopt_gw_route_handle(gw, ...)): the same buckets, rules and results.
 * The fast path: pass tenant_id / user_id too (no string hashing). */
llmopt_err_t llmopt_gw_admit_route(llmopt_gw *gw, llmopt_gw_route *route,
                                   const llmopt_gw_admit_args *args,
                                   llmopt_gw_admission *out);

/* The bucket primitive, exposed for tests and benchmarks: a standalone GCRA
 * bucket. Lock-free (one CAS loop). */
typedef struct llmopt_gw_bucket {
    _Atomic int64_t tat_ns;
} llmopt_gw_bucket;
void llmopt_gw_bucket_init(llmopt_gw_bucket *b);
/* Takes cost at now_ns from a bucket of rate per second and capacity burst,
 * limited to share (0..1] of the capacity. True when admitted; else
 * *wait_ns (may be NULL) is how long until it would be. */
bool llmopt_gw_bucket_take(llmopt_gw_bucket *b, double rate_per_s, double burst,
                           double share, double cost, int64_t now_ns,
                           int64_t *wait_ns);
/* Gives cost back (after a later scope refused). */
void llmopt_gw_bucket_refund(llmopt_gw_bucket *b, double rate_per_s, double cost);

/* ---- cache --------------------------------------------------------------- */

#define LLMOPT_GW_CACHE_KEY_LEN 64 /* hex chars, plus a NUL */

/* The normalisation alone: writes at most out_size-1 bytes plus a NUL and
 * returns the normalised length (truncated if out_size was too small). */
size_t llmopt_gw_normalize_prompt(const char *prompt, size_t len, char *out,
                                  size_t out_size);
/* SHA-256 hex of route "\n" normalised prompt. Normalises in 1 KiB chunks
 * (16 bytes at a time with SSE2 where no whitespace run needs collapsing)
 * straight into OpenSSL's SHA-256 (libcrypto; SHA-NI where the CPU has it):
 * one small digest-context allocation, whatever the prompt size. */
void llmopt_gw_cache_key(const char *route, const char *prompt, size_t len,
                         char key[LLMOPT_GW_CACHE_KEY_LEN + 1]);

/* External (shared) cache, e.g. a Redis client. Callbacks may be called
 * from any thread concurrently. get: copy the value into a malloc'ed buffer
 * (*value, *len; the library frees it with free()) and return true on a hit.
 * put: store with the given ttl. */
typedef struct llmopt_gw_external_cache {
    void *ctx;
    bool (*get)(void *ctx, const char *key, void **value, size_t *len);
    void (*put)(void *ctx, const char *key, const void *value, size_t len,
                int64_t ttl_ms);
} llmopt_gw_external_cache;

/* Installs (or, with NULL, removes) the external cache; ext is copied. Not
 * to be called concurrently with cache lookups. */
void llmopt_gw_set_external_cache(llmopt_gw *gw, const llmopt_gw_external_cache *ext);

/* Looks key up for route. On a hit returns true and a malloc'ed copy of the
 * value in *value and *len (caller frees). False on a miss, when the route has
 * no enabled cache policy, or when task_type (may be NULL) matches an
 * exclude pattern. now_ms is the caller's clock (TTL). */
bool llmopt_gw_cache_get(llmopt_gw *gw, const char *route, const char *task_type,
                         const char *key, int64_t now_ms, void **value, size_t *len);
/* Stores a copy of value under key (evicting the least recently used entry
 * beyond max_entries). No-op when not cacheable, as for get. Returns
 * LLMOPT_ERR_NOMEM when the copy fails. */
llmopt_err_t llmopt_gw_cache_put(llmopt_gw *gw, const char *route, const char *task_type,
                                 const char *key, const void *value, size_t len,
                                 int64_t now_ms);

/* The LRU primitive (what each route cache is), for tests and benchmarks:
 * thread-safe (one mutex), bounded by entries; entries expire at
 * insert time + ttl_ms. */
typedef struct llmopt_gw_lru llmopt_gw_lru;
llmopt_gw_lru *llmopt_gw_lru_new(size_t max_entries);
void llmopt_gw_lru_destroy(llmopt_gw_lru *c);
void llmopt_gw_lru_set_capacity(llmopt_gw_lru *c, size_t max_entries);
size_t llmopt_gw_lru_count(llmopt_gw_lru *c);
llmopt_err_t llmopt_gw_lru_put(llmopt_gw_lru *c, const char *key, const void *value,
                               size_t len, int64_t now_ms, int64_t ttl_ms);
/* value/len may be NULL to test presence only. Expired entries are removed
 * on lookup. */
bool llmopt_gw_lru_get(llmopt_gw_lru *c, const char *key, int64_t now_ms,
                       void **value, size_t *len);

/* ---- batcher ------------------------------------------------------------- */

typedef struct llmopt_gw_batch_item {
    char request_id[LLMOPT_GW_NAME_MAX];
    int64_t tokens;
    int64_t enqueued_ms;
} llmopt_gw_batch_item;

/* Called with each closed batch, items in arrival order; the array is valid
 * during the call only. Called with the batcher's lock held: do not call
 * back into the same batcher. */
typedef void (*llmopt_gw_batch_cb)(void *ctx, const llmopt_gw_batch_item *items,
                                   size_t n);

typedef struct llmopt_gw_batcher llmopt_gw_batcher;

/* A batcher for route reading its parameters from gw's current decision;
 * gw NULL: fixed parameters (max_batch, max_wait_ms, token_budget) instead.
 * NULL on allocation failure. */
llmopt_gw_batcher *llmopt_gw_batcher_new(llmopt_gw *gw, const char *route,
                                         int32_t max_batch, int64_t max_wait_ms,
                                         int64_t token_budget, llmopt_gw_batch_cb cb,
                                         void *ctx);
/* Emits what is pending (one batch per flush call group), then frees. */
void llmopt_gw_batcher_destroy(llmopt_gw_batcher *b);
/* Adds one request (request_id truncated to LLMOPT_GW_NAME_MAX-1 bytes);
 * may emit batches. LLMOPT_ERR_NOMEM when the queue cannot grow. */
llmopt_err_t llmopt_gw_batcher_add(llmopt_gw_batcher *b, const char *request_id,
                                   int64_t tokens, int64_t now_ms);
/* Emits the pending batch if its oldest request has waited max_wait_ms.
 * Returns the number of batches emitted. */
size_t llmopt_gw_batcher_poll(llmopt_gw_batcher *b, int64_t now_ms);
/* Emits everything pending now. */
size_t llmopt_gw_batcher_flush(llmopt_gw_batcher *b);

/* ---- telemetry ----------------------------------------------------------- */

/* Encode (config.report_format) and enqueue to the requests / responses /
 * feedback topic keyed by the record's route. Never block: if the producer
 * queue is full (queue.buffering.max.messages) the event is dropped and
 * counted (stats.report_dropped), and LLMOPT_ERR_NOMEM is returned.
 * LLMOPT_ERR_INVALID when the record does not encode (errstr says why),
 * LLMOPT_ERR_STATE when reporting is off. */
llmopt_err_t llmopt_gw_report_request(llmopt_gw *gw, const llmopt_request *r,
                                      char *errstr, size_t errstr_size);
llmopt_err_t llmopt_gw_report_response(llmopt_gw *gw, const llmopt_response *r,
                                       char *errstr, size_t errstr_size);
llmopt_err_t llmopt_gw_report_feedback(llmopt_gw *gw, const llmopt_feedback *r,
                                       char *errstr, size_t errstr_size);
/* Waits up to timeout_ms for enqueued telemetry to be acknowledged:
 * LLMOPT_OK or LLMOPT_ERR_TIMEOUT. */
llmopt_err_t llmopt_gw_flush(llmopt_gw *gw, int timeout_ms);

/* Fills the Request fields a choice determines (route, arm, provider,
 * model, decision_version, propensity, experiment_id, gateway); strings
 * point into choice / gw, so both must outlive the report call. */
void llmopt_gw_request_fill(const llmopt_gw *gw, const char *route,
                            const llmopt_gw_choice *choice, llmopt_request *r);

/* ---- statistics ---------------------------------------------------------- */

typedef struct llmopt_gw_stats {
    uint64_t decisions_applied;
    uint64_t ignored_old_version;
    uint64_t heartbeats;
    uint64_t tombstones;
    uint64_t rejected[LLMOPT_GW_REJECT_COUNT];
    uint64_t routes;
    uint64_t choose_fallback;
    uint64_t choose_stale;
    uint64_t report_enqueued;
    uint64_t report_dropped;     /* producer queue full */
    uint64_t report_delivered;
    uint64_t report_failed;      /* delivery failed permanently */
    uint64_t admit_denied;
    uint64_t admit_degraded;
    uint64_t admit_queued;
    uint64_t cache_hits;
    uint64_t cache_misses;
    uint64_t snapshots_reclaimed;
    uint64_t limiter_slots_reclaimed; /* idle limiter slots taken over by new keys */
    uint64_t limiter_overflowed;      /* keys resolved to the shared overflow bucket */
} llmopt_gw_stats;

/* A consistent-enough copy of the counters (each read atomically). */
void llmopt_gw_stats_get(const llmopt_gw *gw, llmopt_gw_stats *out);

#endif
