/* `ztgate policy test FILE`: table-driven tests of a config's Conditional Access policies, for
 * admins' CI. FILE is a YAML list of cases (a simulated sign-in and the expected outcome), read
 * as strictly as the config itself: unknown keys, wrong types and bad words are FILE:LINE:COL
 * errors and nothing runs. Exit 0 all pass, 1 any mismatch, 2 bad input. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "cli/cli_util.h"
#include "cli/cmd_whatif.h"
#include "cli/commands.h"
#include "core/levels.h"
#include "lib/buf.h"
#include "lib/file.h"
#include "lib/str.h"
#include "lib/time.h"

#define PT_FILE_MAX (4u << 20) /* test files larger than this are refused, not half-read */
#define PT_CASES_MAX 10000     /* cases in one file */
#define PT_DIAGS_MAX 100       /* errors printed; the rest are counted */
#define PT_SHOW_MAX 64         /* echoed user text is cut here */

/* Expected outcomes: `expect:` words and what zt_whatif_verdict returns. */
static const char *const pt_expects[] = {
    "allow",  "block", "mfa", "compliant_device", "password_change", "phishing_resistant_mfa",
    "reauth", NULL};
static const char *const pt_restricts[] = {"read_only", "no_download", NULL};
static const char *const pt_outcomes[] = {"allow", "challenge", "block", NULL};

/* One case as written: strings point into the YAML document. */
typedef struct pt_case {
    const char *name, *user, *email, *app, *ip, *country, *device, *platform, *client, *at;
    const char *auth_age, *sign_in_risk, *user_risk, *device_risk, *passkey_aaguid;
    const char *expect, *expect_policy, *expect_report_only;
    int mfa, phishing_resistant, anonymous_ip, password_change; /* -1 unset, 0, 1 */
    yaml_node_t *groups; /* list of names, checked while reading */
    size_t n_groups;
    bool has_groups;
    bool has_restrict;
    unsigned expect_restrict;
    unsigned line, col;
    yaml_node_t *node, *user_node, *app_node, *policy_node; /* for errors found while running */
} pt_case;

typedef struct pt_ctx {
    const char *file;
    yaml_document_t doc;
    zt_whatif_env *env;
    unsigned errors;
    pt_case *cases;
    size_t n_cases;
} pt_ctx;

/* ---------------------------------------------------------------------------------------------
 * Diagnostics, as src/core/config.c prints them */

