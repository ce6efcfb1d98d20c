#!/usr/bin/env node
// The quickstart's second demo app: a web app that is NOT behind ztgate's proxy but signs its
// users in through ztgate's OpenID Connect provider, the way Grafana or GitLab would. It uses
// openid-client (an OpenID-certified relying-party library) for the authorization code flow with
// PKCE S256, state and nonce, client_secret_basic at the token endpoint, RP-initiated logout at
// the end_session_endpoint, and jose to verify back-channel logout tokens.
//
//   node examples/oidc_demo/server.mjs [--port 8082] [--issuer https://sso.localhost:8443]
//        [--client-id demo-oidc] [--secret-file ./data/demo-oidc.secret]
//        [--ca ./data/tls/gateway-cert.pem] [--base-url http://127.0.0.1:8082] [--scope "..."]
//        [--id-token-alg RS256]
//
// Pages: /  (sign-in button, or who you are), /login, /callback (the redirect_uri), /logout
// (POST), /signed-out (the post_logout_redirect_uri), /backchannel-logout (POST from ztgate).
// It listens on 127.0.0.1 only and keeps its sessions in memory.
import { randomBytes } from 'node:crypto';
import dns from 'node:dns';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { parseArgs } from 'node:util';

import * as jose from 'jose';
import * as client from 'openid-client';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MAX_SESSIONS = 10000;
const SESSION_IDLE_MS = 8 * 3600 * 1000;
const PENDING_MS = 10 * 60 * 1000; // a sign-in not finished in 10 minutes starts over
const MAX_BODY = 64 * 1024;
const COOKIE = 'oidc_demo_session';

const opts = options();
const sessions = new Map(); // cookie value -> {user, pending, notice, logoutState, seen}
const seenLogoutJti = new Map(); // jti -> exp (seconds): a logout token is used once
let provider = null; // the promise of {config, jwks} once discovery has worked

function options() {
    const { values } = parseArgs({
        options: {
            port: { type: 'string', default: process.env.OIDC_DEMO_PORT || '8082' },
            issuer: { type: 'string', default: process.env.OIDC_DEMO_ISSUER || 'https://sso.localhost:8443' },
            'client-id': { type: 'string', default: process.env.OIDC_DEMO_CLIENT_ID || 'demo-oidc' },
            'secret-file': { type: 'string', default: process.env.OIDC_DEMO_SECRET_FILE || './data/demo-oidc.secret' },
            ca: { type: 'string', default: process.env.OIDC_DEMO_CA || '' },
            'base-url': { type: 'string', default: process.env.OIDC_DEMO_BASE_URL || '' },
            scope: { type: 'string', default: process.env.OIDC_DEMO_SCOPE || '' },
            'id-token-alg': { type: 'string', default: process.env.OIDC_DEMO_ID_TOKEN_ALG || 'RS256' },
        },
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        console.error(`oidc-demo: --port ${values.port}: not a port number`);
        process.exit(2);
    }
    const base = (values['base-url'] || `http://127.0.0.1:${port}`).replace(/\/+$/, '');
    return {
        port,
        issuer: values.issuer.replace(/\/+$/, ''),
        clientId: values['client-id'],
        secretFile: values['secret-file'],
        ca: values.ca,
        base,
        scope: values.scope,
        idTokenAlg: values['id-token-alg'],
        redirectUri: base + '/callback',
        postLogoutUri: base + '/signed-out',
    };
}

// ---- talking to the provider -----------------------------------------------------------------

// *.localhost is loopback (RFC 6761) as in every browser; the C library often does not know it.
function loopbackLookup(hostname, lookupOpts, callback) {
    if (hostname === 'localhost' || hostname.endsWith('.localhost')) {
        if (lookupOpts && lookupOpts.all)
            return callback(null, [{ address: '127.0.0.1', family: 4 }]);
        return callback(null, '127.0.0.1', 4);
    }
    return dns.lookup(hostname, lookupOpts, callback);
}

// Node refuses a wildcard over a single label (*.localhost), which ztgate's self-signed
// certificate uses for every *.localhost name; browsers accept it. Loopback names only.
function checkIdentity(host, cert) {
    const wildcard = (cert.subjectaltname || '').split(', ').includes('DNS:*.localhost');
    if (/^[a-z0-9-]+\.localhost$/i.test(host) && wildcard) return undefined;
    return tls.checkServerIdentity(host, cert);
}

// The quickstart's ztgate has a self-signed certificate (made at its first start, so read at
// each request): trust that one file for the provider, and resolve *.localhost ourselves.
// openid-client and jose accept such a fetch; redirects are never followed.
async function providerFetch(resource, init = {}) {
    const url = new URL(typeof resource === 'string' || resource instanceof URL ? resource : resource.url);
    const ca = opts.ca && existsSync(opts.ca) ? readFileSync(opts.ca) : undefined;
    const headers = Object.fromEntries(new Headers(init.headers || {}));
    let body = init.body;
    if (body instanceof URLSearchParams) {
        headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
        body = body.toString();
    }
    const method = init.method || 'GET';
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
        const req = mod.request(url, {
            method, headers, ca, lookup: loopbackLookup, checkServerIdentity: checkIdentity, signal: init.signal,
        }, (res) => {
            const chunks = [];
            let size = 0;
            res.on('data', (chunk) => {
                size += chunk.length;
                if (size > 1024 * 1024) req.destroy(new Error(`${url.origin}: answer over 1 MiB`));
                else chunks.push(chunk);
            });
            res.on('error', reject);
            res.on('end', () => {
                const h = new Headers();
                for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
                const empty = method === 'HEAD' || [204, 205, 304].includes(res.statusCode);
                resolve(new Response(empty ? null : Buffer.concat(chunks), {
                    status: res.statusCode, statusText: res.statusMessage, headers: h,
                }));
            });
        });
        req.setTimeout(10000, () => req.destroy(new Error(`${url.origin}: no answer within 10 s`)));
        req.on('error', reject);
        req.end(body);
    });
}

