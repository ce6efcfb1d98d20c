#!/bin/bash
# The production path, side by side with nginx in one run (issue 11, item 7):
#   1. headline: wrk -> ztgate with a signed-in session, 100 Conditional Access policies, risk
#      feeds (GeoIP City + ASN, anonymous and malicious lists) and the audit log on
#      (on_audit_failure: fail_closed) vs wrk -> nginx as a plain reverse proxy, same upstream;
#      req/s and p99 ratios (targets >= 0.90 and <= 1.25). Checked before the load (one curl:
#      200 and 1 KiB from the upstream, no redirect) and after it (the audit log holds the
#      requests' records), so the row cannot measure a redirect or a refusal.
#   2. memory: RSS of a fresh ztgate with the same config idle after start, then holding
#      MEM_CONNS idle keep-alive connections, then also MEM_SESSIONS live sessions
#      (targets: idle <= 32 MiB; both <= 120 MiB).
#   3. sign-in storm: the signed-in user's req/s while hydra hammers the sign-in form, against
#      the same without the storm (target >= 0.80).
# Prints the headline first; targets are printed as met or MISSED, never enforced.
#   usage: bench/production/run.sh [BUILD_DIR]      (knobs in bench/README.md)
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/bench/production
if [ ! -x "$build/ztgate" ]; then
    echo "production bench: skipped: $build/ztgate is not built (run 'make' first)"
    exit 0
fi
build=$(cd "$build" && pwd)

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
RUNS=${PROD_RUNS:-${BENCH_RUNS:-3}}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-64}
UPSTREAM_WORKERS=${BENCH_UPSTREAM_WORKERS:-1}
PROXY_WORKERS=${BENCH_PROXY_WORKERS:-2}
POLICIES=${PROD_POLICIES:-100}
FEEDS=${PROD_FEEDS:-on}                # on | off: the risk feeds (for attributing a cost)
AUDIT=${PROD_AUDIT:-on}                # on | off: the audit log (likewise)
ROWS=${PROD_ROWS-logged storm memory}   # which rows run after the headline ("logged": nginx
                                       # with a JSON access log, for context beside the headline)
PERF=${PROD_PERF:-}                    # set: `perf record -g` ztgate during its measured runs;
                                       # `stat`: CPU time and context switches of ztgate
                                       # and of nginx's workers; `stat-syscalls`: also
                                       # ztgate's system calls (costly to trace)
MEM_CONNS=${MEM_CONNS:-10000}
MEM_SESSIONS=${MEM_SESSIONS:-100000}
MEM_SOURCES=${MEM_SOURCES:-8}
STORM_DURATION=${STORM_DURATION:-$DURATION}
STORM_TASKS=${STORM_TASKS:-16}        # hydra tasks in all, shared by the sources
STORM_SOURCES=${STORM_SOURCES:-4}      # attacking addresses 127.0.0.2 .. (one hydra each)
STORM_USERS=${STORM_USERS:-1000}       # user names sprayed (one of them exists)
STORM_RUNS=${STORM_RUNS:-2}
HASH_THREADS=${PROD_HASH_THREADS:-}   # auth.hash_threads / auth.hash_nice (empty: ztgate's defaults)
HASH_NICE=${PROD_HASH_NICE:-}
HASH_DUTY=${PROD_HASH_DUTY:-}         # auth.hash_duty (empty: ztgate's default)
OUT=${BENCH_OUT:-$build/bench}/production
HOST=bench.test
USER_EMAIL=bench@bench.test
USER_PW="production bench password 1"
VICTIM=victim@bench.test
mkdir -p "$OUT"
rm -f "$OUT"/wrk-*.txt "$OUT"/hydra-*.txt

for tool in wrk nginx curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        echo "production bench: skipped: '$tool' is missing (scripts/setup.sh installs it)"
        exit 0
    fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-prod-bench.XXXXXX")
