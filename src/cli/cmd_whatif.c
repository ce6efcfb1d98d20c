/* `ztgate whatif`: one simulated sign-in against the config's Conditional Access policies, with
 * the decision, the session controls and, for every policy, whether it applies and if not the
 * first condition that failed. The answer is never an error: exit 0 whatever the decision, 2 for
 * a question that cannot be asked (unknown app or user, malformed value). */
#include "cli/cmd_whatif.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "lib/str.h"
#include "lib/time.h"

/* ---------------------------------------------------------------------------------------------
 * Environment: config, compiled policies, store */

/* Opening the store creates it when missing; a question must not leave a database behind, so a
 * state_dir without one simply has no users. */
static int whatif_store(zt_whatif_env *env, char *err, size_t errlen)
{
    char db[4096];
    if (env->st != NULL || env->store_missing)
        return 0;
    snprintf(db, sizeof(db), "%s/ztgate.db", env->cfg->state_dir);
    if (env->cfg->store.backend == ZT_STORE_SQLITE && access(db, F_OK) != 0) {
        env->store_missing = true;
        return 0;
    }
    env->st = zt_store_open_config(env->cfg, err, errlen);
    return env->st != NULL ? 0 : -EIO;
}

int zt_whatif_env_open(zt_whatif_env *env, const char *path)
{
    char err[512];
    zt_diags diags;
    memset(env, 0, sizeof(*env));
    env->open_store = whatif_store;
    zt_diags_init(&diags);
    zt_config *cfg = zt_config_load(path, &diags);
    if (diags.text.len > 0)
        fwrite(diags.text.data, 1, diags.text.len, stderr);
    zt_diags_dispose(&diags);
    if (cfg == NULL)
        return zt_cli_fail(ZT_CLI_USAGE, "cannot use configuration %s", path);
    env->cfg = cfg;
    /* The answer is still what the policies say, but the gateway would not start with them. */
    zt_diags_init(&diags);
    if (zt_config_check_grants(cfg, &diags) > 0) {
        fputs("warning: check-config and serve refuse this configuration:\n", stderr);
        fwrite(diags.text.data, 1, diags.text.len, stderr);
    }
    zt_diags_dispose(&diags);
    env->set = zt_policy_compile(cfg, err, sizeof(err));
    if (env->set == NULL && cfg->n_policies > 0) {
        zt_whatif_env_close(env);
        return zt_cli_fail(ZT_CLI_USAGE, "%s", err);
    }
    return ZT_CLI_OK;
}

void zt_whatif_env_close(zt_whatif_env *env)
{
    if (env == NULL)
        return;
    /* The module borrows them (const); the CLI's env owns what it loaded. */
    zt_store_close(env->st);
    zt_policy_set_free((zt_policy_set *)env->set);
    zt_config_free((zt_config *)env->cfg);
    memset(env, 0, sizeof(*env));
}

int zt_whatif_cli_eval(const zt_whatif_env *env, const zt_whatif *w, zt_whatif_answer *ans)
{
    int rc = zt_whatif_eval(env, w, ans);
    if (rc == 0 && ans->ref_disagrees)
        zt_cli_fail(0, "warning: the reference evaluator disagrees (%s / %s); please report this",
                    zt_outcome_name(ans->res.outcome), zt_outcome_name(ans->ref_outcome));
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * `ztgate whatif` */

#define WHATIF_USAGE                                                                               \
    "usage: ztgate whatif --user EMAIL [--groups G1,G2] --app APP [--ip IP] [--country CC]\n"      \
    "         [--anonymous-ip] [--device-compliant|--device-noncompliant|--device-unknown]\n"      \
    "         [--platform P] [--client browser|api] [--mfa] [--phishing-resistant]\n"              \
    "         [--passkey-aaguid AAGUID]\n"                                                         \
    "         [--sign-in-risk L] [--user-risk L] [--device-risk L] [--password-change-required]\n" \
    "         [--at RFC3339] [--auth-age DURATION] [--json] [--config FILE]\n"

typedef struct whatif_opts {
    const char *user, *groups, *app, *ip, *country, *platform, *client, *at, *auth_age;
    const char *sign_in_risk, *user_risk, *device_risk, *device, *config, *passkey_aaguid;
    bool mfa, phishing_resistant, anonymous_ip, password_change, json;
} whatif_opts;

/* Prints WHATIF_USAGE after a message; returns ZT_CLI_USAGE. */
static int whatif_usage(int status)
{
    fputs(WHATIF_USAGE, stderr);
    return status;
}

/* `--name VALUE` / `--name=VALUE` into *slot. 1 taken, 0 not this option, -1 value missing. */
static int whatif_value(int argc, char **argv, int *i, const char *name, const char **slot)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *slot = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *slot = argv[++*i];
    return 1;
}

