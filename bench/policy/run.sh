#!/bin/bash
# Conditional Access benchmark: ztgate's zt_policy_eval against cedar-wasm on the same generated
# policy sets (10 .. 10,000 policies) and the same requests, one thread each.
#   usage: bench/policy/run.sh [BUILD_DIR]     (default build; knobs in bench/README.md)
# Prints the per-size details, then a table and the goals from the issue (informational: nothing
# here fails on a number). Without node/npm the Cedar columns say "skipped".
set -euo pipefail

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$build/build.ninja" ]; then
    echo "policy bench: $build is not a meson build directory (run 'make' first)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)
SIZES=${POLICY_BENCH_SIZES:-10 100 1000 10000}
export POLICY_BENCH_REQUESTS=${POLICY_BENCH_REQUESTS:-1000}
export POLICY_BENCH_SECONDS=${POLICY_BENCH_SECONDS:-1.5}
out=$build/bench/policy
mkdir -p "$out"
rm -f "$out"/ztgate.tsv "$out"/cedar.tsv "$out"/policies-* "$out"/decisions-*

# bench/meson.build is only read when the build has tests on (the default).
if ! ninja -C "$build" bench/policy_bench >"$out/build.log" 2>&1; then
    echo "policy bench: could not build bench/policy_bench in $build (see $out/build.log;" \
         "the build needs -Dtests=true)" >&2
    exit 1
fi

echo "== Conditional Access: ztgate vs cedar-wasm ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs," \
     "$(uname -m)) =="
"$build/bench/policy_bench" "$out" $SIZES

cedar_note=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    cedar_note="node/npm not found"
elif [ ! -d "$here/cedar/node_modules/@cedar-policy/cedar-wasm" ] &&
     ! (cd "$here/cedar" && npm ci --no-audit --no-fund --loglevel=error >"$out/npm.log" 2>&1); then
    cedar_note="npm ci failed (see $out/npm.log)"
elif ! node "$here/cedar/bench.cjs" "$out" $SIZES; then
    cedar_note="the Node script failed"
fi
if [ -n "$cedar_note" ]; then
    echo "cedar-wasm row skipped: $cedar_note"
    rm -f "$out/cedar.tsv"
fi

# Table: one row per size, ztgate.tsv joined with cedar.tsv (when there is one).
awk -F'\t' -v cedar_note="$cedar_note" '
    FNR == 1 { next }
    FILENAME ~ /ztgate.tsv$/ { n[++rows] = $1; dps[$1] = $2; p50[$1] = $3; p99[$1] = $4; next }
    { c_dps[$1] = $6; c_valid[$1] = $5; c_agree[$1] = $2 "/" $3 }
    function us(ns) { return sprintf("%.3f us", ns / 1000) }
    END {
        printf "\n%-8s | %-18s | %-10s | %-10s | %-22s | %s\n", "policies", "ztgate decisions/s",
               "p50", "p99", "cedar-wasm decisions/s", "ratio"
        printf "---------+--------------------+------------+------------+------------------------+------------------\n"
        for (i = 1; i <= rows; i++) {
            s = n[i]
            if (cedar_note != "" || !(s in c_dps)) {
                cd = "skipped"; ratio = "-"
            } else {
                cd = c_dps[s]
                ratio = c_dps[s] > 0 ? sprintf("%.0fx", dps[s] / c_dps[s]) : "-"
                if (c_valid[s] != "yes")
                    ratio = ratio " INVALID (agreement " c_agree[s] ")"
                else
                    ratio = ratio " (agree " c_agree[s] ")"
            }
            printf "%8s | %18.0f | %10s | %10s | %22s | %s\n", s, dps[s], us(p50[s]), us(p99[s]),
                   cd, ratio
        }
        print ""
        print "p50/p99: clock_gettime around each single zt_policy_eval call (timer overhead included);"
        print "decisions/s: passes over the request set, one clock read per pass, median of 3."
        print ""
        print "Goals from the issue (reported, not asserted):"
        if (100 in p50)
            printf "  100 policies: p50 <= 1 us and p99 <= 5 us          -> p50 %s, p99 %s: %s\n",
                   us(p50[100]), us(p99[100]),
                   (p50[100] <= 1000 && p99[100] <= 5000) ? "met" : "MISSED"
        if (10000 in p50)
            printf "  10000 policies: at most 3x that (p50 <= 3 us, p99 <= 15 us) -> p50 %s, p99 %s: %s\n",
                   us(p50[10000]), us(p99[10000]),
                   (p50[10000] <= 3000 && p99[10000] <= 15000) ? "met" : "MISSED"
        if ((100 in p50) && (10000 in p50) && p50[100] > 0)
            printf "  growth 100 -> 10000 policies: p50 x%.1f, p99 x%.1f\n", p50[10000] / p50[100],
                   p99[10000] / p99[100]
        for (i = 1; i <= rows; i++) {
            s = n[i]
            if (cedar_note != "" || !(s in c_dps) || c_dps[s] <= 0)
                continue
            verdict = dps[s] >= 50 * c_dps[s] ? "met" : "MISSED"
            if (c_valid[s] != "yes")
                verdict = "INVALID (decisions differ)"
            printf "  %5s policies: >= 50x cedar-wasm decisions/s -> %.0fx: %s\n", s,
                   dps[s] / c_dps[s], verdict
        }
        if (cedar_note != "")
            print "  >= 50x cedar-wasm decisions/s: skipped (" cedar_note ")"
    }' "$out/ztgate.tsv" $([ -f "$out/cedar.tsv" ] && echo "$out/cedar.tsv") | tee "$out/table.txt"
echo "(files: $out)"