static void pt_err(pt_ctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pt_err(pt_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    if (++c->errors > PT_DIAGS_MAX) {
        if (c->errors == PT_DIAGS_MAX + 1)
            fprintf(stderr, "%s: too many errors; only the first %d are shown\n", c->file,
                    PT_DIAGS_MAX);
        return;
    }
    if (n != NULL)
        fprintf(stderr, "%s:%lu:%lu: ", c->file, (unsigned long)n->start_mark.line + 1,
                (unsigned long)n->start_mark.column + 1);
    else
        fprintf(stderr, "%s: ", c->file);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Printable, shortened copy of user text for messages. */
static const char *pt_show(const char *s, char out[PT_SHOW_MAX + 4])
{
    size_t o = 0, i;
    for (i = 0; s[i] != '\0' && o < PT_SHOW_MAX; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (s[i] != '\0') {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* ---------------------------------------------------------------------------------------------
 * YAML document */

static void pt_syntax_err(pt_ctx *c, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) {
        pt_err(c, NULL, "out of memory");
        return;
    }
    if (++c->errors > PT_DIAGS_MAX)
        return;
    fprintf(stderr, "%s:%lu:%lu: YAML syntax error: %s%s%s\n", c->file,
            (unsigned long)p->problem_mark.line + 1, (unsigned long)p->problem_mark.column + 1,
            p->problem ? p->problem : "invalid YAML", p->context ? " " : "",
            p->context ? p->context : "");
}

static bool pt_read_file(pt_ctx *c, zt_buf *b)
{
    int rc = zt_read_file(c->file, b);
    if (rc == -E2BIG)
        pt_err(c, NULL, "file is larger than %u MiB", PT_FILE_MAX >> 20);
    else if (rc < 0)
        pt_err(c, NULL, "cannot read: %s", strerror(-rc));
    return rc == 0;
}

/* Aliases make one node appear twice (or loop); a test file has no use for them. */
static bool pt_has_aliases(pt_ctx *c)
{
    size_t n = (size_t)(c->doc.nodes.top - c->doc.nodes.start);
    unsigned char *refs = calloc(n + 2, 1);
    bool found = false;
    if (refs == NULL) {
        pt_err(c, NULL, "out of memory");
        return true;
    }
    for (yaml_node_t *node = c->doc.nodes.start; node < c->doc.nodes.top; node++) {
        int ids[2];
        if (node->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = node->data.sequence.items.start;
                 it < node->data.sequence.items.top; it++)
                if (*it >= 1 && (size_t)*it <= n && ++refs[*it] > 1 && refs[*it] < 3)
                    found = true;
        } else if (node->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pr = node->data.mapping.pairs.start;
                 pr < node->data.mapping.pairs.top; pr++) {
                ids[0] = pr->key;
                ids[1] = pr->value;
                for (int k = 0; k < 2; k++)
                    if (ids[k] >= 1 && (size_t)ids[k] <= n && ++refs[ids[k]] > 1 &&
                        refs[ids[k]] < 3)
                        found = true;
            }
        }
    }
    for (size_t i = 1; i <= n && found; i++)
        if (refs[i] > 1)
            pt_err(c, yaml_document_get_node(&c->doc, (int)i),
                   "YAML anchors and aliases are not supported");
    free(refs);
    return found;
}

/* Loads c->doc from data; false (errors reported) when there is nothing to run. */
static bool pt_load_doc(pt_ctx *c, const zt_buf *b)
{
    yaml_parser_t p;
    yaml_document_t next;
    if (!yaml_parser_initialize(&p)) {
        pt_err(c, NULL, "out of memory");
        return false;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)(b->data ? b->data : ""), b->len);
    if (!yaml_parser_load(&p, &c->doc)) {
        pt_syntax_err(c, &p);
        yaml_parser_delete(&p);
        return false;
    }
    if (yaml_document_get_root_node(&c->doc) != NULL) {
        if (!yaml_parser_load(&p, &next)) {
            pt_syntax_err(c, &p);
        } else {
            if (yaml_document_get_root_node(&next) != NULL)
                pt_err(c, yaml_document_get_root_node(&next), "only one YAML document is allowed");
            yaml_document_delete(&next);
        }
    }
    yaml_parser_delete(&p);
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * Case schema */

static const char *pt_scalar(pt_ctx *c, yaml_node_t *n, const char *key)
{
    if (n->type != YAML_SCALAR_NODE) {
        pt_err(c, n, "'%s' must be a single value", key);
        return NULL;
    }
    const char *s = (const char *)n->data.scalar.value;
    if (strlen(s) != n->data.scalar.length) {
        pt_err(c, n, "'%s' must not contain NUL bytes", key);
        return NULL;
    }
    if (s[0] == '\0') {
        pt_err(c, n, "'%s' must not be empty", key);
        return NULL;
    }
    return s;
}

static int pt_word_index(const char *const *words, const char *s)
{
    for (int i = 0; words[i] != NULL; i++)
        if (strcmp(words[i], s) == 0)
            return i;
    return -1;
}

/* "'key' must be one of: a, b, c (got 'x')". */
static void pt_bad_word(pt_ctx *c, yaml_node_t *n, const char *key, const char *const *words,
                        const char *got)
{
    char list[256], shown[PT_SHOW_MAX + 4];
    size_t o = 0;
    list[0] = '\0';
    for (size_t i = 0; words[i] != NULL && o < sizeof(list); i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", words[i]);
    pt_err(c, n, "'%s' must be one of: %s (got '%s')", key, list, pt_show(got, shown));
}

static const char *pt_word(pt_ctx *c, yaml_node_t *n, const char *key, const char *const *words)
{
    const char *s = pt_scalar(c, n, key);
    if (s != NULL && pt_word_index(words, s) < 0) {
        pt_bad_word(c, n, key, words, s);
        return NULL;
    }
    return s;
}

static int pt_bool(pt_ctx *c, yaml_node_t *n, const char *key)
{
    const char *s = pt_scalar(c, n, key);
    if (s == NULL)
        return -1;
    /* Only the two words, as in the config: yes/no/on/off are too easy to write by accident. */
    if (strcmp(s, "true") == 0)
        return 1;
    if (strcmp(s, "false") == 0)
        return 0;
    char shown[PT_SHOW_MAX + 4];
    pt_err(c, n, "'%s' must be true or false (got '%s')", key, pt_show(s, shown));
    return -1;
}

/* A value checked by one of the whatif parsers, so the flags and the file agree. */
static const char *pt_checked(pt_ctx *c, yaml_node_t *n, const char *key, bool ok_fn(const char *),
                              const char *what)
{
    const char *s = pt_scalar(c, n, key);
    char shown[PT_SHOW_MAX + 4];
    if (s != NULL && !ok_fn(s)) {
        pt_err(c, n, "'%s' must be %s (got '%s')", key, what, pt_show(s, shown));
        return NULL;
    }
    return s;
}

static bool pt_ok_ip(const char *s)
{
    zt_whatif w;
    zt_whatif_init(&w, 0);
    return zt_whatif_parse_ip(s, &w);
}

static bool pt_ok_country(const char *s)
{
    zt_whatif w;
    zt_whatif_init(&w, 0);
    return zt_whatif_parse_country(s, &w);
}

static bool pt_ok_aaguid(const char *s)
{
    unsigned char id[16];
    return zt_uuid_parse(s, id);
}

static bool pt_ok_time(const char *s)
{
    int64_t t;
    return zt_whatif_parse_time(s, &t);
}

static bool pt_ok_duration(const char *s)
{
    int64_t t;
    return zt_whatif_parse_duration(s, &t);
}

static void pt_groups(pt_ctx *c, yaml_node_t *n, pt_case *k)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        pt_err(c, n, "'groups' must be a list of group names, like [teachers]");
        return;
    }
    k->has_groups = true;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *g = yaml_document_get_node(&c->doc, *it);
        const char *s = g != NULL ? pt_scalar(c, g, "groups") : NULL;
        if (s == NULL)
            continue;
        if (k->n_groups == ZT_WHATIF_GROUPS_MAX) {
            pt_err(c, g, "'groups' holds more than %d names", ZT_WHATIF_GROUPS_MAX);
            return;
        }
        k->n_groups++;
    }
    k->groups = n;
}

