/* The console's /assess page (docs/ASSESSMENT.md, docs/CONSOLE.md): the Zero Trust assessment
 * of src/assess — stage per pillar, the trend of the kept runs, the next measures with their
 * snippet or command, the evidence, and the questionnaire. Measuring reads the store and the
 * audit log, so it runs on the libuv thread pool; the page renders on the loop when it is done.
 * Changes (answers, "run and keep") are POSTs with the CSRF token, need ZT_PERM_ASSESS, and go
 * through the same service functions as `ztgate assess` (assess.h: zt_assess_answer,
 * zt_assess_keep), so the audit record is the same but for the actor. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "assess/assess.h"
#include "console/console_int.h"
#include "core/log.h"

#define TREND_RUNS 50
#define MEASURES_SHOWN 10 /* the rest behind a <details> */

typedef struct job {
    uv_work_t work;
    zt_console_ctx *cx;
    bool keep; /* POST action=keep: save the run, then redirect */
    zt_assess_facts facts;
    zt_assess_result result;
    zt_store_assess_run runs[TREND_RUNS];
    size_t n_runs;
} job;

/* ---- rendering ---- */

static void stages(zt_console_ctx *cx, const zt_assess_result *r)
{
    zt_console_printf(cx,
                      "<h2>%s</h2><table><thead><tr><th>%s</th><th>%s</th><th>0–3</th></tr>"
                      "</thead><tbody>",
                      zt_console_esc(cx, zt_console_t(cx, ASM_STAGES)),
                      zt_console_esc(cx, zt_console_t(cx, ASM_PILLAR)),
                      zt_console_esc(cx, zt_console_t(cx, ASM_STAGE)));
    for (int p = 0; p < ZT_PILLAR_COUNT; p++)
        zt_console_printf(
            cx,
            "<tr><td><a href=\"#p-%s\">%s</a></td><td>%s</td><td><meter min=\"0\" max=\"3\" "
            "value=\"%d\">%d/3</meter></td></tr>",
            zt_pillar_key((zt_pillar)p),
            zt_console_esc(cx, zt_console_t(cx, zt_pillar_title((zt_pillar)p))),
            zt_console_esc(cx, zt_console_t(cx, zt_stage_title(r->stage[p]))), (int)r->stage[p],
            (int)r->stage[p]);
    zt_console_printf(cx, "</tbody></table>");
}

static void trend(zt_console_ctx *cx, const job *j)
{
    zt_console_printf(cx, "<h2>%s</h2>", zt_console_esc(cx, zt_console_t(cx, ASM_HISTORY)));
    if (j->n_runs == 0) {
        zt_console_printf(cx, "<p>%s</p>", zt_console_esc(cx, zt_console_t(cx, ASM_NO_HISTORY)));
        return;
    }
    zt_buf b;
    zt_buf_init(&b, 256 * 1024);
    if (zt_assess_trend_svg(j->runs, j->n_runs, cx->lang, &b) == 0 && zt_buf_cstr(&b) == 0)
        zt_console_printf(cx, "<figure class=\"chart\">%s</figure>", b.data); /* escaped inside */
    zt_buf_dispose(&b);
    /* the same figures as a table, for screen readers and copying */
    zt_console_printf(cx, "<table><thead><tr><th>%s</th>",
                      zt_console_esc(cx, zt_console_t(cx, ASM_GENERATED)));
    for (int p = 0; p < ZT_PILLAR_COUNT; p++)
        zt_console_printf(cx, "<th>%s</th>",
                          zt_console_esc(cx, zt_console_t(cx, zt_pillar_title((zt_pillar)p))));
    zt_console_printf(cx, "</tr></thead><tbody>");
    for (size_t i = 0; i < j->n_runs; i++) {
        zt_console_printf(cx, "<tr><td>%s</td>", zt_console_time(cx, j->runs[i].at));
        for (int p = 0; p < ZT_PILLAR_COUNT; p++)
            zt_console_printf(cx, "<td>%c</td>", j->runs[i].stages[p]);
        zt_console_printf(cx, "</tr>");
    }
    zt_console_printf(cx, "</tbody></table>");
}

