/* Pure parts of the console's operations pages (ops.h). */
#include "console/ops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/levels.h"
#include "lib/str.h"
#include "lib/time.h"
#include "http/pages.h"

/* ---------------------------------------------------------------------------------------------
 * Words */

zt_msg cop_state_msg(zt_policy_state s)
{
    return s == ZT_POLICY_ON            ? COP_STATE_ON
           : s == ZT_POLICY_REPORT_ONLY ? COP_STATE_REPORT_ONLY
                                        : COP_STATE_OFF;
}

zt_msg cop_miss_msg(zt_policy_miss m)
{
    static const zt_msg msgs[] = {
        [ZT_MISS_NONE] = COP_WF_APPLIES,
        [ZT_MISS_STATE_OFF] = COP_MISS_OFF,
        [ZT_MISS_USER_NOT_INCLUDED] = COP_MISS_USER_NOT_INCLUDED,
        [ZT_MISS_USER_EXCLUDED] = COP_MISS_USER_EXCLUDED,
        [ZT_MISS_APP_NOT_INCLUDED] = COP_MISS_APP_NOT_INCLUDED,
        [ZT_MISS_APP_EXCLUDED] = COP_MISS_APP_EXCLUDED,
        [ZT_MISS_USER_RISK] = COP_MISS_USER_RISK,
        [ZT_MISS_SIGN_IN_RISK] = COP_MISS_SIGN_IN_RISK,
        [ZT_MISS_DEVICE] = COP_MISS_DEVICE,
        [ZT_MISS_PLATFORM] = COP_MISS_PLATFORM,
        [ZT_MISS_LOCATION] = COP_MISS_LOCATION,
        [ZT_MISS_ANONYMOUS_IP] = COP_MISS_ANONYMOUS_IP,
        [ZT_MISS_CLIENT] = COP_MISS_CLIENT,
        [ZT_MISS_TIME] = COP_MISS_TIME,
    };
    return (size_t)m < sizeof(msgs) / sizeof(msgs[0]) ? msgs[m] : MSG_NONE;
}

zt_msg cop_control_msg(zt_control c)
{
    switch (c) {
    case ZT_CTL_MFA:
        return COP_CTL_MFA;
    case ZT_CTL_PHISHING_RESISTANT_MFA:
        return COP_CTL_PHISHING_RESISTANT;
    case ZT_CTL_COMPLIANT_DEVICE:
        return COP_CTL_COMPLIANT_DEVICE;
    case ZT_CTL_PASSWORD_CHANGE:
        return COP_CTL_PASSWORD_CHANGE;
    }
    return MSG_NONE;
}

static const struct {
    const char *word;
    zt_msg msg;
} verdict_words[] = {
    {"allow", COP_V_ALLOW},
    {"block", COP_V_BLOCK},
    {"mfa", COP_V_MFA},
    {"phishing_resistant_mfa", COP_V_PHISHING_RESISTANT},
    {"compliant_device", COP_V_COMPLIANT_DEVICE},
    {"password_change", COP_V_PASSWORD_CHANGE},
    {"reauth", COP_V_REAUTH},
};

zt_msg cop_verdict_word_msg(const char *word)
{
    for (size_t i = 0; word != NULL && i < sizeof(verdict_words) / sizeof(verdict_words[0]); i++)
        if (strcmp(verdict_words[i].word, word) == 0)
            return verdict_words[i].msg;
    return MSG_NONE;
}

zt_msg cop_verdict_msg(const zt_policy_result *res)
{
    return cop_verdict_word_msg(zt_whatif_verdict(res));
}

/* ---------------------------------------------------------------------------------------------
 * Policies in words */

static int esc(zt_buf *b, const char *s)
{
    return zt_html_escape(b, s != NULL ? s : "");
}

int cop_words_list(zt_buf *b, zt_lang lang, const zt_cfg_word *v, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = zt_buf_append_str(b, ", ");
        if (rc == 0 && strcmp(v[i].s, "all") == 0)
            rc = esc(b, zt_msg_text(lang, COP_ALL));
        else if (rc == 0)
            rc = esc(b, v[i].s);
    }
    if (n == 0 && rc == 0)
        rc = esc(b, zt_msg_text(lang, COP_NONE));
    return rc;
}

