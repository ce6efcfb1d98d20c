// Cedar side of the policy benchmark: evaluates the requests policy_bench wrote against the
// Cedar translation of each generated policy set with @cedar-policy/cedar-wasm.
//
//   node bench.cjs DATADIR SIZE...
//
// For each size: preparse policies-SIZE.cedar once (preparsePolicySet), then
//   1. check: statefulIsAuthorized on every request; the decision must equal ztgate's
//      (decisions-SIZE.txt: A = allow, D = challenge or block). Prints the agreement count and,
//      when they differ, a few examples; any difference or evaluation error marks the row invalid;
//   2. timing: passes over the requests with statefulIsAuthorized (policies parsed once, the
//      request and its entity slice converted per call, the way a gateway would call it), median
//      of three rounds; plus a short run of the stateless isAuthorized, which parses the policy
//      text on every call.
// Appends one line per size to DATADIR/cedar.tsv.
'use strict';

const fs = require('fs');
const path = require('path');
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const dir = process.argv[2];
const sizes = process.argv.slice(3).map(Number);
const seconds = Number(process.env.POLICY_BENCH_SECONDS || '1.5');
if (!dir || sizes.length === 0 || !(seconds > 0)) {
  console.error('usage: node bench.cjs DATADIR SIZE...');
  process.exit(2);
}

const requests = JSON.parse(fs.readFileSync(path.join(dir, 'requests.json'), 'utf8'));
const action = { type: 'Action', id: 'access' };
const tsvPath = path.join(dir, 'cedar.tsv');
fs.writeFileSync(tsvPath,
  'policies\tagree\ttotal\terrors\tvalid\tdecisions_per_s\tstateless_decisions_per_s\n');

function call(req, psetId) {
  return {
    principal: req.principal,
    action,
    resource: req.resource,
    context: req.context,
    entities: req.entities,
    preparsedPolicySetId: psetId,
  };
}

function now() {
  return Number(process.hrtime.bigint()) / 1e9;
}

console.log(`cedar-wasm ${cedar.getCedarVersion()} (Node ${process.version}): ` +
  `${requests.length} requests, statefulIsAuthorized with a preparsed policy set`);

for (const n of sizes) {
  const text = fs.readFileSync(path.join(dir, `policies-${n}.cedar`), 'utf8');
  const expect = fs.readFileSync(path.join(dir, `decisions-${n}.txt`), 'utf8').trim();
  const psetId = `ztgate-${n}`;
  let t0 = now();
  const parsed = cedar.preparsePolicySet(psetId, { staticPolicies: text });
  const parseMs = (now() - t0) * 1e3;
  if (parsed.type !== 'success') {
    console.error(`  ${n} policies: Cedar refused the policy set:`,
      JSON.stringify(parsed.errors.slice(0, 3), null, 1));
    fs.appendFileSync(tsvPath, `${n}\t0\t${requests.length}\t0\tno\t-\t-\n`);
    continue;
  }
  const calls = requests.map((r) => call(r, psetId));
  // Cedar names static policies policy0, policy1, ... in file order; map back to the @id
  const ids = [...text.matchAll(/@id\("([^"]+)"\)/g)].map((m) => m[1]);
  const named = (reason) => reason.map((r) => ids[Number(r.replace('policy', ''))] || r);

  // 1. agreement
  let agree = 0, errors = 0;
  const bad = [];
  for (let i = 0; i < calls.length; i++) {
    const ans = cedar.statefulIsAuthorized(calls[i]);
    if (ans.type !== 'success') {
      errors++;
      if (bad.length < 5) bad.push({ i, failure: ans.errors });
      continue;
    }
    const got = ans.response.decision === 'allow' ? 'A' : 'D';
    errors += ans.response.diagnostics.errors.length;
    if (ans.response.diagnostics.errors.length > 0 && bad.length < 5)
      bad.push({ i, evaluation_errors: ans.response.diagnostics.errors });
    if (got === expect[i]) {
      agree++;
    } else if (bad.length < 5) {
      bad.push({
        i, ztgate: expect[i] === 'A' ? 'allow' : 'deny', cedar: ans.response.decision,
        reason: named(ans.response.diagnostics.reason), principal: requests[i].principal.id,
        resource: requests[i].resource.id, context: requests[i].context,
      });
    }
  }
  const valid = agree === calls.length && errors === 0 && expect.length === calls.length;
  console.log(`  ${String(n).padStart(5)} policies: parse ${parseMs.toFixed(1)} ms; ` +
    `agreement ${agree}/${calls.length}, evaluation errors ${errors}` +
    (valid ? '' : '  <-- DIFFERENT: ratio invalid'));
  for (const b of bad)
    console.log('        ' + JSON.stringify(b));

  // 2. timing (statefulIsAuthorized), median of three rounds
  const rates = [];
  let sink = 0;
  for (let round = 0; round < 3; round++) {
    let done = 0;
    t0 = now();
    let t = t0;
    do {
      for (let i = 0; i < calls.length; i++) {
        const ans = cedar.statefulIsAuthorized(calls[i]);
        sink += ans.type === 'success' && ans.response.decision === 'allow' ? 1 : 0;
        done++;
        // a call costs 100 us or more: reading the clock every call is noise
        if ((t = now()) - t0 >= seconds / 6)
          break;
      }
      t = now();
    } while (t - t0 < seconds / 6);
    rates.push(done / (t - t0));
  }
  rates.sort((a, b) => a - b);

  // stateless isAuthorized: parses the policy text on every call; a short run is enough
  let statelessDone = 0;
  t0 = now();
  let t = t0;
  const policies = { staticPolicies: text };
  while (t - t0 < Math.min(0.5, seconds / 3)) {
    const r = requests[statelessDone % requests.length];
    const ans = cedar.isAuthorized({
      principal: r.principal, action, resource: r.resource, context: r.context,
      entities: r.entities, policies,
    });
    sink += ans.type === 'success' ? 1 : 0;
    statelessDone++;
    t = now();
  }
  const stateless = statelessDone / (t - t0);
  console.log(`        ${rates[1].toFixed(0)} decisions/s (median of 3); ` +
    `stateless isAuthorized ${stateless.toFixed(stateless < 100 ? 1 : 0)} decisions/s` +
    (sink < 0 ? '!' : ''));
  fs.appendFileSync(tsvPath, `${n}\t${agree}\t${calls.length}\t${errors}\t${valid ? 'yes' : 'no'}\t` +
    `${rates[1].toFixed(0)}\t${stateless.toFixed(1)}\n`);
}
