/* /.ztgate/device/enroll in a browser: the page where a signed-in user gets an enrolment code
 * for a device, and where the browser that asked is tied to the device once it is enrolled.
 * The device module does the work (codes, cookies, audit: device/device.h); this file draws the
 * page with the portal's layout, session and CSRF checks. The agent's JSON calls to the same
 * path go on to the device handler. */
#include <errno.h>
#include <string.h>

#include <llhttp.h>

#include "device/device.h"
#include "http/handler.h"
#include "lib/str.h"
#include "portal/portal.h"
#include "store/store.h"

#define DEV_ENROLL "/.ztgate/device/enroll"

/* The portal's layout (same CSS, header and footer as the sign-in pages) with the intro. */
static int page_begin(zt_buf *b, zt_lang lang)
{
    int rc = zt_html_begin(b, lang, DM_TITLE);
    return rc ? rc : zt_html_p(b, lang, DM_INTRO, NULL);
}

static int page_button(zt_local_req *r, zt_msg label)
{
    char token[ZT_CSRF_TOKEN_LEN + 1];
    zt_buf *b = &r->resp_body;
    int rc = zt_portal_csrf_token(r, DEV_ENROLL, token);
    rc = rc ? rc : zt_html_form_begin(b, DEV_ENROLL, token, NULL);
    rc = rc ? rc : zt_buf_append_str(b, "<button type=\"submit\">");
    rc = rc ? rc : zt_html_msg(b, r->lang, label);
    return rc ? rc : zt_buf_append_str(b, "</button></form>");
}

static void page_send(zt_local_req *r, int rc)
{
    rc = rc ? rc : zt_html_end(&r->resp_body, r->lang, NULL);
    if (rc != 0) {
        zt_portal_unavailable(r, "device enrolment page");
        return;
    }
    r->status = 200;
    zt_buf_append_str(&r->resp_headers, "Cache-Control: no-store\r\n");
    zt_local_respond(r);
}

static bool page_session(zt_local_req *r, zt_portal_sess *s)
{
    if (!zt_portal_require_session(r, s, DEV_ENROLL))
        return false;
    if (s->mfa_pending) {
        zt_portal_redirect_with_rd(r, ZT_PORTAL_MFA, DEV_ENROLL);
        return false;
    }
    return true;
}

/* "Done — continue": a plain link back to this page (a GET changes nothing until the device
 * exists, and then only this browser's own cookies). */
static int continue_link(zt_buf *b, zt_lang lang)
{
    int rc = zt_buf_append_str(b, "<p><a id=\"device-continue\" href=\"" DEV_ENROLL "\">");
    rc = rc ? rc : zt_html_msg(b, lang, DM_CONTINUE);
    return rc ? rc : zt_buf_append_str(b, "</a></p>");
}

static void enroll_page(zt_devices *d, zt_local_req *r)
{
    zt_portal_sess s;
    if (!page_session(r, &s))
        return;
    zt_store_device dev;
    zt_device_bind out =
        zt_device_page_bind(d, r, zt_portal_cookies(r), s.user_id, s.email, zt_portal_now(), &dev);
    if (out == ZT_BIND_FAILED) {
        zt_buf_reset(&r->resp_headers);
        zt_portal_unavailable(r, "device binding: store or audit log unavailable");
        return;
    }
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    int rc = page_begin(b, r->lang);
    if (out == ZT_BIND_WAITING) {
        rc = rc ? rc : zt_buf_append_str(b, "<p>");
        rc = rc ? rc : zt_html_msg(b, r->lang, DM_WAITING);
        rc = rc ? rc : zt_buf_append_str(b, "</p>");
        rc = rc ? rc : continue_link(b, r->lang);
    } else if (out == ZT_BIND_DONE) {
        r->log_detail = "browser tied to device";
        rc = rc ? rc : zt_buf_append_str(b, "<p id=\"device-bound\">");
        rc = rc ? rc : zt_html_msg(b, r->lang, DM_BOUND_PRE);
        rc = rc ? rc : zt_buf_append_str(b, "<strong>");
        rc = rc ? rc : zt_html_text(b, dev.name);
        rc = rc ? rc : zt_buf_append_str(b, "</strong>");
        rc = rc ? rc : zt_html_msg(b, r->lang, DM_BOUND_POST);
        rc = rc ? rc : zt_buf_append_str(b, "</p>");
    }
    page_send(r, rc ? rc : page_button(r, out == ZT_BIND_NONE ? DM_BUTTON : DM_ANOTHER));
}