static void pt_restrict(pt_ctx *c, yaml_node_t *n, pt_case *k)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        pt_err(c, n, "'expect_restrict' must be a list like [read_only] ([] for none)");
        return;
    }
    k->has_restrict = true;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *r = yaml_document_get_node(&c->doc, *it);
        const char *s = r != NULL ? pt_word(c, r, "expect_restrict", pt_restricts) : NULL;
        if (s == NULL)
            continue;
        unsigned bit = 1u << pt_word_index(pt_restricts, s);
        if (k->expect_restrict & bit)
            pt_err(c, r, "'expect_restrict' lists '%s' twice", s);
        k->expect_restrict |= bit;
    }
}

static bool pt_policy_known(const pt_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->env->cfg->n_policies; i++)
        if (strcmp(c->env->cfg->policies[i].name, name) == 0)
            return true;
    return false;
}

/* String keys and where each goes. */
typedef struct pt_key {
    const char *name;
    size_t off;
    const char *const *words; /* NULL: free text */
} pt_key;

#define PT_STR(n, field, w)                                                                        \
    {                                                                                              \
        n, offsetof(pt_case, field), w                                                             \
    }
static const pt_key pt_str_keys[] = {
    PT_STR("name", name, NULL),
    PT_STR("user", user, NULL),
    PT_STR("email", email, NULL),
    PT_STR("app", app, NULL),
    PT_STR("device", device, NULL),
    PT_STR("platform", platform, NULL),
    PT_STR("client", client, NULL),
    PT_STR("sign_in_risk", sign_in_risk, NULL),
    PT_STR("user_risk", user_risk, NULL),
    PT_STR("device_risk", device_risk, NULL),
    PT_STR("expect", expect, pt_expects),
    PT_STR("expect_policy", expect_policy, NULL),
    PT_STR("expect_report_only", expect_report_only, pt_outcomes),
};

static const char *const pt_device_words[] = {"compliant", "noncompliant", "unknown", NULL};
static const char *const pt_platform_words[] = {"windows", "macos",    "linux",   "ios",
                                                "android", "chromeos", "unknown", NULL};
static const char *const pt_client_words[] = {"browser", "api", NULL};

static const char *const *pt_words_for(const char *key)
{
    if (strcmp(key, "device") == 0)
        return pt_device_words;
    if (strcmp(key, "platform") == 0)
        return pt_platform_words;
    if (strcmp(key, "client") == 0)
        return pt_client_words;
    if (strstr(key, "_risk") != NULL)
        return zt_risk_names;
    return NULL;
}

