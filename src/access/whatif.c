/* "What if": one simulated sign-in against compiled Conditional Access policies, explained
 * policy by policy (Entra's What If tool, specs.md §2.8). One implementation for every front:
 * `ztgate whatif` and `ztgate policy test` (src/cli), the console's what-if form (src/console).
 * The decision is zt_policy_eval over the same compiled set the gateway enforces with, so the
 * answer is the gateway's. It only reads: the store is used for user look-ups. */
#include "access/whatif.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/net.h"
#include "lib/str.h"
#include "lib/time.h"
#include "policy/reference.h"

#define WHATIF_DURATION_MAX_S (3660ll * 86400) /* auth ages beyond ten years are typos */

/* "2026-11-24T09:00:00Z", "-" for none (the CLI's time format). */
static void whatif_time(int64_t t, char out[40])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 40, "-");
}

/* ---------------------------------------------------------------------------------------------
 * The simulated request */

void zt_whatif_init(zt_whatif *w, int64_t now)
{
    memset(w, 0, sizeof(*w));
    w->in.client = ZT_CLIENT_BROWSER;
    w->in.platform = ZT_PLATFORM_UNKNOWN;
    w->in.now = now;
    w->in.auth_time = now;
    w->in.sensitivity = -1;
}

void zt_whatif_dispose(zt_whatif *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n_groups; i++)
        free(w->groups[i]);
    free(w->groups);
    w->groups = NULL;
    w->n_groups = 0;
}

static int whatif_add_group(zt_whatif *w, const char *name)
{
    if (w->n_groups == ZT_WHATIF_GROUPS_MAX)
        return -E2BIG;
    char **g = realloc(w->groups, (w->n_groups + 1) * sizeof(*g));
    if (g == NULL)
        return -ENOMEM;
    w->groups = g;
    if ((g[w->n_groups] = strdup(name)) == NULL)
        return -ENOMEM;
    w->n_groups++;
    w->in.groups = (const char *const *)w->groups;
    w->in.n_groups = w->n_groups;
    return 0;
}

static int whatif_group_cb(void *ctx, const char *name)
{
    return whatif_add_group(ctx, name);
}

int zt_whatif_user(zt_whatif_env *env, zt_whatif *w, const char *email, char *err, size_t errlen)
{
    zt_user u;
    int rc = env->open_store != NULL ? env->open_store(env, err, errlen) : 0;
    if (rc != 0)
        return rc;
    if (env->st == NULL) {
        snprintf(err, errlen, "user %s not found (no user store in %s)", email,
                 env->cfg->state_dir != NULL ? env->cfg->state_dir : "state_dir");
        return -ENOENT;
    }
    rc = zt_store_user_get_by_email(env->st, email, &u);
    if (rc == -ENOENT) {
        snprintf(err, errlen, "user %s not found", email);
        return rc;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s", zt_store_errmsg());
        return rc;
    }
    snprintf(w->email, sizeof(w->email), "%s", u.email);
    snprintf(w->user_id, sizeof(w->user_id), "%s", u.id);
    w->disabled = u.disabled;
    zt_user_dispose(&u);
    w->in.email = w->email;
    w->in.user_id = w->user_id;
    rc = zt_store_user_groups(env->st, w->user_id, whatif_group_cb, w);
    if (rc != 0)
        snprintf(err, errlen, "groups of %s: %s", email,
                 rc == -E2BIG ? "too many" : zt_store_errmsg());
    return rc;
}

