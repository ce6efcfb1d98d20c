/* The assessment's outputs (assess.h): the stable JSON document, the terminal text and the
 * self-contained HTML report with its SVG trend. Every name that comes from the config or the
 * store (policy, app, user-given paths) is escaped for where it goes; the HTML has no script and
 * loads nothing. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "assess/assess.h"
#include "lib/str.h"
#include "lib/time.h"

static const char *kind_key(zt_fix_kind k)
{
    return k == ZT_FIX_COMMAND ? "command" : k == ZT_FIX_ANSWER ? "answer" : "config";
}

static zt_msg kind_title(zt_fix_kind k)
{
    return k == ZT_FIX_COMMAND  ? ASM_FIX_COMMAND
           : k == ZT_FIX_ANSWER ? ASM_FIX_ANSWER
                                : ASM_FIX_CONFIG;
}

/* A fix that starts with "ztgate " is a command whatever the criterion's usual kind. */
static zt_fix_kind fix_kind(const zt_assess_check *ck)
{
    if (ck->c->kind == ZT_FIX_ANSWER)
        return ZT_FIX_ANSWER;
    return strncmp(ck->fix, "ztgate ", 7) == 0 ? ZT_FIX_COMMAND : ZT_FIX_CONFIG;
}

static void when(int64_t t, char out[40])
{
    zt_rfc3339(t * 1000000, out, 40);
    char *dot = strchr(out, '.');
    if (dot != NULL) { /* seconds are enough */
        dot[0] = 'Z';
        dot[1] = '\0';
    }
}

/* ---- JSON ---- */

static json_t *figures_json(const zt_assess_facts *f)
{
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:b, s:b, s:b, s:b, s:I, s:I}",
        "apps", (json_int_t)f->apps, "apps_policy", (json_int_t)f->apps_policy, "apps_mfa",
        (json_int_t)f->apps_mfa, "apps_phishing_resistant_mfa", (json_int_t)f->apps_pr_mfa,
        "apps_compliant_device", (json_int_t)f->apps_compliant, "apps_risk_policy",
        (json_int_t)f->apps_risk, "apps_sensitive", (json_int_t)f->apps_sensitive, "policies_on",
        (json_int_t)f->policies_on, "policies_report_only", (json_int_t)f->policies_report_only,
        "policies_off", (json_int_t)f->policies_off, "risk_policies", (json_int_t)f->risk_policies,
        "listeners", (json_int_t)f->listeners, "listeners_tls", (json_int_t)f->listeners_tls,
        "upstreams", (json_int_t)f->upstreams, "upstreams_tls", (json_int_t)f->upstreams_tls,
        "upstreams_mtls", (json_int_t)f->upstreams_mtls, "stream_apps", (json_int_t)f->stream_apps,
        "audit_on", f->audit_on, "audit_fail_closed", f->audit_fail_closed, "store_read",
        f->store_ok, "audit_read", f->audit_read, "siem_exports", (json_int_t)f->exports,
        "playbooks", (json_int_t)f->playbooks);
    json_t *s = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:[I,I,I,I], s:I, s:I, s:I}", "users",
        (json_int_t)f->users, "users_mfa", (json_int_t)f->users_mfa, "users_passkey",
        (json_int_t)f->users_passkey, "devices", (json_int_t)f->devices, "devices_compliant",
        (json_int_t)f->devices_compliant, "detections_open", (json_int_t)f->detections_open,
        "detections_open_high", (json_int_t)f->detections_open_high, "detections_stale",
        (json_int_t)f->detections_stale, "detections_closed", (json_int_t)f->detections_closed,
        "remediation_median_s", (json_int_t)f->remediation_median_s, "incidents_open",
        (json_int_t)f->incidents_open[0], (json_int_t)f->incidents_open[1],
        (json_int_t)f->incidents_open[2], (json_int_t)f->incidents_open[3], "incidents_resolved",
        (json_int_t)f->incidents_resolved, "responses_automated", (json_int_t)f->responses_auto,
        "responses_manual", (json_int_t)f->responses_manual);
    json_t *a = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "window_days",
        (json_int_t)f->window_days, "records", (json_int_t)f->records, "mfa_prompts",
        (json_int_t)f->mfa_prompts, "users_prompted", (json_int_t)f->users_prompted, "blocks",
        (json_int_t)f->blocks, "sign_ins_ok", (json_int_t)f->signins_ok, "sign_ins_failed",
        (json_int_t)f->signins_failed, "detections_logged", (json_int_t)f->detections_logged,
        "responses_automated", (json_int_t)f->responses_auto_logged, "responses_manual",
        (json_int_t)f->responses_manual_logged, "mfa_user_days", (json_int_t)f->mfa_user_days,
        "mfa_max_per_user_day", (json_int_t)f->mfa_max_per_user_day, "mfa_prompts_per_user_per_day",
        f->prompts_per_user_day);
    return json_pack("{s:o, s:o, s:o}", "config", o, "store", s, "audit", a);
}

