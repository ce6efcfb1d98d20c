/* The libldap side of a directory: connections (LDAPv3, TLS verified, no referrals, timeouts),
 * search then bind, attributes, groups. Everything here blocks; callers run it off the loops. */
#include <errno.h>
#include <ldap.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/log.h"
#include "directory/directory_int.h"
#include "lib/buf.h"
#include "lib/file.h"
#include "lib/secure.h"

/* ---- settings copied out of the config ---- */

static char *dup_or(const char *s, const char *def)
{
    const char *v = s != NULL ? s : def;
    return v != NULL ? strdup(v) : NULL;
}

static int read_password(const char *path, char **out, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
        zt_warn("ldap: %s is readable by others: make it mode 0600", path);
    zt_buf b;
    zt_buf_init(&b, 4096);
    int rc = zt_read_file(path, &b);
    if (rc != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
        zt_buf_dispose(&b);
        return -EIO;
    }
    size_t n = b.len;
    while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r'))
        n--;
    const char *nl = memchr(b.data, '\n', n);
    if (nl != NULL)
        n = (size_t)(nl - (const char *)b.data);
    if (n == 0) {
        snprintf(err, errlen, "%s is empty: the service account needs a password", path);
        zt_buf_dispose(&b);
        return -EINVAL;
    }
    *out = strndup((const char *)b.data, n);
    zt_wipe(b.data, b.len);
    zt_buf_dispose(&b);
    return *out != NULL ? 0 : -ENOMEM;
}

static void directory_free(zt_directory *d)
{
    char **strs[] = {&d->name,         &d->source,        &d->url,           &d->ca_file,
                     &d->bind_dn,      &d->base_dn,       &d->user_filter,   &d->login_attr,
                     &d->id_attr,      &d->mail_attr,     &d->name_attr,     &d->group_base,
                     &d->group_filter, &d->disabled_attr, &d->disabled_value};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    if (d->bind_pw != NULL) {
        zt_wipe(d->bind_pw, strlen(d->bind_pw));
        free(d->bind_pw);
    }
    for (size_t i = 0; i < d->n_domains; i++)
        free(d->domains[i]);
    free(d->domains);
}