static zt_msg fix_title(const zt_assess_check *ck)
{
    if (ck->c->kind == ZT_FIX_ANSWER)
        return ASM_FIX_ANSWER;
    return strncmp(ck->fix, "ztgate ", 7) == 0 ? ASM_FIX_COMMAND : ASM_FIX_CONFIG;
}

/* The check's figure in the page's language, valid until the next call on this thread (each
 * use is escaped into the arena at once). */
static const char *figure(zt_console_ctx *cx, const zt_assess_check *ck)
{
    static _Thread_local char buf[ZT_ASSESS_FIGURE_MAX * 2];
    zt_assess_figure(ck, cx->lang, buf, sizeof(buf));
    return buf;
}

static void measures(zt_console_ctx *cx, const zt_assess_result *r)
{
    zt_console_printf(cx, "<h2>%s</h2>", zt_console_esc(cx, zt_console_t(cx, ASM_MEASURES)));
    if (r->n_ranked == 0) {
        zt_console_printf(cx, "<p>%s</p>", zt_console_esc(cx, zt_console_t(cx, ASM_NO_MEASURES)));
        return;
    }
    zt_console_printf(cx, "<ol class=\"measures\">");
    for (size_t k = 0; k < r->n_ranked; k++) {
        const zt_assess_check *ck = &r->checks[r->ranked[k]];
        if (k == MEASURES_SHOWN) /* the rest folded: a tablet shows the first ones at once */
            zt_console_printf(cx,
                              "</ol><details><summary>%s (%zu)</summary><ol start=\"%zu\" "
                              "class=\"measures\">",
                              zt_console_esc(cx, zt_console_t(cx, ASM_MORE_MEASURES)),
                              r->n_ranked - MEASURES_SHOWN, k + 1);
        zt_console_printf(
            cx,
            "<li id=\"m-%s\"><strong>%s</strong> (%s → %s)<p>%s</p><p>%s: %s</p><p>%s:</p>"
            "<pre>%s</pre></li>",
            ck->c->id, zt_console_esc(cx, zt_console_t(cx, ck->c->title)),
            zt_console_esc(cx, zt_console_t(cx, zt_pillar_title(ck->c->pillar))),
            zt_console_esc(cx, zt_console_t(cx, zt_stage_title(ck->c->stage))),
            zt_console_esc(cx, zt_console_t(cx, ck->c->measure)),
            zt_console_esc(cx, zt_console_t(cx, ASM_FIGURE)), zt_console_esc(cx, figure(cx, ck)),
            zt_console_esc(cx, zt_console_t(cx, fix_title(ck))), zt_console_esc(cx, ck->fix));
    }
    zt_console_printf(cx, r->n_ranked > MEASURES_SHOWN ? "</ol></details>" : "</ol>");
}

static void evidence(zt_console_ctx *cx, const zt_assess_result *r)
{
    zt_console_printf(cx, "<h2>%s</h2>", zt_console_esc(cx, zt_console_t(cx, ASM_EVIDENCE)));
    for (int p = 0; p < ZT_PILLAR_COUNT; p++) {
        zt_console_printf(
            cx,
            "<details id=\"p-%s\"><summary>%s — %s</summary><table><thead><tr><th>%s</th>"
            "<th>%s</th><th>%s</th>"
            "<th>%s</th></tr></thead><tbody>",
            zt_pillar_key((zt_pillar)p),
            zt_console_esc(cx, zt_console_t(cx, zt_pillar_title((zt_pillar)p))),
            zt_console_esc(cx, zt_console_t(cx, zt_stage_title(r->stage[p]))),
            zt_console_esc(cx, zt_console_t(cx, ASM_CRITERION)),
            zt_console_esc(cx, zt_console_t(cx, ASM_NEEDED_FOR)),
            zt_console_esc(cx, zt_console_t(cx, ASM_FIGURE)),
            zt_console_esc(cx, zt_console_t(cx, ASM_SOURCE)));
        for (size_t i = 0; i < r->n_checks; i++) {
            const zt_assess_check *ck = &r->checks[i];
            if (ck->c->pillar != (zt_pillar)p)
                continue;
            zt_console_printf(cx,
                              "<tr><td><span class=\"badge %s\">%s</span> %s</td><td>%s</td>"
                              "<td>%s</td><td>%s</td></tr>",
                              ck->met ? "ok" : "bad",
                              zt_console_esc(cx, zt_console_t(cx, ck->met ? ASM_MET : ASM_UNMET)),
                              zt_console_esc(cx, zt_console_t(cx, ck->c->title)),
                              zt_console_esc(cx, zt_console_t(cx, zt_stage_title(ck->c->stage))),
                              zt_console_esc(cx, figure(cx, ck)),
                              zt_console_esc(cx, ck->c->source));
        }
        zt_console_printf(cx, "</tbody></table></details>");
    }
}

