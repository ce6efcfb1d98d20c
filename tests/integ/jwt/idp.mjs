#!/usr/bin/env node
// The identity provider's JOSE against jose, an implementation independent of ours:
//   node idp.mjs verify JWKS_FILE ISSUER AUDIENCE ALG TYP TOKEN
//       verifies a token we signed (ID token or logout token shape) allowing only ALG; prints
//       the payload; exit 1 (code: message on stderr) when jose rejects it
//   node idp.mjs at-hash ACCESS_TOKEN
//       OIDC at_hash computed here with node:crypto (left half of SHA-256, base64url)
//   node idp.mjs assertions OUT_DIR ISSUER TOKEN_ENDPOINT CLIENT_ID
//       a client's key pairs (RSA-2048 and P-256) made by jose: OUT_DIR/client-jwks.json (public,
//       kid = RFC 7638 thumbprint) and OUT_DIR/cases.txt, one "NAME EXPECTED TOKEN" per line:
//       private_key_jwt assertions signed by jose (RS256, PS256, ES256, no kid, aud array) that
//       our verifier must accept, and the attacks it must refuse with the status EXPECTED
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';

const [cmd, ...args] = process.argv.slice(2);

function usage() {
  console.error('usage: node idp.mjs verify|at-hash|assertions ... (see the header)');
  process.exit(2);
}

async function verify([jwksFile, issuer, audience, alg, typ, token]) {
  if (token === undefined) usage();
  const JWKS = jose.createLocalJWKSet(JSON.parse(readFileSync(jwksFile, 'utf8')));
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(token, JWKS, {
      issuer, audience, typ, algorithms: [alg], requiredClaims: ['sub', 'iat', 'exp'],
    });
    console.log(JSON.stringify({ header: protectedHeader, payload }));
  } catch (err) {
    console.error(`${err.code ?? err.name}: ${err.message}`);
    process.exit(1);
  }
}

function atHash([token]) {
  if (token === undefined) usage();
  const h = createHash('sha256').update(token, 'ascii').digest();
  console.log(jose.base64url.encode(h.subarray(0, 16)));
}

async function keyPair(alg, opts = {}) {
  const kp = await jose.generateKeyPair(alg, { extractable: true, ...opts });
  const pub = await jose.exportJWK(kp.publicKey);
  pub.kid = await jose.calculateJwkThumbprint(pub);
  return { ...kp, pub };
}

