/*
 * tail.c - `llmopt tail TOPIC`: print a topic's records as JSON lines.
 *
 * Values are decoded by their framing: Avro in the Confluent wire format
 * (magic byte 0; the schema id names the record type) or JSON (the record
 * type follows from the topic name, llm.requests -> Request, ...). Each line
 * is {"topic":..,"partition":..,"offset":..,"key":..,"value":<record>}; a
 * value that does not decode is printed as {"error":..} with the codec's
 * reason, and llm.dlq records show their headers. Reads with
 * read_committed, from the newest records (or tail.from.beginning), without
 * committing anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "common/avro_codec.h"
#include "common/cli.h"
#include "common/json_codec.h"
#include "common/kafka.h"
#include "common/records.h"
#include "common/signals.h"
#include "tools/commands.h"
#include "tools/traffic_conf.h"

static llmopt_record_type type_of_topic(const char *t) {
    static const struct {
        const char *suffix;
        llmopt_record_type type;
    } map[] = {{"llm.requests", LLMOPT_REC_REQUEST},     {"llm.responses", LLMOPT_REC_RESPONSE},
               {"llm.feedback", LLMOPT_REC_FEEDBACK},    {"llm.outcomes", LLMOPT_REC_OUTCOME},
               {"llm.metrics", LLMOPT_REC_WINDOW_METRICS}, {"llm.signals", LLMOPT_REC_SIGNAL},
               {"llm.routing", LLMOPT_REC_ROUTING_DECISION}};
    size_t tl = strlen(t);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t sl = strlen(map[i].suffix);
        /* also matches run-scoped topics such as "replay1.llm.metrics" */
        if (tl >= sl && strcmp(t + tl - sl, map[i].suffix) == 0)
            return map[i].type;
    }
    return LLMOPT_REC_NONE;
}

static void print_message(const rd_kafka_message_t *m, llmopt_avro_codec *avro, void *rec,
                          llmopt_json_buf *jb) {
    const char *topic = rd_kafka_topic_name(m->rkt);
    json_t *line = json_object();
    json_object_set_new(line, "topic", json_string(topic));
    json_object_set_new(line, "partition", json_integer(m->partition));
    json_object_set_new(line, "offset", json_integer(m->offset));
    if (m->key)
        json_object_set_new(line, "key", json_stringn(m->key, m->key_len));
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
        json_t *h = json_object();
        const char *name;
        const void *val;
        size_t vlen;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &vlen) == 0; i++)
            json_object_set_new(h, name, val ? json_stringn(val, vlen) : json_null());
        json_object_set_new(line, "headers", h);
    }
    char err[512] = "";
    llmopt_record_type type = type_of_topic(topic);
    const unsigned char *p = m->payload;
    json_t *value = NULL;
    if (m->len > 0 && p[0] == 0) {
        llmopt_avro_reason reason;
        if (llmopt_avro_peek(avro, m->payload, m->len, &type, NULL, &reason, err, sizeof(err)) == LLMOPT_OK) {
            llmopt_record_init(type, rec);
            if (llmopt_avro_decode(avro, m->payload, m->len, type, rec, &reason, err, sizeof(err)) == LLMOPT_OK &&
                llmopt_json_encode(type, rec, jb, err, sizeof(err)) == LLMOPT_OK)
                value = json_loadb(jb->data, jb->len, 0, NULL);
            llmopt_record_release(type, rec);
        }
    } else if (type != LLMOPT_REC_NONE) {
        llmopt_record_init(type, rec);
        llmopt_json_error je;
        if (llmopt_json_decode(type, m->payload, m->len, rec, &je, err, sizeof(err)) == LLMOPT_OK &&
            llmopt_json_encode(type, rec, jb, err, sizeof(err)) == LLMOPT_OK)
            value = json_loadb(jb->data, jb->len, 0, NULL);
        llmopt_record_release(type, rec);
    } else if (m->payload) {
        value = json_stringn_nocheck(m->payload, m->len);
        if (!value)
            snprintf(err, sizeof(err), "%zu bytes of unknown format", m->len);
    }
    if (value)
        json_object_set_new(line, "value", value);
    else
        json_object_set_new(line, "error", json_string(err[0] ? err : "cannot decode"));
    char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(line);
}

