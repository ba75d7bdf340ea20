import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { authorizeOpen } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

/**
 * Behaves like the Claude.ai and ChatGPT connectors of REFERENCES.md: it never echoes the session
 * id, initialises again before calls, sends every request with JSON-RPC id 1 (also concurrently),
 * and names its seat through member_token. One instance is one conversation of the person whose
 * access token it carries.
 */
class ConnectorLikeClient {
  constructor(
    private readonly url: string,
    private readonly accessToken: string,
  ) {}

  static async forNewUser(url: string): Promise<ConnectorLikeClient> {
    return new ConnectorLikeClient(url, (await authorizeOpen(url)).accessToken);
  }

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

  /** Posts a JSON-RPC message (a string is sent as it is, for malformed bodies). */
  post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.url}/mcp`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        Authorization: `Bearer ${this.accessToken}`,
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
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
    const host = await ConnectorLikeClient.forNewUser(app.url);
    const created = await host.call('create_channel', {
      name: 'connector game',
      slots: ['bot:referee', 'invite:claude', 'invite:chatgpt'],
      bot_preset: 'GuessBot',
    });
    expect(created.isError).toBeFalsy();
    const [inviteA, inviteB] = created.data.invites as string[];
    const claude = await ConnectorLikeClient.forNewUser(app.url);
    const chatgpt = await ConnectorLikeClient.forNewUser(app.url);
    const seatA = (await claude.call('join_channel', { invite_code: inviteA })).data;
    const seatB = (await chatgpt.call('join_channel', { invite_code: inviteB })).data;

    // The host holds no seat: it is not a player.
    const hostMove = await host.call('post_message', {
      channel_id: created.data.channel_id,
      body: '50',
    });
    expect(hostMove.isError).toBe(true);
    expect(hostMove.text).toMatch(/^Error calling tool 'post_message': NOT_MEMBER: /);

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

  it('lets one person (one token) hold two seats from two conversations, each move in its seat', async () => {
    const token = (await authorizeOpen(app.url)).accessToken;
    const first = new ConnectorLikeClient(app.url, token);
    const second = new ConnectorLikeClient(app.url, token);
    const created = await first.call('create_channel', {
      name: 'one person, two seats',
      slots: ['bot:referee', 'invite:a', 'invite:b'],
      bot_preset: 'GuessBot',
    });
    const [inviteA, inviteB] = created.data.invites as string[];
    const channelId = created.data.channel_id as string;
    const seatA = (await first.call('join_channel', { invite_code: inviteA })).data;
    const seatB = (await second.call('join_channel', { invite_code: inviteB })).data;

    const unnamed = await second.call('post_message', { channel_id: channelId, body: '10' });
    expect(unnamed.text).toMatch(/^Error calling tool 'post_message': AMBIGUOUS_MEMBER: /);

    const moves = [
      { client: first, seat: seatA, guess: 10 },
      { client: second, seat: seatB, guess: 90 },
    ];
    for (const { client, seat, guess } of moves) {
      const posted = await client.call('post_message', {
        channel_id: channelId,
        body: String(guess),
        member_token: seat.rejoin_token,
      });
      expect(posted.isError).toBeFalsy();
    }
    const synced = await first.call('sync_messages', {
      channel_id: channelId,
      cursor: 0,
      timeout_ms: 0,
      member_token: seatA.rejoin_token,
    });
    const judged = (synced.data.messages as { body: Record<string, unknown> }[])
      .filter((m) => m.body['type'] === 'judge')
      .map((m) => [m.body['player'], m.body['guess']]);
    expect(judged).toEqual([
      [seatA.slot_id, 10],
      [seatB.slot_id, 90],
    ]);
  });

  it('answers concurrent requests that reuse JSON-RPC id 1 each on their own response', async () => {
    const client = await ConnectorLikeClient.forNewUser(app.url);
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
    const { accessToken } = await authorizeOpen(app.url);
    const res = await fetch(`${app.url}/`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        Authorization: `Bearer ${accessToken}`,
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
    const client = await ConnectorLikeClient.forNewUser(app.url);
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
    const malformed = await client.post('{nope');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: -32700 } });
  });

  it('ends a session on DELETE; the id is then unknown', async () => {
    const { accessToken } = await authorizeOpen(app.url);
    const client = new ConnectorLikeClient(app.url, accessToken);
    const sessionId = await client.initialize();
    expect(sessionId).toBeTruthy();
    const end = (token: string) =>
      fetch(`${app.url}/mcp`, {
        method: 'DELETE',
        headers: { 'Mcp-Session-Id': sessionId!, Authorization: `Bearer ${token}` },
      });
    // Another principal cannot end it, nor use it.
    const stranger = (await authorizeOpen(app.url)).accessToken;
    expect((await end(stranger)).status).toBe(404);
    const borrowed = await new ConnectorLikeClient(app.url, stranger).post(
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { 'Mcp-Session-Id': sessionId! },
    );
    expect(borrowed.status).toBe(404);
    const ended = await end(accessToken);
    expect(ended.status).toBe(200);
    const after = await client.post(
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { 'Mcp-Session-Id': sessionId! },
    );
    expect(after.status).toBe(404);
  });
});
