#!/bin/bash
# TCP tunnels side by side with stunnel, in one run on one machine (issue 15, DESIGN.md §7:
# target >= 0.80x stunnel):
#   target: `iperf3 -s`; measured directly, through a stunnel4 client + server pair (TLS with
#   client certificates, the client verifying the server's chain and name) and through
#   `ztagent tunnel HOST:PORT --listen` + ztgate (device certificate, a `kind: tcp` app, a
#   tunnel token, audit on: Open and Close records with byte counts).
#   cases: iperf3 -t SECONDS single stream, -P 4, and -R (target to client); Gbit/s and the CPU
#   seconds per GiB moved that the two tunnel ends used together (from /proc/PID/stat).
#   usage: bench/tunnel/run.sh [BUILD_DIR]           (knobs in bench/README.md)
# Numbers are printed, never asserted; each ratio says met or MISSED.
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")
SECS=${TUNNEL_BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-1}
WORKERS=${BENCH_PROXY_WORKERS:-2}
OUT=${BENCH_OUT:-$build/bench}
out=$OUT/tunnel
HOST=bench.test
APP_HOST=iperf.bench.test
APP_PORT=5201
mkdir -p "$out"

skip() { echo "tunnel bench: skipped: $*"; exit 0; }
for tool in iperf3 openssl python3 curl; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (scripts/setup.sh installs it)"
done
STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
[ -n "$STUNNEL" ] || skip "stunnel4 not found (scripts/setup.sh installs it)"
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-tunnel-bench.XXXXXX")
chmod 755 "$work"
read -r P_IP P_SS P_SC P_ZT P_ZC P_HOLD P_ZH < <(free_ports 7)

# ---- one CA; the server certificate (stunnel server and ztgate alike) and a client one
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout ca.key -out ca.pem -subj "/CN=bench tunnel CA" >/dev/null 2>&1
issue() { # name subject-cn san
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -out "$1.csr" -subj "/CN=$2" >/dev/null 2>&1
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile <(printf '%s\n' "$3") -out "$1.pem" >/dev/null 2>&1
}
issue server "$HOST" "subjectAltName=DNS:$HOST"
issue client "bench client" "extendedKeyUsage=clientAuth"
cd - >/dev/null

iperf3 -s -p "$P_IP" >"$work/iperf3-server.log" 2>&1 &
pids+=($!)
wait_port "$P_IP" "${pids[-1]}" || skip "iperf3 -s did not start"

# ---- ztgate + ztagent (started first: its negotiated cipher suite is given to stunnel too)
zt_state="ztgate not built"
ZT_PID="" ZA_PID="" zt_cipher=""
if [ ! -x "$build/ztgate" ] || [ ! -x "$build/ztagent" ]; then
    :
elif ! "$build/ztagent" --help 2>&1 | grep -q '^  tunnel'; then
    zt_state="this ztagent has no 'tunnel' command yet"
else
    # shellcheck source=bench/tunnel/ztgate_half.sh
    . "$repo/bench/tunnel/ztgate_half.sh"
fi

# ---- stunnel pair: client verifies the server (chain + name), server requires a client cert
ciphers_line=""
case "$zt_cipher" in TLS_*) ciphers_line="ciphersuites = $zt_cipher";; esac
cat > "$work/stunnel-server.conf" <<EOF
foreground = yes
pid =
debug = info
output = $work/stunnel-server.log
[iperf]
accept = 127.0.0.1:$P_SS
connect = 127.0.0.1:$P_IP
cert = $work/server.pem
key = $work/server.key
verifyChain = yes
CAfile = $work/ca.pem
$ciphers_line
EOF
cat > "$work/stunnel-client.conf" <<EOF
foreground = yes
pid =
debug = info
output = $work/stunnel-client.log
[iperf]
client = yes
accept = 127.0.0.1:$P_SC
connect = 127.0.0.1:$P_SS
cert = $work/client.pem
key = $work/client.key
verifyChain = yes
CAfile = $work/ca.pem
checkHost = $HOST
$ciphers_line
EOF
"$STUNNEL" "$work/stunnel-server.conf" >"$work/stunnel-server.out" 2>&1 &
pids+=($!)
SS_PID=${pids[-1]}
"$STUNNEL" "$work/stunnel-client.conf" >"$work/stunnel-client.out" 2>&1 &
pids+=($!)
SC_PID=${pids[-1]}
{ wait_port "$P_SS" "$SS_PID" && wait_port "$P_SC" "$SC_PID"; } ||
    { cat "$work"/stunnel-*.out "$work"/stunnel-*.log >&2 2>/dev/null; skip "stunnel did not start"; }

declare -A GBPS CPU NOTE
run_case() { # key port run pids-of-the-tunnel-ends iperf3-args...
    local key=$1 port=$2 run=$3 ends=$4
    shift 4
    local o="$out/iperf3-$key-$run.json" before after
    before=0
    for p in $ends; do before=$(awk -v a="$before" -v b="$(cpu_s "$p")" 'BEGIN { print a + b }'); done
    if ! iperf3 -c 127.0.0.1 -p "$port" -t "$SECS" -J "$@" >"$o" 2>&1; then
        NOTE[$key]="iperf3 failed (see $o)"
        return
    fi
    after=0
    for p in $ends; do after=$(awk -v a="$after" -v b="$(cpu_s "$p")" 'BEGIN { print a + b }'); done
    local res
    res=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["end"]["sum_received"]
print("%.3f %d" % (s["bits_per_second"] / 1e9, s["bytes"]))' "$o" 2>/dev/null) ||
        { NOTE[$key]="no result (see $o)"; return; }
    read -r gbps bytes <<<"$res"
    GBPS[$key]+="$gbps "
    if [ -n "$ends" ]; then
        CPU[$key]+="$(awk -v c="$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')" -v b="$bytes" \
            'BEGIN { printf "%.2f", (b > 0 ? c / (b / 1073741824) : 0) }') "
    fi
}

