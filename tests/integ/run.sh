#!/bin/sh
# Integration tests against the real daemon: tests/integ/run.sh BUILD_DIR [SUBSTRING...]
# Prints one line per test and finally "N passed, M failed"; non-zero exit when any failed.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [SUBSTRING...]" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
shift
cd "$(dirname "$0")"
# Bytecode caches would land in the source tree; the suite is small enough to compile each run.
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -u runner.py "$build" "$@"
