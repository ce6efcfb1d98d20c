/* The per-minute rollup of the audit query engine (query.h): each record is scanned once and
 * folded into counters per minute (outcomes, sign-ins, MFA, detections, responses) and into
 * named counters per hour (detection types, report-only policies, apps and policies by outcome,
 * MFA prompts per user per day). It follows the live file by inode and offset, and across a
 * rotation finishes the renamed file before starting the new one; the seq of each record keeps
 * anything from being counted twice. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "audit/chain.h"
#include "audit/query.h"
#include "audit/query_int.h"
#include "lib/str.h"
#include "lib/time.h"

#define MINUTE_US 60000000LL
#define HOUR_US 3600000000LL
#define DAY_US 86400000000LL
/* Minutes kept: a little over a year. Older minutes are dropped as newer ones arrive. */
#define MAX_MINUTES (400 * 24 * 60)
#define READ_CHUNK (1 << 20)

typedef struct minute {
    uint32_t c[ZT_AQC_COUNT];
} minute;

typedef struct named_slot {
    uint64_t count; /* 0 = empty */
    int64_t hour;   /* hours since the epoch (days * 24 for per-day kinds) */
    uint32_t name;  /* index in names */
    uint16_t sub;
    uint8_t kind;
} named_slot;

typedef struct name_slot {
    uint32_t id1; /* id + 1; 0 = empty */
    uint32_t hash;
} name_slot;

struct zt_aq_rollup {
    pthread_mutex_t lock;   /* the counters */
    pthread_mutex_t update; /* one reader of the files at a time */
    char *live;
    bool scoped;
    zt_aq_filter scope;
    char **scope_users;
    /* counters */
    int64_t base_min; /* minute number of minutes[0] */
    size_t n_min;
    minute *minutes;
    named_slot *named;
    size_t named_cap, named_n;
    char **names;
    size_t names_n, names_cap;
    name_slot *name_tab;
    size_t name_tab_cap;
    uint64_t records;
    /* following */
    bool started;
    atomic_bool cancelled; /* zt_aq_rollup_cancel: reading stops at the next chunk */
    dev_t dev;
    ino_t ino;
    off_t off;
    uint64_t last_seq;
    int64_t now_us; /* the wall clock when the current batch of lines began */
};

/* ---- names ---- */

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int name_grow(zt_aq_rollup *r)
{
    size_t cap = r->name_tab_cap ? r->name_tab_cap * 2 : 256;
    name_slot *t = calloc(cap, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < r->name_tab_cap; i++) {
        if (r->name_tab[i].id1 == 0)
            continue;
        size_t j = r->name_tab[i].hash & (cap - 1);
        while (t[j].id1 != 0)
            j = (j + 1) & (cap - 1);
        t[j] = r->name_tab[i];
    }
    free(r->name_tab);
    r->name_tab = t;
    r->name_tab_cap = cap;
    return 0;
}

/* The id of a name (interned); -1 when out of memory. */
static long name_id(zt_aq_rollup *r, const char *s)
{
    size_t n = strnlen(s, ZT_AQ_NAME_MAX);
    if ((r->names_n + 1) * 2 > r->name_tab_cap && name_grow(r) != 0)
        return -1;
    uint32_t h = hash_bytes(s, n);
    size_t j = h & (r->name_tab_cap - 1);
    for (; r->name_tab[j].id1 != 0; j = (j + 1) & (r->name_tab_cap - 1)) {
        const char *have = r->names[r->name_tab[j].id1 - 1];
        if (r->name_tab[j].hash == h && strlen(have) == n && memcmp(have, s, n) == 0)
            return (long)r->name_tab[j].id1 - 1;
    }
    if (r->names_n == r->names_cap) {
        size_t cap = r->names_cap ? r->names_cap * 2 : 64;
        char **nn = realloc(r->names, cap * sizeof(*nn));
        if (nn == NULL)
            return -1;
        r->names = nn;
        r->names_cap = cap;
    }
    char *copy = strndup(s, n);
    if (copy == NULL)
        return -1;
    r->names[r->names_n] = copy;
    r->name_tab[j] = (name_slot){.id1 = (uint32_t)r->names_n + 1, .hash = h};
    return (long)r->names_n++;
}

/* ---- named counters (open addressing on kind, sub, hour, name) ---- */

