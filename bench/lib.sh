# shellcheck shell=bash
# Shared helpers of the issue 15 side-by-side benches (bench/websocket, bench/https_upstream,
# bench/tunnel); sourced, never run. The caller sets `work` (a temp dir) before start_proc.

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [ -n "${work:-}" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_ports() { # count -> space-separated free loopback ports
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

wait_port() { # port pid
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

median() { # values...
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# "0.93x (target >= 0.90: met)" for a higher-is-better figure.
verdict() { # ours theirs target
    awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN {
        if (b <= 0) { print "n/a"; exit }
        r = a / b; printf "%.2fx (target >= %.2f: %s)", r, t, (r >= t ? "met" : "MISSED") }'
}

# Resident set of a process and its children (nginx master + workers), in KiB.
rss_kib() { # pid
    local total=0 p kb
    for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

# CPU seconds (user + system) used so far by a process and its children still alive.
cpu_s() { # pid
    local total=0 p t
    for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
        t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        total=$((total + ${t:-0}))
    done
    awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

nginx_user_line() { if [ "$(id -u)" -eq 0 ]; then echo "user root;"; fi; }

# A ztgate signed-in session cookie value for USER on the gateway at PORT (mfa optional), or "".
zt_signin() { # build config port host user password
    local build=$1 cfg=$2 port=$3 host=$4 user=$5 pw=$6
    printf '%s\n' "$pw" | "$build/ztgate" user add "$user" --password-stdin --config "$cfg" \
        >"$work/useradd-$port.out" 2>&1 || return 0
    curl -s -D "$work/login-$port.h" -o "$work/login-$port.b" -H "Host: $host" \
        "http://127.0.0.1:$port/.ztgate/login" || return 0
    local csrf token
    csrf=$(sed -n 's/^[Ss]et-[Cc]ookie: ztgate_csrf=\([^;]*\).*/\1/p' "$work/login-$port.h" | tr -d '\r')
    token=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/login-$port.b")
    curl -s -o /dev/null -D - -H "Host: $host" -H "Cookie: ztgate_csrf=$csrf" \
        --data-urlencode "username=$user" --data-urlencode "password=$pw" \
        --data-urlencode "csrf_token=$token" "http://127.0.0.1:$port/.ztgate/login" |
        tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: ztgate_session=\([^;]*\).*/\1/p' | head -n 1
}

# The Network Activity records (OCSF 4001) a run left in an audit log: streams opened and closed
# and the bytes the Close records counted.
audit_streams() { # audit-log what
    [ -f "$1" ] || return 0
    python3 - "$1" "$2" <<'EOF'
import json, sys
opened = closed = other = 0
bytes_in = bytes_out = 0
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("class_uid") != 4001:
        continue
    if r.get("activity_id") == 1:
        opened += 1
    elif r.get("activity_id") == 2:
        closed += 1
        t = r.get("traffic") or {}
        bytes_in += t.get("bytes_in", 0)
        bytes_out += t.get("bytes_out", 0)
    else:
        other += 1  # 4 Fail (target unreachable after the Open), 5 Refuse
print("audit: %d %s opened, %d closed, %d failed or refused; the Close records count %.3f GiB "
      "in, %.3f GiB out" % (opened, sys.argv[2], closed, other, bytes_in / 2**30,
                            bytes_out / 2**30))
EOF
}
