/* Passwords: NFKC normalisation (libunistring), policy, argon2id (libsodium), and a bounded queue
 * of hash/verify jobs over libuv's thread pool. Every copy of a password is wiped after use. */
#include "identity/password.h"

#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uninorm.h>
#include <unistr.h>

#include "lib/secure.h"
#include "lib/str.h"
#include "lib/time.h"

#define MIB ((size_t)1 << 20)
#define OWASP_MIN_MEM (7 * MIB)         /* the lowest-memory OWASP row: m=7 MiB, t=5 */
#define OWASP_MIN_MEM_PASSES (35 * MIB) /* every OWASP row has m*t >= 35 MiB */
#define MEMLIMIT_MAX ((size_t)1 << 30)  /* also the most a stored string may ask of verify */
#define NORM_STACK 4096                 /* NFKC output that fits here is never malloc'd */
#define DEFAULT_MAX_IN_FLIGHT 64

/* ---- normalisation ---- */

typedef struct norm {
    uint8_t *p;
    size_t n;
    uint8_t buf[NORM_STACK];
} norm;

static void norm_dispose(norm *nm)
{
    if (nm->p != NULL) {
        zt_wipe(nm->p, nm->n);
        if (nm->p != nm->buf)
            free(nm->p);
    }
    zt_wipe(nm->buf, sizeof(nm->buf));
    nm->p = NULL;
}

/* NFKC form of pw into nm (dispose afterwards in every case). A verdict or -ENOMEM. */
static int normalize(const char *pw, size_t len, norm *nm)
{
    nm->p = NULL;
    nm->n = 0;
    if (len > ZT_PASSWORD_MAX_BYTES)
        return ZT_PASSWORD_TOO_LONG;
    if (u8_check((const uint8_t *)pw, len) != NULL)
        return ZT_PASSWORD_INVALID_UTF8;
    if (memchr(pw, 0, len) != NULL)
        return ZT_PASSWORD_CONTROL;
    if (len == 0) {
        nm->p = nm->buf;
        return ZT_PASSWORD_OK;
    }
    size_t n = sizeof(nm->buf);
    uint8_t *r = u8_normalize(UNINORM_NFKC, (const uint8_t *)pw, len, nm->buf, &n);
    if (r == NULL)
        return -ENOMEM;
    nm->p = r;
    nm->n = n;
    return ZT_PASSWORD_OK;
}

static const char *verdict_text(int v)
{
    switch (v) {
    case ZT_PASSWORD_OK:
        return "acceptable";
    case ZT_PASSWORD_INVALID_UTF8:
        return "the password is not valid UTF-8 text";
    case ZT_PASSWORD_CONTROL:
        return "the password contains a NUL character";
    case ZT_PASSWORD_TOO_SHORT:
        return "the password is too short";
    case ZT_PASSWORD_TOO_LONG:
        return "the password is too long";
    case ZT_PASSWORD_BREACHED:
        return "the password appears in a list of breached passwords; choose another one";
    default:
        return "out of memory";
    }
}

/* ---- parameters and policy ---- */

bool zt_password_params_ok(const zt_password_params *p, const char **why)
{
    const char *w = NULL;
    if (p->opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
        p->opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX)
        w = "argon2id opslimit out of range";
    else if (p->memlimit < OWASP_MIN_MEM)
        w = "argon2id memlimit below OWASP's minimum (7 MiB)";
    else if (p->memlimit > MEMLIMIT_MAX)
        w = "argon2id memlimit above 1 GiB";
    /* opslimit < 35 here, so the product cannot overflow. */
    else if (p->opslimit < 35 && p->memlimit * p->opslimit < OWASP_MIN_MEM_PASSES)
        w = "argon2id cost below OWASP's minimum (memory x passes >= 35 MiB, e.g. 19 MiB x 2)";
    if (why != NULL)
        *why = w;
    return w == NULL;
}

