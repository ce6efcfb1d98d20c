#!/bin/sh
# A throwaway PostgreSQL for tests and benchmarks: its own cluster in a temp dir, its own port,
# a Unix socket in that dir, TLS on TCP 127.0.0.1 with a test CA (so the gateway's default
# sslmode=verify-full is what the tests exercise), fsync off. Never touches a system cluster.
#
#   tests/pg/pgtmp.sh start DIR PORT   prints the DSN (Unix socket) on stdout
#   tests/pg/pgtmp.sh stop DIR         stops it (fast) and removes DIR
#   tests/pg/pgtmp.sh restart DIR      restarts it (same port, same data)
#
# DIR/ca.pem is the CA a TLS client trusts: host=localhost port=PORT sslrootcert=DIR/ca.pem.
set -eu
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

make_certs() {
    dir=$1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=ztgate test database CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$dir/san.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/server.pem" 2>/dev/null
    chmod 600 "$dir/server.key"
}

start() {
    dir=$1 port=$2
    mkdir -p "$dir"
    make_certs "$dir"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi
    as_pg "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 --locale=C \
        >"$dir/initdb.log" 2>&1
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 -o "-p $port -k $dir \
        -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=on \
        -c max_connections=300 -c ssl=on -c ssl_cert_file=$dir/server.pem \
        -c ssl_key_file=$dir/server.key" start >/dev/null
    echo "host=$dir port=$port user=postgres dbname=postgres"
}

case ${1:-} in
start) start "$2" "$3" ;;
stop)
    if [ -f "$2/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$2"
    ;;
restart) as_pg "$PGBIN/pg_ctl" -D "$2/data" -m fast -w restart >/dev/null ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR | restart DIR" >&2
    exit 2
    ;;
esac
