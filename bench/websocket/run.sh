#!/bin/bash
# WebSocket proxying side by side with nginx, in one run on one machine (issue 15, DESIGN.md §7:
# target >= 0.90x nginx):
#   upstream: bench/websocket/ws_echo (libuv, one core), measured directly, through nginx
#   (proxy_http_version 1.1 + the Upgrade/Connection map) and through ztgate (a public app, audit
#   off) and ztgate with what a deployment runs (an internal app, a signed-in session, the audit
#   log on: an Open and a Close record per WebSocket).
#   load: bench/websocket/ws_load — C connections, ping-pong (one message in flight) with 64 B and
#   1 KiB messages, and pipelined (16 in flight) 1 KiB; messages/s and RTT p50/p99.
#   memory: RSS of each proxy holding WS_BENCH_IDLE (10,000) idle WebSockets.
#   usage: bench/websocket/run.sh [BUILD_DIR]          (knobs in bench/README.md)
# Numbers are printed, never asserted; each ratio says met or MISSED.
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")
SECONDS_=${WS_BENCH_SECONDS:-5}
WARMUP=${WS_BENCH_WARMUP:-1}
CONNS=${WS_BENCH_CONNS:-64}
RUNS=${BENCH_RUNS:-1}
IDLE=${WS_BENCH_IDLE:-10000}
POLICIES=${WS_BENCH_POLICIES:-100}
WORKERS=${BENCH_PROXY_WORKERS:-2}
OUT=${BENCH_OUT:-$build/bench}
out=$OUT/websocket
HOST=bench.test
mkdir -p "$out"

skip() { echo "websocket bench: skipped: $*"; exit 0; }
for tool in nginx cc curl python3; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || skip "$tool not found"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

# ---- the two programs: from the meson build, else compiled here
tool_bin() { # name libs...
    local name=$1
    shift
    if [ -x "$build/bench/$name" ]; then
        echo "$build/bench/$name"
    elif cc -O2 -std=c17 -Wall -o "$out/$name" "$repo/bench/websocket/$name.c" "$@" \
        >"$out/build-$name.log" 2>&1; then
        echo "$out/$name"
    fi
}
WS_ECHO=$(tool_bin ws_echo -luv -lcrypto)
WS_LOAD=$(tool_bin ws_load -luv)
{ [ -n "$WS_ECHO" ] && [ -n "$WS_LOAD" ]; } || skip "cannot build ws_echo/ws_load (see $out/build-*.log)"

# 10,000 idle WebSockets need ~20,000 descriptors in each proxy
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-ws-bench.XXXXXX")
chmod 755 "$work"
read -r P_UP P_NG P_ZT P_ZTS < <(free_ports 4)

"$WS_ECHO" "$P_UP" >"$work/echo.out" 2>&1 &
pids+=($!)
wait_port "$P_UP" "${pids[-1]}" || skip "ws_echo did not start"

# ---- nginx: the documented WebSocket proxy configuration
cat > "$work/nginx.conf" <<EOF
$(nginx_user_line)
worker_processes $WORKERS;
worker_rlimit_nofile 65536;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 32768; }
http {
    access_log off;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    upstream ws { server 127.0.0.1:$P_UP; }
    server {
        listen 127.0.0.1:$P_NG reuseport backlog=4096;
        location / {
            proxy_pass http://ws;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
        }
    }
}
EOF
"$NGINX" -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" &
pids+=($!)
NG_PID=${pids[-1]}
wait_port "$P_NG" "$NG_PID" || { cat "$work/nginx-error.log" >&2; skip "nginx did not start"; }