static json_t *check_json(const zt_assess_check *ck, zt_lang lang)
{
    return json_pack("{s:s, s:s, s:b, s:b, s:s, s:s, s:s}", "id", ck->c->id, "stage",
                     zt_stage_key(ck->c->stage), "met", ck->met, "measured", ck->measured, "title",
                     zt_msg_text(lang, ck->c->title), "figure", ck->figure, "source",
                     ck->c->source);
}

static json_t *pillars_json(const zt_assess_result *r, zt_lang lang)
{
    json_t *arr = json_array();
    for (int p = 0; arr != NULL && p < ZT_PILLAR_COUNT; p++) {
        json_t *crit = json_array();
        for (size_t i = 0; crit != NULL && i < r->n_checks; i++)
            if (r->checks[i].c->pillar == (zt_pillar)p)
                json_array_append_new(crit, check_json(&r->checks[i], lang));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:o*}", "key",
                                             zt_pillar_key((zt_pillar)p), "title",
                                             zt_msg_text(lang, zt_pillar_title((zt_pillar)p)),
                                             "stage", zt_stage_key(r->stage[p]), "stage_index",
                                             (int)r->stage[p], "criteria", crit));
    }
    return arr;
}

static json_t *measures_json(const zt_assess_result *r, zt_lang lang)
{
    json_t *arr = json_array();
    for (size_t k = 0; arr != NULL && k < r->n_ranked; k++) {
        const zt_assess_check *ck = &r->checks[r->ranked[k]];
        json_array_append_new(
            arr,
            json_pack("{s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "rank", (json_int_t)(k + 1),
                      "id", ck->c->id, "pillar", zt_pillar_key(ck->c->pillar), "lifts_to",
                      zt_stage_key(ck->c->stage), "weight", (int)ck->c->weight, "title",
                      zt_msg_text(lang, ck->c->title), "measure", zt_msg_text(lang, ck->c->measure),
                      "kind", kind_key(fix_kind(ck)), "fix", ck->fix));
    }
    return arr;
}

static json_t *questions_json(const zt_assess_facts *f, zt_lang lang)
{
    size_t n;
    const zt_assess_question *q = zt_assess_questions(&n);
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *vals = json_array();
        for (int v = 0; vals != NULL && v < ZT_ASSESS_Q_VALUES; v++)
            json_array_append_new(vals, json_pack("{s:s, s:s}", "value", q[i].values[v], "text",
                                                  zt_msg_text(lang, q[i].value_text[v])));
        int a = f->answers[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o*, s:o}", "key", q[i].key,
                                             "pillar", zt_pillar_key(q[i].pillar), "question",
                                             zt_msg_text(lang, q[i].text), "values", vals, "answer",
                                             a >= 0 ? json_string(q[i].values[a]) : json_null()));
    }
    return arr;
}

