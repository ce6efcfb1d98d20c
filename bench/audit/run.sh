#!/bin/bash
# Audit writer benchmark: appends/s of the real audit writer with 1, 2 and 4 producer threads,
# enqueue latency, fsync count and latency, and appends/s ÷ the proxy's peak req/s (goal >= 1.5x,
# printed, never enforced).
#   usage: bench/audit/run.sh [BUILD_DIR] [PROXY_RPS]      (knobs in bench/README.md)
# The proxy's peak req/s comes from, in this order: PROXY_RPS, $BENCH_PROXY_RPS, the
# "http   ztgate" row of BUILD_DIR/bench/results.txt when bench/run.sh wrote it in the last
# hour (make bench runs it first), or a short wrk run against ztgate (audit off) in front of an
# nginx upstream serving 1 KiB, started here.
set -euo pipefail

build=${1:-build}
arg_rps=${2:-}
repo=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -d "$build" ]; then
    echo "audit bench: $build does not exist (run 'make' first)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)
SECONDS_PER_ROW=${AUDIT_BENCH_SECONDS:-5}
PRODUCERS=${AUDIT_BENCH_THREADS:-1 2 4}
PROXY_SECONDS=${AUDIT_BENCH_PROXY_SECONDS:-5}
OUT=${BENCH_OUT:-$build/bench}
out=$OUT/audit
mkdir -p "$out"

# ---- build: the meson target (bench/meson.build, builds with -Dtests=true), else cc against
# the build's static library with the same dependencies as ztgate.
bin=$build/bench/audit_bench
if ! ninja -C "$build" bench/audit_bench >"$out/build.log" 2>&1; then
    if [ ! -f "$build/libztcore.a" ]; then
        echo "audit bench: no bench/audit_bench target and no $build/libztcore.a (see $out/build.log)" >&2
        exit 1
    fi
    bin=$out/audit_bench
    echo "audit bench: no meson target (see $out/build.log); compiling with cc against" \
         "$build/libztcore.a" >&2
    # shellcheck disable=SC2046 # pkg-config output is meant to split
    if ! cc -O2 -std=c17 -D_GNU_SOURCE -DZT_VERSION='"bench"' -I "$repo/src" \
            "$repo/bench/audit/audit_bench.c" "$build/libztcore.a" "$build/libllhttp.a" \
            $(pkg-config --libs libuv openssl libsodium yaml-0.1 jansson sqlite3 liboath \
              libqrencode) -lunistring -lpthread -ldl -lrt -lm -o "$bin" >>"$out/build.log" 2>&1; then
        echo "audit bench: cc failed (see $out/build.log)" >&2
        exit 1
    fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-audit-bench.XXXXXX")
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

wait_port() { # port pid
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# Short wrk run: nginx upstream (1 KiB file) <- ztgate (public app, audit off, 2 workers).
# Sets MEASURED to the req/s or to "skipped: why". Not run in a subshell: cleanup must see pids.
MEASURED=""
measure_proxy() {
    local tool
    for tool in wrk nginx curl python3; do
        if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
            MEASURED="skipped: $tool missing"
            return
        fi
    done
    [ -x "$build/ztgate" ] || { MEASURED="skipped: $build/ztgate not built"; return; }
    local nginx p_up p_zt user_line="" host=bench.test
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    read -r p_up p_zt < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
    [ "$(id -u)" -eq 0 ] && user_line="user root;"
    mkdir -p "$work/www"
    head -c 1024 /dev/zero | tr '\0' 'z' >"$work/www/1k.html"
    cat >"$work/upstream.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $work/upstream.pid;
error_log $work/upstream-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$p_up; root $work/www; location / { } }
}
EOF
    "$nginx" -p "$work" -c "$work/upstream.conf" -e "$work/upstream-error.log" &
    pids+=($!)
    wait_port "$p_up" "${pids[-1]}" || { MEASURED="skipped: upstream nginx did not start"; return; }
    cat >"$work/ztgate.yaml" <<EOF
state_dir: $work/ztstate
gateway:
  listen:
    - address: "127.0.0.1:$p_zt"
  workers: 2
log:
  access: "off"
  error: $work/ztgate-error.log
  level: warn
audit:
  path: "off"
apps:
  - name: bench
    host: $host
    upstream: "http://127.0.0.1:$p_up"
    sensitivity: public
EOF
    "$build/ztgate" serve --config "$work/ztgate.yaml" >"$work/ztgate.out" 2>&1 &
    pids+=($!)
    wait_port "$p_zt" "${pids[-1]}" || { MEASURED="skipped: ztgate did not start"; return; }
    local url="http://127.0.0.1:$p_zt/1k.html" probe
    probe=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "Host: $host" "$url" || true)
    [ "$probe" = "200 1024" ] || { MEASURED="skipped: probe failed ($probe)"; return; }
    wrk -t2 -c64 -d1s -H "Host: $host" "$url" >/dev/null 2>&1 || true
    wrk -t2 -c64 -d"${PROXY_SECONDS}s" -H "Host: $host" "$url" >"$out/wrk-proxy.txt" 2>&1 || true
    local rps
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out/wrk-proxy.txt")
    [ -n "$rps" ] || { MEASURED="skipped: wrk failed (see $out/wrk-proxy.txt)"; return; }
    MEASURED=$rps
}

proxy_rps="" proxy_source=""
if [ -n "$arg_rps" ]; then
    proxy_rps=$arg_rps proxy_source="given on the command line"
elif [ -n "${BENCH_PROXY_RPS:-}" ]; then
    proxy_rps=$BENCH_PROXY_RPS proxy_source="BENCH_PROXY_RPS"
elif [ -f "$OUT/results.txt" ] && [ -n "$(find "$OUT/results.txt" -mmin -60 2>/dev/null)" ] &&
     grep -q '^http   ztgate  ' "$OUT/results.txt"; then
    proxy_rps=$(awk '/^http   ztgate  / && $3 ~ /^[0-9.]+$/ { print $3; exit }' "$OUT/results.txt")
    proxy_source="http ztgate row of bench/run.sh, $OUT/results.txt"
fi
if [ -z "$proxy_rps" ] && [ "${AUDIT_BENCH_MEASURE_PROXY:-1}" = 1 ]; then
    echo "measuring the proxy's peak: wrk -t2 -c64 -d${PROXY_SECONDS}s -> ztgate (audit off) -> nginx 1 KiB ..."
    measure_proxy
    case "$MEASURED" in
        skipped*) echo "audit bench: proxy not measured: $MEASURED" >&2 ;;
        *) proxy_rps=$MEASURED proxy_source="wrk -t2 -c64 -d${PROXY_SECONDS}s, ztgate audit off, measured just now" ;;
    esac
    # The proxy is stopped before the writer is measured: both would share the 2 cores.
    cleanup
    pids=()
    work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-audit-bench.XXXXXX")
fi

args=(--seconds "$SECONDS_PER_ROW" --dir "$work")
[ -n "$proxy_rps" ] && args+=(--proxy-rps "$proxy_rps" --proxy-source "$proxy_source")
echo "== audit writer ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, $(uname -m)) =="
# shellcheck disable=SC2086 # the producer list is meant to split
"$bin" "${args[@]}" $PRODUCERS | tee "$out/results.txt"
echo "(this table: $out/results.txt)"
