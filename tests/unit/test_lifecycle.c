/* Account lifecycle on a real temporary SQLite store: expiry words, expired accounts refused by
 * the store's session lookup, by the session cache at the caller's clock (and read again when an
 * admin moved the expiry), by session creation and by the sign-in state machine; the sweep
 * (once per expiry, actor "lifecycle"); last_sign_in_at noted by the session step; the inactive
 * report; the access review against the compiled policies (assignment by user, group, all). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "identity/password.h"
#include "identity/secretbox.h"
#include <sqlite3.h>
#include "lib/secure.h"
#include "lib/time.h"
#include "lifecycle/lifecycle.h"
#include "session/session.h"
#include "session/signin.h"
#include "store/store.h"

#define DAY 86400
#define HOST "app.example.com"

typedef struct fx {
    char root[64];
    char state[128];
    zt_store *st;
    zt_secretbox *box;
    zt_sessions *s;
    zt_session_cache *c;
    zt_user u;
    int64_t now; /* the real clock: the store's own checks read it */
    /* audit records the sweep wrote */
    char records[4][2048];
    int n_records;
} fx;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char key[160], err[256] = "";
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-lifecycle-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    snprintf(key, sizeof(key), "%s/secrets.key", f->root);
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    f->st = zt_store_open(&sc, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("store: %s", err);
    f->box = zt_secretbox_load_key(key, true, err, sizeof(err));
    assert_non_null(f->box);
    zt_sessions_cfg cfg = {.store = f->st,
                           .state_dir = f->state,
                           .secrets = f->box,
                           .idle_s = 600,
                           .absolute_s = 3600};
    f->s = zt_sessions_new(&cfg, err, sizeof(err));
    assert_non_null(f->s);
    f->c = zt_session_cache_new(f->s, 16);
    assert_non_null(f->c);
    f->now = zt_wall_us() / 1000000;
    assert_int_equal(zt_store_group_add(f->st, "guests"), 0);
    const char *groups[] = {"guests"};
    zt_store_user_new n = {.email = "gina@example.com",
                           .name = "Gina",
                           .sponsor = "sam@example.com",
                           .expires_at = f->now + DAY,
                           .groups = groups,
                           .n_groups = 1};
    assert_int_equal(zt_store_user_create(f->st, &n, &f->u), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    zt_session_cache_free(f->c);
    zt_sessions_free(f->s);
    zt_secretbox_free(f->box);
    zt_store_close(f->st);
    zt_user_dispose(&f->u);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void make(fx *f, int64_t now, char cookie[44], char hash[65])
{
    zt_session_new in = {.user_id = f->u.id,
                         .host = HOST,
                         .auth_time = now,
                         .ip = "192.0.2.7",
                         .user_agent = "Mozilla/5.0"};
    int rc = zt_session_create(f->s, &in, now, cookie, hash);
    if (rc != 0)
        fail_msg("create: %d %s", rc, zt_store_errmsg());
}

static zt_session_status look(fx *f, const char *cookie, int64_t now)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "%s=%s", zt_session_cookie_name(true), cookie);
    zt_span h = {buf, (size_t)n};
    const zt_session_info *info = NULL;
    return zt_session_lookup(f->c, &h, true, HOST, now, &info);
}

static void set_expiry(fx *f, int64_t at)
{
    zt_store_user_profile p = {.set_expires = true, .expires_at = at};
    assert_int_equal(zt_store_user_update(f->st, f->u.id, &p), 0);
}

/* ---- words ---- */