/* <dt>label</dt><dd>include (except: exclude)</dd> */
static int assign_row(zt_buf *b, zt_lang lang, zt_msg label, const zt_assign_cfg *a)
{
    int rc = zt_buf_printf(b, "<dt>%s</dt><dd>", zt_msg_text(lang, label));
    if (rc == 0)
        rc = cop_words_list(b, lang, a->include, a->n_include);
    if (rc == 0 && a->n_exclude > 0) {
        rc = zt_buf_printf(b, " (%s: ", zt_msg_text(lang, COP_EXCEPT));
        if (rc == 0)
            rc = cop_words_list(b, lang, a->exclude, a->n_exclude);
        if (rc == 0)
            rc = zt_buf_append_str(b, ")");
    }
    return rc != 0 ? rc : zt_buf_append_str(b, "</dd>");
}

/* "low, high" of a mask over words[] (bit i = word i). */
static int mask_words(zt_buf *b, unsigned mask, const char *(*name)(int), int n)
{
    int rc = 0;
    bool first = true;
    for (int i = 0; i < n && rc == 0; i++) {
        if (!(mask & (1u << i)))
            continue;
        rc = zt_buf_printf(b, "%s%s", first ? "" : ", ", name(i));
        first = false;
    }
    return rc;
}

static const char *risk_word(int i)
{
    return zt_risk_name((zt_risk)i);
}

static const char *platform_word(int i)
{
    static const char *const w[] = {"unknown", "windows", "macos",   "linux",
                                    "ios",     "android", "chromeos"};
    return i >= 0 && i < 7 ? w[i] : "?";
}

static const char *client_word(int i)
{
    return i == ZT_CLIENT_API ? "api" : "browser";
}

static int cond_line(zt_buf *b, zt_lang lang, zt_msg label, unsigned mask, const char *(*name)(int),
                     int n)
{
    int rc = zt_buf_printf(b, "<li>%s: ", zt_msg_text(lang, label));
    if (rc == 0)
        rc = mask_words(b, mask, name, n);
    return rc != 0 ? rc : zt_buf_append_str(b, "</li>");
}

static int cond_text(zt_buf *b, zt_lang lang, zt_msg m)
{
    return zt_buf_printf(b, "<li>%s</li>", zt_msg_text(lang, m));
}

static int device_conditions(zt_buf *b, zt_lang lang, const zt_device_cond_cfg *d)
{
    int rc = 0;
    if (d->has_compliant)
        rc = cond_text(b, lang,
                       d->compliant ? COP_COND_DEVICE_COMPLIANT : COP_COND_DEVICE_NONCOMPLIANT);
    if (rc == 0 && d->has_enrolled)
        rc = cond_text(b, lang,
                       d->enrolled ? COP_COND_DEVICE_ENROLLED : COP_COND_DEVICE_NOT_ENROLLED);
    if (rc == 0 && d->risk_mask != 0)
        rc = cond_line(b, lang, COP_COND_DEVICE_RISK, d->risk_mask, risk_word, ZT_RISK_LEVELS + 1);
    if (rc == 0 && d->platform_mask != 0)
        rc = cond_line(b, lang, COP_COND_PLATFORM, d->platform_mask, platform_word, 7);
    return rc;
}

static int time_condition(zt_buf *b, zt_lang lang, const zt_time_cond_cfg *t)
{
    static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    int rc = zt_buf_printf(b, "<li>%s: ", zt_msg_text(lang, COP_COND_TIME));
    for (int i = 0; i < 7 && rc == 0 && t->days_mask != 0; i++)
        if (t->days_mask & (1u << i))
            rc = zt_buf_printf(b, "%s ", days[i]);
    if (rc == 0 && (t->has_from || t->has_to))
        rc = zt_buf_printf(b, "%02u:%02u–%02u:%02u ", t->has_from ? t->from_min / 60 : 0,
                           t->has_from ? t->from_min % 60 : 0, t->has_to ? t->to_min / 60 : 24,
                           t->has_to ? t->to_min % 60 : 0);
    if (rc == 0)
        rc = esc(b, t->timezone != NULL ? t->timezone : "UTC");
    return rc != 0 ? rc : zt_buf_append_str(b, "</li>");
}

