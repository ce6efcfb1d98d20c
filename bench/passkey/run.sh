#!/bin/bash
# Sign-ins per second through the real gateway, side by side in one run (issue 12 item 6):
#   passwordless passkey sign-in (POST /.ztgate/webauthn/login/options + /login/verify, ES256,
#   a software authenticator) against password + TOTP (POST /.ztgate/login + /.ztgate/mfa,
#   argon2id-bound), on the same ztgate, the same users and the same concurrent clients.
# Prints sign-ins/s for each, the gateway's CPU per sign-in and the ratio passkey / password+TOTP.
#   usage: bench/passkey/run.sh [BUILD_DIR]        (knobs in bench/README.md, "Passkey sign-in")
# Steps: start ztgate (setup settings: hashing at full speed so that setup is quick), create
# PK_USERS users with the CLI, let bench/passkey/signin.py enrol TOTP and register one passkey
# per user through the portal; restart ztgate with the measured settings (same state) and let
# signin.py run both rows.
set -euo pipefail

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ ! -x "$build/ztgate" ]; then
    echo "passkey sign-in bench: $build/ztgate not found; build it first (make)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)

SECS=${PK_DURATION:-10}
WARMUP=${PK_WARMUP:-2}
RUNS=${PK_RUNS:-1}
CLIENTS=${PK_CLIENTS:-8}
SOURCES=${PK_SOURCES:-4}
USERS=${PK_USERS:-200}
WORKERS=${PK_WORKERS:-2}
ARGON2_MEMORY=${PK_ARGON2_MEMORY:-64MiB}
ARGON2_PASSES=${PK_ARGON2_PASSES:-3}
HASH_THREADS=${PK_HASH_THREADS:-}
HASH_NICE=${PK_HASH_NICE:-}
HASH_DUTY=${PK_HASH_DUTY:-}
HOST=bench.test
OUT=${BENCH_OUT:-$build/bench}/passkey
mkdir -p "$OUT"
rm -f "$OUT"/results.txt "$OUT"/measure.txt

