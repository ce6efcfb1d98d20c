/* Admin API: the token file (creation, permissions, length), bearer parsing and constant-time
 * checking, path segment decoding, the router table, strict JSON bodies, and whole calls
 * through zt_admin_handle against a real store and password pool. The connection layer is
 * replaced by the four zt_local_* functions below, which record what the handler answered and
 * audited; each test owns a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin.h"
#include "identity/password.h"
#include "lib/secure.h"
#include "session/admins.h"
#include "store/store.h"

#define FAST ((zt_password_params){2, 19u << 20})
#define TOKEN "tok_0123456789abcdefghijklmnopqrstuvwxyz"
#define GOOD_PW "correct horse battery staple"
#define ADMIN_EMAIL "root-admin@example.com"
/* The personal token of ADMIN_EMAIL, global admin (made in setup through the bootstrap path):
 * TOKEN above is the bootstrap token, which only creates the first admin. */
static char PTOK[ZT_ADMINS_TOKEN_LEN + 1];
static char PTOK_ID[ZT_STORE_ADMIN_TOKEN_ID_LEN + 1];

/* ---- the connection layer, replaced ---- */

typedef struct captured {
    bool responded;
    int status;
    char headers[4096];
    char body[1 << 16];
    json_t *json;
    char events[16][4096];
    size_t n_events;
} captured;

static captured cap;
static const char *next_query; /* query of the next call only */
static bool audit_refuses;
static bool client_gone;

const zt_span *zt_local_header_get(const zt_local_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (zt_span_ieq_cstr(r->headers[i].name, name))
            return &r->headers[i].value;
    return NULL;
}

bool zt_local_cancelled(const zt_local_req *r)
{
    return client_gone;
}

bool zt_local_audit(zt_local_req *r, const char *json, size_t len)
{
    if (audit_refuses)
        return false;
    assert_true(cap.n_events < 16);
    assert_true(len < sizeof(cap.events[0]));
    memcpy(cap.events[cap.n_events], json, len);
    cap.events[cap.n_events++][len] = '\0';
    return true;
}

void zt_local_respond(zt_local_req *r)
{
    assert_false(cap.responded);
    cap.responded = true;
    cap.status = r->status;
    assert_string_equal(r->content_type, "application/json");
    assert_true(r->no_security_headers);
    snprintf(cap.headers, sizeof(cap.headers), "%.*s", (int)r->resp_headers.len,
             r->resp_headers.data ? r->resp_headers.data : "");
    snprintf(cap.body, sizeof(cap.body), "%.*s", (int)r->resp_body.len,
             r->resp_body.data ? r->resp_body.data : "");
    json_decref(cap.json);
    cap.json = r->resp_body.len ? json_loads(cap.body, 0, NULL) : NULL;
    zt_buf_dispose(&r->resp_headers);
    zt_buf_dispose(&r->resp_body);
}

/* ---- fixture ---- */

typedef struct fixture {
    char root[64];
    char state[128];
    zt_services svc;
    zt_config cfg;
    uv_loop_t loop;
    zt_local_req req;
    zt_local_header hdrs[4];
} fixture;

static fixture *F;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-admin-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    char err[256] = "";
    zt_store_cfg scfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    f->svc.store = zt_store_open(&scfg, err, sizeof(err));
    if (f->svc.store == NULL)
        fail_msg("store: %s", err);
    f->svc.state_dir = f->state;
    zt_password_pool_cfg pcfg = {.params = FAST, .max_in_flight = 4};
    f->svc.passwords = zt_password_pool_new(&pcfg, NULL);
    assert_non_null(f->svc.passwords);
    zt_admin_token_hash(TOKEN, strlen(TOKEN), f->svc.admin_token_hash);
    zt_user admin;
    assert_int_equal(zt_store_user_add(f->svc.store, ADMIN_EMAIL, "Admin", "", NULL, 0, &admin), 0);
    zt_account_env env = {.store = f->svc.store};
    zt_actor boot = {.name = "bootstrap-token", .type = "System"};
    zt_account_result res;
    zt_store_admin_token t;
    assert_int_equal(zt_admins_first(&env, &boot, admin.id, PTOK, &t, &res), 0);
    snprintf(PTOK_ID, sizeof(PTOK_ID), "%s", t.id);
    zt_user_dispose(&admin);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    memset(&cap, 0, sizeof(cap));
    audit_refuses = client_gone = false;
    F = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    zt_password_pool_free(f->svc.passwords);
    zt_store_close(f->svc.store);
    json_decref(cap.json);
    cap.json = NULL;
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* One call: method, path, optional JSON body, authorised unless auth is NULL. Runs the loop
 * until the handler answers; returns the status. */
