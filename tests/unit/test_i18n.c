/* The one message catalogue (core/i18n.h): every id has English and Japanese, and every page
 * the gateway and the portal render in Japanese carries no English catalogue text — the block
 * page's reasons and remedies, device findings, the JSON refusal, the portal's pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/i18n.h"
#include "policy/policy.h"
#include "portal/portal.h"
#include "http/pages.h"

static bool non_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

/* Count of printf conversions: a translation must take the same arguments. */
static int conversions(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++)
        if (s[0] == '%' && s[1] != '%')
            n++;
    return n;
}

static void test_every_id_has_both_languages(void **state)
{
    (void)state;
    assert_string_equal(zt_msg_text(ZT_LANG_EN, MSG_NONE), "");
    assert_string_equal(zt_msg_text(ZT_LANG_JA, MSG_NONE), "");
    for (int id = MSG_NONE + 1; id < ZT_MSG_COUNT; id++) {
        const char *en = zt_msg_text(ZT_LANG_EN, (zt_msg)id);
        const char *ja = zt_msg_text(ZT_LANG_JA, (zt_msg)id);
        if (en[0] == '\0' || ja[0] == '\0')
            fail_msg("message %d has an empty text", id);
        if (!non_ascii(ja) || strcmp(en, ja) == 0)
            fail_msg("message %d: the Japanese text looks untranslated: %s", id, ja);
        if (conversions(en) != 0 || conversions(ja) != 0)
            fail_msg("message %d: catalogue texts are not format strings", id);
    }
    assert_string_equal(zt_msg_text(ZT_LANG_EN, ZT_MSG_COUNT), "");
}

/* No English catalogue text (of a length that cannot occur by chance) inside out. */
static void assert_no_english(const char *out, const char *what)
{
    for (int id = MSG_NONE + 1; id < ZT_MSG_COUNT; id++) {
        const char *en = zt_msg_text(ZT_LANG_EN, (zt_msg)id);
        if (strlen(en) >= 4 && strstr(out, en) != NULL)
            fail_msg("%s: English text of message %d in the Japanese output: %s", what, id, en);
    }
}

