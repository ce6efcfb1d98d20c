/* The dashboard, `/`: the organisation at a glance over 24 hours, 7 or 30 days. From the audit
 * log (audit/query.h, on the thread pool): sign-ins and MFA over time, access decisions by
 * outcome, detections by type; from the store: risky users, devices by compliance and open
 * incidents. An unscoped admin's figures come from one per-minute rollup that follows the log
 * (console/rollup.c: counted on its own thread from start-up, kept for the life of the
 * process; until that first count is done the page says it is counting); a scoped admin's
 * from a scan limited to the users of their scope, so nobody counts records about users they
 * may not see. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/query.h"
#include "console/console_int.h"
#include "console/rollup.h"
#include "core/log.h"
#include "store/store_device.h"
#include "store/store_incident.h"

#define TOP_N 10

typedef struct period {
    const char *name;
    zt_msg label;
    int64_t span_s, bucket_s;
} period;

static const period periods[] = {
    {"24h", CON_P24H, 86400, 3600},
    {"7d", CON_P7D, 7 * 86400, 6 * 3600},
    {"30d", CON_P30D, 30 * 86400, 86400},
};

typedef struct dash {
    zt_console_ctx *cx;
    const period *p;
    zt_aq_filter scope;
    char **allowed; /* scoped admins: the ids of the users they reach */
    bool counting;
    uint64_t counted; /* the shared rollup is still counting: records so far */
    size_t n_allowed;
} dash;

static void dash_free(dash *d)
{
    for (size_t i = 0; i < d->n_allowed; i++)
        free(d->allowed[i]);
    free(d->allowed);
    free(d);
}

/* ---- from the store ---- */

typedef struct risky {
    char id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1];
    int level;
} risky;

typedef struct risky_ctx {
    zt_console_ctx *cx;
    risky top[TOP_N];
    size_t n;
} risky_ctx;

static int risky_cb(void *ctx, const zt_store_detection *d)
{
    risky_ctx *k = ctx;
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->top[i].id, d->user_id) == 0) {
            if (d->level > k->top[i].level)
                k->top[i].level = d->level;
            return 0;
        }
    if (k->n == TOP_N)
        return 0;
    risky *r = &k->top[k->n++];
    snprintf(r->id, sizeof(r->id), "%s", d->user_id);
    snprintf(r->email, sizeof(r->email), "%s", d->email);
    r->level = d->level;
    return 0;
}

static void risky_users(zt_console_ctx *cx)
{
    risky_ctx k = {.cx = cx};
    zt_store_risk_filter f = {.state = ZT_STORE_RISK_AT_RISK, .limit = 1000};
    /* Copied out first: the scope check queries the store, which its own callback may not. */
    risky_ctx all = {.cx = cx};
    (void)zt_store_detection_list(zt_console_store(cx), &f, risky_cb, &all);
    for (size_t i = 0; i < all.n; i++)
        if (zt_console_user_in_scope(cx, all.top[i].id) == 1)
            k.top[k.n++] = all.top[i];
    zt_console_printf(cx, "<section class=\"card\"><h2>");
    zt_console_msg(cx, CON_RISKY_USERS);
    zt_console_printf(cx, "</h2>");
    if (k.n == 0) {
        zt_console_printf(cx, "<p>");
        zt_console_msg(cx, CON_NOTHING);
        zt_console_printf(cx, "</p></section>");
        return;
    }
    static const char *const names[] = {"—", "low", "medium", "high"};
    zt_console_printf(cx, "<ul>");
    for (size_t i = 0; i < k.n; i++) {
        int lv = k.top[i].level >= 0 && k.top[i].level <= 3 ? k.top[i].level : 0;
        zt_console_printf(
            cx, "<li><a href=\"/users/%s\">%s</a> <span class=\"badge %s\">%s</span></li>",
            k.top[i].id, zt_console_esc(cx, k.top[i].email), lv == 3 ? "bad" : "warn", names[lv]);
    }
    zt_console_printf(cx, "</ul></section>");
}

typedef struct dev_counts {
    zt_console_ctx *cx;
    char (*owners)[ZT_STORE_ID_LEN + 1];
    unsigned char *state; /* 0 compliant, 1 not, 2 revoked */
    size_t n, cap;
} dev_counts;