static uint64_t slot_hash(uint8_t kind, uint16_t sub, int64_t hour, uint32_t name)
{
    uint64_t h =
        ((uint64_t)kind << 56) ^ ((uint64_t)sub << 40) ^ (uint64_t)hour * 0x9E3779B97F4A7C15ull;
    return (h ^ name * 0xC2B2AE3D27D4EB4Full) * 0x165667B19E3779F9ull;
}

static int named_grow(named_slot **tab, size_t *cap_io)
{
    size_t old = *cap_io, cap = old ? old * 2 : 1024;
    named_slot *t = calloc(cap, sizeof(*t)), *o = *tab;
    if (t == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < old; i++) {
        if (o[i].count == 0)
            continue;
        size_t j = slot_hash(o[i].kind, o[i].sub, o[i].hour, o[i].name) & (cap - 1);
        while (t[j].count != 0)
            j = (j + 1) & (cap - 1);
        t[j] = o[i];
    }
    free(o);
    *tab = t;
    *cap_io = cap;
    return 0;
}

static void named_add(named_slot **tab, size_t *cap, size_t *n, uint8_t kind, uint16_t sub,
                      int64_t hour, uint32_t name, uint64_t add)
{
    if ((*n + 1) * 2 > *cap && named_grow(tab, cap) != 0)
        return;
    size_t j = slot_hash(kind, sub, hour, name) & (*cap - 1);
    named_slot *t = *tab;
    for (; t[j].count != 0; j = (j + 1) & (*cap - 1)) {
        if (t[j].kind == kind && t[j].sub == sub && t[j].hour == hour && t[j].name == name) {
            t[j].count += add;
            return;
        }
    }
    t[j] = (named_slot){.count = add, .hour = hour, .name = name, .sub = sub, .kind = kind};
    (*n)++;
}

static void count_name(zt_aq_rollup *r, zt_aq_kind kind, unsigned sub, int64_t hour,
                       const char *name)
{
    long id = name_id(r, name[0] ? name : "-");
    if (id >= 0)
        named_add(&r->named, &r->named_cap, &r->named_n, (uint8_t)kind, (uint16_t)sub, hour,
                  (uint32_t)id, 1);
}

/* ---- minutes ---- */

/* The counters of minute m, growing the array either way; NULL when m is out of the window. */
static minute *minute_at(zt_aq_rollup *r, int64_t m)
{
    if (r->n_min == 0) {
        r->minutes = calloc(1, sizeof(minute));
        if (r->minutes == NULL)
            return NULL;
        r->base_min = m;
        r->n_min = 1;
    }
    if (m < r->base_min) {
        size_t grow = (size_t)(r->base_min - m);
        if (r->n_min + grow > MAX_MINUTES)
            return NULL; /* older than the window */
        minute *nm = realloc(r->minutes, (r->n_min + grow) * sizeof(minute));
        if (nm == NULL)
            return NULL;
        memmove(nm + grow, nm, r->n_min * sizeof(minute));
        memset(nm, 0, grow * sizeof(minute));
        r->minutes = nm;
        r->n_min += grow;
        r->base_min = m;
    } else if (m >= r->base_min + (int64_t)r->n_min) {
        size_t want = (size_t)(m - r->base_min) + 1;
        if (want > MAX_MINUTES) { /* drop the oldest minutes */
            size_t drop = want - MAX_MINUTES;
            drop = drop > r->n_min ? r->n_min : drop;
            memmove(r->minutes, r->minutes + drop, (r->n_min - drop) * sizeof(minute));
            r->n_min -= drop;
            r->base_min += (int64_t)drop;
            want = (size_t)(m - r->base_min) + 1;
            if (r->n_min == 0) {
                r->base_min = m;
                want = 1;
            }
        }
        if (want > r->n_min) {
            size_t cap = want + want / 4 + 60; /* room ahead: the log keeps growing */
            minute *nm = realloc(r->minutes, cap * sizeof(minute));
            if (nm == NULL)
                return NULL;
            memset(nm + r->n_min, 0, (cap - r->n_min) * sizeof(minute));
            r->minutes = nm;
            r->n_min = cap;
        }
    }
    return &r->minutes[m - r->base_min];
}

/* ---- folding one record ---- */

static const char *const outcome_names[] = {"allow", "block", "challenge", "sign_in", "error"};

