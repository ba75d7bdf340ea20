import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { signInThroughPages } from '../support/browser-steps.mjs';
import { InMemoryOAuthProvider } from '../support/oauth-provider.js';
import { jwtClaims, registerClient, tokenRequest } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

/** A GET with a Host header of the test's choosing (fetch sends the URL's own). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client-credentials token for `resource` from a client registered in the open mode. */
async function clientCredentialsToken(
  baseUrl: string,
  resource: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const client = await registerClient(baseUrl, {
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_post',
    redirect_uris: [],
  });
  return tokenRequest(baseUrl, {
    grant_type: 'client_credentials',
    client_id: client.client_id,
    client_secret: client.client_secret ?? '',
    resource,
  });
}

function listChannels(url: string, token: string): Promise<Response> {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'list_channels', arguments: {} },
    }),
  });
}

/**
 * A person who starts the server with PUBLIC_URL=http://127.0.0.1:<port> and gives their client
 * http://localhost:<port>/mcp (or the other way round) reaches the same server: the OAuth flow
 * must work under either loopback spelling, while a PUBLIC_URL on any other host keeps exactly one.
 */
describe('a loopback PUBLIC_URL reached under another loopback spelling', () => {
  let app: TestApp;
  let localhost: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_MODE: 'open' } });
    localhost = app.url.replace('127.0.0.1', 'localhost');
  });

  afterAll(async () => {
    await app?.close();
  });

  it('lets the MCP SDK client authorize and call tools at localhost while PUBLIC_URL says 127.0.0.1', async () => {
    const provider = new InMemoryOAuthProvider({ client_name: 'localhost client' });
    const first = new StreamableHTTPClientTransport(new URL(`${localhost}/mcp`), {
      authProvider: provider,
    });
    // Before: "Protected resource http://127.0.0.1:…/mcp does not match expected
    // http://localhost:…/mcp (or origin)", thrown by the client before any authorization.
    await expect(new Client({ name: 'loopback', version: '1' }).connect(first)).rejects.toThrow(
      UnauthorizedError,
    );
    const authorizationUrl = provider.authorizationUrl!;
    expect(authorizationUrl.searchParams.get('resource')).toBe(`${localhost}/mcp`);
    const redirect = (await signInThroughPages(authorizationUrl, null)).redirect;
    const code = redirect?.searchParams.get('code');
    if (!code) throw new Error(`no code: ${redirect?.toString()}`);
    await first.finishAuth(code);

    const client = new Client({ name: 'loopback', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${localhost}/mcp`), { authProvider: provider }),
    );
    try {
      const result = await client.callTool({ name: 'health_check', arguments: {} });
      expect(result.isError).toBeFalsy();
      expect(JSON.stringify(result.content)).toContain('healthy');
      expect(jwtClaims(provider.tokens()!.access_token)).toMatchObject({
        aud: `${localhost}/mcp`,
        iss: app.url,
      });
    } finally {
      await client.close();
    }
  });

  it('names the metadata and the resource under the spelling the request used', async () => {
    const res = await fetch(`${localhost}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${localhost}/.well-known/oauth-protected-resource/mcp", scope="channels:read channels:write"`,
    );
    const port = new URL(app.url).port;
    for (const [host, base] of [
      [`localhost:${port}`, localhost],
      [`[::1]:${port}`, `http://[::1]:${port}`],
      [`127.0.0.1:${port}`, app.url],
    ] as const) {
      const { status, body } = await getWithHost(
        `${app.url}/.well-known/oauth-protected-resource/mcp`,
        host,
      );
      expect(status).toBe(200);
      expect(JSON.parse(body)).toMatchObject({
        resource: `${base}/mcp`,
        // One authorization server, whatever the spelling: the issuer of every token.
        authorization_servers: [app.url],
      });
    }
  });

  it('answers PUBLIC_URL to a Host that is not a loopback spelling of its port', async () => {
    const port = Number(new URL(app.url).port);
    for (const host of [`localhost:${port + 1}`, `evil.example:${port}`, 'localhost']) {
      const { body } = await getWithHost(`${app.url}/.well-known/oauth-protected-resource`, host);
      expect(JSON.parse(body)).toMatchObject({ resource: `${app.url}/mcp` });
    }
  });

  it('accepts a token for either spelling at either spelling, and no other port', async () => {
    const forLocalhost = await clientCredentialsToken(app.url, `${localhost}/mcp`);
    expect(forLocalhost.status).toBe(200);
    const token = forLocalhost.body['access_token'] as string;
    expect(jwtClaims(token)['aud']).toBe(`${localhost}/mcp`);
    expect((await listChannels(app.url, token)).status).toBe(200);
    expect((await listChannels(localhost, token)).status).toBe(200);

    const canonical = await clientCredentialsToken(localhost, `${app.url}/mcp`);
    expect(canonical.status).toBe(200);
    expect((await listChannels(localhost, canonical.body['access_token'] as string)).status).toBe(
      200,
    );

    const port = Number(new URL(app.url).port);
    const otherPort = await clientCredentialsToken(app.url, `http://localhost:${port + 1}/mcp`);
    expect(otherPort.status).toBe(400);
    expect(otherPort.body['error']).toBe('invalid_target');
  });
});

describe('a PUBLIC_URL on a host that is not loopback', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      env: { AUTH_MODE: 'open', PUBLIC_URL: 'https://mcp.example.com' },
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('keeps its one spelling: loopback Hosts get PUBLIC_URL, loopback resources are refused', async () => {
    const port = new URL(app.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      const { body } = await getWithHost(
        `${app.url}/.well-known/oauth-protected-resource/mcp`,
        host,
      );
      expect(JSON.parse(body)).toMatchObject({ resource: 'https://mcp.example.com/mcp' });
    }
    const challenge = await fetch(`${app.url}/mcp`, { method: 'POST' });
    expect(challenge.headers.get('www-authenticate')).toContain(
      'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"',
    );
    const refused = await clientCredentialsToken(app.url, `${app.url}/mcp`);
    expect(refused.status).toBe(400);
    expect(refused.body['error']).toBe('invalid_target');
  });
});
