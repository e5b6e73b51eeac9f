/*
 * avro_wire.h - Avro binary primitives: zigzag varints and little-endian
 * doubles. Header-only so the decoder's hot loop inlines them.
 *
 * Readers take a cursor (*p) and the end of the input; they never read at or
 * past `end`, advance *p only on success, and return 0 on success or a
 * positive llmopt_avro_reason (TRUNCATED, BAD_VARINT).
 * Writers need the caller to have reserved room: at most 10 bytes a long.
 */
#ifndef LLMOPT_AVRO_WIRE_H
#define LLMOPT_AVRO_WIRE_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "avro_wire.h copies doubles as little-endian bytes: port it first"
#endif

#define LLMOPT_AVRO_WIRE_TRUNCATED 1  /* == LLMOPT_AVRO_TRUNCATED */
#define LLMOPT_AVRO_WIRE_BAD_VARINT 6 /* == LLMOPT_AVRO_BAD_VARINT */

/* Avro long: zigzag, base-128 little-endian groups, at most 10 bytes; the
 * 10th byte may only carry bit 63 (value 0 or 1). Non-minimal encodings
 * (0x80 0x00 for 0) are accepted, as every Avro reader does. */
static inline int llmopt_avro_read_long(const uint8_t **p, const uint8_t *end,
                                        int64_t *out) {
    const uint8_t *q = *p;
    if (q < end && *q < 0x80) { /* 1-byte fast path: -64..63 */
        uint64_t u = *q;
        *out = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
        *p = q + 1;
        return 0;
    }
    uint64_t u = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (q >= end)
            return LLMOPT_AVRO_WIRE_TRUNCATED;
        uint8_t b = *q++;
        if (shift == 63 && b > 1)
            return LLMOPT_AVRO_WIRE_BAD_VARINT;
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
            *p = q;
            return 0;
        }
    }
    return LLMOPT_AVRO_WIRE_BAD_VARINT; /* unreachable: shift 63 stops it */
}

static inline int llmopt_avro_read_double(const uint8_t **p, const uint8_t *end,
                                          double *out) {
    if ((size_t)(end - *p) < 8)
        return LLMOPT_AVRO_WIRE_TRUNCATED;
    memcpy(out, *p, 8);
    *p += 8;
    return 0;
}

/* Writes v as an Avro long at dst (room for 10 bytes); returns the count. */
static inline size_t llmopt_avro_write_long(uint8_t *dst, int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (u >= 0x80) {
        dst[n++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    dst[n++] = (uint8_t)u;
    return n;
}

static inline size_t llmopt_avro_write_double(uint8_t *dst, double v) {
    memcpy(dst, &v, 8);
    return 8;
}

#endif
