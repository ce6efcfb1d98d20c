#!/bin/bash
# Sign-ins per second through the portal, at the default argon2id parameters (64 MiB, t=3) and at
# OWASP's minimum (19 MiB, t=2), next to the raw argon2id rate of libsodium on the same machine
# with the same parameters (the ceiling: a sign-in is one argon2id verify plus the rest).
#   usage: bench/signin.sh BUILD_DIR        (knobs: see bench/README.md, "Sign-in rate")
# For each parameter set: start ztgate (audit off, mfa optional, one internal app), create
# SIGNIN_USERS users with the CLI, fetch one CSRF cookie + token pair per user, then let wrk
# (bench/signin.lua) POST /.ztgate/login with valid credentials, rotating through the users.
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")

DURATION=${SIGNIN_DURATION:-10s}
WARMUP=${SIGNIN_WARMUP:-2s}
THREADS=${SIGNIN_THREADS:-2}
CONNS=${SIGNIN_CONNS:-8}
USERS=${SIGNIN_USERS:-16}
WORKERS=${SIGNIN_WORKERS:-2}
RAW_THREADS=${SIGNIN_RAW_THREADS:-$(nproc)}
if [ -d "$build" ]; then OUT=${BENCH_OUT:-$build/bench}; else OUT=${BENCH_OUT:-${TMPDIR:-/tmp}/ztgate-bench-results}; fi
HOST=bench.test

if [ ! -x "$build/ztgate" ]; then
    echo "signin: $build/ztgate not found; build it first (make)" >&2
    exit 1
fi
for tool in wrk curl python3 cc; do
    command -v "$tool" >/dev/null 2>&1 || { echo "signin: '$tool' is missing" >&2; exit 1; }
done
secs=${DURATION%s}
case "$DURATION" in
    *m) secs=$(( ${DURATION%m} * 60 )) ;;
    *s|*[0-9]) ;;
    *) echo "signin: SIGNIN_DURATION must be like 10s or 1m" >&2; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-signin.XXXXXX")
mkdir -p "$OUT"
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the peer: libsodium's argon2id (the library ztgate uses), verifies per second on
# RAW_THREADS threads, nothing else. A verify costs one full hash.
cat > "$work/argon2_rate.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

static char hash[crypto_pwhash_STRBYTES];
static double until;
static const char pw[] = "bench-signin-password-raw";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    unsigned long *n = arg;
    while (now() < until) {
        if (crypto_pwhash_argon2id_str_verify(hash, pw, strlen(pw)) != 0) {
            fprintf(stderr, "verify failed\n");
            exit(1);
        }
        (*n)++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5 || sodium_init() < 0)
        return 2;
    size_t mem = strtoull(argv[1], NULL, 10);
    unsigned long long passes = strtoull(argv[2], NULL, 10);
    int threads = atoi(argv[3]);
    double secs = atof(argv[4]);
    if (threads < 1 || threads > 256 ||
        crypto_pwhash_str_alg(hash, pw, strlen(pw), passes, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return 2;
    pthread_t t[256];
    unsigned long n[256] = {0};
    double start = now();
    until = start + secs;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run, &n[i]);
    unsigned long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += n[i];
    }
    double took = now() - start;
    printf("verifies=%lu secs=%.3f rate=%.2f\n", total, took, (double)total / took);
    return 0;
}
EOF
# shellcheck disable=SC2046 # pkg-config output is meant to split
cc -O2 -o "$work/argon2_rate" "$work/argon2_rate.c" \
    $(pkg-config --cflags --libs libsodium 2>/dev/null || echo -lsodium) -lpthread

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # port pid
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

declare -A R_OKPS R_P50 R_P99 R_OK R_OTHER R_ERR R_RAW R_RAWS R_NOTE