static int conditions(zt_buf *b, zt_lang lang, const zt_cond_cfg *c)
{
    size_t before = b->len;
    int rc = zt_buf_printf(b, "<dt>%s</dt><dd><ul>", zt_msg_text(lang, COP_CONDITIONS));
    size_t start = b->len;
    if (rc == 0 && c->user_risk_mask != 0)
        rc = cond_line(b, lang, COP_COND_USER_RISK, c->user_risk_mask, risk_word,
                       ZT_RISK_LEVELS + 1);
    if (rc == 0 && c->sign_in_risk_mask != 0)
        rc = cond_line(b, lang, COP_COND_SIGN_IN_RISK, c->sign_in_risk_mask, risk_word,
                       ZT_RISK_LEVELS + 1);
    if (rc == 0 && c->has_device)
        rc = device_conditions(b, lang, &c->device);
    if (rc == 0 && c->has_locations) {
        rc = zt_buf_printf(b, "<li>%s: ", zt_msg_text(lang, COP_COND_LOCATIONS));
        if (rc == 0)
            rc = cop_words_list(b, lang, c->locations.include, c->locations.n_include);
        if (rc == 0 && c->locations.n_exclude > 0) {
            rc = zt_buf_printf(b, " (%s: ", zt_msg_text(lang, COP_EXCEPT));
            if (rc == 0)
                rc = cop_words_list(b, lang, c->locations.exclude, c->locations.n_exclude);
            if (rc == 0)
                rc = zt_buf_append_str(b, ")");
        }
        if (rc == 0)
            rc = zt_buf_append_str(b, "</li>");
    }
    if (rc == 0 && c->has_anonymous_ip)
        rc = cond_text(b, lang, c->anonymous_ip ? COP_COND_ANONYMOUS : COP_COND_NOT_ANONYMOUS);
    if (rc == 0 && c->client_mask != 0)
        rc = cond_line(b, lang, COP_COND_CLIENT, c->client_mask, client_word, 2);
    if (rc == 0 && c->has_time)
        rc = time_condition(b, lang, &c->time);
    if (rc == 0 && b->len == start)
        rc = cond_text(b, lang, COP_NO_CONDITIONS);
    if (rc != 0)
        b->len = before;
    return rc != 0 ? rc : zt_buf_append_str(b, "</ul></dd>");
}

static int grant(zt_buf *b, zt_lang lang, const zt_grant_cfg *g)
{
    static const zt_control order[] = {ZT_CTL_MFA, ZT_CTL_PHISHING_RESISTANT_MFA,
                                       ZT_CTL_COMPLIANT_DEVICE, ZT_CTL_PASSWORD_CHANGE};
    int rc = zt_buf_printf(b, "<dt>%s</dt><dd>", zt_msg_text(lang, COP_GRANT));
    if (rc == 0 && g->block)
        rc = esc(b, zt_msg_text(lang, COP_GRANT_BLOCK));
    else if (rc == 0 && g->controls == 0)
        rc = esc(b, zt_msg_text(lang, COP_GRANT_NOTHING));
    else if (rc == 0) {
        rc = zt_buf_printf(b, "%s:<ul>",
                           zt_msg_text(lang, g->operator_or ? COP_GRANT_ONE_OF : COP_GRANT_ALL_OF));
        for (size_t i = 0; i < 4 && rc == 0; i++)
            if (g->controls & (unsigned)order[i])
                rc = zt_buf_printf(b, "<li>%s</li>", zt_msg_text(lang, cop_control_msg(order[i])));
        if (rc == 0 && g->has_strength) {
            rc = zt_buf_printf(b, "<li>%s: ", zt_msg_text(lang, COP_STRENGTH));
            if (rc == 0)
                rc = cop_words_list(b, lang, g->strength.aaguids, g->strength.n_aaguids);
            if (rc == 0)
                rc = zt_buf_append_str(b, "</li>");
        }
        if (rc == 0)
            rc = zt_buf_append_str(b, "</ul>");
    }
    return rc != 0 ? rc : zt_buf_append_str(b, "</dd>");
}

static int session(zt_buf *b, zt_lang lang, const zt_session_ctl_cfg *s)
{
    if (!s->has_sign_in_frequency && s->restrict_flags == 0)
        return 0;
    int rc = zt_buf_printf(b, "<dt>%s</dt><dd><ul>", zt_msg_text(lang, COP_SESSION));
    if (rc == 0 && s->has_sign_in_frequency) {
        char f[24];
        zt_whatif_freq(s->sign_in_frequency_s, f);
        rc = zt_buf_printf(b, "<li>%s: %s</li>", zt_msg_text(lang, COP_SESSION_FREQUENCY),
                           s->sign_in_frequency_s == 0 ? zt_msg_text(lang, COP_SESSION_EVERY_TIME)
                                                       : f);
    }
    if (rc == 0 && (s->restrict_flags & ZT_RESTRICT_READ_ONLY))
        rc = cond_text(b, lang, COP_SESSION_READ_ONLY);
    if (rc == 0 && (s->restrict_flags & ZT_RESTRICT_NO_DOWNLOAD))
        rc = cond_text(b, lang, COP_SESSION_NO_DOWNLOAD);
    return rc != 0 ? rc : zt_buf_append_str(b, "</ul></dd>");
}

