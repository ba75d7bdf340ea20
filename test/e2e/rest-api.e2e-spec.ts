import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { authorizeOpen } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

describe('REST API under /api/v1', () => {
  let app: TestApp;
  let accessToken: string;

  beforeAll(async () => {
    app = await startTestApp();
    ({ accessToken } = await authorizeOpen(app.url));
  });

  afterAll(async () => {
    await app?.close();
  });

  async function api(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
    bearer: string | null = accessToken,
  ) {
    const res = await fetch(`${app.url}/api/v1${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(token ? { 'X-Member-Token': token } : {}),
        ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      body: text ? JSON.parse(text) : null,
    };
  }

  it('plays the same flow as the MCP tools', async () => {
    const created = await api('POST', '/channels', {
      name: 'rest game',
      slots: ['bot:referee', 'invite:a', 'invite:b'],
      bot_preset: 'GuessBot',
    });
    expect(created.status).toBe(201);
    const channelId: string = created.body.channel_id;
    const a = await api('POST', '/channels/join', { invite_code: created.body.invites[0] });
    const b = await api('POST', '/channels/join', { invite_code: created.body.invites[1] });
    expect([a.status, b.status]).toEqual([200, 200]);
    const tokenA: string = a.body.rejoin_token;

    const posted = await api(
      'POST',
      `/channels/${channelId}/messages`,
      { body: 'guess 50' },
      tokenA,
    );
    expect(posted.status).toBe(201);
    expect(posted.body).toEqual({ msg_id: expect.any(Number), ts: expect.any(String) });

    const synced = await api(
      'GET',
      `/channels/${channelId}/messages?cursor=${posted.body.msg_id}&timeout_ms=0`,
      undefined,
      tokenA,
    );
    expect(synced.status).toBe(200);
    expect(synced.body.messages[0].body).toMatchObject({ type: 'judge', player: 's1', guess: 50 });

    const dm = await api(
      'POST',
      `/channels/${channelId}/bots/bot_GuessBot_0/dm`,
      { message: '!help' },
      tokenA,
    );
    expect(dm.body).toEqual({ ok: true, delivered_to: 'bot_GuessBot_0' });

    const code = await api('GET', `/channels/${channelId}/bots/bot_GuessBot_0/code`);
    expect(code.body.code_hash).toBe(
      `sha256:${createHash('sha256').update(code.body.inline_code).digest('hex')}`,
    );

    const info = await api('GET', `/channels/${channelId}`);
    expect(info.body.view.slots.map((s: { filled_by: string }) => s.filled_by)).toEqual([
      'bot:bot_GuessBot_0',
      'member:s1',
      'member:s2',
    ]);
  });

  it('answers problem+json with the compat code and leaks nothing', async () => {
    const cases = [
      { call: api('GET', '/channels/chn_doesntexist'), status: 404, code: 'CHANNEL_NOT_FOUND' },
      {
        call: api('POST', '/channels', { name: '', slots: [] }),
        status: 400,
        code: 'INVALID_REQUEST',
      },
      { call: api('POST', '/channels', '{"name": '), status: 400, code: 'INVALID_REQUEST' },
      {
        call: api('POST', '/channels/join', { invite_code: "inv_'; DROP TABLE slots; --" }),
        status: 404,
        code: 'INVITE_INVALID',
      },
      {
        call: api('GET', '/channels/chn_x/messages?cursor=-1'),
        status: 400,
        code: 'INVALID_REQUEST',
      },
      { call: api('GET', '/nowhere'), status: 404, code: 'NOT_FOUND' },
    ];
    for (const { call, status, code } of cases) {
      const res = await call;
      expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
      expect(res.type).toMatch(/application\/problem\+json/);
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+|SELECT|INSERT|node_modules/);
    }
  });

  it('asks for a token, and for the scope a write needs', async () => {
    const res = await fetch(`${app.url}/api/v1/channels`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${app.url}/.well-known/oauth-protected-resource", scope="channels:read"`,
    );
    const forged = await api('GET', '/channels', undefined, undefined, `${accessToken}x`);
    expect(forged.status).toBe(401);
    expect(forged.body.code).toBe('UNAUTHORIZED');

    const reader = (await authorizeOpen(app.url, { scope: 'channels:read' })).accessToken;
    expect((await api('GET', '/channels', undefined, undefined, reader)).status).toBe(200);
    const write = await fetch(`${app.url}/api/v1/channels`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${reader}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'x', slots: ['invite:a'] }),
    });
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toMatch(
      /^Bearer error="insufficient_scope", resource_metadata="[^"]+", scope="channels:write"$/,
    );
    expect((await api('GET', '/health', undefined, undefined, null)).status).toBe(200);
  });

  it('answers liveness and readiness without a token, naming each check', async () => {
    expect(await (await fetch(`${app.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { database: true, events: true, outbox: true },
    });
  });

  it('publishes an OpenAPI 3.1 document of its endpoints', async () => {
    const doc = await api('GET', '/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/channels', '/channels/join', '/channels/{channelId}/messages']),
    );
    expect(
      doc.body.paths['/channels'].post.requestBody.content['application/json'].schema.required,
    ).toEqual(['name', 'slots']);
  });
});
