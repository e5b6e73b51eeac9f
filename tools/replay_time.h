/*
 * replay_time.h - the time arguments of `llmopt replay` (--from, --to):
 * epoch milliseconds or RFC 3339. Pure (no I/O, no locale, no time zone
 * database: offsets are explicit), fuzzed by tests/fuzz/fuzz_replay_time.c.
 */
#ifndef LLMOPT_TOOLS_REPLAY_TIME_H
#define LLMOPT_TOOLS_REPLAY_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Parses s into *ms (ms since the Unix epoch, UTC). Accepted:
 *   "1764000000000"                     epoch milliseconds (digits only)
 *   "2026-11-29"                        midnight UTC
 *   "2026-11-29T03:00:00Z"              RFC 3339 ('T', 't' or ' '; 'Z' or 'z')
 *   "2026-11-29T03:00:00.5+01:00"       fraction (milliseconds kept) and offset
 * 0 on success; -1 for anything else (empty, trailing text, a field out of
 * range such as month 13 or hour 24, a time without its offset, a result
 * before 1970 or past year 9999). *ms is only written on success. */
int llmopt_replay_parse_time(const char *s, int64_t *ms);

/* Formats ms as "2026-11-29T03:00:00.000Z" into buf (at least 32 bytes);
 * INT64_MIN gives "-". */
void llmopt_replay_format_time(int64_t ms, char *buf, size_t n);

#endif
