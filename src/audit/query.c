/* Search over the audit log's files (query.h): newest first by walking each mapped file
 * backwards, or in chain order; a cursor (a seq) to go on where a page ended; and the same on
 * the libuv thread pool for an event loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "audit/chain.h"
#include "audit/query.h"
#include "audit/query_int.h"
#include "lib/str.h"
#include "lib/time.h"

#define MAX_FILES 4096

/* ---- files ---- */

typedef struct rotated {
    unsigned long long first_seq;
    char *path;
} rotated;

static int by_first_seq(const void *a, const void *b)
{
    const rotated *x = a, *y = b;
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

static long rotated_files(const char *dir, const char *base, rotated *rot, size_t cap)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -errno;
    size_t n = 0, bn = strlen(base);
    struct dirent *e;
    long rc = 0;
    while ((e = readdir(d)) != NULL && n < cap) {
        unsigned long long seq;
        const char *num = e->d_name + bn;
        if (strncmp(e->d_name, base, bn) != 0 || !zt_parse_u64(num, strlen(num), UINT64_MAX, &seq))
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        rot[n].path = malloc(len);
        if (rot[n].path == NULL) {
            rc = -ENOMEM;
            break;
        }
        snprintf(rot[n].path, len, "%s/%s", dir, e->d_name);
        rot[n++].first_seq = seq;
    }
    closedir(d);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            free(rot[i].path);
        return rc;
    }
    return (long)n;
}

long zt_aq_log_files(const char *live, char ***out)
{
    char dir[4096], base[256];
    const char *slash = strrchr(live, '/');
    size_t dn = slash ? (size_t)(slash - live) : 1;
    *out = NULL;
    if (dn >= sizeof(dir) || strlen(slash ? slash + 1 : live) + 2 > sizeof(base))
        return -ENAMETOOLONG;
    memcpy(dir, slash ? live : ".", dn);
    dir[dn] = '\0';
    if (dn == 0) /* "/audit.log" */
        snprintf(dir, sizeof(dir), "/");
    snprintf(base, sizeof(base), "%s.", slash ? slash + 1 : live);
    rotated *rot = calloc(MAX_FILES, sizeof(*rot));
    char **files = calloc(MAX_FILES + 1, sizeof(char *));
    long n = rot && files ? rotated_files(dir, base, rot, MAX_FILES) : -ENOMEM;
    if (n < 0) {
        free(rot);
        free(files);
        return n;
    }
    qsort(rot, (size_t)n, sizeof(*rot), by_first_seq);
    for (long i = 0; i < n; i++)
        files[i] = rot[i].path;
    free(rot);
    files[n] = strdup(live);
    if (files[n] == NULL) {
        zt_aq_files_free(files, (size_t)n);
        return -ENOMEM;
    }
    *out = files;
    return n + 1;
}

void zt_aq_files_free(char **files, size_t n)
{
    for (size_t i = 0; files != NULL && i < n; i++)
        free(files[i]);
    free(files);
}

/* ---- mapping ---- */

static int read_whole(int fd, zt_aq_map *m)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            return -ENOMEM;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return -e;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *m = (zt_aq_map){.data = buf, .len = len};
    return 0;
}

int zt_aq_map_open(const char *path, zt_aq_map *m)
{
    *m = (zt_aq_map){0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else if (S_ISREG(st.st_mode) && st.st_size == 0) {
        rc = 0;
    } else if (S_ISREG(st.st_mode)) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            *m = (zt_aq_map){.data = p, .len = (size_t)st.st_size, .mapped = true};
            (void)madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
        } else {
            rc = read_whole(fd, m);
        }
    } else {
        rc = read_whole(fd, m);
    }
    close(fd);
    return rc;
}

void zt_aq_map_release(const zt_aq_map *m, size_t from, size_t to)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096;
    size_t a = (from + pg - 1) / pg * pg, b = to / pg * pg;
    if (m->mapped && b > a)
        (void)madvise((char *)m->data + a, b - a, MADV_DONTNEED);
}

void zt_aq_map_close(zt_aq_map *m)
{
    if (m->mapped)
        munmap((void *)m->data, m->len);
    else
        free((void *)m->data);
    *m = (zt_aq_map){0};
}

/* ---- search ---- */

typedef struct walk {
    const zt_aq_search_opts *o;
    /* the time bounds as the builder writes times ("2026-11-23T09:19:06.123456Z"), for a byte
     * compare before any scan; "" when open */
    char since[32], until[32];
    zt_aq_hit_fn fn;
    void *arg;
    zt_aq_result *res;
    bool stop;
} walk;

