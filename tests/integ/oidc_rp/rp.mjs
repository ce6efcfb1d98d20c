// A relying party on npm openid-client v6 (an OpenID-certified RP library), for the integration
// tests of ztgate's OpenID Connect provider (tests/integ/oidc_rp.py starts it). Everything the
// library checks (iss, state, nonce, PKCE, ID token signature, alg, aud, exp, at_hash) is checked;
// what it refuses shows as {error} here and in /state.
//
//   node rp.mjs '{"issuer": "https://auth.test:8443", "client_id": "app", "client_secret": "s",
//                 "auth": "client_secret_basic", "port": 9000, "base": "http://rp.test:9000",
//                 "resolve_to": "127.0.0.1", "insecure": false, "scope": "openid email profile",
//                 "private_key_jwk": {...}, "id_token_alg": "RS256",
//                 "tls": {"cert": FILE, "key": FILE}}'     (tls: the RP itself on https)
//
// auth: client_secret_basic | client_secret_post | private_key_jwt (private_key_jwk: a private
// JWK with kid and alg) | none. TLS trust: start node with NODE_EXTRA_CA_CERTS=the test's
// certificate (the wrapper does); "insecure" allows an http:// issuer. "resolve_to": every host
// name resolves to that address (the tests' names like auth.test exist nowhere else).
//
// Routes (GET unless said):
//   /login[?acr_values=&prompt=&max_age=&login_hint=&scope=]  302 to the authorization endpoint
//   /cb           the redirect URI: code grant, then JSON {claims, userinfo?} (or 400 {error})
//   /refresh      refresh grant with the stored refresh token: JSON {claims?, tokens} or {error}
//   /userinfo     JSON of the UserInfo response for the stored access token
//   /introspect[?which=access|refresh]   JSON of the introspection response
//   /revoke[?which=access|refresh]       JSON {revoked: which} after RFC 7009 revocation
//   /logout[?post_logout_redirect_uri=]  302 to end_session_endpoint with id_token_hint
//   /logged-out   where post-logout redirects land: JSON {logged_out: true, query}
//   POST /bcl     back-channel logout receiver: verifies the logout token (signature by the
//                 OP's JWKS, iss, aud, iat, events, jti, no nonce); 200 or 400; kept in /state
//   /state        JSON: tokens, claims, last error, back-channel logout tokens received
import * as client from 'openid-client';
import * as jose from 'jose';
import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const opts = JSON.parse(process.argv[2] || '{}');
const base = (opts.base || `http://127.0.0.1:${opts.port}`).replace(/\/$/, '');
const redirectUri = `${base}/cb`;

if (opts.resolve_to) {
    // Test host names (auth.test, ...) resolve to the loopback address for every connection
    // this process makes, as Chromium's --host-resolver-rules does for the browser.
    const addr = opts.resolve_to;
    const family = addr.includes(':') ? 6 : 4;
    dns.lookup = (_host, options, cb) => {
        if (typeof options === 'function')
            cb = options;
        if (options && options.all)
            cb(null, [{ address: addr, family }]);
        else
            cb(null, addr, family);
    };
}

function clientAuth() {
    switch (opts.auth || 'client_secret_basic') {
    case 'client_secret_basic': return client.ClientSecretBasic(opts.client_secret);
    case 'client_secret_post': return client.ClientSecretPost(opts.client_secret);
    case 'none': return client.None();
    case 'private_key_jwt': return null; // needs an imported key, see makeConfig
    default: throw new Error(`unknown auth ${opts.auth}`);
    }
}

async function makeConfig() {
    let auth = clientAuth();
    if (!auth) {
        const jwk = opts.private_key_jwk;
        const key = await jose.importJWK(jwk, jwk.alg);
        auth = client.PrivateKeyJwt({ key, kid: jwk.kid });
    }
    const metadata = {};
    if (opts.id_token_alg)
        metadata.id_token_signed_response_alg = opts.id_token_alg;
    const options = opts.insecure ? { execute: [client.allowInsecureRequests] } : undefined;
    return client.discovery(new URL(opts.issuer), opts.client_id, metadata, auth, options);
}

const state = {
    tokens: null,       // the last token endpoint response (access, id, refresh token, ...)
    claims: null,       // validated ID token claims of the last sign-in or refresh
    userinfo: null,
    error: null,        // {error, error_description, where} of the last failure
    logins: 0,          // successful code exchanges
    backchannel: [],    // verified logout token claims, newest last
    backchannel_refused: [],
};
const pending = new Map(); // state -> {verifier, nonce, maxAge}
let config;
let jwks;

function send(res, status, obj, headers = {}) {
    const body = JSON.stringify(obj, null, 1);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store',
                            ...headers });
    res.end(body);
}

function fail(res, where, e, status = 400) {
    state.error = { where, error: e.error || e.code || e.name, error_description: e.error_description || e.message };
    if (e.cause && e.cause.error)
        state.error.error = e.cause.error;
    process.stderr.write(`rp ${where}: ${e.stack || e}\n`);
    send(res, status, state.error);
}

