#!/bin/sh
# Banned functions (curl's checksrc habit): unbounded or locale/thread-unsafe calls.
set -eu
cd "$(dirname "$0")/.."
bad=$(git ls-files 'src/*.c' 'src/*.h' 'agent/*.c' 'fuzz/*.c' | xargs grep -nE \
    '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atof|tmpnam)[[:space:]]*\(' || true)
if [ -n "$bad" ]; then
    echo "lint: banned functions used (use the bounded alternatives):" >&2
    echo "$bad" >&2
    exit 1
fi
echo "lint: ok"

# Dead code: a function nothing calls (cppcheck unusedFunction over the daemon, the agent, the unit
# tests and the fuzz targets, so helpers only the tests call count as used). A libFuzzer entry
# point is called by the fuzzing engine, not by our code.
if command -v cppcheck >/dev/null 2>&1; then
    dead=$(cppcheck --enable=unusedFunction --quiet -I src -I /usr/share/include/llhttp --std=c11 \
        --suppress='unusedFunction:fuzz/*' --template='{file}:{line}: {message}' --template-location= \
        src tests/unit fuzz 2>&1 | grep -F 'is never used' || true)
    if [ -n "$dead" ]; then
        echo "lint: functions nothing calls (delete them, or use them):" >&2
        echo "$dead" >&2
        exit 1
    fi
else
    echo "lint: cppcheck not installed (scripts/setup.sh installs it); dead-code check skipped" >&2
    exit 1
fi
echo "lint: no dead functions"