# ---- ztgate: public app, audit off; and what a deployment runs: an internal app, a session,
# POLICIES Conditional Access policies (bench/production/gen_policies.py) and the audit log on
zt_yaml() { # name port sensitivity audit(on|off)
    local audit='path: "off"'
    [ "$4" = on ] && audit="path: $work/zt-$1/audit/audit.log
  on_audit_failure: fail_closed"
    cat <<EOF
state_dir: $work/zt-$1
gateway:
  listen:
    - address: "127.0.0.1:$2"
  workers: $WORKERS
  limits:
    max_connections: 50000
log:
  access: "off"
  error: $work/zt-$1-error.log
  level: warn
audit:
  $audit
auth:
  mfa: optional
  argon2_memory: 19MiB
  argon2_passes: 2
EOF
    if [ "$3" = internal ]; then
        # the production bench's apps, locations and Conditional Access policies (internal app
        # `bench`; WebSockets on by default, the app's own origin allowed)
        python3 "$repo/bench/production/gen_policies.py" "$POLICIES" "http://127.0.0.1:$P_UP" "$HOST"
    else
        cat <<EOF
apps:
  - name: bench
    host: $HOST
    upstream: "http://127.0.0.1:$P_UP"
    sensitivity: $3
    websocket: true
    websocket_origins: ["http://$HOST"]
EOF
    fi
}
zt_state="ztgate not built"
zt_session=""
ZT_PID="" ZTS_PID=""
if [ -x "$build/ztgate" ]; then
    zt_yaml public "$P_ZT" public off > "$work/zt-public.yaml"
    zt_yaml session "$P_ZTS" internal on > "$work/zt-session.yaml"
    if ! "$build/ztgate" check-config "$work/zt-public.yaml" >"$work/check.out" 2>&1 ||
        ! "$build/ztgate" check-config "$work/zt-session.yaml" >>"$work/check.out" 2>&1; then
        zt_state="refused by this ztgate (no WebSocket support yet?): $(grep -m1 -i 'error\|unknown' "$work/check.out" | sed "s|$work/||" | cut -c1-90)"
    else
        "$build/ztgate" serve --config "$work/zt-public.yaml" >"$work/zt-public.out" 2>&1 &
        pids+=($!)
        ZT_PID=${pids[-1]}
        "$build/ztgate" serve --config "$work/zt-session.yaml" >"$work/zt-session.out" 2>&1 &
        pids+=($!)
        ZTS_PID=${pids[-1]}
        if wait_port "$P_ZT" "$ZT_PID" && wait_port "$P_ZTS" "$ZTS_PID"; then
            zt_state=ok
            zt_session=$(zt_signin "$build" "$work/zt-session.yaml" "$P_ZTS" "$HOST" \
                ws@bench.test "websocket bench password 1")
            [ -n "$zt_session" ] || echo "websocket bench: sign-in to the session ztgate failed" >&2
        else
            zt_state="ztgate failed to start"
            tail -n 20 "$work"/zt-*.out "$work"/zt-*-error.log >&2 2>/dev/null || true
        fi
    fi
fi

declare -A RATE P50 P99 ERR NOTE
run_case() { # key port run size depth [extra header]
    local key=$1 port=$2 run=$3 size=$4 depth=$5 extra=${6:-} line
    local args=(-p "$port" -H "$HOST" -c "$CONNS" -d "$SECONDS_" -w "$WARMUP" -s "$size" -D "$depth")
    [ -n "$extra" ] && args+=(-X "$extra")
    line=$("$WS_LOAD" "${args[@]}" 2>"$out/ws_load-$key-$run.err" | grep '^WSLOAD' || true)
    echo "$line" > "$out/ws_load-$key-$run.txt"
    if [ -z "$line" ] || [[ $line == *" upgraded=0"* ]]; then
        NOTE[$key]="no WebSocket (see $out/ws_load-$key-$run.err)"
        return
    fi
    field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
    RATE[$key]+="$(field rate) "
    P50[$key]+="$(field p50) "
    P99[$key]+="$(field p99) "
    ERR[$key]+="$(field errors) "
}

CASES="pp64:64:1 pp1k:1024:1 pl1k:1024:16"
for run in $(seq "$RUNS"); do
    [ "$RUNS" -gt 1 ] && echo "run $run/$RUNS"
    for c in $CASES; do
        IFS=: read -r name size depth <<<"$c"
        run_case "$name-direct" "$P_UP" "$run" "$size" "$depth"
        run_case "$name-nginx" "$P_NG" "$run" "$size" "$depth"
        if [ "$zt_state" = ok ]; then
            run_case "$name-ztgate" "$P_ZT" "$run" "$size" "$depth"
            if [ -n "$zt_session" ]; then
                run_case "$name-ztsession" "$P_ZTS" "$run" "$size" "$depth" \
                    "Cookie: ztgate_session=$zt_session"
            fi
        fi
    done
