#!/bin/bash
# Runs CMD... with a throwaway PostgreSQL (tests/pg/pgtmp.sh: own temp dir, own port) and
# ZT_TEST_PG_DSN / ZT_INTEG_PG_DSN naming it; the server is stopped when CMD ends, fails or is
# interrupted. CMD's exit status is ours.
#
#   scripts/with-pg.sh meson test -C build          unit tests, store tests also on PostgreSQL
#   scripts/with-pg.sh tests/integ/run.sh build     the integration suite on PostgreSQL
#
# ZT_PG_PORT picks the port (default: a free one from 25432 up).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARG...]" >&2
    exit 2
fi

# A port nothing listens on from $1 up. Below the kernel's ephemeral range (32768 up by
# default), so no client connection takes it as its source port meanwhile; if the server's bind
# fails all the same (another run took it), the caller tries the next one.
free_port() {
    p=$1
    while [ $p -lt 25532 ]; do
        # Nothing on TCP nor a stale socket file of another run on that port.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo $p
            return 0
        fi
        p=$((p + 1))
    done
    echo "with-pg: no free port in 25432-25531" >&2
    return 1
}

dir=
stop() {
    if [ -n "$dir" ]; then
        "$root/tests/pg/pgtmp.sh" stop "$dir/pg" || true
        rm -rf "$dir"
    fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

next=25432
for attempt in 1 2 3 4 5; do
    port=${ZT_PG_PORT:-$(free_port $next)}
    dir=$(mktemp -d /tmp/ztgate-pg-XXXXXX)
    chmod 711 "$dir" # initdb runs as user postgres under root
    if dsn=$("$root/tests/pg/pgtmp.sh" start "$dir/pg" "$port"); then
        break
    fi
    taken=0
    grep -q "Address already in use" "$dir/pg/log" 2>/dev/null && taken=1
    if [ -n "${ZT_PG_PORT:-}" ] || [ $taken -eq 0 ] || [ $attempt -eq 5 ]; then
        echo "with-pg: could not start PostgreSQL on port $port:" >&2
        cat "$dir/pg/initdb.log" "$dir/pg/log" 2>/dev/null | tail -n 20 >&2
        exit 1
    fi
    echo "with-pg: port $port was taken after all; trying the next one" >&2
    stop
    dir=
    next=$((port + 1))
done
echo "with-pg: PostgreSQL on port $port ($dsn)" >&2
export ZT_TEST_PG_DSN="$dsn" ZT_INTEG_PG_DSN="$dsn"
set +e
"$@"
rc=$?
set -e
exit $rc
