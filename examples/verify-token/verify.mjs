#!/usr/bin/env node
// Verify a CloudCX Auth access token offline, the way another CloudCX service should:
// signature against the published JWKS (keys fetched once and cached; an unknown `kid`
// refetches, so key rotation needs nothing), then `typ`, `iss`, `aud`, `exp`/`nbf`.
//
//   node verify.mjs --jwks URL --issuer ISS --audience AUD [TOKEN]
//
// TOKEN may also come on standard input. On success: the payload as JSON on stdout, exit 0.
// A rejected token: `invalid: <jose error code>` on stderr, exit 1.
// Bad arguments or a JWKS that cannot be fetched: `error: ...` on stderr, exit 2.
//
// An offline check does not see revocation (logout, a disabled user…) before the token's
// expiry (15 minutes); a service that needs that uses POST /oauth/introspect instead.
import { parseArgs } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const USAGE = 'usage: node verify.mjs --jwks URL --issuer ISS --audience AUD [TOKEN]  (TOKEN also from stdin)';

function fail(message, code = 2) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function readStdin() {
  if (process.stdin.isTTY) return '';
  let data = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) data += chunk;
  return data;
}

let args;
try {
  args = parseArgs({
    options: {
      jwks: { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
} catch (err) {
  fail(`error: ${err.message}\n${USAGE}`);
}
const { values, positionals } = args;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!values.jwks || !values.issuer || !values.audience) fail(`error: --jwks, --issuer and --audience are required\n${USAGE}`);
if (positionals.length > 1) fail(`error: one token at most\n${USAGE}`);

let jwksUrl;
try {
  jwksUrl = new URL(values.jwks);
} catch {
  fail(`error: --jwks is not a URL: ${values.jwks}`);
}

let token = positionals[0] ?? (await readStdin());
token = token.trim().replace(/^Bearer\s+/i, '');
if (!token) fail(`error: no token (give it as an argument or on stdin)\n${USAGE}`);

// In a long-running service, create this once and reuse it: it caches the keys.
const jwks = createRemoteJWKSet(jwksUrl, { timeoutDuration: 5000 });

try {
  const { payload } = await jwtVerify(token, jwks, {
    issuer: values.issuer,
    audience: values.audience,
    typ: 'at+jwt',
    algorithms: ['RS256', 'ES256'],
    // jose checks exp only when present: CloudCX access tokens always carry these.
    requiredClaims: ['exp', 'iat', 'sub'],
  });
  process.stdout.write(`${JSON.stringify(payload, null, 2)}\n`);
} catch (err) {
  if (typeof err?.code === 'string' && err.code.startsWith('ERR_')) {
    const fetchProblem = err.code === 'ERR_JWKS_TIMEOUT' || (err.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(err.message));
    if (fetchProblem) fail(`error: cannot fetch the JWKS from ${jwksUrl}: ${err.message}`);
    if (values.verbose) process.stderr.write(`${err.message}\n`);
    fail(`invalid: ${err.code}`, 1);
  }
  // No jose code: the JWKS could not be fetched (connection refused, DNS…) or a bug.
  fail(`error: ${err?.message ?? err}${err?.cause ? ` (${err.cause.code ?? err.cause.message ?? err.cause})` : ''}`);
}
