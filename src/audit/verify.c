/* Offline verification of the audit chain, and the record framing it shares with the writer.
 * Works on bytes only (mmap or a caller's buffer) and stops at the first problem, naming the seq;
 * it must survive any input, so every length is checked before it is read. */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/chain.h"
#include "lib/str.h"

#define SEQ_PREFIX "{\"seq\":"
#define PREV_KEY ",\"prev\":\""
#define HASH_KEY ",\"hash\":\""
#define CP_MARK ",\"type\":\"checkpoint\""
#define MAX_SEQ_DIGITS 20
#define REORDER_LOOKAHEAD 4096 /* lines searched for a missing seq before calling it deleted */

/* ---- record framing (shared with writer.c through chain.h) ---- */

bool zt_audit_is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Parse `{"seq":N,` at the start of line; returns the offset of the ',' or 0. */
static size_t parse_seq(const char *line, size_t len, uint64_t *seq)
{
    size_t p = sizeof(SEQ_PREFIX) - 1;
    if (len <= p || memcmp(line, SEQ_PREFIX, p) != 0 || line[p] < '1' || line[p] > '9')
        return 0;
    size_t d = p;
    while (d < len && d - p <= MAX_SEQ_DIGITS && line[d] >= '0' && line[d] <= '9')
        d++;
    unsigned long long v;
    if (d >= len || line[d] != ',' || !zt_parse_u64(line + p, d - p, UINT64_MAX, &v))
        return 0;
    *seq = v;
    return d;
}

uint64_t zt_audit_line_seq(const char *line, size_t len)
{
    uint64_t seq = 0;
    return parse_seq(line, len, &seq) ? seq : 0;
}

bool zt_audit_line_parse(const char *line, size_t len, zt_audit_line *out)
{
    uint64_t seq;
    size_t p = parse_seq(line, len, &seq);
    size_t kl = sizeof(PREV_KEY) - 1;
    if (p == 0 || len - p < kl + ZT_AUDIT_HEX + 1 || memcmp(line + p, PREV_KEY, kl) != 0)
        return false;
    const char *prev = line + p + kl;
    p += kl + ZT_AUDIT_HEX;
    if (!zt_audit_is_hex(prev, ZT_AUDIT_HEX) || line[p] != '"')
        return false;
    p++;
    if (len < p + ZT_AUDIT_SUFFIX_LEN)
        return false;
    size_t hl = len - ZT_AUDIT_SUFFIX_LEN; /* where `,"hash":"` starts */
    const char *hash = line + hl + sizeof(HASH_KEY) - 1;
    if (memcmp(line + hl, HASH_KEY, sizeof(HASH_KEY) - 1) != 0 ||
        !zt_audit_is_hex(hash, ZT_AUDIT_HEX) || memcmp(hash + ZT_AUDIT_HEX, "\"}", 2) != 0)
        return false;
    if (hl > p && line[p] != ',')
        return false;
    size_t cl = sizeof(CP_MARK) - 1;
    *out = (zt_audit_line){.seq = seq,
                           .prev = prev,
                           .hash = hash,
                           .hashed_len = hl,
                           .checkpoint = hl - p >= cl && memcmp(line + p, CP_MARK, cl) == 0};
    return true;
}

/* OpenSSL's SHA-256 (SHA-NI / AVX2 where the CPU has them; libsodium's is portable C): the
 * writer hashes every record on the request path's audit thread. One context per thread, freed
 * when the thread ends. */
static pthread_key_t hash_ctx_key;
static pthread_once_t hash_ctx_once = PTHREAD_ONCE_INIT;
static bool hash_ctx_key_ok;

static void hash_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void hash_ctx_key_make(void)
{
    hash_ctx_key_ok = pthread_key_create(&hash_ctx_key, hash_ctx_free) == 0;
}

static EVP_MD_CTX *hash_ctx(void)
{
    pthread_once(&hash_ctx_once, hash_ctx_key_make);
    if (!hash_ctx_key_ok)
        return NULL;
    EVP_MD_CTX *ctx = pthread_getspecific(hash_ctx_key);
    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx != NULL && pthread_setspecific(hash_ctx_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            ctx = NULL;
        }
    }
    return ctx;
}