int zt_whatif_groups(zt_whatif *w, const char *email, const char *const *groups, size_t n)
{
    w->hypothetical = true;
    if (email != NULL) {
        if (strlen(email) > ZT_STORE_EMAIL_MAX)
            return -E2BIG;
        snprintf(w->email, sizeof(w->email), "%s", email);
        w->in.email = w->email;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = whatif_add_group(w, groups[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* "--groups a,b" into w (empty string: a user in no group; empty names are skipped). */
int zt_whatif_groups_list(zt_whatif *w, const char *email, const char *list)
{
    char *copy = strdup(list);
    const char *names[ZT_WHATIF_GROUPS_MAX];
    size_t n = 0;
    int rc = copy != NULL ? 0 : -ENOMEM;
    for (char *p = copy; p != NULL && rc == 0;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        if (p[0] != '\0' && n == ZT_WHATIF_GROUPS_MAX)
            rc = -E2BIG;
        else if (p[0] != '\0')
            names[n++] = p;
        p = comma != NULL ? comma + 1 : NULL;
    }
    if (rc == 0)
        rc = zt_whatif_groups(w, email, names, n);
    free(copy);
    return rc;
}

bool zt_whatif_app(const zt_whatif_env *env, zt_whatif *w, const char *name)
{
    for (size_t i = 0; i < env->cfg->n_apps; i++) {
        if (strcmp(env->cfg->apps[i].name, name) == 0) {
            w->app = &env->cfg->apps[i];
            w->in.app = w->app->name;
            w->in.sensitivity = (int)w->app->sensitivity;
            return true;
        }
    }
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * Words and values */

static const char *const whatif_platforms[] = {"unknown", "windows", "macos",    "linux",
                                               "ios",     "android", "chromeos", NULL};
static const char *const whatif_clients[] = {"browser", "api", NULL};
static const char *const whatif_restricts[] = {"read_only", "no_download", NULL};

static int whatif_word(const char *const *words, const char *s)
{
    for (int i = 0; words[i] != NULL; i++)
        if (strcmp(words[i], s) == 0)
            return i;
    return -1;
}

bool zt_whatif_parse_risk(const char *s, zt_risk *out)
{
    return zt_risk_parse(s, out);
}

bool zt_whatif_parse_platform(const char *s, zt_platform *out)
{
    int i = whatif_word(whatif_platforms, s);
    if (i >= 0)
        *out = (zt_platform)i;
    return i >= 0;
}

bool zt_whatif_parse_client(const char *s, zt_client_type *out)
{
    int i = whatif_word(whatif_clients, s);
    if (i >= 0)
        *out = (zt_client_type)i;
    return i >= 0;
}

/* An enrolled device presents its certificate, so "noncompliant" is a known, enrolled device
 * that fails posture; "unknown" presents nothing. */
bool zt_whatif_parse_device(const char *s, zt_whatif *w)
{
    bool compliant = strcmp(s, "compliant") == 0, noncompliant = strcmp(s, "noncompliant") == 0;
    if (!compliant && !noncompliant && strcmp(s, "unknown") != 0)
        return false;
    w->in.device_known = compliant || noncompliant;
    w->in.device_enrolled = compliant || noncompliant;
    w->in.device_compliant = compliant;
    return true;
}

bool zt_whatif_parse_ip(const char *s, zt_whatif *w)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)&w->ip;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&w->ip;
    memset(&w->ip, 0, sizeof(w->ip));
    if (inet_pton(AF_INET, s, &a4->sin_addr) == 1)
        a4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1)
        a6->sin6_family = AF_INET6;
    else
        return false;
    w->has_ip = true;
    w->in.ip = (const struct sockaddr *)&w->ip;
    return true;
}

/* Two capital letters, as `countries:` in the config. */
bool zt_whatif_parse_country(const char *s, zt_whatif *w)
{
    if (!(s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0'))
        return false;
    memcpy(w->in.country, s, 3);
    return true;
}

bool zt_whatif_parse_passkey_aaguid(const char *s, zt_whatif *w)
{
    if (!zt_uuid_parse(s, w->passkey_aaguid))
        return false;
    w->in.passkey_aaguid = w->passkey_aaguid;
    w->in.mfa_phishing_resistant = true;
    w->in.mfa_time = w->in.auth_time > 0 ? w->in.auth_time : 1;
    return true;
}

/* "6d44ba9b-f6ec-2e49-b930-0c8fe920cb73" for the answer; "" when none. */
static void whatif_aaguid_text(const zt_policy_input *in, char out[37])
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; in->passkey_aaguid != NULL && i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[n++] = '-';
        out[n++] = digits[in->passkey_aaguid[i] >> 4];
        out[n++] = digits[in->passkey_aaguid[i] & 15];
    }
    out[n] = '\0';
}

/* An RFC 3339 time from 1970 on, to whole seconds (the fraction is dropped). */
bool zt_whatif_parse_time(const char *s, int64_t *out)
{
    int64_t us;
    if (!zt_parse_rfc3339(s, strlen(s), 0, &us) || us < 0)
        return false;
    *out = us / 1000000;
    return true;
}

bool zt_whatif_parse_duration(const char *s, int64_t *out)
{
    size_t n = strlen(s), d = 0;
    unsigned long long v;
    while (d < n && s[d] >= '0' && s[d] <= '9')
        d++;
    if (d == 0 || !zt_parse_u64(s, d, (unsigned long long)WHATIF_DURATION_MAX_S, &v))
        return false;
    int64_t mult = d == n && v == 0 ? 1 : 0;
    if (d + 1 == n) {
        switch (s[d]) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        default:
            break;
        }
    }
    if (mult == 0 || (int64_t)v > WHATIF_DURATION_MAX_S / mult)
        return false;
    *out = (int64_t)v * mult;
    return true;
}

void zt_whatif_set_session(zt_whatif *w, int64_t auth_age_s, bool mfa, bool phishing_resistant)
{
    w->in.auth_time = w->in.now - auth_age_s > 0 ? w->in.now - auth_age_s : 1;
    w->in.mfa_time = mfa || phishing_resistant ? w->in.auth_time : 0;
    w->in.mfa_phishing_resistant = phishing_resistant;
}

/* ---------------------------------------------------------------------------------------------
 * Evaluation */

/* The reference evaluator answers the same question the slow, obvious way; a disagreement is an
 * engine bug the admin should hear about (ans->ref_disagrees), not a verdict to trust. */
static void whatif_crosscheck(const zt_whatif_env *env, const zt_whatif *w, zt_whatif_answer *ans)
{
    char err[256];
    zt_policy_result ref;
    zt_policy_ref *r = zt_policy_ref_new(env->cfg, err, sizeof(err));
    if (r == NULL)
        return;
    zt_policy_ref_eval(r, &w->in, &ref, NULL);
    zt_policy_ref_free(r);
    const zt_policy_result *a = &ans->res;
    ans->ref_outcome = ref.outcome;
    ans->ref_disagrees = ref.outcome != a->outcome || ref.next_control != a->next_control ||
                         ref.restrict_flags != a->restrict_flags ||
                         ref.block_policy != a->block_policy ||
                         ref.reauth_required != a->reauth_required || ref.n_matched != a->n_matched;
}

int zt_whatif_eval(const zt_whatif_env *env, const zt_whatif *w, zt_whatif_answer *ans)
{
    size_t n = zt_policy_count(env->set);
    memset(ans, 0, sizeof(*ans));
    ans->misses = calloc(n + 1, sizeof(*ans->misses));
    if (ans->misses == NULL)
        return -ENOMEM;
    zt_policy_eval(env->set, &w->in, &ans->res);
    zt_policy_explain(env->set, &w->in, ans->misses);
    whatif_crosscheck(env, w, ans);
    return 0;
}

void zt_whatif_answer_dispose(zt_whatif_answer *ans)
{
    if (ans == NULL)
        return;
    free(ans->misses);
    ans->misses = NULL;
}

const char *zt_whatif_verdict(const zt_policy_result *res)
{
    if (res->outcome == ZT_OUTCOME_ALLOW)
        return "allow";
    if (res->outcome == ZT_OUTCOME_BLOCK)
        return "block";
    if (res->reauth_required)
        return "reauth";
    return zt_control_name(res->next_control);
}

void zt_whatif_freq(int64_t s, char out[24])
{
    if (s < 0)
        snprintf(out, 24, "-");
    else if (s == 0)
        snprintf(out, 24, "every_time");
    else if (s % 86400 == 0)
        snprintf(out, 24, "%lldd", (long long)(s / 86400));
    else if (s % 3600 == 0)
        snprintf(out, 24, "%lldh", (long long)(s / 3600));
    else if (s % 60 == 0)
        snprintf(out, 24, "%lldm", (long long)(s / 60));
    else
        snprintf(out, 24, "%llds", (long long)s);
}

/* ---------------------------------------------------------------------------------------------
 * Text */

static const zt_control whatif_controls[] = {ZT_CTL_MFA, ZT_CTL_PHISHING_RESISTANT_MFA,
                                             ZT_CTL_COMPLIANT_DEVICE, ZT_CTL_PASSWORD_CHANGE};

/* "mfa AND compliant_device" (sep " AND "), "read_only, no_download"; "" for none. */
static void whatif_controls_text(unsigned bits, const char *sep, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < 4 && o < cap; i++)
        if (bits & (unsigned)whatif_controls[i])
            o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? sep : "",
                                  zt_control_name(whatif_controls[i]));
}

