#!/bin/bash
# Risk engine benchmark (Core 4):
#  1. bench/risk/risk_bench (libztcore): µs per sign-in of zt_feeds_lookup + zt_risk_assess +
#     zt_risk_record with 1,000 users with learned histories, GeoIP (a generated City + ASN
#     mmdb, tests/tools/make_mmdb.pl) and 100,000 anonymous ranges; ns per request of
#     zt_feeds_lookup + zt_risk_ip_level.
#  2. proxied req/s of a signed-in session against an internal app with those feeds configured vs
#     without (two ztgates, otherwise identical, interleaved runs, medians): the cost of the
#     feeds on the proxy path, goal under 5 % (ratio >= 0.95), printed, never enforced.
#   usage: bench/risk/run.sh [BUILD_DIR]      (knobs in bench/README.md)
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -d "$build" ]; then
    echo "risk bench: $build does not exist (run 'make' first)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)
SIGNIN_SECONDS=${RISK_BENCH_SECONDS:-5}
USERS=${RISK_BENCH_USERS:-1000}
DURATION=${RISK_BENCH_DURATION:-5s}
WARMUP=${RISK_BENCH_WARMUP:-1s}
RUNS=${RISK_BENCH_RUNS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-64}
WORKERS=${BENCH_PROXY_WORKERS:-2}
OUT=${BENCH_OUT:-$build/bench}
out=$OUT/risk
HOST=bench.test
mkdir -p "$out"

skip() { echo "risk bench: skipped: $*"; exit 0; }
command -v perl >/dev/null 2>&1 || skip "perl not found (tests/tools/make_mmdb.pl needs it)"
perl -MMaxMind::DB::Writer::Tree -MJSON::PP -e 1 >/dev/null 2>&1 ||
    skip "perl module MaxMind::DB::Writer missing (apt-get install libmaxmind-db-writer-perl)"

# ---- build: the meson target, else cc against the build's static library
bin=$build/bench/risk_bench
if ! ninja -C "$build" bench/risk_bench >"$out/build.log" 2>&1; then
    [ -f "$build/libztcore.a" ] || skip "no bench/risk_bench target and no $build/libztcore.a (see $out/build.log)"
    bin=$out/risk_bench
    echo "risk bench: no meson target (see $out/build.log); compiling with cc against $build/libztcore.a" >&2
    # shellcheck disable=SC2046 # pkg-config output is meant to split
    cc -O2 -std=c17 -D_GNU_SOURCE -DZT_VERSION='"bench"' -I "$repo/src" \
        "$repo/bench/risk/risk_bench.c" "$build/libztcore.a" "$build/libllhttp.a" \
        $(pkg-config --libs libuv openssl libsodium yaml-0.1 jansson sqlite3 liboath libqrencode \
          libmaxminddb) -lunistring -lpthread -ldl -lrt -lm -o "$bin" >>"$out/build.log" 2>&1 ||
        skip "cc failed (see $out/build.log)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-risk-bench.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- feeds: generated lists and JSON, mmdb files written by the test tool
feeds=$work/feeds
mkdir -p "$feeds"
"$bin" gen "$feeds" || skip "risk_bench gen failed"
if ! perl "$repo/tests/tools/make_mmdb.pl" "$feeds/city.json" "$feeds/city.mmdb" ||
        ! perl "$repo/tests/tools/make_mmdb.pl" "$feeds/asn.json" "$feeds/asn.mmdb"; then
    skip "make_mmdb.pl failed"
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
{
    echo "ztgate risk benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu, kernel $(uname -r)"
    echo
    echo "== risk engine (bench/risk/risk_bench, single thread) =="
} | tee "$out/results.txt"

# The history is written on tmpfs when there is one (SQLite with synchronous=FULL fsyncs every
# sign-in; 10,000 of them on disk take a minute), then copied next to the feeds, where the
# measured sign-ins run.
setup_dir=$work
if [ -d /dev/shm ] && [ -w /dev/shm ]; then setup_dir=/dev/shm; fi
"$bin" run "$feeds" --users "$USERS" --seconds "$SIGNIN_SECONDS" --setup-dir "$setup_dir" \
    2>"$out/risk_bench.err" | tee -a "$out/results.txt" || echo "risk bench: risk_bench failed (see $out/risk_bench.err)"