static void questionnaire(zt_console_ctx *cx, const zt_assess_facts *f)
{
    size_t n;
    const zt_assess_question *q = zt_assess_questions(&n);
    bool may = zt_console_may(cx, ZT_PERM_ASSESS);
    zt_console_printf(cx, "<h2>%s</h2>", zt_console_esc(cx, zt_console_t(cx, ASM_QUESTIONNAIRE)));
    if (may) {
        zt_console_form_open(cx, "/assess");
        zt_console_printf(cx, "<input type=\"hidden\" name=\"action\" value=\"answers\">");
    }
    zt_console_printf(cx, "<dl class=\"questions\">");
    for (size_t i = 0; i < n; i++) {
        int a = f->answers[i];
        zt_console_printf(cx, "<dt><label for=\"q-%zu\">%s</label></dt><dd>", i,
                          zt_console_esc(cx, zt_console_t(cx, q[i].text)));
        if (!may) {
            zt_console_printf(cx, "%s</dd>",
                              zt_console_esc(cx, zt_console_t(cx, a >= 0 ? q[i].value_text[a]
                                                                         : ASM_NOT_ANSWERED)));
            continue;
        }
        zt_console_printf(cx, "<select id=\"q-%zu\" name=\"%s\"><option value=\"\"%s>%s</option>",
                          i, q[i].key, a < 0 ? " selected" : "",
                          zt_console_esc(cx, zt_console_t(cx, ASM_NOT_ANSWERED)));
        for (int v = 0; v < ZT_ASSESS_Q_VALUES; v++)
            zt_console_printf(cx, "<option value=\"%s\"%s>%s</option>", q[i].values[v],
                              a == v ? " selected" : "",
                              zt_console_esc(cx, zt_console_t(cx, q[i].value_text[v])));
        zt_console_printf(cx, "</select></dd>");
    }
    zt_console_printf(cx, "</dl>");
    if (may)
        zt_console_printf(cx, "<button type=\"submit\">%s</button></form>",
                          zt_console_esc(cx, zt_console_t(cx, ASM_SAVE)));
}

static void render(job *j)
{
    zt_console_ctx *cx = j->cx;
    zt_console_begin(cx, ASM_TITLE);
    zt_console_printf(cx, "<p>%s</p>", zt_console_esc(cx, zt_console_t(cx, ASM_INTRO)));
    if (!j->facts.store_ok || (j->facts.audit_on && !j->facts.audit_read))
        zt_console_printf(cx, "<p class=\"notice bad\">%s</p>",
                          zt_console_esc(cx, zt_console_t(cx, ASM_NOT_MEASURED)));
    if (zt_console_may(cx, ZT_PERM_ASSESS)) {
        zt_console_form_open(cx, "/assess");
        zt_console_printf(cx,
                          "<input type=\"hidden\" name=\"action\" value=\"keep\">"
                          "<button type=\"submit\">%s</button></form>",
                          zt_console_esc(cx, zt_console_t(cx, ASM_RUN_KEEP)));
    }
    stages(cx, &j->result);
    trend(cx, j);
    measures(cx, &j->result);
    evidence(cx, &j->result);
    questionnaire(cx, &j->facts);
    zt_console_end(cx);
}

/* ---- measuring on the thread pool ---- */