static void whatif_restrict_text(unsigned bits, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; whatif_restricts[i] != NULL && o < cap; i++)
        if (bits & (1u << i))
            o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? ", " : "", whatif_restricts[i]);
}

/* "restrict read_only; sign-in frequency 8h", or "none". */
static void whatif_session_text(unsigned restrict_flags, int64_t freq_s, char *out, size_t cap)
{
    char r[64], f[24];
    whatif_restrict_text(restrict_flags, r, sizeof(r));
    zt_whatif_freq(freq_s, f);
    if (r[0] != '\0' && freq_s >= 0)
        snprintf(out, cap, "restrict %s; sign-in frequency %s", r, f);
    else if (r[0] != '\0')
        snprintf(out, cap, "restrict %s", r);
    else if (freq_s >= 0)
        snprintf(out, cap, "sign-in frequency %s", f);
    else
        snprintf(out, cap, "none");
}

/* What an applying policy asks for: "grant mfa AND compliant_device; session restrict read_only".
 */
static void whatif_policy_text(const zt_policy_cfg *p, char *out, size_t cap)
{
    char g[192], s[128];
    if (p->grant.block)
        snprintf(g, sizeof(g), "block");
    else
        whatif_controls_text(p->grant.controls, p->grant.operator_or ? " OR " : " AND ", g,
                             sizeof(g));
    if (!p->grant.block && p->grant.has_strength) {
        /* phishing_resistant_mfa there means: with a passkey of one of these models */
        size_t n = strlen(g);
        snprintf(g + n, sizeof(g) - n, " (authentication strength: %zu passkey model%s)",
                 p->grant.strength.n_aaguids, p->grant.strength.n_aaguids == 1 ? "" : "s");
    }
    whatif_session_text(p->session.restrict_flags,
                        p->session.has_sign_in_frequency ? p->session.sign_in_frequency_s : -1, s,
                        sizeof(s));
    bool has_s = strcmp(s, "none") != 0;
    if (g[0] != '\0' && has_s)
        snprintf(out, cap, "grant %s; session %s", g, s);
    else if (g[0] != '\0')
        snprintf(out, cap, "grant %s", g);
    else
        snprintf(out, cap, "session %s", has_s ? s : "none");
}