int zt_password_check(const char *pw, size_t len, const zt_password_policy *policy,
                      const zt_breach *corpus, const char **why)
{
    zt_password_policy pol = policy != NULL ? *policy : ZT_PASSWORD_POLICY_DEFAULT;
    norm nm;
    int v = normalize(pw, len, &nm);
    if (v != ZT_PASSWORD_OK)
        goto out;
    size_t chars = 0, chars_min = 0, off = 0;
    ucs4_t prev = 0;
    while (off < nm.n) {
        ucs4_t c;
        off += (size_t)u8_mbtouc(&c, nm.p + off, nm.n - off);
        chars++;
        if (!(c == ' ' && prev == ' '))
            chars_min++;
        prev = c;
    }
    if (chars_min < pol.min_chars)
        v = ZT_PASSWORD_TOO_SHORT;
    else if (chars > pol.max_chars)
        v = ZT_PASSWORD_TOO_LONG;
    else if (zt_breach_contains_password(corpus, pw, len) ||
             zt_breach_contains_password(corpus, nm.p, nm.n))
        v = ZT_PASSWORD_BREACHED;
out:
    norm_dispose(&nm);
    if (why != NULL)
        *why = verdict_text(v);
    return v;
}

/* ---- hash and verify ---- */

int zt_password_hash(const char *pw, size_t len, const zt_password_params *params,
                     char out[ZT_PASSWORD_ENCODED_MAX])
{
    zt_password_params p = params != NULL ? *params : ZT_PASSWORD_PARAMS_DEFAULT;
    if (!zt_password_params_ok(&p, NULL))
        return -EINVAL;
    norm nm;
    int v = normalize(pw, len, &nm);
    int rc = v == ZT_PASSWORD_OK ? 0 : v < 0 ? v : -EINVAL;
    if (rc == 0 && crypto_pwhash_str_alg(out, (const char *)nm.p, nm.n, p.opslimit, p.memlimit,
                                         crypto_pwhash_ALG_ARGON2ID13) != 0)
        rc = -ENOMEM; /* libsodium's only failure with valid parameters */
    norm_dispose(&nm);
    return rc;
}

/* Accept only "$argon2id$v=19$m=M,t=T,p=1$" with M within MEMLIMIT_MAX, so a corrupt or hostile
 * stored string cannot make verify allocate without bound. */
static bool encoded_ok(const char *e)
{
    static const char pre[] = "$argon2id$v=19$m=";
    if (e == NULL || strnlen(e, ZT_PASSWORD_ENCODED_MAX) >= ZT_PASSWORD_ENCODED_MAX ||
        strncmp(e, pre, sizeof(pre) - 1) != 0)
        return false;
    const char *m = e + sizeof(pre) - 1;
    size_t n = strspn(m, "0123456789");
    unsigned long long kib;
    return zt_parse_u64(m, n, MEMLIMIT_MAX / 1024, &kib) && m[n] == ',';
}

bool zt_password_verify(const char *encoded, const char *pw, size_t len)
{
    if (!encoded_ok(encoded))
        return false;
    norm nm;
    bool ok = normalize(pw, len, &nm) == ZT_PASSWORD_OK &&
              crypto_pwhash_argon2id_str_verify(encoded, (const char *)nm.p, nm.n) == 0;
    norm_dispose(&nm);
    return ok;
}

bool zt_password_needs_rehash(const char *encoded, const zt_password_params *params)
{
    zt_password_params p = params != NULL ? *params : ZT_PASSWORD_PARAMS_DEFAULT;
    if (!encoded_ok(encoded))
        return true;
    return crypto_pwhash_argon2id_str_needs_rehash(encoded, p.opslimit, p.memlimit) != 0;
}

/* ---- the pool ----
 *
 * Own threads rather than libuv's shared pool: their number is ours (each running argon2id holds
 * params.memlimit bytes, so threads x memlimit is the whole hashing memory), they never hold up
 * libuv's file-system or DNS work, and they run at a lower CPU priority than the event loops.
 * Jobs wait in one FIFO; max_in_flight bounds queued + running jobs; a finished job wakes its
 * loop through its own uv_async_t, so done runs on the loop that submitted it. */

