/*
 * backtest.c - `llmopt backtest`: off-policy evaluation of candidate
 * routing policies over a time range of llm.outcomes.
 *
 *   llmopt backtest --policy candidates.json [--from T] [--to T]
 *                   [--format json|html] [--out FILE] [-X backtest.key=value ...]
 *
 * Reading. The range [from, to) is in event time (Outcome.ts_ms). Broker
 * timestamps only locate it: each partition starts at
 * offsets_for_times(from - slack) and ends at offsets_for_times(to + slack)
 * or at the high watermark seen at start, whichever comes first, so the
 * command terminates on a live topic. Records are then filtered by their
 * own ts_ms. Values are Avro (Confluent framing, built-in schema ids) or
 * JSON; a record that does not decode is counted (decode_errors) and
 * skipped. Reads read_committed, without a consumer group.
 *
 * Output: the report of backtest_eval.h as JSON (default) or HTML
 * (report_html.h). Exit 0 on a report (status "ok" or "no_data"), 1 on
 * failure (unreadable topic or policy file, a candidate naming an arm that
 * appears in no outcome), 2 on usage errors.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "common/avro_codec.h"
#include "common/cli.h"
#include "common/json_codec.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/records.h"
#include "common/signals.h"
#include "tools/backtest_conf.h"
#include "tools/backtest_eval.h"
#include "tools/backtest_policy.h"
#include "tools/backtest_read.h"
#include "tools/backtest.h"
#include "tools/backtest_cf.h"
#include "tools/commands.h"
#include "tools/report_html.h"

/* Epoch ms, or ISO-8601 UTC: 2026-11-29, 2026-11-29T03:00:00Z,
 * 2026-11-29T03:00:00.250Z. Returns 0 on success. */
int llmopt_bt_parse_time(const char *s, int64_t *ms) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!errno && end != s && !*end) {
        *ms = v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (!p)
        return -1;
    int frac_ms = 0;
    if (*p == 'T' || *p == ' ') {
        p = strptime(p + 1, "%H:%M:%S", &tm);
        if (!p)
            return -1;
        if (*p == '.') {
            int digits = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 3)
                    frac_ms = frac_ms * 10 + (*p - '0');
            for (; digits < 3; digits++)
                frac_ms *= 10;
        }
    }
    if (*p == 'Z')
        p++;
    if (*p)
        return -1;
    *ms = (int64_t)timegm(&tm) * 1000 + frac_ms;
    return 0;
}

/* --policy X, --policy=X, ... -> -X backtest.policy=X */
static char **translate_args(int argc, char **argv, int *out_argc, char **owned, int *n_owned) {
    static const char *const flags[][2] = {{"--policy", "backtest.policy"},
                                           {"--settings", "backtest.settings"},
                                           {"--from", "backtest.from"},
                                           {"--to", "backtest.to"},
                                           {"--format", "backtest.format"},
                                           {"--out", "backtest.out"}};
    char **nv = calloc((size_t)argc * 2 + 1, sizeof(char *));
    if (!nv)
        return NULL;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *key = NULL, *val = NULL;
        for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
            size_t fl = strlen(flags[f][0]);
            if (!strcmp(argv[i], flags[f][0]) && i + 1 < argc) {
                key = flags[f][1];
                val = argv[++i];
            } else if (!strncmp(argv[i], flags[f][0], fl) && argv[i][fl] == '=') {
                key = flags[f][1];
                val = argv[i] + fl + 1;
            }
            if (key)
                break;
        }
        if (!key) {
            nv[n++] = argv[i];
            continue;
        }
        char *kv = NULL;
        if (asprintf(&kv, "%s=%s", key, val) < 0) {
            free(nv);
            return NULL;
        }
        owned[(*n_owned)++] = kv;
        nv[n++] = "-X";
        nv[n++] = kv;
    }
    *out_argc = n;
    return nv;
}

typedef struct read_stats {
    uint64_t read, decode_errors, out_of_range, partitions;
} read_stats;

typedef struct outcome_reader {
    const char *topic;
    int64_t from_ms, to_ms;
    llmopt_avro_codec *avro;
    llmopt_outcome rec;
    llmopt_bt_log *log;
    read_stats *st;
} outcome_reader;

static int on_outcome(void *ctx, const llmopt_bt_msg *m) {
    outcome_reader *r = ctx;
    char derr[256];
    r->st->read++;
    const unsigned char *p = m->payload;
    llmopt_err_t de;
    if (m->len > 0 && p[0] == 0) {
        llmopt_avro_reason reason;
        de = llmopt_avro_decode(r->avro, m->payload, m->len, LLMOPT_REC_OUTCOME, &r->rec, &reason,
                                derr, sizeof(derr));
    } else {
        de = llmopt_json_decode(LLMOPT_REC_OUTCOME, m->payload, m->len, &r->rec, NULL, derr,
                                sizeof(derr));
    }
    if (de != LLMOPT_OK) {
        if (r->st->decode_errors++ < 3)
            fprintf(stderr, "llmopt backtest: '%s' [%d] offset %lld: %s\n", r->topic,
                    (int)m->partition, (long long)m->offset, derr);
    } else if (r->rec.ts_ms < r->from_ms || r->rec.ts_ms >= r->to_ms) {
        r->st->out_of_range++;
    } else if (llmopt_bt_log_add(r->log, &r->rec) != LLMOPT_OK) {
        fprintf(stderr, "llmopt backtest: out of memory after %llu outcomes\n",
                (unsigned long long)r->log->n);
        return 1;
    }
    return 0;
}

