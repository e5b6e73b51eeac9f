/*
 * sink.c - `llmopt sink`: result topics -> Postgres, exactly once (sink.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "tools/sink.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "common/avro_codec.h"
#include "common/json_codec.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/pg.h"
#include "common/records.h"
#include "common/registry.h"
#include "common/service.h"
#include "common/signals.h"
#include "tools/sink_rows.h"

static const llmopt_logger lg = LLMOPT_LOGGER("sink");

#define LOCK_WAIT_MS 60000
#define DLQ_FLUSH_MS 30000
#define META_TIMEOUT_MS 10000

/* Stored offset of one partition. */
typedef struct part_off {
    int64_t next_offset; /* next message to consume; -1: from the beginning */
    bool dirty;          /* changed since the last commit */
} part_off;

typedef struct topic_state {
    const char *name;
    llmopt_sink_table table;
    int format;
    int npart;
    part_off *parts;
} topic_state;

/* A pending row: where its COPY line is, and where it came from (for the
 * DLQ when Postgres refuses it). */
typedef struct pending_row {
    size_t line_off, line_len; /* in table_batch.lines */
    size_t raw_off;            /* key then value in llmopt_sink.raw */
    uint32_t key_len, val_len;
    bool has_key;
    int32_t partition;
    int64_t offset;
    int topic; /* index into llmopt_sink.topics */
} pending_row;

typedef struct key_slot {
    size_t off; /* in table_batch.keys */
    uint32_t len;
    uint32_t used;
    uint64_t hash;
} key_slot;

/* The pending rows of one table, deduplicated by primary key. */
typedef struct table_batch {
    llmopt_wbuf lines;
    pending_row *rows;
    size_t n, cap;
    llmopt_wbuf keys;
    key_slot *slots;
    size_t nslots; /* power of two, 0 before first use */
    bool direct;      /* this batch tries COPY straight into the table (store_table) */
    bool next_direct; /* set by a staged batch that found no stored key */
    size_t rejected;  /* rows the row-by-row path dead-lettered in this attempt */
} table_batch;

struct llmopt_sink {
    const llmopt_sink_conf *conf;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    llmopt_kafka_dr_stats_t dr;
    llmopt_pg *pg;
    bool session_ready;
    unsigned session; /* reconnect count the staging tables and lock belong to */
    int64_t lock_key;
    llmopt_registry *registry;
    llmopt_avro_codec *avro;
    topic_state topics[LLMOPT_SINK_TABLE_COUNT];
    int ntopics;
    table_batch tb[LLMOPT_SINK_TABLE_COUNT];
    void *rec[LLMOPT_SINK_TABLE_COUNT];
    llmopt_wbuf raw;
    llmopt_wbuf key;
    llmopt_json_buf json;
    size_t pending_msgs;
    size_t pending_rows;
    int64_t batch_start_ms;
    /* UTC days whose partitions exist (ensured), and days of the batch not
     * yet ensured */
    int64_t *days_done;
    size_t ndays_done, days_done_cap;
    int64_t batch_days[64];
    size_t nbatch_days;
    int64_t last_day; /* fast path: the day of the previous row, known done or queued */
    bool stopping;
    int64_t stop_deadline_ms;
    /* the batch's stream (see "streaming"): the table whose COPY is open
     * (-1: none), how many of its bytes were sent, and whether streaming is
     * off for the rest of the batch */
    int stream_table;
    size_t streamed;
    bool stream_off;
    llmopt_pg_errclass fail_class; /* of the flush attempt's first failure */
    llmopt_sink_stats st;
    /* /readyz: true while partitions are assigned and the last flush
     * landed; read by the HTTP thread */
    atomic_bool ready;
    int64_t last_gauges_ms;
    /* /metrics (all NULL without a registry: updates are then no-ops) */
    llmopt_counter *c_in[LLMOPT_SINK_TABLE_COUNT], *c_out[LLMOPT_SINK_TABLE_COUNT];
    llmopt_counter *c_dup[LLMOPT_SINK_TABLE_COUNT], *c_fallback[LLMOPT_SINK_TABLE_COUNT];
    llmopt_counter *c_dlq[3], *c_pg_err[LLMOPT_PG_ERRCLASS_OTHER + 1];
    llmopt_counter *c_batches, *c_retries, *c_dlq_failed;
    llmopt_gauge *g_lag[LLMOPT_SINK_TABLE_COUNT], *g_pending;
    llmopt_histogram *h_flush;
    uint64_t dlq_failed_seen;
};

/* index of c_dlq */
enum { DLQ_DECODE = 0, DLQ_BAD_VALUE, DLQ_REJECTED };
static const char *const dlq_reason_names[] = {"decode", "bad_value", "rejected"};
/* index of c_pg_err: llmopt_pg_errclass */
static const char *const pg_errclass_names[] = {"none", "connection", "constraint", "transient",
                                                "other"};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* EINTR from a stop signal just shortens it */
}

static bool stop_now(llmopt_sink *s) {
    if (!s->stopping && llmopt_signals_stop_requested()) {
        s->stopping = true;
        s->stop_deadline_ms = now_ms() + s->conf->common.shutdown_timeout_ms;
        llmopt_log_info(&lg, "stop requested: flushing the pending batch");
    }
    return s->stopping && now_ms() > s->stop_deadline_ms;
}

/* ---- dead letters ----------------------------------------------------- */

static void dlq_send(llmopt_sink *s, const char *src_topic, int32_t partition, int64_t offset,
                     const void *key, size_t key_len, const void *val, size_t val_len,
                     const char *reason, const char *detail, const char *sqlstate) {
    char part[16], off[32];
    snprintf(part, sizeof(part), "%" PRId32, partition);
    snprintf(off, sizeof(off), "%" PRId64, offset);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            s->producer, RD_KAFKA_V_TOPIC(s->conf->topic_dlq),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE((void *)val, val_len), RD_KAFKA_V_HEADER("reason", reason, -1),
            RD_KAFKA_V_HEADER("detail", detail, -1),
            RD_KAFKA_V_HEADER("source_topic", src_topic, -1),
            RD_KAFKA_V_HEADER("source_partition", part, -1),
            RD_KAFKA_V_HEADER("source_offset", off, -1),
            RD_KAFKA_V_HEADER("sqlstate", sqlstate ? sqlstate : "", -1), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(s->producer, 100);
            continue;
        }
        llmopt_log_error(&lg, "dead letter for '%s' [%s] @%s lost: %s", src_topic, part, off,
                         rd_kafka_err2str(err));
        break;
    }
    llmopt_log_warn(&lg, "dead letter: '%s' [%s] @%s reason '%s': %s", src_topic, part, off,
                    reason, detail);
}

/* ---- batch bookkeeping ------------------------------------------------ */