int cop_policy_words(zt_buf *b, zt_lang lang, const zt_policy_cfg *p)
{
    int rc =
        zt_buf_printf(b, "<dl class=\"facts policy\"><dt>%s</dt><dd class=\"state-%s\">%s</dd>",
                      zt_msg_text(lang, COP_STATE),
                      p->state == ZT_POLICY_ON            ? "on"
                      : p->state == ZT_POLICY_REPORT_ONLY ? "report-only"
                                                          : "off",
                      zt_msg_text(lang, cop_state_msg(p->state)));
    if (rc == 0)
        rc = assign_row(b, lang, COP_ASSIGN_USERS, &p->users);
    if (rc == 0)
        rc = assign_row(b, lang, COP_ASSIGN_APPS, &p->apps);
    if (rc == 0)
        rc = conditions(b, lang, &p->conditions);
    if (rc == 0)
        rc = grant(b, lang, &p->grant);
    if (rc == 0)
        rc = session(b, lang, &p->session);
    return rc != 0 ? rc : zt_buf_append_str(b, "</dl>");
}

/* ---------------------------------------------------------------------------------------------
 * The what-if form */

static bool given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Each typed value through the parser `ztgate whatif` uses for the same flag. */
static zt_msg whatif_values(const cop_whatif_form *f, zt_whatif *w)
{
    int64_t age = 0;
    if (given(f->ip) && !zt_whatif_parse_ip(f->ip, w))
        return COP_WF_IP;
    if (given(f->country) && !zt_whatif_parse_country(f->country, w))
        return COP_WF_COUNTRY;
    if (given(f->device) && !zt_whatif_parse_device(f->device, w))
        return COP_WF_DEVICE;
    if (given(f->platform) && !zt_whatif_parse_platform(f->platform, &w->in.platform))
        return COP_WF_PLATFORM;
    if (given(f->client) && !zt_whatif_parse_client(f->client, &w->in.client))
        return COP_WF_CLIENT;
    if (given(f->sign_in_risk) && !zt_whatif_parse_risk(f->sign_in_risk, &w->in.sign_in_risk))
        return COP_WF_SIGN_IN_RISK;
    if (given(f->user_risk) && !zt_whatif_parse_risk(f->user_risk, &w->in.user_risk))
        return COP_WF_USER_RISK;
    if (given(f->device_risk) && !zt_whatif_parse_risk(f->device_risk, &w->in.device_risk))
        return COP_WF_DEVICE_RISK;
    if (given(f->at) && !zt_whatif_parse_time(f->at, &w->in.now))
        return COP_WF_AT;
    if (given(f->auth_age) && !zt_whatif_parse_duration(f->auth_age, &age))
        return COP_WF_AUTH_AGE;
    w->in.anonymous_ip = f->anonymous_ip;
    w->in.password_change_required = f->password_change;
    zt_whatif_set_session(w, age, f->mfa, f->phishing_resistant);
    return MSG_NONE;
}

