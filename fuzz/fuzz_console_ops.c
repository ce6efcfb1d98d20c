/* The console's operations forms on arbitrary input (console/ops.h): the audit search filters
 * and the what-if form, each field a line of the input, must never crash or hit UB; an accepted
 * filter only holds what reads (a reference of [A-Za-z0-9-], a time range in order, text without
 * control bytes), and a what-if form that builds evaluates. Also the refusal advice and the
 * report-only matcher over arbitrary record text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "access/whatif.h"
#include "console/ops.h"
#include "core/config.h"

static const char yaml[] =
    "gateway:\n"
    "  listen:\n"
    "    - address: 127.0.0.1:8080\n"
    "apps:\n"
    "  - {name: hr, path_prefix: /h, upstream: \"http://127.0.0.1:1\", sensitivity: "
    "confidential}\n"
    "policies:\n"
    "  - {name: p, users: {include: [group:staff]}, apps: {include: [all]}, "
    "grant: {controls: [mfa]}}\n";

static zt_whatif_env env;

static void setup(void)
{
    static zt_config *cfg;
    static zt_policy_set *set;
    if (cfg != NULL)
        return;
    zt_diags d;
    char err[256];
    zt_diags_init(&d);
    cfg = zt_config_load_mem("f.yaml", yaml, sizeof(yaml) - 1, &d);
    zt_diags_dispose(&d);
    if (cfg == NULL || (set = zt_policy_compile(cfg, err, sizeof(err))) == NULL)
        abort();
    env = (zt_whatif_env){.cfg = cfg, .set = set};
}

/* Up to n NUL-terminated lines of buf (in place); missing ones are NULL. */
static void lines(char *buf, const char **out, size_t n)
{
    char *p = buf;
    for (size_t i = 0; i < n; i++) {
        out[i] = p;
        char *nl = p != NULL ? strchr(p, '\n') : NULL;
        if (nl != NULL)
            *nl = '\0';
        p = nl != NULL ? nl + 1 : NULL;
    }
}

static void audit_form(const char **f)
{
    cop_audit_form form = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]};
    zt_aq_filter flt;
    uint64_t cursor;
    if (cop_audit_filter(&form, &flt, &cursor) != MSG_NONE)
        return;
    if (flt.ref != NULL && !cop_ref_valid(flt.ref))
        abort();
    if (flt.since_us > flt.until_us)
        abort();
    if (flt.text != NULL && strlen(flt.text) > COP_FIELD_MAX)
        abort();
}

static void whatif_form(const char **f)
{
    cop_whatif_form form = {.user = f[0],
                            .groups = f[1],
                            .app = f[2],
                            .ip = f[3],
                            .country = f[4],
                            .device = f[5],
                            .platform = f[6],
                            .client = f[7],
                            .at = f[8],
                            .auth_age = f[9],
                            .sign_in_risk = f[10],
                            .mfa = f[11] != NULL && f[11][0] == '1'};
    zt_whatif w;
    zt_whatif_answer a = {0};
    zt_msg bad;
    char err[128];
    zt_whatif_init(&w, 1705312800);
    if (cop_whatif_build(&env, &w, &form, &bad, err, sizeof(err)) == 0 &&
        zt_whatif_eval(&env, &w, &a) == 0 && cop_verdict_msg(&a.res) == MSG_NONE)
        abort();
    zt_whatif_answer_dispose(&a);
    zt_whatif_dispose(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    setup();
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    zt_msg advice[4];
    (void)cop_ref_advice("block", buf, advice, 4);
    (void)cop_lists_report_only(buf, "p");
    const char *f[12];
    lines(buf, f, 12);
    audit_form(f);
    whatif_form(f);
    free(buf);
    return 0;
}
