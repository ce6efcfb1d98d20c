/* What if, `/whatif`: a form for one simulated request (user or a hypothetical user's groups,
 * app, address, country, device, platform, client, time, sign-in age and factors, risk levels)
 * answered by access/whatif.h — the module `ztgate whatif` runs — over the running
 * configuration's compiled policy set, the one the gateway decides with. The decision, the
 * policy that decided and every policy's verdict are shown; the decision is also in data-
 * attributes (data-verdict, data-policy) so tests compare it with `ztgate whatif --json`.
 * Only reads: a GET form, no CSRF needed. */
#include <errno.h>
#include <string.h>

#include "access/whatif.h"
#include "console/ops.h"
#include "console/ops_pages.h"
#include "lib/time.h"

static const char *const platforms[] = {"",        "windows",  "macos",   "linux", "ios",
                                        "android", "chromeos", "unknown", NULL};
static const char *const devices[] = {"", "compliant", "noncompliant", "unknown", NULL};
static const char *const clients[] = {"", "browser", "api", NULL};
static const char *const risks[] = {"", "none", "low", "medium", "high", NULL};

static const char *param(zt_console_ctx *cx, const char *name)
{
    const char *v = zt_console_param(cx, name);
    return v != NULL ? v : "";
}

static bool flag(zt_console_ctx *cx, const char *name)
{
    const char *v = zt_console_param(cx, name);
    return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "on") == 0);
}

/* Each field a box of the row: label above the control. */
static void label(zt_console_ctx *cx, const char *id, zt_msg m)
{
    zt_console_printf(cx, "<div><label for=\"%s\">", id);
    zt_console_msg(cx, m);
    zt_console_printf(cx, "</label>");
}

static void text_input(zt_console_ctx *cx, const char *id, zt_msg m, const char *type)
{
    label(cx, id, m);
    zt_console_printf(cx, "<input id=\"%s\" name=\"%s\" type=\"%s\" value=\"%s\"></div>", id, id,
                      type, zt_console_esc(cx, param(cx, id)));
}

static void select_input(zt_console_ctx *cx, const char *id, zt_msg m, const char *const *words)
{
    const char *cur = param(cx, id);
    label(cx, id, m);
    zt_console_printf(cx, "<select id=\"%s\" name=\"%s\">", id, id);
    for (size_t i = 0; words[i] != NULL; i++)
        zt_console_printf(cx, "<option value=\"%s\"%s>%s</option>", words[i],
                          strcmp(cur, words[i]) == 0 ? " selected" : "",
                          words[i][0] ? words[i] : "—");
    zt_console_printf(cx, "</select></div>");
}

static void check_input(zt_console_ctx *cx, const char *id, zt_msg m)
{
    zt_console_printf(cx, "<div><label><input type=\"checkbox\" name=\"%s\" value=\"1\"%s> ", id,
                      flag(cx, id) ? " checked" : "");
    zt_console_msg(cx, m);
    zt_console_printf(cx, "</label></div>");
}

static void app_select(zt_console_ctx *cx)
{
    const zt_config *cfg = cx->r->cfg;
    const char *cur = param(cx, "app");
    label(cx, "app", COP_WF_APP);
    zt_console_printf(cx, "<select id=\"app\" name=\"app\">");
    for (size_t i = 0; i < cfg->n_apps; i++)
        zt_console_printf(cx, "<option%s>%s</option>",
                          strcmp(cur, cfg->apps[i].name) == 0 ? " selected" : "",
                          zt_console_esc(cx, cfg->apps[i].name));
    zt_console_printf(cx, "</select></div>");
}

static void form(zt_console_ctx *cx)
{
    zt_console_printf(cx, "<p>");
    zt_console_msg(cx, COP_WF_INTRO);
    zt_console_printf(cx,
                      "</p><form method=\"get\" action=\"/whatif\" class=\"row\" id=\"whatif\">");
    text_input(cx, "user", COP_WF_USER, "email");
    text_input(cx, "groups", COP_WF_GROUPS, "text");
    app_select(cx);
    text_input(cx, "ip", COP_WF_IP, "text");
    text_input(cx, "country", COP_WF_COUNTRY, "text");
    select_input(cx, "device", COP_WF_DEVICE, devices);
    select_input(cx, "platform", COP_WF_PLATFORM, platforms);
    select_input(cx, "client", COP_WF_CLIENT, clients);
    text_input(cx, "at", COP_WF_AT, "text");
    text_input(cx, "auth_age", COP_WF_AUTH_AGE, "text");
    select_input(cx, "sign_in_risk", COP_WF_SIGN_IN_RISK, risks);
    select_input(cx, "user_risk", COP_WF_USER_RISK, risks);
    select_input(cx, "device_risk", COP_WF_DEVICE_RISK, risks);
    check_input(cx, "mfa", COP_WF_MFA);
    check_input(cx, "phishing_resistant", COP_WF_PHISHING_RESISTANT);
    check_input(cx, "anonymous_ip", COP_WF_ANONYMOUS);
    check_input(cx, "password_change", COP_WF_PASSWORD_CHANGE);
    zt_console_printf(cx, "<button type=\"submit\">");
    zt_console_msg(cx, COP_WF_SUBMIT);
    zt_console_printf(cx, "</button></form>");
}