int zt_assess_json(const zt_assess_facts *f, const zt_assess_result *r, zt_lang lang, zt_buf *out)
{
    char at[40];
    when(f->now, at);
    json_t *doc =
        json_pack("{s:s, s:s, s:s?, s:s, s:o*, s:o*, s:o*, s:o*}", "schema", "ztgate.assess/1",
                  "assessed_at", at, "config", f->config_path, "lang", zt_lang_tag(lang), "pillars",
                  pillars_json(r, lang), "measures", measures_json(r, lang), "figures",
                  figures_json(f), "questionnaire", questions_json(f, lang));
    char *s = doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    int rc = s != NULL ? zt_buf_append_str(out, s) : -ENOMEM;
    rc = rc ? rc : zt_buf_append_char(out, '\n');
    free(s);
    return rc;
}

/* ---- text ---- */

static int text_fix(zt_buf *out, const char *fix)
{
    int rc = 0;
    for (const char *p = fix; rc == 0 && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        rc = zt_buf_printf(out, "      %.*s\n", (int)n, p);
        p += n + (nl != NULL);
    }
    return rc;
}

int zt_assess_text(const zt_assess_facts *f, const zt_assess_result *r, zt_lang lang, zt_buf *out)
{
    char at[40];
    when(f->now, at);
    int rc =
        zt_buf_printf(out, "%s — %s %s\n%s: %s\n\n%s\n", zt_msg_text(lang, ASM_TITLE),
                      zt_msg_text(lang, ASM_GENERATED), at, zt_msg_text(lang, ASM_CONFIG),
                      f->config_path != NULL ? f->config_path : "-", zt_msg_text(lang, ASM_STAGES));
    for (int p = 0; rc == 0 && p < ZT_PILLAR_COUNT; p++) {
        rc = zt_buf_printf(out, "  %-14s %d/3  %s\n", zt_pillar_key((zt_pillar)p), (int)r->stage[p],
                           zt_msg_text(lang, zt_stage_title(r->stage[p])));
    }
    rc = rc ? rc : zt_buf_printf(out, "\n%s\n", zt_msg_text(lang, ASM_MEASURES));
    if (rc == 0 && r->n_ranked == 0)
        rc = zt_buf_printf(out, "  %s\n", zt_msg_text(lang, ASM_NO_MEASURES));
    for (size_t k = 0; rc == 0 && k < r->n_ranked; k++) {
        const zt_assess_check *ck = &r->checks[r->ranked[k]];
        char fig[ZT_ASSESS_FIGURE_MAX * 2];
        zt_assess_figure(ck, lang, fig, sizeof(fig));
        rc = zt_buf_printf(out, "%3zu. [%s → %s] %s\n      %s\n      (%s: %s)\n      %s:\n", k + 1,
                           zt_pillar_key(ck->c->pillar), zt_stage_key(ck->c->stage),
                           zt_msg_text(lang, ck->c->title), zt_msg_text(lang, ck->c->measure),
                           zt_msg_text(lang, ASM_FIGURE), fig,
                           zt_msg_text(lang, kind_title(fix_kind(ck))));
        rc = rc ? rc : text_fix(out, ck->fix);
    }
    rc = rc ? rc : zt_buf_printf(out, "\n%s\n", zt_msg_text(lang, ASM_EVIDENCE));
    for (int p = 0; rc == 0 && p < ZT_PILLAR_COUNT; p++) {
        rc = zt_buf_printf(out, "  %s (%s)\n", zt_msg_text(lang, zt_pillar_title((zt_pillar)p)),
                           zt_msg_text(lang, zt_stage_title(r->stage[p])));
        for (size_t i = 0; rc == 0 && i < r->n_checks; i++) {
            const zt_assess_check *ck = &r->checks[i];
            char fig[ZT_ASSESS_FIGURE_MAX * 2];
            zt_assess_figure(ck, lang, fig, sizeof(fig));
            if (ck->c->pillar == (zt_pillar)p)
                rc = zt_buf_printf(out, "    [%s] %-8s %s: %s\n           %s: %s\n",
                                   ck->met ? "x" : " ", zt_stage_key(ck->c->stage),
                                   zt_msg_text(lang, ck->c->title), fig,
                                   zt_msg_text(lang, ASM_SOURCE), ck->c->source);
        }
    }
    return rc;
}