struct zt_password_pool {
    zt_password_params params;
    unsigned max_in_flight;
    atomic_uint in_flight;
    char dummy[ZT_PASSWORD_ENCODED_MAX]; /* hash of a random password nobody knows */
    int nice;
    unsigned duty; /* percent, 1..100 */
    unsigned n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct job *head, *tail; /* queued, not yet taken by a thread; under mu */
    bool stopping;           /* under mu: no new jobs, queued ones are cancelled */
    unsigned ready;          /* under mu: threads named and at their priority */
};

typedef struct job {
    uv_async_t done_async; /* first member: the handle's address is the job's */
    struct job *next;
    zt_password_pool *pool;
    bool hash;    /* else verify */
    bool unknown; /* verify against the dummy hash */
    int result;
    void (*verify_done)(void *ctx, int result);
    void (*hash_done)(void *ctx, int result, const char *encoded);
    void *ctx;
    char encoded[ZT_PASSWORD_ENCODED_MAX];
    size_t pwlen;
    char pw[]; /* wiped as soon as the worker is done with it */
} job;

unsigned zt_password_pool_in_flight(const zt_password_pool *pool)
{
    return atomic_load(&((zt_password_pool *)pool)->in_flight);
}

void zt_password_dummy_verify(const zt_password_pool *pool, const char *pw, size_t len)
{
    /* The answer is known (no): only the time it takes matters. */
    bool ok = zt_password_verify(pool->dummy, pw, len);
    (void)ok;
}

static void run_job(job *j)
{
    if (j->hash) {
        j->result = zt_password_hash(j->pw, j->pwlen, &j->pool->params, j->encoded);
    } else if (j->unknown) {
        zt_password_dummy_verify(j->pool, j->pw, j->pwlen);
        j->result = ZT_PASSWORD_MISMATCH;
    } else {
        bool ok = zt_password_verify(j->encoded, j->pw, j->pwlen);
        j->result = ok ? ZT_PASSWORD_MATCH : ZT_PASSWORD_MISMATCH;
    }
    zt_wipe(j->pw, j->pwlen);
}

static void job_closed(uv_handle_t *h)
{
    job *j = (job *)(void *)h;
    zt_wipe(j, sizeof(*j) + j->pwlen);
    free(j);
}

/* On the submitting loop's thread, once the job ran or was cancelled. */
static void job_finished(uv_async_t *a)
{
    job *j = (job *)(void *)a;
    /* Release the slot first: done may queue a follow-up job (a rehash). */
    atomic_fetch_sub(&j->pool->in_flight, 1);
    if (j->hash)
        j->hash_done(j->ctx, j->result, j->result == 0 ? j->encoded : NULL);
    else
        j->verify_done(j->ctx, j->result);
    uv_close((uv_handle_t *)&j->done_async, job_closed);
}

/* Below the event loops, never below "gets some CPU": nice is the weight the scheduler gives the
 * thread (nice 10 is about a tenth of a nice-0 loop's share on a contended core) and SCHED_BATCH
 * stops a hash that becomes runnable from preempting a loop. SCHED_IDLE has the lowest weight of
 * all (3 against 1024): under a saturated proxy a 100 ms hash would take half a minute and every
 * sign-in, the owner's included, would time out. Linux applies setpriority(PRIO_PROCESS, tid) to
 * the one thread. Lowering one's own priority needs no privilege; should it fail anyway, hashing
 * still works, only at normal priority. */