bool zt_audit_line_hash(const char *prev_hex, const char *line, size_t hashed_len, char *out)
{
    EVP_MD_CTX *ctx = hash_ctx();
    unsigned char h[32];
    unsigned int hn = 0;
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, prev_hex, ZT_AUDIT_HEX) != 1 || EVP_DigestUpdate(ctx, "\n", 1) != 1 ||
        EVP_DigestUpdate(ctx, line, hashed_len) != 1 || EVP_DigestUpdate(ctx, "}", 1) != 1 ||
        EVP_DigestFinal_ex(ctx, h, &hn) != 1 || hn != 32) {
        /* Not hex: the writer refuses the record (its log fails, closed) and the verifier
         * reports a mismatch; never a digest that looks right. */
        memset(out, 'x', ZT_AUDIT_HEX);
        out[ZT_AUDIT_HEX] = '\0';
        return false;
    }
    sodium_bin2hex(out, ZT_AUDIT_HEX + 1, h, sizeof(h));
    return true;
}

int zt_audit_cp_message(zt_buf *out, uint64_t seq, uint64_t count, const char *head_hex,
                        const char *time, size_t time_len)
{
    return zt_buf_printf(
        out, "ztgate audit checkpoint v1\nseq %llu\ncount %llu\nhead %.64s\ntime %.*s\n",
        (unsigned long long)seq, (unsigned long long)count, head_hex, (int)time_len, time);
}

void zt_audit_key_id(const unsigned char pk[32], char out[ZT_AUDIT_KEY_ID_HEX + 1])
{
    sodium_bin2hex(out, ZT_AUDIT_KEY_ID_HEX + 1, pk, ZT_AUDIT_KEY_ID_HEX / 2);
}

/* ---- verifier ---- */

typedef struct verifier {
    const unsigned char *pk;
    char key_id[ZT_AUDIT_KEY_ID_HEX + 1];
    unsigned flags;
    zt_audit_report *rep;
    const char *name; /* current file, NULL for a buffer */
    size_t file_index;
    uint64_t line_no;
    bool started;
    bool last_was_cp;
    uint64_t expect;
    char head[ZT_AUDIT_HEX + 1];
} verifier;

static int problem(verifier *v, zt_audit_problem kind, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int problem(verifier *v, zt_audit_problem kind, uint64_t seq, const char *fmt, ...)
{
    zt_audit_report *r = v->rep;
    r->problem = kind;
    r->seq = seq;
    r->file_index = v->file_index;
    r->line = v->line_no;
    int n = snprintf(r->detail, sizeof(r->detail), "seq %llu: ", (unsigned long long)seq);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(r->detail))
        n += vsnprintf(r->detail + n, sizeof(r->detail) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof(r->detail) && v->name != NULL)
        snprintf(r->detail + n, sizeof(r->detail) - (size_t)n, " [%s:%llu]", v->name,
                 (unsigned long long)v->line_no);
    return kind == ZT_AUDIT_IO ? -EIO : -EBADMSG;
}

static void verifier_init(verifier *v, const unsigned char *pk, unsigned flags,
                          zt_audit_report *rep)
{
    memset(v, 0, sizeof(*v));
    memset(rep, 0, sizeof(*rep));
    v->pk = pk;
    v->flags = flags;
    v->rep = rep;
    if (pk != NULL)
        zt_audit_key_id(pk, v->key_id);
    rep->signatures_checked = pk != NULL;
}

