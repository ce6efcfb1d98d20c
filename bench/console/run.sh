#!/bin/bash
# The console's dashboard and audit search over 1,000,000 decision records, side by side with
# jq answering the same questions over the same log, in one run on one machine (issue 16,
# deliverable 5: goal >= 20x faster than jq, and the RSS it costs).
#   log: bench/console/console_bench gen — CONSOLE_BENCH_RECORDS (1,000,000) decision records as
#   the pipeline writes them plus a sign-in, MFA or detection record every 20, over the last 30
#   days, through the real event builder and hash-chained writer (rotated at 256 MiB).
#   dashboard: decisions by outcome per hour over 24 h and per day over 30 days, detections by
#   type — `ztgate audit stats` (reads the files once), the console's rollup (built once, then
#   each dashboard answered from counters after reading what was appended), and one jq pass.
#   searches: a user's records, a reference id, blocks in a two-hour window, and the console's
#   "newest 50 of a user" — `ztgate audit search` against `jq -c 'select(...)'`.
#   pages: the production path through HTTP: the real gateway (sessions, policies, risk, audit
#   on, fail closed) with a console app over the same log and a global admin signed in through
#   the portal with a password (this bench's config sets auth.mfa: optional so that a script
#   can sign in; the output says so): GET of the dashboard (24 h, 7 d, 30 d; cold = the first
#   with figures after start, the rollup counted on its own thread from start-up; then warm),
#   the audit search page (a user, a reference id, blocks in a window), /ref?id= and /policies,
#   against the jq timings above for the same question; the gateway's VmRSS/VmHWM meanwhile.
#   usage: bench/console/run.sh [BUILD_DIR]        (knobs in bench/README.md)
# Numbers are printed, never asserted; each ratio says met or MISSED. Answers are compared.
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")
RECORDS=${CONSOLE_BENCH_RECORDS:-1000000}
RUNS=${CONSOLE_BENCH_RUNS:-3}
OUT=${BENCH_OUT:-$build/bench}
out=$OUT/console
mkdir -p "$out"

skip() { echo "console bench: skipped: $*"; exit 0; }
for tool in jq python3; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (scripts/setup.sh installs it)"
done
ZTGATE=$build/ztgate
GEN=$build/bench/console_bench
[ -x "$ZTGATE" ] && [ -x "$GEN" ] || skip "build ztgate and bench/console_bench first (make all)"
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-console-bench.XXXXXX")
log=$work/log
mkdir -p "$log"

now_ms() { date +%s%3N; }
# "WALL_MS CPU_MS" of one run of "$@" (stdout to $work/last.out): wall clock, and the user +
# system CPU of the shell and its children meanwhile (on a shared machine the CPU time is the
# steadier figure).
time_ms() {
    local TIMEFORMAT='%3R %3U %3S'
    { time "$@" >"$work/last.out" 2>"$work/last.err"; } 2>"$work/time"
    awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' "$work/time"
}
# Median "WALL_MS CPU_MS" over RUNS runs (each column on its own).
median_ms() {
    local w=() c=() i a b
    for i in $(seq "$RUNS"); do
        read -r a b < <(time_ms "$@")
        w+=("$a")
        c+=("$b")
    done
    echo "$(median "${w[@]}") $(median "${c[@]}")"
}
ratio() { # jq_ms ztgate_ms
    awk -v a="$1" -v b="$2" 'BEGIN { if (b < 1) b = 1; r = a / b;
        printf "%.0fx (goal >= 20x: %s)", r, (r >= 20 ? "met" : "MISSED") }'
}
# One row: label, "wall cpu" of ztgate, "wall cpu" of jq, note.
row() {
    local zw zc jw jc
    read -r zw zc <<<"$2"
    read -r jw jc <<<"$3"
    printf '%-40s %9s %9s %9s %9s  wall %-28s cpu %-28s %s\n' "$1" "$zw" "$zc" "$jw" "$jc" \
        "$(ratio "$jw" "$zw")" "$(ratio "$jc" "$zc")" "$4"
}
peak_kib() { # command... -> peak RSS in KiB
    /usr/bin/time -f "%M" -o "$work/peak" "$@" >/dev/null 2>&1 || true
    tail -1 "$work/peak"
}

