/* The facts of one access decision (src/access): the policy input a request gives — risk from
 * the session and the address, the platform from the User-Agent and client hints (a repeated
 * header ignored), the device present, absent or someone else's — the request a handler's
 * zt_local_req gives, and the decision naming its policy. Real feeds, store and device
 * registry in a temporary directory, as test_feeds.c and test_device.c use them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "access/access.h"
#include "core/config.h"
#include "device/device.h"
#include "device/device_int.h"
#include "identity/secretbox.h"
#include "lib/buf.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "risk/feeds.h"
#include "session/session.h"
#include "store/store.h"

#define DEVICE_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DEVICE_UNKNOWN "0123456789abcdef0123456789abcdef"

static const char yaml[] =
    "gateway:\n"
    "  listen:\n"
    "    - address: 127.0.0.1:8080\n"
    "apps:\n"
    "  - {name: wiki, path_prefix: /w, upstream: \"http://127.0.0.1:1\", sensitivity: "
    "confidential}\n"
    "policies:\n"
    "  - {name: no-mac, users: {include: [all]}, apps: {include: [wiki]}, "
    "conditions: {device: {platforms: [macos]}}, grant: {block: true}}\n"
    "  - {name: mfa-soon, state: report_only, users: {include: [all]}, apps: {include: [all]}, "
    "grant: {controls: [mfa]}}\n";

typedef struct fixture {
    char root[64];
    zt_config *cfg;
    zt_policy_set *set;
    zt_store *st;
    zt_devices *d;
    zt_feeds *feeds;
    zt_secretbox *secrets;
    zt_services svc;
    char user_id[ZT_STORE_ID_LEN + 1];
    struct sockaddr_storage addr;
} fixture;

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void open_feeds(fixture *f)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/vpn.txt", f->root);
    write_file(path, "203.0.113.0/24\n");
    zt_feed_file anon[] = {{path, "vpn"}};
    zt_feeds_cfg cfg = {.anonymous = anon, .n_anonymous = 1};
    char err[256] = "";
    f->feeds = zt_feeds_load(&cfg, NULL, NULL, err, sizeof(err));
    if (f->feeds == NULL)
        fail_msg("feeds: %s", err);
}

static void open_devices(fixture *f)
{
    char state[128], ca_dir[160], err[512] = "";
    snprintf(state, sizeof(state), "%s/state", f->root);
    snprintf(ca_dir, sizeof(ca_dir), "%s/device-ca", state);
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = state};
    f->st = zt_store_open(&sc, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("store: %s", err);
    zt_user u;
    assert_int_equal(zt_store_user_add(f->st, "alice@example.org", "Alice", "", NULL, 0, &u), 0);
    memcpy(f->user_id, u.id, sizeof(f->user_id));
    zt_user_dispose(&u);
    zt_devices_cfg dc = {.store = f->st,
                         .ca_dir = ca_dir,
                         .cert_lifetime_s = 86400,
                         .enroll_code_ttl_s = 900,
                         .posture_max_age_s = 3600};
    f->d = zt_devices_new(&dc, err, sizeof(err));
    if (f->d == NULL)
        fail_msg("devices: %s", err);
    /* Alice's device, enrolled (no posture report yet: not compliant). */
    zt_store_device dev = {.enrolled_at = now_s(), .cert_not_after = now_s() + 86400};
    snprintf(dev.id, sizeof(dev.id), "%s", DEVICE_A);
    memcpy(dev.user_id, f->user_id, sizeof(dev.user_id));
    snprintf(dev.name, sizeof(dev.name), "pc-1");
    snprintf(dev.platform, sizeof(dev.platform), "linux");
    snprintf(dev.cert_serial, sizeof(dev.cert_serial), "abc123");
    memset(dev.cert_sha256, 'b', 64);
    assert_int_equal(zt_store_device_create(f->st, &dev), 0);
}