measure() { # tag memory passes
    local tag=$1 mem=$2 passes=$3 port dir cfg line i bytes raw_before raw_after
    bytes=$(python3 -c 'import sys; v = sys.argv[1]; print(int(v[:-3]) * (1 << 20))' "$mem")
    # The raw rate is measured just before and just after the gateway and averaged: other load
    # on the machine moves it (and the gateway's figure) from one moment to the next.
    raw_before=$("$work/argon2_rate" "$bytes" "$passes" "$RAW_THREADS" "$secs" |
        sed -E 's/.* rate=([0-9.]+).*/\1/')
    port=$(free_port)
    dir="$work/$tag"
    cfg="$dir/ztgate.yaml"
    mkdir -p "$dir"
    cat > "$cfg" <<EOF
state_dir: $dir/state
gateway:
  listen:
    - address: "127.0.0.1:$port"
  workers: $WORKERS
log:
  access: "off"
  error: $dir/error.log
  level: warn
audit:
  path: "off"
auth:
  mfa: optional
  argon2_memory: $mem
  argon2_passes: $passes
apps:
  - name: bench
    host: $HOST
    upstream: "http://127.0.0.1:9"
    sensitivity: internal
EOF
    "$build/ztgate" serve --config "$cfg" >"$dir/ztgate.out" 2>&1 &
    pid=$!
    if ! wait_port "$port" "$pid"; then
        R_NOTE[$tag]="ztgate did not start (see $OUT/signin-$tag-ztgate.out)"
        cp "$dir/ztgate.out" "$OUT/signin-$tag-ztgate.out" 2>/dev/null || true
        pid=""
        return
    fi
    # Users (hashed by the CLI with the same parameters), and one CSRF pair each.
    : > "$dir/creds.tsv"
    for i in $(seq "$USERS"); do
        local user="signin$i@bench.test" pw="bench-signin-password-$i"
        if ! printf '%s\n' "$pw" | "$build/ztgate" user add "$user" --password-stdin \
                --config "$cfg" >"$dir/useradd.out" 2>&1; then
            R_NOTE[$tag]="user add failed: $(tail -n 1 "$dir/useradd.out")"
            return
        fi
        curl -s -D "$dir/h" -o "$dir/b" -H "Host: $HOST" "http://127.0.0.1:$port/.ztgate/login"
        local cookie token
        cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: ztgate_csrf=\([^;]*\).*/\1/p' "$dir/h" | tr -d '\r' | head -n 1)
        token=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$dir/b" | head -n 1)
        if [ -z "$cookie" ] || [ -z "$token" ]; then
            R_NOTE[$tag]="could not get a CSRF pair from /.ztgate/login"
            return
        fi
        printf '%s\t%s\t%s\t%s\n' "$user" "$pw" "$cookie" "$token" >> "$dir/creds.tsv"
    done
    # Probe: one sign-in by curl must succeed (303 + session cookie).
    IFS=$'\t' read -r user pw cookie token < "$dir/creds.tsv"
    local probe
    probe=$(curl -s -o /dev/null -D - -H "Host: $HOST" -H "Cookie: ztgate_csrf=$cookie" \
        --data-urlencode "username=$user" --data-urlencode "password=$pw" \
        --data-urlencode "csrf_token=$token" "http://127.0.0.1:$port/.ztgate/login" | tr -d '\r')
    if ! grep -q '^HTTP/1.1 303' <<<"$probe" || ! grep -qi '^set-cookie: ztgate_session=' <<<"$probe"; then
        R_NOTE[$tag]="probe sign-in failed: $(head -n 1 <<<"$probe")"
        return
    fi
    export SIGNIN_CREDS="$dir/creds.tsv" SIGNIN_HOST=$HOST
    wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" --timeout 30s -s "$repo/bench/signin.lua" \
        "http://127.0.0.1:$port/.ztgate/login" >/dev/null 2>&1 || true
    local out="$OUT/signin-$tag.txt"
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 30s --latency -s "$repo/bench/signin.lua" \
        "http://127.0.0.1:$port/.ztgate/login" > "$out" 2>&1 || true
    line=$(grep '^ZTBENCH' "$out" || true)
    # Stop the gateway before the raw measurement: they must not share the cores.
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
    if [ -z "$line" ]; then
        R_NOTE[$tag]="wrk failed (see $out)"
        return
    fi
    field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
    R_OKPS[$tag]=$(field okps)
    R_P50[$tag]=$(field p50)
    R_P99[$tag]=$(field p99)
    R_OK[$tag]=$(field ok)
    R_OTHER[$tag]=$(field other)
    R_ERR[$tag]=$(( $(field connect) + $(field read) + $(field write) + $(field timeout) ))
    raw_after=$("$work/argon2_rate" "$bytes" "$passes" "$RAW_THREADS" "$secs" |
        sed -E 's/.* rate=([0-9.]+).*/\1/')
    R_RAW[$tag]=$(awk -v a="$raw_before" -v b="$raw_after" 'BEGIN { printf "%.2f", (a + b) / 2 }')
    R_RAWS[$tag]="$raw_before/$raw_after"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
{
    echo "ztgate sign-in benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu, kernel $(uname -r)"
    echo "versions: $("$build/ztgate" --version 2>&1 | head -n 1), libsodium $(pkg-config --modversion libsodium 2>/dev/null || echo '?'), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
    echo "load: wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up), bench/signin.lua: POST /.ztgate/login, $USERS users, valid passwords"
    echo "ztgate: workers $WORKERS, audit off, mfa optional (a right password = a full session), access log off"
    echo "peer: libsodium crypto_pwhash_argon2id_str_verify in a loop on $RAW_THREADS thread(s), same parameters, for $DURATION just before and just after ztgate runs (not at the same time)"
} | tee "$OUT/signin-results.txt"
echo

measure default 64MiB 3
measure owasp 19MiB 2

row() { # tag label
    local tag=$1
    if [ -n "${R_OKPS[$tag]:-}" ]; then
        awk -v l="$2" -v s="${R_OKPS[$tag]}" -v p50="${R_P50[$tag]}" -v p99="${R_P99[$tag]}" \
            -v ok="${R_OK[$tag]}" -v bad="${R_OTHER[$tag]}" -v err="${R_ERR[$tag]}" \
            -v raw="${R_RAW[$tag]:-0}" -v raws="${R_RAWS[$tag]:-}" 'BEGIN {
            printf "%-22s %11.1f %9.1f %9.1f %8d %7d %7d %9.1f (%s) %6s\n", l, s, p50 / 1000,
                p99 / 1000, ok, bad, err, raw, raws, (raw > 0 ? sprintf("%.2f", s / raw) : "n/a") }'
    else
        printf '%-22s %s\n' "$2" "${R_NOTE[$tag]:-not run}"
    fi
}
{
    printf '%-22s %11s %9s %9s %8s %7s %7s %s %6s\n' "argon2id" "sign-ins/s" "p50 (ms)" \
        "p99 (ms)" "ok(303)" "other" "errors" "raw verify/s (before/after)" "ratio"
    row default "64 MiB t=3 (default)"
    row owasp "19 MiB t=2 (OWASP min)"
    echo "ratio = gateway sign-ins/s / raw argon2id verifies/s on $RAW_THREADS thread(s) (mean of before and after); other = non-303 answers"
} | tee -a "$OUT/signin-results.txt"
echo "(raw wrk output and this table: $OUT/)"
