/* Conditional Access benchmark: zt_policy_eval at 10 .. 10,000 policies.
 *
 *   policy_bench OUTDIR [SIZE...]        (default sizes: 10 100 1000 10000)
 *
 * For each size: generate the YAML config (gen.c, fixed seed), load it with zt_config_load_mem,
 * compile, decide every benchmark request once (the decisions go to OUTDIR for the Cedar
 * agreement check), then measure on one thread:
 *   - throughput: passes over the request set with one clock read per pass; median of 3 rounds;
 *   - latency: clock_gettime(CLOCK_MONOTONIC) around every single zt_policy_eval call; p50/p99
 *     of those samples. They include the cost of one clock read, printed as "timer overhead".
 * Writes OUTDIR/requests.json, OUTDIR/policies-N.{yaml,cedar}, OUTDIR/decisions-N.txt and one
 * line per size to OUTDIR/ztgate.tsv. Performance is reported, never asserted.
 *
 * Environment: POLICY_BENCH_REQUESTS (distinct requests, default 1000), POLICY_BENCH_SECONDS
 * (measuring time per size, default 1.5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "gen.h"
#include "policy/policy.h"

#define PB_SEED_WORLD 0x2f6b1e5d0c3a9871ull
#define PB_SEED_POLICIES 0x51c3a7e2d9b04f68ull
#define PB_MAX_SAMPLES (4u << 20)

static uint64_t pb_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int pb_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int pb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint32_t pb_pct(const uint32_t *sorted, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static void pb_write(const char *dir, const char *name, const char *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "policy_bench: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* What a back-to-back pair of clock reads costs (median), the floor under every sample. */
static uint32_t pb_timer_overhead(void)
{
    enum { N = 100001 };
    static uint32_t v[N];
    for (size_t i = 0; i < N; i++) {
        uint64_t a = pb_ns();
        uint64_t b = pb_ns();
        v[i] = (uint32_t)(b - a);
    }
    qsort(v, N, sizeof(v[0]), pb_cmp_u32);
    return v[N / 2];
}

static volatile unsigned pb_sink;