static uint64_t fnv1a(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static llmopt_err_t slots_grow(table_batch *tb) {
    size_t n = tb->nslots ? tb->nslots * 2 : 1024;
    key_slot *ns = calloc(n, sizeof(*ns));
    if (!ns)
        return LLMOPT_ERR_NOMEM;
    for (size_t i = 0; i < tb->nslots; i++) {
        if (!tb->slots[i].used)
            continue;
        size_t j = tb->slots[i].hash & (n - 1);
        while (ns[j].used)
            j = (j + 1) & (n - 1);
        ns[j] = tb->slots[i];
    }
    free(tb->slots);
    tb->slots = ns;
    tb->nslots = n;
    return LLMOPT_OK;
}

/* Adds key to the batch's set. *dup is true when it was there already. */
static llmopt_err_t key_insert(table_batch *tb, const uint8_t *key, size_t len, bool *dup) {
    *dup = false;
    if ((tb->n + 1) * 2 > tb->nslots && slots_grow(tb) != LLMOPT_OK)
        return LLMOPT_ERR_NOMEM;
    uint64_t h = fnv1a(key, len);
    size_t j = h & (tb->nslots - 1);
    while (tb->slots[j].used) {
        key_slot *k = &tb->slots[j];
        if (k->hash == h && k->len == len && !memcmp(tb->keys.data + k->off, key, len)) {
            *dup = true;
            return LLMOPT_OK;
        }
        j = (j + 1) & (tb->nslots - 1);
    }
    tb->slots[j] = (key_slot){.off = tb->keys.len, .len = (uint32_t)len, .used = 1, .hash = h};
    llmopt_wbuf_bytes(&tb->keys, key, len);
    return tb->keys.err ? LLMOPT_ERR_NOMEM : LLMOPT_OK;
}

static void batch_reset(llmopt_sink *s) {
    for (int t = 0; t < LLMOPT_SINK_TABLE_COUNT; t++) {
        table_batch *tb = &s->tb[t];
        tb->lines.len = 0;
        tb->n = 0;
        tb->keys.len = 0;
        tb->rejected = 0;
        if (tb->slots)
            memset(tb->slots, 0, tb->nslots * sizeof(*tb->slots));
    }
    s->raw.len = 0;
    s->pending_msgs = 0;
    s->pending_rows = 0;
    s->nbatch_days = 0;
    s->stream_table = -1;
    s->streamed = 0;
    s->stream_off = false;
    for (int i = 0; i < s->ntopics; i++)
        for (int p = 0; p < s->topics[i].npart; p++)
            s->topics[i].parts[p].dirty = false;
}

static bool day_done(const llmopt_sink *s, int64_t day) {
    for (size_t i = 0; i < s->ndays_done; i++)
        if (s->days_done[i] == day)
            return true;
    return false;
}

static void note_day(llmopt_sink *s, int64_t ts_ms) {
    int64_t day = llmopt_sink_day_of_ms(ts_ms);
    if (day == s->last_day)
        return;
    s->last_day = day;
    int64_t today = llmopt_sink_day_of_ms(wall_ms());
    if (day < today - s->conf->partition_past_days || day > today + s->conf->partition_future_days)
        return; /* DEFAULT partition */
    if (day_done(s, day))
        return;
    for (size_t i = 0; i < s->nbatch_days; i++)
        if (s->batch_days[i] == day)
            return;
    if (s->nbatch_days < sizeof(s->batch_days) / sizeof(s->batch_days[0]))
        s->batch_days[s->nbatch_days++] = day;
    else
        s->last_day = INT64_MIN; /* the rest waits for the next batch: DEFAULT meanwhile */
}

/* ---- consuming -------------------------------------------------------- */

static llmopt_err_t decode(llmopt_sink *s, topic_state *ts, const rd_kafka_message_t *m,
                           void *rec, char *errstr, size_t errstr_size) {
    llmopt_record_type type = llmopt_sink_table_get(ts->table)->record;
    if (ts->format == LLMOPT_SINK_JSON)
        return llmopt_json_decode(type, m->payload, m->len, rec, NULL, errstr, errstr_size);
    for (;;) {
        llmopt_avro_reason reason = LLMOPT_AVRO_OK;
        llmopt_err_t rc =
            llmopt_avro_decode(s->avro, m->payload, m->len, type, rec, &reason, errstr, errstr_size);
        if (reason != LLMOPT_AVRO_REGISTRY_UNAVAILABLE)
            return rc;
        /* not the message's fault: wait for the registry, never dead-letter */
        llmopt_log_warn(&lg, "schema registry unavailable, retrying: %s", errstr);
        if (llmopt_signals_stop_requested())
            return LLMOPT_ERR_IO;
        sleep_ms(1000);
    }
}

static void stream_feed(llmopt_sink *s, llmopt_sink_table t, bool force);

/* Handles one message. LLMOPT_ERR_IO only when stopping left it unhandled
 * (its offset then stays unconsumed). */
static llmopt_err_t handle(llmopt_sink *s, const rd_kafka_message_t *m) {
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            llmopt_log_warn(&lg, "consumer: %s", rd_kafka_message_errstr(m));
        return LLMOPT_OK;
    }
    const char *tname = rd_kafka_topic_name(m->rkt);
    int ti = -1;
    for (int i = 0; i < s->ntopics; i++)
        if (!strcmp(s->topics[i].name, tname))
            ti = i;
    if (ti < 0 || m->partition < 0 || m->partition >= s->topics[ti].npart) {
        llmopt_log_warn(&lg, "message from unassigned '%s' [%" PRId32 "] ignored", tname,
                        m->partition);
        return LLMOPT_OK;
    }
    topic_state *ts = &s->topics[ti];
    part_off *po = &ts->parts[m->partition];
    if (po->next_offset >= 0 && m->offset < po->next_offset)
        return LLMOPT_OK; /* stored already (never expected after an explicit seek) */
    char err[512] = "";
    void *rec = s->rec[ts->table];
    table_batch *tb = &s->tb[ts->table];
    llmopt_err_t rc = decode(s, ts, m, rec, err, sizeof(err));
    if (rc == LLMOPT_ERR_IO && llmopt_signals_stop_requested())
        return LLMOPT_ERR_IO;
    if (rc != LLMOPT_OK) {
        dlq_send(s, tname, m->partition, m->offset, m->key, m->key_len, m->payload, m->len,
                 "decode", err, NULL);
        s->st.dlq_decode++;
        llmopt_counter_inc(s->c_dlq[DLQ_DECODE]);
    } else {
        size_t line_start = tb->lines.len;
        rc = llmopt_sink_row_encode(ts->table, rec, &tb->lines, &s->key, &s->json, err,
                                    sizeof(err));
        if (rc == LLMOPT_ERR_NOMEM)
            return rc;
        if (rc != LLMOPT_OK) {
            dlq_send(s, tname, m->partition, m->offset, m->key, m->key_len, m->payload, m->len,
                     "bad_value", err, NULL);
            s->st.dlq_bad_value++;
            llmopt_counter_inc(s->c_dlq[DLQ_BAD_VALUE]);
        } else {
            bool dup = false;
            if (key_insert(tb, s->key.data, s->key.len, &dup) != LLMOPT_OK)
                return LLMOPT_ERR_NOMEM;
            if (dup) {
                tb->lines.len = line_start;
                s->st.duplicates++;
                llmopt_counter_inc(s->c_dup[ts->table]);
            } else {
                if (tb->n == tb->cap) {
                    size_t nc = tb->cap ? tb->cap * 2 : 1024;
                    pending_row *nr = realloc(tb->rows, nc * sizeof(*nr));
                    if (!nr)
                        return LLMOPT_ERR_NOMEM;
                    tb->rows = nr;
                    tb->cap = nc;
                }
                pending_row *r = &tb->rows[tb->n++];
                *r = (pending_row){.line_off = line_start,
                                   .line_len = tb->lines.len - line_start,
                                   .raw_off = s->raw.len,
                                   .key_len = (uint32_t)m->key_len,
                                   .val_len = (uint32_t)m->len,
                                   .has_key = m->key != NULL,
                                   .partition = m->partition,
                                   .offset = m->offset,
                                   .topic = ti};
                if (m->key_len)
                    llmopt_wbuf_bytes(&s->raw, m->key, m->key_len);
                if (m->len)
                    llmopt_wbuf_bytes(&s->raw, m->payload, m->len);
                if (s->raw.err || tb->lines.err)
                    return LLMOPT_ERR_NOMEM;
                s->pending_rows++;
                note_day(s, llmopt_sink_row_time_ms(ts->table, rec));
                stream_feed(s, ts->table, false);
            }
        }
    }
    po->next_offset = m->offset + 1;
    po->dirty = true;
    llmopt_counter_inc(s->c_in[ts->table]);
    if (s->pending_msgs++ == 0)
        s->batch_start_ms = now_ms();
    s->st.messages++;
    return LLMOPT_OK;
}