async function assertions([outDir, issuer, tokenEndpoint, clientId]) {
  if (clientId === undefined) usage();
  mkdirSync(outDir, { recursive: true });
  const rsa = await keyPair('RS256', { modulusLength: 2048 });
  const ec = await keyPair('ES256');
  const attacker = await keyPair('ES256');
  const attackerRsa = await keyPair('RS256', { modulusLength: 2048 });
  writeFileSync(join(outDir, 'client-jwks.json'),
                JSON.stringify({ keys: [{ ...rsa.pub, use: 'sig' }, ec.pub] }));

  let n = 0;
  const claims = (over = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const c = { iss: clientId, sub: clientId, aud: tokenEndpoint, iat: now, exp: now + 60,
                jti: `jti-${n++}-${Math.random().toString(36).slice(2)}`, ...over };
    for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
    return c;
  };
  // WebCrypto keys are bound to one algorithm: the same RSA key is imported again for PS256/RS384.
  const asAlg = async (key, alg) => {
    if (key.privateKey.algorithm.name === 'ECDSA' || alg === 'RS256') return key.privateKey;
    return jose.importJWK(await jose.exportJWK(key.privateKey), alg);
  };
  const sign = async (key, header, c = claims()) => new jose.SignJWT(c)
    .setProtectedHeader(header).sign(await asAlg(key, header.alg));
  const enc = (o) => jose.base64url.encode(JSON.stringify(o));
  const cases = [];
  const add = (name, expected, token) => cases.push(`${name} ${expected} ${token}`);

  // Accepted: what openid-client and mod_auth_openidc send.
  add('rs256', 'ok', await sign(rsa, { alg: 'RS256', kid: rsa.pub.kid }));
  add('ps256', 'ok', await sign(rsa, { alg: 'PS256', kid: rsa.pub.kid, typ: 'JWT' }));
  add('es256', 'ok', await sign(ec, { alg: 'ES256', kid: ec.pub.kid }));
  add('rs256-no-kid', 'ok', await sign(rsa, { alg: 'RS256' }));
  add('aud-array', 'ok', await sign(rsa, { alg: 'RS256', kid: rsa.pub.kid },
                                    claims({ aud: [issuer, tokenEndpoint] })));
  add('aud-issuer', 'ok', await sign(ec, { alg: 'ES256' }, claims({ aud: issuer })));

  // Refused: algorithm attacks.
  const good = claims();
  add('alg-none', 'bad_alg', `${enc({ alg: 'none' })}.${enc(good)}.`);
  const rsaPem = await jose.exportSPKI(rsa.publicKey);
  for (const [name, secret] of [['hs256-pem', rsaPem], ['hs256-jwk', JSON.stringify(rsa.pub)]]) {
    add(name, 'bad_alg', await new jose.SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: rsa.pub.kid })
      .sign(new TextEncoder().encode(secret)));
  }
  // An EC signature under an RSA alg naming the EC key, and the reverse.
  const es = (await sign(ec, { alg: 'ES256', kid: ec.pub.kid })).split('.')[2];
  add('rs256-on-ec-key', 'bad_alg', `${enc({ alg: 'RS256', kid: ec.pub.kid })}.${enc(good)}.${es}`);
  const rs = (await sign(rsa, { alg: 'RS256', kid: rsa.pub.kid })).split('.')[2];
  add('es256-on-rsa-key', 'bad_alg', `${enc({ alg: 'ES256', kid: rsa.pub.kid })}.${enc(good)}.${rs}`);
  add('attacker-with-client-kid', 'bad_signature',
      await sign(attacker, { alg: 'ES256', kid: ec.pub.kid }));
  add('embedded-jwk', 'bad_signature',
      await sign(attacker, { alg: 'ES256', kid: ec.pub.kid, jwk: attacker.pub }));
  add('attacker-no-kid', 'bad_signature', await sign(attackerRsa, { alg: 'RS256' }));
  add('attacker-own-kid', 'unknown_kid', await sign(attacker, { alg: 'ES256', kid: attacker.pub.kid }));
  add('rs384', 'bad_alg', await sign(rsa, { alg: 'RS384', kid: rsa.pub.kid }));

  // Refused: claims.
  const h = { alg: 'RS256', kid: rsa.pub.kid };
  const now = Math.floor(Date.now() / 1000);
  add('wrong-aud', 'wrong_aud', await sign(rsa, h, claims({ aud: 'https://other.example' })));
  add('aud-array-extra', 'wrong_aud',
      await sign(rsa, h, claims({ aud: [tokenEndpoint, 'https://other.example'] })));
  add('wrong-iss', 'wrong_iss', await sign(rsa, h, claims({ iss: 'someone-else' })));
  add('wrong-sub', 'wrong_iss', await sign(rsa, h, claims({ sub: 'alice' })));
  add('expired', 'expired', await sign(rsa, h, claims({ iat: now - 300, exp: now - 120 })));
  add('no-exp', 'bad_claims', await sign(rsa, h, claims({ exp: undefined })));
  add('no-jti', 'bad_claims', await sign(rsa, h, claims({ jti: undefined })));
  add('too-long-lived', 'bad_claims', await sign(rsa, h, claims({ exp: now + 86400 })));
  add('future-nbf', 'not_yet_valid', await sign(rsa, h, claims({ nbf: now + 120, exp: now + 180 })));
  add('logout-typ', 'bad_header', await sign(rsa, { ...h, typ: 'logout+jwt' }));

  writeFileSync(join(outDir, 'cases.txt'), cases.join('\n') + '\n');
  console.error(`idp: ${cases.length} client assertion cases`);
}

if (cmd === 'verify') await verify(args);
else if (cmd === 'at-hash') atHash(args);
else if (cmd === 'assertions') await assertions(args);
else usage();