chmod 755 "$work"
pids=()
holder_pid=""
cleanup() {
    if [ -n "$holder_pid" ]; then exec 7>&- 2>/dev/null || true; fi
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

say() { echo "$*" | tee -a "$OUT/log.txt"; }
: > "$OUT/log.txt"

read -r P_UP P_NG P_ZT P_MEM P_NGLOG < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')

wait_port() { # port pid
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# ---- upstream nginx (1 KiB file) and nginx as a plain reverse proxy (as bench/run.sh)
mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'z' > "$work/www/1k.html"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
nginx_conf() { # name workers http-body
    cat <<EOF
$user_line
worker_processes $2;
daemon off;
pid $work/$1.pid;
error_log $work/$1-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
$3
}
EOF
}
nginx_conf upstream "$UPSTREAM_WORKERS" "    server { listen 127.0.0.1:$P_UP; root $work/www; location / { } }" \
    > "$work/upstream.conf"
nginx_conf proxy "$PROXY_WORKERS" "    upstream app { server 127.0.0.1:$P_UP; keepalive 64; keepalive_requests 1000000; }
    server {
        listen 127.0.0.1:$P_NG reuseport;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
    # Context row (not a target): the same proxy writing one JSON line per request, buffered as
    # administrators configure it (no fsync, no hash chain, unlike ztgate's audit record).
    log_format ztjson escape=json '{\"time\":\"\$time_iso8601\",\"src_ip\":\"\$remote_addr\",'
        '\"src_port\":\$remote_port,\"method\":\"\$request_method\",\"host\":\"\$host\",'
        '\"path\":\"\$uri\",\"scheme\":\"\$scheme\",\"status\":\$status,'
        '\"bytes\":\$body_bytes_sent,\"request_id\":\"\$request_id\",'
        '\"upstream\":\"\$upstream_addr\",\"upstream_time\":\"\$upstream_response_time\",'
        '\"user_agent\":\"\$http_user_agent\"}';
    server {
        listen 127.0.0.1:$P_NGLOG reuseport;
        access_log $work/nginx-access.log ztjson buffer=64k flush=1s;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }" > "$work/proxy.conf"
for n in upstream proxy; do
    "$NGINX" -p "$work" -c "$work/$n.conf" -e "$work/$n-error.log" &
    pids+=($!)
done
wait_port "$P_UP" "${pids[0]}" || { echo "production bench: upstream nginx failed" >&2; cat "$work/upstream-error.log" >&2; exit 1; }
wait_port "$P_NG" "${pids[1]}" || { echo "production bench: proxy nginx failed" >&2; cat "$work/proxy-error.log" >&2; exit 1; }

# ---- risk feeds: generated by bench/risk/risk_bench, mmdb files by tests/tools/make_mmdb.pl
feeds=$work/feeds
feeds_state="GeoIP City + ASN (generated; 127.0.0.0/8 is JP), 100,000 anonymous blocks, 1,000 malicious addresses"
risk_yaml=""
if [ "$FEEDS" = off ]; then
    feeds_state="off (PROD_FEEDS=off)"
elif ! perl -MMaxMind::DB::Writer::Tree -MJSON::PP -e 1 >/dev/null 2>&1; then
    feeds_state="NOT configured: perl MaxMind::DB::Writer missing (apt-get install libmaxmind-db-writer-perl)"
elif ! ninja -C "$build" bench/risk_bench >"$OUT/build.log" 2>&1; then
    feeds_state="NOT configured: no bench/risk_bench target (see $OUT/build.log)"
else
    mkdir -p "$feeds"
    if "$build/bench/risk_bench" gen "$feeds" >/dev/null &&
            perl "$repo/tests/tools/make_mmdb.pl" "$feeds/city.json" "$feeds/city.mmdb" &&
            perl "$repo/tests/tools/make_mmdb.pl" "$feeds/asn.json" "$feeds/asn.mmdb"; then
        risk_yaml="risk:
  geoip_city: $feeds/city.mmdb
  geoip_asn: $feeds/asn.mmdb
  anonymous_ips:
    - path: $feeds/anonymous.txt
  malicious_ips:
    - path: $feeds/malicious.txt
      source: bench-drop"
    else
        feeds_state="NOT configured: generating the feeds failed"
    fi
fi

# ---- ztgate: the production configuration. max_connections is raised (default 10,000) so the
# memory row's 10,000 held connections fit, with a per-address share (a quarter) above 10,000
# too; keep-alive is long so they stay open while measured. Everything else is the default:
# argon2id 64 MiB t=3, audit with group fsync, on_audit_failure: fail_closed.
if [ "$AUDIT" = off ]; then
    audit_yaml='audit:
  path: "off"'
    audit_state="audit log OFF (PROD_AUDIT=off)"
else
    audit_yaml="audit:
  path: $work/zt-@ZTNAME@/audit/audit.log
  on_audit_failure: fail_closed"
    audit_state="audit log on (hash chain, checkpoints, group fsync), on_audit_failure: fail_closed"
fi
zt_config() { # name port
    cat <<EOF
state_dir: $work/zt-$1
gateway:
  listen:
    - address: "127.0.0.1:$2"
  workers: $PROXY_WORKERS
  limits:
    max_connections: 50000
  timeouts:
    keepalive: 600s
log:
  access: "off"
  error: $work/zt-$1-error.log
  level: warn
${audit_yaml//@ZTNAME@/$1}
auth:
  mfa: optional${HASH_THREADS:+
  hash_threads: $HASH_THREADS}${HASH_NICE:+
  hash_nice: $HASH_NICE}${HASH_DUTY:+
  hash_duty: $HASH_DUTY}
$risk_yaml
EOF
    python3 "$here/gen_policies.py" "$POLICIES" "http://127.0.0.1:$P_UP" "$HOST"
}
zt_config prod "$P_ZT" > "$work/zt-prod.yaml"
zt_config mem "$P_MEM" > "$work/zt-mem.yaml"
if ! "$build/ztgate" check-config "$work/zt-prod.yaml" > "$OUT/check-config.txt" 2>&1; then
    echo "production bench: the generated config is refused:" >&2
    cat "$OUT/check-config.txt" >&2
    exit 1
fi
cp "$work/zt-prod.yaml" "$OUT/ztgate-production.yaml"

start_ztgate() { # name port -> pid in zt_pid
    "$build/ztgate" serve --config "$work/zt-$1.yaml" >"$work/zt-$1.out" 2>&1 &
    zt_pid=$!
    pids+=("$zt_pid")
    if ! wait_port "$2" "$zt_pid"; then
        echo "production bench: ztgate ($1) did not start:" >&2
        cat "$work/zt-$1.out" "$work/zt-$1-error.log" 2>/dev/null | tail -n 20 >&2
        exit 1
    fi
}
stop_pid() { # pid
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
add_users() { # name: the bench user (group staff) and the storm's victim
    local cfg=$work/zt-$1.yaml
    "$build/ztgate" group add staff --config "$cfg" >>"$work/users-$1.out" 2>&1 || true
    for who in "$USER_EMAIL" "$VICTIM"; do
        printf '%s\n' "$USER_PW" | "$build/ztgate" user add "$who" --group staff --password-stdin \
            --config "$cfg" >>"$work/users-$1.out" 2>&1 ||
            { echo "production bench: ztgate user add $who failed:" >&2; cat "$work/users-$1.out" >&2; exit 1; }
    done
}
# A CSRF cookie and token from the sign-in page: "COOKIE TOKEN".
# On plain HTTP the CSRF cookie is bound to the client address: fetch it from the one that posts.
csrf_pair() { # port tag [source address]
    curl -s ${3:+--interface "$3"} -D "$work/login-$2.h" -o "$work/login-$2.b" -H "Host: $HOST" \
        "http://127.0.0.1:$1/.ztgate/login" || true
    printf '%s %s\n' \
        "$(sed -n 's/^[Ss]et-[Cc]ookie: ztgate_csrf=\([^;]*\).*/\1/p' "$work/login-$2.h" | tr -d '\r')" \
        "$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/login-$2.b")"
}
sign_in() { # port tag -> the session cookie on stdout
    local csrf token
    read -r csrf token < <(csrf_pair "$1" "$2")
    curl -s -o /dev/null -D - -H "Host: $HOST" -H "Cookie: ztgate_csrf=$csrf" \
        --data-urlencode "username=$USER_EMAIL" --data-urlencode "password=$USER_PW" \
        --data-urlencode "csrf_token=$token" "http://127.0.0.1:$1/.ztgate/login" |
        tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: ztgate_session=\([^;]*\).*/\1/p' | head -n 1
}
# One request through the full path: "STATUS BYTES LOCATION".
probe() { # port cookie
    curl -s -o /dev/null -w '%{http_code} %{size_download} %{redirect_url}' -H "Host: $HOST" \
        ${2:+-H "Cookie: ztgate_session=$2"} "http://127.0.0.1:$1/1k.html" || true
}
secs() { # a wrk duration (10, 10s, 2m, 1h) -> whole seconds
    awk -v d="$1" 'BEGIN { n = d + 0; u = substr(d, length(d));
        print int(u == "m" ? n * 60 : u == "h" ? n * 3600 : n) }'
}
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
http_records() { # audit log -> HTTP Activity records in it (every file of the log)
    cat "$(dirname "$1")"/*.log* 2>/dev/null | grep -c '"class_uid":4002' || true
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
{
    echo "ztgate production-path benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $commit"
    echo "machine: $(nproc) cores, $cpu, kernel $(uname -r); all processes share them, nothing pinned"
    echo "versions: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), $("$build/ztgate" --version 2>&1 | head -n 1)"
    echo "ztgate: $PROXY_WORKERS workers, app 'bench' internal, one signed-in session (CLI user, portal form), $POLICIES Conditional Access policies,"
    echo "        risk feeds: $feeds_state,"
    echo "        $audit_state; access log off"
    echo "nginx: plain reverse proxy, $PROXY_WORKERS workers, upstream keepalive 64, access log off; upstream nginx: $UPSTREAM_WORKERS worker(s), 1 KiB file"
} > "$OUT/header.txt"
cat "$OUT/header.txt"
echo

# =============================================================================== 1. headline
start_ztgate prod "$P_ZT"
prod_pid=$zt_pid
add_users prod
session=$(sign_in "$P_ZT" prod)
[ -n "$session" ] || { echo "production bench: the sign-in through the portal failed" >&2; exit 1; }
audit_log=$work/zt-prod/audit/audit.log

# What the policy engine says about this request (the same attributes the proxy fills).
whatif=$("$build/ztgate" whatif --user "$USER_EMAIL" --groups staff --app bench --ip 127.0.0.1 \
    --country JP --client api --platform unknown --json --config "$work/zt-prod.yaml" 2>&1 || true)
printf '%s\n' "$whatif" > "$OUT/whatif.json"
whatif_line=$(python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    print("whatif: no JSON answer (see whatif.json)"); sys.exit()
pols = d.get("policies") or []
on = [p for p in pols if p.get("applies") and p.get("state") == "on"]
ro = [p for p in pols if p.get("applies") and p.get("state") == "report_only"]
print("whatif (ztgate whatif, same attributes): decision %s; of %d policies %d enforced and %d report-only apply, the rest stop at a condition"
      % (d.get("decision"), len(pols), len(on), len(ro)))
' "$whatif")

check=$(probe "$P_ZT" "$session")
ng_check=$(probe "$P_NG" "")
records_before=$(http_records "$audit_log")
{
    echo "== 1. production path vs nginx =="
    echo "check before the load: ztgate with the session cookie -> $check (want '200 1024', no redirect); nginx -> $ng_check"
    echo "$whatif_line"
} | tee -a "$OUT/log.txt"
headline_ok=1
[ "$check" = "200 1024 " ] || headline_ok=0
[ "$ng_check" = "200 1024 " ] || headline_ok=0

declare -A RPS P50 P99 ERR REQS NOTE
wrk_case() { # key port run duration [cookie]
    local key=$1 port=$2 run=$3 dur=$4 cookie=${5:-} line wout
    local hdr=(-H "Host: $HOST")
    [ -n "$cookie" ] && hdr+=(-H "Cookie: ztgate_session=$cookie")
    wout="$OUT/wrk-$key-$run.txt"
    wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${hdr[@]}" "http://127.0.0.1:$port/1k.html" >/dev/null 2>&1 || true
    local perf_pid=""
    if [[ "$PERF" = stat* ]] && [ "$key" = nginx ] && command -v perf >/dev/null 2>&1; then
        # nginx's workers are the proxy master's children
        perf stat -e task-clock,context-switches -p "$(pgrep -d, -P "${pids[1]}")" \
            -o "$OUT/perf-stat-nginx-$run.txt" -- sleep "$(secs "$dur")" >/dev/null 2>&1 &
        perf_pid=$!
    elif [ -n "$PERF" ] && [ "$key" = ztgate ] && command -v perf >/dev/null 2>&1; then
        if [[ "$PERF" = stat* ]]; then
            events=task-clock,context-switches
            [ "$PERF" = stat-syscalls ] && events+=',syscalls:sys_enter_*'
            perf stat -e "$events" -p "$prod_pid" \
                -o "$OUT/perf-stat-$run.txt" \
                -- sleep "$(secs "$dur")" >"$OUT/perf-$run.log" 2>&1 &
        else
            perf record --call-graph=fp -o "$OUT/perf-$run.data" -p "$prod_pid" -- sleep "$(secs "$dur")" \
                >"$OUT/perf-$run.log" 2>&1 &
        fi
        perf_pid=$!
    fi
    wrk -t"$THREADS" -c"$CONNS" -d"$dur" --latency "${hdr[@]}" -s "$repo/bench/report.lua" \
        "http://127.0.0.1:$port/1k.html" > "$wout" 2>&1 || true
    [ -z "$perf_pid" ] || wait "$perf_pid" || true
    line=$(grep '^ZTBENCH' "$wout" || true)
    if [ -z "$line" ]; then
        NOTE[$key]="wrk failed (see $wout)"
        return
    fi
    field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
    RPS[$key]+="$(field rps) "
    P50[$key]+="$(field p50) "
    P99[$key]+="$(field p99) "
    REQS[$key]=$(( ${REQS[$key]:-0} + $(field requests) ))
    ERR[$key]=$(( ${ERR[$key]:-0} + $(field status) + $(field connect) + $(field read) + $(field write) + $(field timeout) ))
}
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
collapse() { # keys...: per-run lists -> medians
    for key in "$@"; do
        [ -n "${RPS[$key]:-}" ] || continue
        # shellcheck disable=SC2086 # the lists are meant to split
        { RPS[$key]=$(median ${RPS[$key]}); P50[$key]=$(median ${P50[$key]}); P99[$key]=$(median ${P99[$key]}); }
    done
}
row() { # key label
    if [ -n "${RPS[$1]:-}" ]; then
        printf '%-40s %10.0f %10.0f %10.0f %8s\n' "$2" "${RPS[$1]}" "${P50[$1]}" "${P99[$1]}" "${ERR[$1]}"
    else
        printf '%-40s %s\n' "$2" "${NOTE[$1]:-not run}"
    fi
}

if [ "$headline_ok" = 1 ]; then
    for run in $(seq "$RUNS"); do
        if [ $((run % 2)) = 1 ]; then order="nginx ztgate"; else order="ztgate nginx"; fi
        [[ " $ROWS " == *" logged "* ]] && order+=" nginxlog"
        for v in $order; do
            case $v in
            nginx) wrk_case nginx "$P_NG" "$run" "$DURATION" ;;
            nginxlog) wrk_case nginxlog "$P_NGLOG" "$run" "$DURATION" ;;
            *) wrk_case ztgate "$P_ZT" "$run" "$DURATION" "$session" ;;
            esac
        done
    done
    collapse nginx ztgate nginxlog
else
    NOTE[nginx]="not run: the check before the load failed"
    NOTE[ztgate]=${NOTE[nginx]}
fi
records_after=$(http_records "$audit_log")
# One record of the measured requests, kept for the reader (its size matters: each is hashed,
# written and held for before its response).
grep -m 1 '"class_uid":4002' "$audit_log" > "$OUT/audit-record.json" 2>/dev/null || true
records=$((records_after - records_before))
after_check=$(probe "$P_ZT" "$session")
{
    echo "load: wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up), $RUNS interleaved run(s), median"
    echo "check after the load: $records HTTP Activity records written to the audit log during the runs" \
        "(wrk finished ${REQS[ztgate]:-0} measured requests, plus warm-ups), $(wc -c < "$OUT/audit-record.json") bytes each" \
        "(one is in audit-record.json); ztgate with the cookie -> $after_check"
} | tee -a "$OUT/log.txt"
if [ "$AUDIT" = off ]; then
    echo "(the audit log is off: the record check cannot run; this row is for attribution only)" | tee -a "$OUT/log.txt"
elif [ "$headline_ok" = 1 ] && [ -n "${RPS[ztgate]:-}" ] && [ "$records" -lt "${REQS[ztgate]:-1}" ]; then
    headline_ok=0
    echo "INVALID: fewer audit records than measured requests: the row did not measure the full path" | tee -a "$OUT/log.txt"
fi

# =============================================================================== 3. storm
# (run before the memory row, on the same ztgate as the headline, then that ztgate stops)
bindsrc=""
storm_state=ok
[[ " $ROWS " == *" storm "* ]] || storm_state="not run (PROD_ROWS)"
if [ "$storm_state" != ok ]; then
    :
elif ! command -v hydra >/dev/null 2>&1; then
    storm_state="skipped: hydra is not installed (Debian package hydra)"
elif ! cc -shared -fPIC -o "$work/bindsrc.so" "$repo/tests/integ/tools/bindsrc.c" -ldl >"$work/bindsrc.log" 2>&1; then
    storm_state="skipped: compiling tests/integ/tools/bindsrc.c failed"
else
    bindsrc=$work/bindsrc.so
fi
storm_attempts=""
if [ "$storm_state" = ok ] && [ "$headline_ok" = 1 ]; then
    # The attackers: a wordlist without the right password, and STORM_USERS names (the victim and
    # made-up ones, which still cost a dummy argon2id verify) sprayed one attempt each in turn
    # (-u), so the per-account delays do not stop them; only the per-source limit does.
    python3 -c 'import sys
with open(sys.argv[1], "w") as f:
    for i in range(200000): f.write("guess-%06d-Summer!\n" % i)
with open(sys.argv[2], "w") as f:
    f.write(sys.argv[3] + "\n")
    for i in range(int(sys.argv[4]) - 1): f.write("user%05d@bench.test\n" % i)' \
        "$work/wordlist.txt" "$work/users.txt" "$VICTIM" "$STORM_USERS"
    # Each storm run attacks from fresh addresses (127.0.0.2.. for the first run, the next
    # STORM_SOURCES for the second, ...): the per-source limit counts failures over a minute, so
    # reused addresses would make later runs mostly cheap refusals.
    attacker() { echo "127.0.0.$((1 + ($1 - 1) * STORM_SOURCES + $2))"; } # run index
    forms=()
    for run in $(seq "$STORM_RUNS"); do
        for i in $(seq "$STORM_SOURCES"); do
            read -r acookie atoken < <(csrf_pair "$P_ZT" "attacker-$run-$i" "$(attacker "$run" "$i")")
            forms+=("/.ztgate/login:username=^USER^&password=^PASS^&csrf_token=$atoken:H=Cookie\\: ztgate_csrf=$acookie:H=Host\\: $HOST:S=ztgate_session=")
        done
    done
    tasks=$(( STORM_TASKS / STORM_SOURCES )); [ "$tasks" -ge 1 ] || tasks=1
    hydra_secs=$(( $(secs "$WARMUP") + $(secs "$STORM_DURATION") + 6 ))
    hydra_pids=()
    storm_on() { # run: one hydra per attacking address, in the background
        local i
        for i in $(seq "$STORM_SOURCES"); do
            # (in the work directory: hydra writes ./hydra.restore)
            (cd "$work" && exec env LD_PRELOAD="$bindsrc" ZT_BIND_SRC="$(attacker "$1" "$i")" \
                timeout -s TERM "$hydra_secs" hydra -L "$work/users.txt" -P "$work/wordlist.txt" -u \
                -s "$P_ZT" -t "$tasks" -I -V 127.0.0.1 http-post-form "${forms[$(( ($1 - 1) * STORM_SOURCES + i - 1 ))]}") \
                > "$OUT/hydra-$1-$i.txt" 2>&1 &
            hydra_pids+=($!)
            pids+=($!)   # stopped on an interrupt too
        done
        sleep 1   # hydra is hammering before the measured client starts
    }
    storm_off() { # run
        local pid n=0 i
        for pid in "${hydra_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
        for pid in "${hydra_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
        hydra_pids=()
        for i in $(seq "$STORM_SOURCES"); do
            n=$(( n + $(grep -c '^\[ATTEMPT\]' "$OUT/hydra-$1-$i.txt" || true) ))
        done
        storm_attempts+="$n "
    }
    for run in $(seq "$STORM_RUNS"); do
        if [ $((run % 2)) = 1 ]; then order="calm storm"; else order="storm calm"; fi
        for v in $order; do
            if [ "$v" = storm ]; then storm_on "$run"; fi
            wrk_case "$v" "$P_ZT" "$run" "$STORM_DURATION" "$session"
            if [ "$v" = storm ]; then storm_off "$run"; fi
        done
    done
    collapse calm storm
    # Sign-in attempts from the attackers that reached the gateway (one Authentication record
    # each), by outcome ("throttled": refused before or instead of a password check).
    storm_signins=$(cat "$work/zt-prod/audit/"*.log* 2>/dev/null | python3 -c '
import collections, json, sys
c = collections.Counter()
for line in sys.stdin:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    src = (r.get("src_endpoint") or {}).get("ip", "")
    if r.get("class_uid") == 3002 and src.startswith("127.0.0.") and src != "127.0.0.1":
        c["%s: %s" % (r.get("message", "?"), r.get("status_detail", "-"))] += 1
print("%d (%s)" % (sum(c.values()), ", ".join("%s %d" % kv for kv in c.most_common())))') ||
        storm_signins="? (no audit log)"
elif [ "$storm_state" = ok ]; then
    storm_state="not run: the headline check failed"
fi
stop_pid "$prod_pid"

# =============================================================================== 2. memory
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mem_state=ok
[[ " $ROWS " == *" memory "* ]] || mem_state="not run (PROD_ROWS)"
need_fds=$((MEM_CONNS + 256))
if [ "$mem_state" = ok ] && [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need_fds" ]; then
    mem_state="skipped: ulimit -n is $(ulimit -n), $need_fds needed (raise the hard limit)"
fi
declare -A RSS
if [ "$mem_state" = ok ]; then
    # For reference: a minimal configuration (one public app, every default: audit on, no
    # policies, no feeds), idle after start. The audit and auth sections spell out defaults:
    # at commit 31fc2b2 ztgate refuses to start without them (audit) or crashes (auth: keys_dir
    # NULL in zt_keys_open), the "defaults only when a section is present" bug of issue 10/11.
    cat > "$work/zt-min.yaml" <<EOF
state_dir: $work/zt-min
gateway:
  listen:
    - address: "127.0.0.1:$P_MEM"
log:
  access: "off"
  error: $work/zt-min-error.log
audit:
  path: $work/zt-min/audit/audit.log
auth:
  mfa: required
apps:
  - name: bench
    host: $HOST
    upstream: "http://127.0.0.1:$P_UP"
    sensitivity: public
EOF
    start_ztgate min "$P_MEM"
    sleep 2
    RSS[minimal]=$(rss_kib "$zt_pid")
    stop_pid "$zt_pid"
    start_ztgate mem "$P_MEM"
    mem_pid=$zt_pid
    sleep 2
    RSS[idle]=$(rss_kib "$mem_pid")
    add_users mem
    mem_session=$(sign_in "$P_MEM" mem)
    mem_check=$(probe "$P_MEM" "$mem_session")
    sleep 1
    RSS[base]=$(rss_kib "$mem_pid")
    # 10,000 idle keep-alive connections, each after one proxied request with the session. The
    # holder keeps them until its standard input (a FIFO held open here as fd 7) closes.
    mkfifo "$work/holder.ctl"
    python3 "$here/holdconns.py" "$P_MEM" "$HOST" "$mem_session" "$MEM_CONNS" "$MEM_SOURCES" \
        < "$work/holder.ctl" > "$work/holder.out" 2>&1 &
    holder_pid=$!
    pids+=("$holder_pid")
    exec 7>"$work/holder.ctl"
    for _ in $(seq 1800); do
        grep -q '^ready' "$work/holder.out" 2>/dev/null && break
        kill -0 "$holder_pid" 2>/dev/null || break
        sleep 0.1
    done
    ready=$(grep '^ready' "$work/holder.out" || echo "holder failed: $(tail -n 3 "$work/holder.out")")
    sleep 2
    RSS[conns]=$(rss_kib "$mem_pid")
    # 100,000 sessions: copies of the real one, written to the store, then each used once.
    python3 "$here/add_sessions.py" "$work/zt-mem/ztgate.db" "$mem_session" "$MEM_SESSIONS" \
        "$work/cookies.txt" > "$work/add_sessions.out" 2>&1 || true
    added=$(tail -n 1 "$work/add_sessions.out")
    touched=$(python3 "$here/touch_sessions.py" "$P_MEM" "$HOST" "$work/cookies.txt" "$CONNS" 2>&1 | tail -n 1)
    sleep 2
    RSS[sessions]=$(rss_kib "$mem_pid")
    RSS[peak]=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$mem_pid/status")
    exec 7>&-
    wait "$holder_pid" 2>/dev/null || true
    holder_pid=""
    held=$(grep '^held' "$work/holder.out" || echo "no answer")
    stop_pid "$mem_pid"
    {
        echo
        echo "== 2. memory (a fresh ztgate, same configuration) =="
        echo "after start: $(( RSS[idle] / 1024 )) MiB; one sign-in and request ($mem_check): $(( RSS[base] / 1024 )) MiB"
        echo "connections: $ready (from $MEM_SOURCES loopback addresses; max_connections 50000, keepalive 600s)"
        echo "sessions: $added; each used once (touch_sessions.py, $CONNS connections): $touched"
        echo "held connections at the end: $held"
    } | tee -a "$OUT/log.txt"
fi

# =============================================================================== summary
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
verdict() { if awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { exit !(op == "<=" ? a <= b : a >= b) }'; then echo met; else echo MISSED; fi; }
{
    echo
    echo "== summary (targets from issue 11; printed, never enforced) =="
    if [ "$headline_ok" = 1 ] && [ -n "${RPS[ztgate]:-}" ] && [ -n "${RPS[nginx]:-}" ]; then
        rr=$(awk -v a="${RPS[ztgate]}" -v b="${RPS[nginx]}" 'BEGIN { printf "%.2f", a / b }')
        pr=$(awk -v a="${P99[ztgate]}" -v b="${P99[nginx]}" 'BEGIN { printf "%.2f", a / b }')
        echo "HEADLINE production path / nginx:  req/s ${rr}x (target >= 0.90: $(verdict "$rr" '>=' 0.90))   p99 ${pr}x (target <= 1.25: $(verdict "$pr" '<=' 1.25))"
    else
        echo "HEADLINE production path / nginx:  INVALID or not run (see above)"
    fi
    printf '%-40s %10s %10s %10s %8s\n' case req/s "p50 (us)" "p99 (us)" errors
    row nginx "nginx plain reverse proxy"
    row ztgate "ztgate production path"
    if [ -n "${RPS[nginxlog]:-}" ] && [ -n "${RPS[ztgate]:-}" ]; then
        row nginxlog "nginx + JSON access log (context)"
        line=$(head -n 1 "$work/nginx-access.log" 2>/dev/null | wc -c)
        lr=$(awk -v a="${RPS[ztgate]}" -v b="${RPS[nginxlog]}" 'BEGIN { printf "%.2f", a / b }')
        echo "context: ztgate / nginx writing a ${line}-byte JSON access-log line per request (buffered, no fsync, no chain): req/s ${lr}x"
    fi
    echo
    if [ "$mem_state" = ok ]; then
        idle=${RSS[idle]} base=${RSS[base]} conns=${RSS[conns]} sess=${RSS[sessions]}
        echo "MEMORY RSS idle after start: $(mib "$idle") (target <= 32 MiB: $(verdict "$idle" '<=' 32768)); minimal config (one public app, defaults): $(mib "${RSS[minimal]}")"
        awk -v b="$base" -v c="$conns" -v s="$sess" -v nc="$MEM_CONNS" -v ns="$MEM_SESSIONS" 'BEGIN {
            printf "MEMORY per connection: %.2f KiB (%d idle keep-alive: %.1f MiB)   per session: %.3f KiB (%d sessions: %.1f MiB)\n",
                (c - b) / nc, nc, c / 1024, (s - c) / ns, ns, s / 1024 }'
        echo "MEMORY $MEM_CONNS connections + $MEM_SESSIONS sessions: $(mib "$sess") (target <= 120 MiB: $(verdict "$sess" '<=' 122880)); peak (VmHWM) $(mib "${RSS[peak]}")"
    else
        echo "MEMORY $mem_state"
    fi
    echo
    if [ -n "${RPS[calm]:-}" ] && [ -n "${RPS[storm]:-}" ]; then
        sr=$(awk -v a="${RPS[storm]}" -v b="${RPS[calm]}" 'BEGIN { printf "%.2f", a / b }')
        echo "STORM signed-in req/s during / without a hydra storm: ${sr}x (target >= 0.80: $(verdict "$sr" '>=' 0.80))"
        row calm "ztgate production path, no storm"
        row storm "ztgate production path, hydra storm"
        echo "storm: $STORM_SOURCES hydra (http-post-form, -t $tasks each) from new addresses each run (127.0.0.2..), spraying $STORM_USERS user names (-u); attempts hydra made per run: ${storm_attempts% }"
        echo "       sign-in records from the attackers in the audit log: ${storm_signins:-?}"
        echo "       argon2id (64 MiB, t=3) on ${HASH_THREADS:-1} hashing thread(s) at nice ${HASH_NICE:-10}, at most ${HASH_DUTY:-50} % of a core each (auth.hash_threads / auth.hash_nice / auth.hash_duty)"
    else
        echo "STORM $storm_state"
    fi
} > "$OUT/summary.txt"
cat "$OUT/summary.txt"
cat "$OUT/header.txt" "$OUT/summary.txt" "$OUT/log.txt" > "$OUT/results.txt"
echo "(table, log, config and raw wrk/hydra output: $OUT/)"