int cop_whatif_build(zt_whatif_env *env, zt_whatif *w, const cop_whatif_form *f, zt_msg *bad,
                     char *err, size_t errlen)
{
    *bad = MSG_NONE;
    err[0] = '\0';
    if (!given(f->app)) {
        *bad = COP_WF_APP;
        return -EINVAL;
    }
    if (!zt_whatif_app(env, w, f->app)) {
        *bad = COP_WF_NO_APP;
        return -ENOENT;
    }
    if ((*bad = whatif_values(f, w)) != MSG_NONE)
        return -EINVAL;
    if (f->groups != NULL && !given(f->user) && f->groups[0] == '\0') {
        *bad = COP_WF_NEED_USER;
        return -EINVAL;
    }
    if (given(f->groups)) {
        if (zt_whatif_groups_list(w, given(f->user) ? f->user : NULL, f->groups) != 0) {
            *bad = COP_WF_GROUPS;
            return -EINVAL;
        }
        return 0;
    }
    if (!given(f->user)) {
        *bad = COP_WF_NEED_USER;
        return -EINVAL;
    }
    int rc = zt_whatif_user(env, w, f->user, err, errlen);
    if (rc == -ENOENT)
        *bad = COP_WF_NO_USER;
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The audit search form */

const cop_class cop_classes[] = {
    {"http_activity", 4002},     {"authentication", 3002},        {"account_change", 3001},
    {"authorize_session", 3003}, {"detection_finding", 2004},     {"compliance_finding", 2003},
    {"network_activity", 4001},  {"application_lifecycle", 6002}, {NULL, 0},
};

bool cop_ref_valid(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    return n > 0 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

/* A text filter: at most COP_FIELD_MAX bytes, no control characters. */
static bool text_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > COP_FIELD_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool time_us(const char *s, int64_t *out)
{
    return zt_parse_rfc3339(s, strlen(s), 0, out);
}

static bool class_uid(const char *s, long *out)
{
    for (size_t i = 0; cop_classes[i].name != NULL; i++)
        if (strcmp(s, cop_classes[i].name) == 0) {
            *out = cop_classes[i].uid;
            return true;
        }
    return false;
}

/* Each given text field: kept when it reads well, else its label. */
static zt_msg audit_texts(const cop_audit_form *form, zt_aq_filter *f)
{
    const struct {
        const char *v;
        const char **slot;
        zt_msg label;
    } texts[] = {
        {form->user, &f->user, COP_F_USER},
        {form->device, &f->device, COP_F_DEVICE},
        {form->app, &f->app, COP_F_APP},
        {form->text, &f->text, COP_F_TEXT},
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (!given(texts[i].v))
            continue;
        if (!text_ok(texts[i].v))
            return texts[i].label;
        *texts[i].slot = texts[i].v;
    }
    return MSG_NONE;
}

zt_msg cop_audit_filter(const cop_audit_form *form, zt_aq_filter *f, uint64_t *cursor)
{
    unsigned long long v;
    zt_aq_filter_init(f);
    *cursor = 0;
    if (given(form->from) && !time_us(form->from, &f->since_us))
        return COP_F_FROM;
    if (given(form->to) && !time_us(form->to, &f->until_us))
        return COP_F_TO;
    if (given(form->from) && given(form->to) && f->since_us > f->until_us)
        return COP_F_TO;
    if (given(form->ip)) {
        if (strlen(form->ip) > 64 || !zt_cidr_parse(form->ip, &f->ip))
            return COP_F_IP;
        f->have_ip = true;
    }
    if (given(form->decision)) {
        if (!text_ok(form->decision) || !zt_aq_decision_valid(form->decision))
            return COP_F_DECISION;
        f->decision = form->decision;
    }
    if (given(form->cls) && !class_uid(form->cls, &f->class_uid))
        return COP_F_CLASS;
    if (given(form->ref)) {
        if (!cop_ref_valid(form->ref))
            return COP_F_REF;
        f->ref = form->ref;
    }
    if (given(form->cursor) &&
        (!zt_parse_u64(form->cursor, strlen(form->cursor), UINT64_MAX, &v) || v == 0))
        return COP_AUDIT_MORE;
    if (given(form->cursor))
        *cursor = (uint64_t)v;
    return audit_texts(form, f);
}

/* ---------------------------------------------------------------------------------------------
 * Advice */

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The pipeline's reasons: "policy NAME requires CONTROL", "blocked by policy NAME", ... (a
 * policy's name is read only from where the pipeline puts it, so a name cannot pose as one). */
size_t cop_ref_advice(const char *decision, const char *reasons, zt_msg *out, size_t max)
{
    static const struct {
        const char *tail;
        zt_msg msg;
    } needs[] = {
        {" requires phishing_resistant_mfa", COP_REF_DO_PASSKEY},
        {" requires mfa", COP_REF_DO_MFA},
        {" requires compliant_device", COP_REF_DO_DEVICE},
        {" requires password_change", COP_REF_DO_PASSWORD},
        {" requires sign_in", COP_V_REAUTH},
    };
    size_t n = 0;
    if (max == 0)
        return 0;
    if (decision != NULL && strcmp(decision, "allow") == 0) {
        out[n++] = COP_REF_DO_NOTHING;
        return n;
    }
    for (size_t i = 0; reasons != NULL && i < sizeof(needs) / sizeof(needs[0]) && n == 0; i++)
        if (strncmp(reasons, "policy ", 7) == 0 && ends_with(reasons, needs[i].tail))
            out[n++] = needs[i].msg;
    if (n == 0 && reasons != NULL && strncmp(reasons, "blocked by policy ", 18) == 0)
        out[n++] = COP_REF_DO_BLOCK;
    if (n == 0)
        out[n++] = MSG_DO_CONTACT_ADMIN;
    return n;
}

bool cop_lists_report_only(const char *policies, const char *name)
{
    static const char tag[] = " (report-only)";
    size_t n = strlen(name);
    for (const char *p = policies; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == n + sizeof(tag) - 1 && strncmp(p, name, n) == 0 &&
            strncmp(p + n, tag, sizeof(tag) - 1) == 0)
            return true;
        p = end != NULL ? end + 1 : NULL;
    }
    return false;
}
