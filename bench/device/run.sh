#!/bin/bash
# Device trust benchmark (Core 5), side by side with nginx in one run on one machine:
#  1. full TLS handshakes/s with client-certificate verification: ztgate (device CA, revoked-serial
#     check) vs nginx `ssl_verify_client on` with the same P-256 server key, the same enrolled
#     device certificate and CA; TLS 1.3 and 1.2; every request on a new connection, no session
#     resumption. The same without a client certificate, for the cost of the verification itself.
#  2. the per-request cost of the device lookup: proxied req/s over keep-alive TLS with a signed-in
#     session, with the device's client certificate (device id -> zt_devices_state on every
#     request) vs the same session without a certificate.
# Load comes from bench/device/tlsload.c (compiled here with cc): wrk can neither present a client
# certificate nor open a new connection per request.
#   usage: bench/device/run.sh [BUILD_DIR]      (knobs in bench/README.md)
# Numbers are printed, never asserted.
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -d "$build" ]; then
    echo "device bench: $build does not exist (run 'make' first)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)
DURATION=${DEVICE_BENCH_SECONDS:-5}
WARMUP=${DEVICE_BENCH_WARMUP:-1}
HS_CONNS=${DEVICE_BENCH_HS_CONNS:-16}
KA_CONNS=${DEVICE_BENCH_KA_CONNS:-32}
KA_RUNS=${DEVICE_BENCH_KA_RUNS:-3}
WORKERS=${BENCH_PROXY_WORKERS:-2}
OUT=${BENCH_OUT:-$build/bench}
out=$OUT/device
HOST=bench.test
APP_HOST=app.test
mkdir -p "$out"

skip() { echo "device bench: skipped: $*"; exit 0; }
for tool in nginx openssl curl cc python3; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
done
[ -x "$build/ztgate" ] || skip "$build/ztgate not built"
[ -x "$build/ztagent" ] || skip "$build/ztagent not built"
NGINX=$(command -v nginx)

# ---- the load generator
tlsload=$out/tlsload
if ! cc -O2 -std=c17 -Wall -o "$tlsload" "$repo/bench/device/tlsload.c" -lssl -lcrypto -lpthread \
        >"$out/build.log" 2>&1; then
    skip "cannot compile bench/device/tlsload.c (see $out/build.log; needs OpenSSL headers)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-device-bench.XXXXXX")
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

