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
#include "cli/cmd_identity.h"
#include "cli/commands.h"
#include "core/config.h"
#include "lib/net.h"
#include "lib/str.h"
#include "lib/time.h"

#define MAX_AUDIT_FILES 4096

typedef struct rotated {
    unsigned long long first_seq;
    char *path;
} rotated;

static int by_first_seq(const void *a, const void *b)
{
    const rotated *x = a, *y = b;
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/* The chain in order: audit.log.<first seq> files by that seq, then the live audit.log. */
static size_t collect_log_files(const char *live, char **out, size_t cap)
{
    char dir[4096], base[256];
    const char *slash = strrchr(live, '/');
    size_t dn = slash ? (size_t)(slash - live) : 1;
    if (dn >= sizeof(dir) || strlen(slash ? slash + 1 : live) >= sizeof(base))
        return 0;
    memcpy(dir, slash ? live : ".", dn);
    dir[dn] = '\0';
    snprintf(base, sizeof(base), "%s.", slash ? slash + 1 : live);
    rotated *rot = calloc(cap, sizeof(*rot));
    size_t n = 0;
    DIR *d = rot ? opendir(dir) : NULL;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL && n + 1 < cap) {
        size_t bn = strlen(base);
        if (strncmp(e->d_name, base, bn) != 0)
            continue;
        unsigned long long seq;
        const char *num = e->d_name + bn;
        if (!zt_parse_u64(num, strlen(num), UINT64_MAX, &seq))
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        rot[n].path = malloc(len);
        if (rot[n].path == NULL)
            break;
        snprintf(rot[n].path, len, "%s/%s", dir, e->d_name);
        rot[n].first_seq = seq;
        n++;
    }
    if (d != NULL)
        closedir(d);
    if (rot != NULL)
        qsort(rot, n, sizeof(*rot), by_first_seq);
    for (size_t i = 0; i < n; i++)
        out[i] = rot[i].path;
    free(rot);
    out[n++] = strdup(live);
    return n;
}

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
    char *files[MAX_AUDIT_FILES];
    size_t n = 0;
    for (int i = 1; i < argc && n < MAX_AUDIT_FILES; i++) {
        if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--pubkey") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] != '-')
            files[n++] = strdup(argv[i]);
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
        if (n == 0)
            n = collect_log_files(cfg->audit.path, files, MAX_AUDIT_FILES);
        if (pub == NULL) {
            snprintf(pubbuf, sizeof(pubbuf), "%s.pub", cfg->audit.signing_key_file);
            pub = pubbuf;
        }
    }
    unsigned flags = has_flag(argc, argv, "--sealed") ? ZT_AUDIT_VERIFY_SEALED : 0;
    if (has_flag(argc, argv, "--from-genesis"))
        flags |= ZT_AUDIT_VERIFY_FROM_GENESIS;
    int rc = zt_audit_verify((const char *const *)files, n, pub, flags, stdout);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
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

/* The value of a string member at a dotted path ("actor.user.uid"), or NULL. */
static const char *jstr(json_t *o, const char *path)
{
    const char *p = path;
    while (o != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        o = json_is_object(o) ? json_object_getn(o, p, n) : NULL;
        p += n + (dot != NULL);
    }
    return json_is_string(o) ? json_string_value(o) : NULL;
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
    const char *user;
    const char *device;
    bool have_ip;
    zt_cidr ip;
    int64_t since_us, until_us;
    long class_uid; /* 0 = any */
    const char *decision;
    const char *ref; /* request id shown on a page (metadata.uid or metadata.correlation_uid) */
    bool json;
} search_opts;

static const char *const decisions[] = {"allow", "block", "challenge", "sign_in", "error"};

static bool decision_ok(const char *d)
{
    const char *base = strncmp(d, "report_only_", 12) == 0 ? d + 12 : d;
    for (size_t i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++)
        if (strcmp(base, decisions[i]) == 0)
            return true;
    return false;
}

static bool user_matches(json_t *rec, const char *want)
{
    static const char *const emails[] = {"user.email_addr", "actor.user.email_addr"};
    static const char *const ids[] = {"user.uid", "actor.user.uid", "user.name"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = jstr(rec, emails[i]);
        if (v != NULL && strcasecmp(v, want) == 0) /* the store ignores ASCII case too */
            return true;
    }
    for (size_t i = 0; i < 3; i++) {
        const char *v = jstr(rec, ids[i]);
        if (v != NULL && strcmp(v, want) == 0)
            return true;
    }
    return false;
}

static bool ip_matches(json_t *rec, const zt_cidr *c)
{
    const char *ip = jstr(rec, "src_endpoint.ip");
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (ip == NULL)
        return false;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1)
        v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1)
        v6->sin6_family = AF_INET6;
    else
        return false;
    return zt_cidr_contains(c, (struct sockaddr *)&ss);
}

