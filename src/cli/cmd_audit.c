/* `ztgate audit verify|search|tail`: check the hash chain and signed checkpoints of the local
 * audit log, find records by user, device, address, time, class and decision, and read or
 * follow its newest records. Reading never changes the log; search and tail do not verify (use
 * verify for that), and they escape control bytes so a record cannot drive the terminal. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/query.h"
#include "cli/cmd_identity.h"
#include "cli/commands.h"
#include "core/config.h"
#include "lib/net.h"
#include "lib/str.h"
#include "lib/time.h"

#define MAX_AUDIT_FILES 4096

static const char *arg_value(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static bool has_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static zt_config *load_cfg(int argc, char **argv)
{
    const char *path = zt_cli_config_path(argc, argv);
    zt_diags diags;
    zt_diags_init(&diags);
    zt_config *cfg = zt_config_load(path, &diags);
    if (cfg == NULL)
        fprintf(stderr, "%.*s", (int)diags.text.len, diags.text.data ? diags.text.data : "");
    zt_diags_dispose(&diags);
    return cfg;
}

static int audit_verify(int argc, char **argv)
{
    char *given[MAX_AUDIT_FILES];
    char **found = NULL;
    size_t n = 0, n_found = 0;
    for (int i = 1; i < argc && n < MAX_AUDIT_FILES; i++) {
        if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--pubkey") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] != '-')
            given[n++] = argv[i];
    }
    const char *pub = arg_value(argc, argv, "--pubkey");
    char pubbuf[4096];
    zt_config *cfg = NULL;
    if (n == 0 || pub == NULL) {
        cfg = load_cfg(argc, argv);
        if (cfg == NULL) {
            fprintf(stderr, "ztgate: give the log files and --pubkey, or a valid --config\n");
            return 2;
        }
        if (n == 0) {
            long got = zt_aq_log_files(cfg->audit.path, &found);
            n_found = got > 0 ? (size_t)got : 0;
        }
        if (pub == NULL) {
            snprintf(pubbuf, sizeof(pubbuf), "%s.pub", cfg->audit.signing_key_file);
            pub = pubbuf;
        }
    }
    unsigned flags = has_flag(argc, argv, "--sealed") ? ZT_AUDIT_VERIFY_SEALED : 0;
    if (has_flag(argc, argv, "--from-genesis"))
        flags |= ZT_AUDIT_VERIFY_FROM_GENESIS;
    int rc = zt_audit_verify((const char *const *)(n > 0 ? given : found), n > 0 ? n : n_found, pub,
                             flags, stdout);
    zt_aq_files_free(found, n_found);
    zt_config_free(cfg);
    return rc == 0 ? 0 : 1;
}

/* ---- shared by search and tail ---- */

#define MAX_LINE (1u << 20)   /* a record is at most ZT_AUDIT_MAX_EVENT plus the chain fields */
#define FOLLOW_POLL_MS 200    /* how often tail -f looks for new bytes and a rotated file */
#define MAX_TAIL_N 1000000ULL /* records -n may ask for */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Bad arguments: one line on stderr, exit status 2. */
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ztgate audit: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 2;
}

/* ---- times ---- */

/* RFC 3339, or an age: "90s", "15m", "2h", "7d" ago. */
static bool parse_when(const char *s, int64_t *us)
{
    size_t n = strlen(s);
    unsigned long long v;
    if (n >= 2 && strchr("smhd", s[n - 1]) != NULL && zt_parse_u64(s, n - 1, 100000000, &v)) {
        int64_t unit = s[n - 1] == 's' ? 1 : s[n - 1] == 'm' ? 60 : s[n - 1] == 'h' ? 3600 : 86400;
        *us = zt_wall_us() - (int64_t)v * unit * 1000000;
        return true;
    }
    return zt_parse_rfc3339(s, n, 0, us);
}

/* ---- classes ---- */

static const struct {
    const char *name;
    long uid;
} classes[] = {
    {"account_change", 3001},        {"authentication", 3002},    {"authorize_session", 3003},
    {"http_activity", 4002},         {"detection_finding", 2004}, {"compliance_finding", 2003},
    {"application_lifecycle", 6002}, {"network_activity", 4001},
};

static const char *class_name(long uid)
{
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (classes[i].uid == uid)
            return classes[i].name;
    return NULL;
}

static bool parse_class(const char *s, long *uid)
{
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        if (strcmp(s, classes[i].name) == 0) {
            *uid = classes[i].uid;
            return true;
        }
    }
    unsigned long long v;
    if (!zt_parse_u64(s, strlen(s), 999999, &v) || v == 0)
        return false;
    *uid = (long)v;
    return true;
}

/* ---- search ---- */

typedef struct search_opts {
    zt_aq_search_opts q;
    bool json, verbose;
} search_opts;

