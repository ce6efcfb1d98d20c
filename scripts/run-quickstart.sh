#!/bin/bash
# `make run`: the demo app on 127.0.0.1:8081 in the background, ztgate with
# examples/quickstart.yaml in the foreground; Ctrl-C stops both. State goes to ./data (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD:-build}
ztgate="$build/ztgate"
config=examples/quickstart.yaml
demo_port=8081

if [ ! -x "$ztgate" ]; then
    echo "run-quickstart: $ztgate not found; run 'make' first" >&2
    exit 1
fi
mkdir -p data

python3 examples/demo_app.py "$demo_port" &
demo_pid=$!
# shellcheck disable=SC2317 # called from the EXIT trap
stop_demo() {
    if kill -0 "$demo_pid" 2>/dev/null; then
        kill "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
}
trap stop_demo EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Give the demo app a moment; if it died (port taken?) say so but still start the gateway,
# which then answers 502 for the app.
for _ in 1 2 3 4 5 6 7 8 9 10; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$demo_port") 2>/dev/null; then break; fi
    if ! kill -0 "$demo_pid" 2>/dev/null; then
        echo "run-quickstart: the demo app did not start (is port $demo_port in use?)" >&2
        break
    fi
    sleep 0.2
done

users=$("$ztgate" user list --json --config "$config" 2>/dev/null | grep -c '"email"' || true)
cat <<EOF

  ztgate quickstart
    open  http://app.localhost:8080/
    or    https://app.localhost:8443/   (self-signed certificate: the browser warns; curl -k)
    state ./data/      config $config      stop with Ctrl-C
EOF
if [ "${users:-0}" -eq 0 ]; then
    cat <<EOF

  No user yet. In another terminal, create yours (the password is read from stdin):
    printf '%s\n' 'a long passphrase of yours' |
      $ztgate user add you@example.org --password-stdin --config $config
  then sign in at http://app.localhost:8080/ and enrol an authenticator app (TOTP).
EOF
fi
echo

# Not exec: the EXIT trap must still stop the demo app when the gateway ends. A background job of
# a script ignores the terminal's SIGINT, so Ctrl-C reaches us and we ask the gateway to drain
# with SIGTERM.
"$ztgate" serve --config "$config" &
gw_pid=$!
trap 'kill -TERM "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; exit 130' INT
trap 'kill -TERM "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; exit 143' TERM
set +e
wait "$gw_pid"
rc=$?
set -e
exit "$rc"
