// A real OpenID Provider (npm `oidc-provider`, a certified implementation) on loopback for the
// SSO black-box tests. Started and stopped by `tests/src/oidc.rs`; run `npm ci` here first.
//
// Environment:
//   PORT                   port on 127.0.0.1; 0 (the default) picks a free one
//   CLIENTS                JSON array of {client_id, client_secret, redirect_uris,
//                          token_endpoint_auth_method?} (default client_secret_basic)
//   CLAIMS_EMAIL_VERIFIED  "false" makes every account's email_verified false (default true)
//   EXIT_ON_STDIN_EOF      "1": exit when stdin closes (the harness's guard against orphans)
//
// Once listening it prints exactly one JSON line on stdout:
//   {"issuer":"http://127.0.0.1:PORT","ready":true}
// (oidc-provider's own notices go to stdout/stderr as other lines; readers look for "ready".)
//
// Accounts (the devInteractions login form takes any login name and any password):
//   - the login name, as typed, is the account id and the `sub`;
//   - `email` is the login itself when it contains '@', else `${login}@example.com`;
//   - `name` is the part of the login before any '@';
//   - `email_verified` is CLAIMS_EMAIL_VERIFIED.
// Consent is granted automatically (loadExistingGrant), so after the login form the browser
// goes straight back to the client's redirect_uri with `code`, `state` and `iss`.

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const SCOPES = ['openid', 'email', 'profile'];

function fail(message) {
  process.stderr.write(`oidc-provider fixture: ${message}\n`);
  process.exit(2);
}

const port = Number.parseInt(process.env.PORT ?? '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad PORT ${process.env.PORT}`);

let clients;
try {
  clients = JSON.parse(process.env.CLIENTS ?? '[]');
} catch (e) {
  fail(`CLIENTS is not JSON: ${e.message}`);
}
if (!Array.isArray(clients)) fail('CLIENTS must be a JSON array');

const emailVerified = (process.env.CLAIMS_EMAIL_VERIFIED ?? 'true').toLowerCase() !== 'false';

/** The claims of the account named by a devInteractions login. */
function accountClaims(login) {
  const email = login.includes('@') ? login : `${login}@example.com`;
  return {
    sub: login,
    email,
    email_verified: emailVerified,
    name: login.split('@')[0],
  };
}

// Listen first so that port 0 is resolved before the issuer (which must contain it) is known.
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'fixture-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: SCOPES,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the scope's claims (email, name) in the ID token too, as Google does, not only in userinfo.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    // Off: not needed, and keeps the discovery document small.
    introspection: { enabled: false },
    revocation: { enabled: false },
  },
  // Every client must use PKCE (oidc-provider only supports S256).
  pkce: { required: () => true },
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return accountClaims(id);
      },
    };
  },
  // Consent granted automatically: reuse the session's grant or create one covering our scopes.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(SCOPES.join(' '));
    grant.addOIDCClaims(['email', 'email_verified', 'name']);
    await grant.save();
    return grant;
  },
  clientBasedCORS: () => true,
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    ClientCredentials: 600,
    DeviceCode: 600,
    BackchannelAuthenticationRequest: 600,
    IdToken: 3600,
    Interaction: 3600,
    PreAuthorizedCode: 600,
    RefreshToken: 86400,
    Session: 86400,
    Grant: 86400,
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

server.on('request', provider.callback());

process.stdout.write(`${JSON.stringify({ issuer, ready: true })}\n`);

// The test harness kills the child; also stop cleanly on a polite signal.
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The harness sets EXIT_ON_STDIN_EOF=1 and holds our stdin: if the test process dies without
// killing us, the pipe closes and we go too (no orphaned providers).
if (process.env.EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