static int directory_init(zt_directory *d, const zt_ldap_cfg *c, char *err, size_t errlen)
{
    bool ad = c->kind == ZT_LDAP_AD;
    d->ad = ad;
    d->name = strdup(c->name);
    size_t sn = strlen(c->name) + sizeof("ldap:");
    d->source = malloc(sn);
    if (d->source != NULL)
        snprintf(d->source, sn, "ldap:%s", c->name);
    d->url = strdup(c->url);
    d->starttls = strncmp(c->url, "ldap://", 7) == 0;
    d->ca_file = dup_or(c->ca_file, NULL);
    d->bind_dn = strdup(c->bind_dn);
    d->base_dn = strdup(c->base_dn);
    d->user_filter = dup_or(c->user_filter, ad ? "(&(objectClass=user)(objectCategory=person))"
                                               : "(objectClass=inetOrgPerson)");
    d->login_attr = dup_or(c->login_attribute, "mail");
    d->id_attr = dup_or(c->id_attribute, ad ? "objectGUID" : "entryUUID");
    d->mail_attr = dup_or(c->mail_attribute, "mail");
    d->name_attr = dup_or(c->name_attribute, "displayName");
    d->group_base = dup_or(c->group_base_dn, c->base_dn);
    d->group_filter =
        dup_or(c->group_filter, ad ? "(objectClass=group)" : "(objectClass=groupOfNames)");
    d->disabled_attr = dup_or(c->disabled_attribute, NULL);
    d->disabled_value = dup_or(c->disabled_value, NULL);
    d->timeout_ms = c->timeout_ms;
    d->sync_interval_ms = c->sync_interval_ms;
    d->jit = c->jit;
    if (c->n_domains > 0) {
        d->domains = calloc(c->n_domains, sizeof(char *));
        if (d->domains == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < c->n_domains; i++)
            if ((d->domains[i] = strdup(c->domains[i].s)) == NULL)
                return -ENOMEM;
        d->n_domains = c->n_domains;
    }
    if (d->name == NULL || d->source == NULL || d->url == NULL || d->bind_dn == NULL ||
        d->base_dn == NULL || d->user_filter == NULL || d->login_attr == NULL ||
        d->id_attr == NULL || d->mail_attr == NULL || d->name_attr == NULL ||
        d->group_base == NULL || d->group_filter == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return read_password(c->bind_password_file, &d->bind_pw, err, errlen);
}

zt_directories *zt_directories_open(const zt_ldap_cfg *cfgs, size_t n, char *err, size_t errlen)
{
    zt_directories *ds = calloc(1, sizeof(*ds));
    if (ds == NULL || (n > 0 && (ds->d = calloc(n, sizeof(zt_directory))) == NULL)) {
        free(ds);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* libldap's global options are set up once here, on the main thread, not by the first
     * connection of whichever pool thread gets there first. */
    int v3 = LDAP_VERSION3;
    ldap_set_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v3);
    for (size_t i = 0; i < n; i++) {
        ds->n++;
        char e[256] = "";
        if (directory_init(&ds->d[i], &cfgs[i], e, sizeof(e)) != 0) {
            snprintf(err, errlen, "ldap_directories %s: %s", cfgs[i].name, e);
            zt_directories_close(ds);
            return NULL;
        }
    }
    return ds;
}

void zt_directories_close(zt_directories *ds)
{
    if (ds == NULL)
        return;
    for (size_t i = 0; i < ds->n; i++)
        directory_free(&ds->d[i]);
    free(ds->d);
    free(ds);
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every setting but the defaults filled in at open: those follow from the ones compared. */
static bool directory_matches(const zt_directory *d, const zt_ldap_cfg *c)
{
    bool ok = same(d->name, c->name) && d->ad == (c->kind == ZT_LDAP_AD) && same(d->url, c->url) &&
              same(d->ca_file, c->ca_file) && same(d->bind_dn, c->bind_dn) &&
              same(d->base_dn, c->base_dn) && d->timeout_ms == c->timeout_ms &&
              d->sync_interval_ms == c->sync_interval_ms && d->jit == c->jit &&
              d->n_domains == c->n_domains &&
              (c->user_filter == NULL || same(d->user_filter, c->user_filter)) &&
              (c->group_filter == NULL || same(d->group_filter, c->group_filter)) &&
              (c->group_base_dn == NULL || same(d->group_base, c->group_base_dn)) &&
              same(d->disabled_attr, c->disabled_attribute) &&
              same(d->disabled_value, c->disabled_value);
    for (size_t i = 0; ok && i < c->n_domains; i++)
        ok = same(d->domains[i], c->domains[i].s);
    return ok;
}

bool zt_directories_match(const zt_directories *ds, const zt_ldap_cfg *cfgs, size_t n)
{
    if (zt_directories_count(ds) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!directory_matches(&ds->d[i], &cfgs[i]))
            return false;
    return true;
}

size_t zt_directories_count(const zt_directories *ds)
{
    return ds != NULL ? ds->n : 0;
}

zt_directory *zt_directories_find_at(zt_directories *ds, size_t i)
{
    return ds != NULL && i < ds->n ? &ds->d[i] : NULL;
}

zt_directory *zt_directories_find(zt_directories *ds, const char *name)
{
    for (size_t i = 0; ds != NULL && name != NULL && i < ds->n; i++)
        if (strcmp(ds->d[i].name, name) == 0)
            return &ds->d[i];
    return NULL;
}

zt_directory *zt_directories_for_email(zt_directories *ds, const char *email)
{
    const char *at = email != NULL ? strrchr(email, '@') : NULL;
    for (size_t i = 0; ds != NULL && i < ds->n; i++) {
        zt_directory *d = &ds->d[i];
        if (d->n_domains == 0)
            return d;
        for (size_t k = 0; at != NULL && k < d->n_domains; k++)
            if (strcasecmp(at + 1, d->domains[k]) == 0)
                return d;
    }
    return NULL;
}

const char *zt_directory_name(const zt_directory *d)
{
    return d->name;
}

const char *zt_directory_source(const zt_directory *d)
{
    return d->source;
}

bool zt_directory_jit(const zt_directory *d)
{
    return d->jit;
}

/* ---- connections ---- */

static struct timeval tv_of(uint64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

/* Codes that mean the directory is not there (as opposed to an answer from it). */
static bool down(int rc)
{
    return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
           rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_LOCAL_ERROR;
}

/* A connection with TLS up (LDAPS, or StartTLS done) and the certificate verified; nothing
 * bound yet. 0, or -EHOSTUNREACH (logged, without secrets). */
int zt_dir_connect(const zt_directory *d, LDAP **out)
{
    LDAP *ld = NULL;
    *out = NULL;
    int rc = ldap_initialize(&ld, d->url);
    if (rc != LDAP_SUCCESS) {
        zt_error("ldap %s: bad url: %s", d->name, ldap_err2string(rc));
        return -EHOSTUNREACH;
    }
    int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
    int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
    struct timeval tv = tv_of(d->timeout_ms);
    bool ok = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) == LDAP_OPT_SUCCESS &&
              ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) == LDAP_OPT_SUCCESS &&
              ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) == LDAP_OPT_SUCCESS &&
              ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) == LDAP_OPT_SUCCESS &&
              ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) == LDAP_OPT_SUCCESS &&
              ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12) == LDAP_OPT_SUCCESS &&
              (d->ca_file == NULL ||
               ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, d->ca_file) == LDAP_OPT_SUCCESS) &&
              ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) == LDAP_OPT_SUCCESS &&
              /* Asynchronous connect: libldap then bounds the TLS handshake by the network
               * timeout too; in blocking mode a server that accepts and says nothing holds
               * the handshake (and this pool thread) for ever. */
              ldap_set_option(ld, LDAP_OPT_CONNECT_ASYNC, LDAP_OPT_ON) == LDAP_OPT_SUCCESS;
    if (!ok) {
        zt_error("ldap %s: cannot set the connection's TLS options", d->name);
        ldap_unbind_ext_s(ld, NULL, NULL);
        return -EHOSTUNREACH;
    }
    if (d->starttls) {
        rc = ldap_start_tls_s(ld, NULL, NULL);
        if (rc != LDAP_SUCCESS) {
            /* Never go on in clear text: StartTLS is the only way to bind over ldap://. */
            zt_warn("ldap %s: StartTLS failed: %s", d->name, ldap_err2string(rc));
            ldap_unbind_ext_s(ld, NULL, NULL);
            return -EHOSTUNREACH;
        }
    }
    *out = ld;
    return 0;
}

