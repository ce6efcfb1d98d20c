// Drives Debian's Chromium for tests/integ/test_browser_*.py: one JSON command per stdin line,
// one JSON answer per stdout line ({ok: true, ...} or {ok: false, error}). The Python side
// decides what to do next from what the page shows, the way a person would, so it can compute a
// TOTP code or run the CLI between two clicks.
//
//   node driver.mjs '{"executable": "/usr/bin/chromium", "shots": DIR, "spki": [B64...]}'
//
// Every host name resolves to 127.0.0.1 (--host-resolver-rules), so app.test, auth.test, ...
// reach the gateway under test. HTTPS certificates are trusted by their public key only
// (--ignore-certificate-errors-spki-list): the test's own certificate, nothing else.
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const opts = JSON.parse(process.argv[2] || '{}');
const args = ['--host-resolver-rules=MAP * 127.0.0.1, EXCLUDE localhost',
              // Chromium would otherwise try https:// first for typed http:// URLs, and block
              // requests from opaque origins (a sandboxed frame) to the loopback address every
              // test host maps to; a real deployment is not on loopback, so the gateway, not
              // that check, must refuse them.
              '--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,' +
                  'LocalNetworkAccessChecks'];
if (opts.spki && opts.spki.length)
    args.push('--ignore-certificate-errors-spki-list=' + opts.spki.join(','));

const browser = await chromium.launch({ executablePath: opts.executable || '/usr/bin/chromium',
                                        headless: true, args });
const contexts = new Map(); // name -> {context, page, posts: [request headers of form posts]}
let shotCount = 0;
let axeSource = null; // axe-core's source, read once

