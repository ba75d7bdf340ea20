import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { signInThroughPages } from '../support/browser-steps.mjs';
import { InMemoryOAuthProvider } from '../support/oauth-provider.js';
import { TEST_REDIRECT_URI, jwtClaims, tokenRequest } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

const PASSWORD = 'correct horse battery staple';

/**
 * The MCP SDK client's own OAuth support against the server: discovery from the 401 challenge,
 * registration, the browser step, the code exchange, then tool calls with the token.
 */
async function connectWithOAuth(
  url: string,
  provider: InMemoryOAuthProvider,
  browser: (authorizationUrl: URL) => Promise<URL | null>,
): Promise<Client> {
  const first = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    authProvider: provider,
  });
  const client = new Client({ name: 'oauth-e2e', version: '1.0.0' });
  if (!provider.tokens()) {
    await expect(client.connect(first)).rejects.toThrow(UnauthorizedError);
    const redirect = await browser(provider.authorizationUrl!);
    const code = redirect?.searchParams.get('code');
    if (!code) throw new Error(`no code: ${redirect?.toString()}`);
    await first.finishAuth(code);
  }
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { authProvider: provider }),
  );
  return client;
}

describe('OAuth discovery documents', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('publishes RFC 8414 and RFC 9728 metadata and the signing keys', async () => {
    const as = (await (
      await fetch(`${app.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(as).toMatchObject({
      issuer: app.url,
      authorization_endpoint: `${app.url}/oauth/authorize`,
      token_endpoint: `${app.url}/oauth/token`,
      registration_endpoint: `${app.url}/register`,
      revocation_endpoint: `${app.url}/oauth/revoke`,
      jwks_uri: `${app.url}/.well-known/jwks.json`,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      scopes_supported: ['channels:read', 'channels:write'],
    });
    for (const path of ['', '/mcp']) {
      const resource = (await (
        await fetch(`${app.url}/.well-known/oauth-protected-resource${path}`)
      ).json()) as Record<string, unknown>;
      expect(resource).toMatchObject({
        resource: `${app.url}/mcp`,
        authorization_servers: [app.url],
      });
    }
    const jwks = (await (await fetch(`${app.url}/.well-known/jwks.json`)).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('challenges an MCP request without a token with an absolute resource_metadata URL', async () => {
    for (const [path, metadata] of [
      ['/mcp', '/.well-known/oauth-protected-resource/mcp'],
      ['/', '/.well-known/oauth-protected-resource'],
    ] as const) {
      const res = await fetch(`${app.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${app.url}${metadata}", scope="channels:read channels:write"`,
      );
    }
  });
});

describe('the MCP SDK client authorizing with dynamic registration, AUTH_MODE=open', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_MODE: 'open' } });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('registers, is approved without a page, and calls tools with its token', async () => {
    const provider = new InMemoryOAuthProvider();
    const client = await connectWithOAuth(app.url, provider, async (url) => {
      expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      expect(url.searchParams.get('resource')).toBe(`${app.url}/mcp`);
      return (await signInThroughPages(url, null)).redirect;
    });
    try {
      const result = await client.callTool({ name: 'list_channels', arguments: {} });
      expect(result.isError).toBeFalsy();
      const tokens = provider.tokens()!;
      expect(tokens.refresh_token).toMatch(/^mrt_/);
      expect(jwtClaims(tokens.access_token)).toMatchObject({
        iss: app.url,
        aud: `${app.url}/mcp`,
        tid: 'ten_default',
        pkd: 'anonymous',
        scope: 'channels:read channels:write',
      });
    } finally {
      await client.close();
    }
  });
});

