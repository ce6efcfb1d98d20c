#!/bin/bash
# `ztgate user import` rows per second (issue 14, item 7): one CLI run per row, wall clock of the
# whole command (read, decode, parse, plan against the store, one transaction, audit records).
#   usage: bench/roster/run.sh [BUILD_DIR]     knobs: ROSTER_ROWS (10000), ROSTER_RUNS (3)
# Rows have Japanese names (氏名), a group and an expiry, like a school's April roster. Rows:
#   create        N new users, audit off (store work only)
#   create+audit  N new users, audit on: N Account Change records queued in the spool
#   create cp932  the same file as CP932 (--encoding cp932), audit off
#   unchanged     the same file again: planned, nothing to change (the idempotent re-run)
#   update        every name changed and every user moved to another group, audit off
#   dry-run       the update file with --dry-run (read, plan and print only)
# Each row runs ROSTER_RUNS times on a fresh state directory; the median is printed.
set -euo pipefail

build=${1:-build}
if [ ! -x "$build/ztgate" ]; then
    echo "roster bench: $build/ztgate not found; build it first (make)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)
ROWS=${ROSTER_ROWS:-10000}
RUNS=${ROSTER_RUNS:-3}
OUT=${BENCH_OUT:-$build/bench}/roster
mkdir -p "$OUT"
work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-roster-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
command -v iconv >/dev/null 2>&1 || { echo "roster bench: skipped: iconv missing" | tee "$OUT/results.txt"; exit 0; }

config() { # config NAME AUDIT(on|off)
    local audit="path: off"
    [ "$2" = on ] && audit="path: $work/$1/state/audit/audit.log"
    mkdir -p "$work/$1"
    cat >"$work/$1/ztgate.yaml" <<YAML
state_dir: $work/$1/state
gateway:
  listen:
    - address: 127.0.0.1:9
log:
  error: "-"
audit:
  $audit
apps:
  - name: app
    host: app.test
    upstream: http://127.0.0.1:9
YAML
    for g in grade-1 grade-2 grade-3; do
        "$build/ztgate" group add "$g" --config "$work/$1/ztgate.yaml" >/dev/null
    done
}

python3 - "$ROWS" "$work" <<'PY'
import sys
n, work = int(sys.argv[1]), sys.argv[2]
fam, giv = "山田鈴木佐藤高橋田中伊藤渡辺中村小林加藤", "太郎花子次郎三郎陽菜結衣蓮湊"
def rows(shift):
    out = ["メールアドレス,氏名,グループ,有効期限,外部ID"]
    for i in range(n):
        name = fam[(i * 2) % 20:(i * 2) % 20 + 2] + "　" + giv[(i * 2) % 14:(i * 2) % 14 + 2]
        out.append("p%06d@school.example.jp,%s%s %d,grade-%d,2027-03-31,P%06d" %
                   (i, name, "丸" * shift, i, (i + shift) % 3 + 1, i))
    return "\r\n".join(out) + "\r\n"
open(work + "/roster.csv", "w", encoding="utf-8").write(rows(0))
open(work + "/update.csv", "w", encoding="utf-8").write(rows(1))
PY
iconv -f UTF-8 -t CP932 "$work/roster.csv" >"$work/roster-cp932.csv"

now() { date +%s.%N; }
# timed NAME ARGS...: seconds of one ztgate run (exit status must be 0)
timed() {
    local t0 t1
    t0=$(now)
    "$build/ztgate" "$@" >"$work/last.out" 2>"$work/last.err" || {
        echo "roster bench: ztgate $* failed:" >&2; tail -5 "$work/last.err" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

measure() { # measure LABEL AUDIT PREP(none|import) FILE ARGS...
    local label=$1 audit=$2 prep=$3 file=$4
    shift 4
    local times=()
    for r in $(seq "$RUNS"); do
        rm -rf "$work/run"
        config run "$audit"
        if [ "$prep" = import ]; then
            "$build/ztgate" user import "$work/roster.csv" --config "$work/run/ztgate.yaml" >/dev/null
        fi
        times+=("$(timed user import "$file" --config "$work/run/ztgate.yaml" "$@")")
    done
    local s
    s=$(printf '%s\n' "${times[@]}" | median)
    printf '%-14s %8d rows  %7.2f s  %9.0f rows/s   (%s)\n' "$label" "$ROWS" "$s" \
        "$(echo "$ROWS / $s" | bc -l)" "$(grep -m1 '^plan:' "$work/last.out" || true)"
}

{
    echo "ztgate user import, $ROWS rows of Japanese names, median of $RUNS runs ($(nproc) cores)"
    measure create off none "$work/roster.csv"
    measure create+audit on none "$work/roster.csv"
    measure "create cp932" off none "$work/roster-cp932.csv" --encoding cp932
    measure unchanged off import "$work/roster.csv"
    measure update off import "$work/update.csv"
    measure dry-run off import "$work/update.csv" --dry-run
} | tee "$OUT/results.txt"
