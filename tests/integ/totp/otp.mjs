// The authenticator-app side of TOTP, done by otplib (an independent implementation):
//   node otp.mjs uri OTPAUTH_URI     -> JSON {secret, issuer, account, code} for the URI
//   node otp.mjs code BASE32_SECRET  -> the current 6-digit code
// The URI is read the way authenticator apps read it (otpauth://totp/LABEL?secret=&issuer=...),
// and any parameter otplib would need (algorithm, digits, period) must be the defaults apps
// assume, or this refuses it.
import { authenticator } from 'otplib';

function fail(msg) {
    process.stderr.write(msg + '\n');
    process.exit(1);
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'code') {
    process.stdout.write(authenticator.generate(arg) + '\n');
} else if (mode === 'uri') {
    const u = new URL(arg);
    if (u.protocol !== 'otpauth:' || u.host !== 'totp')
        fail('not an otpauth://totp URI: ' + arg);
    const p = u.searchParams;
    const secret = p.get('secret');
    if (!secret || !/^[A-Z2-7]+=*$/.test(secret))
        fail('missing or non-base32 secret');
    if ((p.get('algorithm') || 'SHA1') !== 'SHA1' || (p.get('digits') || '6') !== '6' ||
        (p.get('period') || '30') !== '30')
        fail('parameters authenticator apps do not all support: ' + p.toString());
    const label = decodeURIComponent(u.pathname.replace(/^\//, ''));
    const issuer = p.get('issuer');
    if (issuer && !label.startsWith(issuer + ':'))
        fail('label should start with the issuer: ' + label);
    process.stdout.write(JSON.stringify({
        secret,
        issuer,
        account: issuer ? label.slice(issuer.length + 1) : label,
        code: authenticator.generate(secret),
        keyuri: authenticator.keyuri(issuer ? label.slice(issuer.length + 1) : label, issuer, secret),
    }) + '\n');
} else {
    fail('usage: node otp.mjs uri URI | code SECRET');
}