static zt_aq_counter outcome_of(const zt_aq_span *d)
{
    char buf[32];
    zt_aq_span_str(d, buf, sizeof(buf));
    for (size_t i = 0; i < 5; i++)
        if (strcmp(buf, outcome_names[i]) == 0)
            return (zt_aq_counter)(ZT_AQC_ALLOW + i);
    return ZT_AQC_OTHER_DECISION;
}

static bool span_eq(const zt_aq_span *s, const char *want)
{
    size_t n = strlen(want);
    return s->p != NULL && s->n == n && memcmp(s->p, want, n) == 0;
}

/* Responses an administrator takes on a user, device or detection. Account-service records
 * carry them as unmapped.operation; risk and device calls of the admin API as api.operation. */
static bool manual_response(const zt_aq_fields *x)
{
    static const char *const ops[] = {
        "user.disable",    "user.revoke_sessions", "user.reset_mfa",           "user.tap_revoke",
        "risk.dismiss",    "risk.dismiss_user",    "risk.confirm_compromised", "device.revoke",
        "incident.resolve"};
    if (!span_eq(&x->f[ZT_AQF_ACTOR_TYPE], "Admin") || span_eq(&x->f[ZT_AQF_STATUS], "Failure"))
        return false;
    const zt_aq_span *op =
        x->f[ZT_AQF_OPERATION].p ? &x->f[ZT_AQF_OPERATION] : &x->f[ZT_AQF_API_OP];
    if (x->f[ZT_AQF_OPERATION].p == NULL && zt_aq_span_int(&x->f[ZT_AQF_CLASS], 0) == 3001)
        return false; /* an admin API record of an account change: the service wrote its own */
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (span_eq(op, ops[i]))
            return true;
    return false;
}

/* Each listed policy: the applicable ones by outcome, the report-only ones when it would have
 * blocked. */
static void count_policies(zt_aq_rollup *r, const zt_aq_fields *x, zt_aq_counter oc, bool ro_block,
                           int64_t hour)
{
    static const char ro[] = " (report-only)";
    char buf[4096], name[ZT_AQ_NAME_MAX + 1];
    const char *s = zt_aq_span_str(&x->f[ZT_AQF_POLICIES], buf, sizeof(buf));
    while (*s != '\0') {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        bool is_ro =
            n >= sizeof(ro) - 1 && memcmp(s + n - (sizeof(ro) - 1), ro, sizeof(ro) - 1) == 0;
        size_t nn = is_ro ? n - (sizeof(ro) - 1) : n;
        nn = nn > ZT_AQ_NAME_MAX ? ZT_AQ_NAME_MAX : nn;
        memcpy(name, s, nn);
        name[nn] = '\0';
        if (nn > 0 && strcmp(name, "...") != 0) {
            if (is_ro && ro_block)
                count_name(r, ZT_AQK_RO_BLOCK_POLICY, 0, hour, name);
            else if (!is_ro)
                count_name(r, ZT_AQK_POLICY_DECISION, oc, hour, name);
        }
        s += n + (comma != NULL);
    }
    if (x->f[ZT_AQF_POLICIES].p == NULL && x->f[ZT_AQF_POLICY_NAME].p != NULL)
        count_name(r, ZT_AQK_POLICY_DECISION, oc, hour,
                   zt_aq_span_str(&x->f[ZT_AQF_POLICY_NAME], name, sizeof(name)));
}

static void fold_decision(zt_aq_rollup *r, const zt_aq_fields *x, minute *mm, int64_t hour)
{
    char name[ZT_AQ_NAME_MAX + 1];
    zt_aq_counter oc = outcome_of(&x->f[ZT_AQF_DECISION]);
    mm->c[oc]++;
    bool ro_block = span_eq(&x->f[ZT_AQF_RO_DECISION], "block");
    if (ro_block)
        mm->c[ZT_AQC_RO_WOULD_BLOCK]++;
    if (x->f[ZT_AQF_APP].p != NULL)
        count_name(r, ZT_AQK_APP_DECISION, oc, hour,
                   zt_aq_span_str(&x->f[ZT_AQF_APP], name, sizeof(name)));
    count_policies(r, x, oc, ro_block, hour);
}

