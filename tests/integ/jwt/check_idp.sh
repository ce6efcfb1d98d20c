#!/bin/sh
# Cross-checks the identity provider's JOSE (src/identity/jws.h, keys.h with RSA) with jose (npm):
# our JWKS kids (RSA and EC) are RFC 7638 thumbprints; ID-token and logout-token shaped JWS we
# sign in RS256 and ES256 verify in jose, also after a key rotation, and only under their own
# alg; our at_hash equals one computed with node:crypto; private_key_jwt assertions signed by
# jose (RS256, PS256, ES256) pass our verifier and the attacks (alg none, HS256 keyed with the
# client's public key, alg not fitting the key, foreign keys, audience, times, jti) fail with the
# expected status.
#   usage: tests/integ/jwt/check_idp.sh BUILD_DIR      (needs BUILD_DIR/tests/unit/jwt_tool, node)
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tool=$build/tests/unit/jwt_tool
if [ ! -x "$tool" ]; then
    echo "idp: $tool not built" >&2
    exit 1
fi
if ! command -v node >/dev/null 2>&1; then
    echo "idp: node not installed; skipped"
    exit 0
fi
if [ ! -f "$here/node_modules/jose/package.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-idp-jose.XXXXXX")
trap 'rm -rf "$work"' EXIT
keys=$work/idp-keys
iss=https://sso.example.test:8443
tep=$iss/.ztgate/oidc/token
client=grafana
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
expect() {
    _name=$1 _want=$2
    shift 2
    if "$@" >"$work/out" 2>&1; then _got=0; else _got=1; fi
    if [ "$_got" = "$_want" ]; then ok "$_name"; else bad "$_name"; fi
}
idp() { node "$here/idp.mjs" "$@"; }

"$tool" idp-jwks "$keys" >"$work/jwks1.json"
expect "JWKS has an EC and an RSA key" 0 grep -q '"kty":"RSA".*"alg":"RS256"' "$work/jwks1.json"
expect "kids are RFC 7638 thumbprints (jose, RSA and EC)" 0 \
    node "$here/verify.mjs" --check-kids "$work/jwks1.json"

now=$(date +%s)
at=SlAV32hkKG-access-token-$now
at_hash=$("$tool" at-hash RS256 "$at")
expect "at_hash equals node:crypto's" 0 test "$at_hash" = "$(idp at-hash "$at")"
payload=$(printf '{"iss":"%s","sub":"u-42","aud":"%s","exp":%d,"iat":%d,"auth_time":%d,"nonce":"n-0S6_WzA2Mj","acr":"urn:ztgate:acr:mfa","amr":["pwd","otp","mfa"],"at_hash":"%s","email":"alice@example.test","name":"アリス"}' \
    "$iss" "$client" $((now + 600)) "$now" "$now" "$at_hash")
for alg in RS256 ES256; do
    tok=$(printf '%s' "$payload" | "$tool" idp-sign "$keys" $alg JWT)
    echo "$tok" >"$work/id-$alg.jwt"
    expect "jose verifies our $alg ID token" 0 idp verify "$work/jwks1.json" "$iss" "$client" $alg JWT "$tok"
    grep -q '"nonce":"n-0S6_WzA2Mj"' "$work/out" && grep -q 'アリス' "$work/out" &&
        ok "jose sees our $alg claims unchanged" || bad "jose sees our $alg claims unchanged"
    other=ES256
    [ $alg = ES256 ] && other=RS256
    expect "jose refuses our $alg token when only $other is allowed" 1 \
        idp verify "$work/jwks1.json" "$iss" "$client" $other JWT "$tok"
    expect "jose refuses our $alg token for another audience" 1 \
        idp verify "$work/jwks1.json" "$iss" gitlab $alg JWT "$tok"
done
logout=$(printf '{"iss":"%s","sub":"u-42","aud":"%s","iat":%d,"exp":%d,"jti":"l-1","sid":"s-1","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}' \
    "$iss" "$client" "$now" $((now + 120)) | "$tool" idp-sign "$keys" RS256 logout+jwt)
expect "jose verifies our logout token (typ logout+jwt)" 0 \
    idp verify "$work/jwks1.json" "$iss" "$client" RS256 logout+jwt "$logout"

# Rotation: the previous keys stay published, new tokens use the new keys.
"$tool" idp-rotate "$keys" >/dev/null
"$tool" idp-jwks "$keys" >"$work/jwks2.json"
expect "rotation publishes 4 keys" 0 test "$(grep -o '"kid"' "$work/jwks2.json" | wc -l)" -eq 4
for alg in RS256 ES256; do
    expect "jose: $alg token of the previous key after rotation" 0 \
        idp verify "$work/jwks2.json" "$iss" "$client" $alg JWT "$(cat "$work/id-$alg.jwt")"
    tok=$(printf '%s' "$payload" | "$tool" idp-sign "$keys" $alg JWT)
    expect "jose: $alg token of the new key" 0 idp verify "$work/jwks2.json" "$iss" "$client" $alg JWT "$tok"
    expect "jose: new $alg key not in the old JWKS" 1 idp verify "$work/jwks1.json" "$iss" "$client" $alg JWT "$tok"
done
expect "kids after rotation" 0 node "$here/verify.mjs" --check-kids "$work/jwks2.json"

# private_key_jwt: jose signs as the client, we verify.
idp assertions "$work/client" "$iss" "$tep" "$client" 2>"$work/assertions.log"
cat "$work/assertions.log"
while read -r name want tok; do
    echo "$tok" | "$tool" client-verify "$work/client/client-jwks.json" "$client" "$iss" "$tep" \
        >"$work/out" 2>&1 || true
    got=$(head -n 1 "$work/out" | sed 's/[: ].*//')
    if [ "$got" = "$want" ]; then ok "assertion $name: $want"; else bad "assertion $name: want $want, got $got"; fi
done <"$work/client/cases.txt"
# A client JWKS without kids: the key that verified is reported by its RFC 7638 thumbprint, the
# same one jose computed for it.
kid=$(node -e 'const fs=require("fs"),j=JSON.parse(fs.readFileSync(process.argv[1]));
for (const k of j.keys) delete k.kid; fs.writeFileSync(process.argv[2], JSON.stringify(j));
console.log(JSON.parse(fs.readFileSync(process.argv[1])).keys[0].kid)' \
    "$work/client/client-jwks.json" "$work/client/nokid-jwks.json")
grep '^rs256-no-kid ' "$work/client/cases.txt" | cut -d' ' -f3 |
    "$tool" client-verify "$work/client/nokid-jwks.json" "$client" "$iss" "$tep" >"$work/nokid" 2>&1 || true
expect "kid-less assertion reports the key's thumbprint" 0 grep -q "kid=$kid" "$work/nokid"

echo "idp: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