static int call_full(int method, const char *path, const char *body, const char *auth,
                     const char *ctype)
{
    fixture *f = F;
    static const char *names[] = {"DELETE", "GET", "HEAD", "POST"};
    json_decref(cap.json);
    memset(&cap, 0, sizeof(cap));
    zt_local_req *r = &f->req;
    memset(r, 0, sizeof(*r));
    r->kind = ZT_LOCAL_ADMIN;
    r->loop = &f->loop;
    r->cfg = &f->cfg;
    r->svc = &f->svc;
    r->method = method;
    r->method_name = method <= HTTP_POST ? names[method] : "PUT";
    r->host = "127.0.0.1";
    r->path = path;
    r->path_len = strlen(path);
    r->query = next_query ? next_query : "";
    r->query_len = strlen(r->query);
    next_query = NULL;
    r->body = body ? body : "";
    r->body_len = body ? strlen(body) : 0;
    r->ip = "127.0.0.1";
    r->port = 40000;
    r->request_id = "req-1";
    r->status = 200;
    zt_buf_init(&r->resp_headers, 64 * 1024);
    zt_buf_init(&r->resp_body, 4u << 20);
    size_t n = 0;
    static char authval[256];
    if (auth != NULL) {
        snprintf(authval, sizeof(authval), "Bearer %s", auth);
        f->hdrs[n++] = (zt_local_header){ZT_SPAN_LIT("Authorization"), {authval, strlen(authval)}};
    }
    if (ctype != NULL)
        f->hdrs[n++] = (zt_local_header){ZT_SPAN_LIT("Content-Type"), {ctype, strlen(ctype)}};
    r->headers = f->hdrs;
    r->n_headers = n;
    zt_admin_handle(r);
    while (!cap.responded && uv_run(&f->loop, UV_RUN_ONCE) != 0) {
    }
    assert_true(cap.responded);
    return cap.status;
}

static int call(int method, const char *path, const char *body)
{
    return call_full(method, path, body, PTOK, body ? "application/json" : NULL);
}

static const char *jstr(const char *key)
{
    return json_string_value(json_object_get(cap.json, key));
}

static const char *last_event(void)
{
    assert_true(cap.n_events > 0);
    return cap.events[cap.n_events - 1];
}

/* ---- token ---- */