static int setup(void **state)
{
    assert_true(zt_secure_init()); /* libsodium, for the binding-cookie key */
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-access-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    zt_diags diags;
    zt_diags_init(&diags);
    f->cfg = zt_config_load_mem("access.yaml", yaml, strlen(yaml), &diags);
    if (f->cfg == NULL)
        fail_msg("config: %s", diags.text.data ? diags.text.data : "");
    zt_diags_dispose(&diags);
    char err[256] = "";
    f->set = zt_policy_compile(f->cfg, err, sizeof(err));
    if (f->set == NULL)
        fail_msg("policies: %s", err);
    open_feeds(f);
    open_devices(f);
    char key[128];
    snprintf(key, sizeof(key), "%s/secret.key", f->root);
    f->secrets = zt_secretbox_load_key(key, true, err, sizeof(err));
    if (f->secrets == NULL)
        fail_msg("secrets: %s", err);
    f->svc.devices = f->d;
    f->svc.secrets = f->secrets;
    atomic_store(&f->svc.feeds, f->feeds);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    zt_devices_free(f->d);
    zt_store_close(f->st);
    zt_feeds_free(f->feeds);
    zt_secretbox_free(f->secrets);
    zt_policy_set_free(f->set);
    zt_config_free(f->cfg);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static const struct sockaddr *addr(fixture *f, const char *ip)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)&f->addr;
    memset(&f->addr, 0, sizeof(f->addr));
    v4->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &v4->sin_addr), 1);
    return (const struct sockaddr *)&f->addr;
}

static zt_span span(const char *s)
{
    return (zt_span){s, strlen(s)};
}

/* Alice, signed in with a password, asking for wiki from ip. */
static zt_access_request alice(fixture *f, const char *ip)
{
    return (zt_access_request){.user_id = f->user_id,
                               .email = "alice@example.org",
                               .auth_time = now_s() - 60,
                               .amr = ZT_AMR_PWD,
                               .app = &f->cfg->apps[0],
                               .client_addr = addr(f, ip),
                               .client = ZT_CLIENT_BROWSER,
                               .now = now_s()};
}

/* ---- risk ---- */

static void test_risk_from_session_and_address(void **state)
{
    fixture *f = *state;
    zt_policy_input in;
    zt_access_facts facts;

    /* An anonymising VPN raises a clean session's sign-in risk to medium. */
    zt_access_request rq = alice(f, "203.0.113.9");
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_true(in.anonymous_ip);
    assert_int_equal(in.sign_in_risk, ZT_RISK_MEDIUM);
    assert_int_equal(in.user_risk, ZT_RISK_NONE);
    assert_false(in.password_change_required);
    assert_string_equal(in.app, "wiki");
    assert_int_equal(in.sensitivity, (int)f->cfg->apps[0].sensitivity);
    assert_string_equal(in.email, "alice@example.org");
    assert_ptr_equal(in.ip, rq.client_addr);
    assert_string_equal(facts.country, ""); /* no GeoIP database configured */

    /* Elsewhere: the session's own risk stands, never lowered; an open user risk owes a
     * password change. */
    rq = alice(f, "198.51.100.1");
    rq.sign_in_risk = ZT_RISK_HIGH;
    rq.user_risk = ZT_RISK_LOW;
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_false(in.anonymous_ip);
    assert_int_equal(in.sign_in_risk, ZT_RISK_HIGH);
    assert_int_equal(in.user_risk, ZT_RISK_LOW);
    assert_true(in.password_change_required);

    /* The session's methods and passkey reach the input. */
    static const unsigned char aaguid[16] = {1, 2, 3};
    rq.amr = ZT_AMR_HWK | ZT_AMR_MFA;
    rq.mfa_time = rq.now - 5;
    rq.passkey_aaguid = aaguid;
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_true(in.mfa_phishing_resistant);
    assert_ptr_equal(in.passkey_aaguid, aaguid);
    assert_int_equal(in.mfa_time, rq.now - 5);
}

/* ---- platform ---- */

#define UA_WINDOWS "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"

