import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { signInThroughPages } from '../support/browser-steps.mjs';
import { freePort } from '../support/free-port.js';
import { InMemoryOAuthProvider } from '../support/oauth-provider.js';
import { TEST_REDIRECT_URI, authorizeUrl, pkcePair } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import { selfSignedCertificate } from '../support/tls.js';
import type { TestCertificate } from '../support/tls.js';
import type { TestApp } from '../support/test-app.js';

/**
 * Client ID Metadata Documents: a client whose id is an https URL, served by the test over https
 * with its own certificate authority. The server fetches the document with SSRF guards.
 */
describe('clients identified by a metadata document', () => {
  let tls: TestCertificate;
  let docs: Server;
  let docsBase: string;
  let app: TestApp;
  let guarded: TestApp;
  const fetched: string[] = [];

  function documentFor(path: string, extra: Record<string, unknown> = {}) {
    return {
      client_id: `${docsBase}${path}`,
      client_name: 'Metadata document client',
      redirect_uris: [TEST_REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...extra,
    };
  }

  beforeAll(async () => {
    tls = selfSignedCertificate();
    const port = await freePort();
    docsBase = `https://localhost:${port}`;
    docs = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      fetched.push(req.url ?? '');
      const json = (body: unknown) =>
        res
          .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' })
          .end(JSON.stringify(body));
      switch (req.url ?? '') {
        case '/client.json':
          return json(documentFor('/client.json'));
        case '/impostor.json':
          return json(documentFor('/client.json'));
        case '/confidential.json':
          return json(
            documentFor('/confidential.json', {
              token_endpoint_auth_method: 'client_secret_basic',
            }),
          );
        case '/huge.json':
          return json(documentFor('/huge.json', { client_name: 'x'.repeat(40_000) }));
        case '/moved.json':
          return res.writeHead(302, { location: '/client.json' }).end();
        default:
          return res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => docs.listen(port, '127.0.0.1', resolve));
    const trust = { OAUTH_EXTRA_CA_FILE: tls.certPath };
    app = await startTestApp({ env: { ...trust, CLIENT_METADATA_ALLOW_LOOPBACK: 'true' } });
    guarded = await startTestApp({ env: trust });
  });

  afterAll(async () => {
    await app?.close();
    await guarded?.close();
    await new Promise((resolve) => docs?.close(resolve));
    tls?.remove();
  });

  it('lets the MCP SDK client authorize with its document URL as client_id, fetched once', async () => {
    const metadata = (await (
      await fetch(`${app.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(metadata['client_id_metadata_document_supported']).toBe(true);

    const provider = new InMemoryOAuthProvider({}, `${docsBase}/client.json`);
    const first = new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), {
      authProvider: provider,
    });
    await expect(new Client({ name: 'cimd', version: '1' }).connect(first)).rejects.toThrow(
      UnauthorizedError,
    );
    const authorization = provider.authorizationUrl!;
    expect(authorization.searchParams.get('client_id')).toBe(`${docsBase}/client.json`);
    const { redirect } = await signInThroughPages(authorization, null);
    await first.finishAuth(redirect?.searchParams.get('code') ?? '');

    const client = new Client({ name: 'cimd', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), { authProvider: provider }),
    );
    try {
      const result = await client.callTool({ name: 'list_channels', arguments: {} });
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    // Authorize and token both needed the client; the document's max-age kept it cached.
    expect(fetched.filter((path) => path === '/client.json')).toHaveLength(1);
  });

  async function authorizeAt(
    target: TestApp,
    clientId: string,
  ): Promise<{ status: number; text: string; location: string | null }> {
    const response = await fetch(authorizeUrl(target.url, clientId, pkcePair()), {
      redirect: 'manual',
    });
    return {
      status: response.status,
      text: await response.text(),
      location: response.headers.get('location'),
    };
  }

  it.each([
    ['/impostor.json', /must give its own URL as client_id/],
    ['/confidential.json', /is public/],
    ['/huge.json', /larger than/],
    ['/moved.json', /HTTP 302/],
    ['/missing.json', /HTTP 404/],
  ])('refuses the document at %s with a page that says why', async (path, reason) => {
    const answer = await authorizeAt(app, `${docsBase}${path}`);
    expect(answer.status).toBe(400);
    expect(answer.location).toBeNull();
    expect(answer.text).toMatch(reason);
  });

  it('never fetches from loopback, private or link-local addresses unless allowed', async () => {
    const before = fetched.length;
    for (const clientId of [
      `${docsBase}/client.json`,
      'https://127.0.0.1:1/client.json',
      'https://10.0.0.1/client.json',
      'https://169.254.169.254/latest/meta-data.json',
      'https://[::1]/client.json',
      'https://[fd00::1]/client.json',
      'https://[::ffff:192.168.0.1]/client.json',
    ]) {
      const answer = await authorizeAt(guarded, clientId);
      expect({ clientId, status: answer.status }).toEqual({ clientId, status: 400 });
      expect(answer.text).toMatch(/not a public address/);
    }
    expect(fetched.length).toBe(before);
  });

  it('treats an http URL as an ordinary, unknown client id', async () => {
    const answer = await authorizeAt(app, `http://localhost/client.json`);
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/client_id is unknown/);
  });
});
