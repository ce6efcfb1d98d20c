/* Threat-intelligence feed snapshots: parse list files into per-file data shared between
 * snapshots, merge them into CIDR sets, and hold the GeoIP databases open. Never touches the
 * network and never logs: problems go to the caller's report buffer. */
#include "risk/feeds.h"

#include <errno.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "risk/cidr.h"

#define MAX_USER 254 /* longest e-mail address (RFC 5321 path limit) */

enum feed_kind { KIND_LIST, KIND_LEAKED };

typedef struct leaked_pair {
    uint64_t user_hash; /* SipHash of the lower-cased user, keyed per file */
    unsigned char sha1[20];
} leaked_pair;

struct zt_feed_data {
    atomic_int refs;
    enum feed_kind kind;
    size_t bad_lines;
    zt_cidr *cidrs;
    size_t n_cidrs, cap_cidrs;
    leaked_pair *pairs;
    size_t n_pairs, cap_pairs;
    unsigned char key[crypto_shorthash_KEYBYTES];
};

/* What stat() said about a path when a snapshot was loaded: zt_feeds_changed compares it. */
typedef struct file_id {
    bool present;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

typedef struct geo_db {
    atomic_int refs;
    MMDB_s mmdb;
} geo_db;

/* One configured file in a snapshot. data/geo may be borrowed from an older snapshot. */
typedef struct slot {
    char *path; /* NULL: not configured */
    char *source;
    file_id seen;
    zt_feed_data *data;
    geo_db *geo;
} slot;

struct zt_feeds {
    slot city, asn, leaked;
    slot *anon, *mal;
    size_t n_anon, n_mal;
    zt_cidrset *anon_set, *mal_set;
};

/* ---- per-file data ---------------------------------------------------------------------- */

static zt_feed_data *data_new(enum feed_kind kind)
{
    zt_feed_data *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    atomic_init(&d->refs, 1);
    d->kind = kind;
    return d;
}

static zt_feed_data *data_ref(zt_feed_data *d)
{
    if (d != NULL)
        atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
    return d;
}

void zt_feed_data_unref(zt_feed_data *d)
{
    if (d == NULL || atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(d->cidrs);
    if (d->pairs != NULL)
        sodium_memzero(d->pairs, d->n_pairs * sizeof(*d->pairs));
    free(d->pairs);
    sodium_memzero(d->key, sizeof(d->key));
    free(d);
}

size_t zt_feed_data_count(const zt_feed_data *d)
{
    if (d == NULL)
        return 0;
    return d->kind == KIND_LIST ? d->n_cidrs : d->n_pairs;
}

size_t zt_feed_data_bad_lines(const zt_feed_data *d)
{
    return d != NULL ? d->bad_lines : 0;
}

/* ---- line splitting and reports --------------------------------------------------------- */

typedef struct parse_ctx {
    const char *name;
    zt_buf *report;
    zt_feed_data *d;
    size_t lineno;
    char reason[96];
} parse_ctx;

/* A line handler: 0 kept or skipped, 1 bad (ctx->reason says why), -ENOMEM. */
typedef int (*line_fn)(parse_ctx *c, const char *p, size_t n);

static void report_bad(parse_ctx *c)
{
    c->d->bad_lines++;
    if (c->report == NULL)
        return;
    /* A report that hits its buffer limit is simply cut short: the parse goes on. */
    if (c->d->bad_lines <= ZT_FEEDS_MAX_REPORTED)
        (void)zt_buf_printf(c->report, "%s:%zu: %s\n", c->name, c->lineno, c->reason);
}

static int bad(parse_ctx *c, const char *reason)
{
    snprintf(c->reason, sizeof(c->reason), "%s", reason);
    return 1;
}

static int parse_lines(parse_ctx *c, const char *data, size_t n, line_fn fn)
{
    size_t off = 0;
    while (off < n) {
        const char *p = data + off;
        const char *nl = memchr(p, '\n', n - off);
        size_t len = nl != NULL ? (size_t)(nl - p) : n - off;
        off += len + (nl != NULL);
        c->lineno++;
        int rc = len > ZT_FEEDS_MAX_LINE ? bad(c, "line longer than 1024 bytes") : fn(c, p, len);
        if (rc < 0)
            return rc;
        if (rc > 0)
            report_bad(c);
    }
    if (c->report != NULL && c->d->bad_lines > ZT_FEEDS_MAX_REPORTED)
        (void)zt_buf_printf(c->report, "%s: %zu more bad lines not shown\n", c->name,
                            c->d->bad_lines - ZT_FEEDS_MAX_REPORTED);
    return 0;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static zt_span trim(const char *p, size_t n)
{
    while (n > 0 && is_space(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_space(p[n - 1]))
        n--;
    return (zt_span){p, n};
}

/* Split on blanks into at most max tokens; returns the count, or max + 1 when there are more. */
static size_t split(zt_span s, zt_span *tok, size_t max)
{
    size_t k = 0, i = 0;
    while (i < s.n) {
        while (i < s.n && is_space(s.p[i]))
            i++;
        if (i == s.n)
            break;
        size_t start = i;
        while (i < s.n && !is_space(s.p[i]))
            i++;
        if (k == max)
            return max + 1;
        tok[k++] = (zt_span){s.p + start, i - start};
    }
    return k;
}

/* ---- IP lists (Tor exit lists and plain IP/CIDR lists) ---------------------------------- */

static int add_cidr(parse_ctx *c, const zt_cidr *cidr)
{
    zt_feed_data *d = c->d;
    if (d->n_cidrs >= ZT_FEEDS_MAX_ENTRIES)
        return bad(c, "too many entries in one file");
    if (d->n_cidrs == d->cap_cidrs &&
        zt_array_grow(&d->cidrs, &d->cap_cidrs, sizeof(*d->cidrs), 64) < 0)
        return -ENOMEM;
    d->cidrs[d->n_cidrs++] = *cidr;
    return 0;
}

/* "DDDD-DD-DD" or "DD:DD:DD" shapes: sep is '-' or ':' and digit groups as in the pattern. */
static bool shaped(zt_span t, const char *pattern)
{
    size_t len = strlen(pattern);
    if (t.n != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (pattern[i] == 'D' ? (t.p[i] < '0' || t.p[i] > '9') : t.p[i] != pattern[i])
            return false;
    }
    return true;
}

static bool span_is(zt_span t, const char *word)
{
    return t.n == strlen(word) && memcmp(t.p, word, t.n) == 0;
}

/* "ExitAddress 1.2.3.4 2026-11-01 12:00:00": only the address matters, the rest is checked
 * so a garbled file is noticed. */
static int exit_address(parse_ctx *c, const zt_span *tok, size_t ntok)
{
    if (ntok < 2)
        return bad(c, "ExitAddress: missing address");
    if (memchr(tok[1].p, '/', tok[1].n) != NULL)
        return bad(c, "ExitAddress: expected a single address, not a block");
    zt_cidr cidr;
    const char *why = zt_cidr_parse_n(tok[1].p, tok[1].n, &cidr);
    if (why != NULL) {
        snprintf(c->reason, sizeof(c->reason), "ExitAddress: %s", why);
        return 1;
    }
    if (ntok != 4)
        return bad(c, "ExitAddress: expected ADDRESS DATE TIME");
    if (!shaped(tok[2], "DDDD-DD-DD") || !shaped(tok[3], "DD:DD:DD"))
        return bad(c, "ExitAddress: bad date or time");
    return add_cidr(c, &cidr);
}

static int list_line(parse_ctx *c, const char *p, size_t n)
{
    const char *hash = memchr(p, '#', n);
    zt_span s = trim(p, hash != NULL ? (size_t)(hash - p) : n);
    if (s.n == 0)
        return 0;
    zt_span tok[5];
    size_t ntok = split(s, tok, 4);
    if (span_is(tok[0], "ExitAddress"))
        return exit_address(c, tok, ntok);
    /* The other keywords of the Tor exit list carry nothing we use. */
    if (span_is(tok[0], "ExitNode") || span_is(tok[0], "Published") ||
        span_is(tok[0], "LastStatus"))
        return ntok >= 2 ? 0 : bad(c, "Tor exit list keyword without a value");
    if (ntok > 1)
        return bad(c, "expected one IP address or CIDR block per line");
    zt_cidr cidr;
    const char *why = zt_cidr_parse_n(tok[0].p, tok[0].n, &cidr);
    if (why != NULL)
        return bad(c, why);
    return add_cidr(c, &cidr);
}

zt_feed_data *zt_feeds_parse_list_mem(const char *name, const void *data, size_t n, zt_buf *report)
{
    parse_ctx c = {.name = name, .report = report, .d = data_new(KIND_LIST)};
    if (c.d == NULL)
        return NULL;
    if (parse_lines(&c, data, n, list_line) < 0) {
        zt_feed_data_unref(c.d);
        return NULL;
    }
    return c.d;
}

bool zt_feed_data_has_ip(const zt_feed_data *d, const struct sockaddr *ip)
{
    if (d == NULL || d->kind != KIND_LIST)
        return false;
    for (size_t i = 0; i < d->n_cidrs; i++)
        if (zt_cidr_contains(&d->cidrs[i], ip))
            return true;
    return false;
}

/* ---- leaked pairs ----------------------------------------------------------------------- */

/* Lower-cased (ASCII) user into buf; false when empty, too long or with blanks/controls. */
static bool fold_user(const char *p, size_t n, char buf[MAX_USER])
{
    if (n == 0 || n > MAX_USER)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch <= ' ' || ch == 0x7f)
            return false;
        buf[i] = zt_ascii_lower((char)ch);
    }
    return true;
}

static uint64_t user_hash(const zt_feed_data *d, const char *folded, size_t n)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h = 0;
    crypto_shorthash(out, (const unsigned char *)folded, n, d->key);
    for (size_t i = 0; i < sizeof(out) && i < 8; i++)
        h = h << 8 | out[i];
    return h;
}

static int leaked_line(parse_ctx *c, const char *p, size_t n)
{
    zt_span s = trim(p, n);
    if (s.n == 0 || s.p[0] == '#')
        return 0;
    /* The hash never contains ':', a user might: split at the last one. */
    const char *colon = NULL;
    for (size_t i = s.n; i > 0; i--)
        if (s.p[i - 1] == ':') {
            colon = s.p + i - 1;
            break;
        }
    if (colon == NULL)
        return bad(c, "expected USER:SHA1HEX");
    size_t ulen = (size_t)(colon - s.p);
    zt_span hex = {colon + 1, s.n - ulen - 1};
    if (ulen == 0)
        return bad(c, "empty user");
    if (ulen > MAX_USER)
        return bad(c, "user longer than 254 bytes");
    char folded[MAX_USER];
    if (!fold_user(s.p, ulen, folded))
        return bad(c, "user contains blanks or control characters");
    leaked_pair pair;
    if (!zt_hex_decode(hex.p, hex.n, pair.sha1, sizeof(pair.sha1), false))
        return bad(c, "SHA-1 is not 40 hex digits");
    zt_feed_data *d = c->d;
    if (d->n_pairs >= ZT_FEEDS_MAX_ENTRIES)
        return bad(c, "too many entries in one file");
    if (d->n_pairs == d->cap_pairs &&
        zt_array_grow(&d->pairs, &d->cap_pairs, sizeof(*d->pairs), 64) < 0)
        return -ENOMEM;
    pair.user_hash = user_hash(d, folded, ulen);
    d->pairs[d->n_pairs++] = pair;
    return 0;
}

static int cmp_pair(const void *pa, const void *pb)
{
    const leaked_pair *a = pa, *b = pb;
    if (a->user_hash != b->user_hash)
        return a->user_hash < b->user_hash ? -1 : 1;
    return memcmp(a->sha1, b->sha1, 20);
}

zt_feed_data *zt_feeds_parse_leaked_mem(const char *name, const void *data, size_t n,
                                        zt_buf *report)
{
    if (sodium_init() < 0)
        return NULL;
    parse_ctx c = {.name = name, .report = report, .d = data_new(KIND_LEAKED)};
    if (c.d == NULL)
        return NULL;
    /* A per-file random key: nobody can aim crafted users at a chosen slot of the table. */
    crypto_shorthash_keygen(c.d->key);
    if (parse_lines(&c, data, n, leaked_line) < 0) {
        zt_feed_data_unref(c.d);
        return NULL;
    }
    zt_feed_data *d = c.d;
    if (d->n_pairs > 1) {
        qsort(d->pairs, d->n_pairs, sizeof(*d->pairs), cmp_pair);
        size_t w = 1;
        for (size_t i = 1; i < d->n_pairs; i++)
            if (cmp_pair(&d->pairs[i], &d->pairs[w - 1]) != 0)
                d->pairs[w++] = d->pairs[i];
        d->n_pairs = w;
    }
    return d;
}

bool zt_feed_data_has_pair(const zt_feed_data *d, const char *user_email,
                           const unsigned char sha1[20])
{
    if (d == NULL || d->kind != KIND_LEAKED || user_email == NULL || sha1 == NULL)
        return false;
    char folded[MAX_USER];
    size_t n = strnlen(user_email, MAX_USER + 1);
    if (!fold_user(user_email, n, folded))
        return false;
    uint64_t h = user_hash(d, folded, n);
    size_t lo = 0, hi = d->n_pairs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->pairs[mid].user_hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Every pair of this user is compared, in constant time, so the time taken does not say
     * which of the user's leaked passwords was close. */
    bool hit = false;
    for (size_t i = lo; i < d->n_pairs && d->pairs[i].user_hash == h; i++)
        hit |= sodium_memcmp(d->pairs[i].sha1, sha1, 20) == 0;
    return hit;
}

/* ---- files ------------------------------------------------------------------------------ */

static void id_from_stat(file_id *id, const struct stat *st)
{
    id->present = true;
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
}

static void id_of_path(file_id *id, const char *path)
{
    struct stat st;
    memset(id, 0, sizeof(*id));
    if (stat(path, &st) == 0)
        id_from_stat(id, &st);
}

static bool id_equal(const file_id *a, const file_id *b)
{
    if (a->present != b->present)
        return false;
    return !a->present ||
           (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
            a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec);
}

/* Whole file into *out (caller frees); 0 or a positive errno. id is what was read. */
static int read_file(const char *path, char **out, size_t *len, file_id *id)
{
    int rc = 0;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = errno;
        goto out;
    }
    id_from_stat(id, &st);
    if (!S_ISREG(st.st_mode)) {
        rc = EISDIR;
        goto out;
    }
    if ((unsigned long long)st.st_size > ZT_FEEDS_MAX_FILE_BYTES) {
        rc = EFBIG;
        goto out;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    buf = malloc(cap);
    if (buf == NULL) {
        rc = ENOMEM;
        goto out;
    }
    for (;;) {
        if (n == cap) { /* grew while we read: stop at the size we planned for */
            rc = EAGAIN;
            goto out;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = errno;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

static const slot *find_prev(const slot *list, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].path != NULL && strcmp(list[i].path, path) == 0)
            return &list[i];
    return NULL;
}

static int set_names(slot *s, const char *path, const char *source)
{
    s->path = strdup(path);
    s->source = source != NULL ? strdup(source) : NULL;
    return s->path == NULL || (source != NULL && s->source == NULL) ? -ENOMEM : 0;
}

/* Load one list or leaked-pairs file into s; on a read failure borrow prev's data. */
static int load_data_slot(slot *s, enum feed_kind kind, const zt_feed_file *file, const slot *prev,
                          zt_buf *report)
{
    if (set_names(s, file->path, file->source) < 0)
        return -ENOMEM;
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(file->path, &buf, &len, &s->seen);
    if (rc == ENOMEM)
        return -ENOMEM;
    if (rc != 0) {
        if (!s->seen.present)
            id_of_path(&s->seen, file->path);
        s->data = prev != NULL ? data_ref(prev->data) : NULL;
        if (report == NULL)
            return 0;
        if (s->data != NULL)
            (void)zt_buf_printf(report,
                                "%s: cannot read: %s \u2014 keeping the previous data (%zu "
                                "entries)\n",
                                file->path, strerror(rc), zt_feed_data_count(s->data));
        else
            (void)zt_buf_printf(report, "%s: cannot read: %s \u2014 no previous data\n", file->path,
                                strerror(rc));
        return 0;
    }
    s->data = kind == KIND_LIST ? zt_feeds_parse_list_mem(file->path, buf, len, report)
                                : zt_feeds_parse_leaked_mem(file->path, buf, len, report);
    free(buf);
    return s->data != NULL ? 0 : -ENOMEM;
}

static geo_db *geo_ref(geo_db *g)
{
    if (g != NULL)
        atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

static void geo_unref(geo_db *g)
{
    if (g == NULL || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    MMDB_close(&g->mmdb);
    free(g);
}

/* Open one mmdb; unreadable → borrow prev's, not an mmdb → fatal (-EINVAL, err set). */
static int load_geo_slot(slot *s, const char *path, const slot *prev, zt_buf *report, char *err,
                         size_t errlen)
{
    if (set_names(s, path, NULL) < 0)
        return -ENOMEM;
    /* Our own open first, for a real errno and the identity of what we map. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0)
        id_from_stat(&s->seen, &st);
    int rc = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        id_of_path(&s->seen, path);
        s->geo = prev != NULL && prev->path != NULL && strcmp(prev->path, path) == 0
                     ? geo_ref(prev->geo)
                     : NULL;
        if (report != NULL)
            (void)zt_buf_printf(report, "%s: cannot read: %s \u2014 %s\n", path, strerror(rc),
                                s->geo != NULL ? "keeping the previous database"
                                               : "no previous data");
        return 0;
    }
    geo_db *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return -ENOMEM;
    int st_mm = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
    if (st_mm != MMDB_SUCCESS) {
        free(g);
        if (st_mm == MMDB_OUT_OF_MEMORY_ERROR)
            return -ENOMEM;
        zt_errf(err, errlen, "%s: not a MaxMind DB: %s", path, MMDB_strerror(st_mm));
        return -EINVAL;
    }
    atomic_init(&g->refs, 1);
    s->geo = g;
    return 0;
}

static void slot_dispose(slot *s)
{
    free(s->path);
    free(s->source);
    zt_feed_data_unref(s->data);
    geo_unref(s->geo);
}

void zt_feeds_free(zt_feeds *f)
{
    if (f == NULL)
        return;
    slot_dispose(&f->city);
    slot_dispose(&f->asn);
    slot_dispose(&f->leaked);
    for (size_t i = 0; i < f->n_anon; i++)
        slot_dispose(&f->anon[i]);
    for (size_t i = 0; i < f->n_mal; i++)
        slot_dispose(&f->mal[i]);
    free(f->anon);
    free(f->mal);
    zt_cidrset_free(f->anon_set);
    zt_cidrset_free(f->mal_set);
    free(f);
}

/* Load n list files into *out and merge them into one set whose values are slot indexes. */
static int load_lists(slot **out, size_t *nout, zt_cidrset **set, const zt_feed_file *files,
                      size_t n, const slot *prev, size_t nprev, zt_buf *report)
{
    *set = zt_cidrset_new();
    *out = calloc(n ? n : 1, sizeof(slot));
    if (*set == NULL || *out == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        *nout = i + 1;
        const slot *p = find_prev(prev, nprev, files[i].path);
        if (load_data_slot(&(*out)[i], KIND_LIST, &files[i], p, report) < 0)
            return -ENOMEM;
        const zt_feed_data *d = (*out)[i].data;
        for (size_t k = 0; d != NULL && k < d->n_cidrs; k++) {
            int rc = zt_cidrset_add(*set, &d->cidrs[k], (uint16_t)i);
            if (rc == -ENOMEM)
                return rc;
            if (rc == -E2BIG) {
                if (report != NULL)
                    (void)zt_buf_printf(report,
                                        "%s: the list total passed %u blocks; rest "
                                        "ignored\n",
                                        files[i].path, ZT_CIDRSET_MAX_BLOCKS);
                break;
            }
        }
    }
    return zt_cidrset_freeze(*set);
}

zt_feeds *zt_feeds_load(const zt_feeds_cfg *cfg, const zt_feeds *prev, zt_buf *report, char *err,
                        size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cfg->n_anonymous > ZT_FEEDS_MAX_FILES || cfg->n_malicious > ZT_FEEDS_MAX_FILES) {
        zt_errf(err, errlen, "more than %d files in one feed list", ZT_FEEDS_MAX_FILES);
        return NULL;
    }
    zt_feeds *f = calloc(1, sizeof(*f));
    if (f == NULL)
        goto nomem;
    int rc = 0;
    if (cfg->geoip_city != NULL)
        rc = load_geo_slot(&f->city, cfg->geoip_city, prev ? &prev->city : NULL, report, err,
                           errlen);
    if (rc == 0 && cfg->geoip_asn != NULL)
        rc = load_geo_slot(&f->asn, cfg->geoip_asn, prev ? &prev->asn : NULL, report, err, errlen);
    if (rc == -EINVAL)
        goto fail;
    if (rc < 0)
        goto nomem;
    if (load_lists(&f->anon, &f->n_anon, &f->anon_set, cfg->anonymous, cfg->n_anonymous,
                   prev ? prev->anon : NULL, prev ? prev->n_anon : 0, report) < 0)
        goto nomem;
    if (load_lists(&f->mal, &f->n_mal, &f->mal_set, cfg->malicious, cfg->n_malicious,
                   prev ? prev->mal : NULL, prev ? prev->n_mal : 0, report) < 0)
        goto nomem;
    if (cfg->leaked_credentials != NULL) {
        zt_feed_file file = {cfg->leaked_credentials, NULL};
        const slot *p = prev != NULL ? find_prev(&prev->leaked, 1, file.path) : NULL;
        if (load_data_slot(&f->leaked, KIND_LEAKED, &file, p, report) < 0)
            goto nomem;
    }
    return f;
nomem:
    zt_errf(err, errlen, "out of memory loading feeds");
fail:
    zt_feeds_free(f);
    return NULL;
}

/* ---- change detection ------------------------------------------------------------------- */

static bool slot_changed(const slot *s, const char *path)
{
    if ((s->path == NULL) != (path == NULL))
        return true;
    if (path == NULL)
        return false;
    if (strcmp(s->path, path) != 0)
        return true;
    file_id now;
    id_of_path(&now, path);
    return !id_equal(&now, &s->seen);
}

bool zt_feeds_changed(const zt_feeds *f, const zt_feeds_cfg *cfg)
{
    if (f == NULL)
        return true;
    if (slot_changed(&f->city, cfg->geoip_city) || slot_changed(&f->asn, cfg->geoip_asn) ||
        slot_changed(&f->leaked, cfg->leaked_credentials))
        return true;
    if (f->n_anon != cfg->n_anonymous || f->n_mal != cfg->n_malicious)
        return true;
    for (size_t i = 0; i < f->n_anon; i++)
        if (slot_changed(&f->anon[i], cfg->anonymous[i].path))
            return true;
    for (size_t i = 0; i < f->n_mal; i++)
        if (slot_changed(&f->mal[i], cfg->malicious[i].path))
            return true;
    return false;
}

/* ---- lookups ---------------------------------------------------------------------------- */

/* Copy an mmdb UTF-8 string (not NUL-terminated) into out, cut at a character boundary. */
static void copy_utf8(char *out, size_t cap, const char *s, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

static bool get_value(MMDB_entry_s *e, MMDB_entry_data_s *v, uint32_t type, const char *k1,
                      const char *k2)
{
    int rc = k2 != NULL ? MMDB_get_value(e, v, k1, k2, NULL) : MMDB_get_value(e, v, k1, NULL);
    return rc == MMDB_SUCCESS && v->has_data && v->type == type;
}

static void lookup_city(const geo_db *g, const struct sockaddr *sa, zt_ip_info *out)
{
    int mm = 0;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&g->mmdb, sa, &mm);
    if (mm != MMDB_SUCCESS || !r.found_entry)
        return;
    MMDB_entry_data_s v;
    if (get_value(&r.entry, &v, MMDB_DATA_TYPE_UTF8_STRING, "country", "iso_code") &&
        v.data_size == 2) {
        char a = v.utf8_string[0], b = v.utf8_string[1];
        if (a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z') {
            out->country[0] = a;
            out->country[1] = b;
            out->country[2] = '\0';
        }
    }
    MMDB_entry_data_s lat, lon;
    if (get_value(&r.entry, &lat, MMDB_DATA_TYPE_DOUBLE, "location", "latitude") &&
        get_value(&r.entry, &lon, MMDB_DATA_TYPE_DOUBLE, "location", "longitude")) {
        out->has_location = true;
        out->latitude = lat.double_value;
        out->longitude = lon.double_value;
    }
    if (get_value(&r.entry, &v, MMDB_DATA_TYPE_UINT16, "location", "accuracy_radius"))
        out->accuracy_km = v.uint16;
}

static void lookup_asn(const geo_db *g, const struct sockaddr *sa, zt_ip_info *out)
{
    int mm = 0;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&g->mmdb, sa, &mm);
    if (mm != MMDB_SUCCESS || !r.found_entry)
        return;
    MMDB_entry_data_s v;
    if (get_value(&r.entry, &v, MMDB_DATA_TYPE_UINT32, "autonomous_system_number", NULL))
        out->asn = v.uint32;
    if (get_value(&r.entry, &v, MMDB_DATA_TYPE_UTF8_STRING, "autonomous_system_organization", NULL))
        copy_utf8(out->as_org, sizeof(out->as_org), v.utf8_string, v.data_size);
}

void zt_feeds_lookup(const zt_feeds *f, const struct sockaddr *ip, zt_ip_info *out)
{
    memset(out, 0, sizeof(*out));
    if (f == NULL || ip == NULL)
        return;
    /* ::ffff:a.b.c.d is an IPv4 peer on a dual-stack socket: look it up as IPv4 everywhere
     * (the mmdb would otherwise walk the IPv6 tree). */
    struct sockaddr_in v4;
    if (ip->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ip;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            memset(&v4, 0, sizeof(v4));
            v4.sin_family = AF_INET;
            memcpy(&v4.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
            ip = (const struct sockaddr *)&v4;
        }
    } else if (ip->sa_family != AF_INET) {
        return;
    }
    out->anonymous = zt_cidrset_lookup(f->anon_set, ip, NULL);
    uint16_t which;
    if (zt_cidrset_lookup(f->mal_set, ip, &which) && which < f->n_mal) {
        const slot *s = &f->mal[which];
        const char *name = s->source != NULL ? s->source : s->path;
        out->malicious = true;
        copy_utf8(out->malicious_source, sizeof(out->malicious_source), name, strlen(name));
    }
    if (f->city.geo != NULL)
        lookup_city(f->city.geo, ip, out);
    if (f->asn.geo != NULL)
        lookup_asn(f->asn.geo, ip, out);
}

bool zt_feeds_leaked(const zt_feeds *f, const char *user_email, const unsigned char sha1[20])
{
    return f != NULL && zt_feed_data_has_pair(f->leaked.data, user_email, sha1);
}

void zt_feeds_get_stats(const zt_feeds *f, zt_feeds_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (f == NULL)
        return;
    out->anonymous_ranges = zt_cidrset_count(f->anon_set);
    out->malicious_ranges = zt_cidrset_count(f->mal_set);
    out->leaked_pairs = zt_feed_data_count(f->leaked.data);
    out->geoip_city = f->city.geo != NULL;
    out->geoip_asn = f->asn.geo != NULL;
    for (size_t i = 0; i < f->n_anon; i++)
        out->bad_lines += zt_feed_data_bad_lines(f->anon[i].data);
    for (size_t i = 0; i < f->n_mal; i++)
        out->bad_lines += zt_feed_data_bad_lines(f->mal[i].data);
    out->bad_lines += zt_feed_data_bad_lines(f->leaked.data);
}