/* ---- storing ---------------------------------------------------------- */

static bool is_data_error(const llmopt_sink *s) {
    const char *st = llmopt_pg_sqlstate(s->pg);
    return st && (!strncmp(st, "22", 2) || !strncmp(st, "23", 2));
}

/* Staging tables and the sink lock, once per Postgres session. */
static llmopt_err_t session_setup(llmopt_sink *s, char *errstr, size_t errstr_size) {
    unsigned cur = llmopt_pg_reconnect_count(s->pg);
    if (s->session_ready && s->session == cur)
        return LLMOPT_OK;
    s->session_ready = false;
    llmopt_err_t rc = llmopt_pg_lock(s->pg, s->lock_key, LOCK_WAIT_MS, errstr, errstr_size);
    if (rc != LLMOPT_OK) {
        if (rc == LLMOPT_ERR_TIMEOUT)
            llmopt_errf(rc, errstr, errstr_size,
                        "another sink named '%s' holds the lock 'llmopt.sink.%s'",
                        s->conf->name, s->conf->name);
        return rc;
    }
    for (int t = 0; t < LLMOPT_SINK_TABLE_COUNT; t++) {
        const llmopt_sink_table_desc *d = llmopt_sink_table_get((llmopt_sink_table)t);
        char sql[2048];
        /* the columns and types alone, no NOT NULL or CHECK: Postgres judges
         * the rows at the INSERT .. SELECT into the real table */
        snprintf(sql, sizeof(sql),
                 "CREATE TEMP TABLE IF NOT EXISTS sink_stage_%s ON COMMIT DELETE ROWS AS "
                 "SELECT %s FROM llmopt.%s WITH NO DATA",
                 d->table, d->columns, d->table);
        rc = llmopt_pg_exec(s->pg, sql, 0, NULL, errstr, errstr_size);
        if (rc != LLMOPT_OK)
            return rc;
    }
    s->session = cur;
    s->session_ready = true;
    return LLMOPT_OK;
}

static void day_text(int64_t day, char *out, size_t size) {
    char ts[40];
    llmopt_sink_format_ts(day * 86400000, ts, sizeof(ts));
    snprintf(out, size, "%.10s", ts);
}

static llmopt_err_t ensure_days(llmopt_sink *s, char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < s->nbatch_days; i++) {
        int64_t day = s->batch_days[i];
        if (day_done(s, day))
            continue;
        char d[16];
        day_text(day, d, sizeof(d));
        const char *params[1] = {d};
        llmopt_err_t rc = llmopt_pg_exec(
            s->pg, "SELECT count(*) FROM llmopt.ensure_partitions($1::date, $1::date)", 1,
            params, errstr, errstr_size);
        if (rc != LLMOPT_OK)
            return rc;
        if (s->ndays_done == s->days_done_cap) {
            size_t nc = s->days_done_cap ? s->days_done_cap * 2 : 32;
            int64_t *nd = realloc(s->days_done, nc * sizeof(*nd));
            if (!nd)
                return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            s->days_done = nd;
            s->days_done_cap = nc;
        }
        s->days_done[s->ndays_done++] = day;
    }
    return LLMOPT_OK;
}

/* COPY data (rows of table t in its format) into target: the table itself or its
 * staging table. *rows (may be NULL) gets the count COPY reports. */
static llmopt_err_t copy_into(llmopt_sink *s, llmopt_sink_table t, const char *target,
                              const void *data, size_t len, uint64_t *rows, char *errstr,
                              size_t errstr_size) {
    const llmopt_sink_table_desc *d = llmopt_sink_table_get(t);
    char sql[2048];
    snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN%s", target, d->columns,
             d->binary ? " (FORMAT binary)" : "");
    llmopt_err_t rc = llmopt_pg_copy_begin(s->pg, sql, errstr, errstr_size);
    if (rc == LLMOPT_OK && d->binary)
        rc = llmopt_pg_copy_put(s->pg, llmopt_sink_copy_binary_header,
                                sizeof(llmopt_sink_copy_binary_header), errstr, errstr_size);
    if (rc == LLMOPT_OK)
        rc = llmopt_pg_copy_put(s->pg, data, len, errstr, errstr_size);
    if (rc == LLMOPT_OK && d->binary)
        rc = llmopt_pg_copy_put(s->pg, llmopt_sink_copy_binary_trailer,
                                sizeof(llmopt_sink_copy_binary_trailer), errstr, errstr_size);
    if (rc != LLMOPT_OK)
        return rc;
    return llmopt_pg_copy_end(s->pg, rows, errstr, errstr_size);
}

/* The ON CONFLICT path: COPY into the staging table, then INSERT .. SELECT ..
 * ON CONFLICT DO NOTHING; *inserted gets the rows that were new. */
static llmopt_err_t copy_lines(llmopt_sink *s, llmopt_sink_table t, const void *data,
                               size_t len, uint64_t *inserted, char *errstr, size_t errstr_size) {
    const llmopt_sink_table_desc *d = llmopt_sink_table_get(t);
    char sql[2048];
    snprintf(sql, sizeof(sql), "sink_stage_%s", d->table);
    llmopt_err_t rc = copy_into(s, t, sql, data, len, NULL, errstr, errstr_size);
    if (rc != LLMOPT_OK)
        return rc;
    snprintf(sql, sizeof(sql),
             "INSERT INTO llmopt.%s (%s) SELECT %s FROM sink_stage_%s ON CONFLICT (%s) DO NOTHING",
             d->table, d->columns, d->columns, d->table, d->conflict);
    PGresult *res = NULL;
    rc = llmopt_pg_query(s->pg, sql, 0, NULL, &res, errstr, errstr_size);
    if (rc != LLMOPT_OK)
        return rc;
    if (inserted)
        *inserted = strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return LLMOPT_OK;
}

/* Stores the batch of table t. While the table's recent batches held only
 * new keys (tb->direct), the rows are COPied straight into the partitioned
 * table under a savepoint: no staging table, no per-row conflict check, and
 * Postgres' multi-insert path. A unique violation there means some key was
 * stored before (a redelivered record, a replay under another sink name,
 * the controller's own routing rows): the savepoint is rolled back and the
 * batch goes through staging + ON CONFLICT DO NOTHING, whose first-wins
 * result is the same; the next batch goes direct again only once a staged
 * batch found no stored key. */