static void fold_auth(zt_aq_rollup *r, const zt_aq_fields *x, minute *mm, int64_t hour)
{
    char who[ZT_AQ_NAME_MAX + 1];
    bool ok = zt_aq_span_int(&x->f[ZT_AQF_STATUS_ID], 0) == 1;
    if (!span_eq(&x->f[ZT_AQF_IS_MFA], "true")) {
        mm->c[ok ? ZT_AQC_SIGNIN_OK : ZT_AQC_SIGNIN_FAIL]++;
        return;
    }
    mm->c[ok ? ZT_AQC_MFA_OK : ZT_AQC_MFA_FAIL]++;
    const zt_aq_span *u =
        x->f[ZT_AQF_USER_UID].p ? &x->f[ZT_AQF_USER_UID] : &x->f[ZT_AQF_USER_EMAIL];
    int64_t day = hour >= 0 ? hour / 24 : (hour - 23) / 24;
    count_name(r, ZT_AQK_USER_MFA_DAY, 0, day * 24, zt_aq_span_str(u, who, sizeof(who)));
}

static void fold_finding(zt_aq_rollup *r, const zt_aq_fields *x, minute *mm, int64_t hour)
{
    char type[ZT_AQ_NAME_MAX + 1];
    const zt_aq_span *ev = &x->f[ZT_AQF_INC_EVENT];
    if (ev->p != NULL) {
        if (span_eq(ev, "action") && x->f[ZT_AQF_INC_PLAYBOOK].p != NULL)
            mm->c[ZT_AQC_RESP_AUTO]++;
        return; /* the incident's own records: its detections are counted where they arose */
    }
    if (zt_aq_span_int(&x->f[ZT_AQF_ACTIVITY], 0) != 1)
        return;
    mm->c[ZT_AQC_DETECTIONS]++;
    const zt_aq_span *t =
        x->f[ZT_AQF_FINDING_TYPE].p ? &x->f[ZT_AQF_FINDING_TYPE] : &x->f[ZT_AQF_SIGNAL_TYPE];
    count_name(r, ZT_AQK_DETECTION_TYPE, 0, hour, zt_aq_span_str(t, type, sizeof(type)));
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void fold(zt_aq_rollup *r, const zt_aq_fields *x)
{
    int64_t us;
    if (x->f[ZT_AQF_TYPE].p != NULL || !zt_aq_time_us(&x->f[ZT_AQF_TIME], &us))
        return; /* a checkpoint, or no time to put it at */
    if (us > r->now_us + DAY_US)
        return; /* from the future: it would push the real minutes out of the window */
    minute *mm = minute_at(r, floor_div(us, MINUTE_US));
    if (mm == NULL)
        return;
    int64_t hour = floor_div(us, HOUR_US);
    int64_t cls = zt_aq_span_int(&x->f[ZT_AQF_CLASS], 0);
    mm->c[ZT_AQC_RECORDS]++;
    r->records++;
    if (x->f[ZT_AQF_DECISION].p != NULL)
        fold_decision(r, x, mm, hour);
    else if (cls == 3002 && zt_aq_span_int(&x->f[ZT_AQF_ACTIVITY], 0) == 1)
        fold_auth(r, x, mm, hour);
    if (cls == 2004)
        fold_finding(r, x, mm, hour);
    if (manual_response(x))
        mm->c[ZT_AQC_RESP_MANUAL]++;
}

/* Fold complete lines of data; returns the bytes consumed (up to the last newline, or all of
 * it when `all`). Called with the lock held. */
static size_t fold_lines(zt_aq_rollup *r, const char *data, size_t len, bool all)
{
    const char *p = data, *end = data + len;
    zt_aq_fields x;
    r->now_us = zt_wall_us();
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL && !all)
            break;
        const char *e = nl ? nl : end;
        size_t n = (size_t)(e - p);
        uint64_t seq = zt_audit_line_seq(p, n);
        bool dup = seq != 0 && seq <= r->last_seq;
        if (!dup && n > 0 && n <= ZT_AQ_MAX_LINE && zt_aq_scan_line(p, n, &x) &&
            (!r->scoped || zt_aq_match(&r->scope, p, n, &x)))
            fold(r, &x);
        if (seq > r->last_seq)
            r->last_seq = seq;
        p = nl ? nl + 1 : end;
    }
    return (size_t)(p - data);
}

void zt_aq_rollup_feed(zt_aq_rollup *r, const char *data, size_t len)
{
    pthread_mutex_lock(&r->lock);
    fold_lines(r, data, len, true);
    pthread_mutex_unlock(&r->lock);
}

