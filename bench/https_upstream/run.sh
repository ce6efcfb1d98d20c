#!/bin/bash
# TLS to the upstream side by side with nginx `proxy_ssl`, in one run on one machine (issue 15,
# DESIGN.md §7: target >= 0.90x nginx):
#   upstream: nginx serving a 1 KiB file over TLS (ECDSA P-256, session tickets on), measured
#   directly, through nginx (`proxy_pass https://`, proxy_ssl_verify on, proxy_ssl_name,
#   proxy_ssl_session_reuse on, keepalive 64) and through ztgate (`upstream: https://`,
#   `upstream_tls.ca_file` + `server_name`); clients speak plain HTTP to both proxies so the rows
#   differ only in the proxy's TLS client. The mTLS rows: the upstream also requires a client
#   certificate from the same CA (`ssl_verify_client on`); nginx presents one with
#   proxy_ssl_certificate, ztgate with upstream_tls.client_cert.
#   pooling: each proxy talks to its own upstream port whose access log records `$connection`
#   and `$ssl_session_reused`: how many upstream connections (= full or resumed handshakes) the
#   whole run needed, for each proxy.
#   usage: bench/https_upstream/run.sh [BUILD_DIR]     (knobs in bench/README.md)
# Numbers are printed, never asserted; each ratio says met or MISSED.
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
RUNS=${BENCH_RUNS:-1}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-64}
WORKERS=${BENCH_PROXY_WORKERS:-2}
OUT=${BENCH_OUT:-$build/bench}
out=$OUT/https_upstream
HOST=bench.test
UP_NAME=up.internal.test
MTLS_HOST=mtls.bench.test
mkdir -p "$out"
rm -f "$out"/wrk-*.txt

skip() { echo "https_upstream bench: skipped: $*"; exit 0; }
for tool in wrk nginx openssl curl python3; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || skip "$tool not found"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-tlsup-bench.XXXXXX")
chmod 755 "$work"
read -r P_UPD P_UPN P_UPZ P_NG P_ZT P_UPNM P_UPZM P_NGM < <(free_ports 8)

mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'z' > "$work/www/1k.html"
# a private CA and the upstream's certificate, as an internal service would have
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$work/ca.key" -out "$work/ca.pem" -subj "/CN=bench internal CA" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/up.key" \
    -out "$work/up.csr" -subj "/CN=$UP_NAME" >/dev/null 2>&1
openssl x509 -req -in "$work/up.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 2 -extfile <(printf 'subjectAltName=DNS:%s\n' "$UP_NAME") -out "$work/up.pem" >/dev/null 2>&1
# the proxies' client certificate for the mTLS rows (both present the same one)
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/client.key" \
    -out "$work/client.csr" -subj "/CN=bench proxy" >/dev/null 2>&1
openssl x509 -req -in "$work/client.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 2 -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$work/client.pem" >/dev/null 2>&1
chmod 600 "$work/client.key"
chmod 644 "$work/up.key" "$work/ca.key"   # nginx workers may run unprivileged; throwaway keys

# ---- upstream nginx: one port per proxy, each with its own connection log (buffered)
cat > "$work/upstream.conf" <<EOF
$(nginx_user_line)
worker_processes 1;
daemon off;
pid $work/upstream.pid;
error_log $work/upstream-error.log warn;
events { worker_connections 4096; }
http {
    log_format conn '\$connection \$ssl_session_reused \$ssl_protocol';
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    ssl_certificate $work/up.pem;
    ssl_certificate_key $work/up.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
    ssl_session_cache shared:up:10m;
    root $work/www;
    server {
        listen 127.0.0.1:$P_UPD ssl;
        access_log off;
        location / { }
    }
    server {
        listen 127.0.0.1:$P_UPN ssl;
        access_log $work/up-nginx.log conn buffer=256k flush=1s;
        location / { }
    }
    server {
        listen 127.0.0.1:$P_UPZ ssl;
        access_log $work/up-ztgate.log conn buffer=256k flush=1s;
        location / { }
    }
    server {
        listen 127.0.0.1:$P_UPNM ssl;
        ssl_verify_client on;
        ssl_client_certificate $work/ca.pem;
        access_log $work/up-nginx-mtls.log conn buffer=256k flush=1s;
        location / { }
    }
    server {
        listen 127.0.0.1:$P_UPZM ssl;
        ssl_verify_client on;
        ssl_client_certificate $work/ca.pem;
        access_log $work/up-ztgate-mtls.log conn buffer=256k flush=1s;
        location / { }
    }
}
EOF
"$NGINX" -p "$work" -c "$work/upstream.conf" -e "$work/upstream-error.log" &
pids+=($!)
wait_port "$P_UPN" "${pids[-1]}" || { cat "$work/upstream-error.log" >&2; skip "upstream nginx did not start"; }