static llmopt_err_t store_table(llmopt_sink *s, llmopt_sink_table t, char *errstr,
                                size_t errstr_size) {
    table_batch *tb = &s->tb[t];
    const llmopt_sink_table_desc *d = llmopt_sink_table_get(t);
    llmopt_err_t rc;
    tb->rejected = 0;
    if (tb->direct) {
        rc = llmopt_pg_exec(s->pg, "SAVEPOINT sink_direct", 0, NULL, errstr, errstr_size);
        if (rc != LLMOPT_OK)
            return rc;
        char target[128];
        snprintf(target, sizeof(target), "llmopt.%s", d->table);
        rc = copy_into(s, t, target, tb->lines.data, tb->lines.len, NULL, errstr, errstr_size);
        if (rc == LLMOPT_OK)
            return llmopt_pg_exec(s->pg, "RELEASE SAVEPOINT sink_direct", 0, NULL, errstr,
                                  errstr_size);
        if (strcmp(llmopt_pg_sqlstate(s->pg), "23505"))
            return rc; /* not a stored key: the caller's retry / row-by-row logic */
        rc = llmopt_pg_exec(s->pg, "ROLLBACK TO SAVEPOINT sink_direct", 0, NULL, errstr,
                            errstr_size);
        if (rc != LLMOPT_OK)
            return rc;
        llmopt_log_debug(&lg, "'%s': %zu rows hit a stored key: ON CONFLICT path", d->table,
                         tb->n);
        tb->direct = false;
        llmopt_counter_inc(s->c_fallback[t]);
    }
    uint64_t inserted = 0;
    rc = copy_lines(s, t, tb->lines.data, tb->lines.len, &inserted, errstr, errstr_size);
    if (rc == LLMOPT_OK)
        tb->next_direct = inserted == tb->n;
    return rc;
}

/* Row by row under savepoints: refused rows go to the DLQ, the others land. */
static llmopt_err_t store_rows_one_by_one(llmopt_sink *s, llmopt_sink_table t, char *errstr,
                                          size_t errstr_size) {
    table_batch *tb = &s->tb[t];
    const llmopt_sink_table_desc *d = llmopt_sink_table_get(t);
    char del[128];
    snprintf(del, sizeof(del), "DELETE FROM sink_stage_%s", d->table);
    tb->rejected = 0;
    for (size_t i = 0; i < tb->n; i++) {
        const pending_row *r = &tb->rows[i];
        llmopt_err_t rc = llmopt_pg_exec(s->pg, "SAVEPOINT sink_row", 0, NULL, errstr, errstr_size);
        if (rc != LLMOPT_OK)
            return rc;
        rc = copy_lines(s, t, tb->lines.data + r->line_off, r->line_len, NULL, errstr,
                        errstr_size);
        if (rc == LLMOPT_OK)
            rc = llmopt_pg_exec(s->pg, del, 0, NULL, errstr, errstr_size);
        if (rc == LLMOPT_OK) {
            rc = llmopt_pg_exec(s->pg, "RELEASE SAVEPOINT sink_row", 0, NULL, errstr,
                                errstr_size);
            if (rc != LLMOPT_OK)
                return rc;
            continue;
        }
        if (!is_data_error(s))
            return rc;
        char sqlstate[8];
        snprintf(sqlstate, sizeof(sqlstate), "%s", llmopt_pg_sqlstate(s->pg));
        char detail[1024];
        snprintf(detail, sizeof(detail), "SQLSTATE %s: %s", sqlstate, errstr);
        char e2[256];
        rc = llmopt_pg_exec(s->pg, "ROLLBACK TO SAVEPOINT sink_row", 0, NULL, e2, sizeof(e2));
        if (rc != LLMOPT_OK)
            return llmopt_errf(rc, errstr, errstr_size, "%s", e2);
        const uint8_t *raw = s->raw.data + r->raw_off;
        dlq_send(s, s->topics[r->topic].name, r->partition, r->offset,
                 r->has_key ? raw : NULL, r->key_len, raw + r->key_len, r->val_len, "rejected",
                 detail, sqlstate);
        s->st.dlq_rejected++;
        tb->rejected++;
        llmopt_counter_inc(s->c_dlq[DLQ_REJECTED]);
    }
    return LLMOPT_OK;
}

static llmopt_err_t store_offsets(llmopt_sink *s, char *errstr, size_t errstr_size) {
    for (int i = 0; i < s->ntopics; i++) {
        topic_state *ts = &s->topics[i];
        for (int p = 0; p < ts->npart; p++) {
            if (!ts->parts[p].dirty)
                continue;
            char part[16], off[32];
            snprintf(part, sizeof(part), "%d", p);
            snprintf(off, sizeof(off), "%" PRId64, ts->parts[p].next_offset);
            const char *params[4] = {s->conf->name, ts->name, part, off};
            llmopt_err_t rc = llmopt_pg_exec(
                s->pg,
                "INSERT INTO llmopt.sink_offsets (sink, topic, partition, next_offset) "
                "VALUES ($1, $2, $3::int, $4::bigint) ON CONFLICT (sink, topic, partition) "
                "DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()",
                4, params, errstr, errstr_size);
            if (rc != LLMOPT_OK)
                return rc;
        }
    }
    return LLMOPT_OK;
}

/* Rolls the batch's transaction back, keeping the class of the error that
 * caused it for the retry logic and the metrics (a successful ROLLBACK
 * resets the handle's). The first error's message is kept by the caller:
 * rollback's own failure says less. */
static void tx_rollback(llmopt_sink *s) {
    if (s->fail_class == LLMOPT_PG_ERRCLASS_NONE)
        s->fail_class = llmopt_pg_errclass_of(s->pg);
    char ignore[128];
    llmopt_pg_rollback(s->pg, ignore, sizeof(ignore));
}

/* The rest of a batch's transaction, which is open: every table but `done`
 * (-1: none; the table a stream stored already), the offsets, the DLQ
 * flush, COMMIT. Rolls back on failure. */
static llmopt_err_t tx_finish(llmopt_sink *s, bool per_row, int done, bool *data_error,
                              char *errstr, size_t errstr_size) {
    llmopt_err_t rc = LLMOPT_OK;
    for (int t = 0; t < LLMOPT_SINK_TABLE_COUNT && rc == LLMOPT_OK; t++) {
        table_batch *tb = &s->tb[t];
        if (!tb->n || t == done)
            continue;
        if (per_row) {
            tb->next_direct = false;
            rc = store_rows_one_by_one(s, (llmopt_sink_table)t, errstr, errstr_size);
        } else {
            rc = store_table(s, (llmopt_sink_table)t, errstr, errstr_size);
        }
        if (rc != LLMOPT_OK && is_data_error(s))
            *data_error = true;
    }
    if (rc == LLMOPT_OK)
        rc = store_offsets(s, errstr, errstr_size);
    if (rc == LLMOPT_OK && s->producer && rd_kafka_outq_len(s->producer) > 0) {
        /* dead letters must be in Kafka before their offsets are stored */
        uint64_t failed = atomic_load(&s->dr.failed);
        rc = llmopt_kafka_producer_flush(s->producer, DLQ_FLUSH_MS, NULL, errstr, errstr_size);
        if (atomic_load(&s->dr.failed) != failed)
            llmopt_log_error(&lg, "%" PRIu64 " dead letters could not be delivered to '%s'",
                             (uint64_t)(atomic_load(&s->dr.failed) - failed),
                             s->conf->topic_dlq);
    }
    if (rc == LLMOPT_OK)
        rc = llmopt_pg_commit(s->pg, errstr, errstr_size);
    if (rc != LLMOPT_OK)
        tx_rollback(s);
    return rc;
}