/* Read fd from *off to its end in chunks, folding complete lines; *off ends after the last
 * newline (a line being written is read again next time). */
static int follow_fd(zt_aq_rollup *r, int fd, off_t *off)
{
    char *buf = malloc(READ_CHUNK);
    size_t have = 0;
    int rc = 0;
    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        ssize_t got = pread(fd, buf + have, READ_CHUNK - have, *off + (off_t)have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            break;
        }
        if (got == 0 || atomic_load(&r->cancelled))
            break;
        have += (size_t)got;
        pthread_mutex_lock(&r->lock);
        size_t used = fold_lines(r, buf, have, false);
        pthread_mutex_unlock(&r->lock);
        if (used == 0 && have == READ_CHUNK) {
            /* a line longer than the chunk is not a record: skip to its end */
            const char *nl = NULL;
            while (nl == NULL && (got = pread(fd, buf, READ_CHUNK, *off + (off_t)have)) > 0) {
                nl = memchr(buf, '\n', (size_t)got);
                have += nl ? (size_t)(nl - buf) + 1 : (size_t)got;
            }
            *off += (off_t)have;
            have = 0;
            continue;
        }
        *off += (off_t)used;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    free(buf);
    return rc;
}

int zt_aq_rollup_feed_file(zt_aq_rollup *r, const char *path)
{
    zt_aq_map m;
    int rc = zt_aq_map_open(path, &m);
    if (rc < 0)
        return rc;
    /* a mapped file needs no copy; the lock is taken per chunk so queries go on meanwhile */
    for (size_t at = 0; at < m.len && !atomic_load(&r->cancelled);) {
        size_t n = m.len - at < READ_CHUNK ? m.len - at : READ_CHUNK;
        pthread_mutex_lock(&r->lock);
        size_t used = fold_lines(r, m.data + at, n, at + n == m.len);
        pthread_mutex_unlock(&r->lock);
        if (used == 0) { /* a line longer than a chunk is not a record: skip it */
            const char *nl = memchr(m.data + at, '\n', m.len - at);
            used = nl ? (size_t)(nl - (m.data + at)) + 1 : m.len - at;
        }
        zt_aq_map_release(&m, at, at + used);
        at += used;
    }
    zt_aq_map_close(&m);
    return 0;
}

/* ---- following the live log ---- */

/* After a rotation: the renamed file with the inode we were reading, finished from off; the
 * files rotated after it read whole (seq drops what was seen). */