static void policy_rows(zt_console_ctx *cx, const zt_whatif_env *env, const zt_whatif_answer *a)
{
    zt_console_printf(cx, "<h3>");
    zt_console_msg(cx, COP_WF_POLICY_VERDICTS);
    zt_console_printf(cx, "</h3><div class=\"table-wrap\"><table class=\"list\" id=\"verdicts\">"
                          "<thead><tr>");
    cop_th(cx, COP_NAME);
    cop_th(cx, COP_STATE);
    cop_th(cx, COP_WF_DECISION);
    zt_console_printf(cx, "</tr></thead><tbody>");
    for (size_t i = 0; i < zt_policy_count(env->set); i++) {
        const zt_policy_cfg *p = &env->cfg->policies[i];
        bool applies = a->misses[i] == ZT_MISS_NONE;
        zt_console_printf(cx,
                          "<tr data-policy=\"%s\" data-applies=\"%s\"><td><a "
                          "href=\"/policies/%s\">%s</a></td><td>",
                          zt_console_esc(cx, p->name), applies ? "yes" : "no",
                          zt_console_url_enc(cx, p->name), zt_console_esc(cx, p->name));
        zt_console_msg(cx, cop_state_msg(p->state));
        zt_console_printf(cx, "</td><td>%s", applies ? "<strong>" : "");
        zt_console_msg(cx, cop_miss_msg(a->misses[i]));
        zt_console_printf(cx, "%s</td></tr>", applies ? "</strong>" : "");
    }
    zt_console_printf(cx, "</tbody></table></div>");
}

static void answer(zt_console_ctx *cx, const zt_whatif_env *env, const zt_whatif *w,
                   const zt_whatif_answer *a)
{
    const zt_policy_result *res = &a->res;
    int cause = zt_policy_cause(env->set, &w->in, res);
    const char *verdict = zt_whatif_verdict(res);
    const char *policy = cause >= 0 ? zt_policy_name(env->set, cause) : "";
    zt_console_printf(cx,
                      "<section class=\"card\" id=\"answer\" data-verdict=\"%s\" "
                      "data-decision=\"%s\" data-policy=\"%s\"><h2>",
                      verdict, zt_outcome_name(res->outcome), zt_console_esc(cx, policy));
    zt_console_msg(cx, COP_WF_DECISION);
    zt_console_printf(cx, ": <span class=\"badge %s\">",
                      res->outcome == ZT_OUTCOME_ALLOW   ? "ok"
                      : res->outcome == ZT_OUTCOME_BLOCK ? "bad"
                                                         : "warn");
    zt_console_msg(cx, cop_verdict_msg(res));
    zt_console_printf(cx, "</span></h2><dl class=\"facts\"><dt>");
    zt_console_msg(cx, COP_WF_DECIDING);
    zt_console_printf(cx, "</dt><dd>");
    if (cause >= 0)
        zt_console_printf(cx, "<a href=\"/policies/%s\">%s</a>", zt_console_url_enc(cx, policy),
                          zt_console_esc(cx, policy));
    else
        zt_console_msg(cx, COP_NONE);
    zt_console_printf(cx, "</dd><dt>");
    zt_console_msg(cx, COP_WF_REPORT_ONLY);
    const char *ro = zt_outcome_name(res->report_only_outcome);
    zt_msg ro_word = cop_verdict_word_msg(ro);
    zt_console_printf(cx, "</dt><dd data-report-only=\"%s\">%s</dd>", ro,
                      ro_word != MSG_NONE ? zt_console_esc(cx, zt_console_t(cx, ro_word)) : ro);
    if (res->restrict_flags != 0 || res->sign_in_frequency_s >= 0) {
        zt_console_printf(cx, "<dt>");
        zt_console_msg(cx, COP_SESSION);
        zt_console_printf(cx, "</dt><dd>");
        if (res->restrict_flags & ZT_RESTRICT_READ_ONLY) {
            zt_console_msg(cx, COP_SESSION_READ_ONLY);
            zt_console_printf(cx, " ");
        }
        if (res->restrict_flags & ZT_RESTRICT_NO_DOWNLOAD) {
            zt_console_msg(cx, COP_SESSION_NO_DOWNLOAD);
            zt_console_printf(cx, " ");
        }
        if (res->sign_in_frequency_s >= 0) {
            char f[24];
            zt_whatif_freq(res->sign_in_frequency_s, f);
            zt_console_msg(cx, COP_SESSION_FREQUENCY);
            zt_console_printf(cx, " %s", f);
        }
        zt_console_printf(cx, "</dd>");
    }
    zt_console_printf(cx, "</dl>");
    if (w->disabled) {
        zt_console_printf(cx, "<p class=\"error\">");
        zt_console_msg(cx, COP_WF_DISABLED_USER);
        zt_console_printf(cx, "</p>");
    }
    if (a->ref_disagrees) {
        zt_console_printf(cx, "<p class=\"error\">");
        zt_console_msg(cx, COP_WF_REF_DISAGREES);
        zt_console_printf(cx, "</p>");
    }
    zt_console_printf(cx, "</section>");
    policy_rows(cx, env, a);
}