/* ---- HTML ---- */

/* "<open>escaped<close>" */
static int tag(zt_buf *out, const char *open, const char *s, const char *close)
{
    int rc = zt_buf_append_str(out, open);
    rc = rc ? rc : zt_html_escape(out, s);
    return rc ? rc : zt_buf_append_str(out, close);
}

static const char *const pillar_colours[ZT_PILLAR_COUNT] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"};

int zt_assess_trend_svg(const zt_store_assess_run *runs, size_t n, zt_lang lang, zt_buf *out)
{
    const int w = 640, h = 240, left = 110, right = 20, top = 20, bottom = 40;
    int rc = zt_buf_printf(out,
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                           "role=\"img\" aria-label=\"",
                           w, h);
    rc = rc ? rc : zt_html_escape(out, zt_msg_text(lang, ASM_HISTORY));
    rc = rc ? rc : zt_buf_append_str(out, "\">");
    for (int s = 0; rc == 0 && s < ZT_STAGE_COUNT; s++) {
        int y = top + (h - top - bottom) * (3 - s) / 3;
        rc = zt_buf_printf(out,
                           "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ccc\"/>"
                           "<text x=\"4\" y=\"%d\" font-size=\"12\">",
                           left, y, w - right, y, y + 4);
        rc = rc ? rc : tag(out, "", zt_msg_text(lang, zt_stage_title((zt_stage)s)), "</text>");
    }
    for (int p = 0; rc == 0 && p < ZT_PILLAR_COUNT && n > 0; p++) {
        rc =
            zt_buf_printf(out, "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"%s\" points=\"",
                          pillar_colours[p]);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            int stage = runs[i].stages[p] - '0';
            int x = n == 1 ? left : left + (int)((size_t)(w - left - right) * i / (n - 1));
            int y = top + (h - top - bottom) * (3 - stage) / 3 + (p - 3); /* apart a little */
            rc = zt_buf_printf(out, "%d,%d ", x, y);
        }
        rc = rc ? rc : zt_buf_append_str(out, "\"/>");
    }
    if (rc == 0 && n > 0) {
        char a[40], b[40];
        when(runs[0].at, a);
        when(runs[n - 1].at, b);
        a[10] = b[10] = '\0';
        rc = zt_buf_printf(out,
                           "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>"
                           "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">%s</text>",
                           left, h - 22, a, w - right, h - 22, b);
    }
    for (int p = 0; rc == 0 && p < ZT_PILLAR_COUNT; p++) {
        rc = zt_buf_printf(out,
                           "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                           "<text x=\"%d\" y=\"%d\" font-size=\"11\">",
                           left + p * 75, h - 12, pillar_colours[p], left + p * 75 + 13, h - 3);
        rc = rc ? rc : tag(out, "", zt_pillar_key((zt_pillar)p), "</text>");
    }
    return rc ? rc : zt_buf_append_str(out, "</svg>");
}

static const char html_style[] =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;"
    "color:#222}table{border-collapse:collapse;width:100%;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}"
    "pre{background:#f4f4f4;padding:.5em;overflow-x:auto}.met{color:#176b1d}"
    ".unmet{color:#a31515}.stage{font-weight:bold}svg{max-width:100%;height:auto}"
    "meter{width:8em}";