#define TIME_KEY "\"time\":\""
#define TIME_LEN 27     /* YYYY-MM-DDTHH:MM:SS.uuuuuuZ */
#define TIME_WITHIN 256 /* the builder writes time among the first keys */

/* Outside the time bounds, by the bytes of the line's first "time" key? Only a time written the
 * builder's way is judged here; anything else is left to the full check. */
static bool time_out(const walk *w, const char *line, size_t len)
{
    if (w->since[0] == '\0' && w->until[0] == '\0')
        return false;
    const char *t =
        memmem(line, len < TIME_WITHIN ? len : TIME_WITHIN, TIME_KEY, sizeof(TIME_KEY) - 1);
    if (t == NULL)
        return false;
    t += sizeof(TIME_KEY) - 1;
    if ((size_t)(line + len - t) < TIME_LEN + 1 || t[TIME_LEN - 1] != 'Z' || t[TIME_LEN] != '"' ||
        t[10] != 'T' || t[19] != '.')
        return false;
    return (w->since[0] != '\0' && memcmp(t, w->since, TIME_LEN) < 0) ||
           (w->until[0] != '\0' && memcmp(t, w->until, TIME_LEN) > 0);
}

/* One line: 1 when the walk goes on. */
static void one_line(walk *w, const char *file, const char *line, size_t len, uint64_t lineno)
{
    const zt_aq_search_opts *o = w->o;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return;
    if (o->cursor != 0) {
        uint64_t seq = zt_audit_line_seq(line, len);
        if (seq != 0 && (o->oldest_first ? seq <= o->cursor : seq >= o->cursor))
            return;
    }
    w->res->scanned++;
    if (time_out(w, line, len))
        return;
    zt_aq_fields x;
    int m = len <= ZT_AQ_MAX_LINE ? zt_aq_match_ex(&o->filter, line, len, &x) : -1;
    if (m < 0) {
        w->res->malformed++;
        if (o->malformed != NULL)
            o->malformed(o->malformed_arg, file, lineno);
        return;
    }
    if (m == 1 && !w->fn(w->arg, line, len, &x))
        w->stop = true;
}

/* Pages already read are dropped from the mapping every RELEASE_EVERY bytes, so a search over
 * a gigabyte does not hold a gigabyte resident. */
#define RELEASE_EVERY (8u << 20)

static void walk_forward(walk *w, const char *file, const zt_aq_map *m)
{
    const char *p = m->data, *end = m->data + m->len;
    uint64_t lineno = 0;
    size_t released = 0;
    while (p < end && !w->stop) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        one_line(w, file, p, (size_t)(e - p), ++lineno);
        p = nl ? nl + 1 : end;
        if ((size_t)(p - m->data) - released >= RELEASE_EVERY) {
            zt_aq_map_release(m, released, (size_t)(p - m->data));
            released = (size_t)(p - m->data);
        }
    }
}

static void walk_backward(walk *w, const char *file, const zt_aq_map *m)
{
    const char *start = m->data, *e = m->data + m->len;
    size_t kept = m->len; /* bytes from here to the end are still mapped in */
    if (e > start && e[-1] == '\n')
        e--;
    while (e >= start && !w->stop) {
        if (kept - (size_t)(e - start) >= RELEASE_EVERY) {
            zt_aq_map_release(m, (size_t)(e - start) + 1, kept);
            kept = (size_t)(e - start) + 1;
        }
        const char *nl = e > start ? memrchr(start, '\n', (size_t)(e - start)) : NULL;
        const char *b = nl ? nl + 1 : start;
        one_line(w, file, b, (size_t)(e - b), 0);
        if (nl == NULL)
            break;
        e = nl;
    }
}

/* Can the cursor rule out the whole file? Its first record's seq says so cheaply. */
static bool skip_file(const zt_aq_search_opts *o, const zt_aq_map *m)
{
    if (o->cursor == 0 || o->oldest_first || m->len == 0)
        return false;
    const char *nl = memchr(m->data, '\n', m->len);
    uint64_t first = zt_audit_line_seq(m->data, nl ? (size_t)(nl - m->data) : m->len);
    return first != 0 && first >= o->cursor;
}