static void pb_run_size(const pb_world *w, size_t n, const char *dir, FILE *tsv, double seconds,
                        uint32_t *samples)
{
    char name[64], cerr[512] = "";
    size_t stats[5];
    char *cedar_text = NULL;
    size_t cedar_len = 0;
    FILE *cedar = open_memstream(&cedar_text, &cedar_len);
    if (cedar == NULL)
        abort();
    char *yaml = pb_config(w, n, PB_SEED_POLICIES ^ n, cedar, stats);
    fclose(cedar);
    size_t yaml_len = strlen(yaml);
    snprintf(name, sizeof(name), "policies-%zu.yaml", n);
    pb_write(dir, name, yaml, yaml_len);
    char yaml_name[64];
    snprintf(yaml_name, sizeof(yaml_name), "%s", name);
    snprintf(name, sizeof(name), "policies-%zu.cedar", n);
    pb_write(dir, name, cedar_text, cedar_len);
    free(cedar_text);

    zt_diags d;
    zt_diags_init(&d);
    uint64_t t0 = pb_ns();
    zt_config *cfg = zt_config_load_mem(yaml_name, yaml, yaml_len, &d);
    uint64_t t1 = pb_ns();
    if (cfg == NULL) {
        fprintf(stderr, "policy_bench: generated config refused:\n%s",
                d.text.data != NULL ? d.text.data : "");
        exit(1);
    }
    zt_diags_dispose(&d);
    zt_policy_set *set = zt_policy_compile(cfg, cerr, sizeof(cerr));
    uint64_t t2 = pb_ns();
    if (set == NULL) {
        fprintf(stderr, "policy_bench: compile: %s\n", cerr);
        exit(1);
    }

    /* Every request once: the decisions the Cedar side must reproduce. */
    size_t outcomes[3] = {0, 0, 0}, matched = 0, truncated = 0;
    char *dec = malloc(w->n_reqs + 1);
    if (dec == NULL)
        abort();
    for (size_t i = 0; i < w->n_reqs; i++) {
        zt_policy_result r;
        zt_policy_eval(set, &w->reqs[i].in, &r);
        outcomes[r.outcome]++;
        matched += r.n_matched;
        truncated += r.matched_truncated;
        dec[i] = r.outcome == ZT_OUTCOME_ALLOW ? 'A' : 'D';
    }
    dec[w->n_reqs] = '\n';
    /* Why the others do not apply (zt_policy_explain, first 100 requests): where the work goes. */
    size_t miss[ZT_MISS_TIME + 1] = {0}, n_explain = w->n_reqs < 100 ? w->n_reqs : 100;
    zt_policy_miss *misses = malloc(n * sizeof(*misses));
    if (misses == NULL)
        abort();
    for (size_t i = 0; i < n_explain; i++) {
        zt_policy_explain(set, &w->reqs[i].in, misses);
        for (size_t k = 0; k < n; k++)
            miss[misses[k] <= ZT_MISS_TIME ? misses[k] : ZT_MISS_NONE]++;
    }
    free(misses);
    snprintf(name, sizeof(name), "decisions-%zu.txt", n);
    pb_write(dir, name, dec, w->n_reqs + 1);
    free(dec);

    /* Throughput: whole passes, one clock read per pass, median of three rounds. */
    double rates[3];
    unsigned acc = 0;
    for (int round = 0; round < 3; round++) {
        size_t done = 0;
        uint64_t start = pb_ns(), now = start;
        uint64_t budget = (uint64_t)(seconds / 6 * 1e9);
        do {
            for (size_t i = 0; i < w->n_reqs; i++) {
                zt_policy_result r;
                zt_policy_eval(set, &w->reqs[i].in, &r);
                acc += (unsigned)r.outcome;
            }
            done += w->n_reqs;
            now = pb_ns();
        } while (now - start < budget);
        rates[round] = (double)done / ((double)(now - start) / 1e9);
    }
    qsort(rates, 3, sizeof(rates[0]), pb_cmp_double);

    /* Latency: one timed call at a time. */
    size_t ns = 0;
    uint64_t start = pb_ns(), budget = (uint64_t)(seconds / 2 * 1e9);
    while (ns + w->n_reqs <= PB_MAX_SAMPLES) {
        for (size_t i = 0; i < w->n_reqs; i++) {
            zt_policy_result r;
            uint64_t a = pb_ns();
            zt_policy_eval(set, &w->reqs[i].in, &r);
            uint64_t b = pb_ns();
            acc += (unsigned)r.outcome;
            samples[ns++] = (uint32_t)(b - a > UINT32_MAX ? UINT32_MAX : b - a);
        }
        if (pb_ns() - start >= budget)
            break;
    }
    pb_sink = acc;
    qsort(samples, ns, sizeof(samples[0]), pb_cmp_u32);
    uint32_t p50 = pb_pct(samples, ns, 0.50), p99 = pb_pct(samples, ns, 0.99);
    uint32_t p999 = pb_pct(samples, ns, 0.999);

    printf("  %5zu policies (on %zu, report-only %zu, off %zu; block %zu, controls %zu): "
           "load %.1f ms, compile %.1f ms\n",
           n, stats[0], stats[1], stats[2], stats[3], stats[4], (double)(t1 - t0) / 1e6,
           (double)(t2 - t1) / 1e6);
    printf("        outcomes over %zu requests: allow %zu, challenge %zu, block %zu; "
           "%.1f applicable policies per request (%zu requests over the %d reported)\n",
           w->n_reqs, outcomes[0], outcomes[1], outcomes[2], (double)matched / (double)w->n_reqs,
           truncated, ZT_POLICY_MATCH_MAX);
    printf(
        "        per request, of %zu policies: %.1f apply, %.1f miss the user, %.1f the app, "
        "%.1f a condition (zt_policy_explain)\n",
        n, (double)miss[ZT_MISS_NONE] / (double)n_explain,
        (double)(miss[ZT_MISS_USER_NOT_INCLUDED] + miss[ZT_MISS_USER_EXCLUDED]) / (double)n_explain,
        (double)(miss[ZT_MISS_APP_NOT_INCLUDED] + miss[ZT_MISS_APP_EXCLUDED]) / (double)n_explain,
        (double)(n_explain * n - miss[ZT_MISS_NONE] - miss[ZT_MISS_STATE_OFF] -
                 miss[ZT_MISS_USER_NOT_INCLUDED] - miss[ZT_MISS_USER_EXCLUDED] -
                 miss[ZT_MISS_APP_NOT_INCLUDED] - miss[ZT_MISS_APP_EXCLUDED]) /
            (double)n_explain);
    printf("        %.0f decisions/s (median of 3); per call p50 %.3f us, p99 %.3f us, "
           "p99.9 %.3f us (%zu samples)\n",
           rates[1], p50 / 1e3, p99 / 1e3, p999 / 1e3, ns);
    fprintf(tsv, "%zu\t%.0f\t%u\t%u\t%u\t%zu\t%zu\t%zu\n", n, rates[1], p50, p99, p999, outcomes[0],
            outcomes[1], outcomes[2]);
    fflush(stdout);

    zt_policy_set_free(set);
    zt_config_free(cfg);
    free(yaml);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: policy_bench OUTDIR [SIZE...]\n");
        return 2;
    }
    const char *dir = argv[1];
    const char *env = getenv("POLICY_BENCH_REQUESTS");
    size_t n_reqs = env != NULL ? strtoul(env, NULL, 10) : 1000;
    env = getenv("POLICY_BENCH_SECONDS");
    double seconds = env != NULL ? strtod(env, NULL) : 1.5;
    if (n_reqs == 0 || n_reqs > PB_MAX_SAMPLES || !(seconds > 0)) {
        fprintf(stderr, "policy_bench: bad POLICY_BENCH_REQUESTS or POLICY_BENCH_SECONDS\n");
        return 2;
    }
    size_t sizes[16] = {10, 100, 1000, 10000}, n_sizes = 4;
    if (argc > 2) {
        n_sizes = 0;
        for (int i = 2; i < argc && n_sizes < 16; i++) {
            sizes[n_sizes] = strtoul(argv[i], NULL, 10);
            if (sizes[n_sizes] == 0 || sizes[n_sizes] > ZT_POLICY_MAX) {
                fprintf(stderr, "policy_bench: size must be 1..%d\n", ZT_POLICY_MAX);
                return 2;
            }
            n_sizes++;
        }
    }

    static pb_world w;
    pb_world_init(&w, n_reqs, PB_SEED_WORLD);
    char path[4096];
    snprintf(path, sizeof(path), "%s/requests.json", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "policy_bench: %s: %s\n", path, strerror(errno));
        return 1;
    }
    pb_requests_json(&w, f);
    if (fclose(f) != 0)
        return 1;
    snprintf(path, sizeof(path), "%s/ztgate.tsv", dir);
    FILE *tsv = fopen(path, "w");
    if (tsv == NULL) {
        fprintf(stderr, "policy_bench: %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(tsv, "policies\tdecisions_per_s\tp50_ns\tp99_ns\tp999_ns\tallow\tchallenge\tblock\n");

    uint32_t *samples = malloc(PB_MAX_SAMPLES * sizeof(uint32_t));
    if (samples == NULL)
        abort();
    uint32_t overhead = pb_timer_overhead();
    printf("ztgate zt_policy_eval: %d users in %d groups, %d apps, %zu distinct requests, "
           "one thread; timer overhead %u ns per sample (included in p50/p99)\n",
           PB_USERS, PB_GROUPS, PB_APPS, n_reqs, overhead);
    for (size_t i = 0; i < n_sizes; i++)
        pb_run_size(&w, sizes[i], dir, tsv, seconds, samples);
    free(samples);
    fclose(tsv);
    pb_world_free(&w);
    return 0;
}
