#!/usr/bin/env node
// Writes attack tokens, and tokens from an independent ES256 signer, into OUT_DIR:
//   node forge.mjs JWKS_FILE GOOD_TOKEN OUT_DIR [COUNT]
// Attacks reuse GOOD_TOKEN's claims (still within their lifetime) so only the forgery is wrong:
//   none.jwt            alg "none", empty signature
//   hs256-pem.jwt       HS256 keyed with our public key as SPKI PEM (algorithm confusion)
//   hs256-jwks.jwt      HS256 keyed with the JWKS document text
//   hs256-jwk.jwt       HS256 keyed with our public JWK as JSON
//   attacker-kid.jwt    ES256 by a fresh attacker P-256 key, carrying our kid (key substitution)
//   embedded-jwk.jwt    the same with the attacker's public key in a "jwk" header (CVE-2018-0114)
//   attacker-own.jwt    ES256 by the attacker key with its own kid (unknown kid)
// And for the other direction (our verifier against jose's signer):
//   jose-jwks.json      a fresh key pair's public JWKS (kid = RFC 7638 thumbprint)
//   jose-good.txt       COUNT tokens (default 2000) signed by jose with the same claims
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';

const [jwksFile, good, outDir, countArg] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node forge.mjs JWKS_FILE GOOD_TOKEN OUT_DIR [COUNT]');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const jwksText = readFileSync(jwksFile, 'utf8');
const ours = JSON.parse(jwksText).keys[0];
const claims = jose.decodeJwt(good);
const enc = (obj) => jose.base64url.encode(JSON.stringify(obj));
const write = (name, data) => writeFileSync(join(outDir, name), data + '\n');

write('none.jwt', `${enc({ alg: 'none', typ: 'JWT', kid: ours.kid })}.${enc(claims)}.`);

const ourKey = await jose.importJWK({ ...ours, alg: 'ES256' }, 'ES256');
const pem = await jose.exportSPKI(ourKey);
const hs = async (secret) => new jose.SignJWT(claims)
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: ours.kid })
  .sign(new TextEncoder().encode(secret));
write('hs256-pem.jwt', await hs(pem));
write('hs256-jwks.jwt', await hs(jwksText.trim()));
write('hs256-jwk.jwt', await hs(JSON.stringify(ours)));

const attacker = await jose.generateKeyPair('ES256', { extractable: true });
const attackerJwk = await jose.exportJWK(attacker.publicKey);
const es = (header) => new jose.SignJWT(claims).setProtectedHeader(header).sign(attacker.privateKey);
write('attacker-kid.jwt', await es({ alg: 'ES256', typ: 'JWT', kid: ours.kid }));
write('embedded-jwk.jwt', await es({ alg: 'ES256', typ: 'JWT', kid: ours.kid, jwk: attackerJwk }));
write('attacker-own.jwt',
      await es({ alg: 'ES256', typ: 'JWT', kid: await jose.calculateJwkThumbprint(attackerJwk) }));

// Independent signer: our verifier must accept every one, including short R or S (1 in 128).
const signer = await jose.generateKeyPair('ES256', { extractable: true });
const pub = await jose.exportJWK(signer.publicKey);
pub.kid = await jose.calculateJwkThumbprint(pub);
pub.use = 'sig';
pub.alg = 'ES256';
write('jose-jwks.json', JSON.stringify({ keys: [pub] }));
const count = Number(countArg ?? 2000);
const lines = [];
let shortR = 0, shortS = 0;
for (let i = 0; i < count; i++) {
  const t = await new jose.SignJWT({ ...claims, jti: `jose-${i}` })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: pub.kid })
    .sign(signer.privateKey);
  const sig = jose.base64url.decode(t.split('.')[2]);
  if (sig[0] === 0) shortR++;
  if (sig[32] === 0) shortS++;
  lines.push(t);
}
writeFileSync(join(outDir, 'jose-good.txt'), lines.join('\n') + '\n');
console.error(`forge: ${count} jose tokens (${shortR} short R, ${shortS} short S), 7 attacks`);