/* Table columns, in characters; longer values are cut. */
enum {
    COL_TIME = 27,
    COL_CLASS = 21,
    COL_USER = 30,
    COL_IP = 15,
    COL_OUTCOME = 12,
    COL_MESSAGE = 60
};

/* One table cell: control bytes and DEL shown as '?', cut to width (0 = no limit). */
static void cell(const char *s, int width, bool last)
{
    int n = 0;
    for (; s != NULL && s[n] != '\0' && (width == 0 || n < width); n++) {
        unsigned char ch = (unsigned char)s[n];
        putchar(ch < 0x20 || ch == 0x7f ? '?' : ch);
    }
    if (!last)
        for (putchar(' '); n < width; n++)
            putchar(' ');
}

/* A field as text, or NULL when the record does not have it. */
static const char *field(const zt_aq_fields *x, zt_aq_field f, char *buf, size_t cap)
{
    return x->f[f].p != NULL ? zt_aq_span_str(&x->f[f], buf, cap) : NULL;
}

static const char *first_field(const zt_aq_fields *x, const zt_aq_field *fs, size_t n, char *buf,
                               size_t cap)
{
    for (size_t i = 0; i < n; i++)
        if (x->f[fs[i]].p != NULL)
            return zt_aq_span_str(&x->f[fs[i]], buf, cap);
    return NULL;
}

static void print_row(const zt_aq_fields *x)
{
    static const zt_aq_field users[] = {ZT_AQF_USER_EMAIL, ZT_AQF_ACTOR_EMAIL, ZT_AQF_USER_UID,
                                        ZT_AQF_ACTOR_NAME};
    static const zt_aq_field whys[] = {ZT_AQF_REASONS, ZT_AQF_STATUS_DETAIL};
    char cls[24], outcome[64], msg[1200], user[256], ip[64], rid[256], tm[64], dec[64], status[64],
        message[512], why[512];
    long uid = (long)zt_aq_span_int(&x->f[ZT_AQF_CLASS], 0);
    const char *cname = class_name(uid);
    if (cname != NULL)
        snprintf(cls, sizeof(cls), "%s", cname);
    else
        snprintf(cls, sizeof(cls), "%ld", uid);
    const char *u = first_field(x, users, 4, user, sizeof(user));
    const char *d = field(x, ZT_AQF_DECISION, dec, sizeof(dec));
    const char *st = field(x, ZT_AQF_STATUS, status, sizeof(status));
    if (d != NULL)
        snprintf(outcome, sizeof(outcome), "%s", d);
    else if (x->f[ZT_AQF_HTTP_CODE].p != NULL)
        snprintf(outcome, sizeof(outcome), "%s %lld", st ? st : "",
                 (long long)zt_aq_span_int(&x->f[ZT_AQF_HTTP_CODE], 0));
    else
        snprintf(outcome, sizeof(outcome), "%s", st ? st : "");
    const char *m = field(x, ZT_AQF_MESSAGE, message, sizeof(message));
    const char *w = first_field(x, whys, 2, why, sizeof(why));
    snprintf(msg, sizeof(msg), "%s%s%s%s", m ? m : "", w ? " (" : "", w ? w : "", w ? ")" : "");
    const char *addr = field(x, ZT_AQF_IP, ip, sizeof(ip));
    const char *ref = field(x, ZT_AQF_REQUEST_ID, rid, sizeof(rid));
    cell(field(x, ZT_AQF_TIME, tm, sizeof(tm)), COL_TIME, false);
    cell(cls, COL_CLASS, false);
    cell(u ? u : "-", COL_USER, false);
    cell(addr ? addr : "-", COL_IP, false);
    cell(outcome, COL_OUTCOME, false);
    cell(msg, COL_MESSAGE, false);
    cell(ref ? ref : "-", 0, true);
    putchar('\n');
}

static void print_header(void)
{
    cell("TIME", COL_TIME, false);
    cell("CLASS", COL_CLASS, false);
    cell("USER", COL_USER, false);
    cell("IP", COL_IP, false);
    cell("DECISION", COL_OUTCOME, false);
    cell("MESSAGE (REASONS)", COL_MESSAGE, false);
    cell("REQUEST ID", 0, true);
    putchar('\n');
}

typedef struct printer {
    bool json;
    size_t limit;
    uint64_t printed, last_seq;
    bool more;
} printer;

static bool print_hit(void *arg, const char *line, size_t len, const zt_aq_fields *x)
{
    printer *p = arg;
    if (p->limit != 0 && p->printed == p->limit) {
        p->more = true;
        return false;
    }
    p->printed++;
    int64_t seq = zt_aq_span_int(&x->f[ZT_AQF_SEQ], 0);
    p->last_seq = seq > 0 ? (uint64_t)seq : p->last_seq;
    if (p->json) {
        fwrite(line, 1, len, stdout);
        putchar('\n');
    } else {
        print_row(x);
    }
    return true;
}