describe('the MCP SDK client signing in to a local account, AUTH_MODE=local', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_MODE: 'local' } });
    await app.admin(['tenant', 'create', 'ten_acme', 'Acme']);
    await app.admin(['account', 'create', 'ten_acme', 'alice@acme.test'], PASSWORD);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('shows the login page, then the consent page naming the client, then redirects with iss', async () => {
    const provider = new InMemoryOAuthProvider({ client_name: 'Claude Desktop (test)' });
    let consent = '';
    const client = await connectWithOAuth(app.url, provider, async (url) => {
      const login = await fetch(url, { redirect: 'manual' });
      expect(login.status).toBe(200);
      expect(login.headers.get('x-frame-options')).toBe('DENY');
      const html = await login.text();
      expect(html).toContain('<label for="username">');
      expect(html).toContain('Claude Desktop (test)');
      const wrong = await signInThroughPages(url, {
        username: 'alice@acme.test',
        password: 'nope',
      });
      expect(wrong.status).toBe(401);
      expect(wrong.html).toContain('role="alert"');
      const done = await signInThroughPages(url, {
        username: 'Alice@Acme.test',
        password: PASSWORD,
      });
      consent = done.pages.find((page) => page.includes('Allow access?')) ?? '';
      expect(done.redirect?.searchParams.get('iss')).toBe(app.url);
      expect(done.redirect?.searchParams.get('state')).toBe(url.searchParams.get('state'));
      return done.redirect;
    });
    try {
      // The consent page names the client, where it will send the person, and what it may do.
      expect(consent).toContain('Claude Desktop (test)');
      expect(consent).toContain('127.0.0.1:65529');
      expect(consent).toContain('post in them as you');
      const created = await client.callTool({
        name: 'create_channel',
        arguments: { name: 'acme room', slots: ['invite:a'] },
      });
      expect(created.isError).toBeFalsy();
      expect(jwtClaims(provider.tokens()!.access_token)).toMatchObject({
        tid: 'ten_acme',
        pkd: 'user',
      });
    } finally {
      await client.close();
    }
  });

  it('asks for consent once per client, and a denial reaches the client as access_denied', async () => {
    const provider = new InMemoryOAuthProvider({ client_name: 'Second client' });
    const transport = new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), {
      authProvider: provider,
    });
    await expect(new Client({ name: 'x', version: '1' }).connect(transport)).rejects.toThrow(
      UnauthorizedError,
    );
    const url = provider.authorizationUrl!;
    const denied = await signInThroughPages(
      url,
      { username: 'alice@acme.test', password: PASSWORD },
      'deny',
    );
    expect(denied.redirect?.searchParams.get('error')).toBe('access_denied');
    expect(denied.redirect?.searchParams.get('code')).toBeNull();

    const allowed = await signInThroughPages(url, {
      username: 'alice@acme.test',
      password: PASSWORD,
    });
    expect(allowed.redirect?.searchParams.get('code')).toBeTruthy();
    // Remembered: the same person and client go straight from login to the client.
    const login = await fetch(url, { redirect: 'manual' });
    const again = await signInThroughPages(url, {
      username: 'alice@acme.test',
      password: PASSWORD,
    });
    expect(login.status).toBe(200);
    expect(again.redirect?.searchParams.get('code')).toBeTruthy();
  });

  it('gives an administrator-made script client tokens by client credentials, Basic or post', async () => {
    const output = await app.admin(['client', 'create', 'ten_acme', 'nightly report']);
    const id = /client_id=(\S+)/.exec(output)?.[1] ?? '';
    const secret = /client_secret=(\S+)/.exec(output)?.[1] ?? '';
    const basic = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const viaBasic = await tokenRequest(
      app.url,
      { grant_type: 'client_credentials', scope: 'channels:read' },
      { authorization: basic },
    );
    expect(viaBasic.status).toBe(200);
    expect(viaBasic.body).toMatchObject({ token_type: 'Bearer', scope: 'channels:read' });
    expect(viaBasic.body).not.toHaveProperty('refresh_token');
    const viaPost = await tokenRequest(app.url, {
      grant_type: 'client_credentials',
      client_id: id,
      client_secret: secret,
    });
    expect(viaPost.status).toBe(200);
    const token = viaBasic.body['access_token'] as string;
    expect(jwtClaims(token)).toMatchObject({ tid: 'ten_acme', pkd: 'service' });
    const list = await fetch(`${app.url}/api/v1/channels`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ channels: [] });
  });
});

describe('rate limits on the authorization server', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { OAUTH_RATE_BURST: '3', OAUTH_RATE_PER_MINUTE: '1' } });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('stops a registration flood from one address with 429 and Retry-After', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) {
      answers.push(
        await fetch(`${app.url}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            redirect_uris: [TEST_REDIRECT_URI],
            token_endpoint_auth_method: 'none',
          }),
        }),
      );
    }
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201, 429]);
    const limited = answers[3]!;
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error: 'temporarily_unavailable' });
  });

  it('limits guesses at one client’s token endpoint and at the login page', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await tokenRequest(app.url, { grant_type: 'client_credentials', client_id: 'mcc_guess' }))
          .status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    const pages = [];
    for (let i = 0; i < 4; i++) {
      pages.push((await fetch(`${app.url}/oauth/authorize?client_id=x`)).status);
    }
    expect(pages).toEqual([400, 400, 400, 429]);
  });
});