static void whatif_print_user(const zt_whatif *w, const char *indent, FILE *f)
{
    fprintf(f, "%suser:     %s", indent, w->email[0] ? w->email : "(no email)");
    if (w->hypothetical)
        fprintf(f, " (hypothetical)");
    else
        fprintf(f, " (id %s%s)", w->user_id, w->disabled ? ", DISABLED: cannot sign in" : "");
    fprintf(f, "; groups: ");
    for (size_t i = 0; i < w->n_groups; i++)
        fprintf(f, "%s%s", i ? ", " : "", w->groups[i]);
    fprintf(f, "%s\n", w->n_groups == 0 ? "none" : "");
}

static void whatif_print_request(const zt_whatif *w, const char *indent, FILE *f)
{
    const zt_policy_input *in = &w->in;
    char ip[ZT_IP_STRLEN] = "-", at[40];
    if (w->has_ip)
        zt_sockaddr_ip((const struct sockaddr *)&w->ip, ip);
    whatif_time(in->now, at);
    fprintf(f, "%sapp:      %s (%s)\n", indent, w->app->name,
            zt_sensitivity_name(w->app->sensitivity));
    fprintf(f, "%srequest:  ip %s, country %s%s, device %s, platform %s, client %s\n", indent, ip,
            in->country[0] ? in->country : "-", in->anonymous_ip ? ", anonymous IP" : "",
            !in->device_known      ? "unknown"
            : in->device_compliant ? "compliant"
                                   : "noncompliant",
            whatif_platforms[in->platform], whatif_clients[in->client]);
    fprintf(f, "%s          risk: sign-in %s, user %s, device %s; at %s\n", indent,
            zt_risk_name(in->sign_in_risk), zt_risk_name(in->user_risk),
            zt_risk_name(in->device_risk), at);
    char aaguid[37];
    whatif_aaguid_text(in, aaguid);
    fprintf(f, "%s          signed in %llds ago, %s%s%s%s%s\n", indent,
            (long long)(in->now - in->auth_time),
            in->mfa_phishing_resistant ? "phishing-resistant MFA"
            : in->mfa_time > 0         ? "MFA done"
                                       : "no MFA",
            aaguid[0] ? " (passkey AAGUID " : "", aaguid, aaguid[0] ? ")" : "",
            in->password_change_required ? ", password change pending" : "");
}