static void report_malformed(void *arg, const char *file, uint64_t lineno)
{
    (void)arg;
    if (lineno > 0)
        fprintf(stderr, "ztgate audit: %s:%llu: not a JSON record, skipped\n", file,
                (unsigned long long)lineno);
    else
        fprintf(stderr, "ztgate audit: %s: a line that is not a JSON record, skipped\n", file);
}

static const char *const search_value_flags[] = {
    "--user", "--device", "--ip",     "--since", "--until", "--type",   "--class", "--decision",
    "--ref",  "--app",    "--policy", "--text",  "--limit", "--cursor", "--config"};

static bool takes_value(const char *a)
{
    for (size_t i = 0; i < sizeof(search_value_flags) / sizeof(search_value_flags[0]); i++)
        if (strcmp(a, search_value_flags[i]) == 0)
            return true;
    return false;
}

static bool search_bool_flag(const char *a, search_opts *o)
{
    if (strcmp(a, "--json") == 0)
        o->json = true;
    else if (strcmp(a, "--newest-first") == 0)
        o->q.oldest_first = false;
    else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
        o->verbose = true;
    else
        return false;
    return true;
}

/* One flag with its value into o. 0 or 2 (message printed). */
static int search_flag(const char *a, const char *v, search_opts *o)
{
    zt_aq_filter *f = &o->q.filter;
    unsigned long long n;
    if (strcmp(a, "--user") == 0)
        f->user = v;
    else if (strcmp(a, "--ref") == 0)
        f->ref = v;
    else if (strcmp(a, "--device") == 0)
        f->device = v;
    else if (strcmp(a, "--app") == 0)
        f->app = v;
    else if (strcmp(a, "--policy") == 0)
        f->policy = v;
    else if (strcmp(a, "--text") == 0)
        f->text = v;
    else if (strcmp(a, "--decision") == 0 && !zt_aq_decision_valid(v))
        return usage_error("--decision: unknown decision '%s' (allow, block, challenge, "
                           "sign_in, error, or report_only_ and one of them)",
                           v);
    else if (strcmp(a, "--decision") == 0)
        f->decision = v;
    else if (strcmp(a, "--ip") == 0 && !(f->have_ip = zt_cidr_parse(v, &f->ip)))
        return usage_error("--ip: '%s' is not an IP address or CIDR block (host bits zero)", v);
    else if (strcmp(a, "--since") == 0 && !parse_when(v, &f->since_us))
        return usage_error("--since: '%s' is not RFC 3339 (2026-11-23T09:00:00Z) or an "
                           "age (15m, 2h, 7d)",
                           v);
    else if (strcmp(a, "--until") == 0 && !parse_when(v, &f->until_us))
        return usage_error("--until: '%s' is not RFC 3339 (2026-11-23T09:00:00Z) or an "
                           "age (15m, 2h, 7d)",
                           v);
    else if ((strcmp(a, "--type") == 0 || strcmp(a, "--class") == 0) &&
             !parse_class(v, &f->class_uid))
        return usage_error("%s: unknown class '%s' (authentication, authorize_session, "
                           "account_change, http_activity, network_activity, detection_finding, "
                           "compliance_finding, or a class_uid)",
                           a, v);
    else if (strcmp(a, "--limit") == 0 && !zt_parse_u64(v, strlen(v), 100000000, &n))
        return usage_error("--limit wants a number of records, not '%s'", v);
    else if (strcmp(a, "--limit") == 0)
        o->q.limit = (size_t)n;
    else if (strcmp(a, "--cursor") == 0 && (!zt_parse_u64(v, strlen(v), UINT64_MAX, &n) || n == 0))
        return usage_error("--cursor wants the seq a previous page ended at, not '%s'", v);
    else if (strcmp(a, "--cursor") == 0)
        o->q.cursor = n;
    return 0;
}

/* Fill o from the flags; files collects the positional arguments. 0 or 2 (message printed). */
static int search_args(int argc, char **argv, search_opts *o, char **files, size_t *n)
{
    *o = (search_opts){.q = {.oldest_first = true}};
    zt_aq_filter_init(&o->q.filter);
    *n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (search_bool_flag(a, o))
            continue;
        if (a[0] != '-') {
            if (*n == MAX_AUDIT_FILES)
                return usage_error("more than %d files", MAX_AUDIT_FILES);
            files[(*n)++] = argv[i];
            continue;
        }
        if (!takes_value(a))
            return usage_error("unknown option %s (see ztgate audit search --help)", a);
        if (v == NULL || v[0] == '\0')
            return usage_error("%s needs a value", a);
        i++;
        int rc = search_flag(a, v, o);
        if (rc != 0)
            return rc;
    }
    if (o->q.filter.since_us > o->q.filter.until_us)
        return usage_error("--since is later than --until");
    return 0;
}

/* The files to read: those given, or the configured log with its rotated siblings. 0, or 2
 * (message printed). */