static llmopt_err_t flush_once(llmopt_sink *s, bool per_row, bool *data_error, char *errstr,
                               size_t errstr_size) {
    *data_error = false;
    llmopt_err_t rc = session_setup(s, errstr, errstr_size);
    if (rc == LLMOPT_OK)
        rc = ensure_days(s, errstr, errstr_size);
    if (rc == LLMOPT_OK)
        rc = llmopt_pg_begin(s->pg, errstr, errstr_size);
    if (rc != LLMOPT_OK)
        return rc;
    return tx_finish(s, per_row, -1, data_error, errstr, errstr_size);
}

/* ---- streaming --------------------------------------------------------
 * While a batch fills, the rows of the one binary table in direct mode
 * (outcomes) are already on their way: the batch's transaction is opened
 * at its first such row (BEGIN, SAVEPOINT, COPY .. FROM STDIN) and rows are
 * sent as they are encoded, so Postgres parses and inserts them while the
 * sink consumes and decodes the next ones; at the flush only the tail, the
 * other tables, the offsets and COMMIT remain. The rows stay in the batch
 * too: any failure abandons the stream (the transaction rolls back) and the
 * flush stores the whole batch the ordinary way, so streaming changes what
 * overlaps, never what commits. Days first seen mid-stream land in the
 * DEFAULT partition and are moved out by ensure_days after the commit. */

#define STREAM_CHUNK 65536 /* bytes handed to libpq at once */

/* Sends what table t has pending, opening the stream at its first row. */
static void stream_feed(llmopt_sink *s, llmopt_sink_table t, bool force) {
    if (s->stream_off || (s->stream_table >= 0 && s->stream_table != (int)t))
        return;
    table_batch *tb = &s->tb[t];
    char err[512];
    if (s->stream_table < 0) {
        const llmopt_sink_table_desc *d = llmopt_sink_table_get(t);
        if (!d->binary || !tb->direct)
            return;
        llmopt_err_t rc = session_setup(s, err, sizeof(err));
        if (rc == LLMOPT_OK)
            rc = ensure_days(s, err, sizeof(err));
        if (rc == LLMOPT_OK)
            rc = llmopt_pg_begin(s->pg, err, sizeof(err));
        if (rc == LLMOPT_OK)
            rc = llmopt_pg_exec(s->pg, "SAVEPOINT sink_direct", 0, NULL, err, sizeof(err));
        if (rc == LLMOPT_OK) {
            char sql[2048];
            snprintf(sql, sizeof(sql), "COPY llmopt.%s (%s) FROM STDIN (FORMAT binary)",
                     d->table, d->columns);
            rc = llmopt_pg_copy_begin(s->pg, sql, err, sizeof(err));
        }
        if (rc == LLMOPT_OK)
            rc = llmopt_pg_copy_put(s->pg, llmopt_sink_copy_binary_header,
                                    sizeof(llmopt_sink_copy_binary_header), err, sizeof(err));
        if (rc != LLMOPT_OK) {
            char ignore[128];
            llmopt_pg_rollback(s->pg, ignore, sizeof(ignore));
            s->stream_off = true;
            llmopt_log_debug(&lg, "stream not opened: %s", err);
            return;
        }
        s->stream_table = (int)t;
        s->streamed = 0;
    }
    size_t unsent = tb->lines.len - s->streamed;
    if (!unsent || (!force && unsent < STREAM_CHUNK))
        return;
    if (llmopt_pg_copy_put(s->pg, tb->lines.data + s->streamed, unsent, err, sizeof(err)) !=
        LLMOPT_OK) {
        s->stream_table = -1; /* the helper ended the COPY */
        s->stream_off = true;
        char ignore[128];
        llmopt_pg_rollback(s->pg, ignore, sizeof(ignore));
        llmopt_log_debug(&lg, "stream broken: %s", err);
        return;
    }
    s->streamed = tb->lines.len;
}

/* Completes a batch whose stream is open: ends the COPY (a stored key rolls
 * back to the savepoint and leaves the table to the ON CONFLICT path), then
 * tx_finish. On failure the transaction is rolled back and *data_error says
 * whether Postgres refused a row. */
static llmopt_err_t stream_commit(llmopt_sink *s, bool *data_error, char *errstr,
                                  size_t errstr_size) {
    *data_error = false;
    int t = s->stream_table;
    stream_feed(s, (llmopt_sink_table)t, true);
    if (s->stream_table < 0)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "stream broken");
    s->stream_table = -1;
    llmopt_err_t rc = llmopt_pg_copy_put(s->pg, llmopt_sink_copy_binary_trailer,
                                         sizeof(llmopt_sink_copy_binary_trailer), errstr,
                                         errstr_size);
    if (rc == LLMOPT_OK)
        rc = llmopt_pg_copy_end(s->pg, NULL, errstr, errstr_size);
    int done = t;
    if (rc == LLMOPT_OK) {
        rc = llmopt_pg_exec(s->pg, "RELEASE SAVEPOINT sink_direct", 0, NULL, errstr,
                            errstr_size);
    } else if (!strcmp(llmopt_pg_sqlstate(s->pg), "23505")) {
        rc = llmopt_pg_exec(s->pg, "ROLLBACK TO SAVEPOINT sink_direct", 0, NULL, errstr,
                            errstr_size);
        s->tb[t].direct = false;
        llmopt_counter_inc(s->c_fallback[t]);
        done = -1;
    }
    if (rc != LLMOPT_OK) {
        *data_error = is_data_error(s);
        tx_rollback(s);
        return rc;
    }
    return tx_finish(s, false, done, data_error, errstr, errstr_size);
}

/* Counts the failure of the last Postgres call by its class (a failure in
 * Kafka, e.g. the DLQ flush, leaves the class NONE and is not counted). */
static llmopt_pg_errclass failure_class(const llmopt_sink *s) {
    return s->fail_class != LLMOPT_PG_ERRCLASS_NONE ? s->fail_class
                                                    : llmopt_pg_errclass_of(s->pg);
}

static void count_pg_error(llmopt_sink *s) {
    llmopt_pg_errclass cls = failure_class(s);
    if (cls > LLMOPT_PG_ERRCLASS_NONE && cls <= LLMOPT_PG_ERRCLASS_OTHER)
        llmopt_counter_inc(s->c_pg_err[cls]);
}