static int whatif_parse_args(int argc, char **argv, whatif_opts *o)
{
    const struct {
        const char *name;
        size_t off;
    } values[] = {
        {"--user", offsetof(whatif_opts, user)},
        {"--groups", offsetof(whatif_opts, groups)},
        {"--app", offsetof(whatif_opts, app)},
        {"--ip", offsetof(whatif_opts, ip)},
        {"--country", offsetof(whatif_opts, country)},
        {"--platform", offsetof(whatif_opts, platform)},
        {"--client", offsetof(whatif_opts, client)},
        {"--at", offsetof(whatif_opts, at)},
        {"--auth-age", offsetof(whatif_opts, auth_age)},
        {"--sign-in-risk", offsetof(whatif_opts, sign_in_risk)},
        {"--user-risk", offsetof(whatif_opts, user_risk)},
        {"--device-risk", offsetof(whatif_opts, device_risk)},
        {"--config", offsetof(whatif_opts, config)},
        {"--passkey-aaguid", offsetof(whatif_opts, passkey_aaguid)},
    };
    const struct {
        const char *name;
        size_t off;
    } flags[] = {
        {"--mfa", offsetof(whatif_opts, mfa)},
        {"--phishing-resistant", offsetof(whatif_opts, phishing_resistant)},
        {"--anonymous-ip", offsetof(whatif_opts, anonymous_ip)},
        {"--password-change-required", offsetof(whatif_opts, password_change)},
        {"--json", offsetof(whatif_opts, json)},
    };
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool done = false;
        if (strcmp(a, "--device-compliant") == 0 || strcmp(a, "--device-noncompliant") == 0 ||
            strcmp(a, "--device-unknown") == 0) {
            if (o->device != NULL)
                return whatif_usage(zt_cli_fail(
                    ZT_CLI_USAGE, "give one --device-... option (%s is the second)", a));
            o->device = a + 9;
            continue;
        }
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]) && !done; k++)
            if (strcmp(a, flags[k].name) == 0)
                done = *(bool *)(void *)((char *)o + flags[k].off) = true;
        for (size_t k = 0; k < sizeof(values) / sizeof(values[0]) && !done; k++) {
            const char **slot = (const char **)(void *)((char *)o + values[k].off);
            int m = whatif_value(argc, argv, &i, values[k].name, slot);
            if (m < 0)
                return whatif_usage(zt_cli_fail(ZT_CLI_USAGE, "%s needs a value", values[k].name));
            done = m > 0;
        }
        if (!done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            fputs(WHATIF_USAGE, stdout);
            return -1;
        }
        if (!done)
            return whatif_usage(zt_cli_fail(ZT_CLI_USAGE, "%s '%s'",
                                            a[0] == '-' ? "unknown option" : "unexpected argument",
                                            a));
    }
    if (o->user == NULL && o->groups == NULL)
        return whatif_usage(zt_cli_fail(
            ZT_CLI_USAGE, "--user EMAIL (or --groups for a hypothetical user) is required"));
    if (o->app == NULL)
        return whatif_usage(zt_cli_fail(ZT_CLI_USAGE, "--app APP is required"));
    return 0;
}