static int search_files(int argc, char **argv, char **given, size_t n_given, zt_config **cfg,
                        char ***found, size_t *n_found)
{
    *cfg = NULL;
    *found = NULL;
    *n_found = 0;
    if (n_given > 0)
        return 0;
    *cfg = load_cfg(argc, argv);
    if (*cfg == NULL)
        return usage_error("give the log files, or a valid --config");
    if (strcmp((*cfg)->audit.path, "off") == 0)
        return usage_error("the audit log is off in this configuration");
    long n = zt_aq_log_files((*cfg)->audit.path, found);
    if (n < 0)
        return usage_error("%s: %s", (*cfg)->audit.path, strerror((int)-n));
    *n_found = (size_t)n;
    return 0;
}

/* The files a command reads: those given on the command line, else the configured log's. */
typedef struct audit_files {
    zt_config *cfg;
    char **found;
    size_t n_found;
    char **files; /* the given or the found */
    size_t n;
} audit_files;

static void audit_files_close(audit_files *af)
{
    zt_aq_files_free(af->found, af->n_found);
    zt_config_free(af->cfg);
}

/* rc is the argument parsing's: on it or on an error here, nothing is left to close. */
static int audit_files_open(int rc, int argc, char **argv, char **given, size_t n_given,
                            audit_files *af)
{
    *af = (audit_files){0};
    if (rc == 0)
        rc = search_files(argc, argv, given, n_given, &af->cfg, &af->found, &af->n_found);
    if (rc != 0) {
        audit_files_close(af);
        return rc;
    }
    af->files = n_given > 0 ? given : af->found;
    af->n = n_given > 0 ? n_given : af->n_found;
    return 0;
}

/* Which file could not be read: the search reports the first error only, so look again. */
static int report_unreadable(char *const *files, size_t n)
{
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        if (access(files[i], R_OK) != 0) {
            fprintf(stderr, "ztgate audit: %s: %s\n", files[i], strerror(errno));
            status = 1;
        }
    }
    return status;
}

static int audit_search(int argc, char **argv)
{
    char *given[MAX_AUDIT_FILES];
    size_t n_given = 0;
    search_opts o;
    if (has_flag(argc, argv, "--help") || has_flag(argc, argv, "-h")) {
        printf("usage: ztgate audit search [--user EMAIL|ID] [--device ID] [--ip IP|CIDR] "
               "[--since T] [--until T] [--type CLASS] [--decision D] [--ref ID] [--app NAME] "
               "[--policy NAME] [--text WORDS] [--newest-first] [--limit N] [--cursor SEQ] "
               "[--json] [--verbose] [--config FILE] [FILES...]\n");
        return 0;
    }
    int rc = search_args(argc, argv, &o, given, &n_given);
    audit_files af;
    rc = audit_files_open(rc, argc, argv, given, n_given, &af);
    if (rc != 0)
        return rc;
    char **files = af.files;
    size_t n = af.n;
    o.q.malformed = report_malformed;
    if (!o.json)
        print_header();
    printer p = {.json = o.json, .limit = o.q.limit};
    zt_aq_result res;
    rc = zt_aq_each((const char *const *)files, n, &o.q, print_hit, &p, &res);
    fflush(stdout);
    int status = rc < 0 ? report_unreadable(files, n) : 0;
    if (!o.json)
        fprintf(stderr, "%llu record%s\n", (unsigned long long)p.printed,
                p.printed == 1 ? "" : "s");
    if (p.more)
        fprintf(stderr, "more: go on with --cursor %llu\n", (unsigned long long)p.last_seq);
    if (o.verbose)
        fprintf(stderr, "scanned %llu records in %llu ms\n", (unsigned long long)res.scanned,
                (unsigned long long)(res.elapsed_us / 1000));
    if (o.q.filter.ref != NULL && p.printed == 0)
        fprintf(stderr,
                "ztgate audit: no record has the reference %s; a request refused before "
                "any decision (malformed: 400, 413, 414, 431) is only in the access log, "
                "as its request_id\n",
                o.q.filter.ref);
    audit_files_close(&af);
    return status;
}

/* ---- stats ---- */

typedef struct stats_opts {
    zt_aq_stats_req req;
    const char *user; /* only records naming this user */
    bool json, verbose;
} stats_opts;

/* "1h", "15m", "1d", "3600s": a bucket width, a whole number of minutes. */
static bool parse_bucket(const char *s, int64_t *secs)
{
    size_t n = strlen(s);
    unsigned long long v;
    if (n < 2 || strchr("smhd", s[n - 1]) == NULL || !zt_parse_u64(s, n - 1, 1000000, &v) || v == 0)
        return false;
    int64_t unit = s[n - 1] == 's' ? 1 : s[n - 1] == 'm' ? 60 : s[n - 1] == 'h' ? 3600 : 86400;
    *secs = (int64_t)v * unit;
    return *secs % 60 == 0;
}

