/*
 * report_html.c - HTML + inline SVG rendering of a backtest report.
 */
#include "tools/report_html.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define W 760
#define PAD_L 170
#define PAD_R 20

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define COLOR(i) palette[(i) % (sizeof(palette) / sizeof(palette[0]))]

static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static double getnum(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void fmt_num(FILE *f, double x) {
    if (isfinite(x))
        fprintf(f, "%.4f", x);
    else
        fputs("&ndash;", f);
}

/* One row of the estimate chart: a point and its interval. */
typedef struct est_row {
    const char *label;
    const char *est;
    double v, lo, hi;
    int color;
} est_row;

static void estimate_chart(FILE *f, const est_row *rows, size_t n) {
    double mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        const double xs[3] = {rows[i].v, rows[i].lo, rows[i].hi};
        for (int j = 0; j < 3; j++)
            if (isfinite(xs[j])) {
                mn = fmin(mn, xs[j]);
                mx = fmax(mx, xs[j]);
            }
    }
    if (!isfinite(mn)) {
        mn = 0;
        mx = 1;
    }
    if (mx - mn < 1e-9) {
        mn -= 0.5;
        mx += 0.5;
    }
    double pad = (mx - mn) * 0.05;
    mn -= pad;
    mx += pad;
    const int rh = 20, h = (int)n * rh + 40;
    const double span = W - PAD_L - PAD_R;
#define XS(x) (PAD_L + ((x) - mn) / (mx - mn) * span)
    fprintf(f, "<svg class=\"est\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\n", W, h, W, h);
    fprintf(f, "<title>estimated reward with %s intervals</title>\n", "confidence");
    for (int t = 0; t <= 4; t++) {
        double x = mn + (mx - mn) * t / 4;
        fprintf(f, "<line x1=\"%.1f\" y1=\"10\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
                   "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%.3f</text>\n",
                XS(x), XS(x), h - 25, XS(x), h - 12, x);
    }
    for (size_t i = 0; i < n; i++) {
        int y = 20 + (int)i * rh;
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">", PAD_L - 8, y + 4);
        esc(f, rows[i].label);
        fprintf(f, " %s</text>\n", rows[i].est);
        if (isfinite(rows[i].lo) && isfinite(rows[i].hi))
            fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
                       "stroke-width=\"2\"/>\n", XS(rows[i].lo), y, XS(rows[i].hi), y,
                    COLOR(rows[i].color));
        if (isfinite(rows[i].v))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"%s\"/>\n", XS(rows[i].v), y,
                    COLOR(rows[i].color));
    }
    fputs("</svg>\n", f);
#undef XS
}

/* Lines over the time bins; series[i] is a JSON array (null = gap). */
static void line_chart(FILE *f, const char *title, const json_t *const *series,
                       const char *const *names, const int *color, const int *dashed, size_t ns,
                       size_t bins, int unit_range) {
    double mn = unit_range ? 0 : INFINITY, mx = unit_range ? 1 : -INFINITY;
    if (!unit_range) {
        for (size_t s = 0; s < ns; s++)
            for (size_t b = 0; b < bins; b++) {
                const json_t *v = json_array_get(series[s], b);
                if (json_is_number(v)) {
                    mn = fmin(mn, json_number_value(v));
                    mx = fmax(mx, json_number_value(v));
                }
            }
        if (!isfinite(mn)) {
            mn = 0;
            mx = 1;
        }
        if (mx - mn < 1e-9) {
            mn -= 0.5;
            mx += 0.5;
        }
    }
    const int h = 200, top = 20, bottom = 170, left = 60, right = W - 150;
#define XB(b) (left + (bins > 1 ? (double)(b) / (double)(bins - 1) : 0.5) * (right - left))
#define YV(v) (bottom - ((v) - mn) / (mx - mn) * (bottom - top))
    fprintf(f, "<svg class=\"line\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\n<title>", W, h, W, h);
    esc(f, title);
    fputs("</title>\n", f);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
            left, top, right - left, bottom - top);
    for (int t = 0; t <= 4; t++) {
        double v = mn + (mx - mn) * t / 4;
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.3g</text>\n",
                left - 4, YV(v) + 3, v);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">time bin 1 .. %zu</text>\n", left,
            bottom + 18, bins);
    for (size_t s = 0; s < ns; s++) {
        int pen = 0;
        fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s d=\"",
                COLOR(color[s]), dashed[s] ? " stroke-dasharray=\"5,3\"" : "");
        for (size_t b = 0; b < bins; b++) {
            const json_t *v = json_array_get(series[s], b);
            if (!json_is_number(v)) {
                pen = 0;
                continue;
            }
            fprintf(f, "%c%.1f %.1f ", pen ? 'L' : 'M', XB(b), YV(json_number_value(v)));
            pen = 1;
        }
        fputs("\"/>\n", f);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"%s\">", right + 8,
                top + 10 + (int)s * 13, COLOR(color[s]));
        esc(f, names[s]);
        fputs(dashed[s] ? " (candidate)" : "", f);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