static int html_stages(zt_buf *out, const zt_assess_result *r, zt_lang lang)
{
    int rc = tag(out, "<h2>", zt_msg_text(lang, ASM_STAGES), "</h2><table><tr>");
    rc = rc ? rc : tag(out, "<th>", zt_msg_text(lang, ASM_PILLAR), "</th>");
    rc = rc ? rc : tag(out, "<th>", zt_msg_text(lang, ASM_STAGE), "</th><th>0–3</th></tr>");
    for (int p = 0; rc == 0 && p < ZT_PILLAR_COUNT; p++) {
        rc = tag(out, "<tr><td>", zt_msg_text(lang, zt_pillar_title((zt_pillar)p)), "</td>");
        rc = rc ? rc
                : tag(out, "<td class=\"stage\">", zt_msg_text(lang, zt_stage_title(r->stage[p])),
                      "</td>");
        rc = rc ? rc
                : zt_buf_printf(
                      out, "<td><meter min=\"0\" max=\"3\" value=\"%d\">%d/3</meter></td></tr>",
                      (int)r->stage[p], (int)r->stage[p]);
    }
    return rc ? rc : zt_buf_append_str(out, "</table>");
}

static int html_measures(zt_buf *out, const zt_assess_result *r, zt_lang lang)
{
    int rc = tag(out, "<h2>", zt_msg_text(lang, ASM_MEASURES), "</h2>");
    if (rc == 0 && r->n_ranked == 0)
        rc = tag(out, "<p>", zt_msg_text(lang, ASM_NO_MEASURES), "</p>");
    rc = rc ? rc : zt_buf_append_str(out, "<ol>");
    for (size_t k = 0; rc == 0 && k < r->n_ranked; k++) {
        const zt_assess_check *ck = &r->checks[r->ranked[k]];
        char fig[ZT_ASSESS_FIGURE_MAX * 2];
        zt_assess_figure(ck, lang, fig, sizeof(fig));
        rc = zt_buf_printf(out, "<li id=\"m-%s\"><strong>", ck->c->id);
        rc = rc ? rc : zt_html_escape(out, zt_msg_text(lang, ck->c->title));
        rc = rc ? rc : zt_buf_printf(out, "</strong> (%s → ", zt_pillar_key(ck->c->pillar));
        rc = rc ? rc : tag(out, "", zt_msg_text(lang, zt_stage_title(ck->c->stage)), ")");
        rc = rc ? rc : tag(out, "<p>", zt_msg_text(lang, ck->c->measure), "</p><p>");
        rc = rc ? rc : tag(out, "", zt_msg_text(lang, ASM_FIGURE), ": ");
        rc = rc ? rc : tag(out, "", fig, "</p><p>");
        rc = rc ? rc : tag(out, "", zt_msg_text(lang, kind_title(fix_kind(ck))), ":</p>");
        rc = rc ? rc : tag(out, "<pre>", ck->fix, "</pre></li>");
    }
    return rc ? rc : zt_buf_append_str(out, "</ol>");
}

