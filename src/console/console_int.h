/* The console's private page API: what a page file (src/console/page_*.c) uses to answer one
 * request. A page's handler gets a context whose caller is an administrator allowed to see the
 * page (its `need` perms); it renders with begin / text / printf / end, or answers with fail,
 * redirect_done or (after a refused POST) nothing more. Exactly one of zt_console_end,
 * zt_console_fail, zt_console_redirect_done, zt_console_respond_raw ends a request, and a false
 * zt_console_post_ok has already ended it; the context is freed then and must not be touched.
 *
 * Rules for pages: no script, no inline style (the CSP forbids both); every change is a POST
 * through zt_console_form_open and checked with zt_console_post_ok, then the page checks the
 * change's own perm (zt_console_may) and the target's scope (zt_console_user_in_scope: 404 for
 * an id outside it, as if it did not exist), calls the service function with
 * zt_console_actor / zt_console_account_env, and answers with zt_console_redirect_done. */
#ifndef ZT_CONSOLE_INT_H
#define ZT_CONSOLE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "core/i18n.h"
#include "http/handler.h"
#include "lib/arena.h"
#include "lib/buf.h"
#include "console/console.h"
#include "session/account.h"
#include "session/admins.h"

#define ZT_CONSOLE_CSRF_LEN 43 /* base64url of a 32-byte HMAC, no padding */
#define ZT_CONSOLE_PARAMS_MAX 64

typedef struct zt_console_kv {
    const char *name, *value;
} zt_console_kv;

typedef struct zt_console_page zt_console_page;

typedef struct zt_console_ctx {
    zt_local_req *r;
    zt_admin_grant grant;
    zt_lang lang;
    char csrf[ZT_CONSOLE_CSRF_LEN + 1]; /* this session's form token */
    const zt_console_page *page;        /* the page answering */
    zt_arena arena;                     /* escaped copies, decoded parameters */
    zt_console_kv params[ZT_CONSOLE_PARAMS_MAX];
    size_t n_params;
    bool params_bad; /* the query or form could not be read: every param is NULL */
    bool began;
    char actor_name[ZT_ADMINS_ACTOR_MAX]; /* "admin:EMAIL" */
    char actor_cred[32];                  /* "console:" + 16 hex of the session hash */
    int64_t now;
} zt_console_ctx;

struct zt_console_page {
    const char *path; /* "/users"; with prefix also "/users/..." */
    bool prefix;
    zt_msg title;  /* nav label and <title>; MSG_NONE: not in the nav */
    zt_perms need; /* to see the page at all (0: any admin); a change checks its own perm */
    void (*handle)(zt_console_ctx *cx);
};

/* ---- the page table (pages.c) ---- */
extern const zt_console_page *const zt_console_pages[];
/* The page answering path, or NULL. */
const zt_console_page *zt_console_page_find(const char *path, size_t len);

/* ---- layout ---- */
/* HTML head, top bar, nav (only the pages this grant may see), language switch, <h1>title</h1>
 * and the notice of a redirect (?done=), if any. */