#undef XB
#undef YV
}

static void warnings_list(FILE *f, const json_t *w) {
    if (!json_array_size(w))
        return;
    fputs("<ul class=\"warn\">\n", f);
    size_t i;
    const json_t *v;
    json_array_foreach(w, i, v) {
        fputs("<li>", f);
        esc(f, json_string_value(v));
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
}

static llmopt_err_t route_section(FILE *f, const json_t *r, char *errstr, size_t errstr_size) {
    const json_t *pols = json_object_get(r, "policies"), *arms = json_object_get(r, "arms"),
                 *tl = json_object_get(r, "timeline"), *lg = json_object_get(r, "logging");
    const char *name = json_string_value(json_object_get(r, "route"));
    if (!json_is_array(pols) || !json_is_array(arms) || !json_is_object(tl) || !lg || !name)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "report route lacks 'route', 'policies', 'arms', 'logging' or 'timeline'");
    fputs("<section>\n<h2>route ", f);
    esc(f, name);
    fprintf(f, "</h2>\n<p>%lld outcomes; arms:", (long long)json_integer_value(json_object_get(r, "n")));
    size_t i, j;
    const json_t *v;
    json_array_foreach(arms, i, v) {
        fputs(i ? ", " : " ", f);
        esc(f, json_string_value(v));
    }
    fputs("</p>\n<table>\n<tr><th>policy</th><th>kind</th><th>IPS [CI]</th><th>SNIPS [CI]</th>"
          "<th>DR [CI]</th><th>ESS</th><th>max w</th><th>unsupported</th></tr>\n", f);
    fputs("<tr><td>logging (on-policy)</td><td>logged</td><td colspan=\"3\">", f);
    fmt_num(f, getnum(lg, "value"));
    fputs(" [", f);
    fmt_num(f, getnum(lg, "lo"));
    fputs(", ", f);
    fmt_num(f, getnum(lg, "hi"));
    fputs("]</td><td></td><td></td><td></td></tr>\n", f);
    const json_t *p;
    json_array_foreach(pols, i, p) {
        fputs("<tr><td>", f);
        esc(f, json_string_value(json_object_get(p, "name")));
        fputs("</td><td>", f);
        esc(f, json_string_value(json_object_get(p, "kind")));
        fputs("</td>", f);
        const char *ests[3] = {"ips", "snips", "dr"};
        for (int e = 0; e < 3; e++) {
            const json_t *iv = json_object_get(p, ests[e]);
            fputs("<td>", f);
            fmt_num(f, getnum(iv, "value"));
            fputs(" [", f);
            fmt_num(f, getnum(iv, "lo"));
            fputs(", ", f);
            fmt_num(f, getnum(iv, "hi"));
            fputs("]</td>", f);
        }
        fprintf(f, "<td>%.1f</td><td>%.3g</td><td>%.2f%%</td></tr>\n", getnum(p, "ess"),
                getnum(p, "max_w"), 100 * getnum(p, "unsupported_mass"));
    }
    fputs("</table>\n", f);
    json_array_foreach(pols, i, p) warnings_list(f, json_object_get(p, "warnings"));

    /* estimates with intervals */
    size_t np = json_array_size(pols), nrows = 1 + 3 * np;
    est_row rows[1 + 3 * 64];
    if (np > 64)
        np = 64, nrows = 1 + 3 * np;
    rows[0] = (est_row){"logging", "mean", getnum(lg, "value"), getnum(lg, "lo"), getnum(lg, "hi"), 7};
    for (i = 0; i < np; i++) {
        p = json_array_get(pols, i);
        const char *ests[3] = {"ips", "snips", "dr"};
        for (int e = 0; e < 3; e++) {
            const json_t *iv = json_object_get(p, ests[e]);
            rows[1 + 3 * i + e] = (est_row){json_string_value(json_object_get(p, "name")),
                                            e == 0 ? "IPS" : e == 1 ? "SNIPS" : "DR",
                                            getnum(iv, "value"), getnum(iv, "lo"), getnum(iv, "hi"),
                                            (int)i};
        }
    }
    fputs("<h3>estimated reward and confidence interval</h3>\n", f);
    estimate_chart(f, rows, nrows);

    /* weights over time: logged vs each candidate */
    const json_t *lw = json_object_get(tl, "logged_weights"), *cw = json_object_get(tl, "candidate_weights"),
                 *ar = json_object_get(tl, "arm_reward");
    size_t bins = json_array_size(json_object_get(tl, "bin_start_ms"));
    size_t k = json_array_size(arms);
    if (k > 32)
        k = 32;
    const json_t *series[64];
    const char *names[64];
    int color[64], dashed[64];
    json_array_foreach(pols, i, p) {
        const char *pname = json_string_value(json_object_get(p, "name"));
        const json_t *cp = json_object_get(cw, pname);
        size_t ns = 0;
        for (j = 0; j < k; j++) {
            const char *an = json_string_value(json_array_get(arms, j));
            series[ns] = json_object_get(lw, an), names[ns] = an, color[ns] = (int)j, dashed[ns] = 0;
            ns++;
            series[ns] = json_object_get(cp, an), names[ns] = an, color[ns] = (int)j, dashed[ns] = 1;
            ns++;
        }
        fputs("<h3>arm weights over time: logged (solid) vs ", f);
        esc(f, pname);
        fputs(" (dashed)</h3>\n", f);
        char title[256];
        snprintf(title, sizeof(title), "arm weights over time, logged vs %s", pname ? pname : "?");
        line_chart(f, title, series, names, color, dashed, ns, bins, 1);
    }
    size_t ns = 0;
    for (j = 0; j < k; j++) {
        const char *an = json_string_value(json_array_get(arms, j));
        series[ns] = json_object_get(ar, an), names[ns] = an, color[ns] = (int)j, dashed[ns] = 0;
        ns++;
    }
    fputs("<h3>mean reward of each arm over time</h3>\n", f);
    line_chart(f, "mean reward per arm over time", series, names, color, dashed, ns, bins, 0);
    fputs("</section>\n", f);
    return LLMOPT_OK;
}

