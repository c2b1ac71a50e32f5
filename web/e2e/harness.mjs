// The end-to-end harness: per test file, a real SMTP sink, the real OpenID Provider
// (tests/oidc-provider), the real API binary on a fresh SQLite database, and Debian's Chromium
// driven by playwright-core. Everything started here is stopped by `stack.stop()`.
//
// Environment:
//   CLOUDCX_BIN       the API binary (default target/release/cloudcx-auth, else target/debug/…)
//   CHROMIUM_PATH     the browser (default /usr/bin/chromium)
//   E2E_KEEP_LOGS=1   print the API's and the provider's output after each file

import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';

import { AxeBuilder } from '@axe-core/playwright';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../..');
export const SCREENSHOTS = join(HERE, 'screenshots');

export const TENANT = 'acme';
export const ADMIN_EMAIL = 'admin@acme.example';
export const ADMIN_PASSWORD = 'Bootstrap-Admin-Passw0rd!7';
/** The password every agent gets: long and not on any common-password list. */
export const AGENT_PASSWORD = 'Agent-Secret-Passw0rd!42';

/** Chromium's flags on these machines (shared/TOOLCHAIN.md, "Web"). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps) from the base32 secret shown on screen.

export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${JSON.stringify(ch)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export const totpStep = (unixSeconds = Date.now() / 1000) => Math.floor(unixSeconds / 30);

export function totpAt(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(bin).padStart(6, '0');
}

/**
 * A code for a step after `usedStep` (the server spends a step once): waits for the next step
 * when needed. Also keeps clear of a step's last second so the code is not stale on arrival.
 * Returns `{code, step}`.
 */
export async function freshTotp(secret, usedStep = -1) {
  for (;;) {
    const now = Date.now() / 1000;
    const step = totpStep(now);
    const left = 30 - (now % 30);
    if (step > usedStep && left > 1.5) return { code: totpAt(secret, step), step };
    await sleep(step > usedStep ? left * 1000 + 100 : (left + 0.1) * 1000);
  }
}

// ---------------------------------------------------------------------------------------------
// A small SMTP sink: speaks enough SMTP for lettre, keeps every message with its body decoded.