echo "console bench: writing $RECORDS decision records (+1 other record per 20) ..."
t0=$(now_ms)
"$GEN" gen "$log" "$RECORDS" >"$out/gen.txt"
t1=$(now_ms)
USER_=$(awk '$1 == "user" { print $2 }' "$out/gen.txt")
REF=$(awk '$1 == "ref" { print $2 }' "$out/gen.txt")
SINCE=$(awk '$1 == "since" { print $2 }' "$out/gen.txt")
UNTIL=$(awk '$1 == "until" { print $2 }' "$out/gen.txt")
# the chain in order: audit.log.<first seq> by that seq, then the live file
mapfile -t FILES < <(find "$log" -name 'audit.log.*' | awk -F. '{ print $NF "\t" $0 }' |
    sort -n | cut -f2-; echo "$log/audit.log")
bytes=$(cat "${FILES[@]}" | wc -c)
"$ZTGATE" audit verify --pubkey "$log/signing.key.pub" "${FILES[@]}" >"$out/verify.txt" 2>&1 ||
    echo "console bench: WARNING: the generated log does not verify (see $out/verify.txt)"
echo "log: $(head -1 "$out/gen.txt"), ${#FILES[@]} file(s), $((bytes / 1048576)) MiB, written in $(((t1 - t0) / 1000)) s; $(cat "$out/verify.txt")"
cat "${FILES[@]}" >/dev/null # both sides read from the page cache