static void test_platform_from_hint_then_user_agent(void **state)
{
    fixture *f = *state;
    zt_policy_input in;
    zt_access_facts facts;

    zt_access_request rq = alice(f, "198.51.100.1");
    zt_access_request_header(&rq, span("user-agent"), span(UA_WINDOWS));
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_int_equal(in.platform, ZT_PLATFORM_WINDOWS);
    assert_string_equal(facts.platform, "windows");
    assert_string_equal(facts.platform_source, "user_agent");

    /* The client hint comes before the User-Agent. */
    zt_access_request_header(&rq, span("Sec-CH-UA-Platform"), span("\"macOS\""));
    zt_access_request_header(&rq, span("Sec-CH-UA-Mobile"), span("?0"));
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_int_equal(in.platform, ZT_PLATFORM_MACOS);
    assert_string_equal(facts.platform, "macos");
    assert_string_equal(facts.platform_source, "client_hint");

    /* Nothing said: unknown. */
    rq = alice(f, "198.51.100.1");
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_int_equal(in.platform, ZT_PLATFORM_UNKNOWN);
    assert_string_equal(facts.platform_source, "none");
}

static void test_repeated_header_ignored(void **state)
{
    fixture *f = *state;
    zt_policy_input in;
    zt_access_facts facts;

    /* Two hints (which would the app read?): neither; the User-Agent decides. */
    zt_access_request rq = alice(f, "198.51.100.1");
    zt_access_request_header(&rq, span("Sec-CH-UA-Platform"), span("\"macOS\""));
    zt_access_request_header(&rq, span("User-Agent"), span(UA_WINDOWS));
    zt_access_request_header(&rq, span("Sec-CH-UA-Platform"), span("\"Windows\""));
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_int_equal(in.platform, ZT_PLATFORM_WINDOWS);
    assert_string_equal(facts.platform_source, "user_agent");

    /* Three User-Agents as well: nothing is left to say. */
    zt_access_request_header(&rq, span("User-Agent"), span(UA_WINDOWS));
    zt_access_request_header(&rq, span("User-Agent"), span(UA_WINDOWS));
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_int_equal(in.platform, ZT_PLATFORM_UNKNOWN);
    assert_string_equal(facts.platform_source, "none");

    /* Other headers, and names that only share a length, are not taken. */
    rq = alice(f, "198.51.100.1");
    zt_access_request_header(&rq, span("Accept"), span("text/html"));
    zt_access_request_header(&rq, span("Cookiz"), span("a=b"));
    zt_access_request_header(&rq, span("User-Agenz"), span(UA_WINDOWS));
    assert_int_equal(rq.n_cookies, 0);
    assert_int_equal(rq.n_user_agent, 0);
    zt_access_request_header(&rq, span("COOKIE"), span("a=b"));
    assert_int_equal(rq.n_cookies, 1);
}

/* ---- device ---- */

static void test_device_absent(void **state)
{
    fixture *f = *state;
    zt_policy_input in;
    zt_access_facts facts;

    /* No certificate, a cookie that is no binding (and no key to check one): no device. */
    zt_access_request rq = alice(f, "198.51.100.1");
    zt_access_request_header(&rq, span("Cookie"), span("zt_dev=forged"));
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_false(in.device_known);
    assert_false(in.device_enrolled);
    assert_false(in.device_compliant);
    assert_string_equal(facts.device_id, "");
    zt_page_device pd = zt_access_page_device(&facts);
    assert_null(pd.failed);
    assert_null(pd.why);
    assert_int_equal(pd.n_why, 0);

    /* A certificate naming a device nobody enrolled: none either. */
    rq.cert_device_id = DEVICE_UNKNOWN;
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_false(in.device_known);
    assert_string_equal(facts.device_id, "");

    /* Alice's device presented by someone else's session: not theirs, so no device. */
    rq.cert_device_id = DEVICE_A;
    rq.user_id = "00000000000000000000000000000000";
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_false(in.device_known);
    assert_string_equal(facts.device_id, "");

    /* No device registry at all. */
    zt_services none = {0};
    rq = alice(f, "198.51.100.1");
    rq.cert_device_id = DEVICE_A;
    zt_access_input(&none, &rq, &in, &facts);
    assert_false(in.device_known);
    assert_string_equal(facts.device_id, "");
}