/* ---- counterfactual controller replay (backtest_cf.h) ------------------ */

static void fmt_ms(FILE *f, const json_t *v) {
    if (json_is_number(v))
        fprintf(f, "%.0f", json_number_value(v));
    else
        fputs("&ndash;", f);
}

/* One arm's weight over replay time: the logged decisions as a solid step
 * line, each setting's as a dashed one, and the signals on the arm that
 * each setting saw as ticks under the axis, in that setting's colour. */
static void cf_arm_chart(FILE *f, const json_t *cf, const char *route, const char *arm,
                         double t0, double t1) {
    const json_t *sets = json_object_get(cf, "settings");
    size_t ns = json_array_size(sets);
    const int h = 190 + 10 * (int)ns, top = 20, bottom = 160, left = 60, right = W - 150;
    if (t1 <= t0)
        t1 = t0 + 1;
#define XT(t) (left + ((t) - t0) / (t1 - t0) * (right - left))
#define YW(w) (bottom - (w) * (bottom - top))
    fprintf(f, "<svg class=\"cf\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\n<title>weight of ", W, h, W, h);
    esc(f, arm);
    fputs("</title>\n", f);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
            left, top, right - left, bottom - top);
    for (int t = 0; t <= 4; t++)
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.2f</text>\n",
                left - 4, YW(t / 4.0) + 3, t / 4.0);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">", left, top - 6);
    esc(f, arm);
    fprintf(f, ": weight over %.1f s of broker time</text>\n", (t1 - t0) / 1000);
    for (size_t s = 0; s <= ns; s++) {
        const json_t *decs = s == 0 ? json_object_get(json_object_get(cf, "logged"), "decisions")
                                    : json_object_get(json_array_get(sets, s - 1), "decisions");
        const char *name = s == 0 ? "logged" : json_string_value(json_object_get(json_array_get(sets, s - 1), "name"));
        fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s d=\"",
                s == 0 ? "#000" : COLOR(s - 1), s == 0 ? "2.2" : "1.4",
                s == 0 ? "" : " stroke-dasharray=\"5,3\"");
        int pen = 0;
        double prev = NAN;
        size_t i;
        const json_t *d;
        json_array_foreach(decs, i, d) {
            const char *r = json_string_value(json_object_get(d, "route"));
            const json_t *w = json_object_get(json_object_get(d, "weights"), arm);
            if (!r || strcmp(r, route) || !json_is_number(w))
                continue;
            double t = (double)json_integer_value(json_object_get(d, "ts_ms"));
            double x = XT(fmin(fmax(t, t0), t1)), y = YW(json_number_value(w));
            if (pen)
                fprintf(f, "L%.1f %.1f ", x, prev);
            fprintf(f, "%c%.1f %.1f ", pen ? 'L' : 'M', x, y);
            prev = y;
            pen = 1;
        }
        if (pen)
            fprintf(f, "L%.1f %.1f", XT(t1), prev);
        fputs("\"/>\n", f);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"%s\">", right + 8,
                top + 10 + (int)s * 13, s == 0 ? "#000" : COLOR(s - 1));
        esc(f, name ? name : "?");
        fputs(s == 0 ? " (solid)" : "", f);
        fputs("</text>\n", f);
        if (s == 0)
            continue;
        const json_t *sig;
        json_array_foreach(json_object_get(json_array_get(sets, s - 1), "signals"), i, sig) {
            const char *r = json_string_value(json_object_get(sig, "route"));
            const char *a = json_string_value(json_object_get(sig, "arm"));
            if (!r || !a || strcmp(r, route) || strcmp(a, arm))
                continue;
            double x = XT((double)json_integer_value(json_object_get(sig, "seen_ms")));
            int y = bottom + 8 + 10 * (int)(s - 1);
            const char *kind = json_string_value(json_object_get(sig, "kind"));
            fprintf(f, "<path d=\"M%.1f %d l-3 7 h6 z\" fill=\"%s\"%s><title>", x, y, COLOR(s - 1),
                    kind && !strcmp(kind, "anomaly") ? "" : " fill-opacity=\"0.35\"");
            esc(f, kind);
            fputs(" ", f);
            esc(f, json_string_value(json_object_get(sig, "detector")));
            fputs(" ", f);
            esc(f, json_string_value(json_object_get(sig, "metric")));
            fputs("</title></path>\n", f);
        }
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">markers: signals each setting saw "
               "(solid: anomaly, pale: drift)</text>\n", left, h - 4);
    fputs("</svg>\n", f);
