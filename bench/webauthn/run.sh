#!/bin/bash
# WebAuthn assertion verification, side by side in one run (issue 12 item 6):
#   ztgate's verifier, zt_webauthn_verify_assertion (bench/webauthn/webauthn_bench.c, one thread)
#   against @simplewebauthn/server in Node (bench/webauthn/node/bench.mjs, one verification in
#   flight), on the SAME assertion set (webauthn_bench gen writes it once as JSON), for ES256,
#   EdDSA and RS256. Before any timing both must accept every good assertion and refuse the
#   tampered one of each alg, so neither side can be timing a refusal path.
# Prints verifications/s (wall clock and per CPU-second) and the ratios ztgate / SimpleWebAuthn;
# the goal (>= 10x) is printed as met or MISSED, never enforced.
#   usage: bench/webauthn/run.sh [BUILD_DIR]        (knobs in bench/README.md)
set -euo pipefail

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ ! -d "$build" ]; then
    echo "webauthn bench: $build does not exist (run 'make' first)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)
SECS=${WEBAUTHN_BENCH_SECONDS:-3}
PER_ALG=${WEBAUTHN_BENCH_ASSERTIONS:-200}
RUNS=${WEBAUTHN_BENCH_RUNS:-3}
GOAL=10
OUT=${BENCH_OUT:-$build/bench}
out=$OUT/webauthn
mkdir -p "$out"
rm -f "$out"/run-*.txt

skip() { echo "webauthn bench: skipped: $*" | tee "$out/results.txt"; exit 0; }
ninja -C "$build" bench/webauthn_bench >"$out/build.log" 2>&1 ||
    skip "could not build bench/webauthn_bench (see $out/build.log)"
bin=$build/bench/webauthn_bench

# ---- the peer: node and the pinned package (installed here on first use, like cedar-wasm)
node_note=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    node_note="node/npm not found (scripts/setup.sh installs them)"
elif [ ! -d "$here/node/node_modules/@simplewebauthn/server" ] &&
     ! (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error >"$out/npm.log" 2>&1); then
    node_note="npm ci failed (see $out/npm.log)"
fi
swa_version=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' \
    "$here/node/node_modules/@simplewebauthn/server/package.json" 2>/dev/null | head -n 1)

set_file=$out/assertions.json
"$bin" gen "$set_file" "$PER_ALG" >"$out/gen.log" || skip "webauthn_bench gen failed"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
{
    echo "ztgate WebAuthn assertion verification benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu, kernel $(uname -r); $(openssl version | cut -d' ' -f1-2)"
    echo "peer: @simplewebauthn/server ${swa_version:-?} on node $(node --version 2>/dev/null || echo -)"
    echo "set: $PER_ALG assertions per alg (+1 tampered each), UP+UV, own challenge each: $set_file"
    echo "timing: ${SECS}s per alg and verifier, $RUNS interleaved runs, medians; one verification at a time"
} | tee "$out/results.txt"

# ---- runs: the two verifiers alternate, so drift on a shared machine hits both alike
ok=1
for run in $(seq "$RUNS"); do
    order="ztgate node"
    [ $((run % 2)) -eq 0 ] && order="node ztgate"
    for v in $order; do
        f=$out/run-$v-$run.txt
        if [ "$v" = ztgate ]; then
            "$bin" run "$set_file" "$SECS" >"$f" 2>&1 || ok=0
        elif [ -z "$node_note" ]; then
            (cd "$here/node" && node bench.mjs "$set_file" "$SECS") >"$f" 2>&1 || ok=0
        fi
    done
done
if [ "$ok" -ne 1 ]; then
    echo "webauthn bench: a verifier failed its check or run; its output:" | tee -a "$out/results.txt"
    cat "$out"/run-*.txt | grep -v '^RESULT' | head -n 20 | tee -a "$out/results.txt"
fi

echo | tee -a "$out/results.txt"
grep -h '^CHECK' "$out"/run-ztgate-1.txt "$out"/run-node-1.txt 2>/dev/null | tee -a "$out/results.txt" || true

# field VERIFIER ALG NAME -> the median over the runs of NAME (rate, cpu, ...)
median_of() {
    grep -h "^RESULT verifier=$1 alg=$2 " "$out"/run-*.txt 2>/dev/null |
        sed -E "s/.* $3=([0-9.]+).*/\1/" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

{
    echo
    printf '%-6s %10s %12s %10s %12s %9s %9s %12s %9s\n' alg "ztgate/s" "ztgate/CPU-s" "swa/s" \
        "swa/CPU-s" "ratio" "ratio" "openssl/CPU-s" "ceiling"
    printf '%-6s %10s %12s %10s %12s %9s %9s %12s %9s\n' "" "" "" "" "" "(wall)" "(CPU)" "(raw)" "(CPU)"
    for alg in ES256 EdDSA RS256; do
        # per CPU-second (cpu_rate): verifications / CPU time of the whole process, every
        # thread (Node's WebCrypto check runs on a libuv worker thread), median over the runs
        zr=$(median_of ztgate "$alg" rate)
        zpc=$(median_of ztgate "$alg" cpu_rate)
        nr=$(median_of simplewebauthn "$alg" rate)
        npc=$(median_of simplewebauthn "$alg" cpu_rate)
        rpc=$(median_of openssl-raw "$alg" cpu_rate)
        rpc=${rpc:-0}
        if [ -z "$zr" ]; then
            printf '%-6s %s\n' "$alg" "ztgate: no result (see $out/run-ztgate-*.txt)"
            continue
        fi
        if [ -z "$nr" ]; then
            printf '%-6s %10.0f %12.0f   %s\n' "$alg" "$zr" "$zpc" "${node_note:-no result (see $out/run-node-*.txt)}"
            continue
        fi
        awk -v a="$alg" -v zr="$zr" -v zpc="$zpc" -v nr="$nr" -v npc="$npc" -v rpc="$rpc" -v g="$GOAL" 'BEGIN {
            rw = zr / nr; r = zpc / npc
            printf "%-6s %10.0f %12.0f %10.0f %12.0f %8.1fx %8.1fx %12.0f %8.1fx   goal >= %dx (CPU): %s\n",
                   a, zr, zpc, nr, npc, rw, r, rpc, (rpc > 0 ? rpc / npc : 0), g, (r >= g ? "met" : "MISSED") }'
    done
    echo "ztgate: zt_webauthn_verify_assertion from the posted base64url strings; swa: @simplewebauthn/server"
    echo "verifyAuthenticationResponse; openssl (raw): the signature check alone, key built once;"
    echo "ceiling = raw / swa, the most any verifier ending in the same OpenSSL call could reach here."
} | tee -a "$out/results.txt"
echo "(assertion set, raw output and this table: $out/)"
