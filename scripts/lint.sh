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
