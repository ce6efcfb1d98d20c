/* The console's frame: one request from the handler table to a page and back. Who is asking
 * comes from the pipeline (zt_local_req's identity fields), what they may do from their admin
 * grant; the frame picks the language, finds the page, checks its perms and wraps its HTML in
 * the layout (nav with only the pages the grant may see). Headers: a strict CSP without any
 * script or inline style, no-store, no framing. */
#include "console/console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llhttp.h>

#include "console/console_int.h"
#include "http/api.h"
#include "http/pages.h"
#include "http/services.h"
#include "identity/secretbox.h"
#include "lib/secure.h"
#include "lib/str.h"
#include "lib/time.h"

#define LANG_COOKIE "ztc_lang"

extern const unsigned char zt_console_css[];
extern const size_t zt_console_css_len;
extern const char zt_console_css_etag[];

static const char csp[] = "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/* ---- context ---- */

void zt_console_ctx_init(zt_console_ctx *cx, zt_local_req *r)
{
    memset(cx, 0, sizeof(*cx));
    cx->r = r;
    cx->lang = r->lang;
    cx->now = (int64_t)(zt_wall_us() / 1000000);
    zt_arena_init(&cx->arena, 8192, 4u << 20);
}

void zt_console_ctx_dispose(zt_console_ctx *cx)
{
    for (size_t i = 0; i < cx->n_params; i++) /* forms may carry a password */
        zt_wipe((void *)cx->params[i].value, strlen(cx->params[i].value));
    zt_arena_dispose(&cx->arena);
    zt_wipe(cx->csrf, sizeof(cx->csrf));
}

/* Ends the request: the answer goes out and the context is freed. */
static void finish(zt_console_ctx *cx)
{
    zt_local_req *r = cx->r;
    zt_console_ctx_dispose(cx);
    free(cx);
    zt_local_respond(r);
}

/* Every console answer: its own security headers instead of the handler defaults. */
static void security_headers(zt_console_ctx *cx)
{
    zt_local_req *r = cx->r;
    r->no_security_headers = true;
    int rc = zt_buf_printf(&r->resp_headers, "Content-Security-Policy: %s\r\n", csp);
    rc = rc ? rc
            : zt_buf_append_str(&r->resp_headers, "X-Content-Type-Options: nosniff\r\n"
                                                  "X-Frame-Options: DENY\r\n"
                                                  "Referrer-Policy: same-origin\r\n"
                                                  "Cache-Control: no-store\r\n"
                                                  "Vary: Accept-Language, Cookie\r\n");
    rc = rc ? rc
            : zt_buf_printf(&r->resp_headers, "Content-Language: %s\r\n", zt_lang_tag(cx->lang));
    if (rc == 0 && r->https)
        rc = zt_buf_append_str(&r->resp_headers, "Strict-Transport-Security: max-age=31536000\r\n");
    (void)rc; /* a header that does not fit: the buffer's limit, the answer still goes */
}

/* ---- output ---- */

void zt_console_printf(zt_console_ctx *cx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)zt_buf_vprintf(&cx->r->resp_body, fmt, ap);
    va_end(ap);
}

void zt_console_text(zt_console_ctx *cx, const char *s)
{
    (void)zt_html_escape(&cx->r->resp_body, s ? s : "");
}

const char *zt_console_t(const zt_console_ctx *cx, zt_msg id)
{
    return zt_msg_text(cx->lang, id);
}

void zt_console_msg(zt_console_ctx *cx, zt_msg id)
{
    zt_console_text(cx, zt_msg_text(cx->lang, id));
}

const char *zt_console_esc(zt_console_ctx *cx, const char *s)
{
    zt_buf b;
    zt_buf_init(&b, 1u << 20);
    const char *out = "";
    if (zt_html_escape(&b, s ? s : "") == 0 && zt_buf_cstr(&b) == 0)
        out = zt_arena_strndup(&cx->arena, b.data, b.len);
    zt_buf_dispose(&b);
    return out ? out : "";
}

const char *zt_console_url_enc(zt_console_ctx *cx, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s ? s : "");
    char *out = zt_arena_alloc(&cx->arena, 3 * n + 1);
    if (out == NULL)
        return "";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~';
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

const char *zt_console_time(zt_console_ctx *cx, int64_t t)
{
    if (t <= 0)
        return "—";
    struct tm tm;
    time_t tt = (time_t)t;
    char buf[32];
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm) == 0)
        return "—";
    const char *s = zt_arena_strdup(&cx->arena, buf);
    return s ? s : "—";
}

/* ---- parameters ---- */