static void test_device_present(void **state)
{
    fixture *f = *state;
    zt_policy_input in;
    zt_access_facts facts;
    zt_access_request rq = alice(f, "198.51.100.1");
    rq.cert_device_id = DEVICE_A;
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_true(in.device_known);
    assert_true(in.device_enrolled);
    assert_false(in.device_compliant); /* no posture report yet */
    assert_string_equal(facts.device_id, DEVICE_A);
    zt_page_device pd = zt_access_page_device(&facts);
    assert_non_null(pd.failed); /* why it is not compliant, in words */
    assert_true(pd.n_why > 0);
}

/* "name=value" of the binding cookie the enrolment page would set for user_id. */
static void binding_cookie(fixture *f, const char *user_id, char *out, size_t cap)
{
    zt_buf set;
    zt_buf_init(&set, 0);
    assert_int_equal(
        zt_device_binding_set(f->secrets, &set, DEVICE_A, user_id, false, now_s(), 3600), 0);
    assert_int_equal(zt_buf_cstr(&set), 0);
    const char *v = strstr(set.data, ZT_DEVBIND_COOKIE_HTTP "=");
    assert_non_null(v);
    size_t n = strcspn(v, ";\r\n");
    assert_true(n < cap);
    memcpy(out, v, n);
    out[n] = '\0';
    zt_buf_dispose(&set);
}

static void test_device_by_binding_cookie(void **state)
{
    fixture *f = *state;
    zt_policy_input in;
    zt_access_facts facts;
    char cookie[256];
    binding_cookie(f, f->user_id, cookie, sizeof(cookie));

    /* No certificate: the browser's binding, in any of its Cookie headers. */
    zt_access_request rq = alice(f, "198.51.100.1");
    zt_access_request_header(&rq, span("Cookie"), span("theme=dark"));
    zt_access_request_header(&rq, span("Cookie"), span(cookie));
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_true(in.device_known);
    assert_string_equal(facts.device_id, DEVICE_A);

    /* Over HTTPS the binding is the __Host- cookie: this one is not read. */
    rq.https = true;
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_false(in.device_known);
    assert_string_equal(facts.device_id, "");

    /* Issued for another user: its MAC does not hold for Alice. */
    binding_cookie(f, "ffffffffffffffffffffffffffffffff", cookie, sizeof(cookie));
    rq = alice(f, "198.51.100.1");
    zt_access_request_header(&rq, span("Cookie"), span(cookie));
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_false(in.device_known);
    assert_string_equal(facts.device_id, "");
}

/* ---- a handler's request ---- */

static void test_request_from_local(void **state)
{
    fixture *f = *state;
    zt_local_header headers[] = {
        {span("Accept"), span("text/html,application/xhtml+xml")},
        {span("User-Agent"), span(UA_WINDOWS)},
        {span("Cookie"), span("a=1")},
        {span("Cookie"), span("b=2")},
    };
    zt_local_req r = {.method = HTTP_GET,
                      .app = &f->cfg->apps[0],
                      .headers = headers,
                      .n_headers = 4,
                      .https = true};
    memcpy(&r.client_addr, addr(f, "203.0.113.9"), sizeof(struct sockaddr_in));
    snprintf(r.device_id, sizeof(r.device_id), "%s", DEVICE_A);
    zt_access_request rq;
    zt_access_request_from_local(&r, &rq);
    assert_null(rq.user_id); /* the session side is the handler's */
    assert_ptr_equal(rq.app, &f->cfg->apps[0]);
    assert_ptr_equal(rq.client_addr, (const struct sockaddr *)&r.client_addr);
    assert_string_equal(rq.cert_device_id, DEVICE_A);
    assert_true(rq.https);
    assert_int_equal(rq.client, ZT_CLIENT_BROWSER);
    assert_int_equal(rq.n_cookies, 2);
    assert_int_equal(rq.n_user_agent, 1);
    assert_true(rq.now >= now_s() - 1 && rq.now <= now_s());

    /* With the session side added, it decides like the proxy's. */
    rq.user_id = f->user_id;
    rq.email = "alice@example.org";
    rq.auth_time = rq.now;
    zt_policy_input in;
    zt_access_facts facts;
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_true(in.anonymous_ip);
    assert_true(in.device_known);
    assert_int_equal(in.platform, ZT_PLATFORM_WINDOWS);

    /* A form POST is not a page navigation: an API client's answer. */
    r.method = HTTP_POST;
    zt_access_request_from_local(&r, &rq);
    assert_int_equal(rq.client, ZT_CLIENT_API);
}