static const char *const pt_all_keys =
    "name, user, email, groups, app, ip, country, anonymous_ip, mfa, phishing_resistant, device, "
    "platform, client, sign_in_risk, user_risk, device_risk, at, auth_age, "
    "password_change_required, passkey_aaguid, expect, expect_restrict, expect_policy, "
    "expect_report_only";

/* One key of a case; false when the key is unknown. */
static bool pt_key_value(pt_ctx *c, const char *key, yaml_node_t *v, pt_case *k)
{
    for (size_t i = 0; i < sizeof(pt_str_keys) / sizeof(pt_str_keys[0]); i++) {
        if (strcmp(key, pt_str_keys[i].name) != 0)
            continue;
        const char *const *words = pt_str_keys[i].words ? pt_str_keys[i].words : pt_words_for(key);
        const char *s = words ? pt_word(c, v, key, words) : pt_scalar(c, v, key);
        *(const char **)(void *)((char *)k + pt_str_keys[i].off) = s;
        return true;
    }
    const struct {
        const char *name;
        int *slot;
    } bools[] = {{"mfa", &k->mfa},
                 {"phishing_resistant", &k->phishing_resistant},
                 {"anonymous_ip", &k->anonymous_ip},
                 {"password_change_required", &k->password_change}};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(key, bools[i].name) == 0) {
            *bools[i].slot = pt_bool(c, v, key);
            return true;
        }
    if (strcmp(key, "ip") == 0)
        k->ip = pt_checked(c, v, key, pt_ok_ip, "an IPv4 or IPv6 address");
    else if (strcmp(key, "country") == 0)
        k->country = pt_checked(c, v, key, pt_ok_country, "two capital letters, like JP");
    else if (strcmp(key, "passkey_aaguid") == 0)
        k->passkey_aaguid =
            pt_checked(c, v, key, pt_ok_aaguid, "an AAGUID (8-4-4-4-12 hex digits)");
    else if (strcmp(key, "at") == 0)
        k->at = pt_checked(c, v, key, pt_ok_time,
                           "an RFC 3339 time like \"2026-11-24T09:00:00+09:00\"");
    else if (strcmp(key, "auth_age") == 0)
        k->auth_age = pt_checked(c, v, key, pt_ok_duration, "a duration like 30m, 9h or 2d");
    else if (strcmp(key, "groups") == 0)
        pt_groups(c, v, k);
    else if (strcmp(key, "expect_restrict") == 0)
        pt_restrict(c, v, k);
    else
        return false;
    return true;
}

static bool pt_seen(const char *const *seen, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(seen[i], key) == 0)
            return true;
    return false;
}

/* Rules across keys of one case, checked once its keys are read. A key that was written but
 * refused has been reported already, so "needs" is only said of keys never written. */
static void pt_case_check(pt_ctx *c, pt_case *k, yaml_node_t *map, const char *const *seen,
                          size_t n_seen)
{
    char shown[PT_SHOW_MAX + 4];
    if (k->name == NULL && !pt_seen(seen, n_seen, "name"))
        pt_err(c, map, "a case needs 'name'");
    if (k->expect == NULL && !pt_seen(seen, n_seen, "expect"))
        pt_err(c, map, "a case needs 'expect' (%s)",
               "allow, block, mfa, compliant_device, password_change, phishing_resistant_mfa or "
               "reauth");
    if (k->app == NULL && !pt_seen(seen, n_seen, "app"))
        pt_err(c, map, "a case needs 'app'");
    else if (k->app != NULL && !zt_whatif_app(c->env, &(zt_whatif){0}, k->app))
        pt_err(c, k->app_node, "'app': no app named '%s' in %s", pt_show(k->app, shown),
               c->env->cfg->path);
    if (!pt_seen(seen, n_seen, "user") && !pt_seen(seen, n_seen, "email") &&
        !pt_seen(seen, n_seen, "groups"))
        pt_err(c, map,
               "a case needs 'user' (looked up in the store) or 'groups'/'email' "
               "(a hypothetical user)");
    if (k->user != NULL && (k->email != NULL || k->has_groups))
        pt_err(c, k->user_node,
               "'user' is looked up in the store; use 'email' with 'groups' for a "
               "hypothetical user");
    if (k->expect_policy != NULL && !pt_policy_known(c, k->expect_policy))
        pt_err(c, k->policy_node, "'expect_policy': no policy named '%s' in %s",
               pt_show(k->expect_policy, shown), c->env->cfg->path);
}