done
for key in "${!RATE[@]}"; do
    # shellcheck disable=SC2086 # the lists are meant to split
    { RATE[$key]=$(median ${RATE[$key]}); P50[$key]=$(median ${P50[$key]});
      P99[$key]=$(median ${P99[$key]}); ERR[$key]=$(printf '%s\n' ${ERR[$key]} | awk '{ s += $1 } END { print s }'); }
done

# ---- memory: idle WebSockets held open through each proxy
declare -A MEM
declare -A REVOKE
# Opens N idle WebSockets and measures the proxy's RSS; with a user, then revokes the user's
# sessions (`ztgate user revoke-sessions`) and times until the gateway has ended every one.
idle_row() { # key port pid n [extra header [user]]
    local key=$1 port=$2 pid=$3 n=$4 extra=${5:-} user=${6:-} before f hold=4
    [ -n "$user" ] && hold=60
    before=$(rss_kib "$pid")
    f=$work/idle-$key.out
    local args=(-p "$port" -H "$HOST" -c "$n" -i "$hold")
    [ -n "$extra" ] && args+=(-X "$extra")
    "$WS_LOAD" "${args[@]}" >"$f" 2>"$work/idle-$key.err" &
    local lp=$!
    for _ in $(seq 1200); do grep -q '^WSLOAD idle' "$f" && break; kill -0 "$lp" 2>/dev/null || break; sleep 0.1; done
    sleep 1
    local after open
    after=$(rss_kib "$pid")
    open=$(sed -n 's/^WSLOAD idle open=\([0-9]*\).*/\1/p' "$f")
    if [ -n "$user" ]; then
        local t0 line
        t0=$(date +%s.%N)
        "$build/ztgate" user revoke-sessions "$user" --config "$work/zt-session.yaml" \
            >"$work/revoke-$key.out" 2>&1 || true
        wait "$lp" 2>/dev/null || true
        line=$(grep '^WSLOAD closed' "$f" || true)
        if [ -n "$line" ]; then
            REVOKE[$key]=$(awk -v t0="$t0" -v l="$line" 'BEGIN {
                n = split(l, w, " "); for (i = 1; i <= n; i++) { split(w[i], kv, "="); v[kv[1]] = kv[2] }
                printf "%d of %d closed, after %.0f / %.0f / %.0f ms (first / p50 / last)",
                    v["closed"], v["open"], (v["first"] - t0) * 1000, (v["p50"] - t0) * 1000,
                    (v["last"] - t0) * 1000 }')
        else
            REVOKE[$key]="none closed within ${hold}s"
        fi
    else
        wait "$lp" 2>/dev/null || true
    fi
    [ "$key" = "${key%-revoke}" ] && MEM[$key]="${open:-0} $before $after"
    return 0
}
if [ "$IDLE" -gt 0 ]; then
    idle_row nginx "$P_NG" "$NG_PID" "$IDLE"
    if [ "$zt_state" = ok ]; then
        idle_row ztgate "$P_ZT" "$ZT_PID" "$IDLE"
    fi
