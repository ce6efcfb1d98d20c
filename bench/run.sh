#!/bin/bash
# Proxy throughput side by side, in one run on one machine (DESIGN.md §7, performance.md §8):
#   upstream nginx serving a 1 KiB file, measured directly, through nginx as a plain reverse
#   proxy, and through ztgate; then the same over HTTPS with one ECDSA P-256 certificate.
# Prints a table and the ratios ztgate/nginx. Works without ztgate (its rows say so).
#   usage: bench/run.sh BUILD_DIR        (see bench/README.md for the knobs)
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
RUNS=${BENCH_RUNS:-1}                        # >1: cases interleaved, medians reported
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-64}
ACCESS_LOG=${BENCH_ACCESS_LOG:-off}        # off | file (both proxies alike)
UPSTREAM_WORKERS=${BENCH_UPSTREAM_WORKERS:-1}
PROXY_WORKERS=${BENCH_PROXY_WORKERS:-2}
if [ -d "$build" ]; then OUT=${BENCH_OUT:-$build/bench}; else OUT=${BENCH_OUT:-${TMPDIR:-/tmp}/ztgate-bench-results}; fi
HOST=bench.test

for tool in wrk nginx openssl curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        echo "bench: '$tool' is missing; run scripts/setup.sh" >&2
        exit 1
    fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
case "$ACCESS_LOG" in off|file) ;; *) echo "bench: BENCH_ACCESS_LOG must be off or file" >&2; exit 2;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-bench.XXXXXX")
chmod 755 "$work"
mkdir -p "$OUT"
rm -f "$OUT"/wrk-*.txt
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

read -r P_UP P_UPS P_NG P_NGS P_ZT P_ZTS P_ZTA P_ZTI < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(8)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')

# ---- shared material: 1 KiB file, P-256 certificate
mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'z' > "$work/www/1k.html"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$work/key.pem" -out "$work/cert.pem" -subj "/CN=$HOST" \
    -addext "subjectAltName=DNS:$HOST" >/dev/null 2>&1
chmod 644 "$work/key.pem"   # nginx workers may run unprivileged; a throwaway key

user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"

nginx_common() { # $1 = workers
    cat <<EOF
$user_line
worker_processes $1;
daemon off;
pid $work/\$name.pid;
error_log $work/\$name-error.log warn;
events { worker_connections 4096; }
EOF
}

# ---- upstream: nginx serving the file over HTTP (and HTTPS for the direct TLS row)
sed "s/\\\$name/upstream/g" > "$work/upstream.conf" <<EOF
$(nginx_common "$UPSTREAM_WORKERS")
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:$P_UP;
        listen 127.0.0.1:$P_UPS ssl;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $work/www;
        location / { }
    }
}
EOF

# ---- nginx as a plain reverse proxy: keep-alive pool, HTTP/1.1 upstream, same TLS settings
if [ "$ACCESS_LOG" = file ]; then
    ng_log="access_log $work/nginx-access.log combined buffer=64k flush=1s;"
else
    ng_log="access_log off;"