static void pt_read_case(pt_ctx *c, yaml_node_t *map, pt_case *k)
{
    memset(k, 0, sizeof(*k));
    k->mfa = k->phishing_resistant = k->anonymous_ip = k->password_change = -1;
    k->node = map;
    k->line = (unsigned)map->start_mark.line + 1;
    k->col = (unsigned)map->start_mark.column + 1;
    if (map->type != YAML_MAPPING_NODE) {
        pt_err(c, map, "a case must be a mapping of keys (name, app, expect, ...)");
        return;
    }
    const char *seen[32];
    size_t n_seen = 0;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *kn = yaml_document_get_node(&c->doc, pr->key);
        yaml_node_t *vn = yaml_document_get_node(&c->doc, pr->value);
        const char *key = kn != NULL ? pt_scalar(c, kn, "key") : NULL;
        if (key == NULL || vn == NULL)
            continue;
        bool dup = false;
        for (size_t i = 0; i < n_seen; i++)
            dup |= strcmp(seen[i], key) == 0;
        if (dup) {
            pt_err(c, kn, "'%s' is given twice", key);
            continue;
        }
        if (n_seen < sizeof(seen) / sizeof(seen[0]))
            seen[n_seen++] = key;
        if (strcmp(key, "user") == 0)
            k->user_node = vn;
        if (strcmp(key, "app") == 0)
            k->app_node = vn;
        if (strcmp(key, "expect_policy") == 0)
            k->policy_node = vn;
        if (!pt_key_value(c, key, vn, k)) {
            char shown[PT_SHOW_MAX + 4];
            pt_err(c, kn, "unknown key '%s' (keys: %s)", pt_show(key, shown), pt_all_keys);
        }
    }
    pt_case_check(c, k, map, seen, n_seen);
}

static void pt_read_cases(pt_ctx *c)
{
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    if (root == NULL) {
        fprintf(stderr, "%s:1:1: the file holds no test cases\n", c->file);
        c->errors++;
        return;
    }
    if (pt_has_aliases(c))
        return;
    if (root->type != YAML_SEQUENCE_NODE) {
        pt_err(c, root, "the file must be a list of test cases (\"- name: ...\")");
        return;
    }
    size_t n = (size_t)(root->data.sequence.items.top - root->data.sequence.items.start);
    if (n == 0) {
        pt_err(c, root, "the file holds no test cases");
        return;
    }
    if (n > PT_CASES_MAX) {
        pt_err(c, root, "more than %d test cases in one file", PT_CASES_MAX);
        return;
    }
    if ((c->cases = calloc(n, sizeof(*c->cases))) == NULL) {
        pt_err(c, NULL, "out of memory");
        return;
    }
    for (yaml_node_item_t *it = root->data.sequence.items.start; it < root->data.sequence.items.top;
         it++)
        pt_read_case(c, yaml_document_get_node(&c->doc, *it), &c->cases[c->n_cases++]);
}

/* ---------------------------------------------------------------------------------------------
 * Running */