/* The command to run on the device, complete: over HTTPS it pins the certificate this page was
 * served with (as trustworthy as the page itself), so it works when copied as it is. Over plain
 * HTTP there is nothing trustworthy to print: the page says to ask for the CA file. */
static int enrol_command(zt_buf *b, const zt_local_req *r, const char *code)
{
    bool pinned = r->https && r->server_sha256[0] != '\0';
    int rc = 0;
    if (!pinned)
        rc = zt_html_p(b, r->lang, DM_HTTP_NOTE, "notice error");
    rc = rc ? rc
            : zt_buf_append_str(b,
                                "<pre><code id=\"enrol-command\">ztagent enroll --server https://");
    rc = rc ? rc : zt_html_text(b, r->host_port);
    rc = rc ? rc : zt_buf_append_str(b, " --code ");
    rc = rc ? rc : zt_html_text(b, code);
    if (pinned)
        rc = rc ? rc : zt_buf_printf(b, " --server-sha256 %s", r->server_sha256);
    else
        rc = rc ? rc : zt_buf_append_str(b, " --ca-file GATEWAY-CA.pem");
    return rc ? rc : zt_buf_append_str(b, "</code></pre>");
}

/* POST from the page's button: mint a code for the signed-in user and show it once. */
static void enroll_mint(zt_devices *d, zt_local_req *r)
{
    zt_form form = {0};
    zt_portal_sess s;
    if (!zt_portal_read_form(r, &form))
        return;
    bool ok = zt_portal_csrf_ok(r, &form);
    zt_form_dispose(&form);
    if (!ok || !page_session(r, &s))
        return;
    char code[ZT_ENROLL_CODE_DISPLAY_LEN + 1];
    bool pending = false;
    int rc = zt_device_page_mint(d, r, s.user_id, s.email, zt_portal_now(), code, &pending);
    if (rc != 0) {
        zt_portal_unavailable(r, rc == -EPIPE ? "audit log unavailable"
                                              : "enrolment code: store error");
        return;
    }
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    rc = page_begin(b, r->lang);
    rc = rc ? rc : zt_buf_append_str(b, "<p>");
    rc = rc ? rc : zt_html_msg(b, r->lang, DM_CODE_LABEL);
    rc = rc ? rc : zt_buf_append_str(b, "</p><p><strong><code>");
    rc = rc ? rc : zt_html_text(b, code);
    rc = rc ? rc : zt_buf_append_str(b, "</code></strong></p><p>");
    rc = rc ? rc : zt_html_msg(b, r->lang, DM_VALID_PRE);
    rc = rc ? rc : zt_buf_printf(b, "%lld", (long long)((zt_devices_code_ttl(d) + 59) / 60));
    rc = rc ? rc : zt_html_msg(b, r->lang, DM_VALID_POST);
    rc = rc ? rc : zt_buf_append_str(b, "</p><p>");
    rc = rc ? rc : zt_html_msg(b, r->lang, DM_RUN);
    rc = rc ? rc : zt_buf_append_str(b, "</p>");
    rc = rc ? rc : enrol_command(b, r, code);
    rc = rc ? rc : zt_buf_append_str(b, "<p>");
    rc = rc ? rc : zt_html_msg(b, r->lang, DM_AFTER);
    rc = rc ? rc : zt_buf_append_str(b, "</p>");
    if (pending) {
        rc = rc ? rc : zt_buf_append_str(b, "<p>");
        rc = rc ? rc : zt_html_msg(b, r->lang, DM_CONTINUE_HINT);
        rc = rc ? rc : zt_buf_append_str(b, "</p>");
        rc = rc ? rc : continue_link(b, r->lang);
    }
    rc = rc ? rc : page_button(r, DM_ANOTHER);
    memset(code, 0, sizeof(code));
    page_send(r, rc);
}

void zt_portal_device_enrol(void *devices, zt_local_req *r)
{
    zt_devices *d = devices;
    bool page = d != NULL && strcmp(r->path, DEV_ENROLL) == 0;
    if (page && (r->method == HTTP_GET || r->method == HTTP_HEAD))
        enroll_page(d, r);
    else if (page && r->method == HTTP_POST && !zt_local_is_json(r))
        enroll_mint(d, r); /* the page's form (CSRF-checked) */
    else
        zt_device_handle_with(d, r);
}