skip() { echo "passkey sign-in bench: skipped: $*" | tee "$OUT/results.txt"; exit 0; }
command -v python3 >/dev/null 2>&1 || skip "python3 is missing"
python3 -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is missing"
# The clients bind 127.0.0.10 ... as source addresses (Linux routes all of 127/8 to lo).
python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.10", 0))' 2>/dev/null ||
    skip "cannot bind 127.0.0.10 (the clients' loopback source addresses)"

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-passkey-signin.XXXXXX")
pid=""
stop() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=""
    fi
}
cleanup() { stop; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cfg=$work/ztgate.yaml

write_config() { # hash_threads hash_nice hash_duty (empty: ztgate's default)
    {
        cat <<EOF
state_dir: $work/state
gateway:
  listen:
    - address: "127.0.0.1:$port"
  workers: $WORKERS
log:
  access: "off"
  error: $work/error.log
  level: warn
audit:
  path: "off"
auth:
  mfa: required
  passkeys: true
  argon2_memory: $ARGON2_MEMORY
  argon2_passes: $ARGON2_PASSES
EOF
        [ -n "$1" ] && echo "  hash_threads: $1"
        [ -n "$2" ] && echo "  hash_nice: $2"
        [ -n "$3" ] && echo "  hash_duty: $3"
        cat <<EOF
apps:
  - name: bench
    host: $HOST
    upstream: "http://127.0.0.1:9"
    sensitivity: internal
EOF
    } > "$cfg"
}

start() {
    "$build/ztgate" serve --config "$cfg" >>"$work/ztgate.out" 2>&1 &
    pid=$!
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    cp "$work/ztgate.out" "$OUT/ztgate.out"
    skip "ztgate did not start (see $OUT/ztgate.out)"
}

# ---- setup: users by the CLI, TOTP + one passkey each through the portal
write_config 2 0 100
start
: > "$work/users.tsv"
t0=$(date +%s)
for i in $(seq "$USERS"); do
    printf 'pk%d@bench.test\tbench-passkey-password-%d\n' "$i" "$i" >> "$work/users.tsv"
done
# Two CLI processes at a time (each one argon2id hash); the store takes concurrent writers.
# shellcheck disable=SC2016 # expanded by the inner shell
tr '\t' ' ' < "$work/users.tsv" | ZT="$build/ztgate" CFG="$cfg" xargs -P 2 -L 1 sh -c \
    'printf "%s\n" "$2" | "$ZT" user add "$1" --password-stdin --config "$CFG" >/dev/null' sh \
    2>"$work/useradd.err" || skip "ztgate user add failed: $(tail -n 1 "$work/useradd.err")"
python3 "$here/signin.py" setup "$port" "$HOST" "$work/users.tsv" "$work/state.json" \
    "$CLIENTS" "$SOURCES" > "$work/setup.txt" 2>&1 ||
    skip "setup failed: $(tail -n 1 "$work/setup.txt")"
setup_secs=$(( $(date +%s) - t0 ))
stop

# ---- the measured gateway: same state, the bench's settings
write_config "$HASH_THREADS" "$HASH_NICE" "$HASH_DUTY"
cp "$cfg" "$OUT/ztgate.yaml"
start
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
{
    echo "ztgate sign-in benchmark: passkey (passwordless) vs password + TOTP  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu, kernel $(uname -r)"
    echo "ztgate: workers $WORKERS, audit off, access log off, mfa required, argon2id $ARGON2_MEMORY t=$ARGON2_PASSES," \
         "hash_threads ${HASH_THREADS:-1} hash_nice ${HASH_NICE:-10} hash_duty ${HASH_DUTY:-50} (empty knob: ztgate's default)," \
         "per-source throttle at its default (30 failures/min per address)"
    echo "load: $CLIENTS clients (threads of bench/passkey/signin.py) from $SOURCES loopback addresses (127.0.0.10 ...)," \
         "${SECS}s per row after a ${WARMUP}s warm-up of each, $RUNS run(s) of each, order alternating, medians"
    echo "users: $USERS (CLI + TOTP enrolment + one ES256 passkey each, set up in ${setup_secs}s);" \
         "each client has its own share; a TOTP code is used once per user and time step"
} | tee "$OUT/results.txt"

python3 "$here/signin.py" measure "$port" "$HOST" "$work/state.json" "$CLIENTS" "$SOURCES" \
    "$SECS" "$WARMUP" "$RUNS" "$pid" > "$OUT/measure.txt" 2>&1 || true
stop
cp "$work/error.log" "$OUT/error.log" 2>/dev/null || true

median_of() { # ROW FIELD
    grep "^RESULT row=$1 " "$OUT/measure.txt" | sed -E "s/.* $2=([0-9.]+).*/\1/" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
sum_of() { grep "^RESULT row=$1 " "$OUT/measure.txt" | sed -E "s/.* $2=([0-9.]+).*/\1/" | awk '{ s += $1 } END { print s + 0 }'; }

{
    echo
    grep '^WARMUP' "$OUT/measure.txt" || true
    printf '%-28s %11s %8s %7s %14s %12s %9s %s\n' "sign-in" "sign-ins/s" "ok" "errors" \
        "gw CPU ms/each" "driver CPU s" "waited s" "valid"
    invalid=0
    for row in passkey totp; do
        label="passkey (passwordless)"
        [ "$row" = totp ] && label="password + TOTP"
        rate=$(median_of "$row" rate)
        if [ -z "$rate" ]; then
            printf '%-28s %s\n' "$label" "no result (see $OUT/measure.txt)"
            invalid=1
            continue
        fi
        ok=$(sum_of "$row" ok)
        err=$(sum_of "$row" errors)
        valid=valid
        if [ "$err" -gt 0 ] || [ "$ok" -eq 0 ]; then
            valid="INVALID ($(grep "^RESULT row=$row " "$OUT/measure.txt" | sed -E 's/.* first_error=//' | grep -v '^-$' | head -n 1))"
            invalid=1
        fi
        awk -v l="$label" -v r="$rate" -v ok="$ok" -v e="$err" -v g="$(sum_of "$row" gw_cpu)" \
            -v d="$(sum_of "$row" driver_cpu)" -v w="$(sum_of "$row" waited)" -v v="$valid" 'BEGIN {
            printf "%-28s %11.1f %8d %7d %14.2f %12.1f %9.1f %s\n", l, r, ok, e, (ok > 0 ? g * 1000 / ok : 0), d, w, v }'
        eval "rate_$row=$rate"
        eval "cpu_$row=$(awk -v g="$(sum_of "$row" gw_cpu)" -v ok="$ok" 'BEGIN { print (ok > 0 ? g / ok : 0) }')"
    done
    if [ -n "${rate_passkey:-}" ] && [ -n "${rate_totp:-}" ]; then
        awk -v a="$rate_passkey" -v b="$rate_totp" -v bad="$invalid" 'BEGIN {
            printf "RATIO passkey / password+TOTP sign-ins/s: %.1fx%s\n", (b > 0 ? a / b : 0), (bad ? "  (INVALID: a row had errors)" : "") }'
        awk -v a="${cpu_passkey:-0}" -v b="${cpu_totp:-0}" 'BEGIN {
            printf "RATIO gateway CPU per sign-in, password+TOTP / passkey: %.1fx\n", (a > 0 ? b / a : 0) }'
    fi
    echo "sign-ins/s: successful sign-ins (a new session cookie) per second, median of runs; gw CPU ms/each:"
    echo "the gateway process's CPU time during the row / sign-ins; driver CPU s: the Python clients'"
    echo "CPU during the row (near SECS x 1 core means the clients, not ztgate, set the passkey rate);"
    echo "waited s: time clients waited for an unused TOTP time step (0: replay protection did not throttle)."
} | tee -a "$OUT/results.txt"
echo "(raw output and this table: $OUT/)"
