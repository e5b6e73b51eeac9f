/*
 * checkpoint.h - how one partition's checkpoint travels through the
 * compacted changelog topic (processor.topic.state). Pure: bytes in, bytes
 * out, no Kafka.
 *
 * A checkpoint is a blob:
 *   "PCKP" v1 | u32 partition | u32 n (= 3) | i64 next offset of each input
 *   topic (requests, responses, feedback; -1 unknown) | u64 len | engine
 *   state (llmopt_engine_save, len bytes)
 * cut into chunks of at most chunk_bytes, written to changelog partition
 * `partition` as key "<p>#<i>" (i = 0..n-1), followed by the manifest under
 * key "<p>":
 *   "PMAN" v2 | u32 partition | u32 nchunks | u64 total length | u64 XXH64
 *   (seed 0) of the blob
 * (version 1 manifests, with the FNV-1a 64 of the blob, are still read, so a
 * changelog written by an older build restores.)
 * All of one checkpoint's messages are in one transaction, so a
 * read_committed reader that keeps the latest value of each key and then
 * takes the latest manifest finds exactly that checkpoint's chunks (chunk
 * keys are reused, so compaction keeps the newest of each index; older
 * checkpoints with more chunks leave stale high indexes, which the manifest
 * count excludes). The length and hash catch a torn or foreign blob.
 *
 * Ownership: llmopt_ckpt_collector copies what it keeps; _destroy frees it.
 */
#ifndef LLMOPT_PROC_CHECKPOINT_H
#define LLMOPT_PROC_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/serial.h"

#define LLMOPT_CKPT_TOPICS 3

/* XXH64 with seed 0 of data (the version-2 manifest's hash). */
uint64_t llmopt_ckpt_hash(const void *data, size_t len);
/* FNV-1a 64 of data, byte at a time (the version-1 manifest's hash). */
uint64_t llmopt_ckpt_hash_fnv1a(const void *data, size_t len);

/* Appends the blob to w (errors in w->err). */
void llmopt_ckpt_blob_write(llmopt_wbuf *w, int32_t partition,
                            const int64_t offsets[LLMOPT_CKPT_TOPICS], const void *engine,
                            size_t engine_len);

/* The same blob written in place: _begin appends the header and returns
 * where the engine length goes, the caller appends the engine state to w
 * (llmopt_engine_save), _end fills in its length. No second copy of a
 * large state. */
size_t llmopt_ckpt_blob_begin(llmopt_wbuf *w, int32_t partition,
                              const int64_t offsets[LLMOPT_CKPT_TOPICS]);
void llmopt_ckpt_blob_end(llmopt_wbuf *w, size_t at);

/* Parses a blob: the engine bytes point into data. LLMOPT_ERR_INVALID with
 * the reason on a bad tag, version, topic count or length. */
llmopt_err_t llmopt_ckpt_blob_read(const void *data, size_t len, int32_t *partition,
                                   int64_t offsets[LLMOPT_CKPT_TOPICS], const void **engine,
                                   size_t *engine_len, char *errstr, size_t errstr_size);

/* The manifest of a blob cut into nchunks. */
void llmopt_ckpt_manifest_write(llmopt_wbuf *w, int32_t partition, uint32_t nchunks,
                                const void *blob, size_t blob_len);

/* Message keys: "<p>" and "<p>#<i>" into buf (NUL-terminated); returns the
 * length. */
size_t llmopt_ckpt_manifest_key(char *buf, size_t size, int32_t partition);
size_t llmopt_ckpt_chunk_key(char *buf, size_t size, int32_t partition, uint32_t index);

/* Number of chunks for a blob of len bytes (at least 1). */
uint32_t llmopt_ckpt_nchunks(size_t len, size_t chunk_bytes);

/* Collects one partition's checkpoint while the changelog partition is read
 * from some offset to its end. */
typedef struct llmopt_ckpt_collector llmopt_ckpt_collector;

llmopt_ckpt_collector *llmopt_ckpt_collector_new(int32_t partition);
void llmopt_ckpt_collector_destroy(llmopt_ckpt_collector *c);

/* Feeds one changelog message (value NULL: tombstone). Keys of other
 * partitions are ignored. LLMOPT_ERR_NOMEM, or LLMOPT_ERR_INVALID for a
 * malformed manifest under this partition's key (with errstr). */
llmopt_err_t llmopt_ckpt_collector_add(llmopt_ckpt_collector *c, const void *key,
                                       size_t key_len, const void *value, size_t value_len,
                                       int64_t offset, char *errstr, size_t errstr_size);

/* After the end was reached: LLMOPT_OK with *blob (malloc'd, caller frees)
 * and *len and *first_offset (changelog offset of the chunk 0 that was
 * used), or LLMOPT_ERR_UNKNOWN when no manifest was seen (no checkpoint:
 * *blob NULL), or LLMOPT_ERR_INVALID when chunks are missing or the length
 * or hash disagree with the manifest. */
llmopt_err_t llmopt_ckpt_collector_finish(llmopt_ckpt_collector *c, uint8_t **blob, size_t *len,
                                          int64_t *first_offset, char *errstr,
                                          size_t errstr_size);

#endif