static int read_range(const llmopt_backtest_conf *conf, const llmopt_config *cfg, int64_t from_ms,
                      int64_t to_ms, llmopt_bt_log *log, read_stats *st) {
    char err[512];
    outcome_reader r = {.topic = conf->outcomes_topic, .from_ms = from_ms, .to_ms = to_ms,
                        .log = log, .st = st};
    llmopt_outcome_init(&r.rec);
    if (!(r.avro = llmopt_avro_codec_new(llmopt_avro_builtin_source(), err, sizeof(err)))) {
        fprintf(stderr, "llmopt backtest: %s\n", err);
        return 1;
    }
    llmopt_bt_read_opts o = {.topic = conf->outcomes_topic, .from_ms = from_ms, .to_ms = to_ms,
                             .slack_ms = conf->slack_ms, .timeout_ms = conf->timeout_ms,
                             .partitions = &st->partitions};
    int rc = llmopt_bt_read_topic(cfg, &o, on_outcome, &r);
    llmopt_outcome_release(&r.rec);
    llmopt_avro_codec_destroy(r.avro);
    return rc;
}

/* Splits "a, b,c" into trimmed names (owned array of owned strings). */
static char **split_names(const char *s, size_t *n) {
    *n = 0;
    size_t cap = 1;
    for (const char *p = s; p && *p; p++)
        cap += *p == ',';
    char **v = calloc(cap, sizeof(char *));
    if (!v || !s)
        return v;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a)
            v[(*n)++] = strndup(a, (size_t)(b - a));
        p = *e ? e + 1 : e;
    }
    return v;
}