static int catch_up_rotated(zt_aq_rollup *r)
{
    char **files = NULL;
    long n = zt_aq_log_files(r->live, &files);
    if (n < 0)
        return (int)n;
    int rc = 0;
    for (long i = 0; i + 1 < n; i++) { /* the last one is the live file */
        /* audit.log.<first seq>: every record of file i is older than file i+1's first */
        if (i + 2 < n) {
            const char *dot = strrchr(files[i + 1], '.');
            unsigned long long next_first;
            if (dot != NULL && zt_parse_u64(dot + 1, strlen(dot + 1), UINT64_MAX, &next_first) &&
                next_first <= r->last_seq + 1)
                continue;
        }
        struct stat st;
        int fd = open(files[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        off_t off = 0;
        if (fstat(fd, &st) == 0 && st.st_dev == r->dev && st.st_ino == r->ino)
            off = r->off; /* the file we were following, renamed: go on where we were */
        int frc = follow_fd(r, fd, &off);
        rc = rc == 0 ? frc : rc;
        close(fd);
    }
    zt_aq_files_free(files, (size_t)n);
    return rc;
}

int zt_aq_rollup_update(zt_aq_rollup *r)
{
    if (r->live == NULL)
        return -EINVAL;
    pthread_mutex_lock(&r->update);
    int rc = 0;
    struct stat st;
    if (!r->started || stat(r->live, &st) != 0 || st.st_dev != r->dev || st.st_ino != r->ino ||
        st.st_size < r->off) {
        rc = catch_up_rotated(r); /* the first time, or the file we followed was rotated */
        r->started = true;
        r->off = 0;
        r->dev = 0;
        r->ino = 0;
    }
    int fd = open(r->live, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0) {
        if (st.st_dev != r->dev || st.st_ino != r->ino) {
            r->dev = st.st_dev;
            r->ino = st.st_ino;
            r->off = 0;
        }
        int frc = follow_fd(r, fd, &r->off);
        rc = rc == 0 ? frc : rc;
    } else if (fd < 0 && errno != ENOENT && rc == 0) {
        rc = -errno;
    }
    if (fd >= 0)
        close(fd);
    pthread_mutex_unlock(&r->update);
    return rc;
}

/* ---- lifecycle ---- */

void zt_aq_rollup_cancel(zt_aq_rollup *r)
{
    atomic_store(&r->cancelled, true);
}

zt_aq_rollup *zt_aq_rollup_new(const char *live, const zt_aq_filter *scope)
{
    zt_aq_rollup *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->update, NULL);
    bool ok = live == NULL || (r->live = strdup(live)) != NULL;
    if (ok && scope != NULL) {
        r->scoped = true;
        r->scope = *scope;
        r->scope.since_us = INT64_MIN;
        r->scope.until_us = INT64_MAX;
        /* copy every string the filter points to */
        const char **strs[] = {&r->scope.user, &r->scope.device, &r->scope.decision, &r->scope.ref,
                               &r->scope.app,  &r->scope.policy, &r->scope.text};
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]) && ok; i++)
            if (*strs[i] != NULL)
                ok = (*strs[i] = strdup(*strs[i])) != NULL;
        size_t n = scope->allowed_users ? scope->n_allowed : 0;
        r->scope.n_allowed = n; /* what scope_users holds, freed below */
        r->scope_users = calloc(n + 1, sizeof(char *));
        ok = ok && r->scope_users != NULL;
        for (size_t i = 0; ok && i < n; i++)
            ok = scope->allowed_users[i] == NULL ||
                 (r->scope_users[i] = strdup(scope->allowed_users[i])) != NULL;
        if (ok && scope->allowed_users != NULL)
            r->scope.allowed_users = (const char *const *)r->scope_users;
        else
            r->scope.allowed_users = NULL;
    }
    if (!ok) {
        zt_aq_rollup_free(r);
        return NULL;
    }
    return r;
}

void zt_aq_rollup_free(zt_aq_rollup *r)
{
    if (r == NULL)
        return;
    if (r->scoped) {
        free((char *)r->scope.user);
        free((char *)r->scope.device);
        free((char *)r->scope.decision);
        free((char *)r->scope.ref);
        free((char *)r->scope.app);
        free((char *)r->scope.policy);
        free((char *)r->scope.text);
        for (size_t i = 0; r->scope_users != NULL && i < r->scope.n_allowed; i++)
            free(r->scope_users[i]);
        free(r->scope_users);
    }
    for (size_t i = 0; i < r->names_n; i++)
        free(r->names[i]);
    free(r->names);
    free(r->name_tab);
    free(r->named);
    free(r->minutes);
    free(r->live);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->update);
    free(r);
}

void zt_aq_rollup_size(zt_aq_rollup *r, uint64_t *records, size_t *bytes)
{
    pthread_mutex_lock(&r->lock);
    if (records != NULL)
        *records = r->records;
    if (bytes != NULL) {
        size_t b = sizeof(*r) + r->n_min * sizeof(minute) + r->named_cap * sizeof(named_slot) +
                   r->name_tab_cap * sizeof(name_slot) + r->names_cap * sizeof(char *);
        for (size_t i = 0; i < r->names_n; i++)
            b += strlen(r->names[i]) + 1;
        *bytes = b;
    }
    pthread_mutex_unlock(&r->lock);
}

/* ---- answering ---- */

static const char *const counter_names[ZT_AQC_COUNT] = {"allow",
                                                        "block",
                                                        "challenge",
                                                        "sign_in",
                                                        "error",
                                                        "other",
                                                        "signin_ok",
                                                        "signin_fail",
                                                        "mfa_ok",
                                                        "mfa_fail",
                                                        "detections",
                                                        "responses_automated",
                                                        "responses_manual",
                                                        "report_only_would_block",
                                                        "records"};

const char *zt_aq_counter_name(zt_aq_counter c)
{
    return c < ZT_AQC_COUNT ? counter_names[c] : "?";
}

void zt_aq_stats_dispose(zt_aq_stats *s)
{
    if (s == NULL)
        return;
    free(s->buckets);
    free(s->named);
    memset(s, 0, sizeof(*s));
}