/* A simple bind; the empty password is refused here whoever asks (an unauthenticated bind). */
static int simple_bind(LDAP *ld, const char *dn, const char *pw, size_t len)
{
    if (pw == NULL || len == 0 || dn == NULL || dn[0] == '\0')
        return LDAP_INVALID_CREDENTIALS;
    struct berval cred = {.bv_len = len, .bv_val = (char *)pw};
    return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/* Connected and bound as the service account. 0 or -EHOSTUNREACH. */
int zt_dir_service(const zt_directory *d, LDAP **out)
{
    int rc = zt_dir_connect(d, out);
    if (rc != 0)
        return rc;
    int brc = simple_bind(*out, d->bind_dn, d->bind_pw, strlen(d->bind_pw));
    if (brc != LDAP_SUCCESS) {
        zt_error("ldap %s: service account bind failed: %s", d->name, ldap_err2string(brc));
        ldap_unbind_ext_s(*out, NULL, NULL);
        *out = NULL;
        return -EHOSTUNREACH;
    }
    return 0;
}

/* ---- entries ---- */

static char *first_value(LDAP *ld, LDAPMessage *e, const char *attr, bool binary_hex)
{
    struct berval **v = ldap_get_values_len(ld, e, attr);
    if (v == NULL || v[0] == NULL) {
        ldap_value_free_len(v);
        return NULL;
    }
    char *s = NULL;
    if (binary_hex) {
        static const char hx[] = "0123456789abcdef";
        size_t n = v[0]->bv_len > 64 ? 64 : v[0]->bv_len;
        s = malloc(n * 2 + 1);
        for (size_t i = 0; s != NULL && i < n; i++) {
            s[2 * i] = hx[(unsigned char)v[0]->bv_val[i] >> 4];
            s[2 * i + 1] = hx[(unsigned char)v[0]->bv_val[i] & 15];
        }
        if (s != NULL)
            s[n * 2] = '\0';
    } else if (memchr(v[0]->bv_val, '\0', v[0]->bv_len) == NULL) {
        s = strndup(v[0]->bv_val, v[0]->bv_len);
    }
    ldap_value_free_len(v);
    return s;
}

static bool has_value(LDAP *ld, LDAPMessage *e, const char *attr, const char *want)
{
    struct berval **v = ldap_get_values_len(ld, e, attr);
    bool found = false;
    for (size_t i = 0; v != NULL && v[i] != NULL && !found; i++)
        found = v[i]->bv_len == strlen(want) && strncasecmp(v[i]->bv_val, want, v[i]->bv_len) == 0;
    ldap_value_free_len(v);
    return found;
}

/* AD userAccountControl bit 2 (ACCOUNTDISABLE), or the configured attribute and value. */
static bool entry_disabled(const zt_directory *d, LDAP *ld, LDAPMessage *e)
{
    if (d->ad) {
        char *uac = first_value(ld, e, "userAccountControl", false);
        bool off = uac != NULL && zt_dir_uac_disabled(uac);
        free(uac);
        if (off)
            return true;
    }
    return d->disabled_attr != NULL && has_value(ld, e, d->disabled_attr, d->disabled_value);
}

/* The user's fields from its entry; groups are read separately. 0 or -EPROTO (no id). */
int zt_dir_user_from_entry(const zt_directory *d, LDAP *ld, LDAPMessage *e, zt_dir_user *u)
{
    memset(u, 0, sizeof(*u));
    char *dn = ldap_get_dn(ld, e);
    u->dn = dn != NULL ? strdup(dn) : NULL;
    ldap_memfree(dn);
    u->external_id = first_value(ld, e, d->id_attr, strcasecmp(d->id_attr, "objectGUID") == 0);
    u->email = first_value(ld, e, d->mail_attr, false);
    u->name = first_value(ld, e, d->name_attr, false);
    if (u->name == NULL)
        u->name = first_value(ld, e, "cn", false);
    u->disabled = entry_disabled(d, ld, e);
    if (u->dn == NULL || u->external_id == NULL || u->external_id[0] == '\0' ||
        strlen(u->external_id) > 255) {
        zt_warn("ldap %s: entry %s has no usable %s: skipped", d->name, u->dn ? u->dn : "?",
                d->id_attr);
        zt_dir_user_dispose(u);
        return -EPROTO;
    }
    return 0;
}

void zt_dir_user_dispose(zt_dir_user *u)
{
    if (u == NULL)
        return;
    free(u->dn);
    free(u->external_id);
    free(u->email);
    free(u->name);
    free(u->groups);
    memset(u, 0, sizeof(*u));
}

void zt_dir_users_free(zt_dir_user *users, size_t n)
{
    for (size_t i = 0; users != NULL && i < n; i++)
        zt_dir_user_dispose(&users[i]);
    free(users);
}

/* The attributes a user search asks for. */
void zt_dir_user_attrs(const zt_directory *d, const char *attrs[8])
{
    size_t k = 0;
    attrs[k++] = d->id_attr;
    attrs[k++] = d->mail_attr;
    attrs[k++] = d->name_attr;
    attrs[k++] = "cn";
    if (d->ad)
        attrs[k++] = "userAccountControl";
    if (d->disabled_attr != NULL)
        attrs[k++] = d->disabled_attr;
    attrs[k] = NULL;
}

/* ---- groups ---- */

static bool group_ident(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ZT_STORE_GROUP_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '.' || c == '_' || c == '-'));
        if (!ok)
            return false;
    }
    return true;
}

