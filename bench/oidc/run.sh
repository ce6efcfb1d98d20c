#!/bin/bash
# ztgate as an OpenID provider against npm oidc-provider, side by side in one run (issue 13):
#   authorize -> code round trips/s: GET the authorization endpoint with a signed-in browser's
#     session cookie (no consent, no page), answered by a redirect to the RP with a fresh code;
#   token endpoint exchanges/s: each of those codes redeemed once (POST, client_secret_basic,
#     PKCE S256 verifier), answered by an RS256-signed ID token and an access token.
# Both OPs: one confidential client, client_secret_basic, PKCE S256 required, RS256 ID tokens,
# TLS on loopback (one self-signed certificate). Prints rates, p50/p99, ratios ztgate / peer, and
# each server's resident memory (after start and one sign-in; peak during the rows). A third row
# is wrk with the same Lua scripts against nginx answering canned responses: the load driver's
# own ceiling on this machine (a rate near it says the driver, not the server, was the limit).
#   usage: bench/oidc/run.sh [BUILD_DIR]        (knobs in bench/README.md, "OpenID provider")
# Until ztgate has its OpenID provider (discovery answers 404, or the config is refused) the
# ztgate row says so and only the peer and the ceiling are measured.
set -euo pipefail

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ ! -x "$build/ztgate" ]; then
    echo "oidc bench: $build/ztgate not found; build it first (make)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)

SECS=${OIDC_SECONDS:-5}
WARMUP=${OIDC_WARMUP:-2}
THREADS=${OIDC_THREADS:-2}
CONNS=${OIDC_CONNS:-16}
WORKERS=${OIDC_WORKERS:-2}
PORTAL=auth.bench.test
REDIRECT=https://rp.bench.test/cb
CLIENT=benchrp
OUT=${BENCH_OUT:-$build/bench}/oidc
mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.log

skip() { echo "oidc bench: skipped: $*" | tee "$OUT/results.txt"; exit 0; }
for tool in wrk node python3 openssl nginx; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing (scripts/setup.sh installs it)"
done
opdir=$repo/tests/integ/oidc_op
if [ ! -f "$opdir/node_modules/oidc-provider/package.json" ] &&
   ! (cd "$opdir" && npm ci --no-audit --no-fund --loglevel=error) >"$OUT/npm.log" 2>&1; then
    skip "npm ci in tests/integ/oidc_op failed (see $OUT/npm.log)"