# ---- the dashboard: the same windows for both (hour and day boundaries, UTC)
read -r HOUR_END DAY_END < <(python3 -c '
import datetime as d
n = d.datetime.now(d.timezone.utc).replace(minute=0, second=0, microsecond=0) + d.timedelta(hours=1)
m = n.replace(hour=0) + d.timedelta(days=1)
f = "%Y-%m-%dT%H:%M:%SZ"
print(n.strftime(f), m.strftime(f))')
DAY0=$(python3 -c "import datetime as d,sys; t=d.datetime.strptime(sys.argv[1],'%Y-%m-%dT%H:%M:%SZ'); print((t-d.timedelta(hours=24)).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$HOUR_END")
MONTH0=$(python3 -c "import datetime as d,sys; t=d.datetime.strptime(sys.argv[1],'%Y-%m-%dT%H:%M:%SZ'); print((t-d.timedelta(days=30)).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$DAY_END")

# One pass each: ztgate's hourly buckets over the 30 days give both views (the last 24 of them,
# and their sums per day), as jq's one reduce computes both.
zt_dashboard() {
    "$ZTGATE" audit stats --json --since "$MONTH0" --until "$DAY_END" --bucket 1h "${FILES[@]}" \
        >"$work/month.json"
}
JQ_DASH='reduce (inputs | select(.type != "checkpoint" and .time >= $m0 and .time < $m1)) as $r ({};
  if $r.decision then
    .month[$r.time[0:10]][$r.decision] += 1
    | if $r.time >= $d0 and $r.time < $d1 then .day[$r.time[0:13]][$r.decision] += 1 else . end
  elif $r.class_uid == 2004 and $r.activity_id == 1 and ($r.incident | not) then
    .detections[(($r.finding_info.types | if type == "array" then .[0] else . end)
                 // $r.unmapped.signal_type // "-")] += 1
  else . end)'
jq_dashboard() {
    # the bounds written as records write times, so the text compares like the time
    jq -n -c --arg d0 "${DAY0%Z}.000000Z" --arg d1 "${HOUR_END%Z}.000000Z" \
        --arg m0 "${MONTH0%Z}.000000Z" --arg m1 "${DAY_END%Z}.000000Z" \
        "$JQ_DASH" "${FILES[@]}"
}

echo "dashboard (24 h by hour, 30 days by day, detections by type) ..."
zt_dash=$(median_ms zt_dashboard)
cp "$work/month.json" "$out/month.json"
jq_dash=$(time_ms jq_dashboard)
cp "$work/last.out" "$out/jq_dashboard.json"
"$GEN" rollup "$log/audit.log" >"$out/rollup.txt"
roll() { awk -v k="$1" '$1 == k { print $2 }' "$out/rollup.txt"; }
agree=$(python3 - "$out/month.json" "$out/jq_dashboard.json" "$DAY0" "$HOUR_END" <<'EOF'
import json, sys
month, jq = (json.load(open(p)) for p in sys.argv[1:3])
d0, d1 = sys.argv[3][:13], sys.argv[4][:13]
outcomes = ("allow", "block", "challenge", "sign_in")
day_zt = {d: sum(b[d] for b in month["buckets"] if d0 <= b["start"][:13] < d1) for d in outcomes}
days_zt, hours_zt = {}, {}
for b in month["buckets"]:
    v = {d: b[d] for d in outcomes if b[d]}
    for d, n in v.items():
        days_zt.setdefault(b["start"][:10], {}).setdefault(d, 0)
        days_zt[b["start"][:10]][d] += n
    if v and d0 <= b["start"][:13] < d1:
        hours_zt[b["start"][:13]] = v
bad = []
for name, zt, key in (("24 h", day_zt, "day"), ("30 days", month["totals"], "month")):
    want = {}
    for bucket in (jq.get(key) or {}).values():
        for d, n in bucket.items():
            want[d] = want.get(d, 0) + n
    for d in outcomes:
        if zt[d] != want.get(d, 0):
            bad.append("%s %s: ztgate %d, jq %d" % (name, d, zt[d], want.get(d, 0)))
if days_zt != (jq.get("month") or {}):
    bad.append("30 days by day differ")
if hours_zt != (jq.get("day") or {}):
    bad.append("24 h by hour differ")
det = jq.get("detections") or {}
if month["detections_by_type"] != det:
    bad.append("detections by type: ztgate %s, jq %s" % (month["detections_by_type"], det))
print("answers agree (totals, each day, each hour, detections by type)" if not bad
      else "ANSWERS DIFFER: " + "; ".join(bad))
EOF
)

# ---- searches
declare -A ZT_Q JQ_Q
ZT_Q[user]="--user $USER_"
JQ_Q[user]='select(((.user.email_addr // .actor.user.email_addr // "") | ascii_downcase) == $u or .user.uid == $u or .actor.user.uid == $u)'
ZT_Q[ref]="--ref $REF"
JQ_Q[ref]='select(.metadata.uid == $ref or .metadata.correlation_uid == $ref)'
ZT_Q[blocks]="--decision block --since $SINCE --until $UNTIL"
JQ_Q[blocks]='select(.decision == "block" and .time >= $s and .time <= $e)'
zt_search() { # name
    # shellcheck disable=SC2086 # the flags split into words
    "$ZTGATE" audit search --json ${ZT_Q[$1]} "${FILES[@]}"
}
jq_search() { # name
    jq -c --arg u "$USER_" --arg ref "$REF" --arg s "$SINCE" --arg e "$UNTIL" \
        "select(.type != \"checkpoint\") | ${JQ_Q[$1]}" "${FILES[@]}"
}
zt_latest() { "$ZTGATE" audit search --json --newest-first --limit 50 --user "$USER_" "${FILES[@]}"; }
jq_latest() { jq_search user | tail -50; }

declare -A ZT_MS JQ_MS COUNT
for q in user ref blocks; do
    echo "search: $q ..."
    ZT_MS[$q]=$(median_ms zt_search "$q")
    zt_n=$(wc -l <"$work/last.out")
    JQ_MS[$q]=$(time_ms jq_search "$q")
    jq_n=$(wc -l <"$work/last.out")
    COUNT[$q]="$zt_n"
    [ "$zt_n" = "$jq_n" ] || COUNT[$q]="$zt_n (jq: $jq_n — DIFFER)"
done
echo "search: latest 50 of a user ..."
ZT_MS[latest]=$(median_ms zt_latest)
COUNT[latest]=$(wc -l <"$work/last.out")
JQ_MS[latest]=$(time_ms jq_latest)

zt_peak=$(peak_kib "$ZTGATE" audit stats --since "$MONTH0" --until "$DAY_END" --bucket 1d "${FILES[@]}")
zt_search_peak=$(peak_kib "$ZTGATE" audit search --json --user "$USER_" "${FILES[@]}")
jq_peak=$(peak_kib jq -c --arg ref "$REF" 'select(.metadata.uid == $ref)' "${FILES[@]}")

{
    echo
    echo "== console bench: $(head -1 "$out/gen.txt"), $((bytes / 1048576)) MiB in ${#FILES[@]} file(s); median of $RUNS runs for ztgate, one jq run; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-40s %9s %9s %9s %9s\n' "question" "zt wall" "zt cpu" "jq wall" "jq cpu"
    row "dashboard: audit stats (reads the log)" "$zt_dash" "$jq_dash" "(one pass each)"
    warm_ms=$(awk -v u="$(roll dashboard_warm_us)" 'BEGIN { printf "%.2f", u / 1000 }')
    row "dashboard: console rollup (warm)" "$warm_ms $warm_ms" "$jq_dash" "(one thread, CPU-bound: wall = cpu)"
    printf '%-40s %9s\n' "  rollup built once at start (cold)" "$(roll rollup_cold_ms)"
    for q in user ref blocks latest; do
        case $q in
            user) label="search: a user's records" ;;
            ref) label="search: a reference id" ;;
            blocks) label="search: blocks in a 2 h window" ;;
            latest) label="search: newest 50 of a user (console)" ;;
        esac
        row "$label" "${ZT_MS[$q]}" "${JQ_MS[$q]}" "[${COUNT[$q]} records]"
    done
    echo "dashboard answers: $agree"
    echo "RSS: console rollup of $(roll rollup_records) records: $(($(roll rss_kib) / 1024)) MiB resident (peak $(($(roll hwm_kib) / 1024)) MiB; counters $(($(roll rollup_bytes) / 1024)) KiB; process before it $(($(roll rss_before_kib) / 1024)) MiB)"
    echo "RSS peak: ztgate audit stats $((zt_peak / 1024)) MiB, ztgate audit search $((zt_search_peak / 1024)) MiB, jq search $((jq_peak / 1024)) MiB"
} | tee "$out/summary.txt"

