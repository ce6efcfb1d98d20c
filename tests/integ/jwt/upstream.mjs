#!/usr/bin/env node
// An app behind ztgate that trusts nothing but a verified X-ZT-Assertion, written the way app
// developers are told to (docs/ASSERTION.md): jose, ES256 only, issuer and audience pinned, keys
// from the gateway's JWKS.
//   node upstream.mjs --jwks URL [--jwks-host HOST] --issuer ISS --audience AUD [--port N]
// Prints "PORT <n>" once listening on 127.0.0.1. On every request it fetches the JWKS again
// (GET URL with Host: HOST, so a gateway that routes by Host answers), verifies the request's
// X-ZT-Assertion and answers
//   200 {"payload": {...verified claims}, "header": {...protected header}, "identity": {X-ZT-*},
//        "token": "<the assertion as received>"}
//   401 {"error": "<jose error code>", "message": "...", "token": ...}  missing or not verified
//   502 {"error": "jwks_fetch", "message": "..."}          the JWKS could not be fetched
// SIGTERM/SIGINT close the server and exit 0.
import http from 'node:http';
import * as jose from 'jose';

function usage() {
  console.error('usage: node upstream.mjs --jwks URL [--jwks-host HOST] --issuer ISS ' +
                '--audience AUD [--port N]');
  process.exit(2);
}

const opts = { port: '0' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i];
  const value = argv[i + 1];
  if (!key.startsWith('--') || value === undefined) usage();
  opts[key.slice(2)] = value;
}
if (!opts.jwks || !opts.issuer || !opts.audience) usage();
const jwksUrl = new URL(opts.jwks);

// node:http rather than fetch(): fetch may not set Host, and the gateway serves the JWKS on the
// hosts it knows.
function fetchJwks() {
  return new Promise((resolve, reject) => {
    const headers = { Accept: 'application/json' };
    if (opts['jwks-host']) headers.Host = opts['jwks-host'];
    const req = http.request({
      hostname: jwksUrl.hostname,
      port: jwksUrl.port,
      path: jwksUrl.pathname + jwksUrl.search,
      method: 'GET',
      headers,
      timeout: 5000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          reject(new Error(`JWKS answered ${res.statusCode}: ${text.slice(0, 200)}`));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('JWKS request timed out')));
    req.on('error', reject);
    req.end();
  });
}

function answer(res, status, obj) {
  const body = JSON.stringify(obj) + '\n';
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

const server = http.createServer(async (req, res) => {
  req.resume(); // bodies are not used; drain them
  const identity = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-zt-') && name !== 'x-zt-assertion') identity[name] = value;
  }
  const token = req.headers['x-zt-assertion'];
  if (typeof token !== 'string' || token.length === 0) {
    answer(res, 401, { error: 'missing', message: 'no X-ZT-Assertion', identity });
    return;
  }
  let jwks;
  try {
    jwks = jose.createLocalJWKSet(await fetchJwks());
  } catch (err) {
    answer(res, 502, { error: 'jwks_fetch', message: String(err.message ?? err) });
    return;
  }
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      issuer: opts.issuer,
      audience: opts.audience,
      algorithms: ['ES256'], // never let the token choose the algorithm
      typ: 'JWT',
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
    });
    answer(res, 200, { payload, header: protectedHeader, identity, token });
  } catch (err) {
    answer(res, 401, {
      error: err.code ?? err.name, message: String(err.message), identity, token,
    });
  }
});

server.keepAliveTimeout = 2000;
server.listen(Number(opts.port), '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