int zt_aq_each(const char *const *files, size_t n, const zt_aq_search_opts *o, zt_aq_hit_fn fn,
               void *arg, zt_aq_result *out)
{
    uint64_t t0 = zt_mono_us();
    memset(out, 0, sizeof(*out));
    walk w = {.o = o, .fn = fn, .arg = arg, .res = out};
    /* only for bounds of 0001..9999: the text compares like the time then */
    if (o->filter.since_us != INT64_MIN && o->filter.since_us > -62135596800LL * 1000000)
        zt_rfc3339(o->filter.since_us, w.since, sizeof(w.since));
    if (o->filter.until_us != INT64_MAX && o->filter.until_us < 253402300799LL * 1000000)
        zt_rfc3339(o->filter.until_us, w.until, sizeof(w.until));
    if (strlen(w.since) != TIME_LEN)
        w.since[0] = '\0';
    if (strlen(w.until) != TIME_LEN)
        w.until[0] = '\0';
    int first_rc = 0;
    for (size_t k = 0; k < n && !w.stop; k++) {
        size_t i = o->oldest_first ? k : n - 1 - k;
        zt_aq_map m;
        int rc = zt_aq_map_open(files[i], &m);
        if (rc < 0) {
            if (first_rc == 0)
                first_rc = rc;
            continue;
        }
        if (!skip_file(o, &m)) {
            if (o->oldest_first)
                walk_forward(&w, files[i], &m);
            else
                walk_backward(&w, files[i], &m);
        }
        zt_aq_map_close(&m);
    }
    out->elapsed_us = zt_mono_us() - t0;
    return first_rc;
}

typedef struct collect {
    zt_aq_result *res;
    size_t limit, cap;
    int err;
} collect;

static bool collect_hit(void *arg, const char *line, size_t len, const zt_aq_fields *x)
{
    collect *c = arg;
    zt_aq_result *r = c->res;
    if (c->limit != 0 && r->n == c->limit) {
        r->more = true;
        return false;
    }
    if (r->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        zt_aq_hit *nh = realloc(r->hits, ncap * sizeof(*nh));
        if (nh == NULL) {
            c->err = -ENOMEM;
            return false;
        }
        r->hits = nh;
        c->cap = ncap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        c->err = -ENOMEM;
        return false;
    }
    memcpy(copy, line, len);
    copy[len] = '\0';
    int64_t seq = zt_aq_span_int(&x->f[ZT_AQF_SEQ], 0);
    r->hits[r->n++] = (zt_aq_hit){.seq = seq > 0 ? (uint64_t)seq : 0, .line = copy, .len = len};
    r->next_cursor = seq > 0 ? (uint64_t)seq : r->next_cursor;
    return true;
}

int zt_aq_search(const char *const *files, size_t n, const zt_aq_search_opts *o, zt_aq_result *out)
{
    collect c = {.res = out, .limit = o->limit};
    int rc = zt_aq_each(files, n, o, collect_hit, &c, out);
    if (c.err != 0) {
        zt_aq_result_dispose(out);
        return c.err;
    }
    return rc;
}

void zt_aq_result_dispose(zt_aq_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->hits[i].line);
    free(r->hits);
    memset(r, 0, sizeof(*r));
}

/* ---- on the thread pool ---- */

typedef struct search_job {
    uv_work_t work;
    char *live;
    zt_aq_search_opts o;
    zt_aq_result res;
    int rc;
    zt_aq_search_cb cb;
    void *arg;
} search_job;

static void search_work(uv_work_t *w)
{
    search_job *j = w->data;
    char **files = NULL;
    long n = zt_aq_log_files(j->live, &files);
    if (n < 0) {
        j->rc = (int)n;
        return;
    }
    j->rc = zt_aq_search((const char *const *)files, (size_t)n, &j->o, &j->res);
    zt_aq_files_free(files, (size_t)n);
}

static void search_done(uv_work_t *w, int status)
{
    search_job *j = w->data;
    j->cb(j->arg, status < 0 ? status : j->rc, &j->res);
    zt_aq_result_dispose(&j->res);
    free(j->live);
    free(j);
}

int zt_aq_search_async(struct uv_loop_s *loop, const char *live, const zt_aq_search_opts *o,
                       zt_aq_search_cb cb, void *arg)
{
    search_job *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->live = strdup(live)) == NULL) {
        free(j);
        return -ENOMEM;
    }
    j->o = *o;
    j->o.malformed = NULL; /* counted only: the callback would run on the pool's thread */
    j->cb = cb;
    j->arg = arg;
    j->work.data = j;
    int rc = uv_queue_work(loop, &j->work, search_work, search_done);
    if (rc != 0) {
        free(j->live);
        free(j);
    }
    return rc;
}
