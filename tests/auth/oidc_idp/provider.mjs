// A real OpenID provider for ccmon's tests: the certified `oidc-provider` package (v8) with static clients, a few
// test users carrying a `groups` claim, and a plain HTML login form that a browser (or httpx) fills in.
//
//   node provider.mjs --port 4455 [--host 127.0.0.1]
//
// The package is not a dependency of ccmon: scripts/test installs it into .cache/oidc-provider, and
// $CCMON_OIDC_PROVIDER_DIR (default: that folder) says where it is. The issuer is http://HOST:PORT. Everything is
// in memory and the signing keys are new at every start: nothing outlives the process.
//
// Clients (client_secret_basic; PKCE with S256 required of every client):
//   ccmon        secret ccmon-test-secret, redirect http://127.0.0.1/auth/oidc/callback, ID tokens signed RS256.
//                Registered as a native client so that any loopback port is accepted (RFC 8252, 7.3): the tests
//                start ccmon on a free port after the provider.
//   other-app    secret other-app-secret, redirect http://127.0.0.1/cb, ID tokens signed ES256: a second relying
//                party whose ID tokens ccmon must refuse (wrong audience).
//
// Users (password = the part before the @, twice, joined by a dash, e.g. alice-alice):
//   alice@example.com   groups ccmon-admins, staff
//   bob@example.com     groups engineering
//   carol@example.com   groups contractors          (matches no role rule in the tests)
//   dave@example.com    groups engineering, email_verified false
//   erin@example.com    groups engineering; her authorization codes expire after 1 s (the expired-code test)

import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
if (!args.port) {
  console.error('usage: node provider.mjs --port PORT [--host HOST]');
  process.exit(2);
}
const packageDir = process.env.CCMON_OIDC_PROVIDER_DIR || path.resolve(here, '../../../.cache/oidc-provider');
const entry = path.join(packageDir, 'node_modules', 'oidc-provider', 'lib', 'index.js');
const { default: Provider, errors, interactionPolicy } = await import(pathToFileURL(entry).href);

const issuer = `http://${args.host}:${args.port}`;

function user(email, groups, extra = {}) {
  const local = email.split('@')[0];
  return {
    email,
    password: `${local}-${local}`,
    name: local[0].toUpperCase() + local.slice(1),
    groups,
    emailVerified: true,
    codeTtl: 60,
    ...extra,
  };
}

const USERS = new Map(
  [
    user('alice@example.com', ['ccmon-admins', 'staff']),
    user('bob@example.com', ['engineering']),
    user('carol@example.com', ['contractors']),
    user('dave@example.com', ['engineering'], { emailVerified: false }),
    user('erin@example.com', ['engineering'], { codeTtl: 1 }),
  ].map((u) => [u.email, u]),
);

function signingKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: 'rs256-key', use: 'sig', alg: 'RS256' },
    { ...ec, kid: 'es256-key', use: 'sig', alg: 'ES256' },
  ];
}

// The clients are first-party: no consent screen, not even the one native clients get by default (`loadExistingGrant`
// below grants what they ask for).
const policy = interactionPolicy.base();
policy.get('consent').checks.remove('native_client_prompt');

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'ccmon',
      client_secret: 'ccmon-test-secret',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/auth/oidc/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
    },
    {
      client_id: 'other-app',
      client_secret: 'other-app-secret',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/cb'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: signingKeys() },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  // `groups` is not a standard scope: a scope of that name releases the claim of that name.
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  pkce: { methods: ['S256'], required: () => true },
  features: {
    devInteractions: { enabled: false },
  },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: (ctx, code) => USERS.get(code.accountId)?.codeTtl ?? 60,
    IdToken: 600,
    Interaction: 600,
    Session: 600,
    Grant: 600,
  },
  async findAccount(ctx, sub) {
    const found = USERS.get(sub);
    if (!found) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: found.email,
          email_verified: found.emailVerified,
          name: found.name,
          groups: found.groups,
        };
      },
    };
  },
  // Whatever OpenID scopes a client asks for are granted.
  async loadExistingGrant(ctx) {
    const accountId = ctx.oidc.session?.accountId;
    if (!accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId });
    grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
    await grant.save();
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<p id="error">${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title><link rel="icon" href="data:,"></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function loginForm(uid, clientId, message = '') {
  return page(
    'Test identity provider',
    `<p>Sign in to continue to <b id="client">${escape(clientId)}</b>.</p>
${message ? `<p id="error" role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
  <label>Email <input id="login" name="login" type="email" required autofocus></label>
  <label>Password <input id="password" name="password" type="password" required></label>
  <button id="submit" type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${escape(uid)}/abort"><button id="abort" type="submit">Cancel</button></form>`,
  );
}

async function formBody(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16384) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

async function interaction(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    if (err instanceof errors.SessionNotFound) {
      send(res, 400, page('Error', '<p id="error">This sign-in has expired: start again.</p>'));
      return;
    }
    throw err;
  }
  if (details.uid !== uid) {
    send(res, 400, page('Error', '<p id="error">Unknown sign-in.</p>'));
    return;
  }
  const clientId = details.params.client_id;
  if (req.method === 'GET' && !action) {
    send(res, 200, loginForm(uid, clientId));
    return;
  }
  if (req.method === 'POST' && action === 'login') {
    const form = await formBody(req);
    const found = USERS.get((form.get('login') || '').trim().toLowerCase());
    const password = Buffer.from(form.get('password') || '');
    const ok = found && password.length === found.password.length
      && crypto.timingSafeEqual(password, Buffer.from(found.password));
    if (!ok) {
      send(res, 401, loginForm(uid, clientId, 'Wrong email or password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: found.email } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  if (req.method === 'POST' && action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'the user cancelled the sign-in',
    }, { mergeWithLastSubmission: false });
    return;
  }
  send(res, 405, page('Error', '<p id="error">Method not allowed.</p>'));
}

const handle = provider.callback();
const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?\/?$/.exec(new URL(req.url, issuer).pathname);
  if (!match) {
    handle(req, res);
    return;
  }
  interaction(req, res, match[1], match[2]).catch((err) => {
    console.error('interaction failed', err);
    if (!res.headersSent) send(res, 500, page('Error', '<p id="error">Internal error.</p>'));
  });
});
server.listen(Number(args.port), args.host, () => console.log(`oidc-provider listening on ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
