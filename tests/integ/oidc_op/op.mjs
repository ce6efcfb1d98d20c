// npm oidc-provider as a stand-in OpenID provider: tests/integ/test_oidc_peers_selfcheck.py signs
// in through it to prove the relying parties of the harness (Apache mod_auth_openidc, the
// openid-client app in ../oidc_rp) work, and bench/oidc/run.sh measures it beside ztgate.
//
//   node op.mjs '{"port": N, "issuer": "https://op.test:N", "tls": {"cert": F, "key": F},
//                 "clients": [{client_id, client_secret, redirect_uris, ...}],
//                 "autoLogin": "alice@example.test", "resolveTo": "127.0.0.1"}'
//   (NODE_EXTRA_CA_CERTS=the RPs' certificates, for back-channel logout to https RPs)
//
// Prints one line {"ready": true, "issuer": ...} on stdout once it listens.
// - Signing keys: one RSA-2048 (RS256) and one P-256 (ES256) key made at start (no dev keys).
// - Login: devInteractions (any login and password), or with "autoLogin" no login page at all:
//   the first authorize of a browser signs it in as that account (the benchmark's "existing
//   session" without a person).
// - Consent is never asked: every client gets a grant of the scopes it asks for, so an
//   authorize with a session cookie goes straight to the code, as at ztgate for an allowed app.
// - Features on: revocation, introspection, back-channel logout, RP-initiated logout; a
//   refresh token whenever the client has the refresh_token grant (no offline_access dance).
import Provider from 'oidc-provider';
import { generateKeyPairSync } from 'node:crypto';
import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';

const opts = JSON.parse(process.argv[2] || '{}');

if (opts.resolveTo) {
    // Back-channel logout POSTs go to the RPs' test host names (rp.test): all resolve to
    // loopback here, as in the browser.
    const addr = opts.resolveTo;
    dns.lookup = (_host, options, cb) => {
        if (typeof options === 'function')
            cb = options;
        if (options && options.all)
            cb(null, [{ address: addr, family: 4 }]);
        else
            cb(null, addr, 4);
    };
}

function privateJwk(type, params, extra) {
    const { privateKey } = generateKeyPairSync(type, params);
    return { ...privateKey.export({ format: 'jwk' }), ...extra };
}

const jwks = {
    keys: [
        privateJwk('rsa', { modulusLength: 2048 }, { kid: 'rs256-1', alg: 'RS256', use: 'sig' }),
        privateJwk('ec', { namedCurve: 'P-256' }, { kid: 'es256-1', alg: 'ES256', use: 'sig' }),
    ],
};

// Accounts: whatever login was typed is the subject; its claims are derived from it.
async function findAccount(_ctx, sub) {
    return {
        accountId: sub,
        async claims() {
            const email = sub.includes('@') ? sub : `${sub}@example.test`;
            return { sub, email, email_verified: true, name: `User ${sub}`,
                     preferred_username: sub.split('@')[0] };
        },
    };
}

// No consent prompt: a grant covering what the client asked for is made on the spot.
async function loadExistingGrant(ctx) {
    const { session, client, params } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    if (!grant) {
        grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    }
    grant.addOIDCScope(String(params.scope || 'openid'));
    grant.addOIDCClaims(['sub', 'email', 'email_verified', 'name', 'preferred_username']);
    await grant.save();
    return grant;
}

// Storage: a plain Map with expiry. oidc-provider's own development adapter is an LRU of 1000
// entries, which silently drops codes under load (a benchmark's codes vanish before they are
// redeemed); this one keeps everything until it expires.
const store = new Map(); // "Model:id" -> {payload, expiresAt}
class MapAdapter {
    constructor(model) { this.model = model; }
    key(id) { return `${this.model}:${id}`; }
    async upsert(id, payload, expiresIn) {
        store.set(this.key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
        if (payload.grantId)
            store.set(`grant:${payload.grantId}:${this.key(id)}`, { payload: this.key(id), expiresAt: Infinity });
        if (payload.uid)
            store.set(`uid:${payload.uid}`, { payload: id, expiresAt: Infinity });
    }
    async find(id) {
        const e = store.get(this.key(id));
        if (!e || e.expiresAt < Date.now())
            return undefined;
        return e.payload;
    }
    async findByUid(uid) {
        const id = store.get(`uid:${uid}`)?.payload;
        return id ? this.find(id) : undefined;
    }
    async findByUserCode() { return undefined; }
    async consume(id) {
        const e = store.get(this.key(id));
        if (e)
            e.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id) { store.delete(this.key(id)); }
    async revokeByGrantId(grantId) {
        const prefix = `grant:${grantId}:`;
        for (const [k, v] of store) {
            if (k.startsWith(prefix)) {
                store.delete(v.payload);
                store.delete(k);
            }
        }
    }
}
setInterval(() => {
    const now = Date.now();
    for (const [k, v] of store)
        if (v.expiresAt < now)
            store.delete(k);
}, 10000).unref();

const configuration = {
    adapter: MapAdapter,
    clients: opts.clients || [],
    jwks,
    findAccount,
    loadExistingGrant,
    cookies: { keys: [opts.cookieKey || 'selfcheck-cookie-key-not-secret'] },
    claims: {
        openid: ['sub'],
        email: ['email', 'email_verified'],
        profile: ['name', 'preferred_username'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    features: {
        devInteractions: { enabled: true },
        revocation: { enabled: true },
        introspection: { enabled: true },
        backchannelLogout: { enabled: true },
        rpInitiatedLogout: { enabled: true },
    },
    pkce: { required: () => true },
    // Its SSRF guard refuses loopback addresses, where every test RP lives: plain fetch.
    fetch: (url, options) => {
        delete options.dispatcher;
        return fetch(url, options);
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: { AccessToken: 600, IdToken: 600, AuthorizationCode: 60, RefreshToken: 8 * 3600,
           Interaction: 600, Session: 8 * 3600, Grant: 8 * 3600 },
    // oidc-provider's default 'invalid_grant' etc. go to stderr for the test's logs.
    renderError: async (ctx, out) => {
        ctx.type = 'html';
        ctx.body = `<!doctype html><title>error</title><h1>${out.error}</h1><p>${out.error_description || ''}</p>`;
    },
};

const provider = new Provider(opts.issuer, configuration);
provider.on('server_error', (_ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
for (const ev of ['grant.error', 'authorization.error', 'backchannel.error', 'end_session.error',
                  'introspection.error', 'revocation.error', 'userinfo.error'])
    provider.on(ev, (...a) => {
        const err = a.find((x) => x instanceof Error);
        process.stderr.write(`${ev}: ${err ? `${err.message} ${err.error_detail || ''} ${err.cause || ''}` : ''}\n`);
    });
provider.on('backchannel.success', (client) =>
    process.stderr.write(`backchannel.success: ${client.clientId}\n`));

// autoLogin: a browser without a session is signed in as that account without a form.
if (opts.autoLogin) {
    provider.use(async (ctx, next) => {
        if (ctx.path.startsWith('/interaction/') && ctx.method === 'GET') {
            const details = await provider.interactionDetails(ctx.req, ctx.res);
            const result = { login: { accountId: opts.autoLogin } };
            await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
            ctx.respond = false;
            void details;
            return undefined;
        }
        return next();
    });
}

const handler = provider.callback();
const server = opts.tls
    ? https.createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, handler)
    : http.createServer(handler);
server.keepAliveTimeout = 60000;
server.listen(opts.port, opts.host || '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ ready: true, issuer: opts.issuer }) + '\n');
});
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