rm -rf "$feeds/store"

# ---- proxy: the same ztgate with and without the feeds
echo | tee -a "$out/results.txt"
echo "== proxy: signed-in session, internal app, with vs without risk feeds ==" | tee -a "$out/results.txt"
proxy_skip() { echo "proxy rows skipped: $*" | tee -a "$out/results.txt"; exit 0; }
for tool in wrk nginx curl python3; do
    command -v "$tool" >/dev/null 2>&1 || proxy_skip "$tool not found"
done
[ -x "$build/ztgate" ] || proxy_skip "$build/ztgate not built"
NGINX=$(command -v nginx)

read -r P_UP P_OFF P_ON P_OFF2 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')

wait_port() { # port pid
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'z' > "$work/www/1k.html"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
cat > "$work/upstream.conf" <<EOF
$user_line
worker_processes ${BENCH_UPSTREAM_WORKERS:-1};
daemon off;
pid $work/upstream.pid;
error_log $work/upstream-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:$P_UP;
        root $work/www;
        location / { }
    }
}
EOF
"$NGINX" -p "$work" -c "$work/upstream.conf" -e "$work/upstream-error.log" &
pids+=($!)
wait_port "$P_UP" "${pids[-1]}" || proxy_skip "upstream nginx did not start"

zt_config() { # name port [risk section]
    cat <<EOF
state_dir: $work/zt-$1
gateway:
  listen:
    - address: "127.0.0.1:$2"
  workers: $WORKERS
log:
  access: "off"
  error: $work/zt-$1-error.log
  level: warn
audit:
  path: "off"
auth:
  mfa: optional
  argon2_memory: 19MiB
  argon2_passes: 2
apps:
  - name: bench
    host: $HOST
    upstream: "http://127.0.0.1:$P_UP"
    sensitivity: internal
${3:-}
EOF
}
zt_config off "$P_OFF" > "$work/zt-off.yaml"
zt_config off2 "$P_OFF2" > "$work/zt-off2.yaml"   # a twin of "off": run-to-run and instance noise
zt_config on "$P_ON" "risk:
  geoip_city: $feeds/city.mmdb
  geoip_asn: $feeds/asn.mmdb
  anonymous_ips:
    - path: $feeds/anonymous.txt
  malicious_ips:
    - path: $feeds/malicious.txt
      source: bench-drop" > "$work/zt-on.yaml"

declare -A SESSION PORT=([off]=$P_OFF [off2]=$P_OFF2 [on]=$P_ON)
for v in off off2 on; do
    port=${PORT[$v]}
    "$build/ztgate" serve --config "$work/zt-$v.yaml" >"$work/zt-$v.out" 2>&1 &
    pids+=($!)
    if ! wait_port "$port" "${pids[-1]}"; then
        cat "$work/zt-$v.out" "$work/zt-$v-error.log" 2>/dev/null | tail -n 20 >&2
        proxy_skip "ztgate ($v) did not start"
    fi
    SESSION[$v]=$(
        pw="risk bench password 1"
        printf '%s\n' "$pw" | "$build/ztgate" user add bench@bench.test --password-stdin \
            --config "$work/zt-$v.yaml" >"$work/useradd-$v.out" 2>&1 || exit 0
        curl -s -D "$work/login-$v.h" -o "$work/login-$v.b" -H "Host: $HOST" \
            "http://127.0.0.1:$port/.ztgate/login" || exit 0
        csrf=$(sed -n 's/^[Ss]et-[Cc]ookie: ztgate_csrf=\([^;]*\).*/\1/p' "$work/login-$v.h" | tr -d '\r')
        token=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/login-$v.b")
        curl -s -o /dev/null -D - -H "Host: $HOST" -H "Cookie: ztgate_csrf=$csrf" \
            --data-urlencode "username=bench@bench.test" --data-urlencode "password=$pw" \
            --data-urlencode "csrf_token=$token" "http://127.0.0.1:$port/.ztgate/login" |
            tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: ztgate_session=\([^;]*\).*/\1/p' | head -n 1
    )
    [ -n "${SESSION[$v]}" ] || proxy_skip "could not sign in to ztgate ($v)"
