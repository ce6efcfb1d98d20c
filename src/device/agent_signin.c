/* The device-code sign-in of `ztagent tunnel` (RFC 8628 field names, ztgate endpoints; protocol
 * in docs/TUNNELS.md). The agent asks over its device-certificate connection
 * (POST /.ztgate/agent/signin/start) and gets a short user code; its user types that code on the
 * portal's approval page (portal/agent_approve.c), which shows the device and the app and runs
 * Conditional Access for the approving session; the agent polls (POST /.ztgate/agent/signin/poll)
 * and, once approved, gets a token: the id of a new session for the host ZT_SESSION_HOST_AGENT,
 * bound to the device, carrying the approving sign-in's time and methods.
 *
 * Against device-code phishing: the code only works for the owner of the device that asked, the
 * poll needs that device's certificate, no URL ever carries the code, codes live 5 minutes and
 * work once, wrong codes are throttled per user, both codes are kept only as SHA-256, and every
 * step is audited. The pending sign-ins are in the store (store_agent.h), one per device, so
 * that with many gateways on one database the start, the approval and the polls may each reach
 * another gateway; the wrong-code throttle counts in this gateway's memory. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <llhttp.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "audit/event.h"
#include "core/log.h"
#include "device/device_int.h"
#include "http/handler.h"
#include "http/services.h"
#include "lib/secure.h"
#include "lib/str.h"
#include "lib/time.h"
#include "session/session.h"
#include "store/store.h"

#define AS_START "/.ztgate/agent/signin/start"
#define AS_POLL "/.ztgate/agent/signin/poll"
#define AS_TTL_S 300          /* a user code lives this long */
#define AS_INTERVAL_S 5       /* the agent polls at most this often */
#define AS_SLOW_DOWN_S 5      /* RFC 8628 §3.5: each slow_down adds this */
#define AS_POLL_GRACE_MS 1000 /* a poll this much early is still on time (clocks, rounding) */
#define AS_WRONG_SLOTS 256    /* users with recent wrong codes */
#define AS_WRONG_MAX 5        /* wrong codes per user per window; the next try is refused */
#define AS_WRONG_WINDOW_S 900
#define AS_DEVICE_CODE_BYTES 32
#define AS_AUDIT_MAX 4096

typedef struct as_wrong {
    char user_id[33];
    int64_t since;
    unsigned n;
} as_wrong;

struct zt_agent_signins {
    pthread_mutex_t mu;
    as_wrong wrong[AS_WRONG_SLOTS];
};