fi
# revocation to close: one WebSocket of its own user, then the IDLE ones of the bench user (last:
# it ends the session the rows above used)
if [ -n "$zt_session" ]; then
    one=$(zt_signin "$build" "$work/zt-session.yaml" "$P_ZTS" "$HOST" ws1@bench.test "websocket bench password 2")
    [ -n "$one" ] && idle_row one-revoke "$P_ZTS" "$ZTS_PID" 1 "Cookie: ztgate_session=$one" ws1@bench.test
    [ "$IDLE" -gt 0 ] && idle_row ztsession "$P_ZTS" "$ZTS_PID" "$IDLE" \
        "Cookie: ztgate_session=$zt_session" ws@bench.test
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
row() { # key label
    if [ -n "${RATE[$1]:-}" ]; then
        printf '%-44s %12.0f %10.0f %10.0f %7s\n' "$2" "${RATE[$1]}" "${P50[$1]}" "${P99[$1]}" "${ERR[$1]}"
    else
        local why=${NOTE[$1]:-}
        [[ $1 == *zt* ]] && [ "$zt_state" != ok ] && why=$zt_state
        [[ $1 == *ztsession ]] && [ "$zt_state" = ok ] && [ -z "$zt_session" ] && why="no session (sign-in failed)"
        printf '%-44s %s\n' "$2" "${why:-not run}"
    fi
}
ratio() { # case label
    local zt=${RATE[$1-ztgate]:-} ng=${RATE[$1-nginx]:-} zs=${RATE[$1-ztsession]:-}
    if [ -n "$zt" ] && [ -n "$ng" ]; then
        printf '%-22s ztgate/nginx msgs/s %s' "$2" "$(verdict "$zt" "$ng" 0.90)"
        awk -v a="${P99[$1-ztgate]}" -v b="${P99[$1-nginx]}" 'BEGIN { if (b > 0) printf "   p99 %.2fx", a / b }'
        [ -n "$zs" ] && printf '   session+audit/nginx %s' "$(verdict "$zs" "$ng" 0.90)"
        echo
    else
        printf '%-22s ztgate/nginx n/a (%s)\n' "$2" "$zt_state"
    fi
}
mem_row() { # key label
    if [ -n "${MEM[$1]:-}" ]; then
        read -r n b a <<<"${MEM[$1]}"
        awk -v n="$n" -v b="$b" -v a="$a" -v l="$2" 'BEGIN {
            printf "%-44s %6d open  RSS %7.1f MiB -> %7.1f MiB  (%.1f KiB per WebSocket)\n",
                l, n, b / 1024, a / 1024, (n > 0 ? (a - b) / n : 0) }'
    else
        printf '%-44s %s\n' "$2" "not run"
    fi
}
{
    echo "ztgate WebSocket benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu; $("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
    echo "load: ws_load -c $CONNS -d $SECONDS_ (after ${WARMUP}s warm-up) x $RUNS run(s), median; upstream ws_echo (1 core)"
    echo "proxies: $WORKERS workers each; ztgate public app audit off; '+ session + audit': internal app, signed in, $POLICIES policies, audit on"
    echo "all processes share the same $(nproc) cores, nothing pinned"
    echo
    printf '%-44s %12s %10s %10s %7s\n' case msgs/s "p50 (us)" "p99 (us)" errors
    for c in $CASES; do
        IFS=: read -r name size depth <<<"$c"
        label="$size B, $depth in flight"
        row "$name-direct" "$label: direct"
        row "$name-nginx" "$label: nginx"
        row "$name-ztgate" "$label: ztgate"
        row "$name-ztsession" "$label: ztgate + session + audit"
    done
    echo
    ratio pp64 "ping-pong 64 B"
    ratio pp1k "ping-pong 1 KiB"
    ratio pl1k "pipelined 1 KiB"
    echo
    mem_row nginx "idle WebSockets: nginx"
    mem_row ztgate "idle WebSockets: ztgate"
    mem_row ztsession "idle WebSockets: ztgate + session"
    if [ -n "${MEM[nginx]:-}" ] && [ -n "${MEM[ztgate]:-}" ]; then
        read -r _ _ na <<<"${MEM[nginx]}"
        read -r zn _ za <<<"${MEM[ztgate]}"
        awk -v z="$za" -v n="$na" -v c="$zn" 'BEGIN { printf "idle memory ztgate/nginx: %.2fx RSS with %d WebSockets\n", z / n, c }'
    fi
    echo
    [ -n "${REVOKE[one-revoke]:-}" ] && echo "revoke-sessions -> WebSocket closed: 1 open:  ${REVOKE[one-revoke]}"
    [ -n "${REVOKE[ztsession]:-}" ] && echo "revoke-sessions -> WebSocket closed: $IDLE open: ${REVOKE[ztsession]}"
    if [ -n "$zt_session" ]; then
        sleep 1 # the idle row's Close records
        audit_streams "$work/zt-session/audit/audit.log" "WebSockets (ztgate + session + audit)"
    fi
} | tee "$out/results.txt"
echo "(raw output: $out/)"