static int dev_cb(void *ctx, const zt_store_device *d)
{
    dev_counts *k = ctx;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        void *o = realloc(k->owners, cap * sizeof(*k->owners));
        if (o == NULL)
            return -ENOMEM;
        k->owners = o;
        unsigned char *s = realloc(k->state, cap);
        if (s == NULL)
            return -ENOMEM;
        k->state = s;
        k->cap = cap;
    }
    snprintf(k->owners[k->n], sizeof(k->owners[k->n]), "%s", d->user_id);
    k->state[k->n++] = d->revoked_at ? 2 : d->compliant ? 0 : 1;
    return 0;
}

static void devices_chart(zt_console_ctx *cx)
{
    if (!zt_console_may(cx, ZT_PERM_DEVICES_READ))
        return;
    dev_counts k = {.cx = cx};
    (void)zt_store_device_list(zt_console_store(cx), NULL, dev_cb, &k);
    uint64_t c[3] = {0};
    for (size_t i = 0; i < k.n; i++)
        if (zt_console_user_in_scope(cx, k.owners[i]) == 1)
            c[k.state[i]]++;
    free(k.owners);
    free(k.state);
    zt_console_bar bars[] = {{zt_console_esc(cx, zt_console_t(cx, CON_DEV_COMPLIANT)), c[0]},
                             {zt_console_esc(cx, zt_console_t(cx, CON_DEV_NONCOMPLIANT)), c[1]},
                             {zt_console_esc(cx, zt_console_t(cx, CON_DEV_REVOKED)), c[2]}};
    zt_console_bar_chart(cx, CON_CH_DEVICES, bars, 3, "ok");
}

typedef struct inc_ctx {
    zt_console_ctx *cx;
    zt_store_incident v[TOP_N * 5];
    size_t n;
} inc_ctx;

static int inc_cb(void *ctx, const zt_store_incident *inc)
{
    inc_ctx *k = ctx;
    if (inc->status != ZT_STORE_INC_RESOLVED && k->n < sizeof(k->v) / sizeof(k->v[0]))
        k->v[k->n++] = *inc;
    return 0;
}

static void incidents(zt_console_ctx *cx)
{
    if (!zt_console_may(cx, ZT_PERM_INCIDENTS_READ))
        return;
    inc_ctx *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return;
    zt_store_incident_filter f = {.status = -1, .limit = 500};
    (void)zt_store_incident_list(zt_console_store(cx), &f, inc_cb, k);
    zt_console_printf(cx, "<section class=\"card\"><h2>");
    zt_console_msg(cx, CON_OPEN_INCIDENTS);
    zt_console_printf(cx, "</h2><ul>");
    size_t shown = 0;
    for (size_t i = 0; i < k->n && shown < TOP_N; i++) {
        const zt_store_incident *inc = &k->v[i];
        if (inc->user_id[0] != '\0' && zt_console_user_in_scope(cx, inc->user_id) != 1)
            continue;
        if (inc->user_id[0] == '\0' && !zt_console_grant(cx)->everywhere)
            continue; /* a device's incident: its owner is not named here */
        zt_console_printf(cx, "<li>#%" PRId64 " %s <span class=\"badge %s\">%s</span></li>",
                          inc->id, zt_console_esc(cx, inc->title),
                          inc->severity >= 3 ? "bad" : "warn",
                          zt_store_incident_status_name(inc->status));
        shown++;
    }
    zt_console_printf(cx, "</ul>");
    if (shown == 0) {
        zt_console_printf(cx, "<p>");
        zt_console_msg(cx, CON_NOTHING);
        zt_console_printf(cx, "</p>");
    }
    zt_console_printf(cx, "</section>");
    free(k);
}

/* ---- from the audit log ---- */

static void period_nav(zt_console_ctx *cx, const period *cur)
{
    zt_console_printf(cx, "<p class=\"period\"><strong>");
    zt_console_msg(cx, CON_PERIOD);
    zt_console_printf(cx, ":</strong> ");
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
        zt_console_printf(cx, "<a href=\"/?period=%s\"%s>", periods[i].name,
                          &periods[i] == cur ? " aria-current=\"true\"" : "");
        zt_console_msg(cx, periods[i].label);
        zt_console_printf(cx, "</a>");
    }
    zt_console_printf(cx, "</p>");
}