/* Decode one component; NULL on a bad escape or a NUL byte. */
static char *decode(zt_console_ctx *cx, const char *s, size_t n)
{
    char *out = zt_arena_alloc(&cx->arena, n + 1);
    if (out == NULL || zt_urlform_decode(s, n, out, n) < 0)
        return NULL;
    return out;
}

bool zt_console_parse_pairs(zt_console_ctx *cx, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && s[end] != '&')
            end++;
        if (end > i) {
            const char *eq = memchr(s + i, '=', end - i);
            size_t klen = eq ? (size_t)(eq - (s + i)) : end - i;
            char *k = decode(cx, s + i, klen);
            char *v = eq ? decode(cx, eq + 1, (size_t)(s + end - eq - 1)) : decode(cx, "", 0);
            if (k == NULL || v == NULL || cx->n_params == ZT_CONSOLE_PARAMS_MAX)
                return false;
            for (size_t j = 0; j < cx->n_params; j++)
                if (strcmp(cx->params[j].name, k) == 0)
                    return false; /* two values for one name: nobody may pick one */
            cx->params[cx->n_params++] = (zt_console_kv){k, v};
        }
        i = end + 1;
    }
    return true;
}

long zt_console_form_fields(const char *s, size_t n)
{
    zt_local_req r;
    memset(&r, 0, sizeof(r));
    zt_console_ctx cx;
    zt_console_ctx_init(&cx, &r);
    long fields = zt_console_parse_pairs(&cx, s, n) ? (long)cx.n_params : -1;
    zt_console_ctx_dispose(&cx);
    return fields;
}

static bool form_body(const zt_local_req *r)
{
    const zt_span *ct = zt_local_header_get(r, "Content-Type");
    if (ct == NULL)
        return false;
    zt_span v = zt_span_trim(*ct);
    const char *semi = memchr(v.p, ';', v.n);
    if (semi != NULL)
        v = zt_span_trim((zt_span){v.p, (size_t)(semi - v.p)});
    return zt_span_ieq_cstr(v, "application/x-www-form-urlencoded");
}

/* The form first (its fields win over the query's: they are what a POST was checked for). */
static void parse_params(zt_console_ctx *cx)
{
    zt_local_req *r = cx->r;
    bool ok = true;
    if (r->body_len > 0 && form_body(r))
        ok = zt_console_parse_pairs(cx, r->body, r->body_len);
    size_t from_form = cx->n_params;
    if (ok && r->query_len > 0) {
        /* The query may repeat a form field's name; only repeats within itself are bad. */
        zt_console_kv saved[ZT_CONSOLE_PARAMS_MAX];
        memcpy(saved, cx->params, from_form * sizeof(saved[0]));
        cx->n_params = 0;
        ok = zt_console_parse_pairs(cx, r->query, r->query_len);
        size_t nq = cx->n_params;
        zt_console_kv qp[ZT_CONSOLE_PARAMS_MAX];
        memcpy(qp, cx->params, nq * sizeof(qp[0]));
        memcpy(cx->params, saved, from_form * sizeof(saved[0]));
        cx->n_params = from_form;
        for (size_t i = 0; ok && i < nq; i++) {
            bool dup = false;
            for (size_t j = 0; j < from_form; j++)
                dup = dup || strcmp(cx->params[j].name, qp[i].name) == 0;
            if (!dup && cx->n_params < ZT_CONSOLE_PARAMS_MAX)
                cx->params[cx->n_params++] = qp[i];
        }
    }
    if (!ok) {
        cx->n_params = 0;
        cx->params_bad = true;
    }
}

const char *zt_console_param(zt_console_ctx *cx, const char *name)
{
    for (size_t i = 0; i < cx->n_params; i++)
        if (strcmp(cx->params[i].name, name) == 0)
            return cx->params[i].value;
    return NULL;
}

const char *zt_console_subpath(const zt_console_ctx *cx)
{
    if (cx->page == NULL)
        return "";
    size_t n = strlen(cx->page->path);
    if (cx->r->path_len <= n + 1)
        return "";
    return cx->r->path + n + 1;
}

/* ---- language ---- */

