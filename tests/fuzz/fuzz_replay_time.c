/* fuzz_replay_time.c - libFuzzer harness for tools/replay_time, the parser
 * of `llmopt replay --from/--to` (command-line input). Any bytes must parse
 * or fail cleanly; an accepted time is >= 0, and formatting it and parsing
 * the result gives it back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/replay_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 256)
        return 0;
    char s[257];
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms = -1;
    if (llmopt_replay_parse_time(s, &ms) != 0)
        return 0;
    if (ms < 0)
        abort();
    char buf[64];
    llmopt_replay_format_time(ms, buf, sizeof(buf));
    int64_t back = -1;
    if (ms < 253402300800000LL && (llmopt_replay_parse_time(buf, &back) != 0 || back != ms))
        abort();
    return 0;
}
