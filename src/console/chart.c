/* Charts as server-rendered SVG (no script): bars for counts by kind, lines for counts over
 * time buckets. Each chart carries the same figures as a table for screen readers and for
 * copying; colours come from CSS classes (the CSP forbids inline style). */
#include <inttypes.h>
#include <stdio.h>

#include "console/console_int.h"

#define BAR_W 320 /* the longest bar */
#define BAR_H 22
#define LABEL_W 180
#define LINE_W 600
#define LINE_H 180
#define PAD 30

static uint64_t max_of(const uint64_t *v, size_t n, uint64_t m)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

static void figure_open(zt_console_ctx *cx, zt_msg title)
{
    zt_console_printf(cx, "<figure class=\"chart\"><figcaption>");
    zt_console_msg(cx, title);
    zt_console_printf(cx, "</figcaption>");
}

void zt_console_bar_chart(zt_console_ctx *cx, zt_msg title, const zt_console_bar *bars, size_t n,
                          const char *cls)
{
    uint64_t max = 1;
    for (size_t i = 0; i < n; i++)
        if (bars[i].value > max)
            max = bars[i].value;
    figure_open(cx, title);
    unsigned h = (unsigned)(n > 0 ? n : 1) * (BAR_H + 6);
    zt_console_printf(cx,
                      "<svg class=\"bars\" viewBox=\"0 0 %u %u\" role=\"img\" "
                      "aria-label=\"%s\">",
                      LABEL_W + BAR_W + 80, h, zt_console_esc(cx, zt_console_t(cx, title)));
    for (size_t i = 0; i < n; i++) {
        unsigned y = (unsigned)i * (BAR_H + 6);
        unsigned w = (unsigned)(bars[i].value * BAR_W / max);
        zt_console_printf(cx,
                          "<text x=\"%u\" y=\"%u\" text-anchor=\"end\">%s</text>"
                          "<rect class=\"bar %s\" x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\"/>"
                          "<text x=\"%u\" y=\"%u\">%" PRIu64 "</text>",
                          LABEL_W - 6, y + 16, bars[i].label ? bars[i].label : "", cls ? cls : "",
                          LABEL_W, y, w > 0 ? w : (bars[i].value ? 1u : 0u), BAR_H, LABEL_W + w + 6,
                          y + 16, bars[i].value);
    }
    if (n == 0)
        zt_console_printf(cx, "<text x=\"%u\" y=\"16\">—</text>", LABEL_W);
    zt_console_printf(cx, "</svg><table class=\"figures\"><tbody>");
    for (size_t i = 0; i < n; i++)
        zt_console_printf(cx, "<tr><th scope=\"row\">%s</th><td>%" PRIu64 "</td></tr>",
                          bars[i].label ? bars[i].label : "", bars[i].value);
    zt_console_printf(cx, "</tbody></table></figure>");
}

static void polyline(zt_console_ctx *cx, const zt_console_series *s, size_t n_x, uint64_t max)
{
    zt_console_printf(cx, "<polyline class=\"line %s\" points=\"", s->cls ? s->cls : "s0");
    for (size_t i = 0; i < n_x; i++) {
        unsigned x = PAD + (n_x > 1 ? (unsigned)(i * (LINE_W - 2 * PAD) / (n_x - 1)) : 0);
        unsigned y = LINE_H - PAD - (unsigned)(s->values[i] * (LINE_H - 2 * PAD) / max);
        zt_console_printf(cx, "%s%u,%u", i ? " " : "", x, y);
    }
    zt_console_printf(cx, "\"/>");
}

void zt_console_line_chart(zt_console_ctx *cx, zt_msg title, const char *const *x_labels,
                           size_t n_x, const zt_console_series *series, size_t n_series)
{
    uint64_t max = 1;
    for (size_t k = 0; k < n_series; k++)
        max = max_of(series[k].values, n_x, max);
    figure_open(cx, title);
    zt_console_printf(cx,
                      "<svg class=\"lines\" viewBox=\"0 0 %u %u\" role=\"img\" aria-label=\"%s\">"
                      "<line class=\"axis\" x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\"/>"
                      "<text x=\"2\" y=\"%u\">%" PRIu64 "</text><text x=\"2\" y=\"%u\">0</text>",
                      LINE_W, LINE_H, zt_console_esc(cx, zt_console_t(cx, title)), PAD,
                      LINE_H - PAD, LINE_W - PAD, LINE_H - PAD, PAD, max, LINE_H - PAD);
    for (size_t i = 0; i < n_x; i++) {
        if (x_labels == NULL || x_labels[i] == NULL)
            continue;
        unsigned x = PAD + (n_x > 1 ? (unsigned)(i * (LINE_W - 2 * PAD) / (n_x - 1)) : 0);
        zt_console_printf(cx,
                          "<text class=\"tick\" x=\"%u\" y=\"%u\" text-anchor=\"middle\">%s</text>",
                          x, LINE_H - 8, x_labels[i]);
    }
    for (size_t k = 0; k < n_series && n_x > 0; k++)
        polyline(cx, &series[k], n_x, max);
    zt_console_printf(cx, "</svg><p class=\"legend\">");
    for (size_t k = 0; k < n_series; k++) {
        zt_console_printf(cx, "<span class=\"key %s\">", series[k].cls ? series[k].cls : "s0");
        zt_console_msg(cx, series[k].name);
        uint64_t total = 0;
        for (size_t i = 0; i < n_x; i++)
            total += series[k].values[i];
        zt_console_printf(cx, ": %" PRIu64 "</span> ", total);
    }
    zt_console_printf(cx, "</p></figure>");
}