# ---- nginx proxy: proxy_ssl with verification and session reuse, keep-alive pool
cat > "$work/proxy.conf" <<EOF
$(nginx_user_line)
worker_processes $WORKERS;
daemon off;
pid $work/proxy.pid;
error_log $work/proxy-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    upstream app {
        server 127.0.0.1:$P_UPN;
        keepalive 64;
        keepalive_requests 1000000;
    }
    upstream app_mtls {
        server 127.0.0.1:$P_UPNM;
        keepalive 64;
        keepalive_requests 1000000;
    }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$host;
    proxy_set_header X-Forwarded-For \$remote_addr;
    proxy_ssl_trusted_certificate $work/ca.pem;
    proxy_ssl_verify on;
    proxy_ssl_name $UP_NAME;
    proxy_ssl_server_name on;
    proxy_ssl_session_reuse on;
    proxy_ssl_protocols TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:$P_NG reuseport;
        location / { proxy_pass https://app; }
    }
    server {
        listen 127.0.0.1:$P_NGM reuseport;
        location / {
            proxy_pass https://app_mtls;
            proxy_ssl_certificate $work/client.pem;
            proxy_ssl_certificate_key $work/client.key;
        }
    }
}
EOF
"$NGINX" -p "$work" -c "$work/proxy.conf" -e "$work/proxy-error.log" &
pids+=($!)
wait_port "$P_NG" "${pids[-1]}" || { cat "$work/proxy-error.log" >&2; skip "nginx proxy did not start"; }

# ---- ztgate: the same upstream over https://, verified against the same CA and name
zt_state="ztgate not built"
if [ -x "$build/ztgate" ]; then
    cat > "$work/ztgate.yaml" <<EOF
state_dir: $work/ztstate
gateway:
  listen:
    - address: "127.0.0.1:$P_ZT"
  workers: $WORKERS
log:
  access: "off"
  error: $work/ztgate-error.log
  level: warn
audit:
  path: "off"
apps:
  - name: bench
    host: $HOST
    upstream: "https://127.0.0.1:$P_UPZ"
    upstream_tls:
      ca_file: $work/ca.pem
      server_name: $UP_NAME
    sensitivity: public
  - name: bench-mtls
    host: $MTLS_HOST
    upstream: "https://127.0.0.1:$P_UPZM"
    upstream_tls:
      ca_file: $work/ca.pem
      server_name: $UP_NAME
      client_cert: $work/client.pem
      client_key: $work/client.key
    sensitivity: public
EOF
    if ! "$build/ztgate" check-config "$work/ztgate.yaml" >"$work/check.out" 2>&1; then
        zt_state="refused by this ztgate (no https upstreams yet?): $(grep -m1 -i 'error\|unknown\|https' "$work/check.out" | sed "s|$work/||" | cut -c1-90)"
    else
        "$build/ztgate" serve --config "$work/ztgate.yaml" >"$work/ztgate.out" 2>&1 &
        pids+=($!)
        if wait_port "$P_ZT" "${pids[-1]}"; then
            zt_state=ok
        else
            zt_state="ztgate failed to start"
            tail -n 20 "$work/ztgate.out" "$work/ztgate-error.log" >&2 2>/dev/null || true
        fi
    fi
fi

probe() { # url host
    curl -sk -o /dev/null -w '%{http_code} %{size_download}' -H "Host: $2" "$1"
}
declare -A RPS P50 P99 ERR NOTE
run_case() { # key url run [host]
    local key=$1 url=$2 run=$3 host=${4:-$HOST} check line
    check=$(probe "$url" "$host" || true)
    if [ "$check" != "200 1024" ]; then
        NOTE[$key]="probe failed ($check)"
        return
    fi
    local o="$out/wrk-$key-$run.txt"
    wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -H "Host: $host" "$url" >/dev/null 2>&1 || true
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Host: $host" \
        -s "$repo/bench/report.lua" "$url" > "$o" 2>&1 || true
    line=$(grep '^ZTBENCH' "$o" || true)
    if [ -z "$line" ]; then
        NOTE[$key]="wrk failed (see $o)"
        return
    fi
    field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
    RPS[$key]+="$(field rps) "
    P50[$key]+="$(field p50) "
    P99[$key]+="$(field p99) "
    ERR[$key]+="$(( $(field status) + $(field connect) + $(field read) + $(field write) + $(field timeout) )) "
}