fi
op_version=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' \
    "$opdir/node_modules/oidc-provider/package.json" | head -n 1)

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-oidc-bench.XXXXXX")
pids=()
stop_all() {
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # port pid
    for _ in $(seq 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$work/tls.key" -out "$work/tls.crt" -subj "/CN=$PORTAL" \
    -addext "subjectAltName=DNS:$PORTAL,DNS:op.bench.test,DNS:ceiling.bench.test" 2>/dev/null
secret=$(openssl rand -hex 24)

declare -A AUTH_RATE AUTH_P99 TOKEN_RATE TOKEN_P99 IDLE PEAK NOTE CODES

# One OP's rows: prepare (session + checks), then authorize (codes kept), then token.
#   measure NAME MODE PORT HOST PID [USER PASSWORD]
measure() {
    local name=$1 mode=$2 port=$3 host=$4 pid=$5 prep line sampler codes
    shift 5
    prep=$work/$name.prepare
    local rc=0
    python3 "$here/prepare.py" "$mode" "$port" "$host" "$CLIENT" "$secret" "$REDIRECT" "$@" \
        >"$prep" 2>"$OUT/$name-prepare.log" || rc=$?
    if [ "$rc" -eq 3 ]; then
        NOTE[$name]="no OpenID provider here: discovery answers 404 (ztgate rows skipped)"
        return
    elif [ "$rc" -ne 0 ]; then
        NOTE[$name]="prepare failed: $(tail -n 1 "$OUT/$name-prepare.log")"
        return
    fi
    local COOKIE AUTH_PATH TOKEN_PATH VERIFIER BASIC
    COOKIE=$(sed -n 's/^COOKIE=//p' "$prep")
    AUTH_PATH=$(sed -n 's/^AUTH_PATH=//p' "$prep")
    TOKEN_PATH=$(sed -n 's/^TOKEN_PATH=//p' "$prep")
    VERIFIER=$(sed -n 's/^VERIFIER=//p' "$prep")
    BASIC=$(sed -n 's/^BASIC=//p' "$prep")
    codes=$work/codes-$name
    mkdir -p "$codes"
    python3 "$here/rss.py" "$pid" >"$work/$name.rss" &
    sampler=$!
    sleep 0.3
    export OIDC_HOST="$host:$port" OIDC_COOKIE="$COOKIE" OIDC_AUTH_PATH="$AUTH_PATH" \
        OIDC_TOKEN_PATH="$TOKEN_PATH" OIDC_VERIFIER="$VERIFIER" OIDC_BASIC="$BASIC" \
        OIDC_REDIRECT_URI="$REDIRECT" OIDC_CODES_DIR="$codes" OIDC_THREADS="$THREADS"
    # Warm-up (not counted; Node's JIT, ztgate's caches): both rows, on codes of their own.
    mkdir -p "$codes-warm"
    OIDC_CODES_DIR="$codes-warm" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 30s \
        -s "$here/authorize.lua" "https://127.0.0.1:$port" >"$OUT/$name-warmup.txt" 2>&1 || true
    OIDC_CODES_DIR="$codes-warm" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 30s \
        -s "$here/token.lua" "https://127.0.0.1:$port" >>"$OUT/$name-warmup.txt" 2>&1 || true
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 30s -s "$here/authorize.lua" \
        "https://127.0.0.1:$port" >"$OUT/$name-authorize.txt" 2>&1 || true
    # Codes live about a minute at both OPs: redeem them at once.
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 30s -s "$here/token.lua" \
        "https://127.0.0.1:$port" >"$OUT/$name-token.txt" 2>&1 || true
    kill -TERM "$sampler"
    wait "$sampler" || true
    CODES[$name]=$(cat "$codes"/codes-*.txt 2>/dev/null | wc -l)
    line=$(grep '^ZTBENCH' "$OUT/$name-authorize.txt" || true)
    if [ -n "$line" ]; then
        AUTH_RATE[$name]=$(sed -E 's/.* okps=([0-9.]+).*/\1/' <<<"$line")
        AUTH_P99[$name]=$(sed -E 's/.* p99=([0-9]+).*/\1/' <<<"$line")
        [ "$(sed -E 's/.* other=([0-9]+).*/\1/' <<<"$line")" -eq 0 ] ||
            NOTE[$name]="INVALID: authorize answers without a code (see $OUT/$name-authorize.txt)"
    fi
    line=$(grep '^ZTBENCH' "$OUT/$name-token.txt" || true)
    if [ -n "$line" ]; then
        TOKEN_RATE[$name]=$(sed -E 's/.* okps=([0-9.]+).*/\1/' <<<"$line")
        TOKEN_P99[$name]=$(sed -E 's/.* p99=([0-9]+).*/\1/' <<<"$line")
        [ "$(sed -E 's/.* other=([0-9]+).*/\1/' <<<"$line")" -eq 0 ] ||
            NOTE[$name]="INVALID: token answers without an ID token (see $OUT/$name-token.txt)"
    fi
    IDLE[$name]=$(sed -E -n 's/.* idle_kib=([0-9]+).*/\1/p' "$work/$name.rss")
    PEAK[$name]=$(sed -E -n 's/.* peak_kib=([0-9]+).*/\1/p' "$work/$name.rss")
}

# ---- the peer: npm oidc-provider (tests/integ/oidc_op/op.mjs), one Node process
op_port=$(free_port)
cat >"$work/op.json" <<EOF
{"port": $op_port, "issuer": "https://op.bench.test:$op_port",
 "tls": {"cert": "$work/tls.crt", "key": "$work/tls.key"}, "autoLogin": "bench@bench.test",
 "clients": [{"client_id": "$CLIENT", "client_secret": "$secret",
              "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ["$REDIRECT"],
              "grant_types": ["authorization_code", "refresh_token"],
              "id_token_signed_response_alg": "RS256"}]}
EOF
(cd "$opdir" && exec node op.mjs "$(cat "$work/op.json")") >"$work/op.out" 2>"$OUT/oidc-provider.log" &
op_pid=$!
pids+=("$op_pid")
if wait_port "$op_port" "$op_pid"; then
    measure oidc-provider oidc-provider "$op_port" op.bench.test "$op_pid"
else
    NOTE[oidc-provider]="did not start (see $OUT/oidc-provider.log)"
fi
stop_all

# ---- ztgate: the portal host is the issuer; one app of kind oidc (docs/OIDC.md)
zt_port=$(free_port)
printf '%s\n' "$secret" >"$work/benchrp.secret"
chmod 600 "$work/benchrp.secret"
cat >"$work/ztgate.yaml" <<EOF
state_dir: $work/state
gateway:
  listen:
    - address: "127.0.0.1:$zt_port"
      tls: {cert: "$work/tls.crt", key: "$work/tls.key"}
  workers: $WORKERS
log:
  access: "off"
  error: $work/ztgate-error.log
  level: warn
audit:
  path: $work/audit/audit.log
  signing_key: $work/audit/signing.key
auth:
  portal_host: $PORTAL
  mfa: optional
idp:
  keys_dir: $work/idp-keys
apps:
  - name: $CLIENT
    kind: oidc
    sensitivity: internal
    oidc:
      client_id: $CLIENT
      client_auth: client_secret_basic
      client_secret_file: $work/benchrp.secret
      redirect_uris: ["$REDIRECT"]
      id_token_alg: RS256
      require_pkce: true
# Policies as a deployment has them (the quickstart's shape): every authorize is decided
# against them like a proxied request; none blocks or challenges the bench user's sign-in.
policies:
  - name: block-anonymous-ip-sensitive-apps
    users: {include: [all]}
    apps: {include: ["sensitivity:confidential", "sensitivity:restricted"]}
    conditions: {anonymous_ip: true}
    grant: {block: true}
  - name: sign-in-risk-mfa
    users: {include: [all]}
    apps: {include: [all]}
    conditions: {sign_in_risk: [medium, high]}
    grant: {controls: [mfa]}
  - name: user-risk-password-change
    users: {include: [all]}
    apps: {include: [all]}
    conditions: {user_risk: [high]}
    grant: {controls: [mfa, password_change], operator: AND}
  - name: block-high-risk-devices
    users: {include: [all]}
    apps: {include: ["sensitivity:confidential", "sensitivity:restricted"]}
    conditions: {device: {risk: [high]}}
    grant: {block: true}
  - name: restricted-apps-compliant-device
    users: {include: [all]}
    apps: {include: ["sensitivity:restricted"]}
    grant: {controls: [compliant_device]}
EOF
cp "$work/ztgate.yaml" "$OUT/ztgate.yaml"
if ! "$build/ztgate" check-config --config "$work/ztgate.yaml" >"$OUT/ztgate-check.log" 2>&1; then
    NOTE[ztgate]="no OpenID provider here: this ztgate refuses the idp/oidc config ($(grep -m 1 -i 'error\|unknown' "$OUT/ztgate-check.log" || tail -n 1 "$OUT/ztgate-check.log")); ztgate rows skipped"
else
    printf '%s\n' "bench-oidc-password-1" | "$build/ztgate" user add bench@bench.test \
        --password-stdin --config "$work/ztgate.yaml" >"$OUT/ztgate-useradd.log" 2>&1 ||
        NOTE[ztgate]="user add failed (see $OUT/ztgate-useradd.log)"
    if [ -z "${NOTE[ztgate]:-}" ]; then
        "$build/ztgate" serve --config "$work/ztgate.yaml" >"$OUT/ztgate.log" 2>&1 &
        zt_pid=$!
        pids+=("$zt_pid")
        if wait_port "$zt_port" "$zt_pid"; then
            measure ztgate ztgate "$zt_port" "$PORTAL" "$zt_pid" bench@bench.test bench-oidc-password-1
        else
            NOTE[ztgate]="did not start (see $OUT/ztgate.log)"
        fi
        stop_all
    fi
fi

# ---- the driver's ceiling: the same scripts against nginx answering canned responses
ng_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes $WORKERS;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$ng_port ssl;
        ssl_certificate $work/tls.crt;
        ssl_certificate_key $work/tls.key;
        location = /.well-known/openid-configuration {
            default_type application/json;
            return 200 '{"issuer": "https://ceiling.bench.test:$ng_port"}';
        }
        location = /authorize { return 303 '$REDIRECT?code=ceiling-code-0123456789&state=benchstate'; }
        location = /token {
            default_type application/json;
            return 200 '{"access_token": "a", "token_type": "Bearer", "id_token": "x.y.z"}';
        }
    }
}
EOF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" >"$OUT/nginx.log" 2>&1 &
ng_pid=$!
pids+=("$ng_pid")
if wait_port "$ng_port" "$ng_pid"; then
    # Not measure(): the canned server needs none of prepare.py's checks.
    export OIDC_HOST="ceiling.bench.test:$ng_port" OIDC_COOKIE="x=y" OIDC_AUTH_PATH=/authorize \
        OIDC_TOKEN_PATH=/token OIDC_VERIFIER=v OIDC_BASIC=Yjpj OIDC_REDIRECT_URI="$REDIRECT" \
        OIDC_CODES_DIR="$work/codes-ceiling" OIDC_THREADS="$THREADS"
    mkdir -p "$work/codes-ceiling"
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" -s "$here/authorize.lua" "https://127.0.0.1:$ng_port" \
        >"$OUT/ceiling-authorize.txt" 2>&1 || true
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" -s "$here/token.lua" "https://127.0.0.1:$ng_port" \
        >"$OUT/ceiling-token.txt" 2>&1 || true
    for row in authorize token; do
        line=$(grep '^ZTBENCH' "$OUT/ceiling-$row.txt" || true)
        [ -n "$line" ] || continue
        if [ "$row" = authorize ]; then
            AUTH_RATE[ceiling]=$(sed -E 's/.* okps=([0-9.]+).*/\1/' <<<"$line")
            AUTH_P99[ceiling]=$(sed -E 's/.* p99=([0-9]+).*/\1/' <<<"$line")
        else
            TOKEN_RATE[ceiling]=$(sed -E 's/.* okps=([0-9.]+).*/\1/' <<<"$line")
            TOKEN_P99[ceiling]=$(sed -E 's/.* p99=([0-9]+).*/\1/' <<<"$line")
        fi
    done