/* ?lang= (then kept in a cookie), else the cookie, else Accept-Language. */
static void pick_lang(zt_console_ctx *cx)
{
    const char *want = zt_console_param(cx, "lang");
    if (want != NULL && (strcmp(want, "en") == 0 || strcmp(want, "ja") == 0)) {
        cx->lang = strcmp(want, "ja") == 0 ? ZT_LANG_JA : ZT_LANG_EN;
        (void)zt_buf_printf(&cx->r->resp_headers,
                            "Set-Cookie: " LANG_COOKIE "=%s; Path=/; Max-Age=31536000; "
                            "HttpOnly; SameSite=Lax%s\r\n",
                            want, cx->r->https ? "; Secure" : "");
        return;
    }
    const zt_span *cookies = zt_local_header_get(cx->r, "Cookie");
    if (cookies == NULL)
        return;
    static const char ja[] = LANG_COOKIE "=ja", en[] = LANG_COOKIE "=en";
    for (size_t i = 0; i < cookies->n; i++) {
        size_t left = cookies->n - i;
        bool start = i == 0 || cookies->p[i - 1] == ' ' || cookies->p[i - 1] == ';';
        if (!start)
            continue;
        if (left >= sizeof(ja) - 1 && memcmp(cookies->p + i, ja, sizeof(ja) - 1) == 0)
            cx->lang = ZT_LANG_JA;
        else if (left >= sizeof(en) - 1 && memcmp(cookies->p + i, en, sizeof(en) - 1) == 0)
            cx->lang = ZT_LANG_EN;
    }
}

/* ---- layout ---- */

/* need 0: any administrator (the dashboard). */
static bool page_allowed(const zt_console_ctx *cx, const zt_console_page *p)
{
    return p->need == 0 || zt_admins_may(&cx->grant, p->need);
}

static bool page_visible(const zt_console_ctx *cx, const zt_console_page *p)
{
    return p->title != MSG_NONE && page_allowed(cx, p);
}

static void nav(zt_console_ctx *cx)
{
    zt_console_printf(cx, "<nav aria-label=\"%s\"><ul>",
                      zt_console_esc(cx, zt_console_t(cx, CON_NAV)));
    for (size_t i = 0; zt_console_pages[i] != NULL; i++) {
        const zt_console_page *p = zt_console_pages[i];
        if (!page_visible(cx, p))
            continue;
        zt_console_printf(cx, "<li><a href=\"%s\"%s>", p->path,
                          cx->page == p ? " aria-current=\"page\"" : "");
        zt_console_msg(cx, p->title);
        zt_console_printf(cx, "</a></li>");
    }
    zt_console_printf(cx, "</ul></nav>");
}

/* The page at path, when the grant may open it. */
static bool path_allowed(const zt_console_ctx *cx, const char *path)
{
    for (size_t i = 0; zt_console_pages[i] != NULL; i++)
        if (strcmp(zt_console_pages[i]->path, path) == 0)
            return page_allowed(cx, zt_console_pages[i]);
    return false;
}

/* People arrive with the reference id of a block page: a box on every page takes them to
 * /ref (a GET form, no CSRF needed), shown to those who may open /ref. */
static void ref_box(zt_console_ctx *cx)
{
    if (!path_allowed(cx, "/ref"))
        return;
    zt_console_printf(cx, "<form method=\"get\" action=\"/ref\" class=\"refbox\" role=\"search\">"
                          "<label for=\"refbox-id\">");
    zt_console_msg(cx, CON_REF_BOX);
    zt_console_printf(cx, "</label><input id=\"refbox-id\" name=\"id\" size=\"14\" required "
                          "autocomplete=\"off\" spellcheck=\"false\"><button type=\"submit\">");
    zt_console_msg(cx, CON_REF_BOX_GO);
    zt_console_printf(cx, "</button></form>");
}

/* The language switch keeps the page (not its query: a link never repeats a form). */
static void top_bar(zt_console_ctx *cx, bool with_nav)
{
    zt_console_printf(cx, "<header class=\"top\"><a class=\"brand\" href=\"/\">");
    zt_console_msg(cx, CON_BRAND);
    zt_console_printf(cx, "</a>");
    if (with_nav) {
        nav(cx);
        ref_box(cx);
    }
    zt_console_printf(cx, "<div class=\"who\">");
    if (cx->r->email != NULL) {
        zt_console_printf(cx, "<span class=\"me\">");
        zt_console_text(cx, cx->r->email);
        zt_console_printf(cx, "</span> ");
    }
    const char *path = zt_console_esc(cx, cx->r->path);
    zt_console_printf(cx,
                      "<a href=\"%s?lang=en\" lang=\"en\" hreflang=\"en\">English</a> "
                      "<a href=\"%s?lang=ja\" lang=\"ja\" hreflang=\"ja\">日本語</a> "
                      "<a href=\"/.ztgate/logout\">",
                      path, path);
    zt_console_msg(cx, CON_SIGN_OUT);
    zt_console_printf(cx, "</a></div></header>");
}

/* A notice id in ?done= names a message of the admin plane's groups (the admins' group, which
 * comes first in the catalogue, and those after it); anything else is ignored. */