CASES="single: p4:-P4 rev:-R"
for run in $(seq "$RUNS"); do
    [ "$RUNS" -gt 1 ] && echo "run $run/$RUNS"
    for c in $CASES; do
        name=${c%%:*} args=${c#*:}
        # shellcheck disable=SC2086 # args is empty or one flag
        run_case "$name-direct" "$P_IP" "$run" "" $args
        # shellcheck disable=SC2086
        run_case "$name-stunnel" "$P_SC" "$run" "$SS_PID $SC_PID" $args
        if [ "$zt_state" = ok ]; then
            # shellcheck disable=SC2086
            run_case "$name-ztgate" "$P_ZC" "$run" "$ZT_PID $ZA_PID" $args
        fi
    done
done
# revocation to close, last (it ends the tunnel token): TUNNEL_BENCH_REVOKE idle tunnels to the
# app `hold` (a target that holds connections) through a second `ztagent tunnel --listen`
revoke_line=""
if [ "$zt_state" = ok ] && [ "${TUNNEL_BENCH_REVOKE:-20}" -gt 0 ]; then
    revoke_line=$(python3 "$repo/bench/tunnel/revoke_latency.py" "$P_HOLD" "$P_ZH" "${TUNNEL_BENCH_REVOKE:-20}" \
        "$ZT_AUDIT" -- "$build/ztgate" user revoke-sessions tunnel@bench.test \
        --config "$work/ztgate.yaml" 2>"$out/revoke.err" | grep '^REVOKE' || true)
fi
for key in "${!GBPS[@]}"; do
    # shellcheck disable=SC2086
    GBPS[$key]=$(median ${GBPS[$key]})
    # shellcheck disable=SC2086
    [ -n "${CPU[$key]:-}" ] && CPU[$key]=$(median ${CPU[$key]})
done

st_cipher=$(grep -ho 'TLSv1.[23] ciphersuite: [A-Z0-9_-]*' "$work"/stunnel-client.log 2>/dev/null | head -n 1 |
    sed 's/ ciphersuite://' || true)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
row() { # key label
    if [ -n "${GBPS[$1]:-}" ]; then
        printf '%-32s %10.2f %14s\n' "$2" "${GBPS[$1]}" "${CPU[$1]:--}"
    else
        local why=${NOTE[$1]:-}
        [[ $1 == *ztgate ]] && [ "$zt_state" != ok ] && why=$zt_state
        printf '%-32s %s\n' "$2" "${why:-not run}"
    fi
}
{
    echo "ztgate tunnel benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu; $("$STUNNEL" -version 2>&1 | grep -m1 -o 'stunnel [0-9.]*'), $(iperf3 --version | head -n 1 | cut -d' ' -f1-2), $(openssl version | cut -d' ' -f1-2)"
    echo "load: iperf3 -t $SECS x $RUNS run(s), median; ztgate $WORKERS workers, audit on"
    echo "cipher: stunnel ${st_cipher:-unknown}; ztgate ${zt_cipher:-unknown}"
    echo "CPU s/GiB: user+system seconds of both tunnel ends (stunnel client + server; ztagent + ztgate) per GiB received"
    echo
    printf '%-32s %10s %14s\n' case Gbit/s "CPU s/GiB"
    for c in $CASES; do
        name=${c%%:*} args=${c#*:}
        label="iperf3 ${args:-single}"
        row "$name-direct" "$label: direct"
        row "$name-stunnel" "$label: stunnel pair"
        row "$name-ztgate" "$label: ztagent + ztgate"
    done
    echo
    for c in $CASES; do
        name=${c%%:*} args=${c#*:}
        if [ -n "${GBPS[$name-ztgate]:-}" ] && [ -n "${GBPS[$name-stunnel]:-}" ]; then
            printf 'iperf3 %-8s ztgate/stunnel Gbit/s %s' "${args:-single}" \
                "$(verdict "${GBPS[$name-ztgate]}" "${GBPS[$name-stunnel]}" 0.80)"
            awk -v a="${CPU[$name-ztgate]:-0}" -v b="${CPU[$name-stunnel]:-0}" \
                'BEGIN { if (b > 0) printf "   CPU/GiB %.2fx", a / b }'
            echo
        else
            printf 'iperf3 %-8s ztgate/stunnel n/a (%s)\n' "${args:-single}" "$zt_state"
        fi
    done
    if [ -n "$revoke_line" ]; then
        awk -v l="$revoke_line" 'BEGIN {
            n = split(l, w, " "); for (i = 2; i <= n; i++) { split(w[i], kv, "="); v[kv[1]] = kv[2] }
            sub(/.* reason=/, "", l)
            printf "revoke-sessions -> tunnel closed: %d of %d open, after %s / %s / %s ms (first / p50 / last); Close reason: %s\n",
                v["closed"], v["open"], v["first_ms"], v["p50_ms"], v["last_ms"], l }'
    fi
    if [ "$zt_state" = ok ]; then audit_streams "$ZT_AUDIT" tunnels; fi
} | tee "$out/results.txt"
echo "(raw output: $out/)"