/* ztgate's name for a directory group: its cn when that is an identifier policies can name,
 * else "ldap-" and 16 hex digits of SHA-256(DN) (stable while the DN is). */
void zt_dir_group_fill(zt_dir_group *g, const char *dn, const char *cn, const char *desc)
{
    memset(g, 0, sizeof(*g));
    snprintf(g->dn, sizeof(g->dn), "%s", dn);
    if (cn != NULL && group_ident(cn)) {
        snprintf(g->name, sizeof(g->name), "%s", cn);
    } else {
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)dn, strlen(dn), md);
        char *p = g->name;
        p += snprintf(p, sizeof(g->name), "ldap-");
        for (size_t i = 0; i < 8; i++)
            p += snprintf(p, 3, "%02x", md[i]);
    }
    const char *label = desc != NULL && desc[0] != '\0' ? desc : cn;
    snprintf(g->display, sizeof(g->display), "%s", label != NULL ? label : "");
}

static bool groups_has(const zt_dir_user *u, const char *dn)
{
    for (size_t i = 0; i < u->n_groups; i++)
        if (strcasecmp(u->groups[i].dn, dn) == 0)
            return true;
    return false;
}

int zt_dir_groups_add(zt_dir_user *u, const char *dn, const char *cn, const char *desc)
{
    if (groups_has(u, dn))
        return 0;
    if (u->n_groups >= ZT_DIR_GROUPS_MAX)
        return -E2BIG;
    zt_dir_group *g = realloc(u->groups, (u->n_groups + 1) * sizeof(*g));
    if (g == NULL)
        return -ENOMEM;
    u->groups = g;
    zt_dir_group_fill(&g[u->n_groups++], dn, cn, desc);
    return 1;
}

