# shellcheck shell=bash disable=SC2154,SC2034 # the caller's variables, in and out
# The ztgate half of bench/tunnel/run.sh (sourced by it; uses its variables): a gateway with a
# TLS listener and a `kind: tcp` app in front of iperf3, a device enrolled the real way
# (`ztgate device enroll-code` + `ztagent enroll`), a tunnel token got the real way (`ztagent
# signin`, approved on the portal's /.ztgate/agent/approve with curl as the device's owner) and
# `ztagent tunnel --listen`. Sets zt_state (ok or why not), ZT_PID, ZA_PID, zt_cipher, ZT_AUDIT.

zt_half() {
    local zt="$build/ztgate" za="$build/ztagent" cfg="$work/ztgate.yaml"
    ZT_AUDIT=$work/ztstate/audit/audit.log
    cat > "$cfg" <<EOF
state_dir: $work/ztstate
gateway:
  listen:
    - address: "127.0.0.1:$P_ZT"
      tls:
        cert: $work/server.pem
        key: $work/server.key
  workers: $WORKERS
log:
  access: "off"
  error: $work/ztgate-error.log
  level: warn
audit:
  path: $ZT_AUDIT
  on_audit_failure: fail_closed
auth:
  mfa: optional
  argon2_memory: 19MiB
  argon2_passes: 2
apps:
  - name: portal
    host: $HOST
    upstream: "http://127.0.0.1:$P_IP"
    sensitivity: internal
  - name: iperf
    kind: tcp
    host: $APP_HOST
    port: $APP_PORT
    target: "127.0.0.1:$P_IP"
    sensitivity: internal
  - name: hold
    kind: tcp
    host: hold.bench.test
    port: 7
    target: "127.0.0.1:$P_HOLD"
    sensitivity: internal
EOF
    if ! "$zt" check-config "$cfg" >"$work/check.out" 2>&1; then
        zt_state="refused by this ztgate (no tcp apps yet?): $(grep -m1 -i 'error\|unknown\|tcp' "$work/check.out" | sed "s|$work/||" | cut -c1-90)"
        return
    fi
    "$zt" serve --config "$cfg" >"$work/ztgate.out" 2>&1 &
    pids+=($!)
    ZT_PID=${pids[-1]}
    wait_port "$P_ZT" "$ZT_PID" || { zt_state="ztgate failed to start"; return; }

    # the device's owner, signed in on the portal (mfa optional: the password is a full session)
    local user=tunnel@bench.test pw="tunnel bench password 1" code sess
    printf '%s\n' "$pw" | "$zt" user add "$user" --password-stdin --config "$cfg" >"$work/useradd.out" 2>&1 ||
        { zt_state="ztgate user add failed"; return; }
    code=$("$zt" device enroll-code --user "$user" --config "$cfg" 2>"$work/code.err") ||
        { zt_state="ztgate device enroll-code failed"; return; }
    "$za" enroll --server "https://127.0.0.1:$P_ZT" --code "$code" --insecure-first-use \
        --dir "$work/agent" >"$work/enroll.out" 2>&1 || { zt_state="ztagent enroll failed (see enroll.out)"; return; }
    local base="https://127.0.0.1:$P_ZT" jar="$work/cookies.txt"
    curl -sk -c "$jar" -b "$jar" -o "$work/login.html" -H "Host: $HOST" "$base/.ztgate/login"
    local csrf
    csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/login.html" | head -n 1)
    curl -sk -c "$jar" -b "$jar" -o /dev/null -H "Host: $HOST" --data-urlencode "username=$user" \
        --data-urlencode "password=$pw" --data-urlencode "csrf_token=$csrf" "$base/.ztgate/login"
    grep -q ztgate_session "$jar" || { zt_state="portal sign-in with curl failed"; return; }

    # the tunnel token: ztagent asks, the owner approves the code it printed
    export XDG_STATE_HOME=$work/xdg
    "$za" signin "$APP_HOST:$APP_PORT" --dir "$work/agent" >"$work/signin.out" 2>"$work/signin.err" &
    local sp=$!
    sess=""
    for _ in $(seq 100); do
        sess=$(grep -oE '\b[A-Z0-9]{4}-[A-Z0-9]{4}\b' "$work/signin.err" | head -n 1 || true)
        [ -n "$sess" ] && break
        kill -0 "$sp" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$sess" ] || { kill "$sp" 2>/dev/null; zt_state="ztagent signin printed no code (see signin.err)"; return; }
    curl -sk -c "$jar" -b "$jar" -o "$work/approve.html" -H "Host: $HOST" "$base/.ztgate/agent/approve"
    csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/approve.html" | head -n 1)
    curl -sk -c "$jar" -b "$jar" -o "$work/approved.html" -H "Host: $HOST" --data-urlencode "code=$sess" \
        --data-urlencode "action=approve" --data-urlencode "csrf_token=$csrf" "$base/.ztgate/agent/approve"
    if ! wait "$sp"; then
        zt_state="ztagent signin was not approved (see signin.err, approved.html)"
        return
    fi

    "$za" tunnel "$APP_HOST:$APP_PORT" --listen "127.0.0.1:$P_ZC" --dir "$work/agent" \
        >"$work/tunnel.out" 2>&1 &
    pids+=($!)
    ZA_PID=${pids[-1]}
    wait_port "$P_ZC" "$ZA_PID" || { zt_state="ztagent tunnel --listen did not start"; return; }
    "$za" tunnel hold.bench.test:7 --listen "127.0.0.1:$P_ZH" --dir "$work/agent" >"$work/tunnel-hold.out" 2>&1 &
    pids+=($!)
    wait_port "$P_ZH" "${pids[-1]}" || { zt_state="the second ztagent tunnel --listen did not start"; return; }
    zt_cipher=$(openssl s_client -connect "127.0.0.1:$P_ZT" -servername "$HOST" </dev/null 2>/dev/null |
        sed -n 's/.*Cipher is \([A-Z0-9_-]*\).*/\1/p' | head -n 1)
    zt_state=ok
}

zt_half