read -r P_UP P_ZT P_NG P_NGN < <(python3 -c '
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

# ---- shared material: 1 KiB file, the P-256 server certificate both proxies use
mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'z' > "$work/www/1k.html"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$work/key.pem" -out "$work/cert.pem" -subj "/CN=$HOST" \
    -addext "subjectAltName=DNS:$HOST,DNS:$APP_HOST" >/dev/null 2>&1
chmod 644 "$work/key.pem"   # nginx workers may run unprivileged; a throwaway key
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"

# ---- upstream: nginx serving the file over HTTP, 1 worker
cat > "$work/upstream.conf" <<EOF
$user_line
worker_processes 1;
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
wait_port "$P_UP" "${pids[-1]}" || { cat "$work/upstream-error.log" >&2; skip "upstream nginx did not start"; }

# ---- ztgate: a public app (handshake rows) and an internal one (session rows), TLS listener
cat > "$work/ztgate.yaml" <<EOF
state_dir: $work/ztstate
gateway:
  listen:
    - address: "127.0.0.1:$P_ZT"
      tls:
        cert: $work/cert.pem
        key: $work/key.pem
  workers: $WORKERS
log:
  access: "off"
  error: $work/ztgate-error.log
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
    sensitivity: public
  - name: app
    host: $APP_HOST
    upstream: "http://127.0.0.1:$P_UP"
    sensitivity: internal
EOF
"$build/ztgate" serve --config "$work/ztgate.yaml" >"$work/ztgate.out" 2>&1 &
pids+=($!)
if ! wait_port "$P_ZT" "${pids[-1]}"; then
    cat "$work/ztgate.out" "$work/ztgate-error.log" 2>/dev/null | tail -n 20 >&2
    skip "ztgate did not start"
fi
[ -f "$work/ztstate/device-ca/ca.pem" ] || skip "ztgate made no device CA in $work/ztstate/device-ca"

# ---- enrol one device the real way: a code from the CLI, ztagent trades it for a certificate
pw="device bench password 1"
zt() { "$build/ztgate" "$@" --config "$work/ztgate.yaml"; }
printf '%s\n' "$pw" | zt user add dev@bench.test --password-stdin >"$work/useradd.out" 2>&1 ||
    { cat "$work/useradd.out" >&2; skip "ztgate user add failed"; }
code=$(zt device enroll-code --user dev@bench.test 2>"$work/code.err") ||
    { cat "$work/code.err" >&2; skip "ztgate device enroll-code failed"; }
if ! "$build/ztagent" enroll --server "https://127.0.0.1:$P_ZT" --code "$code" \
        --insecure-first-use --dir "$work/agent" >"$work/enroll.out" 2>&1; then
    cat "$work/enroll.out" >&2
    skip "ztagent enroll failed"
fi
DCERT=$work/agent/device.pem
DKEY=$work/agent/device.key
device_id=$(openssl x509 -in "$DCERT" -noout -subject -nameopt multiline | sed -n 's/ *commonName *= *//p')

# ---- nginx with the same server key, verifying the same device certificate against ztgate's CA
cat > "$work/proxy.conf" <<EOF
$user_line
worker_processes $WORKERS;
daemon off;
pid $work/proxy.pid;
error_log $work/proxy-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    upstream app {
        server 127.0.0.1:$P_UP;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$P_NG ssl reuseport;
        ssl_verify_client on;
        ssl_verify_depth 1;
        ssl_client_certificate $work/ztstate/device-ca/ca.pem;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Client-Verify \$ssl_client_verify;
        }
    }
    server {
        listen 127.0.0.1:$P_NGN ssl reuseport;
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
"$NGINX" -p "$work" -c "$work/proxy.conf" -e "$work/proxy-error.log" &
pids+=($!)
wait_port "$P_NG" "${pids[-1]}" || { cat "$work/proxy-error.log" >&2; skip "nginx proxy did not start"; }

# ---- one sign-in (curl, no client certificate) for the keep-alive rows
curl -sk -D "$work/login.h" -o "$work/login.b" -H "Host: $APP_HOST" \
    "https://127.0.0.1:$P_ZT/.ztgate/login" || true
# Over TLS the cookies carry the __Host- prefix: keep the names as set.
csrf=$(sed -n 's/^[Ss]et-[Cc]ookie: \(\(__Host-\)\{0,1\}ztgate_csrf=[^;]*\).*/\1/p' "$work/login.h" | tr -d '\r')
token=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/login.b")
session=$(curl -sk -o /dev/null -D - -H "Host: $APP_HOST" -H "Cookie: $csrf" \
    --data-urlencode "username=dev@bench.test" --data-urlencode "password=$pw" \
    --data-urlencode "csrf_token=$token" "https://127.0.0.1:$P_ZT/.ztgate/login" |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(\(__Host-\)\{0,1\}ztgate_session=[^;]*\).*/\1/p' | head -n 1)
[ -n "$session" ] || echo "device bench: sign-in failed; the keep-alive rows are skipped" >&2

# ---- probes: the device certificate must be accepted by both, and refused when absent by nginx
probe() { # port host [curl args...]
    local port=$1 host=$2
    shift 2
    curl -sk -o /dev/null -w '%{http_code} %{size_download}' --resolve "$host:$port:127.0.0.1" \
        "$@" "https://$host:$port/1k.html" 2>/dev/null || true
}
declare -A PROBE
PROBE[zt-cert]=$(probe "$P_ZT" "$HOST" --cert "$DCERT" --key "$DKEY")
PROBE[zt-none]=$(probe "$P_ZT" "$HOST")
PROBE[ng-cert]=$(probe "$P_NG" "$HOST" --cert "$DCERT" --key "$DKEY")
PROBE[ng-none]=$(probe "$P_NGN" "$HOST")
ng_refuses=$(probe "$P_NG" "$HOST")
if [ -n "$session" ]; then
    PROBE[ka-cert]=$(probe "$P_ZT" "$APP_HOST" --cert "$DCERT" --key "$DKEY" \
        -H "Cookie: $session")
    PROBE[ka-none]=$(probe "$P_ZT" "$APP_HOST" -H "Cookie: $session")
fi

declare -A RPS P50 P99 ERR NOTE PROTO
measure() { # key probe port conns mode(new|ka) tls(1.2|1.3) cert(yes|no) [header]
    local key=$1 pkey=$2 port=$3 conns=$4 mode=$5 tls=$6 cert=$7 hdr=${8:-} args=() line
    local host=$HOST
    if [ "${PROBE[$pkey]:-}" != "200 1024" ]; then
        NOTE[$key]="probe failed (${PROBE[$pkey]:-not run})"
        return
    fi
    [ "$mode" = new ] && args+=(-n)
    [ "$cert" = yes ] && args+=(-C "$DCERT" -K "$DKEY")
    [ -n "$hdr" ] && { args+=(-H "$hdr"); host=$APP_HOST; }
    line=$("$tlsload" -p "$port" -s "$host" -P /1k.html -e 1024 -c "$conns" -d "$DURATION" \
        -w "$WARMUP" -t "$tls" "${args[@]}" 2>>"$out/tlsload.err" | grep '^TLSLOAD' || true)
    echo "$key ${line:-failed}" >> "$out/raw.txt"
    if [ -z "$line" ]; then
        NOTE[$key]="tlsload failed (see $out/tlsload.err)"
        return
    fi
    field() { sed -E "s/.* $1=([^ ]+).*/\1/" <<<"$line"; }
    RPS[$key]+="$(field rps) "
    P50[$key]=$(field p50)
    P99[$key]=$(field p99)
    ERR[$key]=$(( ${ERR[$key]:-0} + $(field errors) + $(field bad) ))
    PROTO[$key]="$(field proto) $(field cipher)"
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

: > "$out/raw.txt"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
{
    echo "ztgate device trust benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu, kernel $(uname -r)"
    echo "versions: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), $(openssl version | cut -d' ' -f1-2), $("$build/ztgate" --version 2>&1 | head -n 1)"
    echo "server key: ECDSA P-256 (both); device certificate: enrolled with ztagent (device $device_id), CA $work/ztstate/device-ca/ca.pem"
    echo "proxies: $WORKERS workers each, access log off, audit off; upstream: nginx 1 worker, 1 KiB file"
    echo "load: bench/device/tlsload, ${DURATION}s after ${WARMUP}s warm-up; handshake rows: $HS_CONNS conns, new connection per request, no resumption"
    echo "      keep-alive rows: $KA_CONNS conns, one session cookie, median of $KA_RUNS interleaved runs"
    echo "nginx without a client certificate (ssl_verify_client on): ${ng_refuses:-?} (400 expected)"
    echo "all processes share the same $(nproc) cores, nothing pinned"
} | tee "$out/results.txt"
echo

for tls in 1.3 1.2; do
    measure "ng-cert-$tls" ng-cert "$P_NG" "$HS_CONNS" new "$tls" yes
    measure "zt-cert-$tls" zt-cert "$P_ZT" "$HS_CONNS" new "$tls" yes
    measure "ng-none-$tls" ng-none "$P_NGN" "$HS_CONNS" new "$tls" no
    measure "zt-none-$tls" zt-none "$P_ZT" "$HS_CONNS" new "$tls" no
done
if [ -n "$session" ]; then
    for _ in $(seq "$KA_RUNS"); do
        measure ka-cert ka-cert "$P_ZT" "$KA_CONNS" ka 1.3 yes "Cookie: $session"
        measure ka-none ka-none "$P_ZT" "$KA_CONNS" ka 1.3 no "Cookie: $session"
    done
else
    NOTE[ka-cert]="no session (sign-in failed)"
    NOTE[ka-none]="no session (sign-in failed)"
fi
for key in "${!RPS[@]}"; do
    # shellcheck disable=SC2086 # the lists are meant to split
    RPS[$key]=$(median ${RPS[$key]})
done

row() { # key label
    if [ -n "${RPS[$1]:-}" ]; then
        printf '%-44s %10.0f %9s %9s %7s  %s\n' "$2" "${RPS[$1]}" "${P50[$1]}" "${P99[$1]}" \
            "${ERR[$1]}" "${PROTO[$1]}"
    else
        printf '%-44s %s\n' "$2" "${NOTE[$1]:-not run}"
    fi
}
ratio() { # zt-key nginx-key label
    if [ -n "${RPS[$1]:-}" ] && [ -n "${RPS[$2]:-}" ]; then
        awk -v a="${RPS[$1]}" -v b="${RPS[$2]}" -v l="$3" 'BEGIN { printf "%-44s %.2f\n", l, a / b }'
    else
        printf '%-44s n/a\n' "$3"
    fi
}
{
    printf '%-44s %10s %9s %9s %7s  %s\n' case "per s" "p50 (us)" "p99 (us)" errors "protocol"
    for tls in 1.3 1.2; do
        row "ng-cert-$tls" "TLS $tls handshakes  nginx  + client cert"
        row "zt-cert-$tls" "TLS $tls handshakes  ztgate + client cert"
        row "ng-none-$tls" "TLS $tls handshakes  nginx  no cert"
        row "zt-none-$tls" "TLS $tls handshakes  ztgate no cert"
    done
    row ka-none "keep-alive req/s  ztgate session, no cert"
    row ka-cert "keep-alive req/s  ztgate session + device"
    echo
    for tls in 1.3 1.2; do
        ratio "zt-cert-$tls" "ng-cert-$tls" "TLS $tls handshakes/s ztgate/nginx (cert)"
        ratio "zt-none-$tls" "ng-none-$tls" "TLS $tls handshakes/s ztgate/nginx (no cert)"
        ratio "zt-cert-$tls" "zt-none-$tls" "TLS $tls ztgate cert/no cert"
        ratio "ng-cert-$tls" "ng-none-$tls" "TLS $tls nginx cert/no cert"
    done
    ratio ka-cert ka-none "keep-alive ztgate device lookup on/off"
} | tee -a "$out/results.txt"
echo "(raw tlsload lines and this table: $out/)"