static void notice(zt_console_ctx *cx)
{
    const char *done = zt_console_param(cx, "done");
    unsigned long long id = 0;
    if (done == NULL || !zt_parse_u64(done, strlen(done), ZT_MSG_COUNT - 1, &id) ||
        id < (unsigned long long)ADM_ROLE_GLOBAL_ADMIN)
        return;
    zt_console_printf(cx, "<p class=\"notice\" role=\"status\">");
    zt_console_msg(cx, (zt_msg)id);
    zt_console_printf(cx, "</p>");
}

static void layout_begin(zt_console_ctx *cx, zt_msg title, bool with_nav)
{
    cx->began = true;
    zt_console_printf(cx,
                      "<!DOCTYPE html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                      "<title>",
                      zt_lang_tag(cx->lang));
    zt_console_msg(cx, title);
    zt_console_printf(cx, " — ");
    zt_console_msg(cx, CON_BRAND);
    zt_console_printf(cx, "</title><link rel=\"stylesheet\" href=\"/console.css\"></head><body>");
    top_bar(cx, with_nav);
    zt_console_printf(cx, "<main id=\"main\"><h1>");
    zt_console_msg(cx, title);
    zt_console_printf(cx, "</h1>");
}

void zt_console_begin(zt_console_ctx *cx, zt_msg title)
{
    layout_begin(cx, title, true);
    notice(cx);
}

void zt_console_end(zt_console_ctx *cx)
{
    zt_console_printf(cx, "</main><footer>");
    zt_console_msg(cx, CON_REQUEST_ID);
    zt_console_printf(cx, " <code>");
    zt_console_text(cx, cx->r->request_id);
    zt_console_printf(cx, "</code></footer></body></html>");
    security_headers(cx);
    finish(cx);
}

void zt_console_fail(zt_console_ctx *cx, int status, zt_msg title, const char *detail)
{
    zt_buf_reset(&cx->r->resp_body);
    cx->r->status = status;
    if (cx->r->log_detail == NULL)
        cx->r->log_detail = "console: refused";
    layout_begin(cx, title, cx->grant.perms != 0);
    if (detail != NULL && detail[0] != '\0') {
        zt_console_printf(cx, "<p class=\"error\" role=\"alert\">");
        zt_console_text(cx, detail);
        zt_console_printf(cx, "</p>");
    }
    zt_console_printf(cx, "<p><a href=\"/\">");
    zt_console_msg(cx, CON_BACK_HOME);
    zt_console_printf(cx, "</a></p>");
    zt_console_end(cx);
}

void zt_console_redirect_done(zt_console_ctx *cx, const char *path, zt_msg notice_id)
{
    zt_local_req *r = cx->r;
    zt_buf_reset(&r->resp_body);
    r->status = 303;
    const char *sep = strchr(path, '?') ? "&" : "?";
    (void)zt_buf_printf(&r->resp_headers, "Location: %s%sdone=%u\r\n", path, sep,
                        (unsigned)notice_id);
    security_headers(cx);
    finish(cx);
}

/* ---- who is acting ---- */

const zt_admin_grant *zt_console_grant(const zt_console_ctx *cx)
{
    return &cx->grant;
}

bool zt_console_may(const zt_console_ctx *cx, zt_perms p)
{
    return zt_admins_may(&cx->grant, p);
}

zt_store *zt_console_store(const zt_console_ctx *cx)
{
    return cx->r->svc->store;
}

int zt_console_user_in_scope(zt_console_ctx *cx, const char *user_id)
{
    return zt_admins_user_in_scope(zt_console_store(cx), &cx->grant, user_id);
}

/* The person, and this console session by a fingerprint of its id hash (16 hex digits: enough
 * to tell sessions apart in the log, nothing usable). */
int zt_console_may_on_user(zt_console_ctx *cx, zt_perms p, const char *user_id)
{
    return zt_admins_may_on_user(zt_console_store(cx), &cx->grant, p, user_id);
}

zt_actor zt_console_actor(zt_console_ctx *cx)
{
    snprintf(cx->actor_cred, sizeof(cx->actor_cred), "console:%.16s",
             cx->r->session_hash ? cx->r->session_hash : "");
    zt_actor who;
    zt_admins_actor(&cx->grant, cx->actor_cred, cx->actor_name, cx->r->request_id, &who);
    return who;
}

zt_account_env zt_console_account_env(zt_console_ctx *cx)
{
    return (zt_account_env){.store = cx->r->svc->store,
                            .state_dir = cx->r->svc->state_dir,
                            .audit = {.write = zt_api_audit_sink, .ctx = cx->r}};
}