static int stats_args(int argc, char **argv, stats_opts *o, char **files, size_t *n)
{
    int64_t now = zt_wall_us();
    *o = (stats_opts){
        .req = {.since_us = now - 86400LL * 1000000, .until_us = now, .bucket_s = 3600}};
    *n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0 || strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            o->json |= strcmp(a, "--json") == 0;
            o->verbose |= strcmp(a, "--json") != 0;
            continue;
        }
        if (a[0] != '-') {
            if (*n == MAX_AUDIT_FILES)
                return usage_error("more than %d files", MAX_AUDIT_FILES);
            files[(*n)++] = argv[i];
            continue;
        }
        if (strcmp(a, "--since") != 0 && strcmp(a, "--until") != 0 && strcmp(a, "--bucket") != 0 &&
            strcmp(a, "--user") != 0 && strcmp(a, "--config") != 0)
            return usage_error("unknown option %s (see ztgate audit stats --help)", a);
        if (v == NULL || v[0] == '\0')
            return usage_error("%s needs a value", a);
        i++;
        if (strcmp(a, "--since") == 0 && !parse_when(v, &o->req.since_us))
            return usage_error("--since: '%s' is not RFC 3339 or an age (15m, 2h, 7d)", v);
        if (strcmp(a, "--until") == 0 && !parse_when(v, &o->req.until_us))
            return usage_error("--until: '%s' is not RFC 3339 or an age (15m, 2h, 7d)", v);
        if (strcmp(a, "--bucket") == 0 && !parse_bucket(v, &o->req.bucket_s))
            return usage_error("--bucket: '%s' is not a whole number of minutes (1m, 15m, 1h, "
                               "1d)",
                               v);
        if (strcmp(a, "--user") == 0)
            o->user = v;
    }
    if (o->req.since_us >= o->req.until_us)
        return usage_error("--since is not earlier than --until");
    int64_t span = o->req.until_us - o->req.since_us, w = o->req.bucket_s * 1000000LL;
    if ((span + w - 1) / w > ZT_AQ_MAX_BUCKETS)
        return usage_error("more than %d buckets: choose a wider --bucket", ZT_AQ_MAX_BUCKETS);
    return 0;
}

static const char *const kind_keys[ZT_AQK_COUNT] = {
    "detections_by_type", "report_only_would_block_by_policy", "decisions_by_app",
    "decisions_by_applicable_policy", "mfa_prompts_by_user_day"};

static json_t *stats_named_json(const zt_aq_stats *st, zt_aq_kind kind)
{
    json_t *o = json_object();
    for (size_t i = 0; i < st->n_named; i++) {
        const zt_aq_named *nm = &st->named[i];
        if (nm->kind != kind)
            continue;
        if (kind == ZT_AQK_APP_DECISION || kind == ZT_AQK_POLICY_DECISION) {
            json_t *per = json_object_get(o, nm->name);
            if (per == NULL)
                json_object_set_new(o, nm->name, per = json_object());
            json_object_set_new(per, zt_aq_counter_name((zt_aq_counter)nm->sub),
                                json_integer((json_int_t)nm->count));
        } else if (kind == ZT_AQK_USER_MFA_DAY) {
            char key[ZT_AQ_NAME_MAX + 32], day[40];
            zt_rfc3339((int64_t)nm->sub * 86400 * 1000000, day, sizeof(day));
            snprintf(key, sizeof(key), "%s %.10s", nm->name, day);
            json_object_set_new(o, key, json_integer((json_int_t)nm->count));
        } else {
            json_object_set_new(o, nm->name, json_integer((json_int_t)nm->count));
        }
    }
    return o;
}

static json_t *counters_json(const uint64_t *c)
{
    json_t *o = json_object();
    for (int k = 0; k < ZT_AQC_COUNT; k++)
        json_object_set_new(o, zt_aq_counter_name((zt_aq_counter)k),
                            json_integer((json_int_t)c[k]));
    return o;
}

static void stats_print_json(const stats_opts *o, const zt_aq_stats *st)
{
    char t[40];
    json_t *root = json_object(), *buckets = json_array();
    zt_rfc3339(o->req.since_us, t, sizeof(t));
    json_object_set_new(root, "since", json_string(t));
    zt_rfc3339(o->req.until_us, t, sizeof(t));
    json_object_set_new(root, "until", json_string(t));
    json_object_set_new(root, "bucket_s", json_integer(o->req.bucket_s));
    json_object_set_new(root, "totals", counters_json(st->total));
    for (size_t i = 0; i < st->n_buckets; i++) {
        json_t *b = counters_json(st->buckets[i].c);
        zt_rfc3339(st->buckets[i].start_us, t, sizeof(t));
        json_object_set_new(b, "start", json_string(t));
        json_array_append_new(buckets, b);
    }
    json_object_set_new(root, "buckets", buckets);
    for (int k = 0; k < ZT_AQK_COUNT; k++)
        json_object_set_new(root, kind_keys[k], stats_named_json(st, (zt_aq_kind)k));
    json_object_set_new(root, "mfa_user_days", json_integer((json_int_t)st->mfa_user_days));
    json_object_set_new(root, "mfa_prompts", json_integer((json_int_t)st->mfa_prompts));
    json_object_set_new(root, "mfa_max_per_user_day",
                        json_integer((json_int_t)st->mfa_max_per_user_day));
    json_object_set_new(root, "records_read", json_integer((json_int_t)st->records_seen));
    json_object_set_new(root, "elapsed_ms", json_integer((json_int_t)(st->elapsed_us / 1000)));
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    putchar('\n');
    json_decref(root);
}