static int named_cmp(const void *a, const void *b)
{
    const zt_aq_named *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->sub != y->sub)
        return x->sub < y->sub ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The busiest user-days: a bounded selection (kept sorted, smallest last). */
typedef struct top_days {
    const named_slot **v;
    size_t n, cap;
} top_days;

static void top_offer(top_days *t, const named_slot *s)
{
    if (t->cap == 0 || (t->n == t->cap && s->count <= t->v[t->n - 1]->count))
        return;
    size_t i = t->n < t->cap ? t->n++ : t->n - 1;
    while (i > 0 && t->v[i - 1]->count < s->count) {
        t->v[i] = t->v[i - 1];
        i--;
    }
    t->v[i] = s;
}

static void put_named(zt_aq_rollup *r, zt_aq_stats *out, const named_slot *s, uint32_t sub)
{
    zt_aq_named *d = &out->named[out->n_named++];
    d->kind = (zt_aq_kind)s->kind;
    d->sub = sub;
    d->count = s->count;
    snprintf(d->name, sizeof(d->name), "%s", r->names[s->name]);
}

/* Sum the named counters of the hours in [h0, h1) by (kind, sub, name) into out; user-days
 * (one slot each already) give the MFA figures and the req->mfa_top busiest. */
static int named_answer(zt_aq_rollup *r, const zt_aq_stats_req *req, int64_t h0, int64_t h1,
                        zt_aq_stats *out)
{
    named_slot *sum = NULL;
    size_t cap = 0, n = 0;
    top_days top = {.cap = req->mfa_top > 1024 ? 1024 : req->mfa_top};
    top.v = calloc(top.cap + 1, sizeof(*top.v));
    /* Names are interned, so one bit per name counts distinct prompted users. */
    uint8_t *prompted = calloc(r->names_n / 8 + 1, 1);
    if (top.v == NULL || prompted == NULL) {
        free(top.v);
        free(prompted);
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->named_cap; i++) {
        const named_slot *s = &r->named[i];
        if (s->count == 0 || s->hour < h0 || s->hour >= h1)
            continue;
        if (s->kind != ZT_AQK_USER_MFA_DAY) {
            named_add(&sum, &cap, &n, s->kind, s->sub, 0, s->name, s->count);
            continue;
        }
        out->mfa_prompts += s->count;
        out->mfa_user_days++;
        if ((prompted[s->name / 8] & (1u << (s->name % 8))) == 0) {
            prompted[s->name / 8] |= (uint8_t)(1u << (s->name % 8));
            out->mfa_users++;
        }
        if (s->count > out->mfa_max_per_user_day)
            out->mfa_max_per_user_day = s->count;
        top_offer(&top, s);
    }
    free(prompted);
    n = n > ZT_AQ_MAX_NAMED ? ZT_AQ_MAX_NAMED : n;
    out->named = calloc(n + top.n + 1, sizeof(zt_aq_named));
    if (out->named == NULL) {
        free(sum);
        free(top.v);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cap && out->n_named < n; i++)
        if (sum[i].count != 0)
            put_named(r, out, &sum[i], sum[i].sub);
    for (size_t i = 0; i < top.n; i++)
        put_named(r, out, top.v[i], (uint32_t)(top.v[i]->hour / 24));
    free(sum);
    free(top.v);
    qsort(out->named, out->n_named, sizeof(zt_aq_named), named_cmp);
    return 0;
}