function clientSecret() {
    return readFileSync(opts.secretFile, 'utf8').split(/\r?\n/, 1)[0];
}

async function discover() {
    const issuer = new URL(opts.issuer);
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname) || issuer.hostname.endsWith('.localhost');
    // The algorithm registered for this client in ztgate's config (apps[].oidc.id_token_alg).
    const config = await client.discovery(issuer, opts.clientId, { id_token_signed_response_alg: opts.idTokenAlg },
        client.ClientSecretBasic(clientSecret()), {
            [client.customFetch]: providerFetch,
            // A plain-HTTP issuer only on this machine (a test set-up without TLS).
            execute: issuer.protocol === 'http:' && loopback ? [client.allowInsecureRequests] : [],
        });
    config[client.customFetch] = providerFetch;
    const meta = config.serverMetadata();
    const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri), { [jose.customFetch]: providerFetch });
    return { config, meta, jwks };
}

// Discovery runs at the first sign-in, not at start: `make run` starts this app before ztgate.
// A failure is not kept, so the next click tries again.
function op() {
    if (provider === null) {
        provider = discover();
        provider.catch(() => { provider = null; });
    }
    return provider;
}

function scopeFor(meta) {
    if (opts.scope) return opts.scope;
    const supported = meta.scopes_supported || [];
    return ['openid', 'email', 'profile', 'groups'].filter((s) => s === 'openid' || supported.includes(s)).join(' ');
}

// ---- sessions ------------------------------------------------------------------------------------

function newId() {
    return randomBytes(32).toString('base64url');
}

function cookieValue(req) {
    for (const part of (req.headers.cookie || '').split(';')) {
        const [name, ...rest] = part.trim().split('=');
        if (name === COOKIE) return rest.join('=');
    }
    return null;
}

function currentSession(req) {
    const id = cookieValue(req);
    const s = id ? sessions.get(id) : undefined;
    if (!s || Date.now() - s.seen > SESSION_IDLE_MS) return null;
    s.seen = Date.now();
    return { id, s };
}

// A new id at every change of who is signed in (no session fixation); the oldest session goes
// when the table is full.
function startSession(res, fields) {
    if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value);
    const id = newId();
    sessions.set(id, { user: null, pending: null, notice: null, logoutState: null, seen: Date.now(), ...fields });
    const secure = opts.base.startsWith('https:') ? '; Secure' : '';
    res.setHeader('Set-Cookie', `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax${secure}`);
    return sessions.get(id);
}

function endSession(req) {
    const cur = currentSession(req);
    if (cur) sessions.delete(cur.id);
    return cur ? cur.s : null;
}

// ---- texts, in English and Japanese ------------------------------------------------------------