static bool decision_matches(json_t *rec, const char *want)
{
    if (strncmp(want, "report_only_", 12) == 0) {
        const char *v = jstr(rec, "report_only.decision");
        return v != NULL && strcmp(v, want + 12) == 0;
    }
    const char *v = jstr(rec, "decision");
    return v != NULL && strcmp(v, want) == 0;
}

/* The reference a page shows is the request id: the record of that request carries it as
 * metadata.uid; records a request caused later (a detection, an incident) as correlation_uid. */
static bool ref_matches(json_t *rec, const char *want)
{
    const char *uid = jstr(rec, "metadata.uid");
    const char *corr = jstr(rec, "metadata.correlation_uid");
    return (uid != NULL && strcmp(uid, want) == 0) || (corr != NULL && strcmp(corr, want) == 0);
}

static bool record_matches(json_t *rec, const search_opts *o)
{
    if (o->class_uid != 0 && json_integer_value(json_object_get(rec, "class_uid")) != o->class_uid)
        return false;
    if (o->since_us != INT64_MIN || o->until_us != INT64_MAX) {
        const char *t = jstr(rec, "time");
        int64_t us;
        if (t == NULL || !zt_parse_rfc3339(t, strlen(t), 0, &us) || us < o->since_us ||
            us > o->until_us)
            return false;
    }
    if (o->user != NULL && !user_matches(rec, o->user))
        return false;
    if (o->device != NULL) {
        const char *d = jstr(rec, "device.uid");
        if (d == NULL || strcmp(d, o->device) != 0)
            return false;
    }
    if (o->have_ip && !ip_matches(rec, &o->ip))
        return false;
    if (o->ref != NULL && !ref_matches(rec, o->ref))
        return false;
    return o->decision == NULL || decision_matches(rec, o->decision);
}

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

static void print_row(json_t *rec)
{
    char cls[24], outcome[40], msg[512];
    long uid = (long)json_integer_value(json_object_get(rec, "class_uid"));
    const char *cname = class_name(uid);
    snprintf(cls, sizeof(cls), "%s", cname ? cname : "");
    if (cname == NULL)
        snprintf(cls, sizeof(cls), "%ld", uid);
    const char *user = jstr(rec, "user.email_addr");
    if (user == NULL)
        user = jstr(rec, "actor.user.email_addr");
    if (user == NULL)
        user = jstr(rec, "user.uid");
    if (user == NULL)
        user = jstr(rec, "actor.user.name");
    const char *decision = jstr(rec, "decision");
    const char *status = jstr(rec, "status");
    json_t *code = json_object_get(rec, "http_response");
    code = code ? json_object_get(code, "code") : NULL;
    if (decision != NULL)
        snprintf(outcome, sizeof(outcome), "%s", decision);
    else if (code != NULL)
        snprintf(outcome, sizeof(outcome), "%s %lld", status ? status : "",
                 (long long)json_integer_value(code));
    else
        snprintf(outcome, sizeof(outcome), "%s", status ? status : "");
    const char *message = jstr(rec, "message");
    const char *why = jstr(rec, "reasons");
    if (why == NULL)
        why = jstr(rec, "status_detail");
    snprintf(msg, sizeof(msg), "%s%s%s%s", message ? message : "", why ? " (" : "", why ? why : "",
             why ? ")" : "");
    const char *ip = jstr(rec, "src_endpoint.ip");
    const char *rid = jstr(rec, "metadata.uid");
    cell(jstr(rec, "time"), COL_TIME, false);
    cell(cls, COL_CLASS, false);
    cell(user ? user : "-", COL_USER, false);
    cell(ip ? ip : "-", COL_IP, false);
    cell(outcome, COL_OUTCOME, false);
    cell(msg, COL_MESSAGE, false);
    cell(rid ? rid : "-", 0, true);
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

/* Stream one file; malformed lines are reported and skipped. Negative errno when it cannot be
 * opened, else the number of matches. */
static long search_file(const char *path, const search_opts *o)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long long lineno = 0;
    long matches = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        size_t len = (size_t)n;
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0)
            continue;
        json_t *rec = len <= MAX_LINE ? json_loadb(line, len, 0, NULL) : NULL;
        if (!json_is_object(rec)) {
            fprintf(stderr, "ztgate audit: %s:%llu: not a JSON record, skipped\n", path, lineno);
            json_decref(rec);
            continue;
        }
        const char *type = jstr(rec, "type");
        if ((type == NULL || strcmp(type, "checkpoint") != 0) && record_matches(rec, o)) {
            matches++;
            if (o->json)
                printf("%s\n", line);
            else
                print_row(rec);
        }
        json_decref(rec);
    }
    free(line);
    fclose(f);
    return matches;
}

static const char *const search_value_flags[] = {"--user",     "--device", "--ip",
                                                 "--since",    "--until",  "--type",
                                                 "--decision", "--ref",    "--config"};

static bool takes_value(const char *a)
{
    for (size_t i = 0; i < sizeof(search_value_flags) / sizeof(search_value_flags[0]); i++)
        if (strcmp(a, search_value_flags[i]) == 0)
            return true;
    return false;
}