static int html_evidence(zt_buf *out, const zt_assess_result *r, zt_lang lang)
{
    int rc = tag(out, "<h2>", zt_msg_text(lang, ASM_EVIDENCE), "</h2>");
    for (int p = 0; rc == 0 && p < ZT_PILLAR_COUNT; p++) {
        rc = tag(out, "<h3>", zt_msg_text(lang, zt_pillar_title((zt_pillar)p)), " — ");
        rc = rc ? rc
                : tag(out, "", zt_msg_text(lang, zt_stage_title(r->stage[p])), "</h3><table><tr>");
        static const zt_msg heads[] = {ASM_CRITERION, ASM_NEEDED_FOR, ASM_FIGURE, ASM_SOURCE};
        for (size_t i = 0; rc == 0 && i < sizeof(heads) / sizeof(heads[0]); i++)
            rc = tag(out, "<th>", zt_msg_text(lang, heads[i]), "</th>");
        rc = rc ? rc : zt_buf_append_str(out, "</tr>");
        for (size_t i = 0; rc == 0 && i < r->n_checks; i++) {
            const zt_assess_check *ck = &r->checks[i];
            if (ck->c->pillar != (zt_pillar)p)
                continue;
            char fig[ZT_ASSESS_FIGURE_MAX * 2];
            zt_assess_figure(ck, lang, fig, sizeof(fig));
            rc = zt_buf_printf(out, "<tr><td class=\"%s\">%s ", ck->met ? "met" : "unmet",
                               ck->met ? "&#10003;" : "&#10007;");
            rc = rc ? rc : tag(out, "", zt_msg_text(lang, ck->c->title), " (");
            rc = rc ? rc : tag(out, "", zt_msg_text(lang, ck->met ? ASM_MET : ASM_UNMET), ")</td>");
            rc = rc ? rc
                    : tag(out, "<td>", zt_msg_text(lang, zt_stage_title(ck->c->stage)), "</td>");
            rc = rc ? rc : tag(out, "<td>", fig, "</td>");
            rc = rc ? rc : tag(out, "<td>", ck->c->source, "</td></tr>");
        }
        rc = rc ? rc : zt_buf_append_str(out, "</table>");
    }
    return rc;
}

static int html_questions(zt_buf *out, const zt_assess_facts *f, zt_lang lang)
{
    size_t n;
    const zt_assess_question *q = zt_assess_questions(&n);
    int rc = tag(out, "<h2>", zt_msg_text(lang, ASM_QUESTIONNAIRE), "</h2><table>");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int a = f->answers[i];
        rc = tag(out, "<tr><td><code>", q[i].key, "</code><br>");
        rc = rc ? rc : tag(out, "", zt_msg_text(lang, q[i].text), "</td>");
        rc = rc ? rc
                : tag(out, "<td>",
                      a >= 0 ? zt_msg_text(lang, q[i].value_text[a])
                             : zt_msg_text(lang, ASM_NOT_ANSWERED),
                      "</td></tr>");
    }
    return rc ? rc : zt_buf_append_str(out, "</table>");
}

int zt_assess_html(const zt_assess_facts *f, const zt_assess_result *r, zt_lang lang,
                   const zt_store_assess_run *history, size_t n_history, zt_buf *out)
{
    char at[40];
    when(f->now, at);
    int rc =
        zt_buf_printf(out,
                      "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                      "<title>",
                      zt_lang_tag(lang));
    rc = rc ? rc : zt_html_escape(out, zt_msg_text(lang, ASM_TITLE));
    rc = rc ? rc : zt_buf_printf(out, "</title><style>%s</style></head><body>", html_style);
    rc = rc ? rc : tag(out, "<h1>", zt_msg_text(lang, ASM_TITLE), "</h1>");
    rc = rc ? rc : tag(out, "<p>", zt_msg_text(lang, ASM_INTRO), "</p><p>");
    rc = rc ? rc : tag(out, "", zt_msg_text(lang, ASM_GENERATED), ": ");
    rc = rc ? rc : tag(out, "", at, " · ");
    rc = rc ? rc : tag(out, "", zt_msg_text(lang, ASM_CONFIG), ": <code>");
    rc = rc ? rc : tag(out, "", f->config_path != NULL ? f->config_path : "-", "</code></p>");
    rc = rc ? rc : html_stages(out, r, lang);
    rc = rc ? rc : tag(out, "<h2>", zt_msg_text(lang, ASM_HISTORY), "</h2>");
    if (rc == 0 && n_history == 0)
        rc = tag(out, "<p>", zt_msg_text(lang, ASM_NO_HISTORY), "</p>");
    else if (rc == 0)
        rc = zt_assess_trend_svg(history, n_history, lang, out);
    rc = rc ? rc : html_measures(out, r, lang);
    rc = rc ? rc : html_evidence(out, r, lang);
    rc = rc ? rc : html_questions(out, f, lang);
    return rc ? rc : zt_buf_append_str(out, "</body></html>\n");
}
