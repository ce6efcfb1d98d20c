#!/usr/bin/env node
// Verifies ztgate assertions with jose, an implementation independent of ours.
//   node verify.mjs JWKS_FILE ISSUER AUDIENCE [TOKEN]   token from argv, or one per line on stdin;
//                                                      prints each payload as JSON; exit 1 when
//                                                      any token is rejected (code: message on stderr)
//   node verify.mjs --check-kids JWKS_FILE             every kid must be the RFC 7638 thumbprint
// This is also the pattern app developers should copy (see docs/ASSERTION.md).
import { readFileSync } from 'node:fs';
import * as jose from 'jose';

function usage() {
  console.error('usage: node verify.mjs JWKS_FILE ISSUER AUDIENCE [TOKEN]\n' +
                '       node verify.mjs --check-kids JWKS_FILE');
  process.exit(2);
}

const args = process.argv.slice(2);

if (args[0] === '--check-kids') {
  if (args.length !== 2) usage();
  const { keys } = JSON.parse(readFileSync(args[1], 'utf8'));
  let bad = 0;
  for (const jwk of keys) {
    const tp = await jose.calculateJwkThumbprint(jwk, 'sha256');
    const same = tp === jwk.kid;
    console.log(`${same ? 'ok' : 'MISMATCH'} kid=${jwk.kid} thumbprint=${tp}`);
    if (!same) bad++;
  }
  process.exit(bad === 0 && keys.length > 0 ? 0 : 1);
}

if (args.length < 3 || args.length > 4) usage();
const [jwksFile, issuer, audience, tokenArg] = args;
const JWKS = jose.createLocalJWKSet(JSON.parse(readFileSync(jwksFile, 'utf8')));
const tokens = tokenArg !== undefined
  ? [tokenArg]
  : readFileSync(0, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
if (tokens.length === 0) usage();

let failed = 0;
for (const token of tokens) {
  try {
    const { payload } = await jose.jwtVerify(token, JWKS, {
      issuer,
      audience,
      algorithms: ['ES256'], // never let the token choose the algorithm
      typ: 'JWT',
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
    });
    console.log(JSON.stringify(payload));
  } catch (err) {
    failed++;
    console.error(`${err.code ?? err.name}: ${err.message}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