static void whatif_print_decision(const zt_whatif_env *env, const zt_policy_input *in,
                                  const zt_policy_result *res, const char *indent, FILE *f)
{
    char freq[24], text[256];
    int cause = zt_policy_cause(env->set, in, res);
    const char *by = cause >= 0 ? zt_policy_name(env->set, cause) : "?";
    fprintf(f, "%sdecision: ", indent);
    if (res->outcome == ZT_OUTCOME_ALLOW) {
        fprintf(f, "allow\n");
    } else if (res->outcome == ZT_OUTCOME_BLOCK) {
        fprintf(f, "block by policy %s\n", zt_policy_name(env->set, res->block_policy));
    } else if (res->reauth_required) {
        zt_whatif_freq(res->sign_in_frequency_s, freq);
        fprintf(f, "challenge: sign in again (sign-in frequency %s, policy %s)\n", freq, by);
    } else {
        fprintf(f, "challenge: %s (policy %s)\n", zt_control_name(res->next_control), by);
    }
    if (res->unmet != 0 && res->outcome == ZT_OUTCOME_CHALLENGE) {
        whatif_controls_text(res->unmet, ", then ", text, sizeof(text));
        fprintf(f, "%sunmet:    %s\n", indent, text);
    }
    whatif_session_text(res->restrict_flags, res->sign_in_frequency_s, text, sizeof(text));
    fprintf(f, "%ssession:  %s\n", indent, text);
    if (res->report_only_outcome != ZT_OUTCOME_ALLOW) {
        whatif_controls_text(res->report_only_unmet, ", ", text, sizeof(text));
        fprintf(f, "%sreport-only policies would: %s%s%s%s\n", indent,
                zt_outcome_name(res->report_only_outcome), text[0] ? " (unmet: " : "", text,
                text[0] ? ")" : "");
    }
}

void zt_whatif_print(const zt_whatif_env *env, const zt_whatif *w, const zt_whatif_answer *ans,
                     const char *indent, FILE *f)
{
    size_t n = zt_policy_count(env->set), width = 0;
    char text[320];
    whatif_print_user(w, indent, f);
    whatif_print_request(w, indent, f);
    whatif_print_decision(env, &w->in, &ans->res, indent, f);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(zt_policy_name(env->set, (int)i));
        width = len > width ? len : width;
    }
    fprintf(f, "%spolicies: %zu\n", indent, n);
    for (size_t i = 0; i < n; i++) {
        const zt_policy_cfg *p = &env->cfg->policies[i];
        fprintf(f, "%s  %-*s  ", indent, (int)width, p->name);
        if (ans->misses[i] != ZT_MISS_NONE) {
            fprintf(f, "does not apply: %s\n", zt_policy_miss_text(ans->misses[i]));
            continue;
        }
        whatif_policy_text(p, text, sizeof(text));
        fprintf(f, "applies%s: %s\n", p->state == ZT_POLICY_REPORT_ONLY ? " (report-only)" : "",
                text);
    }
}

/* ---------------------------------------------------------------------------------------------
 * JSON */

static json_t *whatif_json_controls(unsigned bits)
{
    json_t *a = json_array();
    for (size_t i = 0; i < 4 && a != NULL; i++)
        if (bits & (unsigned)whatif_controls[i])
            json_array_append_new(a, json_string(zt_control_name(whatif_controls[i])));
    return a;
}

static json_t *whatif_json_session(unsigned restrict_flags, int64_t freq_s)
{
    char f[24];
    json_t *r = json_array();
    for (size_t i = 0; whatif_restricts[i] != NULL && r != NULL; i++)
        if (restrict_flags & (1u << i))
            json_array_append_new(r, json_string(whatif_restricts[i]));
    zt_whatif_freq(freq_s, f);
    return json_pack("{s:o?,s:o?}", "restrict", r, "sign_in_frequency",
                     freq_s >= 0 ? json_string(f) : json_null());
}

