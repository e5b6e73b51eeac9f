/*
 * replay_time.c - epoch ms and RFC 3339 arguments (see replay_time.h).
 * Civil dates are converted with Howard Hinnant's days_from_civil, so the
 * result does not depend on the process's time zone or on strptime.
 */
#include "tools/replay_time.h"

#include <stdbool.h>
#include <stdio.h>

static bool digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int llmopt_replay_parse_time(const char *s, int64_t *ms) {
    const char *p = s;
    if (!s || !*s)
        return -1;
    /* epoch milliseconds: digits only, at most 15 (year 33658) */
    size_t n = 0;
    while (p[n] >= '0' && p[n] <= '9')
        n++;
    if (!p[n]) {
        if (n > 15)
            return -1;
        int64_t v = 0;
        for (size_t i = 0; i < n; i++)
            v = v * 10 + (p[i] - '0');
        *ms = v;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
    int64_t off_s = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
            !digits(&p, 2, &se))
            return -1;
        if (h > 23 || mi > 59 || se > 60) /* 60: a leap second, counted as :59 + 1 s */
            return -1;
        if (*p == '.') {
            p++;
            int nd = 0;
            for (; *p >= '0' && *p <= '9'; p++, nd++)
                if (nd < 3)
                    frac = frac * 10 + (*p - '0');
            if (!nd)
                return -1;
            for (; nd < 3; nd++)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
                return -1;
            off_s = sign * (int64_t)(oh * 3600 + om * 60);
        } else {
            return -1; /* RFC 3339 needs the offset */
        }
    }
    if (*p)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off_s;
    if (secs < 0)
        return -1;
    *ms = secs * 1000 + frac;
    return 0;
}

void llmopt_replay_format_time(int64_t ms, char *buf, size_t n) {
    if (ms == INT64_MIN || ms < 0) {
        snprintf(buf, n, "-");
        return;
    }
    int64_t z = ms / 86400000 + 719468;
    int64_t rem = ms % 86400000;
    /* civil_from_days */
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(buf, n, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", (long long)y,
             (long long)m, (long long)d, (long long)(rem / 3600000),
             (long long)(rem / 60000 % 60), (long long)(rem / 1000 % 60), (long long)(rem % 1000));
}
