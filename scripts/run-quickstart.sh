#!/bin/bash
# `make run`: the demo app on 127.0.0.1:8081 (behind the proxy) and the OpenID Connect demo app on
# 127.0.0.1:8082 (signs in through ztgate's OpenID Connect provider) in the background, ztgate
# with examples/quickstart.yaml in the foreground; Ctrl-C stops all three. State goes to ./data
# (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD:-build}
ztgate="$build/ztgate"
config=examples/quickstart.yaml
demo_port=8081
oidc_port=8082
oidc_dir=examples/oidc_demo
# The OIDC client's shared secret, named by the config (apps[].oidc.client_secret_file): ztgate
# and the demo app read the same file; ztgate refuses one that others can read.
secret_file=./data/demo-oidc.secret

if [ ! -x "$ztgate" ]; then
    echo "run-quickstart: $ztgate not found; run 'make' first" >&2
    exit 1
fi
mkdir -p data
if [ ! -s "$secret_file" ]; then
    (
        umask 077
        head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$secret_file"
        echo >>"$secret_file"
    )
    echo "run-quickstart: created the OIDC client secret $secret_file (mode 0600)"
fi

pids=()
# shellcheck disable=SC2317 # called from the EXIT trap
stop_demos() {
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
}
trap stop_demos EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Give a demo app a moment; if it died (port taken?) say so but still start the gateway, which
# then answers 502 for the proxied app.
wait_listening() { # NAME PID PORT
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$3") 2>/dev/null; then return 0; fi
        if ! kill -0 "$2" 2>/dev/null; then
            echo "run-quickstart: the $1 did not start (is port $3 in use?)" >&2
            return 1
        fi
        sleep 0.2
    done
}

python3 examples/demo_app.py "$demo_port" &
pids+=($!)
wait_listening "demo app" "$!" "$demo_port" || true

# The OIDC demo needs node and its npm packages (scripts/setup.sh installs them; `make run`
# runs it first). Without them the rest of the quickstart still works.
oidc_url=""
if ! command -v node >/dev/null 2>&1; then
    echo "run-quickstart: node not found: the OIDC demo app is not started (run scripts/setup.sh)" >&2
elif [ ! -d "$oidc_dir/node_modules/openid-client" ] &&
    ! (cd "$oidc_dir" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "run-quickstart: npm ci in $oidc_dir failed: the OIDC demo app is not started" >&2
else
    # It trusts the gateway's self-signed certificate (made at ztgate's first start) for the
    # issuer, and asks the provider at its first sign-in, once ztgate is up.
    node "$oidc_dir/server.mjs" --port "$oidc_port" --issuer https://sso.localhost:8443 \
        --client-id demo-oidc --secret-file "$secret_file" --ca ./data/tls/gateway-cert.pem &
    pids+=($!)
    if wait_listening "OIDC demo app" "$!" "$oidc_port"; then
        oidc_url="http://127.0.0.1:$oidc_port/"
    fi
fi

users=$("$ztgate" user list --json --config "$config" 2>/dev/null | grep -c '"email"' || true)
cat <<EOF

  ztgate quickstart
    open  http://app.localhost:8080/     the demo app behind the proxy
    or    https://app.localhost:8443/    (self-signed certificate: the browser warns; curl -k)
          you sign in at sso.localhost, the portal host, and come back signed in
EOF
if [ -n "$oidc_url" ]; then
    cat <<EOF
    open  $oidc_url         the OIDC demo app: "Sign in with ztgate" through ztgate's
          OpenID Connect provider, https://sso.localhost:8443 (docs/OIDC.md)
EOF
fi
cat <<EOF
    state ./data/      config $config      stop with Ctrl-C
EOF
if [ "${users:-0}" -eq 0 ]; then
    cat <<EOF

  No user yet. In another terminal, create yours (the password is read from stdin):
    printf '%s\n' 'a long passphrase of yours' |
      $ztgate user add you@example.org --password-stdin --config $config
  then sign in at http://app.localhost:8080/ (the sign-in page is on sso.localhost) and
  enrol an authenticator app (TOTP).
EOF
fi
echo

# Not exec: the EXIT trap must still stop the demo apps when the gateway ends. A background job of
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
