/* The scheduled sync: one thread of its own (libldap blocks, and a full read of a large
 * directory takes long enough that it must not hold a libuv pool thread others wait on), which
 * syncs each directory with a sync_interval when it is due, the first time at start. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/log.h"
#include "directory/directory_int.h"
#include "lib/time.h"

struct zt_dir_syncer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    zt_directories *ds;
    zt_account_env env;
    int64_t *due_ms; /* per directory; 0 = never (no sync_interval) */
    zt_dir_sync_mine_fn mine;
    void *mine_ctx;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep until the earliest due time or until stopped; true when stopped. */
static bool wait_next(zt_dir_syncer *s)
{
    int64_t next = 0;
    for (size_t i = 0; i < s->ds->n; i++)
        if (s->due_ms[i] > 0 && (next == 0 || s->due_ms[i] < next))
            next = s->due_ms[i];
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        int64_t now = mono_ms();
        if (next > 0 && now >= next)
            break;
        if (next == 0) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = next - now;
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (wait % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static void *run(void *arg)
{
    zt_dir_syncer *s = arg;
    while (!wait_next(s)) {
        int64_t now = mono_ms();
        for (size_t i = 0; i < s->ds->n; i++) {
            if (s->due_ms[i] == 0 || s->due_ms[i] > now)
                continue;
            int64_t every = (int64_t)s->ds->d[i].sync_interval_ms;
            if (s->mine != NULL && !s->mine(s->mine_ctx)) {
                /* Another gateway holds the sync's lease; ours may come when it goes. */
                s->due_ms[i] =
                    now + (every < ZT_DIR_SYNC_RECHECK_MS ? every : ZT_DIR_SYNC_RECHECK_MS);
                continue;
            }
            zt_dir_sync_stats st;
            zt_directory_sync(&s->env, &s->ds->d[i], &st);
            s->due_ms[i] = mono_ms() + every;
        }
    }
    return NULL;
}

zt_dir_syncer *zt_directory_sync_start(zt_directories *ds, const zt_account_env *env,
                                       zt_dir_sync_mine_fn mine, void *mine_ctx)
{
    if (ds == NULL || ds->n == 0)
        return NULL;
    zt_dir_syncer *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->due_ms = calloc(ds->n, sizeof(int64_t))) == NULL) {
        free(s);
        return NULL;
    }
    s->ds = ds;
    s->env = *env;
    s->mine = mine;
    s->mine_ctx = mine_ctx;
    bool any = false;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->d[i].sync_interval_ms > 0) {
            s->due_ms[i] = mono_ms(); /* the first sync at start */
            any = true;
        }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!any || pthread_create(&s->thread, NULL, run, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s->due_ms);
        free(s);
        return NULL;
    }
    pthread_setname_np(s->thread, "ztgate-ldap");
    return s;
}

void zt_directory_sync_stop(zt_dir_syncer *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->due_ms);
    free(s);
}