static llmopt_err_t flush(llmopt_sink *s, char *errstr, size_t errstr_size) {
    if (!s->pending_msgs)
        return LLMOPT_OK;
    bool per_row = false;
    unsigned attempt = 0;
    int64_t t0 = now_ms();
    bool streamed = s->stream_table >= 0;
    for (;;) {
        bool data_error = false;
        char err[1024] = "";
        s->fail_class = LLMOPT_PG_ERRCLASS_NONE;
        llmopt_err_t rc = streamed ? stream_commit(s, &data_error, err, sizeof(err))
                                   : flush_once(s, per_row, &data_error, err, sizeof(err));
        if (rc == LLMOPT_OK)
            break;
        if (streamed) {
            /* the stream was only a head start: redo the batch the ordinary way */
            streamed = false;
            llmopt_log_debug(&lg, "streamed batch failed (%s): storing it again", err);
            if (data_error)
                per_row = true;
            count_pg_error(s);
            continue;
        }
        count_pg_error(s);
        if (data_error && !per_row) {
            llmopt_log_warn(&lg, "batch refused (%s): storing it row by row", err);
            per_row = true;
            continue;
        }
        s->st.retries++;
        llmopt_pg_errclass cls = failure_class(s);
        llmopt_counter_inc(s->c_retries);
        atomic_store(&s->ready, false);
        llmopt_log_warn(&lg, "flush of %zu rows failed (attempt %u, sqlstate '%s'): %s",
                        s->pending_rows, attempt + 1, llmopt_pg_sqlstate(s->pg), err);
        if (stop_now(s))
            return llmopt_errf(LLMOPT_ERR_TIMEOUT, errstr, errstr_size,
                               "shutdown timeout with %zu messages not stored: %s",
                               s->pending_msgs, err);
        PGconn *c = llmopt_pg_conn(s->pg);
        if (cls == LLMOPT_PG_ERRCLASS_CONNECTION || !c || PQstatus(c) != CONNECTION_OK) {
            char rerr[512];
            if (llmopt_pg_reconnect(s->pg, rerr, sizeof(rerr)) != LLMOPT_OK)
                llmopt_log_warn(&lg, "reconnect failed: %s", rerr);
            else
                llmopt_log_info(&lg, "reconnected to Postgres");
        } else {
            llmopt_pg_retry r;
            llmopt_pg_retry_default(&r);
            r.max_ms = (int)s->conf->retry_max_ms;
            sleep_ms(llmopt_pg_backoff_ms(&r, attempt, (double)rand() / ((double)RAND_MAX + 1)));
        }
        if (data_error)
            per_row = false; /* a data error with savepoints: start over in bulk */
        attempt++;
    }
    for (int t = 0; t < LLMOPT_SINK_TABLE_COUNT; t++) {
        llmopt_counter_add(s->c_out[t], s->tb[t].n - s->tb[t].rejected);
        if (s->tb[t].n && !s->tb[t].direct)
            s->tb[t].direct = s->tb[t].next_direct;
    }
    llmopt_counter_inc(s->c_batches);
    llmopt_histogram_observe(s->h_flush, (double)(now_ms() - t0) / 1000.0);
    if (s->nbatch_days) {
        /* days first seen mid-stream: their rows wait in DEFAULT until now */
        char e2[512];
        if (ensure_days(s, e2, sizeof(e2)) != LLMOPT_OK)
            llmopt_log_warn(&lg, "ensure_partitions after the commit failed: %s", e2);
    }
    if (!s->stopping)
        atomic_store(&s->ready, true);
    s->st.batches++;
    s->st.rows += s->pending_rows;
    llmopt_log_debug(&lg, "stored %zu rows from %zu messages in %" PRId64 " ms (batch age %" PRId64
                     " ms)", s->pending_rows, s->pending_msgs, now_ms() - t0,
                     now_ms() - s->batch_start_ms);
    batch_reset(s);
    return LLMOPT_OK;
}

/* ---- metrics and readiness -------------------------------------------- */

static void metrics_register(llmopt_sink *s, llmopt_metrics *m) {
    if (!m)
        return;
    const char *tl[] = {"table", NULL};
    for (int t = 0; t < LLMOPT_SINK_TABLE_COUNT; t++) {
        if (t == LLMOPT_SINK_OUTCOMES && !s->conf->outcomes)
            continue;
        const char *tv[] = {llmopt_sink_table_get((llmopt_sink_table)t)->table, NULL};
        s->c_in[t] = llmopt_metrics_counter(m, "llmopt_sink_messages_in_total",
                                            "messages consumed from the table's topic (dead "
                                            "letters and in-batch duplicates included)",
                                            tl, tv);
        s->c_out[t] = llmopt_metrics_counter(m, "llmopt_sink_rows_out_total",
                                             "rows sent to the table in committed transactions "
                                             "(rows whose key was stored before count too)",
                                             tl, tv);
        s->c_dup[t] = llmopt_metrics_counter(m, "llmopt_sink_duplicates_total",
                                             "messages dropped because their key was already "
                                             "in the batch",
                                             tl, tv);
        s->c_fallback[t] = llmopt_metrics_counter(
            m, "llmopt_sink_conflict_fallbacks_total",
            "direct COPYs rolled back because a key was stored already (the batch then went "
            "through ON CONFLICT)",
            tl, tv);
        s->g_lag[t] = llmopt_metrics_gauge(m, "llmopt_sink_consumer_lag",
                                           "messages between the consumed position and the "
                                           "end of the table's topic (all partitions)",
                                           tl, tv);
    }
    const char *rl[] = {"reason", NULL};
    for (int r = 0; r < 3; r++) {
        const char *rv[] = {dlq_reason_names[r], NULL};
        s->c_dlq[r] = llmopt_metrics_counter(m, "llmopt_sink_dlq_total",
                                             "messages sent to the dead-letter topic", rl, rv);
    }
    const char *cl[] = {"class", NULL};
    for (int c = LLMOPT_PG_ERRCLASS_CONNECTION; c <= LLMOPT_PG_ERRCLASS_OTHER; c++) {
        const char *cv[] = {pg_errclass_names[c], NULL};
        s->c_pg_err[c] = llmopt_metrics_counter(m, "llmopt_sink_pg_errors_total",
                                                "failed Postgres flush attempts by error class",
                                                cl, cv);
    }
    s->c_batches = llmopt_metrics_counter(m, "llmopt_sink_batches_total",
                                          "committed transactions (rows + offsets)", NULL, NULL);
    s->c_retries = llmopt_metrics_counter(m, "llmopt_sink_retries_total",
                                          "flush attempts that failed and were redone", NULL,
                                          NULL);
    s->c_dlq_failed = llmopt_metrics_counter(m, "llmopt_sink_dlq_failed_total",
                                             "dead letters the producer could not deliver",
                                             NULL, NULL);
    s->g_pending = llmopt_metrics_gauge(m, "llmopt_sink_pending_rows",
                                        "rows consumed and waiting for the next flush", NULL,
                                        NULL);
    static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    s->h_flush = llmopt_metrics_histogram(m, "llmopt_sink_flush_seconds",
                                          "time to store one batch, retries included",
                                          bounds, sizeof(bounds) / sizeof(bounds[0]), NULL,
                                          NULL);
}

/* Gauges, once a second: lag from the watermarks librdkafka caches from its
 * fetches (no broker round trip). */
static void update_gauges(llmopt_sink *s) {
    int64_t lag[LLMOPT_SINK_TABLE_COUNT] = {0};
    for (int i = 0; i < s->ntopics; i++) {
        topic_state *ts = &s->topics[i];
        for (int p = 0; p < ts->npart; p++) {
            int64_t lo = -1, hi = -1;
            if (rd_kafka_get_watermark_offsets(s->consumer, ts->name, p, &lo, &hi) ||
                hi < 0)
                continue;
            int64_t from = ts->parts[p].next_offset >= 0 ? ts->parts[p].next_offset : lo;
            if (from >= 0 && hi > from)
                lag[ts->table] += hi - from;
        }
    }
    for (int t = 0; t < LLMOPT_SINK_TABLE_COUNT; t++)
        llmopt_gauge_set(s->g_lag[t], (double)lag[t]);
    llmopt_gauge_set(s->g_pending, (double)s->pending_rows);
    uint64_t failed = atomic_load(&s->dr.failed);
    if (failed > s->dlq_failed_seen) {
        llmopt_counter_add(s->c_dlq_failed, failed - s->dlq_failed_seen);
        s->dlq_failed_seen = failed;
    }
}