int llmopt_cmd_backtest(int argc, char **argv) {
    llmopt_backtest_conf conf;
    memset(&conf, 0, sizeof(conf));
    const llmopt_config_binding b[] = {
        {&llmopt_common_table, offsetof(llmopt_backtest_conf, common)},
        {&llmopt_backtest_config_table, 0},
    };
    const llmopt_cli_spec spec = {
        .prog = "llmopt backtest",
        .summary = "off-policy evaluation of candidate policies over llm.outcomes "
                   "and counterfactual controller replay (--policy FILE and/or --settings FILE "
                   "[--from T] [--to T] [--format json|html] [--out FILE])",
        .bindings = b, .n_bindings = 2};
    char *owned[64];
    int n_owned = 0, nargc = 0, rc = 1;
    char **nargv = translate_args(argc, argv, &nargc, owned, &n_owned);
    llmopt_cli cli = {0};
    llmopt_bt_policy_set ps = {0};
    llmopt_bt_log log;
    size_t n_feat = 0;
    char **feats = NULL;
    json_t *rep = NULL;
    FILE *out = NULL;
    llmopt_bt_log_init(&log, NULL, 0);
    if (!nargv || argc > 30) {
        fprintf(stderr, "llmopt backtest: too many arguments\n");
        rc = 2;
        goto done;
    }
    if (llmopt_cli_parse(&cli, &spec, nargc, nargv, &conf, sizeof(conf)) != LLMOPT_CLI_RUN) {
        rc = cli.exit_code;
        goto done;
    }
    if (cli.n_args) {
        fprintf(stderr, "llmopt backtest: unexpected argument '%s'\n", cli.args[0]);
        rc = 2;
        goto done;
    }
    int64_t from_ms = INT64_MIN, to_ms = INT64_MAX;
    if (conf.from && *conf.from && llmopt_bt_parse_time(conf.from, &from_ms)) {
        fprintf(stderr, "llmopt backtest: invalid --from '%s' (epoch ms or 2026-11-29T03:00:00Z)\n",
                conf.from);
        rc = 2;
        goto done;
    }
    if (conf.to && *conf.to && llmopt_bt_parse_time(conf.to, &to_ms)) {
        fprintf(stderr, "llmopt backtest: invalid --to '%s' (epoch ms or 2026-11-29T03:00:00Z)\n",
                conf.to);
        rc = 2;
        goto done;
    }
    if (from_ms >= to_ms) {
        fprintf(stderr, "llmopt backtest: empty range: --from must be before --to\n");
        rc = 2;
        goto done;
    }
    const bool ope = conf.policy && *conf.policy, cf = conf.settings && *conf.settings;
    if (!ope && !cf) {
        fprintf(stderr, "llmopt backtest: name the candidate policies with --policy FILE and/or "
                        "the controller settings to replay with --settings FILE\n");
        rc = 2;
        goto done;
    }
    if (conf.clip != 0 && conf.clip < 1) {
        fprintf(stderr, "llmopt backtest: 'backtest.clip' must be 0 (none) or >= 1\n");
        rc = 2;
        goto done;
    }
    char err[1024];
    if (!ope) {
        llmopt_signals_install();
        json_t *cfr = llmopt_bt_cf_run(&conf, cli.config, from_ms, to_ms, err, sizeof(err));
        if (!cfr) {
            fprintf(stderr, "llmopt backtest: %s\n", err);
            goto done;
        }
        rep = json_pack("{s:O,s:[],s:[],s:o}", "status", json_object_get(cfr, "status"),
                        "routes", "warnings", "counterfactual", cfr);
        goto write;
    }
    if (llmopt_bt_policy_load(conf.policy, &ps, err, sizeof(err)) != LLMOPT_OK) {
        fprintf(stderr, "llmopt backtest: %s\n", err);
        goto done;
    }
    if (conf.model == LLMOPT_BT_MODEL_RIDGE) {
        feats = split_names(conf.features, &n_feat);
        if (!feats || n_feat + 1 > 64) {
            fprintf(stderr, "llmopt backtest: 'backtest.features' takes at most 63 names\n");
            rc = 2;
            goto done;
        }
    }
    llmopt_bt_log_init(&log, feats, n_feat);
    llmopt_signals_install();
    read_stats st = {0};
    if (read_range(&conf, cli.config, from_ms, to_ms, &log, &st) != 0)
        goto done;
    if (llmopt_bt_log_finish(&log) != LLMOPT_OK) {
        fprintf(stderr, "llmopt backtest: out of memory\n");
        goto done;
    }
    llmopt_bt_options opt = {.replicates = (uint32_t)conf.replicates, .seed = (uint64_t)conf.seed,
                             .clip = conf.clip, .level = conf.level,
                             .ridge = conf.model == LLMOPT_BT_MODEL_RIDGE,
                             .ridge_lambda = conf.ridge_lambda, .bins = (uint32_t)conf.bins};
    rep = llmopt_bt_evaluate(&log, &ps, &opt, err, sizeof(err));
    if (!rep) {
        fprintf(stderr, "llmopt backtest: %s\n", err);
        goto done;
    }
    json_object_set_new(rep, "topic", json_string(conf.outcomes_topic));
    json_object_set_new(rep, "from_ms", from_ms == INT64_MIN ? json_null() : json_integer(from_ms));
    json_object_set_new(rep, "to_ms", to_ms == INT64_MAX ? json_null() : json_integer(to_ms));
    json_object_set_new(rep, "records_read", json_integer((json_int_t)st.read));
    json_object_set_new(rep, "decode_errors", json_integer((json_int_t)st.decode_errors));
    json_object_set_new(rep, "outside_range", json_integer((json_int_t)st.out_of_range));
    if (st.decode_errors) {
        snprintf(err, sizeof(err), "%llu records did not decode as Outcome and were skipped",
                 (unsigned long long)st.decode_errors);
        json_array_append_new(json_object_get(rep, "warnings"), json_string(err));
    }
    if (log.n == 0)
        fprintf(stderr, "llmopt backtest: no outcomes with a propensity in the range on '%s' "
                        "(%llu records read)\n", conf.outcomes_topic, (unsigned long long)st.read);
    if (log.no_propensity)
        fprintf(stderr, "llmopt backtest: warning: %llu outcomes without a valid propensity "
                        "excluded\n", (unsigned long long)log.no_propensity);
    if (cf) {
        json_t *cfr = llmopt_bt_cf_run(&conf, cli.config, from_ms, to_ms, err, sizeof(err));
        if (!cfr) {
            fprintf(stderr, "llmopt backtest: %s\n", err);
            goto done;
        }
        json_object_set_new(rep, "counterfactual", cfr);
    }
write:;
    const int to_stdout = !conf.out || !*conf.out || !strcmp(conf.out, "-");
    out = to_stdout ? stdout : fopen(conf.out, "w");
    if (!out) {
        fprintf(stderr, "llmopt backtest: cannot write '%s': %s\n", conf.out, strerror(errno));
        goto done;
    }
    if (conf.format == LLMOPT_BT_FORMAT_HTML) {
        if (llmopt_report_html_write(out, rep, "llmopt backtest", err, sizeof(err)) != LLMOPT_OK) {
            fprintf(stderr, "llmopt backtest: %s\n", err);
            goto done;
        }
    } else if (json_dumpf(rep, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) ||
               fputc('\n', out) == EOF) {
        fprintf(stderr, "llmopt backtest: cannot write the report\n");
        goto done;
    }
    if (fflush(out) != 0) {
        fprintf(stderr, "llmopt backtest: cannot write the report\n");
        goto done;
    }
    rc = 0;
done:
    if (out && out != stdout && fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "llmopt backtest: cannot close '%s'\n", conf.out);
        rc = 1;
    }
    json_decref(rep);
    llmopt_bt_log_release(&log);
    for (size_t i = 0; feats && i < n_feat; i++)
        free(feats[i]);
    free(feats);
    llmopt_bt_policy_release(&ps);
    llmopt_cli_release(&cli);
    for (int i = 0; i < n_owned; i++)
        free(owned[i]);
    free(nargv);
    return rc;
}