static void test_client_type(void **state)
{
    zt_span nav = span("navigate"), cors = span("cors"), html = span("text/HTML;q=0.9");
    zt_span json = span("application/json");
    assert_int_equal(zt_access_client_type(HTTP_GET, &nav, NULL), ZT_CLIENT_BROWSER);
    assert_int_equal(zt_access_client_type(HTTP_HEAD, NULL, &html), ZT_CLIENT_BROWSER);
    assert_int_equal(zt_access_client_type(HTTP_GET, &cors, &json), ZT_CLIENT_API);
    assert_int_equal(zt_access_client_type(HTTP_GET, NULL, NULL), ZT_CLIENT_API);
    assert_int_equal(zt_access_client_type(HTTP_POST, &nav, &html), ZT_CLIENT_API);
}

/* ---- the decision ---- */

static void test_decide_names_policy(void **state)
{
    fixture *f = *state;
    zt_policy_input in;
    zt_access_facts facts;
    zt_policy_result res;

    zt_access_request rq = alice(f, "198.51.100.1");
    zt_access_request_header(&rq, span("Sec-CH-UA-Platform"), span("\"macOS\""));
    zt_access_input(&f->svc, &rq, &in, &facts);
    const char *policy = zt_access_decide(f->set, &in, &res);
    assert_int_equal(res.outcome, ZT_OUTCOME_BLOCK);
    assert_string_equal(policy, "no-mac");
    assert_int_equal(res.report_only_outcome, ZT_OUTCOME_CHALLENGE);
    char names[64];
    size_t n = zt_access_policy_names(f->set, &res, NULL, 0);
    assert_int_equal(n, strlen("no-mac,mfa-soon (report-only)"));
    assert_int_equal(zt_access_policy_names(f->set, &res, names, sizeof(names)), n);
    assert_string_equal(names, "no-mac,mfa-soon (report-only)");
    /* Too small a buffer gets nothing rather than a cut name. */
    char small[8];
    assert_int_equal(zt_access_policy_names(f->set, &res, small, sizeof(small)), n);
    assert_string_equal(small, "");

    /* Windows: only the report-only policy applies; allowed, and it is the one named. */
    rq = alice(f, "198.51.100.1");
    zt_access_request_header(&rq, span("User-Agent"), span(UA_WINDOWS));
    zt_access_input(&f->svc, &rq, &in, &facts);
    policy = zt_access_decide(f->set, &in, &res);
    assert_int_equal(res.outcome, ZT_OUTCOME_ALLOW);
    assert_string_equal(policy, "mfa-soon");
    assert_int_equal(zt_access_policy_names(f->set, &res, names, sizeof(names)),
                     strlen("mfa-soon (report-only)"));

    /* No app (a caller's mistake): the wiki-only block does not apply, and nothing crashes. */
    rq = alice(f, "198.51.100.1");
    rq.app = NULL;
    zt_access_request_header(&rq, span("Sec-CH-UA-Platform"), span("\"macOS\""));
    zt_access_input(&f->svc, &rq, &in, &facts);
    assert_null(in.app);
    policy = zt_access_decide(f->set, &in, &res);
    assert_int_equal(res.outcome, ZT_OUTCOME_ALLOW);
    assert_string_equal(policy, "mfa-soon");

    /* No policy set: allow, nothing named. */
    policy = zt_access_decide(NULL, &in, &res);
    assert_int_equal(res.outcome, ZT_OUTCOME_ALLOW);
    assert_null(policy);
    assert_int_equal(zt_access_policy_names(NULL, &res, names, sizeof(names)), 0);
    assert_string_equal(names, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_risk_from_session_and_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform_from_hint_then_user_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_header_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_present, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_by_binding_cookie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_from_local, setup, teardown),
        cmocka_unit_test(test_client_type),
        cmocka_unit_test_setup_teardown(test_decide_names_policy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