/* "impossible_travel 2, malware 1" for one kind (names escaped for the terminal). */
static void stats_print_named(const zt_aq_stats *st, zt_aq_kind kind, const char *title)
{
    bool any = false;
    printf("%s:", title);
    for (size_t i = 0; i < st->n_named; i++) {
        const zt_aq_named *nm = &st->named[i];
        if (nm->kind != kind)
            continue;
        fputs(any ? ", " : " ", stdout);
        cell(nm->name, 0, true);
        if (kind == ZT_AQK_APP_DECISION || kind == ZT_AQK_POLICY_DECISION)
            printf(" %s", zt_aq_counter_name((zt_aq_counter)nm->sub));
        printf(" %llu", (unsigned long long)nm->count);
        any = true;
    }
    printf("%s\n", any ? "" : " none");
}

static void stats_print_text(const stats_opts *o, const zt_aq_stats *st)
{
    const uint64_t *c = st->total;
    printf("decisions: allow %llu, block %llu, challenge %llu, sign_in %llu, error %llu\n",
           (unsigned long long)c[ZT_AQC_ALLOW], (unsigned long long)c[ZT_AQC_BLOCK],
           (unsigned long long)c[ZT_AQC_CHALLENGE], (unsigned long long)c[ZT_AQC_SIGN_IN],
           (unsigned long long)c[ZT_AQC_ERROR]);
    printf("sign-ins: ok %llu, failed %llu\n", (unsigned long long)c[ZT_AQC_SIGNIN_OK],
           (unsigned long long)c[ZT_AQC_SIGNIN_FAIL]);
    printf("MFA prompts: ok %llu, failed %llu; per user per day: %.1f on average, %llu at most\n",
           (unsigned long long)c[ZT_AQC_MFA_OK], (unsigned long long)c[ZT_AQC_MFA_FAIL],
           st->mfa_user_days ? (double)st->mfa_prompts / (double)st->mfa_user_days : 0.0,
           (unsigned long long)st->mfa_max_per_user_day);
    printf("detections: %llu\n", (unsigned long long)c[ZT_AQC_DETECTIONS]);
    stats_print_named(st, ZT_AQK_DETECTION_TYPE, "detections by type");
    printf("responses: automated %llu, manual %llu\n", (unsigned long long)c[ZT_AQC_RESP_AUTO],
           (unsigned long long)c[ZT_AQC_RESP_MANUAL]);
    printf("report-only would have blocked: %llu\n", (unsigned long long)c[ZT_AQC_RO_WOULD_BLOCK]);
    stats_print_named(st, ZT_AQK_RO_BLOCK_POLICY, "report-only would have blocked, by policy");
    stats_print_named(st, ZT_AQK_APP_DECISION, "decisions by app");
    stats_print_named(st, ZT_AQK_POLICY_DECISION, "decisions by applicable policy");
    printf("%-20s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "BUCKET", "ALLOW", "BLOCK", "CHALLENGE",
           "SIGNIN_OK", "SIGNIN_NG", "MFA_OK", "MFA_NG", "DETECT", "RECORDS");
    for (size_t i = 0; i < st->n_buckets; i++) {
        const uint64_t *b = st->buckets[i].c;
        char t[40];
        zt_rfc3339(st->buckets[i].start_us, t, sizeof(t));
        printf("%-20.16s %9llu %9llu %9llu %9llu %9llu %9llu %9llu %9llu %9llu\n", t,
               (unsigned long long)b[ZT_AQC_ALLOW], (unsigned long long)b[ZT_AQC_BLOCK],
               (unsigned long long)b[ZT_AQC_CHALLENGE], (unsigned long long)b[ZT_AQC_SIGNIN_OK],
               (unsigned long long)b[ZT_AQC_SIGNIN_FAIL], (unsigned long long)b[ZT_AQC_MFA_OK],
               (unsigned long long)b[ZT_AQC_MFA_FAIL], (unsigned long long)b[ZT_AQC_DETECTIONS],
               (unsigned long long)b[ZT_AQC_RECORDS]);
    }
    (void)o;
}

