/* The zt_devices object: the CA, the compliance rules, the in-memory set of revoked
 * certificate serials that every handshake consults, and a small bounded cache of per-device
 * state for the policy engine. Nothing here blocks a handshake on the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "core/config.h"
#include "device/device_int.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/time.h"
#include "store/store.h"

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

void zt_devices_rules_from_cfg(const zt_devices_cfg *cfg, zt_compliance_rules *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < cfg->compliance.n_min_os_version && i < 8; i++) {
        snprintf(out->min_os[i].os_id, sizeof(out->min_os[i].os_id), "%s",
                 cfg->compliance.min_os_version[i][0]);
        snprintf(out->min_os[i].min_version, sizeof(out->min_os[i].min_version), "%s",
                 cfg->compliance.min_os_version[i][1]);
        out->n_min_os++;
    }
    out->max_signature_age_s = cfg->compliance.max_signature_age_s;
    out->require_disk_encryption = cfg->compliance.require_disk_encryption;
    out->require_firewall = cfg->compliance.require_firewall;
    out->require_antivirus = cfg->compliance.require_antivirus;
    out->max_update_age_s = cfg->compliance.max_update_age_s;
    out->max_report_age_s = cfg->posture_max_age_s > 0 ? cfg->posture_max_age_s : 86400;
}

int zt_devices_cfg_from_config(const zt_config *c, zt_store *st, zt_devices_cfg *out,
                               zt_devices_cfg_words *w, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    memset(w, 0, sizeof(*w));
    const zt_devices_settings *d = &c->devices;
    out->store = st;
    if (d->ca_dir != NULL && d->ca_dir[0] != '\0')
        snprintf(w->ca_dir, sizeof(w->ca_dir), "%s", d->ca_dir);
    else
        snprintf(w->ca_dir, sizeof(w->ca_dir), "%s/device-ca",
                 c->state_dir != NULL ? c->state_dir : ".");
    out->ca_dir = w->ca_dir;
    out->cert_lifetime_s = (int64_t)(d->certificate_lifetime_ms / 1000);
    out->enroll_code_ttl_s = (int64_t)(d->enroll_code_ttl_ms / 1000);
    out->posture_max_age_s = (int64_t)(d->posture_max_age_ms / 1000);
    /* The 1h default shrinks to a shorter posture_max_age: silence warns before staleness
     * blocks (a silent_after the config gives is checked against it there). */
    uint64_t silent_ms = d->silent_after_ms < d->posture_max_age_ms || d->posture_max_age_ms == 0
                             ? d->silent_after_ms
                             : d->posture_max_age_ms;
    out->silent_after_s = (int64_t)(silent_ms / 1000);
    snprintf(w->sweep_file, sizeof(w->sweep_file), "%s/device-sweep",
             c->state_dir != NULL ? c->state_dir : ".");
    out->sweep_file = w->sweep_file;
    for (size_t i = 0; i < d->n_min_os_versions && i < 8; i++) {
        const char *s = d->min_os_versions[i].s;
        const char *colon = s != NULL ? strchr(s, ':') : NULL;
        size_t idn = colon != NULL ? (size_t)(colon - s) : 0;
        if (colon == NULL || idn == 0 || idn >= sizeof(w->words[i][0]) || colon[1] == '\0' ||
            strlen(colon + 1) >= sizeof(w->words[i][1])) {
            zt_errf(err, errlen, "devices.min_os_versions: \"%s\" is not OS_ID:VERSION",
                    s != NULL ? s : "");
            return -1;
        }
        memcpy(w->words[i][0], s, idn);
        snprintf(w->words[i][1], sizeof(w->words[i][1]), "%s", colon + 1);
        out->compliance.min_os_version[i][0] = w->words[i][0];
        out->compliance.min_os_version[i][1] = w->words[i][1];
        out->compliance.n_min_os_version++;
    }
    out->compliance.max_signature_age_s = (int64_t)(d->max_signature_age_ms / 1000);
    out->compliance.max_update_age_s = (int64_t)(d->max_update_age_ms / 1000);
    out->compliance.require_disk_encryption = d->require_disk_encryption;
    out->compliance.require_firewall = d->require_firewall;
    out->compliance.require_antivirus = d->require_antivirus;
    return 0;
}