/* The simulated request of case k. 0, or ZT_CLI_USAGE (bad input, reported), ZT_CLI_FAIL. */
static int pt_build(pt_ctx *c, const pt_case *k, zt_whatif *w)
{
    char err[512];
    int64_t age = 0;
    zt_whatif_init(w, zt_wall_us() / 1000000);
    zt_whatif_app(c->env, w, k->app);
    if (k->ip != NULL)
        zt_whatif_parse_ip(k->ip, w);
    if (k->country != NULL)
        zt_whatif_parse_country(k->country, w);
    if (k->device != NULL)
        zt_whatif_parse_device(k->device, w);
    if (k->platform != NULL)
        zt_whatif_parse_platform(k->platform, &w->in.platform);
    if (k->client != NULL)
        zt_whatif_parse_client(k->client, &w->in.client);
    if (k->sign_in_risk != NULL)
        zt_whatif_parse_risk(k->sign_in_risk, &w->in.sign_in_risk);
    if (k->user_risk != NULL)
        zt_whatif_parse_risk(k->user_risk, &w->in.user_risk);
    if (k->device_risk != NULL)
        zt_whatif_parse_risk(k->device_risk, &w->in.device_risk);
    if (k->at != NULL)
        zt_whatif_parse_time(k->at, &w->in.now);
    if (k->auth_age != NULL)
        zt_whatif_parse_duration(k->auth_age, &age);
    w->in.anonymous_ip = k->anonymous_ip == 1;
    w->in.password_change_required = k->password_change == 1;
    zt_whatif_set_session(w, age, k->mfa == 1, k->phishing_resistant == 1);
    if (k->passkey_aaguid != NULL)
        zt_whatif_parse_passkey_aaguid(k->passkey_aaguid, w);
    if (k->user == NULL) {
        const char **names = calloc(k->n_groups + 1, sizeof(*names));
        size_t n = 0;
        for (yaml_node_item_t *it = k->groups ? k->groups->data.sequence.items.start : NULL;
             names != NULL && it < k->groups->data.sequence.items.top; it++)
            names[n++] = (const char *)yaml_document_get_node(&c->doc, *it)->data.scalar.value;
        int rc = names != NULL ? zt_whatif_groups(w, k->email, names, n) : -ENOMEM;
        free(names);
        if (rc != 0)
            pt_err(c, k->node, "case '%s': %s", k->name, strerror(-rc));
        return rc == 0 ? 0 : ZT_CLI_USAGE;
    }
    int rc = zt_whatif_user(c->env, w, k->user, err, sizeof(err));
    if (rc != 0)
        pt_err(c, k->user_node, "case '%s': %s", k->name, err);
    return rc == 0 ? 0 : rc == -ENOENT ? ZT_CLI_USAGE : ZT_CLI_FAIL;
}

static bool pt_policy_matched(const zt_whatif_env *env, const zt_policy_result *res,
                              const char *name)
{
    for (size_t i = 0; i < res->n_matched; i++)
        if (strcmp(zt_policy_name(env->set, res->matched[i]), name) == 0)
            return true;
    return res->block_policy >= 0 && strcmp(zt_policy_name(env->set, res->block_policy), name) == 0;
}

static void pt_restrict_text(unsigned bits, char *out, size_t cap)
{
    size_t o = 0;
    snprintf(out, cap, "[]");
    for (size_t i = 0; pt_restricts[i] != NULL; i++)
        if (bits & (1u << i))
            o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? ", " : "[", pt_restricts[i]);
    if (o > 0)
        snprintf(out + o, cap - o, "]");
}

/* Mismatches of one case, one line each, into problems (a json array of strings). */
static void pt_compare(const zt_whatif_env *env, const pt_case *k, const zt_policy_result *res,
                       json_t *problems)
{
    char want[64], got[64];
    const char *verdict = zt_whatif_verdict(res);
    if (strcmp(verdict, k->expect) != 0)
        json_array_append_new(problems, json_sprintf("expected %s, got %s", k->expect, verdict));
    if (k->has_restrict && k->expect_restrict != res->restrict_flags) {
        pt_restrict_text(k->expect_restrict, want, sizeof(want));
        pt_restrict_text(res->restrict_flags, got, sizeof(got));
        json_array_append_new(problems, json_sprintf("expected restrict %s, got %s", want, got));
    }
    if (k->expect_policy != NULL && !pt_policy_matched(env, res, k->expect_policy))
        json_array_append_new(
            problems, json_sprintf("expected policy %s to apply; it does not", k->expect_policy));
    if (k->expect_report_only != NULL &&
        strcmp(k->expect_report_only, zt_outcome_name(res->report_only_outcome)) != 0)
        json_array_append_new(problems,
                              json_sprintf("expected report-only %s, got %s", k->expect_report_only,
                                           zt_outcome_name(res->report_only_outcome)));
}

