/* The console's one audit rollup for the process (audit/query.h): per-minute counters of the
 * whole log that the dashboard and the policies page of an unscoped admin answer from. Reading
 * a large log the first time takes seconds (about 4 s for 1,000,000 records), so the gateway
 * starts that count on a thread of its own as it starts serving; pages asked for meanwhile
 * say "counting" instead of waiting on an event loop or holding a thread of the pool. After
 * the first count each page brings the rollup up to date on the pool (what was appended
 * since), as before. At shutdown the count is cancelled, the thread joined, and everything
 * freed. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "console/console.h"
#include "console/rollup.h"
#include "core/log.h"
#include "lib/time.h"

#define MAX_RETIRED 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static zt_aq_rollup *current; /* for current_path; counted when `ready` */
static char current_path[4096];
static pthread_t counter;
static bool counter_joinable;
static atomic_bool ready;
static atomic_bool stopping; /* zt_console_rollup_stop cancelled the count */
/* Rollups of a log the configuration no longer names: pages may still be using them on the
 * pool, so they are kept to the end. */
static zt_aq_rollup *retired[MAX_RETIRED];
static size_t n_retired;

static void *count_main(void *arg)
{
    zt_aq_rollup *r = arg;
    uint64_t t0 = zt_mono_us();
    int rc = zt_aq_rollup_update(r);
    uint64_t records = 0;
    size_t bytes = 0;
    zt_aq_rollup_size(r, &records, &bytes);
    if (atomic_load(&stopping)) {
        zt_info("console: counting the audit log stopped at shutdown (%" PRIu64 " records read)",
                records);
        return NULL;
    }
    if (rc < 0)
        zt_warn("console: counting the audit log: %s (figures from what was read)", strerror(-rc));
    zt_info("console: audit figures ready: %" PRIu64 " records counted in %" PRIu64
            " ms (%zu KiB of counters)",
            records, (zt_mono_us() - t0) / 1000, bytes / 1024);
    atomic_store(&ready, true);
    return NULL;
}

/* Start counting `live` on the counter thread. With the lock held; no count running. */
static void begin_locked(const char *live)
{
    if (counter_joinable) {
        pthread_join(counter, NULL);
        counter_joinable = false;
    }
    if (current != NULL) {
        if (n_retired < MAX_RETIRED) {
            retired[n_retired++] = current;
        } else {
            zt_warn("console: audit log moved too many times; restart ztgate");
            return; /* keep answering from the last one rather than free one in use */
        }
    }
    current = zt_aq_rollup_new(live, NULL);
    snprintf(current_path, sizeof(current_path), "%s", live);
    atomic_store(&ready, false);
    if (current == NULL)
        return;
    int rc = pthread_create(&counter, NULL, count_main, current);
    if (rc != 0) {
        /* the first page then counts on the pool, as it would without this thread */
        zt_warn("console: no thread to count the audit log (%s)", strerror(rc));
        atomic_store(&ready, true);
        return;
    }
    counter_joinable = true;
}

void zt_console_rollup_start(const zt_config *cfg)
{
    bool console = false;
    for (size_t i = 0; i < cfg->n_apps; i++)
        console = console || cfg->apps[i].kind == ZT_APP_CONSOLE;
    if (!console || cfg->audit.path == NULL || strcmp(cfg->audit.path, "off") == 0)
        return;
    pthread_mutex_lock(&lock);
    if (current == NULL || strcmp(current_path, cfg->audit.path) != 0)
        begin_locked(cfg->audit.path);
    pthread_mutex_unlock(&lock);
}

zt_aq_rollup *zt_console_rollup_get(const char *live, uint64_t *counted)
{
    zt_aq_rollup *r = NULL;
    *counted = 0;
    pthread_mutex_lock(&lock);
    bool same = current != NULL && strcmp(current_path, live) == 0;
    if (same && atomic_load(&ready))
        r = current;
    else if (same || (counter_joinable && !atomic_load(&ready)))
        zt_aq_rollup_size(current, counted, NULL); /* still counting (this log or the last) */
    else
        begin_locked(live); /* first console app after a reload, or the log moved */
    pthread_mutex_unlock(&lock);
    return r;
}

void zt_console_rollup_stop(void)
{
    pthread_mutex_lock(&lock);
    if (current != NULL && counter_joinable) {
        atomic_store(&stopping, true);
        zt_aq_rollup_cancel(current);
    }
    bool join = counter_joinable;
    counter_joinable = false;
    pthread_mutex_unlock(&lock);
    if (join)
        pthread_join(counter, NULL);
    pthread_mutex_lock(&lock);
    zt_aq_rollup_free(current);
    current = NULL;
    current_path[0] = '\0';
    for (size_t i = 0; i < n_retired; i++)
        zt_aq_rollup_free(retired[i]);
    n_retired = 0;
    atomic_store(&ready, false);
    atomic_store(&stopping, false);
    pthread_mutex_unlock(&lock);
}