/* Every flag that sets a request attribute; 0 or ZT_CLI_USAGE after saying which is wrong. */
static int whatif_apply(const whatif_opts *o, zt_whatif *w)
{
    int64_t age = 0;
    if (o->ip != NULL && !zt_whatif_parse_ip(o->ip, w))
        return zt_cli_fail(ZT_CLI_USAGE, "--ip: '%s' is not an IPv4 or IPv6 address", o->ip);
    if (o->country != NULL && !zt_whatif_parse_country(o->country, w))
        return zt_cli_fail(ZT_CLI_USAGE, "--country: '%s' is not two capital letters (JP)",
                           o->country);
    if (o->device != NULL && !zt_whatif_parse_device(o->device, w))
        return zt_cli_fail(ZT_CLI_USAGE,
                           "unknown option '--device-%s' (compliant, "
                           "noncompliant or unknown)",
                           o->device);
    if (o->platform != NULL && !zt_whatif_parse_platform(o->platform, &w->in.platform))
        return zt_cli_fail(ZT_CLI_USAGE,
                           "--platform: '%s' is not one of windows, macos, linux, "
                           "ios, android, chromeos, unknown",
                           o->platform);
    if (o->client != NULL && !zt_whatif_parse_client(o->client, &w->in.client))
        return zt_cli_fail(ZT_CLI_USAGE, "--client: '%s' is not browser or api", o->client);
    const struct {
        const char *flag, *val;
        zt_risk *out;
    } risks[] = {{"--sign-in-risk", o->sign_in_risk, &w->in.sign_in_risk},
                 {"--user-risk", o->user_risk, &w->in.user_risk},
                 {"--device-risk", o->device_risk, &w->in.device_risk}};
    for (size_t i = 0; i < 3; i++)
        if (risks[i].val != NULL && !zt_whatif_parse_risk(risks[i].val, risks[i].out))
            return zt_cli_fail(ZT_CLI_USAGE, "%s: '%s' is not none, low, medium or high",
                               risks[i].flag, risks[i].val);
    if (o->at != NULL && !zt_whatif_parse_time(o->at, &w->in.now))
        return zt_cli_fail(ZT_CLI_USAGE,
                           "--at: '%s' is not an RFC 3339 time like 2026-11-24T09:00:00+09:00",
                           o->at);
    if (o->auth_age != NULL && !zt_whatif_parse_duration(o->auth_age, &age))
        return zt_cli_fail(ZT_CLI_USAGE, "--auth-age: '%s' is not a duration like 30m or 9h",
                           o->auth_age);
    w->in.anonymous_ip = o->anonymous_ip;
    w->in.password_change_required = o->password_change;
    zt_whatif_set_session(w, age, o->mfa, o->phishing_resistant);
    if (o->passkey_aaguid != NULL && !zt_whatif_parse_passkey_aaguid(o->passkey_aaguid, w))
        return zt_cli_fail(ZT_CLI_USAGE,
                           "--passkey-aaguid: '%s' is not an AAGUID (8-4-4-4-12 hex digits)",
                           o->passkey_aaguid);
    return 0;
}

int zt_cmd_whatif(int argc, char **argv)
{
    whatif_opts o;
    zt_whatif_env env;
    zt_whatif w;
    zt_whatif_answer ans = {0};
    char err[512];
    int rc = whatif_parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? ZT_CLI_OK : rc;
    if ((rc = zt_whatif_env_open(&env, zt_cli_config_path(argc, argv))) != 0)
        return rc;
    zt_whatif_init(&w, zt_wall_us() / 1000000);
    if (!zt_whatif_app(&env, &w, o.app)) {
        rc = zt_cli_fail(ZT_CLI_USAGE, "--app: no app named '%s' in %s", o.app, env.cfg->path);
        goto out;
    }
    if ((rc = whatif_apply(&o, &w)) != 0)
        goto out;
    if (o.groups != NULL) {
        int g = zt_whatif_groups_list(&w, o.user, o.groups);
        if (g != 0) {
            rc = zt_cli_fail(ZT_CLI_USAGE, "--groups: %s",
                             g == -E2BIG ? "too many groups or email too long" : strerror(-g));
            goto out;
        }
    } else {
        int u = zt_whatif_user(&env, &w, o.user, err, sizeof(err));
        if (u != 0) {
            rc = zt_cli_fail(u == -ENOENT ? ZT_CLI_USAGE : ZT_CLI_FAIL, "%s%s", err,
                             u == -ENOENT ? " (give --groups to ask about a hypothetical user)"
                                          : "");
            goto out;
        }
    }
    if (zt_whatif_cli_eval(&env, &w, &ans) != 0) {
        rc = zt_cli_fail(ZT_CLI_FAIL, "out of memory");
        goto out;
    }
    if (o.json) {
        rc = zt_cli_json_print(zt_whatif_json(&env, &w, &ans));
    } else {
        zt_whatif_print(&env, &w, &ans, "", stdout);
        rc = fflush(stdout) == 0 ? ZT_CLI_OK : zt_cli_fail(ZT_CLI_FAIL, "writing to stdout failed");
    }
out:
    zt_whatif_answer_dispose(&ans);
    zt_whatif_dispose(&w);
    zt_whatif_env_close(&env);
    return rc;
}