/* ---- the handler ---- */

/* Every permission that changes something: a grant with none of them (an auditor) is refused
 * any POST before a page sees it. */
#define CHANGE_PERMS                                                                               \
    (ZT_PERM_USERS_WRITE | ZT_PERM_CREDENTIALS | ZT_PERM_SESSIONS_REVOKE | ZT_PERM_DEVICES_WRITE | \
     ZT_PERM_RISK_WRITE | ZT_PERM_INCIDENTS_WRITE | ZT_PERM_ASSESS | ZT_PERM_ADMINS)

static bool may_any(const zt_admin_grant *g, zt_perms p)
{
    return (g->perms & p) != 0;
}

static void serve_css(zt_local_req *r)
{
    r->content_type = "text/css; charset=utf-8";
    r->no_security_headers = true;
    (void)zt_buf_printf(
        &r->resp_headers,
        "ETag: %s\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n",
        zt_console_css_etag);
    const zt_span *inm = zt_local_header_get(r, "If-None-Match");
    if (inm != NULL &&
        zt_span_eq(*inm, (zt_span){zt_console_css_etag, strlen(zt_console_css_etag)})) {
        r->status = 304;
    } else {
        (void)zt_buf_append(&r->resp_body, zt_console_css, zt_console_css_len);
    }
    zt_local_respond(r);
}

static void csrf_of_session(zt_console_ctx *cx)
{
    unsigned char key[ZT_SECRETBOX_KEY_LEN];
    if (cx->r->svc->secrets != NULL)
        zt_secretbox_derive(cx->r->svc->secrets, "ztgate console csrf v1", key);
    else
        memset(key, 0, sizeof(key)); /* no key store (tests): tokens still bind the session */
    zt_console_csrf_token(key, cx->r->session_hash ? cx->r->session_hash : "", cx->csrf);
    zt_wipe(key, sizeof(key));
}

/* The grant of the signed-in user: 403 when none (not an administrator), 503 when the store
 * cannot say (fail closed). */
static bool load_grant(zt_console_ctx *cx)
{
    if (cx->r->user_id == NULL) {
        zt_console_fail(cx, 403, CON_NOT_ADMIN_TITLE, zt_console_t(cx, CON_NOT_ADMIN_BODY));
        return false;
    }
    int rc = zt_admins_grant_of(zt_console_store(cx), cx->r->user_id, &cx->grant);
    if (rc == 0 && cx->grant.perms != 0)
        return true;
    memset(&cx->grant, 0, sizeof(cx->grant));
    if (rc == 0 || rc == -ENOENT) {
        cx->r->log_detail = "console: not an administrator";
        zt_console_fail(cx, 403, CON_NOT_ADMIN_TITLE, zt_console_t(cx, CON_NOT_ADMIN_BODY));
    } else {
        cx->r->log_detail = "console: store unavailable";
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, CON_UNAVAILABLE_BODY));
    }
    return false;
}

void zt_console_handle(void *ctx, zt_local_req *r)
{
    (void)ctx;
    if (r->path_len == sizeof("/console.css") - 1 && strcmp(r->path, "/console.css") == 0) {
        serve_css(r);
        return;
    }
    zt_console_ctx *cx = malloc(sizeof(*cx));
    if (cx == NULL) {
        zt_local_respond_page(r, 503, MSG_UNAVAILABLE_TITLE, MSG_UNAVAILABLE_BODY, "out of memory");
        return;
    }
    zt_console_ctx_init(cx, r);
    parse_params(cx);
    pick_lang(cx);
    r->lang = cx->lang;
    csrf_of_session(cx);
    if (!load_grant(cx))
        return;
    cx->page = zt_console_page_find(r->path, r->path_len);
    if (cx->page == NULL) {
        zt_console_fail(cx, 404, CON_NOT_FOUND_TITLE, zt_console_t(cx, CON_NOT_FOUND_BODY));
        return;
    }
    if (!page_allowed(cx, cx->page)) {
        cx->r->log_detail = "console: role does not allow this page";
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
        return;
    }
    if (r->method == HTTP_POST && !may_any(&cx->grant, CHANGE_PERMS)) {
        cx->r->log_detail = "console: a read-only role cannot change anything";
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
        return;
    }
    if (cx->params_bad) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_BAD_QUERY));
        return;
    }
    if (r->method != HTTP_GET && r->method != HTTP_HEAD && r->method != HTTP_POST) {
        zt_console_fail(cx, 405, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_BAD_METHOD));
        return;
    }
    cx->page->handle(cx);
}