static int audit_stats(int argc, char **argv)
{
    char *given[MAX_AUDIT_FILES];
    size_t n_given = 0;
    stats_opts o;
    if (has_flag(argc, argv, "--help") || has_flag(argc, argv, "-h")) {
        printf("usage: ztgate audit stats [--since T] [--until T] [--bucket W] [--user EMAIL|ID] "
               "[--json] [--verbose] [--config FILE] [FILES...]\n");
        return 0;
    }
    int rc = stats_args(argc, argv, &o, given, &n_given);
    audit_files af;
    rc = audit_files_open(rc, argc, argv, given, n_given, &af);
    if (rc != 0)
        return rc;
    char **files = af.files;
    size_t n = af.n;
    zt_aq_filter scope;
    const char *who[1] = {o.user};
    zt_aq_filter_init(&scope);
    scope.allowed_users = who;
    scope.n_allowed = 1;
    scope.allowed_any = true; /* the user's own figures: records naming them, whoever else */
    zt_aq_stats st;
    rc = zt_aq_stats_files((const char *const *)files, n, o.user ? &scope : NULL, &o.req, &st);
    int status = rc < 0 ? report_unreadable(files, n) : 0;
    if (rc >= 0 || rc == -ENOENT || rc == -EACCES) {
        if (o.json)
            stats_print_json(&o, &st);
        else
            stats_print_text(&o, &st);
        if (o.verbose)
            fprintf(stderr, "read %llu records in %llu ms\n", (unsigned long long)st.records_seen,
                    (unsigned long long)(st.elapsed_us / 1000));
    } else if (status == 0) {
        fprintf(stderr, "ztgate audit: %s\n", strerror(-rc));
        status = 1;
    }
    zt_aq_stats_dispose(&st);
    audit_files_close(&af);
    return status;
}

/* ---- tail [-f] ---- */

static volatile sig_atomic_t stop_following;

static void on_stop(int sig)
{
    (void)sig;
    stop_following = 1;
}

/* Bytes read from the followed file that do not end in a newline yet. */
typedef struct follow {
    const char *path;
    int fd;
    dev_t dev;
    ino_t ino;
    off_t pos;
    char *part;
    size_t part_len;
    bool skipping; /* a line over MAX_LINE: drop until its newline */
} follow;

static int follow_open(follow *fw)
{
    int fd = open(fw->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    fw->fd = fd;
    fw->dev = st.st_dev;
    fw->ino = st.st_ino;
    fw->pos = 0;
    fw->part_len = 0;
    fw->skipping = false;
    return 0;
}

/* Hand each complete line in buf to emit (ring or stdout). */
typedef void (*line_fn)(void *ctx, const char *line, size_t n);

static void feed(follow *fw, const char *buf, size_t n, line_fn fn, void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(buf, '\n', n);
        size_t take = nl ? (size_t)(nl - buf) + 1 : n;
        if (!fw->skipping && fw->part_len + take > MAX_LINE) {
            fprintf(stderr, "ztgate audit: %s: a line longer than %u bytes, skipped\n", fw->path,
                    MAX_LINE);
            fw->skipping = true;
            fw->part_len = 0;
        }
        if (!fw->skipping) {
            memcpy(fw->part + fw->part_len, buf, take);
            fw->part_len += take;
        }
        if (nl != NULL) {
            if (!fw->skipping)
                fn(ctx, fw->part, fw->part_len);
            fw->part_len = 0;
            fw->skipping = false;
        }
        buf += take;
        n -= take;
    }
}

