// The peer of bench/webauthn/webauthn_bench.c: verifies the same assertion set with
// @simplewebauthn/server (version pinned in package.json / package-lock.json).
//   node bench.mjs FILE [SECONDS]
// First every assertion once: the good ones must verify, the tampered ones must be refused (so
// the timing cannot be measuring a refusal path). Then, per alg, whole passes over the good
// assertions, one verifyAuthenticationResponse awaited at a time (one verification in flight,
// so at most one core's worth of work at any moment), until SECONDS have gone by.
import { readFileSync } from 'node:fs';
import { verifyAuthenticationResponse } from '@simplewebauthn/server';

const [file, secondsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench.mjs FILE [SECONDS]');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 3);
const set = JSON.parse(readFileSync(file, 'utf8'));
const ALGS = ['ES256', 'EdDSA', 'RS256'];

// What an endpoint has before it verifies: the posted AuthenticationResponseJSON, the challenge
// it issued (base64url) and the stored credential (COSE public key bytes, counter).
const cases = set.assertions.map((a) => ({
  alg: a.alg,
  tampered: a.tampered,
  options: {
    response: {
      id: a.credentialId,
      rawId: a.credentialId,
      type: 'public-key',
      response: {
        clientDataJSON: a.clientDataJSON,
        authenticatorData: a.authenticatorData,
        signature: a.signature,
        userHandle: a.userHandle,
      },
      clientExtensionResults: {},
    },
    expectedChallenge: a.challenge,
    expectedOrigin: set.origin,
    expectedRPID: set.rpId,
    credential: {
      id: a.credentialId,
      publicKey: new Uint8Array(Buffer.from(a.publicKey, 'base64url')),
      counter: a.counter,
    },
    requireUserVerification: true,
  },
}));

async function verify(c) {
  try {
    const r = await verifyAuthenticationResponse(c.options);
    return r.verified ? 'ok' : 'refused';
  } catch (e) {
    return `error: ${e.message}`;
  }
}

// A tampered assertion must come back as verified: false (a bad signature), not as an error
// about something else.
let ok = true;
let reported = 0;
for (const alg of ALGS) {
  let accepted = 0;
  let refused = 0;
  for (const [i, c] of cases.entries()) {
    if (c.alg !== alg) continue;
    const got = await verify(c);
    if (got === (c.tampered ? 'refused' : 'ok')) {
      if (c.tampered) refused++;
      else accepted++;
    } else {
      ok = false;
      if (reported++ < 5)
        console.error(`simplewebauthn: assertion ${i} (${alg}${c.tampered ? ', tampered' : ''}): ${got}`);
    }
  }
  console.log(`CHECK verifier=simplewebauthn alg=${alg} accepted=${accepted} tampered_refused=${refused}`);
}
if (!ok) process.exit(1);

for (const alg of ALGS) {
  const good = cases.filter((c) => c.alg === alg && !c.tampered);
  let count = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    for (const c of good) {
      const r = await verifyAuthenticationResponse(c.options);
      if (!r.verified) throw new Error('a good assertion failed during the timed loop');
      count++;
    }
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    `RESULT verifier=simplewebauthn alg=${alg} verifies=${count} seconds=${elapsed.toFixed(3)} ` +
      `rate=${(count / elapsed).toFixed(1)} cpu=${(cpuSeconds / elapsed).toFixed(2)} ` +
      `cpu_rate=${(cpuSeconds > 0 ? count / cpuSeconds : 0).toFixed(1)}`,
  );
}