/* Fill o from the flags; files collects the positional arguments. 0 or 2 (message printed). */
static int search_args(int argc, char **argv, search_opts *o, char **files, size_t *n)
{
    *o = (search_opts){.since_us = INT64_MIN, .until_us = INT64_MAX};
    *n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
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
        if (strcmp(a, "--user") == 0)
            o->user = v;
        else if (strcmp(a, "--ref") == 0)
            o->ref = v;
        else if (strcmp(a, "--device") == 0)
            o->device = v;
        else if (strcmp(a, "--decision") == 0 && !decision_ok(v))
            return usage_error("--decision: unknown decision '%s' (allow, block, challenge, "
                               "sign_in, error, or report_only_ and one of them)",
                               v);
        else if (strcmp(a, "--decision") == 0)
            o->decision = v;
        else if (strcmp(a, "--ip") == 0 && !(o->have_ip = zt_cidr_parse(v, &o->ip)))
            return usage_error("--ip: '%s' is not an IP address or CIDR block (host bits zero)", v);
        else if (strcmp(a, "--since") == 0 && !parse_when(v, &o->since_us))
            return usage_error("--since: '%s' is not RFC 3339 (2026-11-23T09:00:00Z) or an "
                               "age (15m, 2h, 7d)",
                               v);
        else if (strcmp(a, "--until") == 0 && !parse_when(v, &o->until_us))
            return usage_error("--until: '%s' is not RFC 3339 (2026-11-23T09:00:00Z) or an "
                               "age (15m, 2h, 7d)",
                               v);
        else if (strcmp(a, "--type") == 0 && !parse_class(v, &o->class_uid))
            return usage_error(
                "--type: unknown class '%s' (authentication, authorize_session, "
                "account_change, http_activity, network_activity, detection_finding, "
                "compliance_finding, or a class_uid)",
                v);
    }
    if (o->since_us > o->until_us)
        return usage_error("--since is later than --until");
    return 0;
}

static int audit_search(int argc, char **argv)
{
    char *given[MAX_AUDIT_FILES], *found[MAX_AUDIT_FILES];
    size_t n_given = 0, n_found = 0;
    search_opts o;
    if (has_flag(argc, argv, "--help") || has_flag(argc, argv, "-h")) {
        printf("usage: ztgate audit search [--user EMAIL|ID] [--device ID] [--ip IP|CIDR] "
               "[--since T] [--until T] [--type CLASS] [--decision D] [--ref ID] "
               "[--json] [--config FILE] [FILES...]\n");
        return 0;
    }
    int rc = search_args(argc, argv, &o, given, &n_given);
    if (rc != 0)
        return rc;
    zt_config *cfg = NULL;
    char **files = given;
    if (n_given == 0) {
        cfg = load_cfg(argc, argv);
        if (cfg == NULL)
            return usage_error("give the log files, or a valid --config");
        if (strcmp(cfg->audit.path, "off") == 0) {
            zt_config_free(cfg);
            return usage_error("the audit log is off in this configuration");
        }
        n_found = collect_log_files(cfg->audit.path, found, MAX_AUDIT_FILES);
        files = found;
    }
    size_t n = n_given > 0 ? n_given : n_found;
    int status = 0;
    long total = 0;
    if (!o.json)
        print_header();
    for (size_t i = 0; i < n; i++) {
        long m = search_file(files[i], &o);
        if (m < 0) {
            fprintf(stderr, "ztgate audit: %s: %s\n", files[i], strerror((int)-m));
            status = 1;
        } else {
            total += m;
        }
    }
    if (!o.json)
        fprintf(stderr, "%ld record%s\n", total, total == 1 ? "" : "s");
    if (o.ref != NULL && total == 0)
        fprintf(stderr,
                "ztgate audit: no record has the reference %s; a request refused before "
                "any decision (malformed: 400, 413, 414, 431) is only in the access log, "
                "as its request_id\n",
                o.ref);
    for (size_t i = 0; i < n_found; i++)
        free(found[i]);
    zt_config_free(cfg);
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
    fprintf(stderr, "usage: ztgate audit verify [FILES...] [--pubkey FILE] [--sealed] "
                    "[--from-genesis] [--config FILE]\n"
                    "       ztgate audit search [--user EMAIL|ID] [--device ID] [--ip IP|CIDR] "
                    "[--since T] [--until T]\n"
                    "                           [--type CLASS] [--decision D] [--ref ID] "
                    "[--json] [--config FILE] [FILES...]\n"
                    "       ztgate audit tail [-n N] [-f] [--config FILE] [FILE]\n"
                    "Without FILES, verify and search read the configured log with its rotated "
                    "files, oldest first; verify checks them against <signing_key>.pub.\n"
                    "T is RFC 3339 or an age (15m, 2h, 7d). tail -f follows the log across "
                    "rotations until SIGINT/SIGTERM.\n");
    return 2;
}