#undef XT
#undef YW
}

static void cf_section(FILE *f, const json_t *cf) {
    const json_t *sets = json_object_get(cf, "settings");
    fputs("<h2>Counterfactual controller replay</h2>\n<p>status: ", f);
    esc(f, json_string_value(json_object_get(cf, "status")));
    fprintf(f, "; %lld records in the range (replay clock: their broker timestamps); %lld logged "
               "decisions (%lld heartbeats left out)</p>\n",
            (long long)json_integer_value(json_object_get(cf, "records_in_range")),
            (long long)json_array_size(json_object_get(json_object_get(cf, "logged"), "decisions")),
            (long long)json_integer_value(json_object_get(json_object_get(cf, "logged"), "heartbeats")));
    warnings_list(f, json_object_get(cf, "warnings"));
    if (!json_array_size(sets))
        return;
    fputs("<table>\n<tr><th>setting</th><th>decisions</th><th>signals</th><th>reacted</th>"
          "<th>reaction median ms</th><th>reaction p90 ms</th><th>route</th>"
          "<th>state agreement with logged</th><th>|&Delta;w| median</th><th>|&Delta;w| max</th>"
          "<th>logged signal ids replayed</th></tr>\n", f);
    size_t i;
    const json_t *s;
    json_array_foreach(sets, i, s) {
        const json_t *sum = json_object_get(s, "summary");
        const json_t *ag = json_object_get(sum, "agreement");
        size_t na = json_array_size(ag) ? json_array_size(ag) : 1;
        for (size_t j = 0; j < na; j++) {
            const json_t *a = json_array_get(ag, j);
            fputs("<tr><td>", f);
            esc(f, json_string_value(json_object_get(s, "name")));
            fprintf(f, "</td><td>%lld</td><td>%lld</td><td>%lld</td><td>",
                    (long long)json_integer_value(json_object_get(sum, "decisions")),
                    (long long)json_integer_value(json_object_get(sum, "signals")),
                    (long long)json_integer_value(json_object_get(sum, "reacted")));
            fmt_ms(f, json_object_get(sum, "reaction_ms_median"));
            fputs("</td><td>", f);
            fmt_ms(f, json_object_get(sum, "reaction_ms_p90"));
            fputs("</td><td>", f);
            esc(f, a ? json_string_value(json_object_get(a, "route")) : "");
            fputs("</td><td>", f);
            fmt_num(f, getnum(a, "state_agreement"));
            fputs("</td><td>", f);
            fmt_num(f, getnum(json_object_get(a, "max_abs_weight_diff"), "p50"));
            fputs("</td><td>", f);
            fmt_num(f, getnum(json_object_get(a, "max_abs_weight_diff"), "max"));
            fprintf(f, "</td><td>%lld / %lld</td></tr>\n",
                    (long long)json_integer_value(json_object_get(a, "signal_ids_common")),
                    (long long)json_integer_value(json_object_get(a, "signal_ids_logged")));
        }
    }
    fputs("</table>\n", f);
    const json_t *changes = json_object_get(cf, "changes");
    if (json_array_size(changes)) {
        fputs("<h3>Detection and reaction per change</h3>\n<p>detection: first signal on the "
              "arm after the change (event time); reaction: from that signal to the first "
              "decision moving the arm's weight (replay clock)</p>\n<table>\n<tr><th>change</th>", f);
        json_array_foreach(sets, i, s) {
            fputs("<th>", f);
            esc(f, json_string_value(json_object_get(s, "name")));
            fputs(": detection / reaction ms</th>", f);
        }
        fputs("</tr>\n", f);
        const json_t *c;
        size_t k;
        json_array_foreach(changes, k, c) {
            fputs("<tr><td>", f);
            esc(f, json_string_value(json_object_get(c, "label")));
            fputs(" (", f);
            esc(f, json_string_value(json_object_get(c, "arm")));
            fputs(")</td>", f);
            json_array_foreach(sets, i, s) {
                const json_t *row = json_array_get(json_object_get(s, "changes"), k);
                fputs("<td>", f);
                fmt_ms(f, json_object_get(row, "detection_ms"));
                fputs(" / ", f);
                fmt_ms(f, json_object_get(row, "reaction_ms"));
                if (json_is_string(json_object_get(row, "detector"))) {
                    fputs(" (", f);
                    esc(f, json_string_value(json_object_get(row, "detector")));
                    fputs(" ", f);
                    esc(f, json_string_value(json_object_get(row, "metric")));
                    fputs(")", f);
                }
                fputs("</td>", f);
            }
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    /* charts: one per (route, arm) of the first setting's decisions */
    double t0 = (double)json_integer_value(json_object_get(cf, "first_ms"));
    double t1 = (double)json_integer_value(json_object_get(cf, "last_ms"));
    const json_t *first = json_array_get(json_object_get(json_array_get(sets, 0), "decisions"), 0);
    const json_t *d0;
    json_array_foreach(json_object_get(json_array_get(sets, 0), "decisions"), i, d0)
        if (json_integer_value(json_object_get(d0, "ts_ms")) < t0)
            t0 = (double)json_integer_value(json_object_get(d0, "ts_ms"));
    if (!first)
        return;
    /* every route's first decision names its arms */
    json_t *done = json_object();
    json_array_foreach(json_object_get(json_array_get(sets, 0), "decisions"), i, d0) {
        const char *route = json_string_value(json_object_get(d0, "route"));
        if (!route || json_object_get(done, route))
            continue;
        json_object_set_new(done, route, json_true());
        fputs("<h3>Arm weights over time, route ", f);
        esc(f, route);
        fputs(": logged (solid) against each setting (dashed)</h3>\n", f);
        const char *arm;
        const json_t *w;
        json_object_foreach(json_object_get((json_t *)d0, "weights"), arm, w)
            cf_arm_chart(f, cf, route, arm, t0, t1);
    }
    json_decref(done);
}

llmopt_err_t llmopt_report_html_write(FILE *f, const json_t *rep, const char *title, char *errstr,
                                      size_t errstr_size) {
    const json_t *routes = json_object_get(rep, "routes");
    const char *status = json_string_value(json_object_get(rep, "status"));
    if (!json_is_array(routes) || !status)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "report lacks 'routes' or 'status'");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    esc(f, title);
    fputs("</title>\n<style>\nbody{font-family:sans-serif;margin:2em;max-width:60em}"
          "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}"
          ".warn li{color:#a40}svg{display:block;margin:0.5em 0}\n</style>\n</head>\n<body>\n<h1>",
          f);
    esc(f, title);
    fputs("</h1>\n<p>status: ", f);
    esc(f, status);
    if (!json_object_get(rep, "config"))
        fputs("</p>\n", f);
    else
        fprintf(f, "; %lld outcomes evaluated, %lld without propensity excluded, %lld revisions "
               "applied</p>\n",
            (long long)json_integer_value(json_object_get(rep, "outcomes")),
            (long long)json_integer_value(json_object_get(rep, "outcomes_without_propensity")),
            (long long)json_integer_value(json_object_get(rep, "revisions_applied")));
    const json_t *cfg = json_object_get(rep, "config");
    if (cfg)
        fprintf(f, "<p>%lld bootstrap replicates, level %.3g, seed %lld, clip %g, DR model %s</p>\n",
                (long long)json_integer_value(json_object_get(cfg, "replicates")),
                getnum(cfg, "level"), (long long)json_integer_value(json_object_get(cfg, "seed")),
                getnum(cfg, "clip"), json_string_value(json_object_get(cfg, "model")) ?
                json_string_value(json_object_get(cfg, "model")) : "?");
    warnings_list(f, json_object_get(rep, "warnings"));
    size_t i;
    const json_t *r;
    json_array_foreach(routes, i, r) {
        llmopt_err_t rc = route_section(f, r, errstr, errstr_size);
        if (rc != LLMOPT_OK)
            return rc;
    }
    const json_t *cf = json_object_get(rep, "counterfactual");
    if (cf)
        cf_section(f, cf);
    fputs("</body>\n</html>\n", f);
    if (ferror(f))
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot write the HTML report");
    return LLMOPT_OK;
}