static int run_cb(void *ctx, const zt_store_assess_run *r)
{
    job *j = ctx;
    if (j->n_runs == TREND_RUNS)
        return 0;
    j->runs[j->n_runs++] = *r;
    return 0;
}

static void work(uv_work_t *w)
{
    job *j = w->data;
    zt_console_ctx *cx = j->cx;
    zt_assess_gather(cx->r->cfg, zt_console_store(cx), cx->now, 0, &j->facts);
    zt_assess_evaluate(&j->facts, &j->result);
    if (!j->keep)
        zt_store_assess_run_list(zt_console_store(cx), TREND_RUNS, run_cb, j);
}

static void after(uv_work_t *w, int status)
{
    job *j = w->data;
    zt_console_ctx *cx = j->cx;
    if (status != 0) {
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, CON_UNAVAILABLE_BODY));
    } else if (j->keep) {
        zt_account_env env = zt_console_account_env(cx);
        zt_actor who = zt_console_actor(cx);
        int arc = 0;
        int rc = zt_assess_keep(&env, &who, &j->result, cx->now, &arc);
        if (rc != 0)
            zt_console_fail_rc(cx, rc);
        else
            zt_console_redirect_done(cx, "/assess", ASM_SAVED);
        if (rc == 0 && arc != 0)
            zt_warn("console: assessment kept, but its audit record failed (%d)", arc);
    } else {
        render(j);
    }
    free(j);
}

static void start(zt_console_ctx *cx, bool keep)
{
    job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, CON_UNAVAILABLE_BODY));
        return;
    }
    j->cx = cx;
    j->keep = keep;
    j->work.data = j;
    if (uv_queue_work(cx->r->loop, &j->work, work, after) != 0) {
        free(j);
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, CON_UNAVAILABLE_BODY));
    }
}

/* ---- changes ---- */

/* Every question's field checked before any is saved: a bad one changes nothing. */
static void save_answers(zt_console_ctx *cx)
{
    size_t n;
    const zt_assess_question *q = zt_assess_questions(&n);
    for (size_t i = 0; i < n; i++) {
        const char *v = zt_console_param(cx, q[i].key);
        if (v != NULL && v[0] != '\0' && zt_assess_answer_index(&q[i], v) < 0) {
            zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, ASM_BAD_ANSWER));
            return;
        }
    }
    zt_account_env env = zt_console_account_env(cx);
    zt_actor who = zt_console_actor(cx);
    for (size_t i = 0; i < n; i++) {
        const char *v = zt_console_param(cx, q[i].key);
        if (v == NULL || v[0] == '\0')
            continue; /* left unanswered: an answer is never taken back */
        int arc = 0;
        int rc = zt_assess_answer(&env, &who, q[i].key, v, cx->now, &arc);
        if (rc != 0) {
            zt_console_fail_rc(cx, rc);
            return;
        }
        if (arc != 0)
            zt_warn("console: assessment answer saved, but its audit record failed (%d)", arc);
    }
    zt_console_redirect_done(cx, "/assess", ASM_ANSWERS_SAVED);
}

static void handle(zt_console_ctx *cx)
{
    if (zt_console_subpath(cx)[0] != '\0') {
        zt_console_fail(cx, 404, CON_NOT_FOUND_TITLE, zt_console_t(cx, CON_NOT_FOUND_BODY));
        return;
    }
    if (cx->r->method != HTTP_POST) {
        start(cx, false);
        return;
    }
    if (!zt_console_post_ok(cx))
        return;
    if (!zt_console_may(cx, ZT_PERM_ASSESS)) {
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
        return;
    }
    const char *action = zt_console_param(cx, "action");
    if (action != NULL && strcmp(action, "answers") == 0)
        save_answers(cx);
    else if (action != NULL && strcmp(action, "keep") == 0)
        start(cx, true);
    else
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, ASM_BAD_ANSWER));
}

/* POLICY_READ: every role that reads the audit log reads policies too (auditor, security
 * operator, global admin); saving checks ZT_PERM_ASSESS. */
const zt_console_page zt_console_page_assess = {"/assess", false, ASM_TITLE, ZT_PERM_POLICY_READ,
                                                handle};