int zt_aq_rollup_stats(zt_aq_rollup *r, const zt_aq_stats_req *req, zt_aq_stats *out)
{
    uint64_t t0 = zt_mono_us();
    memset(out, 0, sizeof(*out));
    if (req->bucket_s < 60 || req->bucket_s % 60 != 0 || req->until_us <= req->since_us)
        return -EINVAL;
    int64_t bucket_us = req->bucket_s * 1000000LL;
    int64_t nb = (req->until_us - req->since_us + bucket_us - 1) / bucket_us;
    if (nb > ZT_AQ_MAX_BUCKETS)
        return -EINVAL;
    out->buckets = calloc((size_t)nb, sizeof(zt_aq_bucket));
    if (out->buckets == NULL)
        return -ENOMEM;
    out->n_buckets = (size_t)nb;
    for (int64_t i = 0; i < nb; i++)
        out->buckets[i].start_us = req->since_us + i * bucket_us;
    pthread_mutex_lock(&r->lock);
    /* minutes whose start lies in [since, until) */
    int64_t m0 = floor_div(req->since_us + MINUTE_US - 1, MINUTE_US);
    int64_t m1 = floor_div(req->until_us + MINUTE_US - 1, MINUTE_US);
    int64_t lo = m0 > r->base_min ? m0 : r->base_min;
    int64_t hi = m1 < r->base_min + (int64_t)r->n_min ? m1 : r->base_min + (int64_t)r->n_min;
    for (int64_t m = lo; m < hi; m++) {
        const minute *mm = &r->minutes[m - r->base_min];
        if (mm->c[ZT_AQC_RECORDS] == 0 && mm->c[ZT_AQC_ALLOW] == 0)
            continue;
        zt_aq_bucket *b = &out->buckets[(m * MINUTE_US - req->since_us) / bucket_us];
        for (int c = 0; c < ZT_AQC_COUNT; c++) {
            b->c[c] += mm->c[c];
            out->total[c] += mm->c[c];
        }
    }
    int rc = named_answer(r, req, floor_div(req->since_us, HOUR_US),
                          floor_div(req->until_us + HOUR_US - 1, HOUR_US), out);
    out->records_seen = r->records;
    pthread_mutex_unlock(&r->lock);
    if (rc != 0) {
        zt_aq_stats_dispose(out);
        return rc;
    }
    out->elapsed_us = zt_mono_us() - t0;
    return 0;
}

int zt_aq_stats_files(const char *const *files, size_t n, const zt_aq_filter *scope,
                      const zt_aq_stats_req *req, zt_aq_stats *out)
{
    uint64_t t0 = zt_mono_us();
    memset(out, 0, sizeof(*out));
    zt_aq_rollup *r = zt_aq_rollup_new(NULL, scope);
    if (r == NULL)
        return -ENOMEM;
    int first_rc = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = zt_aq_rollup_feed_file(r, files[i]);
        if (rc < 0 && first_rc == 0)
            first_rc = rc;
    }
    int rc = zt_aq_rollup_stats(r, req, out);
    zt_aq_rollup_free(r);
    if (rc != 0)
        return rc;
    out->elapsed_us = zt_mono_us() - t0;
    return first_rc;
}

/* ---- on the thread pool ---- */

typedef struct stats_job {
    uv_work_t work;
    zt_aq_rollup *rollup;
    char *live;
    const zt_aq_filter *scope;
    zt_aq_stats_req req;
    zt_aq_stats st;
    int rc;
    zt_aq_stats_cb cb;
    void *arg;
} stats_job;

static void stats_work(uv_work_t *w)
{
    stats_job *j = w->data;
    if (j->rollup != NULL) {
        int rc = zt_aq_rollup_update(j->rollup);
        j->rc = zt_aq_rollup_stats(j->rollup, &j->req, &j->st);
        if (j->rc == 0 && rc < 0)
            j->rc = rc;
        return;
    }
    char **files = NULL;
    long n = zt_aq_log_files(j->live, &files);
    if (n < 0) {
        j->rc = (int)n;
        return;
    }
    j->rc = zt_aq_stats_files((const char *const *)files, (size_t)n, j->scope, &j->req, &j->st);
    zt_aq_files_free(files, (size_t)n);
}

static void stats_done(uv_work_t *w, int status)
{
    stats_job *j = w->data;
    j->cb(j->arg, status < 0 ? status : j->rc, &j->st);
    zt_aq_stats_dispose(&j->st);
    free(j->live);
    free(j);
}

int zt_aq_stats_async(struct uv_loop_s *loop, zt_aq_rollup *rollup, const char *live,
                      const zt_aq_filter *scope, const zt_aq_stats_req *req, zt_aq_stats_cb cb,
                      void *arg)
{
    if (rollup == NULL && live == NULL)
        return -EINVAL;
    stats_job *j = calloc(1, sizeof(*j));
    if (j == NULL || (live != NULL && (j->live = strdup(live)) == NULL)) {
        free(j);
        return -ENOMEM;
    }
    j->rollup = rollup;
    j->scope = scope;
    j->req = *req;
    j->cb = cb;
    j->arg = arg;
    j->work.data = j;
    int rc = uv_queue_work(loop, &j->work, stats_work, stats_done);
    if (rc != 0) {
        free(j->live);
        free(j);
    }
    return rc;
}
