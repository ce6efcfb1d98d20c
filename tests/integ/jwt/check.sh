#!/bin/sh
# Cross-checks ztgate's identity assertions with jose (npm), an independent JOSE implementation:
# our tokens and JWKS verify in jose (single, 1000 in a row, after rotation), our kids are RFC 7638
# thumbprints, expired/early/wrong-audience tokens fail in both, forged tokens (alg none, HS256
# keyed with our public key, attacker key with our kid, embedded jwk) fail in both, and jose's
# own ES256 tokens pass our verifier.
#   usage: tests/integ/jwt/check.sh BUILD_DIR      (needs BUILD_DIR/tests/unit/jwt_tool, node)
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tool=$build/tests/unit/jwt_tool
if [ ! -x "$tool" ]; then
    echo "jwt: $tool not built" >&2
    exit 1
fi
if ! command -v node >/dev/null 2>&1; then
    echo "jwt: node not installed; skipped"
    exit 0
fi
if [ ! -f "$here/node_modules/jose/package.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-jwt.XXXXXX")
trap 'rm -rf "$work"' EXIT
keys=$work/keys
iss=https://gw.example.test
aud=wiki
passed=0
failed=0

ok() {
    passed=$((passed + 1))
    echo "ok   $1"
}
bad() {
    failed=$((failed + 1))
    echo "FAIL $1"
    [ -f "$work/out" ] && sed 's/^/     | /' "$work/out" | head -n 5
    return 0
}
# expect NAME 0|1 CMD...: the command's exit status must be 0 (accept) or non-zero (reject).
expect() {
    _name=$1 _want=$2
    shift 2
    if "$@" >"$work/out" 2>&1; then _got=0; else _got=1; fi
    if [ "$_got" = "$_want" ]; then ok "$_name"; else bad "$_name"; fi
}
# expect_out NAME PATTERN CMD...: output must contain PATTERN (fixed string).
expect_out() {
    _name=$1 _pat=$2
    shift 2
    "$@" >"$work/out" 2>&1 || true
    if grep -qF -- "$_pat" "$work/out"; then ok "$_name"; else bad "$_name"; fi
}
jose() { node "$here/verify.mjs" "$@"; }

"$tool" jwks "$keys" >"$work/jwks1.json"
expect "kid is the RFC 7638 thumbprint (jose)" 0 jose --check-kids "$work/jwks1.json"

tok=$("$tool" sign "$keys" "$iss" "$aud" alice --email 'a"lice@example.test' --group staff \
    --group 日本語 --device dev-1 --trust managed)
expect_out "jose accepts our token" '"sub":"alice","email":"a\"lice@example.test","groups":["staff","日本語"],"device":"dev-1","trust":"managed"' \
    jose "$work/jwks1.json" "$iss" "$aud" "$tok"
expect "our verifier accepts our token" 0 "$tool" verify "$work/jwks1.json" "$iss" "$aud" "$tok"

"$tool" sign "$keys" "$iss" "$aud" bob --group g --count 1000 >"$work/many.txt"
expect "jose accepts 1000 of our tokens (short R/S included)" 0 \
    sh -c "node '$here/verify.mjs' '$work/jwks1.json' '$iss' '$aud' <'$work/many.txt'"

expect_out "jose: wrong audience" ERR_JWT_CLAIM_VALIDATION_FAILED jose "$work/jwks1.json" "$iss" payroll "$tok"
expect_out "ours: wrong audience" wrong_aud "$tool" verify "$work/jwks1.json" "$iss" payroll "$tok"
expect_out "jose: wrong issuer" ERR_JWT_CLAIM_VALIDATION_FAILED jose "$work/jwks1.json" https://evil "$aud" "$tok"
old=$("$tool" sign "$keys" "$iss" "$aud" alice --iat-offset -400 --ttl 300)
expect_out "jose: expired" ERR_JWT_EXPIRED jose "$work/jwks1.json" "$iss" "$aud" "$old"
expect_out "ours: expired" expired "$tool" verify "$work/jwks1.json" "$iss" "$aud" "$old"
early=$("$tool" sign "$keys" "$iss" "$aud" alice --nbf-offset 120)
expect_out "jose: not yet valid" ERR_JWT_CLAIM_VALIDATION_FAILED jose "$work/jwks1.json" "$iss" "$aud" "$early"
expect_out "ours: not yet valid" not_yet_valid "$tool" verify "$work/jwks1.json" "$iss" "$aud" "$early"

# Rotation: the previous key stays published, so tokens it signed keep verifying.
"$tool" rotate "$keys" >/dev/null
"$tool" jwks "$keys" >"$work/jwks2.json"
tok2=$("$tool" sign "$keys" "$iss" "$aud" carol)
expect "jose: token of the previous key after rotation" 0 jose "$work/jwks2.json" "$iss" "$aud" "$tok"
expect "jose: token of the new key" 0 jose "$work/jwks2.json" "$iss" "$aud" "$tok2"
expect "jose: kids after rotation" 0 jose --check-kids "$work/jwks2.json"
expect "second rotation within 10 min refused" 1 "$tool" rotate "$keys"
"$tool" rotate "$keys" force >/dev/null
"$tool" jwks "$keys" >"$work/jwks3.json"
expect_out "jose: oldest key dropped after forced rotation" ERR_JWKS_NO_MATCHING_KEY \
    jose "$work/jwks3.json" "$iss" "$aud" "$tok"
expect_out "ours: oldest key dropped" unknown_kid "$tool" verify "$work/jwks3.json" "$iss" "$aud" "$tok"
expect "jose: previous key still there" 0 jose "$work/jwks3.json" "$iss" "$aud" "$tok2"

# Forgeries against the current key set.
cur=$("$tool" sign "$keys" "$iss" "$aud" dave)
node "$here/forge.mjs" "$work/jwks3.json" "$cur" "$work/forged" 2000 2>"$work/forge.log"
cat "$work/forge.log"
for attack in none:bad_alg hs256-pem:bad_alg hs256-jwks:bad_alg hs256-jwk:bad_alg \
    attacker-kid:bad_signature embedded-jwk:bad_signature attacker-own:unknown_kid; do
    name=${attack%%:*}
    want=${attack#*:}
    t=$(cat "$work/forged/$name.jwt")
    expect "jose rejects $name" 1 jose "$work/jwks3.json" "$iss" "$aud" "$t"
    echo "     | jose: $(head -n 1 "$work/out")"
    expect_out "ours rejects $name ($want)" "$want:" "$tool" verify "$work/jwks3.json" "$iss" "$aud" "$t"
done
expect "ours accepts 2000 tokens signed by jose" 0 \
    sh -c "'$tool' verify '$work/forged/jose-jwks.json' '$iss' '$aud' <'$work/forged/jose-good.txt'"

echo "jwt: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