/* Groups whose `member` (AD: in chain) holds dn, added to u. Returns how many were new, or a
 * negative errno. */
static int groups_of(const zt_directory *d, LDAP *ld, const char *dn, bool in_chain, zt_dir_user *u)
{
    char esc[3 * ZT_DIR_DN_MAX + 1];
    if (zt_ldap_filter_escape(dn, strlen(dn), esc, sizeof(esc)) != 0)
        return -E2BIG;
    size_t fl = strlen(d->group_filter) + strlen(esc) + 64;
    char *filter = malloc(fl);
    if (filter == NULL)
        return -ENOMEM;
    snprintf(filter, fl, "(&%s(member%s=%s))", d->group_filter,
             in_chain ? ":1.2.840.113556.1.4.1941:" : "", esc);
    const char *attrs[] = {"cn", "description", NULL};
    struct timeval tv = tv_of(d->timeout_ms);
    LDAPMessage *res = NULL;
    int rc = ldap_search_ext_s(ld, d->group_base, LDAP_SCOPE_SUBTREE, filter, (char **)attrs, 0,
                               NULL, NULL, &tv, ZT_DIR_GROUPS_MAX, &res);
    free(filter);
    int added = 0;
    if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) {
        for (LDAPMessage *e = ldap_first_entry(ld, res); e != NULL && added >= 0;
             e = ldap_next_entry(ld, e)) {
            char *gdn = ldap_get_dn(ld, e);
            char *cn = first_value(ld, e, "cn", false);
            char *desc = first_value(ld, e, "description", false);
            int r = gdn != NULL ? zt_dir_groups_add(u, gdn, cn, desc) : 0;
            if (r == -E2BIG) /* the user's first groups are kept (logged below) */
                rc = LDAP_SIZELIMIT_EXCEEDED;
            else
                added = r < 0 ? r : added + r;
            ldap_memfree(gdn);
            free(cn);
            free(desc);
        }
        if (rc == LDAP_SIZELIMIT_EXCEEDED)
            zt_warn("ldap %s: %s is in more than %d groups: the rest are ignored", d->name, dn,
                    ZT_DIR_GROUPS_MAX);
    } else {
        added = down(rc) ? -EHOSTUNREACH : -EPROTO;
        zt_warn("ldap %s: group search failed: %s", d->name, ldap_err2string(rc));
    }
    ldap_msgfree(res);
    return added;
}

/* Every group of the user, nested groups followed: AD asks the server for the chain; elsewhere
 * the groups of each newly found group are asked for, level by level, up to ZT_DIR_NEST_MAX. */
int zt_dir_user_groups(const zt_directory *d, LDAP *ld, zt_dir_user *u)
{
    if (d->ad)
        return groups_of(d, ld, u->dn, true, u) < 0 ? -EHOSTUNREACH : 0;
    int rc = groups_of(d, ld, u->dn, false, u);
    if (rc < 0)
        return rc;
    size_t done = 0;
    for (int level = 0; level < ZT_DIR_NEST_MAX && done < u->n_groups; level++) {
        size_t end = u->n_groups;
        for (; done < end; done++) {
            char dn[ZT_DIR_DN_MAX];
            snprintf(dn, sizeof(dn), "%s", u->groups[done].dn);
            if ((rc = groups_of(d, ld, dn, false, u)) < 0)
                return rc;
        }
    }
    return 0;
}