static void bad_field(zt_console_ctx *cx, zt_msg field)
{
    cx->r->status = 400;
    zt_console_printf(cx, "<p class=\"error\" role=\"alert\">");
    if (field == COP_WF_NO_USER || field == COP_WF_NO_APP || field == COP_WF_NEED_USER) {
        zt_console_msg(cx, field);
    } else {
        zt_console_msg(cx, COP_BAD_VALUE);
        zt_console_printf(cx, ": ");
        zt_console_msg(cx, field);
    }
    zt_console_printf(cx, "</p>");
}

static void read_form(zt_console_ctx *cx, cop_whatif_form *f)
{
    *f = (cop_whatif_form){.user = param(cx, "user"),
                           .groups = zt_console_param(cx, "groups"),
                           .app = param(cx, "app"),
                           .ip = param(cx, "ip"),
                           .country = param(cx, "country"),
                           .device = param(cx, "device"),
                           .platform = param(cx, "platform"),
                           .client = param(cx, "client"),
                           .at = param(cx, "at"),
                           .auth_age = param(cx, "auth_age"),
                           .sign_in_risk = param(cx, "sign_in_risk"),
                           .user_risk = param(cx, "user_risk"),
                           .device_risk = param(cx, "device_risk"),
                           .mfa = flag(cx, "mfa"),
                           .phishing_resistant = flag(cx, "phishing_resistant"),
                           .anonymous_ip = flag(cx, "anonymous_ip"),
                           .password_change = flag(cx, "password_change")};
    if (f->groups != NULL && f->groups[0] == '\0')
        f->groups = NULL; /* an empty box is "not given" on the form */
}

/* A user outside a scoped admin's groups is answered as unknown (their groups are not shown). */
static int evaluate(zt_console_ctx *cx, zt_whatif_env *env, zt_whatif *w, zt_whatif_answer *a,
                    zt_msg *bad)
{
    cop_whatif_form f;
    char err[256];
    read_form(cx, &f);
    int rc = cop_whatif_build(env, w, &f, bad, err, sizeof(err));
    if (rc == 0 && w->user_id[0] != '\0') {
        int in = zt_console_user_in_scope(cx, w->user_id);
        if (in != 1) {
            *bad = COP_WF_NO_USER;
            return in < 0 ? in : -ENOENT;
        }
    }
    if (rc == 0 && zt_whatif_eval(env, w, a) != 0)
        return -ENOMEM;
    return rc;
}

static void whatif(zt_console_ctx *cx)
{
    zt_whatif_env env = {.cfg = cx->r->cfg, .set = cx->r->policies, .st = zt_console_store(cx)};
    zt_whatif w;
    zt_whatif_answer a = {0};
    zt_msg bad = MSG_NONE;
    bool asked = zt_console_param(cx, "app") != NULL;
    int rc = 0;
    zt_whatif_init(&w, zt_wall_us() / 1000000);
    if (asked)
        rc = evaluate(cx, &env, &w, &a, &bad);
    if (asked && rc != 0 && bad == MSG_NONE) {
        zt_whatif_answer_dispose(&a);
        zt_whatif_dispose(&w);
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_begin(cx, COP_WHATIF_TITLE);
    if (asked && rc != 0)
        bad_field(cx, bad);
    form(cx);
    if (asked && rc == 0)
        answer(cx, &env, &w, &a);
    zt_whatif_answer_dispose(&a);
    zt_whatif_dispose(&w);
    zt_console_end(cx);
}

const zt_console_page zt_console_page_whatif = {"/whatif", false, COP_WHATIF_TITLE,
                                                ZT_PERM_POLICY_READ, whatif};