/* Does a line with `seq` start somewhere in [p, end) within the look-ahead window? */
static bool appears_later(const char *p, const char *end, uint64_t seq)
{
    for (unsigned i = 0; i < REORDER_LOOKAHEAD && p < end; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (zt_audit_line_seq(p, n) == seq)
            return true;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return false;
}

static const char *jstr(json_t *o, const char *key, size_t want)
{
    json_t *s = json_object_get(o, key);
    const char *p = json_string_value(s);
    if (p == NULL || (want != 0 && json_string_length(s) != want))
        return NULL;
    return p;
}

static int check_signature(verifier *v, const zt_audit_line *l, json_t *cp, const char *head)
{
    const char *key_id = jstr(cp, "key_id", ZT_AUDIT_KEY_ID_HEX);
    const char *sighex = jstr(cp, "sig", ZT_AUDIT_SIG_HEX);
    const char *time = jstr(cp, "time", 0);
    unsigned char sig[crypto_sign_BYTES];
    size_t got = 0;
    if (key_id == NULL || sighex == NULL || time == NULL ||
        sodium_hex2bin(sig, sizeof(sig), sighex, ZT_AUDIT_SIG_HEX, NULL, &got, NULL) != 0 ||
        got != sizeof(sig))
        return problem(v, ZT_AUDIT_BAD_CHECKPOINT, l->seq, "checkpoint lacks key_id/sig/time");
    if (v->pk == NULL)
        return 0;
    if (strcmp(key_id, v->key_id) != 0)
        return problem(v, ZT_AUDIT_FOREIGN_KEY, l->seq,
                       "checkpoint signed by another key (key_id %s, expected %s)", key_id,
                       v->key_id);
    zt_buf msg;
    zt_buf_init(&msg, 0);
    int rc = zt_audit_cp_message(&msg, l->seq, l->seq - 1, head, time,
                                 json_string_length(json_object_get(cp, "time")));
    bool ok = rc == 0 && crypto_sign_verify_detached(sig, (const unsigned char *)msg.data, msg.len,
                                                     v->pk) == 0;
    zt_buf_dispose(&msg);
    if (ok)
        return 0;
    zt_audit_report *r = v->rep;
    r->from = r->last_checkpoint_seq ? r->last_checkpoint_seq + 1 : r->first_seq;
    r->to = l->seq - 1;
    return problem(v, ZT_AUDIT_BAD_SIGNATURE, l->seq,
                   "checkpoint signature invalid: records %llu..%llu were altered and re-chained",
                   (unsigned long long)r->from, (unsigned long long)r->to);
}

static int check_checkpoint(verifier *v, const char *line, size_t len, const zt_audit_line *l)
{
    json_error_t jerr;
    json_t *cp = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (cp == NULL || !json_is_object(cp)) {
        json_decref(cp);
        return problem(v, ZT_AUDIT_BAD_CHECKPOINT, l->seq, "checkpoint is not valid JSON");
    }
    int rc = 0;
    const char *head = jstr(cp, "head", ZT_AUDIT_HEX);
    json_t *count = json_object_get(cp, "count");
    if (head == NULL || memcmp(head, l->prev, ZT_AUDIT_HEX) != 0)
        rc =
            problem(v, ZT_AUDIT_BAD_CHECKPOINT, l->seq, "checkpoint head is not the previous hash");
    else if (!json_is_integer(count) || (uint64_t)json_integer_value(count) != l->seq - 1)
        rc = problem(v, ZT_AUDIT_BAD_CHECKPOINT, l->seq, "checkpoint count is not seq-1");
    else
        rc = check_signature(v, l, cp, head);
    json_decref(cp);
    return rc;
}

/* Expected seq missing: a gap, a reordering, a repeat, or (at a file start) a file swap. */
static int seq_problem(verifier *v, const zt_audit_line *l, const char *rest, const char *end)
{
    uint64_t e = v->expect;
    if (v->line_no == 1 && v->file_index > 0)
        return problem(v, ZT_AUDIT_FILE_ORDER, e,
                       "file starts at seq %llu, expected %llu (files swapped or missing)",
                       (unsigned long long)l->seq, (unsigned long long)e);
    if (l->seq < e)
        return problem(v, ZT_AUDIT_INSERTED, l->seq, "inserted record (seq %llu repeated)",
                       (unsigned long long)l->seq);
    if (appears_later(rest, end, e))
        return problem(v, ZT_AUDIT_REORDERED, e, "reordered (found after seq %llu)",
                       (unsigned long long)l->seq);
    v->rep->from = e;
    v->rep->to = l->seq - 1;
    return problem(v, ZT_AUDIT_DELETED, e, "deleted record(s) %llu..%llu", (unsigned long long)e,
                   (unsigned long long)(l->seq - 1));
}

static void start_chain(verifier *v, const zt_audit_line *l)
{
    v->started = true;
    v->expect = l->seq;
    v->rep->first_seq = l->seq;
    /* A log whose older files are gone starts from the prev it states; every later checkpoint
     * still signs a head that chains back to it. seq 1 must start from the genesis hash. */
    memcpy(v->head, l->seq == 1 ? ZT_AUDIT_GENESIS : l->prev, ZT_AUDIT_HEX);
}

static int check_line(verifier *v, const char *line, size_t len, const char *rest, const char *end)
{
    zt_audit_line l;
    if (!zt_audit_line_parse(line, len, &l))
        return problem(v, ZT_AUDIT_MALFORMED, v->started ? v->expect : 0,
                       "malformed record (not a ztgate audit line)");
    if (!v->started) {
        if (l.seq != 1 && (v->flags & ZT_AUDIT_VERIFY_FROM_GENESIS)) {
            v->rep->from = 1;
            v->rep->to = l.seq - 1;
            return problem(v, ZT_AUDIT_DELETED, 1,
                           "deleted record(s) 1..%llu (log does not start at seq 1)",
                           (unsigned long long)(l.seq - 1));
        }
        start_chain(v, &l);
    }
    if (l.seq != v->expect)
        return seq_problem(v, &l, rest, end);
    if (memcmp(l.prev, v->head, ZT_AUDIT_HEX) != 0) {
        if (v->line_no == 1 && v->file_index > 0)
            return problem(v, ZT_AUDIT_FILE_ORDER, l.seq,
                           "file does not continue the previous file's chain (from another log?)");
        return problem(v, ZT_AUDIT_CHAIN_BROKEN, l.seq, "chain broken (prev mismatch)");
    }
    char h[ZT_AUDIT_HEX + 1];
    zt_audit_line_hash(v->head, line, l.hashed_len, h);
    if (memcmp(h, l.hash, ZT_AUDIT_HEX) != 0)
        return problem(v, ZT_AUDIT_MODIFIED, l.seq, "modified (hash mismatch)");
    if (l.checkpoint) {
        int rc = check_checkpoint(v, line, len, &l);
        if (rc < 0)
            return rc;
        v->rep->checkpoints++;
        v->rep->last_checkpoint_seq = l.seq;
    }
    memcpy(v->head, l.hash, ZT_AUDIT_HEX);
    v->expect = l.seq + 1;
    v->last_was_cp = l.checkpoint;
    v->rep->records++;
    v->rep->last_seq = l.seq;
    return 0;
}

/* Rotated files are named <log>.<first seq>; a name that disagrees means a swapped file. */
static int check_name(verifier *v, uint64_t first)
{
    const char *dot = v->name ? strrchr(v->name, '.') : NULL;
    unsigned long long named;
    if (dot == NULL || !zt_parse_u64(dot + 1, strlen(dot + 1), UINT64_MAX, &named) ||
        named == first)
        return 0;
    return problem(v, ZT_AUDIT_FILE_ORDER, first, "file is named for seq %llu", named);
}

static int verify_chunk(verifier *v, const char *data, size_t len, bool last)
{
    const char *p = data;
    const char *end = data + len;
    v->line_no = 0;
    v->last_was_cp = false;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        v->line_no++;
        if (nl == NULL)
            return problem(v, ZT_AUDIT_TRUNCATED, v->expect,
                           "truncated after seq %llu (partial last line)",
                           (unsigned long long)v->rep->last_seq);
        int rc = check_line(v, p, (size_t)(nl - p), nl + 1, end);
        if (rc == 0 && v->line_no == 1)
            rc = check_name(v, v->rep->last_seq);
        if (rc < 0)
            return rc;
        p = nl + 1;
    }
    if (last && !(v->flags & ZT_AUDIT_VERIFY_SEALED))
        return 0;
    if (len == 0 && !last)
        return problem(v, ZT_AUDIT_TRUNCATED, v->expect, "file is empty");
    if (!v->last_was_cp && v->started)
        return problem(v, ZT_AUDIT_TRUNCATED, v->expect,
                       "truncated after seq %llu (no closing checkpoint)",
                       (unsigned long long)v->rep->last_seq);
    return 0;
}