else
    NOTE[ceiling]="nginx did not start (see $OUT/nginx.log)"
fi
stop_all

# ---- the table
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
{
    echo "ztgate OpenID provider benchmark against npm oidc-provider  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu, kernel $(uname -r)"
    echo "peer: oidc-provider ${op_version:-?} on node $(node --version), one process, in-memory adapter (tests/integ/oidc_op/op.mjs)"
    echo "ztgate: workers $WORKERS, audit log on (signed, fsynced in groups: every authorize decision and" \
         "token issued is a record), 5 policies, access log off; oidc-provider has no audit log"
    echo "both: TLS, one confidential client, client_secret_basic, PKCE S256 required, RS256 ID tokens, scope openid"
    echo "load: wrk -t$THREADS -c$CONNS -d${SECS}s per row after a ${WARMUP}s warm-up of each (bench/oidc/authorize.lua, token.lua);" \
         "the token row redeems the codes the authorize row got, each once, and ends when they run out"
    echo
    printf '%-15s %13s %10s %13s %10s %10s %10s  %s\n' "server" "authorize/s" "p99 ms" \
        "token/s" "p99 ms" "RSS MiB" "peak MiB" "note"
    for s in ztgate oidc-provider ceiling; do
        label=$s
        [ "$s" = ceiling ] && label="driver ceiling"
        awk -v l="$label" -v ar="${AUTH_RATE[$s]:-}" -v ap="${AUTH_P99[$s]:-}" \
            -v tr="${TOKEN_RATE[$s]:-}" -v tp="${TOKEN_P99[$s]:-}" -v i="${IDLE[$s]:-}" \
            -v p="${PEAK[$s]:-}" -v n="${NOTE[$s]:-}${CODES[$s]:+ (codes: ${CODES[$s]})}" 'BEGIN {
            printf "%-15s %13s %10s %13s %10s %10s %10s  %s\n", l,
                (ar == "" ? "-" : sprintf("%.0f", ar)), (ap == "" ? "-" : sprintf("%.2f", ap / 1000)),
                (tr == "" ? "-" : sprintf("%.0f", tr)), (tp == "" ? "-" : sprintf("%.2f", tp / 1000)),
                (i == "" ? "-" : sprintf("%.1f", i / 1024)), (p == "" ? "-" : sprintf("%.1f", p / 1024)), n }'
    done
    if [ -n "${AUTH_RATE[ztgate]:-}" ] && [ -n "${AUTH_RATE[oidc-provider]:-}" ]; then
        awk -v za="${AUTH_RATE[ztgate]}" -v oa="${AUTH_RATE[oidc-provider]}" \
            -v zt="${TOKEN_RATE[ztgate]:-0}" -v ot="${TOKEN_RATE[oidc-provider]:-0}" \
            -v zap="${AUTH_P99[ztgate]}" -v oap="${AUTH_P99[oidc-provider]}" \
            -v ztp="${TOKEN_P99[ztgate]:-0}" -v otp="${TOKEN_P99[oidc-provider]:-0}" \
            -v zm="${PEAK[ztgate]:-0}" -v om="${PEAK[oidc-provider]:-0}" 'BEGIN {
            printf "RATIO ztgate / oidc-provider: authorize/s %.2fx, token/s %.2fx; p99 authorize %.2fx, token %.2fx; peak RSS %.2fx\n",
                za / oa, (ot > 0 ? zt / ot : 0), (oap > 0 ? zap / oap : 0), (otp > 0 ? ztp / otp : 0), (om > 0 ? zm / om : 0) }'
    else
        echo "RATIO: not computed: ${NOTE[ztgate]:-${NOTE[oidc-provider]:-a row has no result}}"
    fi
    echo "authorize/s: redirects to the RP carrying a code, per second (an existing session, no consent);"
    echo "token/s: code exchanges answered 200 with an ID token, per second; p99 from wrk (the token row's"
    echo "includes the few discovery GETs sent while its threads stop). RSS: the server and its children,"
    echo "after start and one sign-in; peak: highest sample (every 100 ms) during the two rows."
    echo "driver ceiling: the same wrk scripts against nginx returning canned answers on the same TLS;"
    echo "a server row near it was limited by the driver (2 cores are shared by driver and server)."
} | tee "$OUT/results.txt"
echo "(raw output and this table: $OUT/)"
