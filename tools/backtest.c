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
#include "tools/backtest.h"
#include "tools/commands.h"
#include "tools/report_html.h"

/* Epoch ms, or ISO-8601 UTC: 2026-11-29, 2026-11-29T03:00:00Z,
 * 2026-11-29T03:00:00.250Z. Returns 0 on success. */
static int parse_time(const char *s, int64_t *ms) {
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

static int read_range(const llmopt_backtest_conf *conf, const llmopt_config *cfg, int64_t from_ms,
                      int64_t to_ms, llmopt_bt_log *log, read_stats *st) {
    int rc = 1;
    char err[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL, *ends = NULL;
    llmopt_avro_codec *avro = NULL;
    const rd_kafka_metadata_t *md = NULL;
    llmopt_outcome rec;
    llmopt_outcome_init(&rec);
    const char *topic = conf->outcomes_topic;
    rd_kafka_conf_t *kc = llmopt_config_kafka_conf(cfg, err, sizeof(err));
    if (!kc) {
        fprintf(stderr, "llmopt backtest: %s\n", err);
        goto out;
    }
    /* assign() without subscribe: a group id is needed by librdkafka but nothing
     * is committed (app_commits and no commit calls) */
    llmopt_kafka_consumer_opts_t co = {.group_id = "llmopt-backtest", .app_commits = true,
                                       .read_committed = true,
                                       .user = llmopt_kafka_user_keys_from_config(cfg)};
    if (llmopt_kafka_consumer_new(&rk, kc, &co, err, sizeof(err)) != LLMOPT_OK ||
        !(avro = llmopt_avro_codec_new(llmopt_avro_builtin_source(), err, sizeof(err)))) {
        fprintf(stderr, "llmopt backtest: %s\n", err);
        goto out;
    }
    const int tmo = (int)(conf->timeout_ms < 10000 ? conf->timeout_ms : 10000);
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, tmo);
    rd_kafka_topic_destroy(t);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "llmopt backtest: cannot read topic '%s': %s\n", topic,
                rd_kafka_err2str(e ? e : md ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        goto out;
    }
    const int np = md->topics[0].partition_cnt;
    st->partitions = (uint64_t)np;
    parts = rd_kafka_topic_partition_list_new(np);
    ends = rd_kafka_topic_partition_list_new(np);
    rd_kafka_topic_partition_list_t *q_from = rd_kafka_topic_partition_list_new(np);
    rd_kafka_topic_partition_list_t *q_to = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++) {
        int32_t pid = md->topics[0].partitions[i].id;
        rd_kafka_topic_partition_list_add(q_from, topic, pid)->offset =
            from_ms == INT64_MIN ? 0 : (from_ms - conf->slack_ms > 0 ? from_ms - conf->slack_ms : 0);
        rd_kafka_topic_partition_list_add(q_to, topic, pid)->offset =
            to_ms == INT64_MAX ? INT64_MAX / 2 : to_ms + conf->slack_ms;
    }
    rd_kafka_resp_err_t e1 = rd_kafka_offsets_for_times(rk, q_from, tmo);
    rd_kafka_resp_err_t e2 = rd_kafka_offsets_for_times(rk, q_to, tmo);
    if (e1 || e2) {
        fprintf(stderr, "llmopt backtest: offsets for times on '%s': %s\n", topic,
                rd_kafka_err2str(e1 ? e1 : e2));
        rd_kafka_topic_partition_list_destroy(q_from);
        rd_kafka_topic_partition_list_destroy(q_to);
        goto out;
    }
    int64_t pending = 0;
    for (int i = 0; i < np; i++) {
        int32_t pid = q_from->elems[i].partition;
        int64_t lo = 0, hi = 0;
        e = rd_kafka_query_watermark_offsets(rk, topic, pid, &lo, &hi, tmo);
        if (e) {
            fprintf(stderr, "llmopt backtest: watermarks of '%s' [%d]: %s\n", topic, pid,
                    rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(q_from);
            rd_kafka_topic_partition_list_destroy(q_to);
            goto out;
        }
        /* -1 (no record at or after the time): the range starts past the end */
        int64_t start = q_from->elems[i].offset >= 0 ? q_from->elems[i].offset : hi;
        int64_t end = q_to->elems[i].offset >= 0 && q_to->elems[i].offset < hi ? q_to->elems[i].offset : hi;
        if (start < lo)
            start = lo;
        rd_kafka_topic_partition_list_add(parts, topic, pid)->offset = start;
        rd_kafka_topic_partition_list_add(ends, topic, pid)->offset = end;
        if (start < end)
            pending++;
    }
    rd_kafka_topic_partition_list_destroy(q_from);
    rd_kafka_topic_partition_list_destroy(q_to);
    if (pending && rd_kafka_assign(rk, parts)) {
        fprintf(stderr, "llmopt backtest: cannot assign the partitions of '%s'\n", topic);
        goto out;
    }
    int64_t idle_ms = 0;
    char derr[256];
    while (pending > 0) {
        if (llmopt_signals_stop_requested()) {
            fprintf(stderr, "llmopt backtest: interrupted\n");
            goto out;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle_ms += 100;
            if (idle_ms >= conf->timeout_ms) {
                fprintf(stderr, "llmopt backtest: no progress reading '%s' for %lld ms (%lld "
                                "partitions unfinished)\n", topic, (long long)conf->timeout_ms,
                        (long long)pending);
                goto out;
            }
            continue;
        }
        idle_ms = 0;
        rd_kafka_topic_partition_t *endp = rd_kafka_topic_partition_list_find(ends, topic, m->partition);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (endp && endp->offset >= 0) {
                endp->offset = -1; /* done: EOF before the end offset (control records) */
                pending--;
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            fprintf(stderr, "llmopt backtest: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (!endp || endp->offset < 0 || m->offset >= endp->offset) {
            rd_kafka_message_destroy(m);
            continue;
        }
        st->read++;
        const unsigned char *p = m->payload;
        llmopt_err_t de;
        if (m->len > 0 && p[0] == 0) {
            llmopt_avro_reason reason;
            de = llmopt_avro_decode(avro, m->payload, m->len, LLMOPT_REC_OUTCOME, &rec, &reason,
                                    derr, sizeof(derr));
        } else {
            de = llmopt_json_decode(LLMOPT_REC_OUTCOME, m->payload, m->len, &rec, NULL, derr,
                                    sizeof(derr));
        }
        if (de != LLMOPT_OK) {
            if (st->decode_errors++ < 3)
                fprintf(stderr, "llmopt backtest: '%s' [%d] offset %lld: %s\n", topic,
                        (int)m->partition, (long long)m->offset, derr);
        } else if (rec.ts_ms < from_ms || rec.ts_ms >= to_ms) {
            st->out_of_range++;
        } else if (llmopt_bt_log_add(log, &rec) != LLMOPT_OK) {
            fprintf(stderr, "llmopt backtest: out of memory after %llu outcomes\n",
                    (unsigned long long)log->n);
            rd_kafka_message_destroy(m);
            goto out;
        }
        if (m->offset + 1 >= endp->offset) {
            endp->offset = -1;
            pending--;
        }
        rd_kafka_message_destroy(m);
    }
    rc = 0;
out:
    llmopt_outcome_release(&rec);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (ends)
        rd_kafka_topic_partition_list_destroy(ends);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    llmopt_avro_codec_destroy(avro);
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
                   "(--policy FILE [--from T] [--to T] [--format json|html] [--out FILE])",
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
    if (conf.from && *conf.from && parse_time(conf.from, &from_ms)) {
        fprintf(stderr, "llmopt backtest: invalid --from '%s' (epoch ms or 2026-11-29T03:00:00Z)\n",
                conf.from);
        rc = 2;
        goto done;
    }
    if (conf.to && *conf.to && parse_time(conf.to, &to_ms)) {
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
    if (!conf.policy || !*conf.policy) {
        fprintf(stderr, "llmopt backtest: name the candidate policies with --policy FILE\n");
        rc = 2;
        goto done;
    }
    if (conf.clip != 0 && conf.clip < 1) {
        fprintf(stderr, "llmopt backtest: 'backtest.clip' must be 0 (none) or >= 1\n");
        rc = 2;
        goto done;
    }
    char err[1024];
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
