#!/bin/bash
# Runs every libFuzzer target built in BUILD_DIR/fuzz: first replays its seed corpus
# (fuzz/corpus/<name>/, a regression test), then fuzzes for SECONDS from a temporary copy of it so
# the repository stays clean. Fails when any target crashes, leaks, hits UB or times out.
# Crash inputs are kept in BUILD_DIR/fuzz-artifacts/<name>/.
#   usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
repo=$(cd "$(dirname "$0")/.." && pwd)

# UB reports must stop the run like a crash does (sanitizer builds recover by default).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

targets=()
if [ -d "$build/fuzz" ]; then
    for f in "$build"/fuzz/fuzz_*; do
        [ -f "$f" ] && [ -x "$f" ] && targets+=("$f")
    done
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no fuzzers built in $build/fuzz (configure with -Dfuzz=true and CC=clang); nothing to do"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One target: seed replay, then fuzzing; writes its summary line and, on failure, a marker.
fuzz_one() {
    local bin=$1 name seeds corpus artifacts out nseeds replay status runs cov ncorp
    name=$(basename "$bin")
    seeds="$repo/fuzz/corpus/$name"
    corpus="$work/$name/corpus"
    artifacts="$build/fuzz-artifacts/$name"
    out="$work/$name/log"
    mkdir -p "$corpus" "$artifacts"
    local opts=(-rss_limit_mb=2048 -timeout=30 -artifact_prefix="$artifacts/")
    [ -f "$repo/fuzz/$name.dict" ] && opts+=(-dict="$repo/fuzz/$name.dict")

    # 1. Regression: every seed must run clean (-runs=0 executes the loaded corpus only).
    nseeds=0
    if [ -d "$seeds" ]; then
        nseeds=$(find "$seeds" -type f | wc -l)
        cp -r "$seeds"/. "$corpus"/
    fi
    replay="skipped (no seeds)"
    if [ "$nseeds" -gt 0 ]; then
        if "$bin" "${opts[@]}" -runs=0 "$seeds" >"$out.replay" 2>&1; then
            replay="ok ($nseeds seeds)"
        else
            replay="FAILED"
            touch "$work/$name/failed"
            { echo "fuzz: $name: seed corpus replay failed:"; tail -n 40 "$out.replay"; } >&2
        fi
    fi

    # 2. Fuzz for the time budget from the working copy.
    status=ok
    if ! "$bin" "${opts[@]}" -max_total_time="$seconds" -print_final_stats=1 "$corpus" \
            >"$out" 2>&1; then
        status=CRASHED
        touch "$work/$name/failed"
        { echo "fuzz: $name: fuzzer failed; last output:"; tail -n 60 "$out"
          echo "fuzz: $name: reproducer(s) in $artifacts/"; } >&2
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' "$out" | tail -n 1 | cut -d' ' -f2)
    ncorp=$(find "$corpus" -type f | wc -l)
    printf '%-20s fuzz %-8s runs %-10s cov %-6s corpus %-6s replay %s\n' \
        "$name" "$status" "${runs:-?}" "${cov:-?}" "$ncorp" "$replay" >"$work/$name/summary"
}

# As many targets at once as there are cores: each fuzzer is single-threaded.
jobs_max=$(nproc 2>/dev/null || echo 1)
for bin in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
        wait -n || true
    done
    fuzz_one "$bin" &
done
wait

failed=0
summary=()
for bin in "${targets[@]}"; do
    name=$(basename "$bin")
    [ -e "$work/$name/failed" ] && failed=1
    summary+=("$(cat "$work/$name/summary" 2>/dev/null || echo "$name: no result")")
done

echo "fuzz: ${seconds}s per target, summary:"
for line in "${summary[@]}"; do
    echo "  $line"
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz: FAILED" >&2
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets clean"