static void render_ja(zt_page pg, const char *what)
{
    zt_buf b;
    zt_buf_init(&b, 4 << 20);
    pg.lang = ZT_LANG_JA;
    pg.request_id = "ref-1";
    assert_int_equal(zt_page_render_body(&b, &pg), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_no_english(b.data, what);
    zt_buf_reset(&b);
    assert_int_equal(zt_page_render_json(&b, &pg), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_no_english(b.data, what);
    zt_buf_dispose(&b);
}

static const zt_msg device_findings[] = {
    MSG_DEV_REVOKED,   MSG_DEV_MALWARE,       MSG_DEV_OS_VERSION, MSG_DEV_DISK_ENCRYPTION,
    MSG_DEV_FIREWALL,  MSG_DEV_AV_SIGNATURES, MSG_DEV_ANTIVIRUS,  MSG_DEV_UPDATES,
    MSG_DEV_NO_REPORT, MSG_DEV_STALE,         MSG_DEV_OTHER,
};

/* Every refusal the gateway renders (conn.c), with its reason and remedy, in Japanese. */
static void test_gateway_pages_in_japanese(void **state)
{
    (void)state;
    static const struct {
        int status;
        zt_msg title, body;
    } errors[] = {
        {400, MSG_BAD_REQUEST_TITLE, MSG_BAD_REQUEST_BODY},
        {404, MSG_NOT_FOUND_TITLE, MSG_NOT_FOUND_BODY},
        {413, MSG_TOO_LARGE_TITLE, MSG_TOO_LARGE_BODY},
        {502, MSG_BAD_GATEWAY_TITLE, MSG_BAD_GATEWAY_BODY},
        {504, MSG_TIMEOUT_TITLE, MSG_TIMEOUT_BODY},
        {503, MSG_UNAVAILABLE_TITLE, MSG_UNAVAILABLE_BODY},
        {503, MSG_UNAVAILABLE_TITLE, MSG_AUDIT_UNAVAILABLE_BODY},
    };
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        render_ja((zt_page){.status = errors[i].status,
                            .title = errors[i].title,
                            .body = errors[i].body,
                            .detail = "technical detail stays out of the page"},
                  zt_msg_text(ZT_LANG_EN, errors[i].title));
    zt_page_device dev = {.failed = "Disk encryption is off",
                          .why = device_findings,
                          .n_why = sizeof(device_findings) / sizeof(device_findings[0]),
                          .facts = "Eicar-Test-Signature (eicar.com)"};
    render_ja(zt_page_block("p", NULL), "block page");
    render_ja(zt_page_block("p", &dev), "block page, device risk");
    render_ja(zt_page_unmet(ZT_CTL_COMPLIANT_DEVICE, "p", NULL), "device needed, none");
    render_ja(zt_page_unmet(ZT_CTL_COMPLIANT_DEVICE, "p", &dev), "device needed, findings");
    render_ja(zt_page_unmet(ZT_CTL_PASSWORD_CHANGE, "p", NULL), "password change");
    render_ja(zt_page_unmet(ZT_CTL_PHISHING_RESISTANT_MFA, "p", NULL), "passkey");
    render_ja(zt_page_unmet(ZT_CTL_MFA, "p", NULL), "other control");
    render_ja(zt_page_read_only("p"), "read-only");
    render_ja(zt_page_no_download("p"), "no download");
}

/* Each outcome has its own title and JSON code; none is "Access blocked" but the block. */
static void test_titles_fit_the_outcome(void **state)
{
    (void)state;
    zt_page pages[] = {
        zt_page_block("p", NULL),
        zt_page_unmet(ZT_CTL_COMPLIANT_DEVICE, "p", NULL),
        zt_page_unmet(ZT_CTL_PASSWORD_CHANGE, "p", NULL),
        zt_page_unmet(ZT_CTL_PHISHING_RESISTANT_MFA, "p", NULL),
        zt_page_unmet(ZT_CTL_MFA, "p", NULL),
        zt_page_read_only("p"),
        zt_page_no_download("p"),
    };
    size_t n = sizeof(pages) / sizeof(pages[0]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            assert_int_not_equal(pages[i].title, pages[j].title);
            assert_string_not_equal(pages[i].error, pages[j].error);
        }
    assert_int_equal(pages[0].title, MSG_BLOCKED_TITLE);
    assert_string_equal(pages[2].remedy_href, "/.ztgate/password");
    assert_string_equal(pages[1].remedy_href, "/.ztgate/device/enroll");
    assert_int_equal(pages[1].remedy_label, MSG_ENROL_DEVICE_LINK);
}

/* The portal's pages and every portal and device text through the portal's layout. */
static void test_portal_pages_in_japanese(void **state)
{
    (void)state;
    zt_buf b;
    zt_buf_init(&b, 4 << 20);
    zt_login_view login = {
        .lang = ZT_LANG_JA, .csrf_token = "t", .rd = "", .error = PM_ERR_SIGN_IN};
    assert_int_equal(zt_render_login(&b, &login), 0);
    zt_account_view acct = {.lang = ZT_LANG_JA, .email = "a@example.test"};
    assert_int_equal(zt_render_account(&b, &acct), 0);
    /* The security page with a row of every kind (stored names are not catalogue text). */
    zt_sec_passkey pk[3] = {{.id = "AQ", .name = "k1", .type = SM_TYPE_SYNCED, .created_at = 1},
                            {.id = "Ag", .name = "k2", .type = SM_TYPE_DEVICE, .last_used_at = 2},
                            {.id = "Aw", .name = "k3", .type = SM_TYPE_KEY}};
    zt_sec_session ss[2] = {{.ref = "r1", .this_browser = true}, {.ref = "r2", .place = "JP"}};
    zt_sec_device dv[3] = {{.name = "d1", .compliant = true, .posture_at = 5},
                           {.name = "d2", .posture_at = 5},
                           {.name = "d3", .revoked = true}};
    zt_sec_signin act[2] = {{.seq = 7, .success = true}, {.seq = 8, .at = 9}};
    zt_security_view sec = {.lang = ZT_LANG_JA,
                            .csrf_token = "t",
                            .done = SM_DONE_REPORTED,
                            .passkeys = pk,
                            .n_passkeys = 3,
                            .totp_enrolled = true,
                            .recovery_left = 3,
                            .sessions = ss,
                            .n_sessions = 2,
                            .devices = dv,
                            .n_devices = 3,
                            .activity = act,
                            .n_activity = 2};
    assert_int_equal(zt_render_security(&b, &sec), 0);
    zt_security_view empty = {.lang = ZT_LANG_JA, .csrf_token = "t", .activity_off = true};
    assert_int_equal(zt_render_security(&b, &empty), 0);
    for (int id = MSG_NONE + 1; id < ZT_MSG_COUNT; id++) {
        assert_int_equal(zt_html_begin(&b, ZT_LANG_JA, (zt_msg)id), 0);
        assert_int_equal(zt_html_notice(&b, ZT_LANG_JA, (zt_msg)id, true), 0);
        assert_int_equal(zt_html_end(&b, ZT_LANG_JA, "ref-1"), 0);
    }
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_no_english(b.data, "portal pages");
    zt_buf_dispose(&b);
}

/* The check itself can fail: an English page is caught. */
static void test_check_catches_english(void **state)
{
    (void)state;
    zt_buf b;
    zt_buf_init(&b, 4 << 20);
    zt_page pg = {.status = 403,
                  .title = MSG_BLOCKED_TITLE,
                  .body = MSG_BLOCKED_BODY,
                  .reason = MSG_WHY_POLICY_BLOCK,
                  .lang = ZT_LANG_EN};
    assert_int_equal(zt_page_render_body(&b, &pg), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_non_null(strstr(b.data, zt_msg_text(ZT_LANG_EN, MSG_WHY_POLICY_BLOCK)));
    assert_null(strstr(b.data, "technical"));
    zt_buf_dispose(&b);
}

static void test_json_shape(void **state)
{
    (void)state;
    zt_buf b;
    zt_buf_init(&b, 4 << 20);
    zt_page pg = {.status = 403,
                  .title = MSG_PASSWORD_CHANGE_TITLE,
                  .body = MSG_PASSWORD_CHANGE_BODY,
                  .error = "password_change_required",
                  .policy = "pol\"icy",
                  .remedy = MSG_DO_CHANGE_PASSWORD,
                  .remedy_href = "/.ztgate/password",
                  .remedy_label = MSG_CHANGE_PASSWORD_LINK,
                  .detail = "a password change is required",
                  .request_id = "abc-1-2"};
    assert_int_equal(zt_page_render_json(&b, &pg), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_non_null(strstr(b.data, "{\"error\":\"password_change_required\",\"status\":403,"));
    assert_non_null(strstr(b.data, "\"policy\":\"pol\\\"icy\""));
    assert_non_null(strstr(b.data, "\"action_url\":\"/.ztgate/password\""));
    assert_non_null(strstr(b.data, "\"request_id\":\"abc-1-2\""));
    assert_non_null(strstr(b.data, "\"lang\":\"en\""));
    zt_buf_dispose(&b);
}

static void test_wants_json(void **state)
{
    (void)state;
    zt_span html = {"text/html,application/xhtml+xml,*/*;q=0.8", 42};
    zt_span json = {"application/json", 16};
    zt_span any = {"*/*", 3};
    zt_span nav = {"navigate", 8}, cors = {"cors", 4};
    assert_false(zt_page_wants_json(&html, NULL));
    assert_true(zt_page_wants_json(&json, NULL));
    assert_true(zt_page_wants_json(&any, &cors));
    assert_true(zt_page_wants_json(NULL, NULL));
    assert_false(zt_page_wants_json(&json, &nav));
    assert_true(zt_page_asks_json(&json, NULL));
    assert_false(zt_page_asks_json(&any, NULL));
    assert_false(zt_page_asks_json(NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_id_has_both_languages),
        cmocka_unit_test(test_gateway_pages_in_japanese),
        cmocka_unit_test(test_titles_fit_the_outcome),
        cmocka_unit_test(test_portal_pages_in_japanese),
        cmocka_unit_test(test_check_catches_english),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_wants_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
