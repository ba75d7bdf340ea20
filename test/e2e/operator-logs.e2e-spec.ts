import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiProcess, stopApiProcess } from '../support/api-process.js';
import type { ApiProcess } from '../support/api-process.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { authorizeOpen, jwtClaims } from '../support/oauth.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

/** A bot whose every hook fails with an error that tries to start a log line of its own. */
const FAILING_BOT = `export default class Failing {
  constructor(ctx) { this.ctx = ctx; }
  onMessage() { throw new Error('no luck\\n[Nest] forged line \\u001b[31mred'); }
}`;

const MEMBER_TOKEN_IN_QUERY = 'rejoin_not_for_the_log';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A request `fetch` will not send (TRACE), with headers of the test's choosing. */
function rawRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * What an operator sees of the server (issue 12, items 3.2–3.4), run as its own process with its
 * output piped, as under systemd or Kubernetes: one line per request with method, path, status,
 * duration and tenant, never a token or a query string; a line per bot:error; no colour codes;
 * and 405 with an Allow header for a method a path does not serve, TRACE never reflected.
 */
describe('the server log and the methods a path does not serve', () => {
  let database: TestDatabase;
  let api: ApiProcess;
  let accessToken: string;
  let tenantId: string;
  const output: string[] = [];

  const httpLines = () => output.filter((line) => line.includes('[Http] '));
  const awaitLine = async (pattern: RegExp) => {
    await eventually(() => output.some((line) => pattern.test(line)), `a log line ${pattern}`);
    return output.find((line) => pattern.test(line)) ?? '';
  };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const port = await freePort();
    api = await startApiProcess(port, `http://127.0.0.1:${port}`, database, {
      LOG_LEVEL: 'log',
    });
    // The start-up lines the helper kept, then everything from here on.
    output.push(...api.output);
    let partial = '';
    const collect = (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      output.push(...lines);
    };
    api.child.stdout?.on('data', collect);
    api.child.stderr?.on('data', collect);
    ({ accessToken } = await authorizeOpen(api.url));
    tenantId = jwtClaims(accessToken)['tid'] as string;
  });

  afterAll(async () => {
    await stopApiProcess(api);
    await database?.drop();
  });

  it('logs each request once it is answered: method, path, status, duration and tenant', async () => {
    const listed = await fetch(`${api.url}/api/v1/channels?member_token=${MEMBER_TOKEN_IN_QUERY}`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    expect(listed.status).toBe(200);
    const invalid = await fetch(`${api.url}/api/v1/channels`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: '', slots: [] }),
    });
    expect(invalid.status).toBe(400);
    const anonymous = await fetch(`${api.url}/api/v1/channels?cursor=${MEMBER_TOKEN_IN_QUERY}`);
    expect(anonymous.status).toBe(401);

    const tenant = escapeRegExp(tenantId);
    await awaitLine(
      new RegExp(`\\[Http\\] GET /api/v1/channels 200 \\d+\\.\\dms tenant=${tenant}$`),
    );
    await awaitLine(
      new RegExp(`\\[Http\\] POST /api/v1/channels 400 \\d+\\.\\dms tenant=${tenant}$`),
    );
    // No token accepted, no tenant.
    await awaitLine(/\[Http\] GET \/api\/v1\/channels 401 \d+\.\dms$/);
    // The probes the helper polled while the server started are debug lines, not shown at `log`.
    expect(httpLines().filter((line) => /\/(healthz|readyz)/.test(line))).toEqual([]);
  });

  it('refuses TRACE with 405 and an Allow header, and reflects nothing of the request', async () => {
    const traced = await rawRequest(`${api.url}/api/v1/channels?q=1`, 'TRACE', {
      Authorization: `Bearer ${accessToken}`,
      Cookie: 'mp_signin=cookie-not-for-echo',
    });
    expect(traced.status).toBe(405);
    expect(traced.headers['allow']).toBe('GET, HEAD, POST');
    expect(traced.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(traced.body)).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
    const answer = JSON.stringify(traced.headers) + traced.body;
    for (const sent of [accessToken, 'cookie-not-for-echo', 'Authorization', 'q=1']) {
      expect(answer).not.toContain(sent);
    }
    await awaitLine(/\[Http\] TRACE \/api\/v1\/channels 405 \d+\.\dms$/);
  });

  it('answers 405 with Allow for PUT and DELETE where a path has neither, 404 where there is no path', async () => {
    const put = await fetch(`${api.url}/api/v1/channels`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    const deleted = await fetch(`${api.url}/api/v1/channels/chn_any`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    expect(deleted.status).toBe(405);
    expect(deleted.headers.get('allow')).toBe('GET, HEAD, PATCH');
    expect(await deleted.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    expect((await fetch(`${api.url}/api/v1/nowhere`, { method: 'DELETE' })).status).toBe(404);
    const propfind = await rawRequest(`${api.url}/healthz`, 'PROPFIND', {});
    expect([propfind.status, propfind.headers['allow']]).toEqual([405, 'GET, HEAD']);
  });

  it('keeps the MCP endpoints’ own answers, and refuses PUT and TRACE there in JSON-RPC', async () => {
    const get = await fetch(`${api.url}/mcp`, { headers: { Accept: 'text/event-stream' } });
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST, DELETE']);
    const deleted = await fetch(`${api.url}/mcp`, { method: 'DELETE' });
    expect(deleted.status).toBe(401);
    for (const path of ['/', '/mcp']) {
      for (const method of ['PUT', 'TRACE']) {
        const refused = await rawRequest(`${api.url}${path}`, method, {
          Authorization: `Bearer ${accessToken}`,
        });
        expect([refused.status, refused.headers['allow']]).toEqual([
          405,
          'GET, HEAD, POST, DELETE',
        ]);
        expect(JSON.parse(refused.body)).toEqual({
          jsonrpc: '2.0',
          error: { code: -32000, message: 'Method not allowed.' },
          id: null,
        });
      }
    }
  });

  it('logs a bot:error with the bot, channel, tenant and reason, escaped onto one line', async () => {
    const headers = { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' };
    const created = (await (
      await fetch(`${api.url}/api/v1/channels`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          name: 'failing',
          slots: ['bot:referee', 'invite:a'],
          bot_code: FAILING_BOT,
        }),
      })
    ).json()) as { channel_id: string; invites: string[] };
    const joined = (await (
      await fetch(`${api.url}/api/v1/channels/join`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ invite_code: created.invites[0] }),
      })
    ).json()) as { rejoin_token: string };
    const posted = await fetch(`${api.url}/api/v1/channels/${created.channel_id}/messages`, {
      method: 'POST',
      headers: { ...headers, 'X-Member-Token': joined.rejoin_token },
      body: JSON.stringify({ body: 'hello' }),
    });
    expect(posted.status).toBe(201);

    const line = await awaitLine(
      new RegExp(
        `bot:error bot=\\S+ channel=${created.channel_id} tenant=${escapeRegExp(tenantId)} reason="`,
      ),
    );
    expect(line).toContain('no luck\\n[Nest] forged line \\u001b[31mred');
    expect(output.filter((l) => l.startsWith('[Nest] forged line'))).toEqual([]);
  });

  it('writes no escape codes to piped output, and no token or query string anywhere', () => {
    const all = output.join('\n');
    expect(all).not.toContain('\x1b[');
    expect(all).not.toContain(accessToken);
    expect(all).not.toContain(MEMBER_TOKEN_IN_QUERY);
    expect(httpLines().filter((line) => line.includes('?'))).toEqual([]);
  });
});