static json_t *whatif_json_policy(const zt_whatif_env *env, const zt_whatif_answer *ans, size_t i)
{
    const zt_policy_cfg *p = &env->cfg->policies[i];
    bool applies = ans->misses[i] == ZT_MISS_NONE;
    json_t *o = json_pack("{s:s,s:s,s:b,s:o?}", "name", p->name, "state",
                          p->state == ZT_POLICY_REPORT_ONLY ? "report_only"
                          : p->state == ZT_POLICY_ON        ? "on"
                                                            : "off",
                          "applies", applies, "reason",
                          applies ? json_null() : json_string(zt_policy_miss_text(ans->misses[i])));
    if (o == NULL || !applies)
        return o;
    json_object_set_new(o, "grant",
                        json_pack("{s:b,s:o?,s:s}", "block", p->grant.block, "controls",
                                  whatif_json_controls(p->grant.controls), "operator",
                                  p->grant.operator_or ? "OR" : "AND"));
    json_object_set_new(
        o, "session",
        whatif_json_session(p->session.restrict_flags, p->session.has_sign_in_frequency
                                                           ? p->session.sign_in_frequency_s
                                                           : -1));
    return o;
}

static json_t *whatif_json_request(const zt_whatif *w)
{
    const zt_policy_input *in = &w->in;
    char ip[ZT_IP_STRLEN], at[40];
    if (w->has_ip)
        zt_sockaddr_ip((const struct sockaddr *)&w->ip, ip);
    char aaguid[37];
    whatif_aaguid_text(in, aaguid);
    whatif_time(in->now, at);
    return json_pack(
        "{s:o?,s:o?,s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:b,s:b,s:b,s:o?}", "ip",
        w->has_ip ? json_string(ip) : json_null(), "country",
        in->country[0] ? json_string(in->country) : json_null(), "anonymous_ip", in->anonymous_ip,
        "device",
        !in->device_known      ? "unknown"
        : in->device_compliant ? "compliant"
                               : "noncompliant",
        "platform", whatif_platforms[in->platform], "client", whatif_clients[in->client],
        "sign_in_risk", zt_risk_name(in->sign_in_risk), "user_risk", zt_risk_name(in->user_risk),
        "device_risk", zt_risk_name(in->device_risk), "at", at, "auth_age_s",
        (json_int_t)(in->now - in->auth_time), "mfa", in->mfa_time > 0, "phishing_resistant",
        in->mfa_phishing_resistant, "password_change_required", in->password_change_required,
        "passkey_aaguid", aaguid[0] ? json_string(aaguid) : json_null());
}

static json_t *whatif_json_user(const zt_whatif *w)
{
    json_t *groups = json_array();
    for (size_t i = 0; i < w->n_groups && groups != NULL; i++)
        json_array_append_new(groups, json_string(w->groups[i]));
    return json_pack("{s:o?,s:o?,s:b,s:b,s:o?}", "email",
                     w->email[0] ? json_string(w->email) : json_null(), "id",
                     w->user_id[0] ? json_string(w->user_id) : json_null(), "hypothetical",
                     w->hypothetical, "disabled", w->disabled, "groups", groups);
}

json_t *zt_whatif_json(const zt_whatif_env *env, const zt_whatif *w, const zt_whatif_answer *ans)
{
    const zt_policy_result *res = &ans->res;
    int cause = zt_policy_cause(env->set, &w->in, res);
    json_t *pols = json_array();
    for (size_t i = 0; i < zt_policy_count(env->set) && pols != NULL; i++)
        json_array_append_new(pols, whatif_json_policy(env, ans, i));
    json_t *o = json_pack(
        "{s:o?,s:{s:s,s:s},s:o?,s:s,s:s,s:o?,s:b,s:o?,s:o?,s:o?,s:o?}", "user", whatif_json_user(w),
        "app", "name", w->app->name, "sensitivity", zt_sensitivity_name(w->app->sensitivity),
        "request", whatif_json_request(w), "decision", zt_outcome_name(res->outcome), "verdict",
        zt_whatif_verdict(res), "next_control",
        res->next_control ? json_string(zt_control_name(res->next_control)) : json_null(),
        "reauth_required", res->reauth_required, "policy",
        cause >= 0 ? json_string(zt_policy_name(env->set, cause)) : json_null(), "unmet",
        whatif_json_controls(res->unmet), "session",
        whatif_json_session(res->restrict_flags, res->sign_in_frequency_s), "report_only",
        json_pack("{s:s,s:o?}", "decision", zt_outcome_name(res->report_only_outcome), "unmet",
                  whatif_json_controls(res->report_only_unmet)));
    if (o != NULL)
        json_object_set_new(o, "policies", pols);
    else
        json_decref(pols);
    return o;
}