int zt_devices_ca_fingerprint(const zt_devices *d, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    out[0] = '\0';
    if (d == NULL || d->ca.cert == NULL || X509_digest(d->ca.cert, EVP_sha256(), md, &n) != 1 ||
        n != sizeof(md))
        return -1;
    sodium_bin2hex(out, 65, md, sizeof(md));
    return 0;
}

zt_devices *zt_devices_new(const zt_devices_cfg *cfg, char *err, size_t errlen)
{
    if (cfg == NULL || cfg->store == NULL) {
        zt_errf(err, errlen, "devices: no store");
        return NULL;
    }
    zt_devices *d = calloc(1, sizeof(*d));
    if (d == NULL || (d->cache = calloc(ZT_DEVICE_CACHE_SLOTS, sizeof(*d->cache))) == NULL ||
        (d->signins = zt_agent_signins_new()) == NULL) {
        if (d != NULL)
            free(d->cache);
        free(d);
        zt_errf(err, errlen, "devices: out of memory");
        return NULL;
    }
    d->store = cfg->store;
    d->cert_lifetime_s = cfg->cert_lifetime_s > 0 ? cfg->cert_lifetime_s : 365 * 86400;
    d->code_ttl_s = cfg->enroll_code_ttl_s > 0 ? cfg->enroll_code_ttl_s : 900;
    zt_devices_rules_from_cfg(cfg, &d->rules);
    d->silent_after_s = cfg->silent_after_s > 0 ? cfg->silent_after_s : 0;
    atomic_init(&d->swept_until, 0);
    if (cfg->sweep_file != NULL && (d->sweep_file = strdup(cfg->sweep_file)) == NULL) {
        free(d->cache);
        free(d);
        zt_errf(err, errlen, "devices: out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->sign_mu, NULL);
    pthread_mutex_init(&d->cache_mu, NULL);
    pthread_rwlock_init(&d->rev_lock, NULL);
    char why[512];
    if (zt_ca_open(cfg->ca_dir, now_s(), &d->ca, why, sizeof(why)) != 0) {
        zt_errf(err, errlen, "devices: %s", why);
        zt_devices_free(d);
        return NULL;
    }
    zt_devices_refresh_revoked(d);
    if (d->revoked == NULL) {
        zt_errf(err, errlen, "devices: cannot load revoked certificates: %s", zt_store_errmsg());
        zt_devices_free(d);
        return NULL;
    }
    return d;
}

static void revoked_free(zt_revoked_set *s)
{
    if (s != NULL) {
        free(s->serial);
        free(s);
    }
}

void zt_devices_free(zt_devices *d)
{
    if (d == NULL)
        return;
    zt_ca_dispose(&d->ca);
    revoked_free(d->revoked);
    free(d->cache);
    zt_agent_signins_free(d->signins);
    free(d->sweep_file);
    pthread_mutex_destroy(&d->sign_mu);
    pthread_mutex_destroy(&d->cache_mu);
    pthread_rwlock_destroy(&d->rev_lock);
    free(d);
}

/* ---- revoked serials ---- */

typedef struct rev_build {
    zt_revoked_set *set;
    size_t cap;
} rev_build;

static int rev_add(void *ctx, const char *serial)
{
    rev_build *b = ctx;
    if (b->set->n == ZT_REVOKED_MAX)
        return -E2BIG;
    if (b->set->n == b->cap &&
        zt_array_grow(&b->set->serial, &b->cap, sizeof(*b->set->serial), 64) < 0)
        return -ENOMEM;
    snprintf(b->set->serial[b->set->n++], ZT_SERIAL_HEX_MAX + 1, "%s", serial);
    return 0;
}

static int serial_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

void zt_devices_refresh_revoked(zt_devices *d)
{
    if (d == NULL)
        return;
    rev_build b = {.set = calloc(1, sizeof(zt_revoked_set))};
    int rc =
        b.set != NULL ? zt_store_device_revoked_serials(d->store, now_s(), rev_add, &b) : -ENOMEM;
    if (rc != 0) {
        /* Keep the previous set: a store hiccup must not un-revoke anything. */
        revoked_free(b.set);
    } else {
        /* The store returns them ordered by serial already; sort anyway (cheap, and the
         * binary search must not depend on a backend's collation). */
        if (b.set->n > 1)
            qsort(b.set->serial, b.set->n, sizeof(*b.set->serial), serial_cmp);
        pthread_rwlock_wrlock(&d->rev_lock);
        zt_revoked_set *old = d->revoked;
        d->revoked = b.set;
        pthread_rwlock_unlock(&d->rev_lock);
        revoked_free(old);
    }
    /* Revocations and deletions from other processes reach us through the same counter. */
    pthread_mutex_lock(&d->cache_mu);
    memset(d->cache, 0, ZT_DEVICE_CACHE_SLOTS * sizeof(*d->cache));
    pthread_mutex_unlock(&d->cache_mu);
    atomic_fetch_add(&d->epoch, 1);
}

uint64_t zt_devices_epoch(const zt_devices *d)
{
    return d == NULL ? 0 : atomic_load(&((zt_devices *)d)->epoch);
}

bool zt_devices_serial_revoked(zt_devices *d, const char *serial_hex)
{
    pthread_rwlock_rdlock(&d->rev_lock);
    bool hit = d->revoked == NULL ||
               (d->revoked->n > 0 && bsearch(serial_hex, d->revoked->serial, d->revoked->n,
                                             sizeof(*d->revoked->serial), serial_cmp) != NULL);
    pthread_rwlock_unlock(&d->rev_lock);
    return hit;
}

/* ---- state cache ---- */

static size_t slot_of(const char *id)
{
    /* FNV-1a over the id: ids are random, so any mixing spreads them. */
    uint32_t h = 2166136261u;
    for (; *id != '\0'; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % ZT_DEVICE_CACHE_SLOTS;
}

void zt_devices_invalidate(zt_devices *d, const char *device_id)
{
    size_t i = slot_of(device_id);
    pthread_mutex_lock(&d->cache_mu);
    if (strcmp(d->cache[i].id, device_id) == 0)
        d->cache[i].used = false;
    pthread_mutex_unlock(&d->cache_mu);
    atomic_fetch_add(&d->epoch, 1);
}

static bool id_ok(const char *id)
{
    if (id == NULL || strlen(id) != ZT_DEVICE_ID_LEN)
        return false;
    for (size_t i = 0; i < ZT_DEVICE_ID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

/* Judge a device from the store: known, owner, compliance of its last report now, risk. */
/* The first unresolved alert, in plain words, for the block page: the user must learn that
 * malware was found, where, and that the agent's quarantine and a clean scan restore access. */
typedef struct alert_words {
    char text[320];  /* English sentence (logs, JSON detail) */
    char facts[200]; /* "SIGNATURE (FILE)": names only, the same in every language */
} alert_words;

static int first_alert(void *ctx, const zt_store_alert *a)
{
    alert_words *out = ctx;
    const char *base = strrchr(a->path, '/');
    const char *sig = a->signature[0] ? a->signature : "unknown malware";
    snprintf(out->text, sizeof(out->text),
             "Malware alert on this device: %.64s in %.100s (%s) — let the agent quarantine it "
             "and rescan, then try again",
             sig, base ? base + 1 : a->path,
             a->state == ZT_STORE_ALERT_QUARANTINED ? "quarantined, waiting for a clean scan"
                                                    : "active");
    snprintf(out->facts, sizeof(out->facts), "%.64s (%.100s)", sig, base ? base + 1 : a->path);
    return 1; /* one is enough */
}

/* A compliance rule's finding as catalogue text (the English messages carry numbers; a page in
 * any language says what to fix). */
static zt_msg rule_msg(const char *rule)
{
    static const struct {
        const char *rule;
        zt_msg msg;
    } map[] = {
        {"os_version", MSG_DEV_OS_VERSION},     {"disk_encryption", MSG_DEV_DISK_ENCRYPTION},
        {"firewall", MSG_DEV_FIREWALL},         {"antivirus_signatures", MSG_DEV_AV_SIGNATURES},
        {"antivirus", MSG_DEV_ANTIVIRUS},       {"updates", MSG_DEV_UPDATES},
        {"posture_missing", MSG_DEV_NO_REPORT}, {"posture_stale", MSG_DEV_STALE},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(rule, map[i].rule) == 0)
            return map[i].msg;
    return MSG_DEV_OTHER;
}

static void add_why(zt_device_state *out, zt_msg msg)
{
    for (unsigned i = 0; i < out->n_why; i++)
        if (out->why[i] == msg)
            return;
    if (out->n_why < ZT_DEVICE_WHY_MAX)
        out->why[out->n_why++] = msg;
}

static void fill_why(zt_device_state *out, const zt_compliance *comp, bool alert)
{
    if (alert)
        add_why(out, MSG_DEV_MALWARE);
    for (size_t i = 0; i < comp->n_failed && i < ZT_COMPLIANCE_MAX_FAILED; i++)
        add_why(out, rule_msg(comp->failed[i].rule));
}

static int compute_state(zt_devices *d, const char *id, int64_t now, zt_device_state *out,
                         zt_compliance *comp)
{
    memset(out, 0, sizeof(*out));
    memset(comp, 0, sizeof(*comp));
    zt_store_device dev;
    int rc = zt_store_device_get(d->store, id, &dev);
    if (rc == -ENOENT)
        return 0; /* unknown: known stays false */
    if (rc != 0)
        return rc;
    snprintf(out->user_id, sizeof(out->user_id), "%s", dev.user_id);
    out->risk = dev.risk;
    out->cert_not_after = dev.cert_not_after;
    if (dev.revoked_at != 0) {
        snprintf(out->failed, sizeof(out->failed), "this device's enrolment was revoked");
        add_why(out, MSG_DEV_REVOKED);
        return 0;
    }
    out->known = true;
    char *json = NULL;
    int64_t at = 0;
    zt_posture p;
    rc = zt_store_device_posture_get(d->store, id, &json, &at);
    const char *why = NULL;
    if (rc == 0 && zt_posture_parse(json, strlen(json), &p, &why) == 0) {
        zt_compliance_eval(&d->rules, &p, at, now, comp);
        memcpy(out->os_id, p.os_id, sizeof(out->os_id)); /* the platform policies see */
    } else
        zt_compliance_eval(&d->rules, NULL, 0, now, comp);
    free(json);
    if (rc != 0 && rc != -ENOENT)
        return rc;
    out->compliant = comp->compliant;
    alert_words alert = {"", ""};
    if (out->risk > 0) {
        rc = zt_store_device_alert_list_active(d->store, id, first_alert, &alert);
        if (rc < 0)
            return rc;
    }
    if (alert.text[0] != '\0') {
        /* The alert first: it is why access is blocked now. */
        char rules[sizeof(out->failed)];
        zt_compliance_summary(comp, rules, sizeof(rules));
        snprintf(out->failed, sizeof(out->failed), "%.300s%s%.180s", alert.text,
                 rules[0] ? "; " : "", rules);
        memcpy(out->facts, alert.facts, sizeof(out->facts));
    } else {
        zt_compliance_summary(comp, out->failed, sizeof(out->failed));
    }
    fill_why(out, comp, alert.text[0] != '\0');
    return 0;
}

int zt_devices_state(zt_devices *d, const char *device_id, int64_t now, zt_device_state *out)
{
    memset(out, 0, sizeof(*out));
    if (d == NULL || !id_ok(device_id))
        return -EINVAL;
    size_t i = slot_of(device_id);
    pthread_mutex_lock(&d->cache_mu);
    zt_device_cache_slot *s = &d->cache[i];
    bool hit = s->used && strcmp(s->id, device_id) == 0 && now >= s->computed_at &&
               now - s->computed_at < ZT_DEVICE_CACHE_TTL_S;
    if (hit)
        *out = s->st;
    pthread_mutex_unlock(&d->cache_mu);
    if (hit)
        return 0;
    zt_compliance comp;
    int rc = compute_state(d, device_id, now, out, &comp);
    if (rc != 0) {
        memset(out, 0, sizeof(*out)); /* fail closed: unknown, non-compliant */
        return rc;
    }
    pthread_mutex_lock(&d->cache_mu);
    s->used = true;
    memcpy(s->id, device_id, ZT_DEVICE_ID_LEN + 1);
    s->computed_at = now;
    s->st = *out;
    pthread_mutex_unlock(&d->cache_mu);
    return 0;
}

int64_t zt_devices_code_ttl(const zt_devices *d)
{
    return d != NULL ? d->code_ttl_s : 900;
}

int zt_devices_compliance(zt_devices *d, const char *device_id, int64_t now, zt_device_state *out,
                          zt_compliance *comp)
{
    if (d == NULL || !id_ok(device_id))
        return -EINVAL;
    zt_devices_invalidate(d, device_id);
    int rc = compute_state(d, device_id, now, out, comp);
    return rc;
}
