// npm oidc-provider standing in for an upstream identity provider that ztgate signs people in
// with (tests/integ/test_browser_upstream.py): "Entra" (a groups claim with object ids, amr) or
// "Google" (an hd claim). No login page: the authorize request signs the browser in as its
// login_hint (home-realm discovery sends one) or, without one, as opts.defaultAccount.
//
//   node upstream.mjs '{"port": N, "issuer": "http://127.0.0.1:N", "clients": [...],
//                       "accounts": {"alice@x": {"name", "groups": [...], "amr": [...], "hd"}},
//                       "defaultAccount": "alice@x"}'
//
// Prints {"ready": true} once it listens. Back-channel logout and RP-initiated logout on.
import Provider from 'oidc-provider';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';

const opts = JSON.parse(process.argv[2] || '{}');
const accounts = opts.accounts || {};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwks = { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'up-rs256', alg: 'RS256', use: 'sig' }] };

async function findAccount(_ctx, sub) {
    const a = accounts[sub] || {};
    return {
        accountId: sub,
        async claims() {
            const c = { sub, email: sub, email_verified: true, name: a.name || sub };
            if (a.groups)
                c.groups = a.groups;
            if (a.hd)
                c.hd = a.hd;
            return c;
        },
    };
}

async function loadExistingGrant(ctx) {
    const { session, client, params } = ctx.oidc;
    const grantId = session.grantIdFor(client.clientId);
    let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    if (!grant)
        grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope(String(params.scope || 'openid'));
    grant.addOIDCClaims(['sub', 'email', 'email_verified', 'name', 'groups', 'hd', 'amr']);
    await grant.save();
    return grant;
}

const configuration = {
    clients: opts.clients || [],
    jwks,
    findAccount,
    loadExistingGrant,
    cookies: { keys: ['upstream-test-cookie-key-not-secret'] },
    claims: {
        openid: ['sub', 'groups', 'hd', 'amr'],
        email: ['email', 'email_verified'],
        profile: ['name'],
    },
    scopes: ['openid', 'email', 'profile'],
    // The claims go into the ID token (as Entra and Google do), not only to userinfo.
    conformIdTokenClaims: false,
    features: {
        devInteractions: { enabled: false },
        backchannelLogout: { enabled: true },
        rpInitiatedLogout: { enabled: true },
    },
    pkce: { required: () => true },
    fetch: (url, options) => {
        delete options.dispatcher;
        return fetch(url, options);
    },
    ttl: { AccessToken: 600, IdToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 3600,
           Grant: 3600 },
    renderError: async (ctx, out) => {
        ctx.type = 'html';
        ctx.body = `<!doctype html><title>error</title><h1>${out.error}</h1><p>${out.error_description || ''}</p>`;
    },
};

const provider = new Provider(opts.issuer, configuration);
provider.on('server_error', (_ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
for (const ev of ['grant.error', 'authorization.error', 'backchannel.error', 'end_session.error'])
    provider.on(ev, (...a) => {
        const err = a.find((x) => x instanceof Error);
        process.stderr.write(`${ev}: ${err ? `${err.message} ${err.error_detail || ''}` : ''}\n`);
    });
provider.on('backchannel.success', (client) => process.stderr.write(`backchannel.success: ${client.clientId}\n`));

// The login step without a page: login_hint, else the default account; amr from the account.
provider.use(async (ctx, next) => {
    if (ctx.path.startsWith('/interaction/') && ctx.method === 'GET') {
        const details = await provider.interactionDetails(ctx.req, ctx.res);
        const who = String(details.params.login_hint || opts.defaultAccount || '').toLowerCase();
        const amr = (accounts[who] && accounts[who].amr) || ['pwd'];
        const result = { login: { accountId: who, amr } };
        await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
        ctx.respond = false;
        return undefined;
    }
    return next();
});

const server = http.createServer(provider.callback());
server.listen(opts.port, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ ready: true, issuer: opts.issuer }) + '\n');
});
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
