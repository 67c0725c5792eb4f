// A real OpenID provider (panva/oidc-provider, OpenID certified) for the SSO tests.
//
//   node server.mjs config.json
//
// config.json: {"clients": [...oidc-provider client metadata...],
//               "accounts": {"<sub>": {"email": ..., "name": ..., "<role claim>": ...}},
//               "roleClaim": "tracker_role", "idTokenTtl": 3600}
// It listens on 127.0.0.1 on a free port and prints one JSON line {"issuer": ...} on stdout.
// Sign-in uses oidc-provider's built-in development screens (login = the account's sub).
//
// Test-only controls under /__admin (JSON bodies, never part of a real provider):
//   POST /__admin/rotate   new signing key; the old one leaves the JWKS (key rotation)
//   POST /__admin/config   merge settings and rebuild: idTokenTtl, tokenDelayMs (hold the
//                          token response, so a short-lived ID token arrives expired),
//                          idTokenOverrides (claims set in the ID token, re-signed with
//                          the provider's key: another audience, another issuer),
//                          accounts (replace the directory)
//   GET  /__admin/state    the current settings and signing key id
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
settings.idTokenTtl ??= 3600;
settings.tokenDelayMs ??= 0;
settings.idTokenOverrides ??= null;
settings.roleClaim ??= 'tracker_role';
const cookieKeys = [randomBytes(32).toString('hex')];
let signingKey;
let provider;

async function newSigningKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid: `k-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

async function reSign(idToken, overrides) {
  const claims = jose.decodeJwt(idToken);
  const key = await jose.importJWK(signingKey, 'RS256');
  return new jose.SignJWT({ ...claims, ...overrides })
    .setProtectedHeader({ alg: 'RS256', kid: signingKey.kid })
    .sign(key);
}

function build(issuer) {
  const instance = new Provider(issuer, {
    clients: settings.clients,
    jwks: { keys: [signingKey] },
    cookies: { keys: cookieKeys },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', settings.roleClaim],
    },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    pkce: { required: () => true },
    ttl: { IdToken: settings.idTokenTtl },
    async findAccount(ctx, sub) {
      const claims = settings.accounts[sub];
      if (!claims) return undefined; // removed at the provider: no more sign-ins
      return { accountId: sub, async claims() { return { sub, ...claims }; } };
    },
  });
  instance.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
    if (settings.idTokenOverrides) {
      ctx.body = {
        ...ctx.body,
        id_token: await reSign(ctx.body.id_token, settings.idTokenOverrides),
      };
    }
    if (settings.tokenDelayMs) await sleep(settings.tokenDelayMs);
  });
  return instance;
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function admin(req, res, issuer) {
  if (req.method === 'GET' && req.url === '/__admin/state') {
    return reply(res, 200, { ...settings, kid: signingKey.kid });
  }
  if (req.method === 'POST' && req.url === '/__admin/rotate') {
    signingKey = await newSigningKey();
    provider = build(issuer);
    return reply(res, 200, { kid: signingKey.kid });
  }
  if (req.method === 'POST' && req.url === '/__admin/config') {
    Object.assign(settings, await readJson(req));
    provider = build(issuer);
    return reply(res, 200, { ...settings, kid: signingKey.kid });
  }
  return reply(res, 404, { error: 'unknown admin call' });
}

signingKey = await newSigningKey();
const server = http.createServer((req, res) => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  if (req.url.startsWith('/__admin/')) {
    admin(req, res, issuer).catch((error) => reply(res, 500, { error: String(error) }));
    return;
  }
  provider.callback()(req, res);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = build(issuer);
  process.stdout.write(`${JSON.stringify({ issuer, kid: signingKey.kid })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