static const char *tick(zt_console_ctx *cx, const period *p, int64_t start_us, size_t i, size_t n)
{
    size_t every = n > 8 ? n / 6 : 1;
    if (i % every != 0)
        return NULL;
    time_t t = (time_t)(start_us / 1000000);
    struct tm tm;
    char buf[16];
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(buf, sizeof(buf), p->bucket_s < 86400 && p->span_s <= 86400 ? "%H:%M" : "%m-%d",
                 &tm) == 0)
        return NULL;
    return zt_arena_strdup(&cx->arena, buf);
}

static void audit_charts(zt_console_ctx *cx, const period *p, const zt_aq_stats *st)
{
    size_t n = st->n_buckets;
    uint64_t *v = zt_arena_alloc(&cx->arena, 4 * (n ? n : 1) * sizeof(uint64_t));
    const char **x = zt_arena_alloc(&cx->arena, (n ? n : 1) * sizeof(char *));
    if (v == NULL || x == NULL)
        return;
    static const zt_aq_counter ctr[4] = {ZT_AQC_SIGNIN_OK, ZT_AQC_SIGNIN_FAIL, ZT_AQC_MFA_OK,
                                         ZT_AQC_MFA_FAIL};
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < 4; k++)
            v[k * n + i] = st->buckets[i].c[ctr[k]];
        x[i] = tick(cx, p, st->buckets[i].start_us, i, n);
    }
    zt_console_series s[4] = {{CON_S_SIGNIN_OK, v, "s0"},
                              {CON_S_SIGNIN_FAIL, v + n, "s1"},
                              {CON_S_MFA_OK, v + 2 * n, "s2"},
                              {CON_S_MFA_FAIL, v + 3 * n, "s3"}};
    zt_console_line_chart(cx, CON_CH_SIGNINS, x, n, s, 4);
    static const struct {
        zt_msg label;
        zt_aq_counter c;
    } outcomes[] = {{CON_DEC_ALLOW, ZT_AQC_ALLOW},
                    {CON_DEC_BLOCK, ZT_AQC_BLOCK},
                    {CON_DEC_CHALLENGE, ZT_AQC_CHALLENGE},
                    {CON_DEC_SIGN_IN, ZT_AQC_SIGN_IN},
                    {CON_DEC_ERROR, ZT_AQC_ERROR}};
    zt_console_bar dec[5];
    for (size_t i = 0; i < 5; i++)
        dec[i] = (zt_console_bar){zt_console_esc(cx, zt_console_t(cx, outcomes[i].label)),
                                  st->total[outcomes[i].c]};
    zt_console_bar_chart(cx, CON_CH_DECISIONS, dec, 5, "");
    zt_console_bar det[TOP_N];
    size_t nd = 0;
    for (size_t i = 0; i < st->n_named && nd < TOP_N; i++)
        if (st->named[i].kind == ZT_AQK_DETECTION_TYPE)
            det[nd++] = (zt_console_bar){zt_console_esc(cx, st->named[i].name), st->named[i].count};
    zt_console_bar_chart(cx, CON_CH_DETECTIONS, det, nd, "bad");
}

static void render(dash *d, const zt_aq_stats *st)
{
    zt_console_ctx *cx = d->cx;
    zt_console_begin(cx, CON_DASHBOARD);
    period_nav(cx, d->p);
    zt_console_printf(cx, "<div class=\"cards\">");
    if (st != NULL) {
        audit_charts(cx, d->p, st);
    } else if (d->counting) {
        zt_console_printf(cx, "<p class=\"card counting\" data-records=\"%" PRIu64 "\">",
                          d->counted);
        zt_console_msg(cx, CON_AUDIT_COUNTING);
        zt_console_printf(cx, " %" PRIu64 "</p>", d->counted);
    } else {
        zt_console_printf(cx, "<p class=\"card\">");
        zt_console_msg(cx, CON_AUDIT_PENDING);
        zt_console_printf(cx, "</p>");
    }
    devices_chart(cx);
    risky_users(cx);
    incidents(cx);
    zt_console_printf(cx, "</div>");
    zt_console_end(cx);
}