static void test_parse_expiry(void **state)
{
    (void)state;
    int64_t t = -1;
    assert_true(zt_lifecycle_parse_expiry("2027-03-31", &t));
    assert_int_equal(t, 1806537600); /* 2027-04-01T00:00:00Z: through March 31 */
    assert_true(zt_lifecycle_parse_expiry("2027-04-01T09:00:00+09:00", &t));
    assert_int_equal(t, 1806537600);
    assert_true(zt_lifecycle_parse_expiry("2027-04-01T00:00:00.5Z", &t));
    assert_int_equal(t, 1806537601); /* a fraction rounds up */
    assert_true(zt_lifecycle_parse_expiry("never", &t));
    assert_int_equal(t, 0);
    assert_true(zt_lifecycle_parse_expiry("", &t));
    assert_int_equal(t, 0);
    const char *bad[] = {"2027-02-30",           "2027-3-31",          "tomorrow",
                         "31/03/2027",           "2027-03-31 ",        "1969-12-31",
                         "2027-03-31T25:00:00Z", "2027-03-31T10:00:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (zt_lifecycle_parse_expiry(bad[i], &t))
            fail_msg("accepted %s", bad[i]);
    assert_false(zt_lifecycle_parse_expiry(NULL, &t));
    /* Four-digit years only: the last date is the day before 9999-12-31's end. */
    assert_false(zt_lifecycle_parse_expiry("9999-12-31", &t));
    assert_false(zt_lifecycle_parse_expiry("9999-12-31T23:59:59.5Z", &t));
    assert_true(zt_lifecycle_parse_expiry("9999-12-30", &t));
    char edge[32];
    zt_lifecycle_expiry_text(t, edge);
    assert_string_equal(edge, "9999-12-31T00:00:00Z");
    char out[32];
    zt_lifecycle_expiry_text(1806537600, out);
    assert_string_equal(out, "2027-04-01T00:00:00Z");
    zt_lifecycle_expiry_text(0, out);
    assert_string_equal(out, "never");
}

static void test_sponsor_and_status(void **state)
{
    fx *f = *state;
    assert_true(zt_lifecycle_sponsor_ok("sam@example.com"));
    assert_true(zt_lifecycle_sponsor_ok(""));
    const char *bad[] = {"sam",
                         "@example.com",
                         "sam@",
                         "a@b@c",
                         "sam @example.com",
                         "=cmd@example.com,x",
                         "sam@example.com\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (zt_lifecycle_sponsor_ok(bad[i]))
            fail_msg("accepted sponsor %s", bad[i]);
    zt_user u = f->u;
    assert_string_equal(zt_lifecycle_status(&u, f->now), "active");
    assert_string_equal(zt_lifecycle_status(&u, u.expires_at), "expired");
    u.disabled = true;
    assert_string_equal(zt_lifecycle_status(&u, u.expires_at), "disabled");
    u.disabled = false;
    u.expires_at = 0;
    assert_string_equal(zt_lifecycle_status(&u, f->now + 1000 * DAY), "active");
    assert_false(zt_account_expired(&u, INT64_MAX));
}

/* ---- enforcement ---- */

/* The store's session check reads its own clock: an expiry already past there is "disabled". */
static void test_store_lookup_refuses_expired(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    make(f, f->now, cookie, hash);
    zt_store_session r;
    assert_int_equal(zt_store_session_get(f->st, hash, &r), 0);
    assert_false(r.user_disabled);
    assert_int_equal(r.user_expires_at, f->u.expires_at);
    uint64_t n = 0;
    assert_int_equal(zt_store_session_count(f->st, f->now, &n), 0);
    assert_int_equal(n, 1);
    set_expiry(f, f->now - 1);
    assert_int_equal(zt_store_session_get(f->st, hash, &r), 0);
    assert_true(r.user_disabled);
    assert_int_equal(zt_store_session_count(f->st, f->now, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(look(f, cookie, f->now), ZT_SESSION_REVOKED);
    /* Not a session again after an extension: the refused row went with the refusal. */
    set_expiry(f, 0);
    assert_int_equal(look(f, cookie, f->now), ZT_SESSION_UNKNOWN);
}

/* The cache answers at the caller's clock (a test clock offset): valid before the expiry,
 * refused from the expiry second on even though the entry was cached. */
static void test_cache_refuses_at_callers_clock(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    int64_t e = f->u.expires_at;
    make(f, e - 100, cookie, hash);
    assert_int_equal(look(f, cookie, e - 50), ZT_SESSION_VALID); /* loaded */
    assert_int_equal(look(f, cookie, e - 1), ZT_SESSION_VALID);  /* a hit */
    assert_int_equal(look(f, cookie, e), ZT_SESSION_REVOKED);
    assert_int_equal(look(f, cookie, e + 1), ZT_SESSION_UNKNOWN);
}

/* An admin extends the expiry without telling anyone: the cached entry reads the store again
 * at the old expiry and goes on. */
static void test_cache_rereads_extended_expiry(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    int64_t e = f->u.expires_at;
    make(f, e - 100, cookie, hash);
    assert_int_equal(look(f, cookie, e - 50), ZT_SESSION_VALID);
    set_expiry(f, e + 3000);
    assert_int_equal(look(f, cookie, e + 10), ZT_SESSION_VALID);
    assert_int_equal(look(f, cookie, e + 3000), ZT_SESSION_REVOKED);
}

/* No session is made for an expired account, whatever front-end asks. */
static void test_create_refuses_expired(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    zt_session_new in = {.user_id = f->u.id, .host = HOST, .auth_time = f->u.expires_at};
    assert_int_equal(zt_session_create(f->s, &in, f->u.expires_at, cookie, hash), -EACCES);
    assert_int_equal(zt_session_create(f->s, &in, f->u.expires_at - 1, cookie, hash), 0);
}

static void test_signin_refuses_expired(void **state)
{
    (void)state;
    zt_signin s;
    zt_signin_init(&s, "t");
    s.exists = true;
    s.expired = true;
    assert_false(zt_signin_usable(&s));
    assert_false(zt_signin_tap_usable(&s));
    assert_string_equal(zt_signin_failure_reason(&s), "account expired");
    /* A correct password changes nothing: the same failure as a wrong one. */
    s.state = ZT_SIGNIN_CREDENTIAL;
    assert_int_equal(zt_signin_on_credential(&s, ZT_PASSWORD_MATCH), ZT_SIGNIN_FAILED);
    s.tap = ZT_SIGNIN_TAP_OK;
    assert_int_equal(zt_signin_on_credential(&s, ZT_PASSWORD_MISMATCH), ZT_SIGNIN_FAILED);
}

/* The session step notes a completed sign-in, not a pending one. */
static void test_open_session_notes_sign_in(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    zt_signin_session q = {.session = {.user_id = f->u.id, .host = HOST, .mfa_pending = true}};
    assert_int_equal(zt_signin_open_session(f->s, NULL, &q, f->now - 10, cookie, hash), 0);
    zt_user u;
    assert_int_equal(zt_store_user_get_by_id(f->st, f->u.id, &u), 0);
    assert_int_equal(u.last_sign_in_at, 0);
    q.session.mfa_pending = false;
    q.replaces_hash = hash;
    char hash2[65];
    assert_int_equal(zt_signin_open_session(f->s, NULL, &q, f->now - 5, cookie, hash2), 0);
    assert_int_equal(zt_store_user_get_by_id(f->st, f->u.id, &u), 0);
    assert_int_equal(u.last_sign_in_at, f->now - 5);
    zt_user_dispose(&u);
}

/* ---- the sweep ---- */

static int sink(void *ctx, const char *json, size_t len)
{
    fx *f = ctx;
    if (f->n_records < 4)
        snprintf(f->records[f->n_records], sizeof(f->records[0]), "%.*s", (int)len, json);
    f->n_records++;
    return 0;
}

static void sql(fx *f, const char *q)
{
    char db[192];
    sqlite3 *h = NULL;
    snprintf(db, sizeof(db), "%s/ztgate.db", f->state);
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    if (sqlite3_exec(h, q, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", q, sqlite3_errmsg(h));
    sqlite3_close(h);
}

static void test_sweep_ends_once(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    make(f, f->now, cookie, hash);
    zt_account_env env = {.store = f->st, .state_dir = f->state, .audit = {sink, f}};
    zt_lifecycle_sweep_result res;
    assert_int_equal(zt_lifecycle_sweep(&env, f->now, &res), 0);
    assert_int_equal(res.ended, 0);
    assert_int_equal(f->n_records, 0);
    /* The day passes: the account was last changed before its expiry, which is now past (the
     * store stamps changes with its own clock, so the rows are moved back a day instead). */
    char q[256];
    snprintf(q, sizeof(q), "UPDATE users SET expires_at = %lld, updated_at = %lld",
             (long long)(f->now - 5), (long long)(f->now - DAY));
    sql(f, q);
    int64_t later = f->now;
    assert_int_equal(zt_lifecycle_sweep(&env, later, &res), 0);
    assert_int_equal(res.ended, 1);
    assert_int_equal(res.failed, 0);
    assert_int_equal(f->n_records, 1);
    assert_non_null(strstr(f->records[0], "\"lifecycle\""));
    assert_non_null(strstr(f->records[0], "System"));
    assert_non_null(strstr(f->records[0], "gina@example.com"));
    zt_store_session r;
    assert_int_equal(zt_store_session_get(f->st, hash, &r), -ENOENT);
    zt_user u;
    assert_int_equal(zt_store_user_get_by_id(f->st, f->u.id, &u), 0);
    assert_true(u.revocation_epoch > f->u.revocation_epoch);
    zt_user_dispose(&u);
    /* Handled: nothing more, however often it runs. */
    assert_int_equal(zt_lifecycle_sweep(&env, later + 60, &res), 0);
    assert_int_equal(res.ended, 0);
    assert_int_equal(f->n_records, 1);
}

/* Another change after the expiry (a directory sync's) does not hide sessions still there. */
static void test_sweep_after_other_change(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    make(f, f->now, cookie, hash);
    set_expiry(f, f->now - 10); /* updated_at = now > expires_at */
    zt_account_env env = {.store = f->st, .state_dir = f->state, .audit = {sink, f}};
    zt_lifecycle_sweep_result res;
    assert_int_equal(zt_lifecycle_sweep(&env, f->now, &res), 0);
    assert_int_equal(res.ended, 1);
    assert_int_equal(zt_lifecycle_sweep(&env, f->now, &res), 0);
    assert_int_equal(res.ended, 0);
}

/* A class expiring at one second is ended in batches: the gateway sweeps again soon. */
static void test_sweep_in_batches(void **state)
{
    fx *f = *state;
    char q[512];
    for (int i = 0; i < ZT_LIFECYCLE_SWEEP_BATCH + 50; i++) {
        snprintf(q, sizeof(q),
                 "INSERT INTO users (id, email, created_at, updated_at, expires_at) VALUES "
                 "('%032x', 'pupil%d@example.com', %lld, %lld, %lld)",
                 i + 1, i, (long long)(f->now - DAY), (long long)(f->now - DAY),
                 (long long)(f->now - 5));
        sql(f, q);
    }
    zt_account_env env = {.store = f->st, .state_dir = f->state, .audit = {sink, f}};
    zt_lifecycle_sweep_result res;
    assert_int_equal(zt_lifecycle_sweep(&env, f->now, &res), 0);
    assert_int_equal(res.ended, ZT_LIFECYCLE_SWEEP_BATCH);
    assert_true(res.more);
    assert_int_equal(zt_lifecycle_sweep(&env, f->now, &res), 0);
    assert_int_equal(res.ended, 50);
    assert_false(res.more);
    assert_int_equal(f->n_records, ZT_LIFECYCLE_SWEEP_BATCH + 50);
    assert_int_equal(zt_lifecycle_sweep(&env, f->now, &res), 0);
    assert_int_equal(res.ended, 0);
}

/* ---- inactive accounts ---- */

typedef struct rows {
    char email[8][ZT_STORE_EMAIL_MAX + 1];
    int64_t idle[8];
    char status[8][16];
    int n;
} rows;

static int inactive_cb(void *ctx, const zt_lifecycle_inactive *r)
{
    rows *o = ctx;
    assert_true(o->n < 8);
    assert_string_equal(r->u->password_hash, "");
    snprintf(o->email[o->n], sizeof(o->email[0]), "%s", r->u->email);
    snprintf(o->status[o->n], sizeof(o->status[0]), "%s", r->status);
    o->idle[o->n++] = r->idle_days;
    return 0;
}

static void test_inactive(void **state)
{
    fx *f = *state;
    zt_user a, b;
    assert_int_equal(zt_store_user_add(f->st, "active@example.com", "", "$argon2id$x", NULL, 0, &a),
                     0);
    assert_int_equal(zt_store_user_add(f->st, "old@example.com", "", NULL, NULL, 0, &b), 0);
    assert_int_equal(zt_store_user_touch_sign_in(f->st, a.id, f->now - 2 * DAY), 0);
    assert_int_equal(zt_store_user_touch_sign_in(f->st, b.id, f->now - 100 * DAY), 0);
    rows o = {0};
    /* 90 days on: Gina and "active" never signed in since creation (today) / 2 days ago. */
    assert_int_equal(zt_lifecycle_inactive_list(f->st, f->now, 90, inactive_cb, &o), 0);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.email[0], "old@example.com");
    assert_int_equal(o.idle[0], 100);
    memset(&o, 0, sizeof(o));
    /* A year later every account is inactive; Gina has expired by then. */
    assert_int_equal(zt_lifecycle_inactive_list(f->st, f->now + 365 * DAY, 30, inactive_cb, &o), 0);
    assert_int_equal(o.n, 3);
    assert_string_equal(o.email[0], "active@example.com");
    assert_int_equal(o.idle[0], 367);
    assert_string_equal(o.email[1], "gina@example.com"); /* never: counted from creation */
    assert_int_equal(o.idle[1], 365);
    assert_string_equal(o.status[1], "expired");
    memset(&o, 0, sizeof(o));
    assert_int_equal(zt_lifecycle_inactive_list(f->st, f->now, 0, inactive_cb, &o), 0);
    assert_int_equal(o.n, 3);
    zt_user_dispose(&a);
    zt_user_dispose(&b);
}

/* ---- access review ---- */

#define REVIEW_YAML                                                                                \
    "gateway:\n"                                                                                   \
    "  listen:\n"                                                                                  \
    "    - address: 127.0.0.1:8080\n"                                                              \
    "apps:\n"                                                                                      \
    "  - {name: wiki, path_prefix: /w, upstream: \"http://127.0.0.1:1\"}\n"                        \
    "  - {name: hr, path_prefix: /h, upstream: \"http://127.0.0.1:1\", sensitivity: "              \
    "confidential}\n"                                                                              \
    "locations:\n"                                                                                 \
    "  - {name: office, cidrs: [10.0.0.0/8], trusted: true}\n"                                     \
    "policies:\n"                                                                                  \
    "  - {name: guests-no-hr, users: {include: [\"group:guests\"]}, apps: {include: [hr]},\n"      \
    "     grant: {block: true}}\n"                                                                 \
    "  - {name: mfa-hr, users: {include: [all]}, apps: {include: [hr]},\n"                         \
    "     grant: {controls: [mfa]}}\n"                                                             \
    "  - {name: boss-wiki, users: {include: [\"BOSS@example.com\", all]}, apps: {include: "        \
    "[wiki]},\n"                                                                                   \
    "     session: {sign_in_frequency: 8h}}\n"                                                     \
    "  - {name: office, users: {include: [all]}, apps: {include: [all]},\n"                        \
    "     conditions: {locations: {include: [office]}},\n"                                         \
    "     grant: {controls: [mfa, compliant_device], operator: OR}}\n"

typedef struct review_rows {
    const zt_config *cfg;
    const zt_policy_set *set;
    char line[16][1024];
    int n;
} review_rows;

static int review_cb(void *ctx, const zt_review_row *r)
{
    review_rows *o = ctx;
    char via[96], grant[128], cond[128] = "";
    zt_review_via_text(r, via, sizeof(via));
    zt_review_grant_text(o->cfg, r->policy, grant, sizeof(grant));
    for (size_t i = 0; i < r->n_conditional; i++)
        snprintf(cond + strlen(cond), sizeof(cond) - strlen(cond), "%s%s", i ? ";" : "",
                 zt_policy_name(o->set, r->conditional[i]));
    assert_true(o->n < 16);
    snprintf(o->line[o->n++], sizeof(o->line[0]), "%s %s %s %s %s %s [%s] %s", r->u->email,
             r->app->name, r->status, r->verdict,
             r->policy >= 0 ? zt_policy_name(o->set, r->policy) : "-", via[0] ? via : "-", grant,
             cond);
    return 0;
}

static void test_review(void **state)
{
    fx *f = *state;
    zt_diags d;
    char err[256];
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load_mem("r.yaml", REVIEW_YAML, strlen(REVIEW_YAML), &d);
    if (cfg == NULL)
        fail_msg("config: %s", d.text.data);
    zt_diags_dispose(&d);
    zt_policy_set *set = zt_policy_compile(cfg, err, sizeof(err));
    assert_non_null(set);
    zt_user boss;
    assert_int_equal(zt_store_user_add(f->st, "boss@example.com", "", NULL, NULL, 0, &boss), 0);
    review_rows o = {.cfg = cfg, .set = set};
    int rc = zt_lifecycle_review(f->st, cfg, set, f->now, review_cb, &o);
    if (rc != 0)
        fail_msg("review: %d %s", rc, zt_store_errmsg());
    assert_int_equal(o.n, 4);
    assert_string_equal(o.line[0], "boss@example.com wiki active allow boss-wiki user [] office");
    assert_string_equal(o.line[1], "boss@example.com hr active mfa mfa-hr all [mfa] office");
    assert_string_equal(o.line[2], "gina@example.com wiki active allow boss-wiki all [] office");
    assert_string_equal(o.line[3], "gina@example.com hr active block guests-no-hr group:guests "
                                   "[block] office");
    /* A year on Gina has expired: the row says so, the policies answer the same. */
    memset(o.line, 0, sizeof(o.line));
    o.n = 0;
    assert_int_equal(zt_lifecycle_review(f->st, cfg, set, f->now + 365 * DAY, review_cb, &o), 0);
    assert_non_null(strstr(o.line[3], "gina@example.com hr expired block"));
    char g[128];
    zt_review_grant_text(cfg, 3, g, sizeof(g));
    assert_string_equal(g, "mfa OR compliant_device");
    zt_review_grant_text(cfg, -1, g, sizeof(g));
    assert_string_equal(g, "");
    zt_user_dispose(&boss);
    zt_policy_set_free(set);
    zt_config_free(cfg);
}

int main(void)
{
    if (!zt_secure_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_expiry),
        cmocka_unit_test_setup_teardown(test_sponsor_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_lookup_refuses_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_refuses_at_callers_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_rereads_extended_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_refuses_expired, setup, teardown),
        cmocka_unit_test(test_signin_refuses_expired),
        cmocka_unit_test_setup_teardown(test_open_session_notes_sign_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_ends_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_after_other_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_in_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inactive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_review, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