fi
sed "s/\\\$name/proxy/g" > "$work/proxy.conf" <<EOF
$(nginx_common "$PROXY_WORKERS")
http {
    $ng_log
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    upstream app {
        server 127.0.0.1:$P_UP;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$P_NG reuseport;
        listen 127.0.0.1:$P_NGS ssl reuseport;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
EOF

start_nginx() { # name
    "$NGINX" -p "$work" -c "$work/$1.conf" -e "$work/$1-error.log" &
    pids+=($!)
}

wait_port() { # port pid
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

start_nginx upstream
wait_port "$P_UP" "${pids[-1]}" || { echo "bench: upstream nginx failed:"; cat "$work"/upstream-error.log; exit 1; }
start_nginx proxy
wait_port "$P_NG" "${pids[-1]}" || { echo "bench: proxy nginx failed:"; cat "$work"/proxy-error.log; exit 1; }

# ---- ztgate with the same upstream and certificate
zt_state="ztgate not built"
if [ -x "$build/ztgate" ]; then
    if [ "$ACCESS_LOG" = file ]; then zt_access="$work/ztgate-access.log"; else zt_access=off; fi
    cat > "$work/ztgate.yaml" <<EOF
state_dir: $work/ztstate
gateway:
  listen:
    - address: "127.0.0.1:$P_ZT"
    - address: "127.0.0.1:$P_ZTS"
      tls:
        cert: $work/cert.pem
        key: $work/key.pem
  workers: $PROXY_WORKERS
log:
  access: "$zt_access"
  error: $work/ztgate-error.log
  level: warn
audit:
  path: "off"
apps:
  - name: bench
    host: $HOST
    upstream: "http://127.0.0.1:$P_UP"
    sensitivity: public
EOF
    "$build/ztgate" serve --config "$work/ztgate.yaml" >"$work/ztgate.out" 2>&1 &
    pids+=($!)
    if wait_port "$P_ZT" "${pids[-1]}" && wait_port "$P_ZTS" "${pids[-1]}"; then
        zt_state=ok
    else
        zt_state="ztgate failed to start"
        echo "bench: ztgate did not start:" >&2
        cat "$work/ztgate.out" "$work/ztgate-error.log" 2>/dev/null | tail -n 20 >&2
    fi
fi

# A second ztgate with the audit log on (hash chain, checkpoints, group fsync, responses held
# until their record is written): the cost of accountability, side by side.
if [ "$zt_state" = ok ]; then
    sed -e "s|127.0.0.1:$P_ZT\"|127.0.0.1:$P_ZTA\"|" -e "/127.0.0.1:$P_ZTS/,/key:/d" \
        -e "s|path: \"off\"|path: $work/ztstate-audit/audit.log|" \
        -e "s|state_dir: .*|state_dir: $work/ztstate-audit|" \
        -e "s|error: .*|error: $work/ztgate-audit-error.log|" \
        "$work/ztgate.yaml" > "$work/ztgate-audit.yaml"
    "$build/ztgate" serve --config "$work/ztgate-audit.yaml" >"$work/ztgate-audit.out" 2>&1 &
    pids+=($!)
    wait_port "$P_ZTA" "${pids[-1]}" || echo "bench: ztgate with audit did not start" >&2
fi

# A third ztgate whose app is INTERNAL (a session is required), audit off, measured with the
# session cookie of one sign-in made with curl before the run: the cost of the session check
# (cookie parse, session cache, identity headers, the cached assertion) against the public row.
zt_session=""
if [ "$zt_state" = ok ]; then
    if [ "$ACCESS_LOG" = file ]; then zt_access="$work/ztgate-session-access.log"; else zt_access=off; fi
    cat > "$work/ztgate-session.yaml" <<EOF
state_dir: $work/ztstate-session
gateway:
  listen:
    - address: "127.0.0.1:$P_ZTI"
  workers: $PROXY_WORKERS
log:
  access: "$zt_access"
  error: $work/ztgate-session-error.log
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
EOF
    "$build/ztgate" serve --config "$work/ztgate-session.yaml" >"$work/ztgate-session.out" 2>&1 &
    pids+=($!)
    if wait_port "$P_ZTI" "${pids[-1]}"; then
        zt_session=$(
            pw="bench session password 1"
            printf '%s\n' "$pw" | "$build/ztgate" user add bench@bench.test --password-stdin \
                --config "$work/ztgate-session.yaml" >"$work/useradd.out" 2>&1 || exit 0
            curl -s -D "$work/login.h" -o "$work/login.b" -H "Host: $HOST" \
                "http://127.0.0.1:$P_ZTI/.ztgate/login" || exit 0
            csrf=$(sed -n 's/^[Ss]et-[Cc]ookie: ztgate_csrf=\([^;]*\).*/\1/p' "$work/login.h" | tr -d '\r')
            token=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/login.b")
            curl -s -o /dev/null -D - -H "Host: $HOST" -H "Cookie: ztgate_csrf=$csrf" \
                --data-urlencode "username=bench@bench.test" --data-urlencode "password=$pw" \
                --data-urlencode "csrf_token=$token" "http://127.0.0.1:$P_ZTI/.ztgate/login" |
                tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: ztgate_session=\([^;]*\).*/\1/p' | head -n 1
        )
        [ -n "$zt_session" ] || echo "bench: could not sign in to the session ztgate (see $work/useradd.out)" >&2
    else
        echo "bench: ztgate with an internal app did not start" >&2
    fi
fi

# Each target must serve the 1 KiB file before it is measured.
probe() { # url [extra request header]
    curl -sk -o /dev/null -w '%{http_code} %{size_download}' -H "Host: $HOST" ${2:+-H "$2"} "$1"
}

declare -A RPS P50 P99 ERR NOTE   # space-separated values, one per run
run_case() { # key url run [extra request header, e.g. a session cookie]
    local key=$1 url=$2 run=$3 extra=${4:-} check out
    local hdr=(-H "Host: $HOST")
    [ -n "$extra" ] && hdr+=(-H "$extra")
    check=$(probe "$url" "$extra" || true)
    if [ "$check" != "200 1024" ]; then
        NOTE[$key]="probe failed ($check)"
        return
    fi
    out="$OUT/wrk-$key-$run.txt"
    wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${hdr[@]}" "$url" >/dev/null 2>&1 || true
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${hdr[@]}" \
        -s "$repo/bench/report.lua" "$url" > "$out" 2>&1 || true
    local line
    line=$(grep '^ZTBENCH' "$out" || true)
    if [ -z "$line" ]; then
        NOTE[$key]="wrk failed (see $out)"
        return
    fi
    field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
    RPS[$key]+="$(field rps) "
    P50[$key]+="$(field p50) "
    P99[$key]+="$(field p99) "
    ERR[$key]+="$(( $(field status) + $(field connect) + $(field read) + $(field write) + $(field timeout) )) "
}

median() { # values...
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
zt_version=$([ -x "$build/ztgate" ] && "$build/ztgate" --version 2>&1 | head -n 1 || echo "-")
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
{
    echo "ztgate proxy benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu, kernel $(uname -r)"
    echo "versions: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), $(openssl version | cut -d' ' -f1-2), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), $zt_version"
    echo "load: wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up) x $RUNS run(s), median; Host: $HOST, 1 KiB file"
    echo "upstream: nginx, $UPSTREAM_WORKERS worker(s); proxies: $PROXY_WORKERS workers each; access log: $ACCESS_LOG (both)"
    echo "ztgate: app sensitivity public, audit off; '+ audit log': audit on; '+ session': app internal, one valid session cookie, audit off"
    echo "all processes share the same $(nproc) cores, nothing pinned"
} | tee "$OUT/results.txt"
echo

for run in $(seq "$RUNS"); do
    [ "$RUNS" -gt 1 ] && echo "run $run/$RUNS"
    run_case http-direct "http://127.0.0.1:$P_UP/1k.html" "$run"
    run_case http-nginx "http://127.0.0.1:$P_NG/1k.html" "$run"
    [ "$zt_state" = ok ] && run_case http-ztgate "http://127.0.0.1:$P_ZT/1k.html" "$run"
    [ "$zt_state" = ok ] && run_case http-ztgate-audit "http://127.0.0.1:$P_ZTA/1k.html" "$run"
    if [ -n "$zt_session" ]; then
        run_case http-ztgate-session "http://127.0.0.1:$P_ZTI/1k.html" "$run" \
            "Cookie: ztgate_session=$zt_session"
    elif [ "$zt_state" = ok ]; then
        NOTE[http-ztgate-session]="no session (sign-in before the run failed)"
    fi
    run_case https-direct "https://127.0.0.1:$P_UPS/1k.html" "$run"
    run_case https-nginx "https://127.0.0.1:$P_NGS/1k.html" "$run"
    [ "$zt_state" = ok ] && run_case https-ztgate "https://127.0.0.1:$P_ZTS/1k.html" "$run"
done
# Collapse the per-run lists to medians.
for key in "${!RPS[@]}"; do
    # shellcheck disable=SC2086 # the lists are meant to split
    { RPS[$key]=$(median ${RPS[$key]}); P50[$key]=$(median ${P50[$key]});
      P99[$key]=$(median ${P99[$key]}); ERR[$key]=$(printf '%s\n' ${ERR[$key]} | awk '{ s += $1 } END { print s }'); }
done

row() { # key label
    local key=$1
    if [ -n "${RPS[$key]:-}" ]; then
        printf '%-26s %12.0f %10.0f %10.0f %8s\n' "$2" "${RPS[$key]}" "${P50[$key]}" \
            "${P99[$key]}" "${ERR[$key]}"
    else
        local why=${NOTE[$key]:-}
        [[ $key == *ztgate ]] && [ "$zt_state" != ok ] && why=$zt_state
        printf '%-26s %s\n' "$2" "${why:-not run}"
    fi
}

ratio() { # key-zt key-nginx label
    local zt=$1 ng=$2
    if [ -n "${RPS[$zt]:-}" ] && [ -n "${RPS[$ng]:-}" ]; then
        awk -v zr="${RPS[$zt]}" -v nr="${RPS[$ng]}" -v zp="${P99[$zt]}" -v np="${P99[$ng]}" \
            -v l="$3" 'BEGIN { printf "%-8s ztgate/nginx  req/s %.2f   p99 %.2f\n", l, zr / nr, zp / np }'
    else
        printf '%-8s ztgate/nginx  n/a (%s)\n' "$3" "$zt_state"
    fi
}

{
    # The headline comes first: the production path of bench/production/run.sh (make bench runs
    # it just before this script), when its summary is from the last hour.
    prod=${BENCH_OUT:-$build/bench}/production/summary.txt
    if [ -f "$prod" ] && [ -n "$(find "$prod" -mmin -60 2>/dev/null)" ]; then
        grep '^HEADLINE' "$prod" || true
        echo
    fi
    printf '%-26s %12s %10s %10s %8s\n' case req/s "p50 (us)" "p99 (us)" errors
    row http-direct "http   upstream direct"
    row http-nginx "http   nginx proxy"
    row http-ztgate "http   ztgate"
    row http-ztgate-audit "http   ztgate + audit log"
    row http-ztgate-session "http   ztgate + session"
    row https-direct "https  upstream direct"
    row https-nginx "https  nginx proxy"
    row https-ztgate "https  ztgate"
    echo
    ratio http-ztgate http-nginx http
    ratio https-ztgate https-nginx https
    if [ -n "${RPS[http-ztgate-audit]:-}" ] && [ -n "${RPS[http-ztgate]:-}" ]; then
        awk -v a="${RPS[http-ztgate-audit]}" -v o="${RPS[http-ztgate]}" \
            -v ap="${P99[http-ztgate-audit]}" -v op="${P99[http-ztgate]}" \
            'BEGIN { printf "http     audit on/off  req/s %.2f   p99 %.2f\n", a / o, ap / op }'
    fi
    if [ -n "${RPS[http-ztgate-session]:-}" ] && [ -n "${RPS[http-ztgate]:-}" ]; then
        awk -v a="${RPS[http-ztgate-session]}" -v o="${RPS[http-ztgate]}" \
            -v ap="${P99[http-ztgate-session]}" -v op="${P99[http-ztgate]}" \
            'BEGIN { printf "http     session on/off  req/s %.2f   p99 %.2f   (target: req/s >= 0.97)\n", a / o, ap / op }'
    fi
} | tee -a "$OUT/results.txt"
echo "(raw wrk output and this table: $OUT/)"