for run in $(seq "$RUNS"); do
    [ "$RUNS" -gt 1 ] && echo "run $run/$RUNS"
    run_case direct "https://127.0.0.1:$P_UPD/1k.html" "$run"
    run_case nginx "http://127.0.0.1:$P_NG/1k.html" "$run"
    [ "$zt_state" = ok ] && run_case ztgate "http://127.0.0.1:$P_ZT/1k.html" "$run"
    run_case nginx-mtls "http://127.0.0.1:$P_NGM/1k.html" "$run"
    [ "$zt_state" = ok ] && run_case ztgate-mtls "http://127.0.0.1:$P_ZT/1k.html" "$run" "$MTLS_HOST"
done
for key in "${!RPS[@]}"; do
    # shellcheck disable=SC2086 # the lists are meant to split
    { RPS[$key]=$(median ${RPS[$key]}); P50[$key]=$(median ${P50[$key]});
      P99[$key]=$(median ${P99[$key]}); ERR[$key]=$(printf '%s\n' ${ERR[$key]} | awk '{ s += $1 } END { print s }'); }
done
sleep 1.5   # the upstream's access log buffers flush every second

# upstream connections seen per proxy (each one a full or resumed handshake), how many resumed
conn_stats() { # log
    [ -s "$1" ] || { echo "no requests logged"; return; }
    awk '{ n++; if (!($1 in seen)) { seen[$1] = 1; c++; if ($2 == "r") r++ } ; p[$3]++ }
         END { printf "%d requests on %d connections (%d resumed)", n, c, r + 0;
               for (k in p) printf ", %s", k }' "$1"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
row() { # key label
    if [ -n "${RPS[$1]:-}" ]; then
        printf '%-34s %12.0f %10.0f %10.0f %8s\n' "$2" "${RPS[$1]}" "${P50[$1]}" "${P99[$1]}" "${ERR[$1]}"
    else
        local why=${NOTE[$1]:-}
        [[ $1 == ztgate* ]] && [ "$zt_state" != ok ] && why=$zt_state
        printf '%-34s %s\n' "$2" "${why:-not run}"
    fi
}
{
    echo "ztgate https-upstream benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu; $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), $(openssl version | cut -d' ' -f1-2)"
    echo "load: wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up) x $RUNS run(s), median; 1 KiB file"
    echo "upstream: nginx TLS (P-256, tickets on), 1 worker; proxies: $WORKERS workers, plain HTTP in front, audit off"
    echo
    printf '%-34s %12s %10s %10s %8s\n' case req/s "p50 (us)" "p99 (us)" errors
    row direct "upstream direct (https)"
    row nginx "nginx proxy_ssl"
    row ztgate "ztgate upstream: https://"
    row nginx-mtls "nginx proxy_ssl + client cert"
    row ztgate-mtls "ztgate https:// + client_cert"
    echo
    for k in "" -mtls; do
        label="ztgate/nginx${k:+ (mTLS)}"
        if [ -n "${RPS[ztgate$k]:-}" ] && [ -n "${RPS[nginx$k]:-}" ]; then
            printf '%-21s req/s %s' "$label" "$(verdict "${RPS[ztgate$k]}" "${RPS[nginx$k]}" 0.90)"
            awk -v a="${P99[ztgate$k]}" -v b="${P99[nginx$k]}" 'BEGIN { if (b > 0) printf "   p99 %.2fx\n", a / b }'
        else
            echo "$label  n/a ($zt_state)"
        fi
    done
    echo "upstream connections, nginx proxy: $(conn_stats "$work/up-nginx.log"); mTLS: $(conn_stats "$work/up-nginx-mtls.log")"
    echo "upstream connections, ztgate:      $(conn_stats "$work/up-ztgate.log"); mTLS: $(conn_stats "$work/up-ztgate-mtls.log")"
    echo "(each count includes the probe request before the run)"
} | tee "$out/results.txt"
echo "(raw output: $out/)"
