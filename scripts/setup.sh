#!/bin/bash
# Installs what building and testing ztgate needs on Debian 12, and nothing when it is all there.
# Idempotent: one dpkg-query decides; `apt-get update` runs only when something is missing.
# Called by `make run`, `make check` and `make bench`; safe to run by hand at any time.
set -eu
cd "$(dirname "$0")/.."

# Build: compilers, meson/ninja, and the C libraries named in DESIGN.md §6 (llhttp comes as C sources
# in node-llhttp); cppcheck for the dead-code check in scripts/lint.sh. Test peers: nginx (baseline proxy), wrk/hyperfine (load), hydra (attacker),
# rsyslog (syslog sink), sqlite3 (store inspection), the MaxMind writer (test GeoIP databases),
# chromium + fonts-noto-cjk (the real-browser suite, tests/integ/test_browser_*.py, with Japanese
# pages readable in its screenshots), nodejs (that suite's driver and the otplib cross-check; npm
# comes with it or from Debian's npm package, below). The identity-provider peers: Apache httpd with
# mod_auth_openidc (OpenID Connect RP) and mod_auth_mellon (SAML SP), started by
# tests/integ/apache.py on its own ports, never as the system service; Lasso and xmlsec1 for
# ztgate's SAML IdP; python3-lasso for the stand-in IdP that checks the mellon harness
# (tests/integ/saml_idp.py). iperf3 and stunnel4: the tunnel bench's load and peer (bench/tunnel).
# postgresql: the server binaries (/usr/lib/postgresql/15/bin) and psql for the PostgreSQL store's
# tests; tests/pg/pgtmp.sh starts throwaway clusters on their own ports, never the system one
# (whose start the policy-rc.d of apt_install prevents).
PACKAGES="
build-essential clang meson ninja-build pkg-config clang-format libclang-rt-14-dev
libuv1-dev node-llhttp libssl-dev libsodium-dev libsqlite3-dev libpq-dev libyaml-dev
libjansson-dev liboath-dev libqrencode-dev libmaxminddb-dev libclamav-dev libfido2-dev
libcbor-dev libcmocka-dev libunistring-dev cppcheck
python3 curl openssl nginx-light wrk hyperfine hydra rsyslog sqlite3 libmaxmind-db-writer-perl jq
chromium fonts-noto-cjk nodejs
apache2 libapache2-mod-auth-openidc libapache2-mod-auth-mellon liblasso3-dev xmlsec1 libxmlsec1-dev
python3-lasso
slapd ldap-utils libldap-dev
openssh-server openssh-client
iperf3 stunnel4
postgresql
"

log() { printf 'setup: %s\n' "$*"; }
flat() { echo "$1" | tr -s ' \n' '  ' | sed 's/^ //; s/ $//'; } # list on one line

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

# Prints the packages of $* that are not fully installed ("ii"), one per line.
missing_packages() {
    # dpkg-query exits non-zero when any name is unknown to dpkg; those are missing too.
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null |
                awk '$2 == "ii" { print $1 }' || true)
    for p in "$@"; do
        case " $(flat "$installed") " in
            *" $p "*) ;;
            *) echo "$p" ;;
        esac
    done
}

apt_install() {
    log "installing: $*"
    # Tests and benchmarks start their own nginx/rsyslog on their own ports: keep package
    # postinst scripts from starting the system services, unless a policy already exists.
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
        own_policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\n# temporary, from ztgate scripts/setup.sh\nexit 101\n' > "$own_policy"
        chmod 755 "$own_policy"
        trap 'rm -f "$own_policy"' EXIT INT TERM
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
    if [ -n "$own_policy" ]; then
        rm -f "$own_policy"
        trap - EXIT INT TERM
    fi
}

# The apache2 package's postinst starts the system service on port 80 unless a policy-rc.d said
# no (apt_install puts one in place as root; not under sudo, or with a policy of the machine's
# own that allows it). Tests run their own httpd: stop the one the install just started.
stop_system_apache() {
    pidfile=/var/run/apache2/apache2.pid
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        log "stopping the system apache2 the package install started (tests run their own)"
        as_root apache2ctl -k stop || true
    fi
}

install_debian_packages() {
    # shellcheck disable=SC2086 # word splitting of the list is intended
    missing=$(missing_packages $PACKAGES)
    if [ -z "$missing" ]; then
        log "all $(flat "$PACKAGES" | wc -w) Debian packages present"
        return 0
    fi
    # shellcheck disable=SC2086
    apt_install $missing
    case " $(flat "$missing") " in
        *" apache2 "*) stop_system_apache ;;
    esac
    # shellcheck disable=SC2086
    still=$(missing_packages $missing)
    if [ -n "$still" ]; then
        log "still missing after install: $(flat "$still")" >&2
        exit 1
    fi
}

# ---- npm packages: playwright-core (drives Debian's chromium in the browser suite), otplib
# (TOTP cross-check), @simplewebauthn/server (the peer of bench/webauthn), openid-client (the
# test RP of tests/integ/oidc_rp) and oidc-provider (stand-in OP and the peer of bench/oidc, in
# tests/integ/oidc_op). Each directory pins
# its versions in package-lock.json; `npm ci` installs exactly those, and runs again only when
# the lock file is newer than the installed tree.
NPM_DIRS="tests/browser tests/integ/totp bench/webauthn/node tests/integ/oidc_rp tests/integ/oidc_op"

install_npm_packages() {
    if ! command -v npm >/dev/null 2>&1; then
        apt_install npm
    fi
    for dir in $NPM_DIRS; do
        [ -f "$dir/package-lock.json" ] || continue
        stamp="$dir/node_modules/.package-lock.json"
        if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ]; then
            log "npm packages in $dir up to date"
            continue
        fi
        log "npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    done
}

# The quickstart's OpenID Connect demo app (openid-client), started by `make run`.
NPM_DIRS="$NPM_DIRS examples/oidc_demo"

install_debian_packages
install_npm_packages
log "ok"