/* ---- sign-in: search then bind ---- */

static zt_dir_auth find_user(const zt_directory *d, LDAP *ld, const char *login, zt_dir_user *u)
{
    char esc[3 * 256 + 1];
    if (zt_ldap_filter_escape(login, strlen(login), esc, sizeof(esc)) != 0)
        return ZT_DIR_AUTH_WRONG;
    size_t fl = strlen(d->user_filter) + strlen(d->login_attr) + strlen(esc) + 16;
    char *filter = malloc(fl);
    if (filter == NULL)
        return ZT_DIR_AUTH_UNREACHABLE;
    snprintf(filter, fl, "(&%s(%s=%s))", d->user_filter, d->login_attr, esc);
    const char *attrs[8];
    zt_dir_user_attrs(d, attrs);
    struct timeval tv = tv_of(d->timeout_ms);
    LDAPMessage *res = NULL;
    /* Size limit 2: exactly one entry may match; two are refused, not guessed between. */
    int rc = ldap_search_ext_s(ld, d->base_dn, LDAP_SCOPE_SUBTREE, filter, (char **)attrs, 0, NULL,
                               NULL, &tv, 2, &res);
    free(filter);
    zt_dir_auth out = ZT_DIR_AUTH_WRONG;
    if (rc == LDAP_SUCCESS && ldap_count_entries(ld, res) == 1) {
        if (zt_dir_user_from_entry(d, ld, ldap_first_entry(ld, res), u) == 0)
            out = ZT_DIR_AUTH_OK;
    } else if (rc == LDAP_SIZELIMIT_EXCEEDED ||
               (rc == LDAP_SUCCESS && ldap_count_entries(ld, res) > 1)) {
        zt_warn("ldap %s: more than one entry has %s = the e-mail typed: sign-in refused", d->name,
                d->login_attr);
    } else if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
        zt_warn("ldap %s: user search failed: %s", d->name, ldap_err2string(rc));
        out = ZT_DIR_AUTH_UNREACHABLE;
    }
    ldap_msgfree(res);
    return out;
}

zt_dir_auth zt_directory_authenticate(zt_directory *d, const char *login, const char *pw,
                                      size_t pw_len, zt_dir_user *u)
{
    memset(u, 0, sizeof(*u));
    if (pw == NULL || pw_len == 0 || login == NULL || login[0] == '\0' || strlen(login) > 256)
        return ZT_DIR_AUTH_WRONG; /* before any bind: never an unauthenticated one */
    LDAP *ld = NULL;
    if (zt_dir_service(d, &ld) != 0)
        return ZT_DIR_AUTH_UNREACHABLE;
    zt_dir_auth a = find_user(d, ld, login, u);
    if (a == ZT_DIR_AUTH_OK) {
        int rc = simple_bind(ld, u->dn, pw, pw_len);
        if (rc == LDAP_SUCCESS)
            a = ZT_DIR_AUTH_OK;
        else if (down(rc))
            a = ZT_DIR_AUTH_UNREACHABLE;
        else
            a = ZT_DIR_AUTH_WRONG; /* 49, AD's data 52e/533/775...: never shown to the user */
    }
    if (a == ZT_DIR_AUTH_OK) {
        /* Back to the service account to read the groups (the user may not read them). */
        if (simple_bind(ld, d->bind_dn, d->bind_pw, strlen(d->bind_pw)) != LDAP_SUCCESS ||
            zt_dir_user_groups(d, ld, u) != 0)
            a = ZT_DIR_AUTH_UNREACHABLE;
        else if (u->disabled)
            a = ZT_DIR_AUTH_DISABLED;
    }
    ldap_unbind_ext_s(ld, NULL, NULL);
    if (a != ZT_DIR_AUTH_OK && a != ZT_DIR_AUTH_DISABLED)
        zt_dir_user_dispose(u);
    return a;
}