zt_agent_signins *zt_agent_signins_new(void)
{
    zt_agent_signins *t = calloc(1, sizeof(*t));
    if (t != NULL)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

void zt_agent_signins_free(zt_agent_signins *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    zt_wipe(t, sizeof(*t));
    free(t);
}

static void sha256_hex(const char *s, size_t n, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int len = 0;
    if (EVP_Digest(s, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        memset(md, 0, sizeof(md));
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[64] = '\0';
}

/* The agent's address as a socket address (port 0) for the approval page's location facts;
 * all zero when the text is no address. */
static void ip_to_sockaddr(const char *ip, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1)
        in->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
        in6->sin6_family = AF_INET6;
}

bool zt_agent_user_code_normalise(const char *in, size_t len,
                                  char out[ZT_AGENT_USER_CODE_CHARS + 1])
{
    return zt_code_normalise(in, len, ZT_AGENT_USER_CODE_CHARS, out);
}

bool zt_agent_app_valid(const char *app)
{
    const char *colon = strrchr(app, ':');
    size_t hl = colon ? (size_t)(colon - app) : 0;
    if (colon == NULL || hl == 0 || hl > 253 || strlen(app) > ZT_AGENT_APP_MAX)
        return false;
    for (size_t i = 0; i < hl; i++) {
        char c = app[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    unsigned long long port;
    return zt_parse_u64(colon + 1, strlen(colon + 1), 65535, &port) && port > 0;
}

/* ---- answers and audit ---- */

/* RFC 8628 §3.5 error answers; message is for people reading logs. */
static void json_fail(zt_local_req *r, int status, const char *code, const char *message)
{
    r->log_detail = code;
    zt_device_json_answer(r, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

bool zt_agent_signin_audit(zt_local_req *r, const char *what, bool success, const char *user_id,
                           const char *email, const char *device_id, const char *app)
{
    zt_buf b;
    zt_buf_init(&b, AS_AUDIT_MAX);
    zt_event ev;
    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION,
                   strcmp(what, "agent_signin_approved") == 0 ? ZT_ACT_AUTH_LOGON : 99,
                   success ? ZT_SEV_INFO : ZT_SEV_MEDIUM);
    zt_event_status(&ev, success ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_metadata(&ev, r->request_id, NULL);
    zt_event_str(&ev, "message", what);
    zt_event_str(&ev, "unmapped.event", what);
    zt_event_str(&ev, "unmapped.app", app);
    zt_event_str(&ev, "actor.user.uid", user_id);
    zt_event_str(&ev, "actor.user.email_addr", email);
    zt_event_str(&ev, "device.uid", device_id);
    zt_event_str(&ev, "src_endpoint.ip", r->ip);
    bool ok = zt_event_end(&ev) == 0 && zt_local_audit(r, b.data, b.len);
    zt_buf_dispose(&b);
    return ok;
}

/* ---- the wrong-code throttle (callers hold t->mu) ---- */

/* The wrong-code counter of user_id. With every slot taken, the oldest counter still under
 * the limit gives way: forgetting a user's one or two typos costs little, while a user who
 * reached the limit keeps the slot until the window ends, so nobody escapes the throttle by
 * crowding the table. NULL only when every slot holds a throttled user (fail closed). */
static as_wrong *wrong_of(zt_agent_signins *t, const char *user_id, int64_t now)
{
    as_wrong *spare = NULL, *oldest = NULL;
    for (size_t i = 0; i < AS_WRONG_SLOTS; i++) {
        as_wrong *w = &t->wrong[i];
        if (w->n > 0 && now - w->since >= AS_WRONG_WINDOW_S)
            memset(w, 0, sizeof(*w));
        if (w->n > 0 && strcmp(w->user_id, user_id) == 0)
            return w;
        if (spare == NULL && w->n == 0)
            spare = w;
        if (w->n > 0 && w->n < AS_WRONG_MAX && (oldest == NULL || w->since < oldest->since))
            oldest = w;
    }
    if (spare == NULL && oldest != NULL) {
        memset(oldest, 0, sizeof(*oldest));
        spare = oldest;
    }
    if (spare != NULL) {
        snprintf(spare->user_id, sizeof(spare->user_id), "%s", user_id);
        spare->since = now;
    }
    return spare;
}

/* ---- the agent's calls ---- */

static json_t *read_body(zt_local_req *r, const char *field, const char **value)
{
    json_error_t jerr;
    json_t *root = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    *value = json_string_value(json_object_get(root, field));
    if (!json_is_object(root) || json_object_size(root) != 1 || *value == NULL) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static bool device_known(zt_devices *d, zt_local_req *r, zt_store_device *dev)
{
    if (r->device_id[0] == '\0') {
        json_fail(r, 401, "client_certificate_required",
                  "this endpoint needs the device certificate from enrolment");
        return false;
    }
    int rc = zt_store_device_get(d->store, r->device_id, dev);
    if (rc == -ENOENT || (rc == 0 && dev->revoked_at != 0)) {
        /* A revoked device still trying (before every loop has the new revoked set): the
         * attempt is what an administrator who revoked a lost laptop needs to see. */
        bool known = rc == 0;
        if (!zt_agent_signin_audit(r, "agent_signin_device_refused", false,
                                   known ? dev->user_id : NULL, known ? dev->email : NULL,
                                   r->device_id, NULL)) {
            json_fail(r, 503, "unavailable", "the audit log is unavailable");
            return false;
        }
        json_fail(r, 403, "device_not_enrolled", "this device is unknown or was revoked");
        return false;
    }
    if (rc != 0) {
        json_fail(r, 503, "unavailable", "the device store is unavailable");
        return false;
    }
    return true;
}

static void make_user_code(char code[ZT_AGENT_USER_CODE_CHARS + 1])
{
    const size_t na = sizeof(ZT_ENROLL_ALPHABET) - 1;
    size_t n = 0;
    while (n < ZT_AGENT_USER_CODE_CHARS) {
        unsigned char b[16];
        zt_random(b, sizeof(b));
        for (size_t i = 0; i < sizeof(b) && n < ZT_AGENT_USER_CODE_CHARS; i++)
            if (b[i] < 256 - 256 % na) /* rejection sampling: every character equally likely */
                code[n++] = ZT_ENROLL_ALPHABET[b[i] % na];
    }
    code[n] = '\0';
}

static void start(zt_devices *d, zt_local_req *r)
{
    zt_store_device dev;
    if (!device_known(d, r, &dev))
        return;
    const char *app = NULL;
    json_t *body = read_body(r, "app", &app);
    if (body == NULL || !zt_agent_app_valid(app)) {
        json_decref(body);
        json_fail(r, 400, "invalid_request", "the body must be {\"app\": \"host:port\"}");
        return;
    }
    char user_code[ZT_AGENT_USER_CODE_CHARS + 1], device_code[2 * AS_DEVICE_CODE_BYTES + 1];
    make_user_code(user_code);
    zt_random_hex(device_code, AS_DEVICE_CODE_BYTES);
    int64_t now = zt_wall_us() / 1000000;
    zt_store_agent_signin e = {.state = ZT_STORE_AGENT_PENDING,
                               .expires = now + AS_TTL_S,
                               .interval_s = AS_INTERVAL_S,
                               .last_poll_ms = zt_wall_us() / 1000};
    sha256_hex(device_code, strlen(device_code), e.device_hash);
    sha256_hex(user_code, ZT_AGENT_USER_CODE_CHARS, e.user_hash);
    snprintf(e.device_id, sizeof(e.device_id), "%s", dev.id);
    snprintf(e.app, sizeof(e.app), "%s", app);
    snprintf(e.ip, sizeof(e.ip), "%s", r->ip);
    int rc = zt_store_agent_signin_put(d->store, &e, now);
    zt_wipe(&e, sizeof(e));
    if (rc != 0) {
        json_decref(body);
        zt_wipe(device_code, sizeof(device_code));
        zt_wipe(user_code, sizeof(user_code));
        if (rc == -ENOSPC)
            json_fail(r, 503, "unavailable",
                      "too many sign-ins are pending; try again in a minute");
        else
            json_fail(r, 503, "unavailable", "the sign-in store is unavailable");
        return;
    }
    if (!zt_agent_signin_audit(r, "agent_signin_requested", true, dev.user_id, dev.email, dev.id,
                               app)) {
        json_decref(body);
        json_fail(r, 503, "unavailable", "the audit log is unavailable");
        return;
    }
    char shown[ZT_AGENT_USER_CODE_CHARS + 2];
    snprintf(shown, sizeof(shown), "%.4s-%.4s", user_code, user_code + 4);
    json_decref(body);
    r->log_detail = "agent sign-in started";
    zt_device_json_answer(r, 200,
                          json_pack("{s:s, s:s, s:i, s:i}", "device_code", device_code, "user_code",
                                    shown, "interval", AS_INTERVAL_S, "expires_in", AS_TTL_S));
    zt_wipe(device_code, sizeof(device_code));
    zt_wipe(user_code, sizeof(user_code));
}

typedef enum poll_result {
    POLL_UNKNOWN,
    POLL_OTHER_DEVICE,
    POLL_EXPIRED,
    POLL_SLOW_DOWN,
    POLL_PENDING,
    POLL_DENIED,
    POLL_APPROVED,
} poll_result;

/* Looks the device code up and moves its sign-in on; an approved or denied one is used up (by
 * the one poll whose take succeeds, on whichever gateway). copy receives the row. */
static poll_result poll_step(zt_store *st, const char *hash, const char *device_id, int64_t now_ms,
                             zt_store_agent_signin *copy, int *rc_out)
{
    *rc_out = zt_store_agent_signin_get(st, true, hash, copy);
    if (*rc_out == -ENOENT)
        *rc_out = 0;
    if (*rc_out != 0 || copy->device_hash[0] == '\0')
        return POLL_UNKNOWN;
    if (strcmp(copy->device_id, device_id) != 0)
        return POLL_OTHER_DEVICE;
    if (copy->expires <= now_ms / 1000) {
        int rc = zt_store_agent_signin_take(st, hash, -1);
        *rc_out = rc == -ENOENT ? 0 : rc;
        return POLL_EXPIRED;
    }
    if (copy->state == ZT_STORE_AGENT_DENIED || copy->state == ZT_STORE_AGENT_APPROVED) {
        int rc = zt_store_agent_signin_take(st, hash, (int)copy->state);
        *rc_out = rc == -ENOENT ? 0 : rc;
        if (rc != 0)
            return POLL_UNKNOWN; /* another poll took it first, or the store failed */
        return copy->state == ZT_STORE_AGENT_DENIED ? POLL_DENIED : POLL_APPROVED;
    }
    bool early = now_ms - copy->last_poll_ms < (int64_t)copy->interval_s * 1000 - AS_POLL_GRACE_MS;
    int interval = copy->interval_s + (early ? AS_SLOW_DOWN_S : 0);
    int rc = zt_store_agent_signin_polled(st, hash, now_ms, interval);
    *rc_out = rc == -ENOENT ? 0 : rc;
    return early ? POLL_SLOW_DOWN : POLL_PENDING;
}

/* The approved sign-in becomes a session for the agent host, bound to the device. */
static void issue_token(zt_local_req *r, const zt_store_agent_signin *e, const zt_store_device *dev)
{
    char ua[64];
    snprintf(ua, sizeof(ua), "ztagent tunnel %.40s", e->app);
    unsigned char aaguid[16];
    bool has_aaguid = e->aaguid[0] != '\0' &&
                      zt_hex_decode(e->aaguid, strlen(e->aaguid), aaguid, sizeof(aaguid), true);
    zt_session_new in = {.user_id = e->user_id,
                         .host = ZT_SESSION_HOST_AGENT,
                         .auth_time = e->auth_time,
                         .mfa_time = e->mfa_time,
                         .mfa_method = e->mfa_time ? e->mfa_method : NULL,
                         .ip = r->ip,
                         .user_agent = ua,
                         .device_id = e->device_id,
                         .amr = e->amr,
                         .passkey_aaguid = has_aaguid ? aaguid : NULL};
    char token[ZT_SESSION_COOKIE_LEN + 1];
    int64_t now = zt_wall_us() / 1000000;
    if (e->expires_cap <= now) {
        json_fail(r, 400, "expired_token", "the sign-in that approved this code has ended");
        return;
    }
    if (r->svc == NULL ||
        zt_session_create_capped(r->svc->sessions, &in, now, e->expires_cap, token, NULL) != 0) {
        json_fail(r, 503, "unavailable", "the session store is unavailable");
        return;
    }
    if (!zt_agent_signin_audit(r, "agent_token_issued", true, e->user_id, e->email, dev->id,
                               e->app)) {
        zt_wipe(token, sizeof(token));
        json_fail(r, 503, "unavailable", "the audit log is unavailable");
        return;
    }
    r->log_detail = "agent token issued";
    zt_device_json_answer(r, 200, json_pack("{s:s, s:s}", "token", token, "token_type", "Bearer"));
    zt_wipe(token, sizeof(token));
}

static void poll(zt_devices *d, zt_local_req *r)
{
    zt_store_device dev;
    if (!device_known(d, r, &dev))
        return;
    const char *code = NULL;
    json_t *body = read_body(r, "device_code", &code);
    if (body == NULL) {
        json_fail(r, 400, "invalid_request", "the body must be {\"device_code\": \"...\"}");
        return;
    }
    char hash[65];
    sha256_hex(code, strlen(code), hash);
    json_decref(body);
    zt_store_agent_signin e = {.state = ZT_STORE_AGENT_PENDING};
    int rc = 0;
    poll_result res = poll_step(d->store, hash, dev.id, zt_wall_us() / 1000, &e, &rc);
    if (rc != 0) {
        zt_wipe(&e, sizeof(e));
        json_fail(r, 503, "unavailable", "the sign-in store is unavailable");
        return;
    }
    switch (res) {
    case POLL_UNKNOWN:
        json_fail(r, 400, "expired_token", "no such sign-in: expired, used or never started");
        break;
    case POLL_OTHER_DEVICE:
        (void)zt_agent_signin_audit(r, "agent_signin_wrong_device", false, dev.user_id, dev.email,
                                    dev.id, e.app);
        json_fail(r, 403, "wrong_device", "this sign-in was started by another device");
        break;
    case POLL_EXPIRED:
        (void)zt_agent_signin_audit(r, "agent_signin_expired", false, dev.user_id, dev.email,
                                    dev.id, e.app);
        json_fail(r, 400, "expired_token", "the code expired before anyone approved it");
        break;
    case POLL_SLOW_DOWN:
        json_fail(r, 400, "slow_down", "poll less often");
        break;
    case POLL_PENDING:
        json_fail(r, 400, "authorization_pending", "not approved yet");
        break;
    case POLL_DENIED:
        json_fail(r, 400, "access_denied", "the sign-in was denied");
        break;
    case POLL_APPROVED:
        issue_token(r, &e, &dev);
        break;
    }
    zt_wipe(&e, sizeof(e));
}

void zt_agent_signin_handle(void *devices, zt_local_req *r)
{
    zt_devices *d = devices;
    bool is_start = strcmp(r->path, AS_START) == 0, is_poll = strcmp(r->path, AS_POLL) == 0;
    if (d == NULL || d->signins == NULL) {
        json_fail(r, 503, "unavailable", "device trust is not enabled on this gateway");
    } else if (!is_start && !is_poll) {
        json_fail(r, 404, "not_found", "no such agent endpoint");
    } else if (r->method != HTTP_POST) {
        zt_buf_append_str(&r->resp_headers, "Allow: POST\r\n");
        json_fail(r, 405, "method_not_allowed", "this endpoint takes POST");
    } else if (is_start) {
        start(d, r);
    } else {
        poll(d, r);
    }
}

/* ---- the approval page's actions ---- */

zt_agent_lookup zt_agent_signin_lookup(zt_devices *d, zt_local_req *r, const char *user_id,
                                       const char *email, const char *typed, int64_t now,
                                       zt_agent_pending *out)
{
    memset(out, 0, sizeof(*out));
    if (d == NULL || d->signins == NULL)
        return ZT_AGENT_LOOKUP_ERROR;
    char code[ZT_AGENT_USER_CODE_CHARS + 1], hash[65] = "";
    bool well_formed = zt_agent_user_code_normalise(typed, strlen(typed), code);
    if (well_formed)
        sha256_hex(code, ZT_AGENT_USER_CODE_CHARS, hash);
    zt_agent_signins *t = d->signins;
    pthread_mutex_lock(&t->mu);
    as_wrong *w = wrong_of(t, user_id, now);
    bool throttled = w == NULL || w->n >= AS_WRONG_MAX;
    pthread_mutex_unlock(&t->mu);
    zt_store_agent_signin e = {.state = ZT_STORE_AGENT_PENDING};
    int rc =
        throttled || !well_formed ? -ENOENT : zt_store_agent_signin_get(d->store, false, hash, &e);
    if (rc != 0 && rc != -ENOENT) {
        zt_wipe(code, sizeof(code));
        return ZT_AGENT_LOOKUP_ERROR;
    }
    zt_agent_lookup res = ZT_AGENT_LOOKUP_OK;
    if (throttled)
        res = ZT_AGENT_LOOKUP_THROTTLED;
    else if (rc == -ENOENT || e.state != ZT_STORE_AGENT_PENDING || e.expires <= now)
        res = ZT_AGENT_LOOKUP_BAD_CODE;
    if (res == ZT_AGENT_LOOKUP_BAD_CODE) {
        pthread_mutex_lock(&t->mu);
        if ((w = wrong_of(t, user_id, now)) != NULL)
            w->n++;
        pthread_mutex_unlock(&t->mu);
    }
    if (res == ZT_AGENT_LOOKUP_OK) {
        snprintf(out->device_id, sizeof(out->device_id), "%s", e.device_id);
        snprintf(out->app, sizeof(out->app), "%s", e.app);
        snprintf(out->ip, sizeof(out->ip), "%s", e.ip);
        ip_to_sockaddr(e.ip, &out->addr);
        memcpy(out->code, code, sizeof(code));
        out->expires = e.expires;
    }
    zt_wipe(&e, sizeof(e));
    zt_wipe(code, sizeof(code));
    if (res == ZT_AGENT_LOOKUP_OK) {
        zt_store_device dev;
        rc = zt_store_device_get(d->store, out->device_id, &dev);
        if (rc != 0 && rc != -ENOENT)
            return ZT_AGENT_LOOKUP_ERROR;
        if (rc == -ENOENT || dev.revoked_at != 0 || strcmp(dev.user_id, user_id) != 0)
            res = ZT_AGENT_LOOKUP_NOT_OWNER;
        snprintf(out->device_name, sizeof(out->device_name), "%s", rc == 0 ? dev.name : "");
        snprintf(out->platform, sizeof(out->platform), "%s", rc == 0 ? dev.platform : "");
    }
    const char *what = res == ZT_AGENT_LOOKUP_OK          ? NULL
                       : res == ZT_AGENT_LOOKUP_BAD_CODE  ? "agent_signin_wrong_code"
                       : res == ZT_AGENT_LOOKUP_THROTTLED ? "agent_signin_throttled"
                                                          : "agent_signin_not_owner";
    if (what != NULL &&
        !zt_agent_signin_audit(r, what, false, user_id, email, out->device_id, out->app))
        return ZT_AGENT_LOOKUP_ERROR;
    return res;
}

/* The store's decision row from the approval (state APPROVED) or a denial. */
static void decision_of(const zt_agent_approval *by, zt_store_agent_signin *out)
{
    memset(out, 0, sizeof(*out));
    out->state = by->approve ? ZT_STORE_AGENT_APPROVED : ZT_STORE_AGENT_DENIED;
    if (!by->approve)
        return;
    snprintf(out->user_id, sizeof(out->user_id), "%s", by->user_id);
    snprintf(out->email, sizeof(out->email), "%s", by->email);
    out->auth_time = by->auth_time;
    out->mfa_time = by->mfa_time;
    out->expires_cap = by->expires_cap;
    snprintf(out->mfa_method, sizeof(out->mfa_method), "%s", by->mfa_method);
    out->amr = by->amr;
    if (by->has_aaguid)
        sodium_bin2hex(out->aaguid, sizeof(out->aaguid), by->aaguid, sizeof(by->aaguid));
}

int zt_agent_signin_decide(zt_devices *d, zt_local_req *r, const zt_agent_pending *p,
                           const zt_agent_approval *by, int64_t now)
{
    char hash[65];
    sha256_hex(p->code, ZT_AGENT_USER_CODE_CHARS, hash);
    zt_store_agent_signin dec;
    decision_of(by, &dec);
    int rc = zt_store_agent_signin_decide(d->store, hash, p->device_id, now, ZT_STORE_AGENT_PENDING,
                                          &dec);
    if (rc != 0)
        return rc == -ENOENT ? -ENOENT : -EIO;
    if (!zt_agent_signin_audit(r, by->approve ? "agent_signin_approved" : "agent_signin_denied",
                               by->approve, by->user_id, by->email, p->device_id, p->app)) {
        /* The record is the condition of the approval: take it back (fail closed). */
        zt_store_agent_signin deny = {.state = ZT_STORE_AGENT_DENIED};
        (void)zt_store_agent_signin_decide(d->store, hash, p->device_id, now, dec.state, &deny);
        return -EPIPE;
    }
    return 0;
}