bool llmopt_sink_ready(llmopt_sink *s, char *reason, size_t reason_size) {
    if (atomic_load(&s->ready))
        return true;
    snprintf(reason, reason_size, "%s",
             s->stopping ? "stopping" : "Postgres flush failing, retrying");
    return false;
}

/* ---- setup ------------------------------------------------------------ */

static llmopt_err_t topic_partitions(rd_kafka_t *rk, const char *name, int *npart, char *errstr,
                                     size_t errstr_size) {
    llmopt_err_t rc = LLMOPT_ERR_IO;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    if (!rkt)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "topic '%s': %s", name,
                           rd_kafka_err2str(rd_kafka_last_error()));
    for (int attempt = 0; attempt < 10; attempt++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, META_TIMEOUT_MS);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
            err = md->topics[0].err;
            *npart = md->topics[0].partition_cnt;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && *npart > 0) {
            rc = LLMOPT_OK;
            break;
        }
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "topic '%s': %s", name,
                    rd_kafka_err2str(err));
        if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            break;
        sleep_ms(500);
    }
    rd_kafka_topic_destroy(rkt);
    return rc;
}

static llmopt_err_t load_offsets(llmopt_sink *s, char *errstr, size_t errstr_size) {
    PGresult *res = NULL;
    const char *params[1] = {s->conf->name};
    llmopt_err_t rc = llmopt_pg_query(
        s->pg, "SELECT topic, partition, next_offset FROM llmopt.sink_offsets WHERE sink = $1",
        1, params, &res, errstr, errstr_size);
    if (rc != LLMOPT_OK)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *topic = PQgetvalue(res, i, 0);
        int p = atoi(PQgetvalue(res, i, 1));
        int64_t off = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        for (int k = 0; k < s->ntopics; k++)
            if (!strcmp(s->topics[k].name, topic) && p >= 0 && p < s->topics[k].npart)
                s->topics[k].parts[p].next_offset = off;
    }
    PQclear(res);
    return LLMOPT_OK;
}

static llmopt_err_t assign(llmopt_sink *s, char *errstr, size_t errstr_size) {
    int total = 0;
    for (int i = 0; i < s->ntopics; i++)
        total += s->topics[i].npart;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(total);
    for (int i = 0; i < s->ntopics; i++)
        for (int p = 0; p < s->topics[i].npart; p++) {
            int64_t off = s->topics[i].parts[p].next_offset;
            rd_kafka_topic_partition_list_add(l, s->topics[i].name, p)->offset =
                off >= 0 ? off : RD_KAFKA_OFFSET_BEGINNING;
            llmopt_log_info(&lg, "'%s' [%d] from %s%" PRId64, s->topics[i].name, p,
                            off >= 0 ? "offset " : "the beginning", off >= 0 ? off : 0);
        }
    rd_kafka_resp_err_t err = rd_kafka_assign(s->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "assign: %s",
                           rd_kafka_err2str(err));
    return LLMOPT_OK;
}

llmopt_err_t llmopt_sink_new(llmopt_sink **out, const llmopt_sink_conf *conf,
                             const llmopt_config *cfg, llmopt_metrics *metrics, char *errstr,
                             size_t errstr_size) {
    llmopt_err_t rc = LLMOPT_ERR_NOMEM;
    *out = NULL;
    llmopt_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return llmopt_errf(rc, errstr, errstr_size, "out of memory");
    s->conf = conf;
    s->last_day = INT64_MIN;
    s->stream_table = -1;
    atomic_init(&s->ready, false);
    llmopt_wbuf_init(&s->raw);
    llmopt_wbuf_init(&s->key);
    llmopt_json_buf_init(&s->json);
    llmopt_kafka_dr_stats_init(&s->dr);
    for (int t = 0; t < LLMOPT_SINK_TABLE_COUNT; t++) {
        llmopt_wbuf_init(&s->tb[t].lines);
        llmopt_wbuf_init(&s->tb[t].keys);
        s->tb[t].direct = true;
        llmopt_record_type rt = llmopt_sink_table_get((llmopt_sink_table)t)->record;
        s->rec[t] = calloc(1, llmopt_record_size(rt));
        if (!s->rec[t])
            goto fail;
        llmopt_record_init(rt, s->rec[t]);
    }
    for (int t = 0; t < LLMOPT_SINK_TABLE_COUNT; t++) {
        if (t == LLMOPT_SINK_OUTCOMES && !conf->outcomes)
            continue;
        topic_state *ts = &s->topics[s->ntopics++];
        ts->name = conf->topic[t];
        ts->table = (llmopt_sink_table)t;
        ts->format = conf->format[t];
    }

    /* schemas: the registry when configured, else the compiled-in ones */
    llmopt_schema_source src = *llmopt_avro_builtin_source();
    if ((conf->common.schema_registry_url && conf->common.schema_registry_url[0]) ||
        (conf->common.schema_registry_file && conf->common.schema_registry_file[0])) {
        llmopt_registry_conf rconf = {.local_path = conf->common.schema_registry_file,
                                      .url = conf->common.schema_registry_url,
                                      .timeout_ms = (long)conf->common.schema_registry_timeout_ms};
        s->registry = llmopt_registry_new(&rconf, errstr, errstr_size);
        if (!s->registry) {
            rc = LLMOPT_ERR_INVALID;
            goto fail;
        }
        llmopt_registry_schema_source(s->registry, &src);
    }
    s->avro = llmopt_avro_codec_new(&src, errstr, errstr_size);
    if (!s->avro) {
        rc = LLMOPT_ERR_INVALID;
        goto fail;
    }

    /* Postgres first: without it there is nothing to resume from */
    if (!conf->common.pg_dsn || !conf->common.pg_dsn[0]) {
        rc = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                         "'pg.dsn' is not set (-X pg.dsn=..., LLMOPT_PG_DSN or the config file)");
        goto fail;
    }
    llmopt_pg_retry retry;
    llmopt_pg_retry_default(&retry);
    retry.max_ms = (int)conf->retry_max_ms;
    retry.max_attempts = 0;
    retry.deadline_ms = 10000; /* per reconnect call; flush() loops around it */
    rc = llmopt_pg_new(&s->pg, conf->common.pg_dsn, &retry, errstr, errstr_size);
    if (rc != LLMOPT_OK)
        goto fail;
    char lock_name[512];
    snprintf(lock_name, sizeof(lock_name), "llmopt.sink.%s", conf->name);
    s->lock_key = llmopt_pg_lock_key(lock_name);
    rc = session_setup(s, errstr, errstr_size);
    if (rc != LLMOPT_OK)
        goto fail;
    {
        char q[256], e2[512];
        snprintf(q, sizeof(q),
                 "SELECT count(*) FROM llmopt.ensure_partitions("
                 "(now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + %d)",
                 (int)conf->partition_future_days);
        if (llmopt_pg_exec(s->pg, q, 0, NULL, e2, sizeof(e2)) != LLMOPT_OK)
            llmopt_log_warn(&lg, "ensure_partitions at start failed: %s", e2);
    }

    /* Kafka */
    llmopt_kafka_user_keys_t uk = llmopt_kafka_user_keys_from_config(cfg);
    rd_kafka_conf_t *kc = llmopt_config_kafka_conf(cfg, errstr, errstr_size);
    if (!kc) {
        rc = LLMOPT_ERR_INVALID;
        goto fail;
    }
    char group[512];
    snprintf(group, sizeof(group), "llmopt-sink-%s", conf->name);
    llmopt_kafka_consumer_opts_t copts = {
        .group_id = group, .app_commits = true, .read_committed = true, .user = uk};
    rc = llmopt_kafka_consumer_new(&s->consumer, kc, &copts, errstr, errstr_size);
    if (rc != LLMOPT_OK)
        goto fail;
    kc = llmopt_config_kafka_conf(cfg, errstr, errstr_size);
    if (!kc) {
        rc = LLMOPT_ERR_INVALID;
        goto fail;
    }
    llmopt_kafka_producer_opts_t popts = {
        .kind = LLMOPT_KAFKA_PRODUCER_IDEMPOTENT, .dr_stats = &s->dr, .user = uk};
    rc = llmopt_kafka_producer_new(&s->producer, kc, &popts, errstr, errstr_size);
    if (rc != LLMOPT_OK)
        goto fail;
    for (int i = 0; i < s->ntopics; i++) {
        topic_state *ts = &s->topics[i];
        rc = topic_partitions(s->consumer, ts->name, &ts->npart, errstr, errstr_size);
        if (rc != LLMOPT_OK)
            goto fail;
        ts->parts = calloc((size_t)ts->npart, sizeof(*ts->parts));
        if (!ts->parts) {
            rc = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            goto fail;
        }
        for (int p = 0; p < ts->npart; p++)
            ts->parts[p].next_offset = -1;
    }
    rc = load_offsets(s, errstr, errstr_size);
    if (rc == LLMOPT_OK)
        rc = assign(s, errstr, errstr_size);
    if (rc != LLMOPT_OK)
        goto fail;
    metrics_register(s, metrics);
    atomic_store(&s->ready, true);
    *out = s;
    return LLMOPT_OK;