done
feeds_loaded=$(grep -i -m1 'feed' "$work/zt-on-error.log" "$work/zt-on.out" 2>/dev/null | head -n 1 || true)

declare -A RPS P50 P99 ERR NOTE
run_case() { # key port
    local key=$1 port=$2 check line wout
    local hdr=(-H "Host: $HOST" -H "Cookie: ztgate_session=${SESSION[$key]}")
    check=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "${hdr[@]}" \
        "http://127.0.0.1:$port/1k.html" || true)
    if [ "$check" != "200 1024" ]; then
        NOTE[$key]="probe failed ($check)"
        return
    fi
    wout="$out/wrk-$key-$run.txt"
    wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${hdr[@]}" "http://127.0.0.1:$port/1k.html" >/dev/null 2>&1 || true
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${hdr[@]}" -s "$repo/bench/report.lua" \
        "http://127.0.0.1:$port/1k.html" > "$wout" 2>&1 || true
    line=$(grep '^ZTBENCH' "$wout" || true)
    if [ -z "$line" ]; then
        NOTE[$key]="wrk failed (see $wout)"
        return
    fi
    field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
    RPS[$key]+="$(field rps) "
    P50[$key]+="$(field p50) "
    P99[$key]+="$(field p99) "
    ERR[$key]=$(( ${ERR[$key]:-0} + $(field status) + $(field connect) + $(field read) + $(field write) + $(field timeout) ))
}
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
{
    echo "load: wrk -t$THREADS -c$CONNS -d$DURATION (after $WARMUP warm-up) x $RUNS interleaved runs, median; ztgate $WORKERS workers, audit and access log off"
    echo "feeds on: GeoIP City + ASN (generated), 100,000 anonymous blocks, 1,000 malicious; clients are 127.0.0.1 (a GeoIP hit: JP), so every request does both mmdb lookups and both list searches"
    [ -n "$feeds_loaded" ] && echo "ztgate (on) says: $feeds_loaded"
    echo "all processes share the same $(nproc) cores, nothing pinned"
} | tee -a "$out/results.txt"
orders=("off on off2" "on off2 off" "off2 off on")
for run in $(seq "$RUNS"); do
    for v in ${orders[$(( (run - 1) % 3 ))]}; do
        run_case "$v" "${PORT[$v]}"
    done
done
for key in "${!RPS[@]}"; do
    # shellcheck disable=SC2086 # the lists are meant to split
    { RPS[$key]=$(median ${RPS[$key]}); P50[$key]=$(median ${P50[$key]}); P99[$key]=$(median ${P99[$key]}); }
done
row() {
    if [ -n "${RPS[$1]:-}" ]; then
        printf '%-32s %10.0f %10.0f %10.0f %8s\n' "$2" "${RPS[$1]}" "${P50[$1]}" "${P99[$1]}" "${ERR[$1]}"
    else
        printf '%-32s %s\n' "$2" "${NOTE[$1]:-not run}"
    fi
}
{
    printf '%-32s %10s %10s %10s %8s\n' case req/s "p50 (us)" "p99 (us)" errors
    row off "http ztgate + session"
    row off2 "http ztgate + session (twin)"
    row on "http ztgate + session + feeds"
    echo
    if [ -n "${RPS[on]:-}" ] && [ -n "${RPS[off]:-}" ]; then
        awk -v a="${RPS[on]}" -v o="${RPS[off]}" -v ap="${P99[on]}" -v op="${P99[off]}" \
            'BEGIN { r = a / o; printf "feeds on/off  req/s %.3f (cost %.1f %%)   p99 %.2f   goal: cost under 5 %% -> %s\n",
                     r, (1 - r) * 100, ap / op, (r >= 0.95 ? "met" : "MISSED") }'
    fi
    if [ -n "${RPS[off2]:-}" ] && [ -n "${RPS[off]:-}" ]; then
        awk -v a="${RPS[off2]}" -v o="${RPS[off]}" \
            'BEGIN { printf "twin/off      req/s %.3f   (two identical ztgates: the noise floor of this ratio)\n", a / o }'
    fi
} | tee -a "$out/results.txt"
echo "(raw wrk output and this table: $out/)"