const TEXT = {
    en: {
        title: 'ztgate OIDC demo app',
        intro: 'This app is not behind ztgate\'s proxy. Like Grafana or GitLab, it asks an OpenID Connect provider who you are: ztgate, at',
        signIn: 'Sign in with ztgate',
        signedInTitle: 'Signed in with ztgate',
        signedInIntro: 'ztgate\'s OpenID Connect provider told this app who you are. Everything below comes from the ID token (verified with the provider\'s keys) and the UserInfo endpoint.',
        email: 'E-mail', name: 'Name', groups: 'Groups', acr: 'Authentication context (acr)',
        amr: 'Authentication methods (amr)', authTime: 'Signed in at (auth_time)', sid: 'Session (sid)',
        none: '(none)', idClaims: 'ID token claims', idHeader: 'ID token header', userinfo: 'UserInfo',
        claim: 'Claim', value: 'Value', signOut: 'Sign out',
        signOutNote: 'Signs you out here and at ztgate (RP-initiated logout); ztgate then ends the session of every other app you signed in to through it.',
        signedOutTitle: 'Signed out',
        signedOut: 'You are signed out of this app and of ztgate.',
        signedOutHere: 'You are signed out of this app.',
        backchannel: 'ztgate ended your session (back-channel logout): you were signed out at ztgate, by an administrator, or by a security rule.',
        errorTitle: 'Sign-in failed',
        unreachable: 'ztgate\'s OpenID Connect provider could not be reached or refused this app',
        refused: 'ztgate refused the sign-in',
        again: 'Try again',
        home: 'Back to the demo app',
        notFound: 'Not found',
        stale: 'This sign-in was not started here or took too long. Please start again.',
    },
    ja: {
        title: 'ztgate OIDC デモアプリ',
        intro: 'このアプリは ztgate のプロキシの背後にはありません。Grafana や GitLab と同じように、OpenID Connect プロバイダーにあなたが誰かを尋ねます。そのプロバイダーは次の ztgate です:',
        signIn: 'ztgate でサインイン',
        signedInTitle: 'ztgate でサインインしました',
        signedInIntro: 'ztgate の OpenID Connect プロバイダーがあなたの情報をこのアプリに伝えました。以下はすべて ID トークン (プロバイダーの鍵で検証済み) と UserInfo エンドポイントから得たものです。',
        email: 'メールアドレス', name: '名前', groups: 'グループ', acr: '認証コンテキスト (acr)',
        amr: '認証方式 (amr)', authTime: 'サインイン日時 (auth_time)', sid: 'セッション (sid)',
        none: '(なし)', idClaims: 'ID トークンのクレーム', idHeader: 'ID トークンのヘッダー', userinfo: 'UserInfo',
        claim: 'クレーム', value: '値', signOut: 'サインアウト',
        signOutNote: 'このアプリと ztgate の両方からサインアウトします (RP-Initiated Logout)。ztgate は、ztgate 経由でサインインした他のアプリのセッションも終了させます。',
        signedOutTitle: 'サインアウトしました',
        signedOut: 'このアプリと ztgate からサインアウトしました。',
        signedOutHere: 'このアプリからサインアウトしました。',
        backchannel: 'ztgate があなたのセッションを終了しました (バックチャネル・ログアウト)。ztgate でのサインアウト、管理者の操作、またはセキュリティ ルールによるものです。',
        errorTitle: 'サインインできませんでした',
        unreachable: 'ztgate の OpenID Connect プロバイダーに接続できないか、このアプリが拒否されました',
        refused: 'ztgate がサインインを拒否しました',
        again: 'もう一度試す',
        home: 'デモアプリに戻る',
        notFound: '見つかりません',
        stale: 'このサインインはここで開始されたものではないか、時間がかかりすぎました。もう一度お試しください。',
    },
};