static void lower_priority(int nice)
{
    struct sched_param sp = {.sched_priority = 0};
    (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
    if (nice > 0)
        (void)setpriority(PRIO_PROCESS, (id_t)gettid(), nice);
}

/* The duty cycle's pause (under mu): over at its end or when the pool stops. */
static void rest(zt_password_pool *pool, uint64_t us)
{
    if (us == 0)
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(us / 1000000);
    until.tv_nsec += (long)(us % 1000000) * 1000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    while (!pool->stopping && pthread_cond_timedwait(&pool->wake, &pool->mu, &until) != ETIMEDOUT)
        ;
}

static void *hash_thread(void *arg)
{
    zt_password_pool *pool = arg;
    (void)pthread_setname_np(pthread_self(), "ztgate-hash"); /* as top -H and ps -L show it */
    lower_priority(pool->nice);
    pthread_mutex_lock(&pool->mu);
    pool->ready++;
    pthread_cond_broadcast(&pool->wake); /* start_threads waits for this */
    for (;;) {
        while (pool->head == NULL && !pool->stopping)
            pthread_cond_wait(&pool->wake, &pool->mu);
        job *j = pool->head;
        if (j == NULL)
            break; /* stopping and nothing left to run */
        pool->head = j->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pthread_mutex_unlock(&pool->mu);
        uint64_t t0 = zt_mono_us();
        run_job(j);
        uint64_t took = zt_mono_us() - t0;
        uv_async_send(&j->done_async);
        pthread_mutex_lock(&pool->mu);
        rest(pool, took * (100 - pool->duty) / pool->duty);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

/* n_threads counts the threads actually running, so free joins exactly those. */
static int start_threads(zt_password_pool *pool, unsigned want)
{
    pool->threads = calloc(want, sizeof(*pool->threads));
    if (pool->threads == NULL)
        return -ENOMEM;
    for (; pool->n_threads < want; pool->n_threads++) {
        int rc = pthread_create(&pool->threads[pool->n_threads], NULL, hash_thread, pool);
        if (rc != 0)
            return -rc;
    }
    /* Back to the caller only once every thread runs at its priority, so no job and no
     * observer (ps -L) ever sees one at the loops' priority. */
    pthread_mutex_lock(&pool->mu);
    while (pool->ready < pool->n_threads)
        pthread_cond_wait(&pool->wake, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
    return 0;
}

static zt_password_pool *pool_fail(zt_password_pool *pool, const char *reason, const char **why)
{
    if (why != NULL)
        *why = reason;
    zt_password_pool_free(pool);
    return NULL;
}

zt_password_pool *zt_password_pool_new(const zt_password_pool_cfg *cfg, const char **why)
{
    if (!zt_password_params_ok(&cfg->params, why))
        return NULL;
    unsigned threads = cfg->threads > 0 ? cfg->threads : 1;
    if (threads > ZT_PASSWORD_THREADS_MAX || cfg->nice < 0 || cfg->nice > 19 || cfg->duty > 100 ||
        cfg->params.memlimit * threads > MEMLIMIT_MAX) {
        if (why != NULL)
            *why = "hashing threads x argon2id memory above 1 GiB, priority outside 0..19 or "
                   "duty above 100 percent";
        return NULL;
    }
    zt_password_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return pool_fail(NULL, "out of memory", why);
    pool->params = cfg->params;
    pool->max_in_flight = cfg->max_in_flight > 0 ? cfg->max_in_flight : DEFAULT_MAX_IN_FLIGHT;
    atomic_init(&pool->in_flight, 0);
    pool->nice = cfg->nice;
    pool->duty = cfg->duty > 0 ? cfg->duty : 100;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->wake, NULL);
    char fake[33];
    zt_random_hex(fake, 16);
    int rc = zt_password_hash(fake, 32, &pool->params, pool->dummy);
    zt_wipe(fake, sizeof(fake));
    if (rc != 0)
        return pool_fail(pool, "could not compute the dummy hash (out of memory?)", why);
    if (start_threads(pool, threads) != 0)
        return pool_fail(pool, "could not start the password hashing threads", why);
    return pool;
}

void zt_password_pool_shutdown(zt_password_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stopping = true;
    job *queued = pool->head;
    pool->head = pool->tail = NULL;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    while (queued != NULL) {
        job *j = queued;
        queued = j->next;
        zt_wipe(j->pw, j->pwlen);
        j->result = -ECANCELED;
        uv_async_send(&j->done_async);
    }
}

void zt_password_pool_free(zt_password_pool *pool)
{
    if (pool == NULL)
        return;
    zt_password_pool_shutdown(pool);
    for (unsigned i = 0; i < pool->n_threads; i++)
        pthread_join(pool->threads[i], NULL);
    free(pool->threads);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mu);
    zt_wipe(pool->dummy, sizeof(pool->dummy));
    free(pool);
}

static bool admit(zt_password_pool *pool)
{
    unsigned cur = atomic_load(&pool->in_flight);
    do {
        if (cur >= pool->max_in_flight)
            return false;
    } while (!atomic_compare_exchange_weak(&pool->in_flight, &cur, cur + 1));
    return true;
}

/* Appends j unless the pool is stopping; -ECANCELED then (done is not called). */
static int enqueue(zt_password_pool *pool, job *j)
{
    pthread_mutex_lock(&pool->mu);
    bool open = !pool->stopping;
    if (open) {
        j->next = NULL;
        if (pool->tail != NULL)
            pool->tail->next = j;
        else
            pool->head = j;
        pool->tail = j;
        pthread_cond_signal(&pool->wake);
    }
    pthread_mutex_unlock(&pool->mu);
    return open ? 0 : -ECANCELED;
}

static job *job_new(zt_password_pool *pool, const char *encoded, const char *pw, size_t pwlen,
                    const job *proto)
{
    job *j = malloc(sizeof(*j) + pwlen);
    if (j == NULL)
        return NULL;
    *j = *proto;
    j->pool = pool;
    j->pwlen = pwlen;
    if (pwlen > 0)
        memcpy(j->pw, pw, pwlen);
    j->encoded[0] = '\0';
    if (encoded != NULL) {
        size_t n = strnlen(encoded, sizeof(j->encoded) - 1);
        memcpy(j->encoded, encoded, n);
        j->encoded[n] = '\0'; /* a longer string is cut and then fails encoded_ok */
    }
    return j;
}

static int submit(zt_password_pool *pool, uv_loop_t *loop, const char *encoded, const char *pw,
                  size_t pwlen, const job *proto)
{
    if (pwlen > ZT_PASSWORD_MAX_BYTES)
        return -E2BIG;
    if (!admit(pool))
        return -EBUSY;
    job *j = job_new(pool, encoded, pw, pwlen, proto);
    if (j == NULL) {
        atomic_fetch_sub(&pool->in_flight, 1);
        return -ENOMEM;
    }
    int rc = uv_async_init(loop, &j->done_async, job_finished);
    if (rc != 0) {
        zt_wipe(j, sizeof(*j) + pwlen);
        free(j);
    } else if ((rc = enqueue(pool, j)) != 0) {
        uv_close((uv_handle_t *)&j->done_async, job_closed); /* wipes and frees j */
    }
    if (rc != 0)
        atomic_fetch_sub(&pool->in_flight, 1);
    return rc;
}

int zt_password_verify_async(zt_password_pool *pool, uv_loop_t *loop, const char *encoded,
                             const char *pw, size_t pwlen, void (*done)(void *ctx, int result),
                             void *ctx)
{
    const job proto = {.unknown = encoded == NULL, .verify_done = done, .ctx = ctx};
    return submit(pool, loop, encoded, pw, pwlen, &proto);
}

int zt_password_hash_async(zt_password_pool *pool, uv_loop_t *loop, const char *pw, size_t pwlen,
                           void (*done)(void *ctx, int result, const char *encoded), void *ctx)
{
    const job proto = {.hash = true, .hash_done = done, .ctx = ctx};
    return submit(pool, loop, NULL, pw, pwlen, &proto);
}
