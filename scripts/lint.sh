#!/bin/sh
# `make lint`: the checks a reviewer should never have to make by eye. Each prints what is wrong
# with FILE:LINE and the script fails if any of them found something.
#   1. banned functions (curl's checksrc habit): unbounded or locale/thread-unsafe calls;
#   2. formatting: clang-format --dry-run --Werror on every C file;
#   3. layering: every #include "DIR/x.h" between folders of src/ must be an edge of the graph
#      written in docs/ARCHITECTURE.md (the ```layers block, parsed here, so the document and
#      the check cannot drift), the graph itself must have no cycle, and a "known debt" edge
#      that is no longer used must be struck from the document;
#   4. private headers (*_int.h) are included only from their own folder (and unit tests);
#   5. dead code: cppcheck unusedFunction.
set -eu
cd "$(dirname "$0")/.."
status=0
fail() {
    printf '%s\n' "$@" >&2
    status=1
}

c_files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h' '*.inc' |
    grep -v '^build' || true)

# ---- 1. banned functions ----
bad=$(printf '%s\n' $c_files | grep -E '^(src|agent|fuzz)/.*\.(c|h)$' | xargs grep -nE \
    '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atof|tmpnam)[[:space:]]*\(' || true)
if [ -n "$bad" ]; then
    fail "lint: banned functions used (use the bounded alternatives):" "$bad"
fi

# ---- 2. formatting ----
if command -v clang-format >/dev/null 2>&1; then
    fmt_files=$(printf '%s\n' $c_files | grep -E '\.(c|h)$')
    if ! out=$(printf '%s\n' $fmt_files | xargs clang-format --dry-run --Werror 2>&1); then
        files=$(printf '%s\n' "$out" | grep -E '^[^ ].*\.(c|h):[0-9]+:[0-9]+: error' |
            cut -d: -f1 | sort -u)
        fail "lint: not clang-formatted (run \`make fmt\`):" "$files"
    fi
else
    fail "lint: clang-format is not installed (scripts/setup.sh installs it)"
fi

# ---- 3 and 4. layering and private headers ----
doc=docs/ARCHITECTURE.md
graph=$(awk '/^```layers[[:space:]]*$/ {on = 1; next} on && /^```/ {exit} on' "$doc")
if [ -z "$graph" ]; then
    fail "lint: $doc has no \`\`\`layers block to check the includes against"
    exit 1
fi

# "DIR: DEP DEP ..." lines -> "DIR DEP" edges; "known-debt: A -> B" lines -> debt edges.
edges=$(printf '%s\n' "$graph" | sed 's/#.*//' | awk -F: '
    NF >= 2 && $1 !~ /known-debt/ {
        gsub(/[[:space:]]/, "", $1); print $1, $1
        n = split($2, deps, /[[:space:],]+/)
        for (i = 1; i <= n; i++) if (deps[i] != "") print $1, deps[i]
    }')
debt=$(printf '%s\n' "$graph" | sed 's/#.*//' | awk -F: '
    $1 ~ /known-debt/ { gsub(/->/, " ", $2); split($2, e, /[[:space:]]+/); n = 0
        for (i = 1; i <= length(e); i++) if (e[i] != "") w[++n] = e[i]
        if (n == 2) print w[1], w[2] }')
folders=$(printf '%s\n' "$edges" | awk '{print $1}' | sort -u)

# The written graph has no cycle (tsort names one if it has).
if ! cyc=$(printf '%s\n' "$edges" "$debt" | awk 'NF == 2 && $1 != $2 {print $2, $1}' |
    tsort 2>&1 >/dev/null) || [ -n "$cyc" ]; then
    fail "lint: the dependency graph in $doc has a cycle:" \
        "$(printf '%s\n' "$cyc" | awk 'NR > 1 && /input contains a loop/ {exit} {print}')"
fi

# Every folder under src/ is placed in the graph.
for d in src/*/; do
    d=${d#src/}
    d=${d%/}
    printf '%s\n' "$folders" | grep -qx "$d" ||
        fail "lint: src/$d/ is not placed in the \`\`\`layers graph of $doc"
done

# Every include between folders: file, line, from-folder, to-folder, header.
includes=$(printf '%s\n' $c_files | grep -E '^src/[a-z_]+/' | xargs grep -nE '^#[[:space:]]*include[[:space:]]+"[a-z_]+/' |
    sed -E 's|^src/([a-z_]+)/([^:]*):([0-9]+):#[[:space:]]*include[[:space:]]+"([a-z_]+)/([^"]*)".*|\1 \4 src/\1/\2:\3 \5|')
used_debt=""
bad_edges=$(printf '%s\n' "$includes" | while read -r from to where header; do
    [ -n "$from" ] || continue
    [ "$from" = "$to" ] && continue
    if printf '%s\n' "$edges" | grep -qx "$from $to"; then
        continue
    fi
    if printf '%s\n' "$debt" | grep -qx "$from $to"; then
        echo "debt $from $to"
        continue
    fi
    echo "bad $where: includes \"$to/$header\": $from -> $to is not an edge of $doc"
done)
if printf '%s\n' "$bad_edges" | grep -q '^bad '; then
    fail "lint: include outside the layering:" "$(printf '%s\n' "$bad_edges" | sed -n 's/^bad //p')"
fi
used_debt=$(printf '%s\n' "$bad_edges" | sed -n 's/^debt //p' | sort -u)
printf '%s\n' "$debt" | while read -r a b; do
    [ -n "$a" ] || continue
    printf '%s\n' "$used_debt" | grep -qx "$a $b" ||
        echo "lint: known-debt edge $a -> $b is no longer used: strike it from $doc" >&2
done
stale=$(printf '%s\n' "$debt" | while read -r a b; do
    [ -n "$a" ] || continue
    printf '%s\n' "$used_debt" | grep -qx "$a $b" || echo x
done)
[ -z "$stale" ] || status=1

# Private headers: DIR/*_int.h only from src/DIR/ (unit tests may test internals).
priv=$(printf '%s\n' $c_files | grep -E '^(src|fuzz|bench|agent)/' |
    xargs grep -nE '^#[[:space:]]*include[[:space:]]+"[a-z_]+/[a-z_]+_int\.h"' |
    sed -E 's|^(([^:]*):[0-9]+):#[[:space:]]*include[[:space:]]+"([a-z_]+)/([^"]*)".*|\1 \2 \3/\4|' |
    while read -r where file header; do
        case "$file" in
        src/"${header%%/*}"/*) ;;
        *) echo "$where: includes private header \"$header\" from another folder" ;;
        esac
    done)
[ -z "$priv" ] || fail "lint: private header used outside its folder:" "$priv"

# Dead code: a function nothing calls (cppcheck unusedFunction over the daemon, the agent, the unit
# tests and the fuzz targets, so helpers only the tests call count as used). A libFuzzer entry
# point is called by the fuzzing engine, not by our code.
if command -v cppcheck >/dev/null 2>&1; then
    dead=$(cppcheck --enable=unusedFunction --quiet -I src -I /usr/share/include/llhttp --std=c11 \
        --suppress='unusedFunction:fuzz/*' --template='{file}:{line}: {message}' --template-location= \
        src tests/unit fuzz 2>&1 | grep -F 'is never used' || true)
    [ -z "$dead" ] || fail "lint: functions nothing calls (delete them, or use them):" "$dead"
else
    fail "lint: cppcheck is not installed (scripts/setup.sh installs it)"
fi

if [ "$status" -ne 0 ]; then
    echo "lint: FAILED" >&2
    exit 1
fi
echo "lint: ok"