# ---- the pages through HTTP: the real gateway over the same log
echo "pages: the real gateway with a console app over the same log ..."
read -r PORT < <(free_ports 1)
state=$work/state
mkdir -p "$state"
ADMIN_EMAIL=bench-admin@example.test
ADMIN_PW="console bench password $$"
cat >"$work/ztgate.yaml" <<EOF
# bench/console/run.sh: the production path (sessions, policies, risk, audit on, fail closed);
# auth.mfa optional only so that this script can sign in with a password.
state_dir: $state
gateway:
  listen:
    - address: 127.0.0.1:$PORT
  workers: 2
log:
  access: $work/access.log
  error: $work/error.log
  level: info
audit:
  path: $log/audit.log
  signing_key: $log/signing.key
  rotate_size: 256MiB
  on_audit_failure: fail_closed
auth:
  mfa: optional
apps:
  - name: console
    kind: console
    host: console.bench
policies:
  - name: contractors-blocked
    users: {include: ["group:contractors"]}
    apps: {include: ["console"]}
    grant: {block: true}
  - name: console-mfa-report
    state: report_only
    users: {include: ["all"]}
    apps: {include: ["console"]}
    grant: {controls: ["mfa"]}
EOF
"$ZTGATE" check-config --config "$work/ztgate.yaml" >"$out/check-config.txt" 2>&1 ||
    skip "the bench's gateway config is refused: $(cat "$out/check-config.txt")"
printf '%s\n' "$ADMIN_PW" | "$ZTGATE" user add "$ADMIN_EMAIL" --password-stdin \
    --config "$work/ztgate.yaml" >"$out/admin.txt" 2>&1
"$ZTGATE" admin add "$ADMIN_EMAIL" --role global_admin --config "$work/ztgate.yaml" \
    >>"$out/admin.txt" 2>&1
t0=$(now_ms)
"$ZTGATE" serve --config "$work/ztgate.yaml" >"$work/gw.out" 2>&1 &
gw_pid=$!
pids+=("$gw_pid")
wait_port "$PORT" "$gw_pid" ||
    skip "the gateway did not start: $(tail -5 "$work/error.log" "$work/gw.out" 2>/dev/null)"