int llmopt_cmd_tail(int argc, char **argv) {
    llmopt_traffic_conf conf;
    memset(&conf, 0, sizeof(conf));
    const llmopt_config_binding b[] = {
        {&llmopt_common_table, offsetof(llmopt_traffic_conf, common)},
        {&llmopt_traffic_config_table, 0},
    };
    const llmopt_cli_spec spec = {.prog = "llmopt tail", .summary = "print a topic's records as JSON lines",
                                  .args_usage = "TOPIC [TOPIC...]", .bindings = b, .n_bindings = 2};
    llmopt_cli cli;
    if (llmopt_cli_parse(&cli, &spec, argc, argv, &conf, sizeof(conf)) != LLMOPT_CLI_RUN)
        return cli.exit_code;
    int rc = 1;
    char err[512], group[64];
    rd_kafka_t *rk = NULL;
    llmopt_avro_codec *avro = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    size_t rec_size = 0;
    for (int t = 1; t < LLMOPT_REC_COUNT; t++)
        if (llmopt_record_size((llmopt_record_type)t) > rec_size)
            rec_size = llmopt_record_size((llmopt_record_type)t);
    void *rec = calloc(1, rec_size);
    llmopt_json_buf jb;
    llmopt_json_buf_init(&jb);
    if (cli.n_args < 1) {
        fprintf(stderr, "llmopt tail: name at least one topic\n");
        rc = 2;
        goto out;
    }
    rd_kafka_conf_t *kc = llmopt_config_kafka_conf(cli.config, err, sizeof(err));
    if (!kc) {
        fprintf(stderr, "llmopt tail: %s\n", err);
        goto out;
    }
    snprintf(group, sizeof(group), "llmopt-tail-%d", (int)getpid());
    llmopt_kafka_consumer_opts_t co = {.group_id = group, .app_commits = true, .read_committed = true,
                                       .user = llmopt_kafka_user_keys_from_config(cli.config)};
    if (llmopt_kafka_consumer_new(&rk, kc, &co, err, sizeof(err)) ||
        !(avro = llmopt_avro_codec_new(llmopt_avro_builtin_source(), err, sizeof(err)))) {
        fprintf(stderr, "llmopt tail: %s\n", err);
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < cli.n_args; i++) {
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_topic_t *t = rd_kafka_topic_new(rk, cli.args[i], NULL);
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, 10000);
        rd_kafka_topic_destroy(t);
        if (e || md->topic_cnt != 1 || md->topics[0].err) {
            fprintf(stderr, "llmopt tail: no topic '%s'%s%s\n", cli.args[i], e ? ": " : "",
                    e ? rd_kafka_err2str(e) : "");
            if (md)
                rd_kafka_metadata_destroy(md);
            goto out;
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, cli.args[i], md->topics[0].partitions[p].id)->offset =
                conf.tail_from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
        rd_kafka_metadata_destroy(md);
    }
    if (rd_kafka_assign(rk, parts)) {
        fprintf(stderr, "llmopt tail: cannot assign partitions\n");
        goto out;
    }
    llmopt_signals_install();
    int64_t seen = 0, idle_ms = 0;
    while (!llmopt_signals_stop_requested()) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            idle_ms += 200;
            if (conf.tail_timeout_ms && idle_ms >= conf.tail_timeout_ms)
                break;
            continue;
        }
        if (!m->err) {
            idle_ms = 0;
            print_message(m, avro, rec, &jb);
            fflush(stdout);
            seen++;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "llmopt tail: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        if (conf.tail_count && seen >= conf.tail_count)
            break;
    }
    rc = 0;
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    llmopt_avro_codec_destroy(avro);
    llmopt_json_buf_release(&jb);
    free(rec);
    llmopt_cli_release(&cli);
    return rc;
}