function decodeBody(raw) {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  let body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const header = (name) => unfolded.match(new RegExp(`^${name}:\\s*(.*)$`, 'im'))?.[1]?.trim() ?? '';
  const cte = header('Content-Transfer-Encoding').toLowerCase();
  if (cte === 'base64') body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  else if (cte === 'quoted-printable') {
    body = Buffer.from(
      body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  }
  let subject = header('Subject');
  // RFC 2047 encoded words (lettre encodes non-ASCII subjects). The space between two adjacent
  // encoded words is not part of the text, and a character's bytes may span two words: a run of
  // words is decoded as one byte string.
  const word = /=\?utf-8\?([bq])\?([^?]*)\?=/gi;
  const wordBytes = (enc, text) =>
    enc.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (__, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  subject = subject.replace(/=\?utf-8\?[bq]\?[^?]*\?=(?:\s+=\?utf-8\?[bq]\?[^?]*\?=)*/gi, (run) =>
    Buffer.concat([...run.matchAll(word)].map((m) => wordBytes(m[1], m[2]))).toString('utf8'),
  );
  return { subject, body, headers: head };
}

export async function startSmtpSink() {
  const messages = [];
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = '';
    let inData = false;
    let data = [];
    let rcpts = [];
    const reply = (line) => socket.write(`${line}\r\n`);
    reply('220 e2e-sink ESMTP ready');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        let line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (inData) {
          if (line === '.') {
            inData = false;
            const raw = Buffer.from(data.join('\r\n'), 'latin1').toString('utf8');
            messages.push({ to: rcpts.map((r) => r.toLowerCase()), raw, at: Date.now(), ...decodeBody(raw) });
            data = [];
            rcpts = [];
            reply('250 2.0.0 queued');
          } else {
            data.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-e2e-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
        else if (verb === 'HELO') reply('250 e2e-sink');
        else if (verb === 'MAIL') {
          rcpts = [];
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          const m = line.match(/<([^>]*)>/);
          if (m) rcpts.push(m[1]);
          reply('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end with <CRLF>.<CRLF>');
        } else if (verb === 'RSET') {
          rcpts = [];
          reply('250 ok');
        } else if (verb === 'NOOP') reply('250 ok');
        else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('502 5.5.2 not implemented');
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;

  /** Messages to `address`, oldest first. */
  const to = (address) => messages.filter((m) => m.to.includes(address.toLowerCase()));

  /**
   * The 6-digit code of the newest message to `address` that carries one and arrived after
   * `after` (a count of that address's messages already seen, from `count()`). Waits up to 15 s.
   */
  async function codeFor(address, { after = 0, timeoutMs = 15_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mine = to(address).slice(after);
      for (let i = mine.length - 1; i >= 0; i--) {
        const m = mine[i].body.match(/(?<!\d)(\d{6})(?!\d)/);
        if (m) return m[1];
      }
      if (Date.now() > deadline) {
        throw new Error(`no mail with a 6-digit code for ${address} in ${timeoutMs} ms; got: ${JSON.stringify(to(address).map((x) => x.subject))}`);
      }
      await sleep(100);
    }
  }

  /** Waits for a message to `address` whose subject or body matches `re`. */
  async function waitFor(address, re, { timeoutMs = 15_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = to(address).find((m) => re.test(m.subject) || re.test(m.body));
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`no mail matching ${re} for ${address}; got: ${JSON.stringify(to(address).map((x) => x.subject))}`);
      }
      await sleep(100);
    }
  }

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    to,
    count: (address) => to(address).length,
    codeFor,
    waitFor,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(() => r()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Child processes.

export async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

function track(child, name) {
  const log = [];
  const keep = (chunk) => {
    log.push(chunk.toString());
    if (log.length > 2000) log.splice(0, 1000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  children.add(child);
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  exited.then(() => children.delete(child));
  return {
    child,
    name,
    log,
    exited,
    output: () => log.join(''),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The OpenID Provider of tests/oidc-provider with these clients; resolves once it is ready. */
export async function startOidcProvider(clients) {
  const dir = join(REPO, 'tests/oidc-provider');
  if (!existsSync(join(dir, 'node_modules/oidc-provider'))) {
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm ci in tests/oidc-provider failed');
  }
  const child = spawn(process.execPath, ['provider.mjs'], {
    cwd: dir,
    env: { ...process.env, PORT: '0', CLIENTS: JSON.stringify(clients), EXIT_ON_STDIN_EOF: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const proc = track(child, 'oidc-provider');
  const issuer = await new Promise((resolveIssuer, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`oidc-provider not ready in 20 s:\n${proc.output()}`)), 20_000);
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      for (const line of out.split('\n')) {
        try {
          const msg = JSON.parse(line);
          if (msg.ready) {
            clearTimeout(t);
            resolveIssuer(msg.issuer);
          }
        } catch {
          // one of oidc-provider's own notices
        }
      }
    });
    proc.exited.then(({ code }) => reject(new Error(`oidc-provider exited (${code}):\n${proc.output()}`)));
  });
  return { ...proc, issuer };
}

export function apiBinary() {
  if (process.env.CLOUDCX_BIN) return resolve(process.env.CLOUDCX_BIN);
  const release = join(REPO, 'target/release/cloudcx-auth');
  if (existsSync(release)) return release;
  const debug = join(REPO, 'target/debug/cloudcx-auth');
  if (existsSync(debug)) return debug;
  throw new Error('no API binary: build it with cargo or set CLOUDCX_BIN');
}

export function webDir() {
  const dist = join(REPO, 'web/dist');
  if (!existsSync(join(dist, 'index.html'))) throw new Error('web/dist is missing: run `npm run build` in web/');
  return dist;
}

/**
 * The API on a fresh temp dir and SQLite database; resolves once GET /readyz answers 200.
 * `publicUrl` (default `http://127.0.0.1:PORT`) is its AUTH_PUBLIC_URL; the API listens on
 * 127.0.0.1 either way and `base` is that address.
 */
export async function startApi({ port, smtpUrl, extraEnv = {}, publicUrl }) {
  const dir = mkdtempSync(join(tmpdir(), 'cloudcx-e2e-'));
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${join(dir, 'auth.db')}`,
    AUTH_LISTEN: `127.0.0.1:${port}`,
    AUTH_PUBLIC_URL: publicUrl ?? base,
    AUTH_WEB_DIR: webDir(),
    AUTH_SMTP_URL: smtpUrl,
    AUTH_ALLOW_INSECURE_ISSUERS: 'true',
    AUTH_BOOTSTRAP_TENANT: TENANT,
    AUTH_BOOTSTRAP_ADMIN_EMAIL: ADMIN_EMAIL,
    AUTH_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
    ...extraEnv,
  };
  // `serve` is named explicitly: the binary with no arguments panics (main.rs slices args[1..]).
  const child = spawn(apiBinary(), ['serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = track(child, 'cloudcx-auth');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`cloudcx-auth exited (${child.exitCode ?? child.signalCode}):\n${proc.output()}`);
    }
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`cloudcx-auth not ready in 60 s:\n${proc.output()}`);
    }
    await sleep(100);
  }
  return {
    ...proc,
    base,
    dir,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The API as a client (set-up steps that are not the journey under test).

export class ApiError extends Error {
  constructor(method, path, status, body) {
    super(`${method} ${path} → ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

export function apiClient(base) {
  async function call(method, path, { token, body } = {}) {
    const headers = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // text/plain
    }
    if (!res.ok) throw new ApiError(method, path, res.status, parsed);
    return parsed;
  }

  /** Password sign-in, refresh token in the body; the answer as the API gives it. */
  const login = (email, password, tenant = TENANT) =>
    call('POST', '/api/v1/auth/login', { body: { tenant, email, password, token_delivery: 'body' } });

  async function bearer(email, password) {
    const res = await login(email, password);
    if (res.status !== 'authenticated') throw new Error(`${email}: expected authenticated, got ${JSON.stringify(res)}`);
    return res.access_token;
  }

  let adminToken = null;
  async function admin() {
    adminToken ??= await bearer(ADMIN_EMAIL, ADMIN_PASSWORD);
    return adminToken;
  }

  return {
    call,
    login,
    bearer,
    admin,
    /** A new agent (or admin) of the site, created by the bootstrap admin. */
    async createUser({ email, display_name, password = AGENT_PASSWORD, role = 'agent' }) {
      return call('POST', '/api/v1/admin/users', {
        token: await admin(),
        body: { email, display_name: display_name ?? email.split('@')[0], password, role },
      });
    },
    async listUsers() {
      return (await call('GET', '/api/v1/admin/users', { token: await admin() })).users;
    },
    async createSsoProvider(body) {
      return call('POST', '/api/v1/admin/sso-providers', { token: await admin(), body: { enabled: true, ...body } });
    },
    async twoFactor(token) {
      return call('GET', '/api/v1/me/2fa', { token });
    },
    /** Turns the authenticator-app method on for a signed-in user: `{secret, step, backupCodes}`. */
    async enableTotp(token) {
      const setup = await call('POST', '/api/v1/me/2fa/totp/setup', { token });
      const { code, step } = await freshTotp(setup.secret);
      const done = await call('POST', '/api/v1/me/2fa/totp/confirm', { token, body: { code } });
      return { secret: setup.secret, step, backupCodes: done.backup_codes };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Content-Security-Policy violations: every journey fails on one.

/** Reported inside the page by the `securitypolicyviolation` event, before any app script runs. */
const CSP_LISTENER = `(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    const report = window.__cxCspViolation;
    if (typeof report === 'function') {
      report([e.violatedDirective, e.blockedURI || '(inline)', e.sourceFile ? e.sourceFile + ':' + e.lineNumber : ''].join(' '));
    }
  }, true);
})();`;

/**
 * Makes every context of `browser` (those the journeys open themselves too) report its CSP
 * violations into `violations`: the page's `securitypolicyviolation` events and the console's
 * "Content Security Policy" messages (Chromium logs both for one violation; either is enough).
 */
export function watchCspViolations(browser, violations) {
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    await context.exposeBinding('__cxCspViolation', ({ page }, text) => {
      violations.push(`${page?.url() ?? '?'}: ${text}`);
    });
    await context.addInitScript(CSP_LISTENER);
    context.on('console', (msg) => {
      if (/Content[- ]Security[- ]Policy/i.test(msg.text())) violations.push(`console: ${msg.text()}`);
    });
    context.on('weberror', (err) => {
      const text = String(err.error()?.message ?? err.error());
      if (/Content[- ]Security[- ]Policy/i.test(text)) violations.push(`page error: ${text}`);
    });
    return context;
  };
  return browser;
}

/** Throws when `violations` grew past `from` (the count when the journey started). */
export function assertNoCspViolations(violations, from = 0, name = 'the journey') {
  const seen = violations.slice(from);
  if (seen.length > 0) {
    throw new Error(`${name}: ${seen.length} Content-Security-Policy violation(s):\n  ${seen.join('\n  ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Accessibility: axe-core's WCAG 2.0 and 2.1 level A and AA rules on the screen as it stands.

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const BLOCKING = new Set(['serious', 'critical']);

const describeViolation = (v) =>
  `${v.id} (${v.impact}): ${v.help}\n      ${v.nodes.map((n) => n.target.join(' ')).join('\n      ')}`;

/**
 * Runs axe-core (WCAG 2.0/2.1 A and AA) on what `page` shows now, `screen` naming it in the
 * output. Throws on a violation of impact serious or critical, with the rule ids and the
 * elements; minor and moderate ones are printed as notes. Legacy mode: axe.run in the page
 * itself (the SPA has no frames), so no helper page opens in the journey's context. Axe is put
 * in through DevTools' evaluate, which the page's Content-Security-Policy does not govern.
 */
export async function expectAccessible(page, screen) {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG_TAGS).setLegacyMode().analyze();
  const blocking = violations.filter((v) => BLOCKING.has(v.impact));
  const notes = violations.filter((v) => !BLOCKING.has(v.impact));
  if (notes.length > 0) {
    process.stderr.write(`accessibility notes on ${screen}:\n  ${notes.map(describeViolation).join('\n  ')}\n`);
  }
  if (blocking.length > 0) {
    throw new Error(`${screen}: ${blocking.length} serious or critical accessibility violation(s) (WCAG 2.1 AA):\n  ${blocking.map(describeViolation).join('\n  ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The whole stack for one test file.

let counter = 0;
/** A unique agent address for this run. */
export function uniqueEmail(prefix) {
  counter += 1;
  return `${prefix}.${process.pid}.${counter}.${randomBytes(2).toString('hex')}@acme.example`;
}

/**
 * Starts the SMTP sink, the OpenID Provider (with `oidcClients`, each getting the API's
 * redirect URI), the API and Chromium. `stack.journey(name, fn)` runs `fn(page, context)` in a
 * fresh browser context and saves screenshots/<name>.png of the screen it ends on.
 * `host`: the name the browser and AUTH_PUBLIC_URL use. WebAuthn refuses an IP address as the
 * relying party, so the passkey journeys pass `localhost` (still a secure context over http).
 */
export async function startStack({ oidcClients = [], host = '127.0.0.1', locale } = {}) {
  const started = [];
  const stopAll = async () => {
    for (const s of started.reverse()) {
      try {
        await s();
      } catch (e) {
        process.stderr.write(`cleanup: ${e.message}\n`);
      }
    }
  };
  try {
    const mail = await startSmtpSink();
    started.push(() => mail.stop());

    const port = await freePort();
    const base = `http://${host}:${port}`;
    const redirectUri = `${base}/api/v1/auth/sso/callback`;

    let oidc = null;
    if (oidcClients.length > 0) {
      oidc = await startOidcProvider(oidcClients.map((c) => ({ ...c, redirect_uris: [redirectUri] })));
      started.push(() => oidc.stop());
    }

    const api = await startApi({ port, smtpUrl: mail.url, publicUrl: base });
    started.push(async () => {
      if (process.env.E2E_KEEP_LOGS === '1') process.stderr.write(`--- cloudcx-auth ---\n${api.output()}\n`);
      await api.stop();
    });

    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // `locale` (e.g. `zh-CN`): the browser's language, as its UI and `Accept-Language` say it.
      args: locale ? [...CHROMIUM_ARGS, `--lang=${locale}`] : CHROMIUM_ARGS,
    });
    started.push(() => browser.close());
    /** Every CSP violation any page of this stack reported, oldest first. */
    const cspViolations = [];
    watchCspViolations(browser, cspViolations);

    mkdirSync(SCREENSHOTS, { recursive: true });
    // The API's own address: Node may resolve `localhost` to ::1, where nothing listens.
    const client = apiClient(api.base);

    async function newPage() {
      const context = await browser.newContext({ acceptDownloads: true, baseURL: base, viewport: { width: 1280, height: 900 }, locale });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      return { context, page };
    }

    async function journey(name, fn) {
      const cspFrom = cspViolations.length;
      const { context, page } = await newPage();
      try {
        await fn(page, context);
        // Also what the journey's other contexts (a second browser, a second user) reported.
        assertNoCspViolations(cspViolations, cspFrom, name);
      } finally {
        try {
          await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
        } catch (e) {
          process.stderr.write(`screenshot ${name}: ${e.message}\n`);
        }
        await context.close();
      }
    }

    return { base, redirectUri, mail, oidc, api, browser, client, newPage, journey, cspViolations, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/**
 * The stack for the enclosing `describe`: started in `before` (then `setup(stack)` runs),
 * stopped in `after`. Returns a getter for the tests; when start-up failed the getter throws
 * its error, so each test is reported as failed (not merely cancelled by a failed hook).
 */
export function useStack({ setup, ...options } = {}) {
  const held = { stack: null, error: null };
  before(async () => {
    try {
      held.stack = await startStack(options);
      await setup?.(held.stack);
    } catch (e) {
      held.error = e;
    }
  });
  after(async () => {
    await held.stack?.stop();
  });
  return () => {
    if (held.error) throw held.error;
    if (!held.stack) throw new Error('the stack is not running');
    return held.stack;
  };
}

// ---------------------------------------------------------------------------------------------
// Steps in the SPA shared by the journeys.

/** Fills the sign-in form and submits it (what follows depends on the account). */
export async function submitPassword(page, email, password = AGENT_PASSWORD, tenant = TENANT) {
  await page.goto('/login');
  await page.getByLabel('Site').fill(tenant);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Password only, landing on Security Settings. */
export async function signIn(page, email, password = AGENT_PASSWORD) {
  await submitPassword(page, email, password);
  await page.getByRole('heading', { name: 'Security Settings' }).waitFor();
}

/** The profile menu's "Sign out", back on the sign-in page. */
export async function signOut(page) {
  await page.getByRole('button', { name: /Account menu/ }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to CloudCX' }).waitFor();
}

/** The oidc-provider devInteractions login form, when it is shown. */
export async function providerLogin(page, login) {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any-password');
  await page.locator('button[type="submit"]').click();
}

// ---------------------------------------------------------------------------------------------
// Account lifecycle helpers (password reset links, assertions on refused tokens).

/** `text` as a literal inside a RegExp. */
export const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The reset link (`{AUTH_PUBLIC_URL}/reset-password?token=…`) of the newest "Reset your CloudCX
 * password" mail to `address` among those after the first `after` (from `mail.count()`).
 * Waits up to 15 s.
 */
export async function resetLinkFor(mail, address, { after = 0, timeoutMs = 15_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = mail.to(address).slice(after);
    for (let i = mine.length - 1; i >= 0; i--) {
      const m = mine[i].body.match(/https?:\/\/\S+\/reset-password\?token=[A-Za-z0-9_\-%.~]+/);
      if (m) return m[0];
    }
    if (Date.now() > deadline) {
      throw new Error(`no reset link for ${address} in ${timeoutMs} ms; got: ${JSON.stringify(mail.to(address).map((x) => x.subject))}`);
    }
    await sleep(100);
  }
}

/** Asserts that `promise` (an API call) fails with this status and, when given, problem code. */
export async function rejectsWith(promise, status, code) {
  try {
    await promise;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status !== status || (code && e.body?.code !== code)) {
      throw new Error(`expected ${status}${code ? ` ${code}` : ''}, got ${e.message}`, { cause: e });
    }
    return e;
  }
  throw new Error(`expected ${status}${code ? ` ${code}` : ''}, got a success`);
}