t1=$(now_ms)
python3 "$repo/bench/console/http_bench.py" "$PORT" console.bench "$ADMIN_EMAIL" "$ADMIN_PW" \
    "$gw_pid" "$RUNS" "$USER_" "$REF" "$SINCE" "$UNTIL" >"$out/http.txt" 2>&1 ||
    echo "console bench: pages: the HTTP run failed (see $out/http.txt)"
ready=$(cat "$work/error.log" "$work/gw.out" 2>/dev/null | grep -o 'audit figures ready: .*' | head -1 || true)
kill -TERM "$gw_pid" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.1; done
cp "$work/error.log" "$out/gateway-error.log" 2>/dev/null || true

ms() { awk -v k="$1" '$1 == "ms" && $2 == k { print $3 }' "$out/http.txt"; }
st() { awk -v k="$1" '$1 == "ms" && $2 == k { print $4 ", " $5 " bytes" }' "$out/http.txt"; }
rssl() { # point -> "VmRSS N MiB, VmHWM N MiB"
    awk -v k="$1" '$1 == "rss" && $2 == k {
        printf "VmRSS %d MiB, VmHWM %d MiB", $3 / 1024, $4 / 1024 }' "$out/http.txt"
}
page_row() { # label key jq_wall_ms what-jq-does
    local z
    z=$(ms "$2")
    if [ -z "$z" ]; then
        printf '%-44s %9s\n' "$1" "(no answer)"
        return
    fi
    printf '%-44s %9s %9s  %-28s [%s] jq: %s\n' "$1" "$z" "$3" \
        "$(ratio "$3" "$(awk -v z="$z" 'BEGIN { printf "%d", z + 0.5 }')")" "$(st "$2")" "$4"
}
read -r jq_dash_w _ <<<"$jq_dash"
read -r jq_user_w _ <<<"${JQ_MS[user]}"
read -r jq_ref_w _ <<<"${JQ_MS[ref]}"
read -r jq_blocks_w _ <<<"${JQ_MS[blocks]}"
signed=$(awk '$1 == "info" && $2 == "signed" { $1 = ""; print substr($0, 2) }' "$out/http.txt")
{
    echo
    echo "== console pages through HTTP: the real gateway (sessions, policies, risk, audit on, fail closed) over the same log; ${signed:-sign-in FAILED} (the bench's config sets auth.mfa: optional so that a script can sign in); median of $RUNS GETs (client wall time); jq wall time from above, one run over the same files"
    printf '%-44s %9s %9s\n' "page (GET)" "ms" "jq ms"
    page_row "dashboard 24h, cold (first with figures)" dashboard_cold "$jq_dash_w" "the dashboard pass"
    page_row "dashboard 24h, warm" dashboard_24h "$jq_dash_w" "the dashboard pass"
    page_row "dashboard 7d, warm" dashboard_7d "$jq_dash_w" "the dashboard pass"
    page_row "dashboard 30d, warm" dashboard_30d "$jq_dash_w" "the dashboard pass"
    page_row "audit search page: a user" audit_user "$jq_user_w" "select a user"
    page_row "audit search page: a reference id" audit_ref "$jq_ref_w" "select a reference id"
    page_row "audit search page: blocks in a 2 h window" audit_blocks "$jq_blocks_w" "select blocks in the window"
    page_row "/ref?id= (a reference id)" ref "$jq_ref_w" "select a reference id"
    page_row "/policies (report-only impact, 24 h)" policies "$jq_dash_w" "the dashboard pass, for scale"
    awk '$1 == "ms" && $2 == "dashboard_cold" { sub(/^[^(]*/, ""); print "  cold dashboard: " $0 }' "$out/http.txt"
    echo "  gateway start to port open: $((t1 - t0)) ms; ${ready:-rollup: no 'audit figures ready' line in its log}"
    echo "RSS of the gateway: at start $(rssl start); rollup ready $(rssl rollup_ready); after the pages $(rssl end)"
    awk '$1 == "info" && $2 != "signed"' "$out/http.txt"
} | tee -a "$out/summary.txt"
