#!/bin/bash
# LDAP bind sign-ins per second against a local slapd (LDAPS, search then bind, nested-group read,
# the user brought up to date in the store), beside local argon2id sign-ins per second on the same
# gateway. Both are full portal sign-ins (POST /.ztgate/login → 303 with a session), driven by wrk
# with bench/signin.lua.
#   usage: bench/ldap/run.sh BUILD_DIR
# Knobs: LDAP_USERS (16), LDAP_DURATION (10s), LDAP_WARMUP (2s), LDAP_THREADS (2), LDAP_CONNS (8),
# LDAP_WORKERS (2), LDAP_ARGON2_MEMORY (64MiB) and LDAP_ARGON2_PASSES (3): the local users' cost.
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")
USERS=${LDAP_USERS:-16}
DURATION=${LDAP_DURATION:-10s}
WARMUP=${LDAP_WARMUP:-2s}
if [ -d "$build" ]; then OUT=${BENCH_OUT:-$build/bench}; else OUT=${BENCH_OUT:-${TMPDIR:-/tmp}/ztgate-bench-results}; fi

if [ ! -x "$build/ztgate" ]; then
    echo "ldap: $build/ztgate not found; build it first (make)" >&2
    exit 1
fi
for tool in wrk python3 /usr/sbin/slapd ldapadd openssl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "ldap: '$tool' is missing (scripts/setup.sh)" >&2; exit 1; }
done
mkdir -p "$OUT"

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
raw=$(python3 "$repo/bench/ldap/bench.py" "$build" "$USERS" "$DURATION" "$WARMUP")
{
    echo "ztgate LDAP sign-in benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu, kernel $(uname -r)"
    echo "versions: $("$build/ztgate" --version 2>&1 | head -n 1), $(/usr/sbin/slapd -VV 2>&1 | head -n 1 | sed 's/^@(#) \$//; s/\$$//' | xargs)"
    echo "load: wrk -t${LDAP_THREADS:-2} -c${LDAP_CONNS:-8} -d$DURATION --latency (after $WARMUP), $USERS users per kind, valid passwords, mfa optional, audit off"
    echo "ldap: slapd on loopback over LDAPS (test CA), one new TLS connection per sign-in: service bind, user search, user bind, service bind, group search per nesting level"
    echo "local: argon2id ${LDAP_ARGON2_MEMORY:-64MiB} t=${LDAP_ARGON2_PASSES:-3} on the gateway's hashing thread(s)"
    echo
    printf '%-8s %12s %9s %9s %8s %7s %7s\n' kind "sign-ins/s" "p50 ms" "p99 ms" ok other errors
    grep '^RESULT' <<<"$raw" | while read -r _ kind okps p50 p99 ok other errs; do
        printf '%-8s %12s %9s %9s %8s %7s %7s\n' "$kind" "$okps" "$p50" "$p99" "$ok" "$other" "$errs"
    done
    grep '^NOTE' <<<"$raw" || true
} | tee "$OUT/ldap-results.txt"