function send(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

async function newContext(cmd) {
    const context = await browser.newContext({
        locale: cmd.locale || 'en-US',
        viewport: cmd.viewport || { width: 900, height: 700 },
        hasTouch: !!cmd.viewport && cmd.viewport.width < 1100,
    });
    const page = await context.newPage();
    const entry = { context, page, posts: [], lastStatus: null };
    page.on('request', (req) => {
        if (req.method() === 'POST' && req.isNavigationRequest())
            req.allHeaders().then((h) => entry.posts.push({ url: req.url(), headers: h }));
    });
    // The browser's own complaints (blocked forms, CSP) go to stderr, kept with the test's logs.
    page.on('console', (m) => process.stderr.write(`[${cmd.ctx}] console ${m.type()}: ${m.text()}\n`));
    if (process.env.ZT_BROWSER_TRACE) {
        page.on('request', (r) => process.stderr.write(`[${cmd.ctx}] ${r.method()} ${r.url()}\n`));
        page.on('requestfailed', (r) =>
            process.stderr.write(`[${cmd.ctx}] failed ${r.url()}: ${r.failure()?.errorText}\n`));
    }
    page.on('pageerror', (e) => process.stderr.write(`[${cmd.ctx}] page error: ${e}\n`));
    contexts.set(cmd.ctx, entry);
    return {};
}

function ctx(cmd) {
    const c = contexts.get(cmd.ctx || 'main');
    if (!c)
        throw new Error('no browser context ' + cmd.ctx);
    return c;
}

// What a person sees: final URL, HTTP status of the document, title, heading, text, language.
async function pageInfo(c, resp) {
    const p = c.page;
    if (resp) {
        c.lastStatus = resp.status();
        c.lastCsp = (await resp.allHeaders())['content-security-policy'] || null;
    }
    return {
        status: c.lastStatus,
        csp: c.lastCsp || null,
        url: p.url(),
        title: await p.title(),
        h1: await p.locator('h1').first().textContent({ timeout: 1000 }).catch(() => null),
        lang: await p.locator('html').getAttribute('lang').catch(() => null),
        text: await p.locator('body').innerText({ timeout: 2000 }).catch(() => ''),
    };
}

// Runs action (a click, a submit) and waits for the navigation it starts.
async function navigating(c, action) {
    const nav = c.page.waitForNavigation({ waitUntil: 'load', timeout: 20000 });
    await action();
    return await pageInfo(c, await nav);
}

const ops = {
    context: newContext,
    async close(cmd) {
        const c = ctx(cmd);
        await c.context.close();
        contexts.delete(cmd.ctx);
        return {};
    },
    async goto(cmd) {
        const c = ctx(cmd);
        const resp = await c.page.goto(cmd.url, { waitUntil: 'load', timeout: 20000 });
        return await pageInfo(c, resp);
    },
    async info(cmd) {
        return await pageInfo(ctx(cmd), null);
    },
    async fill(cmd) {
        await ctx(cmd).page.fill(cmd.selector, cmd.value, { timeout: 5000 });
        return {};
    },
    // Fills the named fields (a person typing) and presses the form's button.
    async submit(cmd) {
        const c = ctx(cmd);
        for (const [name, value] of Object.entries(cmd.fields || {}))
            await c.page.fill(`[name="${name}"]`, value, { timeout: 5000 });
        const button = cmd.button || 'main form button[type=submit], main form input[type=submit]';
        return await navigating(c, () => c.page.locator(button).first().click({ timeout: 5000 }));
    },
    async click(cmd) {
        const c = ctx(cmd);
        return await navigating(c, () => c.page.locator(cmd.selector).first().click({ timeout: 5000 }));
    },
    async html(cmd) {
        return { html: await ctx(cmd).page.content() };
    },
    async attr(cmd) {
        const l = ctx(cmd).page.locator(cmd.selector);
        const values = [];
        for (const e of await l.all())
            values.push(await e.getAttribute(cmd.name));
        return { values };
    },
    // The current value of a form field, as the person sees it (not only the HTML attribute).
    async value(cmd) {
        return { value: await ctx(cmd).page.locator(cmd.selector).first().inputValue({ timeout: 5000 }) };
    },
    async texts(cmd) {
        return { values: await ctx(cmd).page.locator(cmd.selector).allTextContents() };
    },
    async screenshot(cmd) {
        mkdirSync(opts.shots, { recursive: true });
        shotCount += 1;
        const file = path.join(opts.shots, String(shotCount).padStart(2, '0') + '-' +
                               cmd.name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.png');
        await ctx(cmd).page.screenshot({ path: file, fullPage: true });
        return { path: file };
    },
    async cookies(cmd) {
        return { cookies: await ctx(cmd).context.cookies() };
    },
    // Loads an attacker page that posts a form by itself, and waits for where it lands.
    async gotoAndWaitPost(cmd) {
        const c = ctx(cmd);
        const landed = c.page.waitForResponse((r) => r.request().method() === 'POST' &&
                                              r.url().startsWith(cmd.target), { timeout: 20000 });
        await c.page.goto(cmd.url, { waitUntil: 'commit', timeout: 20000 });
        const r = await landed;
        await c.page.waitForLoadState('load', { timeout: 5000 }).catch(() => {});
        return { status: r.status(), url: r.url(), body: await r.text().catch(() => ''),
                 request_headers: await r.request().allHeaders() };
    },
    // A Chrome DevTools Protocol command on the context's page (Chromium only), e.g. the
    // WebAuthn domain's virtual authenticators (round2.md §1.12). One CDP session per context.
    async cdp(cmd) {
        const c = ctx(cmd);
        if (!c.cdp)
            c.cdp = await c.context.newCDPSession(c.page);
        return { result: await c.cdp.send(cmd.method, cmd.params || {}) };
    },
    // An expression (a string: a promise is awaited) evaluated in the page; its JSON value.
    async evaluate(cmd) {
        return { value: await ctx(cmd).page.evaluate(cmd.expr) };
    },
    // Clicks and waits for what the page's script shows in its role=alert element (a button
    // that does not navigate, e.g. a refused passkey).
    async clickAlert(cmd) {
        const c = ctx(cmd);
        await c.page.locator(cmd.selector).first().click({ timeout: 5000 });
        const alert = c.page.locator('[role=alert]:not([hidden])').first();
        await alert.waitFor({ state: 'visible', timeout: cmd.timeout || 20000 });
        return { alert: await alert.textContent(), ...(await pageInfo(c, null)) };
    },
    // Clicks and waits for whichever comes first: a navigation (the ceremony passed and the
    // script followed `redirect`) or the page's role=alert text (it was refused).
    async clickOutcome(cmd) {
        const c = ctx(cmd);
        const nav = c.page.waitForNavigation({ waitUntil: 'load', timeout: cmd.timeout || 20000 })
            .then((resp) => ({ navigated: true, resp }));
        const alert = c.page.locator('[role=alert]:not([hidden])').first();
        const shown = alert.waitFor({ state: 'visible', timeout: cmd.timeout || 20000 })
            .then(() => ({ navigated: false }));
        await c.page.locator(cmd.selector).first().click({ timeout: 5000 });
        const first = await Promise.race([nav, shown]);
        nav.catch(() => {});
        shown.catch(() => {});
        if (first.navigated)
            return { navigated: true, alert: null, ...(await pageInfo(c, first.resp)) };
        return { navigated: false, alert: await alert.textContent(), ...(await pageInfo(c, null)) };
    },
    async visible(cmd) {
        const l = ctx(cmd).page.locator(cmd.selector);
        const values = [];
        for (const e of await l.all())
            values.push(await e.isVisible());
        return { values };
    },
    // axe-core (npm, Deque) run in the page against WCAG 2.1 A/AA rules: the violations, each
    // with its impact and the elements concerned. The source goes in through the DevTools
    // protocol, which the page's Content-Security-Policy does not govern: the pages under test
    // stay script-free.
    async axe(cmd) {
        const page = ctx(cmd).page;
        if (!axeSource)
            axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
                                     'utf8');
        await page.evaluate(axeSource);
        const result = await page.evaluate(async (tags) => {
            const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
            return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                               nodes: v.nodes.map((n) => n.target.join(' ')) }));
        }, cmd.tags || ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']);
        return { violations: result };
    },
    async posts(cmd) {
        return { posts: ctx(cmd).posts };
    },
    async quit() {
        await browser.close();
        setImmediate(() => process.exit(0));
        return {};
    },
};

const rl = createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
    queue = queue.then(async () => {
        let cmd;
        try {
            cmd = JSON.parse(line);
            const op = ops[cmd.op];
            if (!op)
                throw new Error('unknown op ' + cmd.op);
            send({ ok: true, ...(await op(cmd)) });
        } catch (e) {
            send({ ok: false, error: String(e && e.stack || e) });
        }
    });
});
// stdin closed (the test ended or died): close the browser and leave.
rl.on('close', () => {
    queue.then(() => browser.close()).finally(() => process.exit(0));
});
send({ ok: true, ready: true, version: browser.version() });