static void test_token_file(void **state)
{
    fixture *f = *state;
    char path[256], hash[65], err[256];
    snprintf(path, sizeof(path), "%s/admin.token", f->root);
    assert_int_equal(zt_admin_token_init(path, hash, err, sizeof(err)), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char tok[128] = "";
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(tok, sizeof(tok), fp));
    fclose(fp);
    assert_int_equal(strlen(tok), 44); /* 43 base64url characters and a newline */
    assert_int_equal(tok[43], '\n');
    assert_int_equal(
        strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_true(zt_admin_token_ok(hash, tok, 43));
    assert_false(zt_admin_token_ok(hash, tok, 42));
    /* Read back: the same hash. */
    char again[65];
    assert_int_equal(zt_admin_token_init(path, again, err, sizeof(err)), 0);
    assert_string_equal(hash, again);
    /* Group- or world-readable: refused, and the message says how to fix it. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(zt_admin_token_init(path, again, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "chmod 600"));
    assert_string_equal(again, "");
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(zt_admin_token_init(path, again, err, sizeof(err)), -EPERM);
    assert_null(strstr(err, tok)); /* never the token */
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_token_refusals(void **state)
{
    fixture *f = *state;
    char path[256], hash[65], err[256];
    snprintf(path, sizeof(path), "%s/short.token", f->root);
    write_file(path, "0123456789012345678901234567890\n", 0600); /* 31 characters */
    assert_int_equal(zt_admin_token_init(path, hash, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "shorter"));
    write_file(path, "01234567890123456789012345678901\n", 0600); /* exactly 32 */
    assert_int_equal(zt_admin_token_init(path, hash, err, sizeof(err)), 0);
    assert_true(zt_admin_token_ok(hash, "01234567890123456789012345678901", 32));
    write_file(path, "0123456789012345 6789012345678901234\n", 0600);
    assert_int_equal(zt_admin_token_init(path, hash, err, sizeof(err)), -EINVAL);
    /* Not a regular file. */
    snprintf(path, sizeof(path), "%s/dir.token", f->root);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_true(zt_admin_token_init(path, hash, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "regular"));
    /* A symbolic link is not followed. */
    char target[256];
    snprintf(target, sizeof(target), "%s/real.token", f->root);
    write_file(target, "01234567890123456789012345678901xx\n", 0600);
    snprintf(path, sizeof(path), "%s/link.token", f->root);
    assert_int_equal(symlink(target, path), 0);
    assert_true(zt_admin_token_init(path, hash, err, sizeof(err)) < 0);
    /* The directory must exist. */
    snprintf(path, sizeof(path), "%s/nodir/admin.token", f->root);
    assert_int_equal(zt_admin_token_init(path, hash, err, sizeof(err)), -ENOENT);
}

static void test_token_check(void **state)
{
    char h[65];
    zt_admin_token_hash(TOKEN, strlen(TOKEN), h);
    assert_int_equal(strlen(h), 64);
    assert_true(zt_admin_token_ok(h, TOKEN, strlen(TOKEN)));
    assert_false(zt_admin_token_ok(h, "x" TOKEN, strlen(TOKEN) + 1));
    assert_false(zt_admin_token_ok("", TOKEN, strlen(TOKEN))); /* admin API off */
    assert_false(zt_admin_token_ok(h, "", 0));
    const char *t;
    size_t n;
    assert_true(zt_admin_bearer("Bearer abc", 10, &t, &n));
    assert_int_equal(n, 3);
    assert_memory_equal(t, "abc", 3);
    assert_true(zt_admin_bearer("bearer   abc  ", 14, &t, &n));
    assert_int_equal(n, 3);
    assert_false(zt_admin_bearer("Basic abc", 9, &t, &n));
    assert_false(zt_admin_bearer("Bearer", 6, &t, &n));
    assert_false(zt_admin_bearer("Bearerabc", 9, &t, &n));
    assert_false(zt_admin_bearer("Bearer a b", 10, &t, &n));
    assert_false(zt_admin_bearer("Bearer ", 7, &t, &n));
}

/* ---- routing ---- */

static void test_seg_decode(void **state)
{
    char out[16];
    assert_int_equal(zt_admin_seg_decode("a%40b.c", 7, out, sizeof(out)), 0);
    assert_string_equal(out, "a@b.c");
    assert_int_equal(zt_admin_seg_decode("%e3%81%82", 9, out, sizeof(out)), 0);
    assert_string_equal(out, "\xe3\x81\x82");
    assert_int_equal(zt_admin_seg_decode("a+b", 3, out, sizeof(out)), 0);
    assert_string_equal(out, "a+b"); /* '+' is not a space in a path */
    assert_int_equal(zt_admin_seg_decode("a%4", 3, out, sizeof(out)), -EINVAL);
    assert_int_equal(zt_admin_seg_decode("a%", 2, out, sizeof(out)), -EINVAL);
    assert_int_equal(zt_admin_seg_decode("%zz", 3, out, sizeof(out)), -EINVAL);
    assert_int_equal(zt_admin_seg_decode("%00", 3, out, sizeof(out)), -EINVAL);
    assert_int_equal(zt_admin_seg_decode("%0a", 3, out, sizeof(out)), -EINVAL);
    assert_int_equal(zt_admin_seg_decode("%7F", 3, out, sizeof(out)), -EINVAL);
    assert_int_equal(zt_admin_seg_decode("a%2Fb", 5, out, sizeof(out)), -EINVAL);
    assert_int_equal(zt_admin_seg_decode("a%5cb", 5, out, sizeof(out)), -EINVAL);
    assert_int_equal(zt_admin_seg_decode("", 0, out, sizeof(out)), -EINVAL);
    assert_int_equal(zt_admin_seg_decode("0123456789abcdef", 16, out, sizeof(out)), -E2BIG);
    assert_int_equal(zt_admin_seg_decode("0123456789abcde", 15, out, sizeof(out)), 0);
    /* %XX counts as one byte against the limit */
    assert_int_equal(zt_admin_seg_decode("%41123456789abcde", 17, out, sizeof(out)), 0);
}

/* Every endpoint's permission (docs/ADMINS.md): reads need *_READ, changes their own; group
 * creation and admin changes need it unscoped. */
static void test_need(void **state)
{
    (void)state;
    static const struct {
        zt_admin_ep ep;
        int method;
        zt_perms perm;
        bool unscoped;
    } cases[] = {
        {ZT_ADMIN_EP_HEALTH, HTTP_GET, 0, false},
        {ZT_ADMIN_EP_USERS, HTTP_GET, ZT_PERM_USERS_READ, false},
        {ZT_ADMIN_EP_USERS, HTTP_POST, ZT_PERM_USERS_WRITE, false},
        {ZT_ADMIN_EP_USER, HTTP_DELETE, ZT_PERM_USERS_WRITE, false},
        {ZT_ADMIN_EP_USER_RESET_MFA, HTTP_POST, ZT_PERM_CREDENTIALS, false},
        {ZT_ADMIN_EP_USER_TAP, HTTP_DELETE, ZT_PERM_CREDENTIALS, false},
        {ZT_ADMIN_EP_USER_PASSWORD, HTTP_POST, ZT_PERM_CREDENTIALS, false},
        {ZT_ADMIN_EP_USER_REVOKE, HTTP_POST, ZT_PERM_SESSIONS_REVOKE, false},
        {ZT_ADMIN_EP_GROUPS, HTTP_POST, ZT_PERM_USERS_WRITE, true},
        {ZT_ADMIN_EP_GROUP, HTTP_GET, ZT_PERM_USERS_READ, false},
        {ZT_ADMIN_EP_GROUP_MEMBERS, HTTP_POST, ZT_PERM_USERS_WRITE, false},
        {ZT_ADMIN_EP_RISK, HTTP_GET, ZT_PERM_RISK_READ, false},
        {ZT_ADMIN_EP_USER_CONFIRM, HTTP_POST, ZT_PERM_RISK_WRITE, false},
        {ZT_ADMIN_EP_DEVICE, HTTP_DELETE, ZT_PERM_DEVICES_WRITE, false},
        {ZT_ADMIN_EP_ENROLL_CODES, HTTP_POST, ZT_PERM_DEVICES_WRITE, false},
        {ZT_ADMIN_EP_ADMINS, HTTP_GET, ZT_PERM_AUDIT_READ, false},
        {ZT_ADMIN_EP_ADMINS, HTTP_POST, ZT_PERM_ADMINS, true},
        {ZT_ADMIN_EP_ADMIN, HTTP_DELETE, ZT_PERM_ADMINS, true},
        {ZT_ADMIN_EP_TOKENS, HTTP_POST, 0, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_perms p = 99;
        bool unscoped = !cases[i].unscoped;
        zt_admin_need(cases[i].ep, cases[i].method, &p, &unscoped);
        if (p != cases[i].perm || unscoped != cases[i].unscoped)
            fail_msg("case %zu: perm %u unscoped %d", i, p, unscoped);
    }
    /* the auditor's role reaches no endpoint that changes anything */
    zt_perms aud = zt_admins_role_perms(ZT_ROLE_AUDITOR);
    for (int ep = ZT_ADMIN_EP_USERS; ep <= ZT_ADMIN_EP_TOKEN; ep++) {
        zt_perms p;
        bool unscoped;
        zt_admin_need((zt_admin_ep)ep, HTTP_POST, &p, &unscoped);
        if (p != 0 && (aud & p) == p && ep != ZT_ADMIN_EP_RISK && ep != ZT_ADMIN_EP_RISK_ONE &&
            ep != ZT_ADMIN_EP_USER_SESSIONS && ep != ZT_ADMIN_EP_DEVICES)
            fail_msg("the auditor may POST to endpoint %d", ep);
    }
}

static void test_router(void **state)
{
    static const struct {
        int method;
        const char *path;
        zt_admin_ep ep;
        int status;
        const char *user, *group, *allow;
    } cases[] = {
        {HTTP_GET, "/api/v1/health", ZT_ADMIN_EP_HEALTH, 0, "", "", "GET"},
        {HTTP_POST, "/api/v1/health", ZT_ADMIN_EP_HEALTH, 405, "", "", "GET"},
        {HTTP_GET, "/api/v1/users", ZT_ADMIN_EP_USERS, 0, "", "", "GET, POST"},
        {HTTP_POST, "/api/v1/users", ZT_ADMIN_EP_USERS, 0, "", "", "GET, POST"},
        {HTTP_DELETE, "/api/v1/users", ZT_ADMIN_EP_USERS, 405, "", "", "GET, POST"},
        {HTTP_PUT, "/api/v1/users", ZT_ADMIN_EP_USERS, 405, "", "", "GET, POST"},
        {HTTP_GET, "/api/v1/users/a%40b.test", ZT_ADMIN_EP_USER, 0, "a@b.test", "", NULL},
        {HTTP_GET, "/api/v1/users/a@b.test", ZT_ADMIN_EP_USER, 0, "a@b.test", "", NULL},
        {HTTP_DELETE, "/api/v1/users/x", ZT_ADMIN_EP_USER, 0, "x", "", "GET, DELETE"},
        {HTTP_POST, "/api/v1/users/x", ZT_ADMIN_EP_USER, 405, "x", "", "GET, DELETE"},
        {HTTP_POST, "/api/v1/users/x/disable", ZT_ADMIN_EP_USER_DISABLE, 0, "x", "", "POST"},
        {HTTP_GET, "/api/v1/users/x/disable", ZT_ADMIN_EP_USER_DISABLE, 405, "x", "", "POST"},
        {HTTP_POST, "/api/v1/users/x/enable", ZT_ADMIN_EP_USER_ENABLE, 0, "x", "", NULL},
        {HTTP_POST, "/api/v1/users/x/reset-mfa", ZT_ADMIN_EP_USER_RESET_MFA, 0, "x", "", NULL},
        {HTTP_POST, "/api/v1/users/x/revoke-sessions", ZT_ADMIN_EP_USER_REVOKE, 0, "x", "", NULL},
        {HTTP_POST, "/api/v1/users/x/password", ZT_ADMIN_EP_USER_PASSWORD, 0, "x", "", NULL},
        {HTTP_GET, "/api/v1/users/x/sessions", ZT_ADMIN_EP_USER_SESSIONS, 0, "x", "", "GET"},
        {HTTP_GET, "/api/v1/groups", ZT_ADMIN_EP_GROUPS, 0, "", "", "GET, POST"},
        {HTTP_GET, "/api/v1/admins", ZT_ADMIN_EP_ADMINS, 0, "", "", "GET, POST"},
        {HTTP_POST, "/api/v1/admins/first", ZT_ADMIN_EP_ADMINS_FIRST, 0, "", "", "POST"},
        {HTTP_GET, "/api/v1/admins/first", ZT_ADMIN_EP_ADMINS_FIRST, 405, "", "", "POST"},
        {HTTP_DELETE, "/api/v1/admins/a%40b", ZT_ADMIN_EP_ADMIN, 0, "a@b", "", "DELETE"},
        {HTTP_GET, "/api/v1/admins/a%40b", ZT_ADMIN_EP_ADMIN, 405, "a@b", "", "DELETE"},
        {HTTP_POST, "/api/v1/tokens", ZT_ADMIN_EP_TOKENS, 0, "", "", "GET, POST"},
        {HTTP_DELETE, "/api/v1/tokens/0123456789abcdef", ZT_ADMIN_EP_TOKEN, 0, "", "", "DELETE"},
        {HTTP_GET, "/api/v1/admins/a/b", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/api/v1/tokens/a/b", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/api/v1/groups/eng", ZT_ADMIN_EP_GROUP, 0, "", "eng", "GET, DELETE"},
        {HTTP_POST, "/api/v1/groups/eng/members", ZT_ADMIN_EP_GROUP_MEMBERS, 0, "", "eng", "POST"},
        {HTTP_DELETE, "/api/v1/groups/eng/members/a%40b.c", ZT_ADMIN_EP_GROUP_MEMBER, 0, "a@b.c",
         "eng", "DELETE"},
        {HTTP_GET, "/api/v1/groups/eng/members/a", ZT_ADMIN_EP_GROUP_MEMBER, 405, "a", "eng",
         "DELETE"},
        /* not found */
        {HTTP_GET, "/api/v1/", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/api/v1", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/api/v2/users", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/api/v1/users/", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/api/v1/Users", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/api/v1/users/x/y", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/api/v1/users/x/sessions/1", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/api/v1/groups/g/members/u/x", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/api/v1/healthz", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/metrics", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        {HTTP_GET, "/", ZT_ADMIN_EP_NONE, 404, "", "", NULL},
        /* bad segments */
        {HTTP_GET, "/api/v1/users/a%2Fb", ZT_ADMIN_EP_USER, 400, "", "", NULL},
        {HTTP_GET, "/api/v1/users/a%00", ZT_ADMIN_EP_USER, 400, "", "", NULL},
        {HTTP_GET, "/api/v1/groups/%zz", ZT_ADMIN_EP_GROUP, 400, "", "", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_admin_route rt;
        zt_admin_route_match(cases[i].method, cases[i].path, strlen(cases[i].path), &rt);
        if (rt.ep != cases[i].ep || rt.status != cases[i].status)
            fail_msg("%s: ep %d status %d, want %d %d", cases[i].path, rt.ep, rt.status,
                     cases[i].ep, cases[i].status);
        if (cases[i].status == 0 || cases[i].status == 405) {
            assert_string_equal(rt.user, cases[i].user);
            assert_string_equal(rt.group, cases[i].group);
        }
        if (cases[i].allow != NULL)
            assert_string_equal(rt.allow, cases[i].allow);
    }
}

/* ---- bodies ---- */

static const zt_admin_field user_fields[] = {
    {"email", ZT_ADMIN_F_STRING, true, 20, 0},
    {"name", ZT_ADMIN_F_STRING, false, 10, 0},
    {"groups", ZT_ADMIN_F_STRINGS, false, 8, 3},
};

static int parse(const char *body, json_t **out, zt_admin_error *err)
{
    return zt_admin_body_parse(body, strlen(body), user_fields, 3, out, err);
}

static void test_body(void **state)
{
    static const struct {
        const char *body;
        const char *code; /* NULL: accepted */
        const char *in_message;
    } cases[] = {
        {"{\"email\":\"a@b.c\"}", NULL, NULL},
        {"{\"email\":\"a@b.c\",\"name\":\"N\",\"groups\":[\"g1\",\"g2\"]}", NULL, NULL},
        {"{\"email\":\"a@b.c\",\"groups\":[]}", NULL, NULL},
        {" {\"email\" : \"\\u3042@b.c\"} \n", NULL, NULL},
        {"", "missing_field", "email"},
        {"{}", "missing_field", "email"},
        {"{", "invalid_json", NULL},
        {"{\"email\":\"a@b.c\"} x", "invalid_json", NULL},
        {"[]", "invalid_json", "object"},
        {"[{\"email\":\"a@b.c\"}]", "invalid_json", "object"},
        {"\"a@b.c\"", "invalid_json", NULL},
        {"null", "invalid_json", NULL},
        {"{\"email\":\"a@b.c\",\"email\":\"x@y.z\"}", "invalid_json", "duplicate"},
        {"{\"email\":\"a@b.c\",\"admin\":true}", "unknown_field", "'admin'"},
        {"{\"email\":\"a@b.c\",\"Email\":\"x\"}", "unknown_field", "'Email'"},
        {"{\"email\":\"a@b.c\",\"\\u0001x\":1}", "unknown_field", "'?x'"},
        {"{\"email\":5}", "invalid_field", "email must be a string"},
        {"{\"email\":null}", "invalid_field", "email must be a string"},
        {"{\"email\":[\"a@b.c\"]}", "invalid_field", "email"},
        {"{\"email\":\"\"}", "invalid_field", "empty"},
        {"{\"email\":\"a\\u0000b\"}", "invalid_json", NULL},
        {"{\"email\":\"0123456789012345678901\"}", "invalid_field", "longer than 20"},
        {"{\"email\":\"a@b.c\",\"name\":\"01234567890\"}", "invalid_field", "name"},
        {"{\"email\":\"a@b.c\",\"groups\":\"g1\"}", "invalid_field", "groups must be an array"},
        {"{\"email\":\"a@b.c\",\"groups\":[\"g1\",2]}", "invalid_field", "groups[1]"},
        {"{\"email\":\"a@b.c\",\"groups\":[\"a\",\"b\",\"c\",\"d\"]}", "invalid_field",
         "more than 3"},
        {"{\"email\":\"a@b.c\",\"groups\":[\"123456789\"]}", "invalid_field", "groups[0]"},
        {"{\"email\":\"\xff\"}", "invalid_json", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *out = NULL;
        zt_admin_error err;
        int rc = parse(cases[i].body, &out, &err);
        if (cases[i].code == NULL) {
            if (rc != 0)
                fail_msg("case %zu refused: %s", i, err.message);
            assert_true(json_is_object(out));
            json_decref(out);
            continue;
        }
        if (rc != 400)
            fail_msg("case %zu (%s) accepted", i, cases[i].body);
        assert_null(out);
        assert_int_equal(err.status, 400);
        if (strcmp(err.code, cases[i].code) != 0)
            fail_msg("case %zu: code %s, want %s (%s)", i, err.code, cases[i].code, err.message);
        if (cases[i].in_message != NULL && strstr(err.message, cases[i].in_message) == NULL)
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.message, cases[i].in_message);
    }
    /* No fields at all: only {} or nothing. */
    json_t *out;
    zt_admin_error err;
    assert_int_equal(zt_admin_body_parse("", 0, NULL, 0, &out, &err), 0);
    json_decref(out);
    assert_int_equal(zt_admin_body_parse("{}", 2, NULL, 0, &out, &err), 0);
    json_decref(out);
    assert_int_equal(zt_admin_body_parse("{\"x\":1}", 7, NULL, 0, &out, &err), 400);
}

/* ---- whole calls ---- */

static void test_auth(void **state)
{
    assert_int_equal(call_full(HTTP_GET, "/api/v1/health", NULL, NULL, NULL), 401);
    assert_string_equal(jstr("error"), "unauthorized");
    assert_non_null(strstr(cap.headers, "WWW-Authenticate: Bearer"));
    assert_non_null(strstr(cap.headers, "Cache-Control: no-store"));
    assert_non_null(strstr(cap.headers, "X-Content-Type-Options: nosniff"));
    assert_int_equal(cap.n_events, 1);
    assert_non_null(strstr(last_event(), "\"status_id\":2"));
    assert_non_null(strstr(last_event(), "\"class_uid\":4002"));
    /* No valid token: no known actor (the client address is in src_endpoint). */
    assert_non_null(strstr(last_event(), "\"actor\":{\"user\":{\"name\":\"unauthenticated\""));

    assert_int_equal(call_full(HTTP_GET, "/api/v1/users", NULL, "wrong-token-0123456789", NULL),
                     401);
    assert_null(strstr(last_event(), "wrong-token"));
    /* Even a valid request path reveals nothing without the token. */
    assert_int_equal(call_full(HTTP_GET, "/api/v1/nothing", NULL, NULL, NULL), 401);

    assert_int_equal(call(HTTP_GET, "/api/v1/health", NULL), 200);
    assert_string_equal(jstr("status"), "ok");
    assert_null(strstr(last_event(), PTOK + 21)); /* never the token's secret */
    assert_non_null(strstr(last_event(), "\"status_id\":1"));
    assert_non_null(strstr(last_event(), "req-1"));
    /* The actor is the person, and the token by its public id. */
    char want[96];
    assert_non_null(strstr(last_event(), "\"name\":\"admin:" ADMIN_EMAIL "\""));
    snprintf(want, sizeof(want), "\"credential_uid\":\"token:%s\"", PTOK_ID);
    assert_non_null(strstr(last_event(), want));
    assert_non_null(strstr(last_event(), "\"type\":\"Admin\""));

    /* The bootstrap token only creates the first admin: anything else is 403 bootstrap_only,
     * and /admins/first after the first is 409. */
    assert_int_equal(call_full(HTTP_GET, "/api/v1/health", NULL, TOKEN, NULL), 403);
    assert_string_equal(jstr("error"), "bootstrap_only");
    snprintf(want, sizeof(want), "\"name\":\"bootstrap-token:%.16s\"", F->svc.admin_token_hash);
    assert_non_null(strstr(last_event(), want));
    assert_null(strstr(last_event(), TOKEN));
    int st = call_full(HTTP_POST, "/api/v1/admins/first", "{\"user\":\"" ADMIN_EMAIL "\"}", TOKEN,
                       "application/json");
    assert_int_equal(st, 409);
    assert_string_equal(jstr("error"), "admin_exists");
    assert_int_equal(call_full(HTTP_GET, "/metrics", NULL, TOKEN, NULL), 403);
    /* Bootstrap off: the file's token matches nothing; personal tokens still work. */
    F->svc.admin_token_hash[0] = '\0';
    assert_int_equal(call_full(HTTP_GET, "/api/v1/health", NULL, TOKEN, NULL), 401);
    assert_int_equal(call(HTTP_GET, "/api/v1/health", NULL), 200);
}

static void test_errors(void **state)
{
    assert_int_equal(call(HTTP_GET, "/api/v1/nothing", NULL), 404);
    assert_string_equal(jstr("error"), "not_found");
    assert_int_equal(call_full(HTTP_GET, "/metrics", NULL, NULL, NULL), 401); /* no token */
    assert_int_equal(cap.n_events, 1);
    assert_int_equal(call(HTTP_DELETE, "/api/v1/users", NULL), 405);
    assert_non_null(strstr(cap.headers, "Allow: GET, POST\r\n"));
    assert_string_equal(jstr("error"), "method_not_allowed");
    assert_int_equal(call(HTTP_GET, "/api/v1/users/a%2Fb", NULL), 400);
    assert_int_equal(call_full(HTTP_POST, "/api/v1/groups", "{\"name\":\"g\"}", PTOK, NULL), 415);
    assert_int_equal(call_full(HTTP_POST, "/api/v1/groups", "{\"name\":\"g\"}", PTOK, "text/plain"),
                     415);
    assert_int_equal(call_full(HTTP_POST, "/api/v1/groups", "{\"name\":\"g\"}", PTOK,
                               "Application/JSON; charset=utf-8"),
                     201);
    assert_int_equal(call(HTTP_POST, "/api/v1/groups", "{\"name\":1}"), 400);
    assert_non_null(strstr(jstr("message"), "name"));
    assert_int_equal(call(HTTP_POST, "/api/v1/groups", "{\"name\":\"g\",\"x\":1}"), 400);
    assert_string_equal(jstr("error"), "unknown_field");
    assert_int_equal(call(HTTP_POST, "/api/v1/groups", "{\"name\":\"bad name\"}"), 400);
    assert_int_equal(call(HTTP_POST, "/api/v1/groups", "{\"name\":\"G\"}"), 409);
    assert_string_equal(jstr("error"), "conflict");
    assert_int_equal(call(HTTP_GET, "/api/v1/users/nobody%40x.test", NULL), 404);
    assert_non_null(strstr(last_event(), "nobody@x.test"));
    assert_int_equal(call(HTTP_GET, "/api/v1/users/not-an-id", NULL), 404);
    assert_int_equal(call(HTTP_POST, "/api/v1/users/nobody@x.test/disable", NULL), 404);
    assert_non_null(strstr(last_event(), "\"class_uid\":3001"));
    /* The audit log refuses: 503, nothing reported as done. */
    audit_refuses = true;
    assert_int_equal(call(HTTP_POST, "/api/v1/groups", "{\"name\":\"h\"}"), 503);
    assert_string_equal(jstr("error"), "audit_unavailable");
    assert_int_equal(call(HTTP_GET, "/api/v1/health", NULL), 503);
}

static char *read_text(const char *path)
{
    static char buf[256];
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(buf, sizeof(buf), "(none)");
        return buf;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static bool bumped(char before[256])
{
    char path[200];
    snprintf(path, sizeof(path), "%s/revocation", F->state);
    char *now = read_text(path);
    bool changed = memcmp(before, now, 256) != 0;
    memcpy(before, now, 256);
    return changed;
}

static void test_users_and_groups(void **state)
{
    char rev[256];
    memset(rev, 0, sizeof(rev));
    (void)bumped(rev);
    assert_int_equal(call(HTTP_POST, "/api/v1/groups", "{\"name\":\"eng\"}"), 201);
    assert_string_equal(jstr("name"), "eng");
    assert_int_equal(call(HTTP_GET, "/api/v1/groups", NULL), 200);
    assert_int_equal(json_array_size(json_object_get(cap.json, "groups")), 1);

    /* Unknown group, weak password, no password: refused before any hash. */
    assert_int_equal(
        call(HTTP_POST, "/api/v1/users", "{\"email\":\"a@x.test\",\"groups\":[\"ops\"]}"), 400);
    assert_non_null(strstr(jstr("message"), "groups"));
    assert_int_equal(
        call(HTTP_POST, "/api/v1/users", "{\"email\":\"a@x.test\",\"password\":\"short\"}"), 400);
    assert_non_null(strstr(jstr("message"), "password"));
    assert_null(strstr(last_event(), "short"));
    assert_int_equal(call(HTTP_POST, "/api/v1/users", "{\"email\":\"not-an-email\"}"), 400);

    /* With a password: hashed on the pool, then created. */
    assert_int_equal(call(HTTP_POST, "/api/v1/users",
                          "{\"email\":\"a@x.test\",\"name\":\"Ann\",\"groups\":[\"eng\"],"
                          "\"password\":\"" GOOD_PW "\"}"),
                     201);
    assert_null(strstr(cap.body, GOOD_PW));
    assert_null(strstr(last_event(), GOOD_PW));
    assert_non_null(strstr(last_event(), "\"activity_id\":1"));
    assert_non_null(strstr(last_event(), "a@x.test"));
    assert_true(json_is_true(json_object_get(cap.json, "password_set")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(cap.json, "groups"), 0)),
                        "eng");
    char id[33];
    snprintf(id, sizeof(id), "%s", jstr("id"));
    assert_int_equal(strlen(id), 32);
    zt_user u;
    assert_int_equal(zt_store_user_get_by_email(F->svc.store, "a@x.test", &u), 0);
    assert_true(zt_password_verify(u.password_hash, GOOD_PW, strlen(GOOD_PW)));
    zt_user_dispose(&u);

    assert_int_equal(call(HTTP_POST, "/api/v1/users", "{\"email\":\"A@X.test\"}"), 409);
    /* Without a password. */
    assert_int_equal(call(HTTP_POST, "/api/v1/users", "{\"email\":\"b@x.test\"}"), 201);
    assert_false(json_is_true(json_object_get(cap.json, "password_set")));

    assert_int_equal(call(HTTP_GET, "/api/v1/users", NULL), 200);
    json_t *users = json_object_get(cap.json, "users");
    assert_int_equal(json_array_size(users), 3); /* and ADMIN_EMAIL, the caller */
    assert_null(strstr(cap.body, "argon2"));

    char path[128];
    snprintf(path, sizeof(path), "/api/v1/users/%s", id);
    assert_int_equal(call(HTTP_GET, path, NULL), 200);
    assert_string_equal(jstr("email"), "a@x.test");
    assert_true(json_is_false(json_object_get(cap.json, "has_totp")));
    assert_int_equal(json_integer_value(json_object_get(cap.json, "sessions")), 0);
    assert_int_equal(call(HTTP_GET, "/api/v1/users/a%40x.test", NULL), 200);
    assert_string_equal(jstr("id"), id);

    /* Sessions: listed by hash prefix only. */
    zt_store_session s;
    memset(&s, 0, sizeof(s));
    snprintf(s.id_hash, sizeof(s.id_hash), "%064d", 7);
    snprintf(s.user_id, sizeof(s.user_id), "%s", id);
    int64_t now = (int64_t)time(NULL);
    s.created_at = s.auth_time = now;
    s.idle_expires_at = now + 600;
    s.absolute_expires_at = now + 3600;
    snprintf(s.ip, sizeof(s.ip), "192.0.2.1");
    assert_int_equal(zt_store_session_create(F->svc.store, &s), 0);
    assert_int_equal(call(HTTP_GET, "/api/v1/users/a@x.test/sessions", NULL), 200);
    json_t *list = json_object_get(cap.json, "sessions");
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(
        strlen(json_string_value(json_object_get(json_array_get(list, 0), "id_hash_prefix"))), 16);
    assert_null(strstr(cap.body, s.id_hash));

    /* Revoking actions bump the counter and answer with counts. */
    assert_int_equal(call(HTTP_POST, "/api/v1/users/a@x.test/revoke-sessions", NULL), 200);
    assert_int_equal(json_integer_value(json_object_get(cap.json, "sessions_revoked")), 1);
    assert_true(bumped(rev));
    assert_int_equal(call(HTTP_POST, "/api/v1/users/a@x.test/disable", "{}"), 200);
    assert_true(json_is_true(json_object_get(json_object_get(cap.json, "user"), "disabled")));
    assert_non_null(strstr(last_event(), "\"activity_id\":5"));
    assert_true(bumped(rev));
    assert_int_equal(call(HTTP_POST, "/api/v1/users/a@x.test/disable", "{\"x\":1}"), 400);
    assert_int_equal(call(HTTP_POST, "/api/v1/users/a@x.test/enable", NULL), 200);
    assert_true(json_is_false(json_object_get(json_object_get(cap.json, "user"), "disabled")));
    assert_true(bumped(rev));
    assert_int_equal(call(HTTP_POST, "/api/v1/users/a@x.test/reset-mfa", NULL), 200);
    assert_true(bumped(rev));

    /* Password change: policy, then hash, then revoke. */
    assert_int_equal(call(HTTP_POST, "/api/v1/users/b@x.test/password", "{}"), 400);
    assert_string_equal(jstr("error"), "missing_field");
    assert_int_equal(call(HTTP_POST, "/api/v1/users/b@x.test/password", "{\"password\":\"abc\"}"),
                     400);
    assert_int_equal(
        call(HTTP_POST, "/api/v1/users/b@x.test/password", "{\"password\":\"" GOOD_PW "2\"}"), 200);
    assert_null(strstr(last_event(), GOOD_PW));
    assert_true(bumped(rev));
    assert_int_equal(zt_store_user_get_by_email(F->svc.store, "b@x.test", &u), 0);
    assert_true(zt_password_verify(u.password_hash, GOOD_PW "2", strlen(GOOD_PW "2")));
    zt_user_dispose(&u);

    /* Membership. */
    assert_int_equal(call(HTTP_POST, "/api/v1/groups/eng/members", "{\"user\":\"b@x.test\"}"), 200);
    assert_true(bumped(rev));
    assert_int_equal(call(HTTP_POST, "/api/v1/groups/eng/members", "{\"user\":\"b@x.test\"}"), 409);
    assert_int_equal(call(HTTP_POST, "/api/v1/groups/eng/members", "{\"user\":\"z@x.test\"}"), 404);
    assert_int_equal(call(HTTP_POST, "/api/v1/groups/nope/members", "{\"user\":\"b@x.test\"}"),
                     404);
    assert_int_equal(call(HTTP_GET, "/api/v1/groups/ENG", NULL), 200);
    assert_string_equal(jstr("name"), "eng");
    assert_int_equal(json_array_size(json_object_get(cap.json, "members")), 2);
    assert_int_equal(call(HTTP_DELETE, "/api/v1/groups/eng/members/b%40x.test", NULL), 204);
    assert_int_equal(cap.body[0], '\0');
    assert_true(bumped(rev));
    assert_int_equal(call(HTTP_DELETE, "/api/v1/groups/eng/members/b%40x.test", NULL), 404);

    /* Deletion. */
    assert_int_equal(call(HTTP_DELETE, "/api/v1/groups/eng", NULL), 204);
    assert_true(bumped(rev));
    assert_int_equal(call(HTTP_GET, "/api/v1/groups/eng", NULL), 404);
    assert_int_equal(call(HTTP_DELETE, path, NULL), 204);
    assert_true(bumped(rev));
    assert_non_null(strstr(last_event(), id));
    assert_int_equal(call(HTTP_GET, path, NULL), 404);
    assert_int_equal(call(HTTP_GET, "/api/v1/users/a@x.test/sessions", NULL), 404);
}

static void test_async_edges(void **state)
{
    /* The client goes away while the password hashes: nothing is created. */
    client_gone = true;
    assert_int_equal(
        call(HTTP_POST, "/api/v1/users", "{\"email\":\"c@x.test\",\"password\":\"" GOOD_PW "\"}"),
        503);
    client_gone = false;
    zt_user u;
    assert_int_equal(zt_store_user_get_by_email(F->svc.store, "c@x.test", &u), -ENOENT);
    zt_user_dispose(&u);
    /* The audit log refuses after the change: 503, never 201. */
    audit_refuses = true;
    assert_int_equal(
        call(HTTP_POST, "/api/v1/users", "{\"email\":\"d@x.test\",\"password\":\"" GOOD_PW "\"}"),
        503);
    assert_string_equal(jstr("error"), "audit_unavailable");
    audit_refuses = false;
    /* GET bodies and query strings are refused. */
    assert_int_equal(call(HTTP_GET, "/api/v1/health", "{}"), 400);
    assert_string_equal(jstr("error"), "unexpected_body");
    next_query = "x=1";
    assert_int_equal(call(HTTP_GET, "/api/v1/health", NULL), 400);
    assert_string_equal(jstr("error"), "invalid_query");
}

int main(void)
{
    if (!zt_secure_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_refusals, setup, teardown),
        cmocka_unit_test(test_token_check),
        cmocka_unit_test(test_seg_decode),
        cmocka_unit_test(test_router),
        cmocka_unit_test(test_need),
        cmocka_unit_test(test_body),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_and_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_edges, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