// The first of en/ja in the browser's order of preference (q values respected).
function language(req) {
    const ranked = (req.headers['accept-language'] || '').split(',').map((part, i) => {
        const [tag, ...params] = part.trim().toLowerCase().split(';');
        const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
        return { tag, q: q ? Number(q.slice(2)) : 1, i };
    }).filter((x) => x.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
    for (const { tag } of ranked) {
        if (tag === 'ja' || tag.startsWith('ja-')) return 'ja';
        if (tag === 'en' || tag.startsWith('en-')) return 'en';
    }
    return 'en';
}

// ---- pages -----------------------------------------------------------------------------------------

function esc(v) {
    return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

const STYLE = `body { font-family: system-ui, "Noto Sans CJK JP", sans-serif; margin: 2rem auto; max-width: 52rem; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
td, th { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; width: 14rem; }
code { word-break: break-all; }
.button { display: inline-block; background: #1f5fbf; color: #fff; border: 0; border-radius: 4px; padding: .6rem 1.2rem; font-size: 1rem; text-decoration: none; cursor: pointer; }
.notice { border-left: 4px solid #c80; background: #fff6e0; padding: .6rem 1rem; }
.error { border-left-color: #b00; background: #fdecec; }
.small { color: #555; font-size: .9rem; }`;

function send(res, status, lang, title, body) {
    const html = `<!doctype html>
<html lang="${lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style></head>
<body>
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`;
    res.writeHead(status, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        'Referrer-Policy': 'same-origin',
        'X-Content-Type-Options': 'nosniff',
        'Content-Language': lang,
    });
    res.end(html);
}

function redirect(res, location) {
    res.writeHead(303, { Location: location, 'Cache-Control': 'no-store', 'Content-Length': '0' });
    res.end();
}

function when(seconds) {
    return Number.isFinite(seconds) ? `${seconds} (${new Date(seconds * 1000).toISOString()})` : String(seconds);
}

function claimValue(name, value) {
    if (['iat', 'exp', 'auth_time', 'nbf'].includes(name)) return esc(when(value));
    return esc(typeof value === 'string' ? value : JSON.stringify(value));
}

function claimsTable(t, claims, id) {
    const rows = Object.keys(claims).sort().map((k) =>
        `<tr><th><code>${esc(k)}</code></th><td><code>${claimValue(k, claims[k])}</code></td></tr>`);
    return `<table id="${id}"><tr><th>${esc(t.claim)}</th><th>${esc(t.value)}</th></tr>\n${rows.join('\n')}\n</table>`;
}

function list(t, v) {
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return esc(t.none);
    return esc(Array.isArray(v) ? v.join(', ') : v);
}

function landingPage(res, lang, notice) {
    const t = TEXT[lang];
    const note = notice ? `<p class="notice" role="status">${esc(t[notice])}</p>\n` : '';
    send(res, 200, lang, t.title, `${note}<p>${esc(t.intro)} <code>${esc(opts.issuer)}</code>.</p>
<p><a class="button" id="sign-in" href="/login">${esc(t.signIn)}</a></p>`);
}

function profilePage(res, lang, user) {
    const t = TEXT[lang];
    const c = { ...user.userinfo, ...user.claims };
    const rows = [
        ['email', t.email, list(t, c.email)], ['name', t.name, list(t, c.name)],
        ['groups', t.groups, list(t, c.groups)], ['acr', t.acr, list(t, c.acr)], ['amr', t.amr, list(t, c.amr)],
        ['auth-time', t.authTime, c.auth_time ? esc(when(c.auth_time)) : esc(t.none)], ['sid', t.sid, list(t, c.sid)],
    ].map(([id, k, v]) => `<tr><th>${esc(k)}</th><td id="${id}">${v}</td></tr>`);
    const info = user.userinfo ? `<h2>${esc(t.userinfo)}</h2>\n${claimsTable(t, user.userinfo, 'userinfo')}` : '';
    send(res, 200, lang, t.signedInTitle, `<p>${esc(t.signedInIntro)}</p>
<table id="summary">
${rows.join('\n')}
</table>
<form method="post" action="/logout"><button class="button" id="sign-out" type="submit">${esc(t.signOut)}</button></form>
<p class="small">${esc(t.signOutNote)}</p>
<h2>${esc(t.idClaims)}</h2>
${claimsTable(t, user.claims, 'id-token-claims')}
<h2>${esc(t.idHeader)}</h2>
${claimsTable(t, user.header, 'id-token-header')}
${info}`);
}

function errorPage(res, lang, status, what, err) {
    const t = TEXT[lang];
    const detail = err ? `<p><code>${esc(describe(err))}</code></p>` : '';
    send(res, status, lang, t.errorTitle, `<p class="notice error" role="alert">${esc(what)}</p>
${detail}
<p><a class="button" href="/login">${esc(t.again)}</a> <a href="/">${esc(t.home)}</a></p>`);
}

function describe(err) {
    if (err instanceof client.AuthorizationResponseError)
        return [err.error, err.error_description].filter(Boolean).join(': ');
    if (err instanceof client.ResponseBodyError)
        return [`HTTP ${err.status}`, err.error, err.error_description].filter(Boolean).join(': ');
    const c = err && err.cause;
    const cause = c && typeof c.status === 'number' ? ` (HTTP ${c.status})` : c && c.message ? ` (${c.message})` : '';
    return `${err && err.message ? err.message : err}${cause}`;
}

// ---- the flow ----------------------------------------------------------------------------------------

async function login(req, res, lang) {
    let p;
    try {
        p = await op();
    } catch (err) {
        console.error(`oidc-demo: discovery at ${opts.issuer}: ${describe(err)}`);
        return errorPage(res, lang, 502, `${TEXT[lang].unreachable}: ${opts.issuer}`, err);
    }
    const pending = {
        state: client.randomState(), nonce: client.randomNonce(),
        verifier: client.randomPKCECodeVerifier(), at: Date.now(),
    };
    const cur = currentSession(req);
    if (cur) cur.s.pending = pending;
    else startSession(res, { pending });
    const params = {
        redirect_uri: opts.redirectUri, scope: scopeFor(p.meta), state: pending.state, nonce: pending.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(pending.verifier), code_challenge_method: 'S256',
    };
    if (lang === 'ja') params.ui_locales = 'ja';
    redirect(res, client.buildAuthorizationUrl(p.config, params).href);
}

async function callback(req, res, lang) {
    const t = TEXT[lang];
    const cur = currentSession(req);
    const pending = cur && cur.s.pending;
    if (!pending || Date.now() - pending.at > PENDING_MS)
        return errorPage(res, lang, 400, t.stale, null);
    cur.s.pending = null; // one try per sign-in: state, nonce and verifier are single use
    let p, tokens;
    try {
        p = await op();
        tokens = await client.authorizationCodeGrant(p.config, new URL(req.url, opts.base), {
            pkceCodeVerifier: pending.verifier, expectedState: pending.state,
            expectedNonce: pending.nonce, idTokenExpected: true,
        });
    } catch (err) {
        console.error(`oidc-demo: sign-in refused: ${describe(err)}`);
        const what = err instanceof client.AuthorizationResponseError ? t.refused : t.errorTitle;
        return errorPage(res, lang, err instanceof client.AuthorizationResponseError ? 403 : 502, what, err);
    }
    const claims = tokens.claims();
    let userinfo = null;
    try {
        userinfo = await client.fetchUserInfo(p.config, tokens.access_token, claims.sub);
    } catch (err) {
        console.error(`oidc-demo: userinfo: ${describe(err)}`); // the ID token alone still signs in
    }
    sessions.delete(cur.id);
    startSession(res, {
        user: { claims, userinfo, header: jose.decodeProtectedHeader(tokens.id_token), idToken: tokens.id_token },
    });
    console.error(`oidc-demo: signed in ${claims.email || claims.sub} (sid ${claims.sid || '-'})`);
    redirect(res, '/');
}

// RP-initiated logout: the local session ends first, then ztgate's, then back to /signed-out.
async function logout(req, res, lang) {
    const origin = req.headers.origin;
    if (origin && origin !== new URL(opts.base).origin) return errorPage(res, lang, 403, TEXT[lang].errorTitle, null);
    const ended = endSession(req);
    let p = null;
    try {
        p = await op();
    } catch (err) {
        console.error(`oidc-demo: logout: ${describe(err)}`);
    }
    if (!ended || !ended.user || !p || !p.meta.end_session_endpoint)
        return landingPage(res, lang, 'signedOutHere');
    const state = client.randomState();
    startSession(res, { logoutState: state });
    redirect(res, client.buildEndSessionUrl(p.config, {
        id_token_hint: ended.user.idToken, post_logout_redirect_uri: opts.postLogoutUri, state,
    }).href);
}

function signedOut(req, res, lang) {
    const t = TEXT[lang];
    const cur = currentSession(req);
    const state = new URL(req.url, opts.base).searchParams.get('state');
    const atOp = cur && cur.s.logoutState && state === cur.s.logoutState;
    if (cur) cur.s.logoutState = null;
    send(res, 200, lang, t.signedOutTitle, `<p role="status">${esc(atOp ? t.signedOut : t.signedOutHere)}</p>
<p><a class="button" id="sign-in" href="/login">${esc(t.signIn)}</a> <a href="/">${esc(t.home)}</a></p>`);
}

// ---- back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.6) ---------------------------

async function verifyLogoutToken(token) {
    const p = await op();
    const algs = (p.meta.id_token_signing_alg_values_supported || ['RS256', 'ES256'])
        .filter((a) => /^(RS|PS|ES)(256|384|512)$|^EdDSA$/.test(a));
    const { payload, protectedHeader } = await jose.jwtVerify(token, p.jwks, {
        issuer: p.meta.issuer, audience: opts.clientId, algorithms: algs,
        requiredClaims: ['iat', 'exp', 'jti'], clockTolerance: 60,
    });
    const typ = (protectedHeader.typ || '').toLowerCase().replace(/^application\//, '');
    if (typ && typ !== 'logout+jwt' && typ !== 'jwt') throw new Error(`typ '${protectedHeader.typ}' is not a logout token's`);
    const events = payload.events;
    if (!events || typeof events !== 'object' || typeof events[LOGOUT_EVENT] !== 'object' || events[LOGOUT_EVENT] === null)
        throw new Error('no back-channel logout event in "events"');
    if ('nonce' in payload) throw new Error('a logout token has no "nonce" (is this an ID token?)');
    if (typeof payload.sub !== 'string' && typeof payload.sid !== 'string') throw new Error('neither "sub" nor "sid"');
    const now = Date.now() / 1000;
    for (const [jti, exp] of seenLogoutJti) if (exp + 60 < now) seenLogoutJti.delete(jti);
    if (seenLogoutJti.has(payload.jti)) throw new Error('logout token already used (jti)');
    seenLogoutJti.set(payload.jti, payload.exp);
    return payload;
}

// Ends the sessions of that ztgate session (sid), or all of the user's (sub only). The browser
// learns it at its next page.
function endSessionsOf(token) {
    let n = 0;
    for (const s of sessions.values()) {
        const c = s.user && s.user.claims;
        if (!c || c.iss !== token.iss) continue;
        const match = typeof token.sid === 'string' ? c.sid === token.sid && (!token.sub || c.sub === token.sub) : c.sub === token.sub;
        if (match) {
            s.user = null;
            s.notice = 'backchannel';
            n++;
        }
    }
    return n;
}

function readForm(req) {
    return new Promise((resolve, reject) => {
        if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] || ''))
            return reject(new Error('the body must be application/x-www-form-urlencoded'));
        const chunks = [];
        let size = 0;
        req.on('data', (c) => {
            size += c.length;
            if (size > MAX_BODY) {
                reject(new Error('body too large'));
                req.destroy();
            } else chunks.push(c);
        });
        req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
        req.on('error', reject);
    });
}