int zt_audit_verify_buf(const char *data, size_t len, const unsigned char *pk, unsigned flags,
                        zt_audit_report *rep)
{
    verifier v;
    verifier_init(&v, pk, flags, rep);
    return verify_chunk(&v, data, len, true);
}

static int map_file(const char *path, const char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -errno : 0;
    *data = NULL;
    *len = 0;
    if (rc == 0 && !S_ISREG(st.st_mode))
        rc = -EINVAL;
    if (rc == 0 && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
            rc = -errno;
        else {
            *data = m;
            *len = (size_t)st.st_size;
        }
    }
    close(fd);
    return rc;
}

int zt_audit_verify_files(const char *const *files, size_t n, const unsigned char *pk,
                          unsigned flags, zt_audit_report *rep)
{
    verifier v;
    verifier_init(&v, pk, flags, rep);
    for (size_t i = 0; i < n; i++) {
        const char *data;
        size_t len;
        v.name = files[i];
        v.file_index = i;
        int rc = map_file(files[i], &data, &len);
        if (rc < 0) {
            v.line_no = 0;
            problem(&v, ZT_AUDIT_IO, v.expect, "cannot read: %s", strerror(-rc));
            return rc;
        }
        rc = verify_chunk(&v, data, len, i + 1 == n);
        if (data != NULL)
            munmap((void *)data, len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void zt_audit_report_print(const zt_audit_report *r, FILE *out)
{
    if (r->problem != ZT_AUDIT_OK) {
        fprintf(out, "FAIL: %s\n", r->detail);
        return;
    }
    fprintf(out, "OK: %llu records, %llu checkpoints, last seq %llu",
            (unsigned long long)r->records, (unsigned long long)r->checkpoints,
            (unsigned long long)r->last_seq);
    if (r->first_seq > 1)
        fprintf(out, "; starts at seq %llu (earlier files not given)",
                (unsigned long long)r->first_seq);
    if (r->last_seq > r->last_checkpoint_seq)
        fprintf(out,
                "; seq %llu..%llu follow the last checkpoint and are protected by the chain only",
                (unsigned long long)(r->last_checkpoint_seq ? r->last_checkpoint_seq + 1
                                                            : r->first_seq),
                (unsigned long long)r->last_seq);
    if (!r->signatures_checked)
        fprintf(out, "; checkpoint signatures NOT checked (no public key)");
    fputc('\n', out);
}

int zt_audit_load_pubkey(const char *file, unsigned char pk[32], char *err, size_t errlen)
{
    char buf[256];
    FILE *f = fopen(file, "re");
    if (f == NULL) {
        snprintf(err, errlen, "open %s: %s", file, strerror(errno));
        return -errno;
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    size_t got = 0;
    if (n != 64 || sodium_hex2bin(pk, 32, buf, n, NULL, &got, NULL) != 0 || got != 32) {
        snprintf(err, errlen, "%s: expected 64 hex characters (an Ed25519 public key)", file);
        return -EINVAL;
    }
    return 0;
}

int zt_audit_verify(const char *const *files, size_t n, const char *pubkey_file, unsigned flags,
                    FILE *out)
{
    unsigned char pk[32];
    char err[300];
    if (pubkey_file != NULL && zt_audit_load_pubkey(pubkey_file, pk, err, sizeof(err)) < 0) {
        fprintf(out, "FAIL: %s\n", err);
        return -EINVAL;
    }
    zt_audit_report rep;
    int rc = zt_audit_verify_files(files, n, pubkey_file ? pk : NULL, flags, &rep);
    zt_audit_report_print(&rep, out);
    return rc;
}

/* ---- reading helpers ---- */

int zt_audit_tail(const char *file, size_t n, FILE *out)
{
    const char *data;
    size_t len;
    int rc = map_file(file, &data, &len);
    if (rc < 0 || len == 0)
        return rc;
    size_t start = len;
    size_t seen = 0;
    if (data[start - 1] == '\n')
        start--;
    while (start > 0 && seen < n) {
        if (data[start - 1] == '\n' && ++seen == n)
            break;
        start--;
    }
    if (fwrite(data + start, 1, len - start, out) != len - start)
        rc = -EIO;
    munmap((void *)data, len);
    return rc;
}

/* Follow a dotted path through nested objects. */
static json_t *json_path(json_t *o, const char *path)
{
    const char *p = path;
    while (o != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        o = json_object_getn(o, p, n);
        p += n + (dot != NULL);
    }
    return o;
}

static bool json_matches(json_t *v, const char *want)
{
    char num[32];
    if (json_is_string(v))
        return strcmp(json_string_value(v), want) == 0;
    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        return strcmp(num, want) == 0;
    }
    if (json_is_boolean(v))
        return strcmp(json_is_true(v) ? "true" : "false", want) == 0;
    return false;
}

static long search_buf(const char *data, size_t len, const char *path, const char *value, FILE *out)
{
    long hits = 0;
    for (const char *p = data, *end = data + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *o = json_loadb(p, n, 0, NULL);
        if (o != NULL && json_matches(json_path(o, path), value)) {
            fwrite(p, 1, n, out);
            fputc('\n', out);
            hits++;
        }
        json_decref(o);
        p += n + 1;
    }
    return hits;
}

long zt_audit_search(const char *const *files, size_t n, const char *path, const char *value,
                     FILE *out)
{
    long hits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *data;
        size_t len;
        int rc = map_file(files[i], &data, &len);
        if (rc < 0)
            return rc;
        if (len > 0) {
            hits += search_buf(data, len, path, value, out);
            munmap((void *)data, len);
        }
    }
    return hits;
}