void zt_console_begin(zt_console_ctx *cx, zt_msg title);
/* Footer; answer (200 unless cx->r->status was set) and free cx. */
void zt_console_end(zt_console_ctx *cx);
/* A catalogue text, escaped. */
void zt_console_msg(zt_console_ctx *cx, zt_msg id);
const char *zt_console_t(const zt_console_ctx *cx, zt_msg id); /* raw text of id (trusted) */
void zt_console_text(zt_console_ctx *cx, const char *s);       /* HTML-escaped */
/* Raw markup; %s arguments must come escaped (zt_console_esc) unless they are trusted. */
void zt_console_printf(zt_console_ctx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *zt_console_esc(zt_console_ctx *cx, const char *s);     /* arena copy, HTML-escaped */
const char *zt_console_url_enc(zt_console_ctx *cx, const char *s); /* arena copy, %-encoded */
/* "2026-12-06 21:04 UTC", or "—" for 0; into the arena. */
const char *zt_console_time(zt_console_ctx *cx, int64_t t);

/* ---- forms and parameters ---- */
/* <form method="post" action="ACTION"> with the hidden CSRF field; close it with "</form>". */
void zt_console_form_open(zt_console_ctx *cx, const char *action);
/* The request is a POST, its Origin (or Referer) is this console's and its CSRF field is this
 * session's token. false: answered 403 (and cx is freed). */
bool zt_console_post_ok(zt_console_ctx *cx);
/* A query or form field (the form's when both have it), NULL when absent. A malformed query or
 * form never reaches a page: the frame answers it 400. */
const char *zt_console_param(zt_console_ctx *cx, const char *name);
/* The rest of the path after the page's own ("/users/ab12" on "/users" → "ab12"); "" when
 * none. */
const char *zt_console_subpath(const zt_console_ctx *cx);

/* ---- answers that end the request ---- */
/* A page of the frame with title and detail (escaped), status 4xx/5xx. */
void zt_console_fail(zt_console_ctx *cx, int status, zt_msg title, const char *detail);
/* 303 See Other to path (a console path) with ?done=NOTICE shown by the next begin. */
void zt_console_redirect_done(zt_console_ctx *cx, const char *path, zt_msg notice);

/* ---- charts (server-rendered SVG with a table of the same figures) ---- */
typedef struct zt_console_bar {
    const char *label; /* trusted or already escaped */
    uint64_t value;
} zt_console_bar;
/* Horizontal bars, one per item; cls: CSS class of the bars ("ok", "bad", "warn", "" ). */
void zt_console_bar_chart(zt_console_ctx *cx, zt_msg title, const zt_console_bar *bars, size_t n,
                          const char *cls);
typedef struct zt_console_series {
    zt_msg name;
    const uint64_t *values; /* n_x values */
    const char *cls;        /* CSS class of the line: "s0".."s3" */
} zt_console_series;
/* Lines over time buckets; x_labels: n_x labels (trusted), some may be NULL (no tick). */
void zt_console_line_chart(zt_console_ctx *cx, zt_msg title, const char *const *x_labels,
                           size_t n_x, const zt_console_series *series, size_t n_series);

/* ---- who is acting ---- */
const zt_admin_grant *zt_console_grant(const zt_console_ctx *cx);
bool zt_console_may(const zt_console_ctx *cx, zt_perms p);
/* 1 in scope, 0 outside, <0 store error (callers fail closed). */
int zt_console_user_in_scope(zt_console_ctx *cx, const char *user_id);
/* 1 when the grant may do p to that user (zt_admins_may_on_user), 0 not, <0 store error. */
int zt_console_may_on_user(zt_console_ctx *cx, zt_perms p, const char *user_id);
zt_actor zt_console_actor(zt_console_ctx *cx);
zt_account_env zt_console_account_env(zt_console_ctx *cx);
zt_store *zt_console_store(const zt_console_ctx *cx);

/* ---- helpers shared by pages (page_users.c) ---- */
/* 32 lowercase hex digits, the shape of a user id. */
bool zt_console_id_ok(const char *s);
/* The user with this id when the grant's scope reaches it: 0, or the request is answered (404
 * for an unknown or out-of-scope id, 503 for a store error) and the rc returned. */
int zt_console_load_user(zt_console_ctx *cx, const char *id, zt_user *u);
/* A user just read (rc 0) kept only when inside the admin's scope: -ENOENT (and u wiped)
 * outside it, so out of scope looks exactly like unknown; any other rc passes through. */
int zt_console_keep_in_scope(zt_console_ctx *cx, int rc, zt_user *u);
/* Answer a service function's error: 404, 409 (already), 400 (invalid) or 503. */
void zt_console_fail_rc(zt_console_ctx *cx, int rc);
/* Log what failed after a saved change (its audit record, telling gateways). */
void zt_console_account_after(zt_console_ctx *cx, const char *what, const zt_account_result *res);

/* Users a store listing hands over, copied with their password hashes wiped (no page shows one). */
typedef struct zt_console_users {
    zt_user *v;
    size_t n, cap;
} zt_console_users;
/* The zt_store_user_list / zt_store_group_members callback that fills a zt_console_users. */
int zt_console_users_add(void *ctx, const zt_user *u);
void zt_console_users_free(zt_console_users *users);

/* ---- for the frame's own use and tests (frame.c, csrf.c) ---- */
/* The session's CSRF token under key (32 bytes). */
void zt_console_csrf_token(const unsigned char key[32], const char *session_hash,
                           char out[ZT_CONSOLE_CSRF_LEN + 1]);
/* Parse application/x-www-form-urlencoded s[0..n) into cx->params (appending). false: malformed
 * (a bad escape, a NUL, a repeated name, too many fields). */
bool zt_console_parse_pairs(zt_console_ctx *cx, const char *s, size_t n);
/* Set up cx for r (no grant): for tests and the handler. */
void zt_console_ctx_init(zt_console_ctx *cx, zt_local_req *r);
void zt_console_ctx_dispose(zt_console_ctx *cx);

#endif