async function backchannelLogout(req, res) {
    const answer = (status, obj) => {
        const body = obj ? JSON.stringify(obj) : '';
        res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
    };
    try {
        const form = await readForm(req);
        const token = form.get('logout_token');
        if (!token) throw new Error('no logout_token');
        const claims = await verifyLogoutToken(token);
        const n = endSessionsOf(claims);
        console.error(`oidc-demo: back-channel logout (sid ${claims.sid || '-'}): ${n} session(s) ended`);
        answer(200, null);
    } catch (err) {
        console.error(`oidc-demo: back-channel logout refused: ${describe(err)}`);
        answer(400, { error: 'invalid_request', error_description: describe(err) });
    }
}

// ---- the server --------------------------------------------------------------------------------------

function home(req, res, lang) {
    const cur = currentSession(req);
    if (cur && cur.s.user) return profilePage(res, lang, cur.s.user);
    const notice = cur ? cur.s.notice : null;
    if (cur) cur.s.notice = null;
    landingPage(res, lang, notice);
}

async function route(req, res) {
    const lang = language(req);
    const path = new URL(req.url, opts.base).pathname;
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (path === '/' && get) return home(req, res, lang);
    if (path === '/login' && get) return login(req, res, lang);
    if (path === '/callback' && get) return callback(req, res, lang);
    if (path === '/logout' && req.method === 'POST') return logout(req, res, lang);
    if (path === '/signed-out' && get) return signedOut(req, res, lang);
    if (path === '/backchannel-logout' && req.method === 'POST') return backchannelLogout(req, res);
    send(res, 404, lang, TEXT[lang].notFound, `<p><a href="/">${esc(TEXT[lang].home)}</a></p>`);
}

const server = http.createServer((req, res) => {
    res.on('finish', () => console.error(`oidc-demo: ${req.method} ${req.url.split('?')[0]} ${res.statusCode}`));
    route(req, res).catch((err) => {
        console.error(`oidc-demo: ${req.method} ${req.url.split('?')[0]}: ${describe(err)}`);
        if (!res.headersSent) errorPage(res, language(req), 500, TEXT[language(req)].errorTitle, null);
        else res.destroy();
    });
});
server.listen(opts.port, '127.0.0.1', () => {
    console.error(`oidc-demo: listening on ${opts.base}/ (issuer ${opts.issuer}, client ${opts.clientId})`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