/* Runs case k: its JSON result into *out. 0, or ZT_CLI_USAGE / ZT_CLI_FAIL. */
static int pt_run_case(pt_ctx *c, const pt_case *k, bool json, json_t **out)
{
    zt_whatif w;
    zt_whatif_answer ans = {0};
    int rc = pt_build(c, k, &w);
    json_t *problems = json_array();
    if (rc == 0 && (problems == NULL || zt_whatif_cli_eval(c->env, &w, &ans) != 0))
        rc = zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    if (rc == 0) {
        pt_compare(c->env, k, &ans.res, problems);
        bool pass = json_array_size(problems) == 0;
        if (!json) {
            printf("%s  %s\n", pass ? "PASS" : "FAIL", k->name);
            for (size_t i = 0; !pass && i < json_array_size(problems); i++)
                printf("      %s\n", json_string_value(json_array_get(problems, i)));
            if (!pass) {
                printf("      (%s:%u:%u)\n", c->file, k->line, k->col);
                zt_whatif_print(c->env, &w, &ans, "      ", stdout);
            }
        }
        *out = json_pack("{s:s,s:I,s:b,s:s,s:O,s:o?}", "name", k->name, "line", (json_int_t)k->line,
                         "pass", pass, "expect", k->expect, "problems", problems, "whatif",
                         zt_whatif_json(c->env, &w, &ans));
        if (*out == NULL)
            rc = zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    }
    json_decref(problems);
    zt_whatif_answer_dispose(&ans);
    zt_whatif_dispose(&w);
    return rc;
}

static int pt_run(pt_ctx *c, bool json)
{
    size_t passed = 0, failed = 0;
    json_t *results = json_array();
    int rc = results != NULL ? 0 : zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    for (size_t i = 0; i < c->n_cases && rc == 0; i++) {
        json_t *r = NULL;
        rc = pt_run_case(c, &c->cases[i], json, &r);
        if (rc != 0)
            break;
        if (json_is_true(json_object_get(r, "pass")))
            passed++;
        else
            failed++;
        json_array_append_new(results, r);
    }
    if (rc == 0 && json)
        rc = zt_cli_json_print(json_pack("{s:s,s:s,s:I,s:I,s:O}", "file", c->file, "config",
                                         c->env->cfg->path, "passed", (json_int_t)passed, "failed",
                                         (json_int_t)failed, "cases", results));
    else if (rc == 0)
        printf("%s: %zu case(s): %zu passed, %zu failed\n", c->file, c->n_cases, passed, failed);
    json_decref(results);
    if (rc == 0 && fflush(stdout) != 0)
        rc = zt_cli_fail(ZT_CLI_FAIL, "writing to stdout failed");
    return rc != 0 ? rc : failed > 0 ? ZT_CLI_FAIL : ZT_CLI_OK;
}

/* ---------------------------------------------------------------------------------------------
 * `ztgate policy test FILE` */

#define PT_USAGE "usage: ztgate policy test FILE [--json] [--config FILE]\n"

static int policy_test(int argc, char **argv)
{
    const char *file = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            i++;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            continue;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ztgate: unknown option '%s'\n" PT_USAGE, argv[i]);
            return ZT_CLI_USAGE;
        } else if (file != NULL) {
            fprintf(stderr, "ztgate: unexpected argument '%s'\n" PT_USAGE, argv[i]);
            return ZT_CLI_USAGE;
        } else {
            file = argv[i];
        }
    }
    if (file == NULL) {
        fprintf(stderr, "ztgate: missing the test FILE\n" PT_USAGE);
        return ZT_CLI_USAGE;
    }
    zt_whatif_env env;
    int rc = zt_whatif_env_open(&env, zt_cli_config_path(argc, argv));
    if (rc != 0)
        return rc;
    pt_ctx c = {.file = file, .env = &env};
    zt_buf b;
    zt_buf_init(&b, PT_FILE_MAX);
    bool have_doc = pt_read_file(&c, &b) && pt_load_doc(&c, &b);
    if (have_doc && c.errors == 0)
        pt_read_cases(&c);
    if (c.errors == 0)
        rc = pt_run(&c, json);
    if (c.errors > 0 && rc != ZT_CLI_FAIL)
        rc = ZT_CLI_USAGE;
    if (have_doc)
        yaml_document_delete(&c.doc);
    zt_buf_dispose(&b);
    free(c.cases);
    zt_whatif_env_close(&env);
    return rc;
}

int zt_cmd_policy(int argc, char **argv)
{
    const char *action = argc >= 2 ? argv[1] : NULL;
    if (action != NULL && strcmp(action, "test") == 0)
        return policy_test(argc, argv);
    if (action != NULL && (strcmp(action, "help") == 0 || strcmp(action, "--help") == 0)) {
        fputs(PT_USAGE, stdout);
        return ZT_CLI_OK;
    }
    if (action != NULL)
        fprintf(stderr, "ztgate: unknown action 'policy %s'\n", action);
    fputs(PT_USAGE, stderr);
    return ZT_CLI_USAGE;
}