async function login(url, res) {
    const verifier = client.randomPKCECodeVerifier();
    const st = client.randomState();
    const nonce = client.randomNonce();
    const params = {
        redirect_uri: redirectUri,
        scope: url.searchParams.get('scope') || opts.scope || 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: st,
        nonce,
    };
    for (const k of ['acr_values', 'prompt', 'max_age', 'login_hint', 'ui_locales'])
        if (url.searchParams.has(k))
            params[k] = url.searchParams.get(k);
    const maxAge = params.max_age !== undefined ? Number(params.max_age) : undefined;
    pending.set(st, { verifier, nonce, maxAge });
    res.writeHead(302, { location: client.buildAuthorizationUrl(config, params).href });
    res.end();
}

async function callback(url, res) {
    const entry = pending.get(url.searchParams.get('state') || '');
    if (!entry)
        return fail(res, 'cb', { error: 'unknown_state', message: 'no login started with this state' });
    pending.delete(url.searchParams.get('state'));
    const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: entry.verifier, expectedState: url.searchParams.get('state'),
        expectedNonce: entry.nonce, idTokenExpected: true, maxAge: entry.maxAge,
    });
    state.tokens = { ...tokens };
    state.claims = tokens.claims();
    state.error = null;
    state.logins++;
    state.userinfo = null;
    if (tokens.access_token && config.serverMetadata().userinfo_endpoint)
        state.userinfo = await client.fetchUserInfo(config, tokens.access_token, state.claims.sub);
    send(res, 200, { claims: state.claims, userinfo: state.userinfo });
}

async function refresh(res) {
    if (!state.tokens?.refresh_token)
        return fail(res, 'refresh', { error: 'no_refresh_token', message: 'no refresh token stored' });
    const tokens = await client.refreshTokenGrant(config, state.tokens.refresh_token);
    state.tokens = { ...state.tokens, ...tokens };
    if (tokens.id_token)
        state.claims = tokens.claims();
    state.error = null;
    send(res, 200, { claims: state.claims, tokens: state.tokens });
}

function stored(url) {
    const which = url.searchParams.get('which') || 'access';
    return [which, state.tokens?.[`${which}_token`]];
}

async function verifyLogoutToken(token) {
    jwks ||= jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
        issuer: config.serverMetadata().issuer, audience: opts.client_id,
        typ: undefined, maxTokenAge: '2 minutes',
    });
    if (protectedHeader.alg === 'none')
        throw new Error('alg none');
    if (!payload.events || typeof payload.events['http://schemas.openid.net/event/backchannel-logout'] !== 'object')
        throw new Error('events member missing');
    if (payload.nonce !== undefined)
        throw new Error('nonce present');
    if (!payload.jti)
        throw new Error('jti missing');
    if (!payload.sid && !payload.sub)
        throw new Error('neither sid nor sub');
    if (state.backchannel.some((p) => p.jti === payload.jti))
        throw new Error('jti replayed');
    return { ...payload, typ: protectedHeader.typ, alg: protectedHeader.alg };
}

function readBody(req) {
    return new Promise((resolve, reject) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (d) => { body += d; if (body.length > 65536) reject(new Error('too long')); });
        req.on('end', () => resolve(body));
        req.on('error', reject);
    });
}

async function backchannel(req, res) {
    const form = new URLSearchParams(await readBody(req));
    try {
        state.backchannel.push(await verifyLogoutToken(form.get('logout_token') || ''));
        res.writeHead(200, { 'cache-control': 'no-store' });
        res.end();
    } catch (e) {
        state.backchannel_refused.push(String(e.message || e));
        send(res, 400, { error: 'invalid_request', error_description: String(e.message || e) });
    }
}

const routes = {
    '/login': (url, res) => login(url, res),
    '/cb': (url, res) => callback(url, res),
    '/refresh': (_url, res) => refresh(res),
    async '/userinfo'(_url, res) {
        state.userinfo = await client.fetchUserInfo(config, state.tokens?.access_token || '', state.claims?.sub || client.skipSubjectCheck);
        send(res, 200, state.userinfo);
    },
    async '/introspect'(url, res) {
        const [, token] = stored(url);
        send(res, 200, await client.tokenIntrospection(config, token || ''));
    },
    async '/revoke'(url, res) {
        const [which, token] = stored(url);
        await client.tokenRevocation(config, token || '');
        send(res, 200, { revoked: which });
    },
    '/logout'(url, res) {
        const params = { post_logout_redirect_uri: url.searchParams.get('post_logout_redirect_uri') || `${base}/logged-out` };
        if (state.tokens?.id_token)
            params.id_token_hint = state.tokens.id_token;
        res.writeHead(302, { location: client.buildEndSessionUrl(config, params).href });
        res.end();
    },
    '/logged-out'(url, res) {
        send(res, 200, { logged_out: true, query: Object.fromEntries(url.searchParams) });
    },
    '/state'(_url, res) {
        send(res, 200, state);
    },
};

const handler = async (req, res) => {
    const url = new URL(req.url, base);
    try {
        if (req.method === 'POST' && url.pathname === '/bcl')
            return await backchannel(req, res);
        const route = routes[url.pathname];
        if (!route || req.method !== 'GET')
            return send(res, 404, { error: 'not_found' });
        await route(url, res);
    } catch (e) {
        fail(res, url.pathname.slice(1), e);
    }
};
const server = opts.tls
    ? https.createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, handler)
    : http.createServer(handler);

config = await makeConfig();
server.listen(opts.port, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ ready: true, redirect_uri: redirectUri,
                                          issuer: config.serverMetadata().issuer }) + '\n');
});
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