static void stats_done(void *arg, int rc, zt_aq_stats *st)
{
    dash *d = arg;
    if (rc != 0)
        zt_warn("request %s: console dashboard: audit statistics failed (%d)", d->cx->r->request_id,
                rc);
    render(d, rc == 0 ? st : NULL);
    if (st != NULL)
        zt_aq_stats_dispose(st);
    dash_free(d);
}

/* A scoped admin's figures name only their users: the scan's filter lists them. */
typedef struct id_vec {
    char (*v)[ZT_STORE_ID_LEN + 1];
    size_t n, cap;
} id_vec;

static int id_cb(void *ctx, const zt_user *u)
{
    id_vec *k = ctx;
    if (k->n == k->cap && zt_array_grow(&k->v, &k->cap, sizeof(*k->v), 64) != 0)
        return -ENOMEM;
    snprintf(k->v[k->n++], sizeof(k->v[0]), "%s", u->id);
    return 0;
}

static int scoped_filter(dash *d)
{
    zt_console_ctx *cx = d->cx;
    zt_aq_filter_init(&d->scope);
    if (zt_console_grant(cx)->everywhere)
        return 0;
    id_vec all = {0};
    int rc = zt_store_user_list(zt_console_store(cx), id_cb, &all);
    if (rc == 0) {
        d->allowed = calloc(all.n ? all.n : 1, sizeof(char *));
        rc = d->allowed ? 0 : -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < all.n && d->n_allowed < ZT_AQ_MAX_ALLOWED; i++) {
        int in = zt_console_user_in_scope(cx, all.v[i]);
        if (in < 0)
            rc = in;
        else if (in == 1 && (d->allowed[d->n_allowed] = strdup(all.v[i])) != NULL)
            d->n_allowed++;
    }
    free(all.v);
    d->scope.allowed_users = (const char *const *)d->allowed;
    d->scope.n_allowed = d->n_allowed;
    return rc;
}

static void dashboard(zt_console_ctx *cx)
{
    if (cx->r->method == HTTP_POST) {
        zt_console_fail(cx, 405, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_BAD_METHOD));
        return;
    }
    const char *name = zt_console_param(cx, "period");
    const period *p = &periods[0];
    if (name != NULL) {
        p = NULL;
        for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
            if (strcmp(name, periods[i].name) == 0)
                p = &periods[i];
        if (p == NULL) {
            zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_PERIOD));
            return;
        }
    }
    dash *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, CON_UNAVAILABLE_BODY));
        return;
    }
    d->cx = cx;
    d->p = p;
    const char *live = cx->r->cfg->audit.path;
    bool audit_on =
        live != NULL && strcmp(live, "off") != 0 && zt_console_may(cx, ZT_PERM_AUDIT_READ);
    if (!audit_on || scoped_filter(d) != 0) {
        render(d, NULL);
        dash_free(d);
        return;
    }
    int64_t now_s = cx->now - cx->now % p->bucket_s + p->bucket_s; /* the current bucket ends */
    zt_aq_stats_req req = {.since_us = (now_s - p->span_s) * 1000000,
                           .until_us = now_s * 1000000,
                           .bucket_s = p->bucket_s};
    bool everywhere = zt_console_grant(cx)->everywhere;
    uint64_t counted = 0;
    zt_aq_rollup *ru = everywhere ? zt_console_rollup_get(live, &counted) : NULL;
    if (everywhere && ru == NULL) {
        d->counting = true;
        d->counted = counted;
        render(d, NULL);
        dash_free(d);
        return;
    }
    int rc = zt_aq_stats_async(cx->r->loop, ru, live, everywhere ? NULL : &d->scope, &req,
                               stats_done, d);
    if (rc != 0) {
        render(d, NULL);
        dash_free(d);
    }
}

const zt_console_page zt_console_page_dashboard = {"/", false, CON_DASHBOARD, 0, dashboard};
