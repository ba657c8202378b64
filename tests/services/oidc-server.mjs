// Test-only OpenID Connect provider for TransferTools integration tests.
// Started by Start-TestOidcProvider (TestServices.psm1); binds 127.0.0.1 only.
//
// Environment:
//   TT_OIDC_PORT                 port to listen on (required)
//   TT_OIDC_CLIENT_SECRET        secret of the client-credentials client 'tt-runbook' (required)
//   TT_OIDC_AUDIENCE             'aud' of JWT access tokens (default 'transfertools')
//   TT_OIDC_RESOURCE             resource indicator (default 'urn:transfertools')
//   TT_OIDC_ACCESS_TOKEN_TTL     access token lifetime in seconds (default 600)
//   TT_OIDC_DEVICE_INTERVAL      'interval' advertised by the device authorization endpoint (default 1)
//
// Test-only endpoints (JSON in, JSON out):
//   POST /test/approve-device  {user_code, accountId?, scope?}  approves a pending device code
//   POST /test/deny-device     {user_code}                      denies it (access_denied)
//   GET  /test/health          {"ok":true}
import { createRequire } from 'node:module';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'node', 'package.json'));
const { default: Provider, errors } = await import(require.resolve('oidc-provider'));

const port = Number(process.env.TT_OIDC_PORT);
if (!port) throw new Error('TT_OIDC_PORT is required');
const clientSecret = process.env.TT_OIDC_CLIENT_SECRET;
if (!clientSecret) throw new Error('TT_OIDC_CLIENT_SECRET is required');
const audience = process.env.TT_OIDC_AUDIENCE || 'transfertools';
const resource = process.env.TT_OIDC_RESOURCE || 'urn:transfertools';
const accessTokenTtl = Number(process.env.TT_OIDC_ACCESS_TOKEN_TTL || 600);
const deviceInterval = Number(process.env.TT_OIDC_DEVICE_INTERVAL || 1);
const issuer = `http://127.0.0.1:${port}`;

const resourceScopes = ['transfer.read', 'transfer.write', 'transfer.delete'];
const oidcScopes = ['openid', 'offline_access', 'profile', 'roles'];

// Known accounts; any other accountId is accepted too and gets the 'transfer.user' role.
const accounts = {
  alice: { name: 'Alice Admin', roles: ['transfer.admin', 'transfer.user'] },
  bob: { name: 'Bob Reader', roles: ['transfer.reader'] },
};
function accountFor(id) {
  const a = accounts[id] || { name: id, roles: ['transfer.user'] };
  return {
    accountId: id,
    async claims() {
      return { sub: id, name: a.name, roles: a.roles };
    },
  };
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'tt-test-key', use: 'sig', alg: 'RS256' };

const configuration = {
  clients: [
    {
      client_id: 'tt-runbook',
      client_secret: clientSecret,
      client_name: 'TransferTools runbook (test)',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'tt-runbook-post',
      client_secret: clientSecret,
      client_name: 'TransferTools runbook (client_secret_post, test)',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    },
    {
      client_id: 'tt-device',
      client_name: 'TransferTools device login (test)',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'none',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: oidcScopes,
  claims: {
    openid: ['sub'],
    profile: ['name'],
    roles: ['roles'],
  },
  findAccount: async (_ctx, sub) => accountFor(sub),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf || resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== resource) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: resourceScopes.join(' '),
          audience,
          accessTokenTTL: accessTokenTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // Device clients get refresh tokens without having to ask for offline_access.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  extraTokenClaims: async (_ctx, token) => {
    if (token.accountId) {
      const a = accounts[token.accountId] || { roles: ['transfer.user'] };
      return { roles: a.roles };
    }
    return undefined;
  },
  ttl: {
    AccessToken: accessTokenTtl,
    ClientCredentials: accessTokenTtl,
    IdToken: 3600,
    DeviceCode: 600,
    RefreshToken: 86400,
    Grant: 86400,
  },
  rotateRefreshToken: true,
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

async function readJson(ctx) {
  const chunks = [];
  for await (const c of ctx.req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  const type = ctx.get('content-type') || '';
  if (type.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  return JSON.parse(text);
}

async function findPending(userCode) {
  if (!userCode) return { error: 'user_code is required', status: 400 };
  const normalized = String(userCode).toUpperCase().replace(/\W/g, '');
  const code = await provider.DeviceCode.findByUserCode(normalized, { ignoreExpiration: true });
  if (!code) return { error: 'unknown user_code', status: 404 };
  if (code.isExpired) return { error: 'user_code expired', status: 410 };
  if (code.error || code.accountId) return { error: 'user_code already used', status: 409 };
  return { code };
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/test/health') {
    ctx.body = { ok: true, issuer };
    return;
  }
  if (ctx.method === 'POST' && (ctx.path === '/test/approve-device' || ctx.path === '/test/deny-device')) {
    let body;
    try {
      body = await readJson(ctx);
    } catch (e) {
      ctx.status = 400;
      ctx.body = { error: `invalid body: ${e.message}` };
      return;
    }
    const { code, error, status } = await findPending(body.user_code);
    if (!code) {
      ctx.status = status;
      ctx.body = { error };
      return;
    }
    if (ctx.path === '/test/deny-device') {
      Object.assign(code, { error: 'access_denied', errorDescription: 'End-User denied the request' });
      await code.save();
      ctx.body = { denied: true };
      return;
    }
    const accountId = body.accountId || 'alice';
    const requested = (body.scope || code.params?.scope || `openid offline_access ${resourceScopes.join(' ')}`)
      .split(' ').filter(Boolean);
    const oidcPart = requested.filter((s) => oidcScopes.includes(s));
    const resourcePart = requested.filter((s) => resourceScopes.includes(s));
    const grant = new provider.Grant({ accountId, clientId: code.clientId });
    if (oidcPart.length) grant.addOIDCScope(oidcPart.join(' '));
    if (resourcePart.length) grant.addResourceScope(resource, resourcePart.join(' '));
    const grantId = await grant.save();
    Object.assign(code, {
      accountId,
      grantId,
      authTime: Math.floor(Date.now() / 1000),
      scope: [...oidcPart, ...resourcePart].join(' '),
      resource,
    });
    await code.save();
    ctx.body = { approved: true, accountId, scope: code.scope, grantId };
    return;
  }
  await next();
  if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
    ctx.body.interval = deviceInterval;
  }
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { server.close(); process.exit(0); });
}