/* Read what is there now. 0 at EOF, negative errno on a read error. */
static int drain(follow *fw, line_fn fn, void *ctx)
{
    char buf[65536];
    for (;;) {
        ssize_t r = read(fw->fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return 0;
        fw->pos += r;
        feed(fw, buf, (size_t)r, fn, ctx);
    }
}

/* The last n lines of the file as it is now, kept in a ring. */
typedef struct ring {
    char **lines;
    size_t *lens;
    size_t n, next, count;
} ring;

static void ring_add(void *ctx, const char *line, size_t n)
{
    ring *rg = ctx;
    char *copy = malloc(n);
    if (copy == NULL)
        return;
    memcpy(copy, line, n);
    free(rg->lines[rg->next]);
    rg->lines[rg->next] = copy;
    rg->lens[rg->next] = n;
    rg->next = (rg->next + 1) % rg->n;
    if (rg->count < rg->n)
        rg->count++;
}

static void print_line(void *ctx, const char *line, size_t n)
{
    (void)ctx;
    fwrite(line, 1, n, stdout);
}

/* Has path been renamed, replaced or truncated since we opened it? */
static bool rotated_away(const follow *fw)
{
    struct stat st;
    if (stat(fw->path, &st) != 0)
        return errno == ENOENT;
    return st.st_dev != fw->dev || st.st_ino != fw->ino || st.st_size < fw->pos;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal cuts it short: the loop then sees stop_following */
}

static int tail_follow(const char *path, size_t n)
{
    follow fw = {.path = path, .fd = -1, .part = malloc(MAX_LINE)};
    ring rg = {.lines = calloc(n, sizeof(char *)), .lens = calloc(n, sizeof(size_t)), .n = n};
    int rc = fw.part && rg.lines && rg.lens ? follow_open(&fw) : -ENOMEM;
    if (rc == 0)
        rc = drain(&fw, ring_add, &rg);
    for (size_t i = 0; i < rg.count; i++) {
        size_t at = (rg.next + rg.n - rg.count + i) % rg.n;
        fwrite(rg.lines[at], 1, rg.lens[at], stdout);
    }
    for (size_t i = 0; rg.lines != NULL && i < n; i++)
        free(rg.lines[i]);
    free(rg.lines);
    free(rg.lens);
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: sleeps end at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (rc == 0 && !stop_following) {
        rc = drain(&fw, print_line, NULL);
        fflush(stdout);
        if (rc == 0 && rotated_away(&fw)) {
            /* The writer finished the old file with a checkpoint line before renaming it, and
             * the drain above read it: open the new file from its start. */
            rc = drain(&fw, print_line, NULL);
            fflush(stdout);
            if (access(path, F_OK) == 0) {
                close(fw.fd);
                fw.fd = -1;
                rc = follow_open(&fw);
                if (rc == -ENOENT) /* gone again between the check and the open: retry */
                    rc = 0;
            }
        }
        if (rc == 0 && !stop_following)
            sleep_ms(FOLLOW_POLL_MS);
        if (rc == 0 && fw.fd < 0)
            rc = access(path, F_OK) == 0 ? follow_open(&fw) : 0;
    }
    if (fw.fd >= 0)
        close(fw.fd);
    free(fw.part);
    if (rc < 0)
        fprintf(stderr, "ztgate audit: %s: %s\n", path, strerror(-rc));
    return rc < 0 ? 1 : 0;
}

static int audit_tail(int argc, char **argv)
{
    const char *nstr = NULL, *file = NULL;
    bool follow_flag = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--follow") == 0) {
            follow_flag = true;
        } else if (strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", argv[i]);
            if (strcmp(argv[i], "-n") == 0)
                nstr = argv[i + 1];
            i++;
        } else if (argv[i][0] == '-') {
            return usage_error("unknown option %s", argv[i]);
        } else if (file == NULL) {
            file = argv[i];
        } else {
            return usage_error("tail takes one file (%s is extra)", argv[i]);
        }
    }
    unsigned long long count = 20;
    if (nstr != NULL && !zt_parse_u64(nstr, strlen(nstr), MAX_TAIL_N, &count))
        return usage_error("-n wants a number of records (0..1000000), not '%s'", nstr);
    zt_config *cfg = NULL;
    if (file == NULL) {
        cfg = load_cfg(argc, argv);
        if (cfg == NULL)
            return 2;
        file = cfg->audit.path;
    }
    int rc;
    if (follow_flag) {
        rc = tail_follow(file, count > 0 ? (size_t)count : 1) == 0 ? 0 : -EIO;
    } else {
        rc = count > 0 ? zt_audit_tail(file, (size_t)count, stdout) : 0;
        if (rc < 0)
            fprintf(stderr, "ztgate audit: %s: %s\n", file, strerror(-rc));
    }
    zt_config_free(cfg);
    return rc < 0 ? 1 : 0;
}

int zt_cmd_audit(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return audit_verify(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "search") == 0)
        return audit_search(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "tail") == 0)
        return audit_tail(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "stats") == 0)
        return audit_stats(argc - 1, argv + 1);
    fprintf(stderr,
            "usage: ztgate audit verify [FILES...] [--pubkey FILE] [--sealed] "
            "[--from-genesis] [--config FILE]\n"
            "       ztgate audit search [--user EMAIL|ID] [--device ID] [--ip IP|CIDR] "
            "[--since T] [--until T]\n"
            "                           [--type CLASS] [--decision D] [--ref ID] "
            "[--app NAME] [--policy NAME] [--text WORDS]\n"
            "                           [--newest-first] [--limit N] [--cursor SEQ] "
            "[--json] [--verbose] [--config FILE] [FILES...]\n"
            "       ztgate audit stats [--since T] [--until T] [--bucket W] "
            "[--user EMAIL|ID] [--json] [--verbose] [--config FILE] [FILES...]\n"
            "       ztgate audit tail [-n N] [-f] [--config FILE] [FILE]\n"
            "Without FILES, verify, search and stats read the configured log with its rotated "
            "files, oldest first; verify checks them against <signing_key>.pub.\n"
            "T is RFC 3339 or an age (15m, 2h, 7d). tail -f follows the log across "
            "rotations until SIGINT/SIGTERM.\n");
    return 2;
}
