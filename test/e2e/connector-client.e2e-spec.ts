import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

/**
 * Behaves like the Claude.ai and ChatGPT connectors of REFERENCES.md: it never echoes the session
 * id, initialises again before calls, sends every request with JSON-RPC id 1 (also concurrently),
 * and keeps its seat only through member_token.
 */
class ConnectorLikeClient {
  constructor(private readonly url: string) {}

  async initialize(): Promise<string | null> {
    const res = await this.post({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'connector', version: '1' },
      },
    });
    await res.json();
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return res.headers.get('mcp-session-id');
  }

  /** A tool call on its own HTTP request, with no session id, always id 1. */
  async call(
    name: string,
    args: Record<string, unknown>,
  ): Promise<{ isError?: boolean; text: string; data: any }> {
    await this.initialize();
    const res = await this.post(
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } },
      { 'MCP-Protocol-Version': '2025-06-18' },
    );
    expect(res.status).toBe(200);
    const reply = (await res.json()) as {
      id: number;
      result: { isError?: boolean; content: { text: string }[]; structuredContent: unknown };
    };
    expect(reply.id).toBe(1);
    return {
      isError: reply.result.isError,
      text: reply.result.content[0]?.text ?? '',
      data: reply.result.structuredContent,
    };
  }

  post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }
}

describe('a connector-like client that keeps no session', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('plays a whole GuessBot game through member_token alone', async () => {
    const host = new ConnectorLikeClient(app.url);
    const created = await host.call('create_channel', {
      name: 'connector game',
      slots: ['bot:referee', 'invite:claude', 'invite:chatgpt'],
      bot_preset: 'GuessBot',
    });
    expect(created.isError).toBeFalsy();
    const [inviteA, inviteB] = created.data.invites as string[];
    const claude = new ConnectorLikeClient(app.url);
    const chatgpt = new ConnectorLikeClient(app.url);
    const seatA = (await claude.call('join_channel', { invite_code: inviteA })).data;
    const seatB = (await chatgpt.call('join_channel', { invite_code: inviteB })).data;

    // Without its token a session-less client is nobody.
    const anonymous = await claude.call('post_message', {
      channel_id: created.data.channel_id,
      body: '50',
    });
    expect(anonymous.isError).toBe(true);
    expect(anonymous.text).toMatch(/^Error calling tool 'post_message': NOT_MEMBER: /);

    const players = [
      { client: claude, token: seatA.rejoin_token as string },
      { client: chatgpt, token: seatB.rejoin_token as string },
    ];
    let lo = 1;
    let hi = 100;
    let cursor = 0;
    let ended = false;
    for (let move = 0; move < 20 && !ended; move++) {
      const { client, token } = players[move % 2]!;
      const guess = Math.floor((lo + hi) / 2);
      const posted = await client.call('post_message', {
        channel_id: created.data.channel_id,
        body: String(guess),
        member_token: token,
      });
      expect(posted.isError).toBeFalsy();
      const sync = await client.call('sync_messages', {
        channel_id: created.data.channel_id,
        cursor,
        timeout_ms: 0,
        member_token: token,
      });
      cursor = sync.data.cursor;
      for (const message of sync.data.messages as { body: Record<string, unknown> }[]) {
        if (message.body['type'] === 'violation')
          throw new Error(`violation: ${JSON.stringify(message.body)}`);
        if (message.body['type'] === 'judge' && message.body['guess'] === guess) {
          if (message.body['result'] === 'high') hi = guess - 1;
          if (message.body['result'] === 'low') lo = guess + 1;
        }
        if (message.body['type'] === 'game_end') ended = true;
      }
    }
    expect(ended).toBe(true);
  });

  it('answers concurrent requests that reuse JSON-RPC id 1 each on their own response', async () => {
    const client = new ConnectorLikeClient(app.url);
    const created = await client.call('create_channel', { name: 'ids', slots: ['invite:a'] });
    const names = Array.from({ length: 12 }, (_, i) => `channel ${i}`);
    const results = await Promise.all(
      names.map((name) =>
        client
          .post(
            {
              jsonrpc: '2.0',
              id: 1,
              method: 'tools/call',
              params: { name: 'create_channel', arguments: { name, slots: ['invite:a'] } },
            },
            { 'MCP-Protocol-Version': '2025-06-18' },
          )
          .then(
            (res) =>
              res.json() as Promise<{
                id: number;
                result: { structuredContent: { view: { name: string } } };
              }>,
          ),
      ),
    );
    expect(results.map((r) => r.result.structuredContent.view.name)).toEqual(names);
    expect(results.every((r) => r.id === 1)).toBe(true);
    expect(created.isError).toBeFalsy();
  });

  it('answers SSE when the client accepts it, as the original’s clients expect', async () => {
    const res = await fetch(`${app.url}/`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'health_check', arguments: {} },
      }),
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const data = (await res.text()).split('\n').find((line) => line.startsWith('data: '));
    const reply = JSON.parse(data!.slice('data: '.length));
    expect(reply).toMatchObject({
      id: 7,
      result: {
        content: [{ type: 'text', text: expect.stringMatching(/^Multiplayer server healthy/) }],
      },
    });
  });

  it('gives 404 to an unknown session id, 403 to a foreign Origin and 405 to GET', async () => {
    const client = new ConnectorLikeClient(app.url);
    const unknown = await client.post(
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { 'Mcp-Session-Id': 'not-a-session', 'MCP-Protocol-Version': '2025-06-18' },
    );
    expect(unknown.status).toBe(404);
    const foreign = await client.post(
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { Origin: 'https://evil.example' },
    );
    expect(foreign.status).toBe(403);
    const get = await fetch(`${app.url}/mcp`, { headers: { Accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
    const malformed = await fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{nope',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: -32700 } });
  });

  it('ends a session on DELETE; the id is then unknown', async () => {
    const client = new ConnectorLikeClient(app.url);
    const sessionId = await client.initialize();
    expect(sessionId).toBeTruthy();
    const ended = await fetch(`${app.url}/mcp`, {
      method: 'DELETE',
      headers: { 'Mcp-Session-Id': sessionId! },
    });
    expect(ended.status).toBe(200);
    const after = await client.post(
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { 'Mcp-Session-Id': sessionId! },
    );
    expect(after.status).toBe(404);
  });
});