fail:
    llmopt_sink_destroy(s);
    return rc;
}

llmopt_err_t llmopt_sink_run(llmopt_sink *s, char *errstr, size_t errstr_size) {
    int64_t last_report = now_ms();
    for (;;) {
        stop_now(s);
        if (s->stopping)
            break;
        int wait = 100;
        if (s->pending_msgs) {
            int64_t left = s->batch_start_ms + s->conf->batch_age_ms - now_ms();
            wait = left < 0 ? 0 : left < wait ? (int)left : wait;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, wait);
        if (m) {
            llmopt_err_t rc = handle(s, m);
            rd_kafka_message_destroy(m);
            if (rc == LLMOPT_ERR_NOMEM)
                return llmopt_errf(rc, errstr, errstr_size, "out of memory holding the batch");
        }
        if (s->producer)
            rd_kafka_poll(s->producer, 0);
        if (s->pending_rows >= (size_t)s->conf->batch_rows ||
            (s->pending_msgs && now_ms() - s->batch_start_ms >= s->conf->batch_age_ms)) {
            llmopt_err_t rc = flush(s, errstr, errstr_size);
            if (rc != LLMOPT_OK)
                return rc;
        }
        if (now_ms() - s->last_gauges_ms >= 1000) {
            update_gauges(s);
            s->last_gauges_ms = now_ms();
        }
        if (now_ms() - last_report >= 30000) {
            last_report = now_ms();
            llmopt_log_info(&lg,
                            "%" PRIu64 " messages, %" PRIu64 " rows in %" PRIu64
                            " batches, %" PRIu64 " duplicates, dlq %" PRIu64 "/%" PRIu64
                            "/%" PRIu64 " (decode/bad_value/rejected)",
                            s->st.messages, s->st.rows, s->st.batches, s->st.duplicates,
                            s->st.dlq_decode, s->st.dlq_bad_value, s->st.dlq_rejected);
        }
    }
    atomic_store(&s->ready, false);
    llmopt_err_t rc = flush(s, errstr, errstr_size);
    atomic_store(&s->ready, false);
    llmopt_log_info(&lg,
                    "stopped: %" PRIu64 " messages, %" PRIu64 " rows in %" PRIu64
                    " batches, %" PRIu64 " duplicates, %" PRIu64 " retries, dlq %" PRIu64
                    "/%" PRIu64 "/%" PRIu64 " (decode/bad_value/rejected)",
                    s->st.messages, s->st.rows, s->st.batches, s->st.duplicates, s->st.retries,
                    s->st.dlq_decode, s->st.dlq_bad_value, s->st.dlq_rejected);
    return rc;
}

void llmopt_sink_get_stats(const llmopt_sink *s, llmopt_sink_stats *out) {
    *out = s->st;
}

void llmopt_sink_destroy(llmopt_sink *s) {
    if (!s)
        return;
    if (s->consumer)
        llmopt_kafka_consumer_close(s->consumer);
    if (s->producer) {
        char e[256];
        llmopt_kafka_producer_close(s->producer, 5000, e, sizeof(e));
    }
    llmopt_pg_destroy(s->pg);
    llmopt_avro_codec_destroy(s->avro);
    llmopt_registry_destroy(s->registry);
    for (int t = 0; t < LLMOPT_SINK_TABLE_COUNT; t++) {
        table_batch *tb = &s->tb[t];
        llmopt_wbuf_release(&tb->lines);
        llmopt_wbuf_release(&tb->keys);
        free(tb->rows);
        free(tb->slots);
        if (s->rec[t]) {
            llmopt_record_release(llmopt_sink_table_get((llmopt_sink_table)t)->record, s->rec[t]);
            free(s->rec[t]);
        }
    }
    for (int i = 0; i < s->ntopics; i++)
        free(s->topics[i].parts);
    free(s->days_done);
    llmopt_wbuf_release(&s->raw);
    llmopt_wbuf_release(&s->key);
    llmopt_json_buf_release(&s->json);
    free(s);
}

/* ---- the subcommand --------------------------------------------------- */

static void *svc_create(const void *conf, const llmopt_config *cfg, llmopt_metrics *m,
                        char *err, size_t err_size) {
    llmopt_sink *s = NULL;
    if (llmopt_sink_new(&s, conf, cfg, m, err, err_size) != LLMOPT_OK)
        return NULL;
    llmopt_log_info(&lg, "sink '%s' running", ((const llmopt_sink_conf *)conf)->name);
    return s;
}

static bool svc_ready(void *s, char *reason, size_t reason_size) {
    return llmopt_sink_ready(s, reason, reason_size);
}

static llmopt_err_t svc_run(void *s, char *err, size_t err_size) {
    return llmopt_sink_run(s, err, err_size);
}

static void svc_destroy(void *s) { llmopt_sink_destroy(s); }

int llmopt_sink_main(int argc, char **argv) {
    llmopt_sink_conf conf;
    memset(&conf, 0, sizeof(conf));
    const llmopt_config_binding bindings[] = {
        {&llmopt_common_table, offsetof(llmopt_sink_conf, common)},
        {&llmopt_sink_config_table, 0},
    };
    const llmopt_cli_spec spec = {
        .prog = "llmopt sink",
        .summary = "store llm.metrics, llm.signals, llm.routing and llm.outcomes in Postgres, "
                   "exactly once",
        .bindings = bindings,
        .n_bindings = sizeof(bindings) / sizeof(bindings[0]),
    };
    static const llmopt_service svc = {
        .create = svc_create, .ready = svc_ready, .run = svc_run, .destroy = svc_destroy};
    return llmopt_service_main(&svc, &spec, &conf, sizeof(conf), &conf.common, argc, argv);
}
