import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectAgent, toolError } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { authorize, jwtClaims, serviceToken } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { readAll } from './game-helpers.js';
import type { Created, Info, Joined } from './game-helpers.js';

/**
 * Two tenants on one server in the `local` mode: nothing of ten_a's is visible or usable by a
 * principal of ten_b (a person signed in through the pages, or a service client), through any
 * MCP tool or REST endpoint; within ten_a, invites work as usual.
 */

const PASSWORD = 'correct horse battery staple';
const CHANNEL_NAME = 'Acme launch plans 7f3c';
const SECRET_BODY = 'acme-secret-body-91d2e4';
const BOT_ID = 'bot_GuessBot_0';

/** A person signs in through the real login and consent pages; returns the access token. */
async function signIn(url: string, username: string, password: string): Promise<string> {
  return (await authorize(url, { username, password })).accessToken;
}

interface ApiResponse {
  status: number;
  type: string;
  text: string;
  body: any;
}

interface Listing {
  channels: { channel_id: string; name: string }[];
  total_channels: number;
}

const OUTSIDERS = ['ten_b user', 'ten_b service client'] as const;
type Outsider = (typeof OUTSIDERS)[number];

describe('tenant isolation (AUTH_MODE=local)', () => {
  let app: TestApp;
  const tokens = { userA: '', userB: '', serviceA: '', serviceB: '' };
  const agents: Partial<Record<'userA' | 'userB' | 'serviceA' | 'serviceB', Agent>> = {};

  /** ten_a's channel, as its creator saw it. */
  let channelId: string;
  let invites: string[];
  let seat: Joined;
  /** ten_b's own channel, so that the ten_b user's listing is not trivially empty. */
  let ownChannelB: string;

  function agent(who: 'userA' | 'userB' | 'serviceA' | 'serviceB'): Agent {
    const found = agents[who];
    if (!found) throw new Error(`agent ${who} did not start`);
    return found;
  }

  function outsider(who: Outsider): { agent: Agent; token: string } {
    return who === 'ten_b user'
      ? { agent: agent('userB'), token: tokens.userB }
      : { agent: agent('serviceB'), token: tokens.serviceB };
  }

  async function api(
    token: string,
    method: string,
    path: string,
    body?: unknown,
    memberToken?: string,
  ): Promise<ApiResponse> {
    const res = await fetch(`${app.url}/api/v1${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(memberToken ? { 'X-Member-Token': memberToken } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      text,
      body: text ? JSON.parse(text) : null,
    };
  }

  /** No trace of ten_a's channel in what an outsider was answered. */
  function expectNothingOfTenA(text: string): void {
    expect(text).not.toContain(CHANNEL_NAME);
    expect(text).not.toContain(SECRET_BODY);
    for (const invite of invites) expect(text).not.toContain(invite);
    expect(text).not.toContain(seat.rejoin_token);
    expect(text).not.toContain(String(jwtClaims(tokens.userA)['sub']));
    expect(text).not.toMatch(/prn_|inline_code|code_hash/);
  }

  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_MODE: 'local' } });
    await app.admin(['tenant', 'create', 'ten_a', 'Acme']);
    await app.admin(['tenant', 'create', 'ten_b', 'Beta']);
    await app.admin(['account', 'create', 'ten_a', 'alice@acme.test'], PASSWORD);
    await app.admin(['account', 'create', 'ten_b', 'bob@beta.test'], PASSWORD);
    const clientA = await app.admin(['client', 'create', 'ten_a', 'nightly']);
    const clientB = await app.admin(['client', 'create', 'ten_b', 'nightly']);

    tokens.userA = await signIn(app.url, 'alice@acme.test', PASSWORD);
    tokens.userB = await signIn(app.url, 'bob@beta.test', PASSWORD);
    tokens.serviceA = await serviceToken(app.url, clientA);
    tokens.serviceB = await serviceToken(app.url, clientB);
    for (const who of ['userA', 'userB', 'serviceA', 'serviceB'] as const) {
      agents[who] = await connectAgent(app.url, who, tokens[who]);
    }

    const created = await agent('userA').call<Created>('create_channel', {
      name: CHANNEL_NAME,
      slots: ['bot:referee', 'invite:a', 'invite:b'],
      bot_preset: 'GuessBot',
    });
    channelId = created.channel_id;
    invites = created.invites;
    expect(invites).toHaveLength(2);
    seat = await agent('userA').call<Joined>('join_channel', { invite_code: invites[0] });
    expect(seat).toMatchObject({ channel_id: channelId, slot_id: 's1' });
    await agent('userA').call('post_message', { channel_id: channelId, body: SECRET_BODY });

    ownChannelB = (
      await agent('userB').call<Created>('create_channel', {
        name: 'Beta own channel',
        slots: ['invite:x'],
      })
    ).channel_id;
  });

  afterAll(async () => {
    await Promise.all(Object.values(agents).map((a) => a.close()));
    await app?.close();
  });

  it('issues tokens whose tid claim is the principal’s tenant', () => {
    const claims = Object.fromEntries(
      Object.entries(tokens).map(([who, token]) => [who, jwtClaims(token)]),
    );
    expect(claims['userA']).toMatchObject({ tid: 'ten_a', pkd: 'user' });
    expect(claims['userB']).toMatchObject({ tid: 'ten_b', pkd: 'user' });
    expect(claims['serviceA']).toMatchObject({ tid: 'ten_a', pkd: 'service' });
    expect(claims['serviceB']).toMatchObject({ tid: 'ten_b', pkd: 'service' });
    const subjects = Object.values(claims).map((c) => c['sub']);
    expect(new Set(subjects).size).toBe(4);
  });

  it('shows ten_a’s channel to its member', async () => {
    const mine = await agent('userA').call<Listing>('list_channels');
    expect(mine.channels.map((c) => c.channel_id)).toEqual([channelId]);
    const messages = await readAll(agent('userA'), channelId);
    expect(messages.some((m) => m.body['text'] === SECRET_BODY)).toBe(true);
  });

  describe.each(OUTSIDERS)('for the %s', (who) => {
    it('list_channels and GET /channels do not include ten_a’s channel', async () => {
      const { agent: outside, token } = outsider(who);
      const expected = who === 'ten_b user' ? [ownChannelB] : [];

      const listed = await outside.call<Listing>('list_channels');
      expect(listed.channels.map((c) => c.channel_id)).toEqual(expected);
      expect(listed.total_channels).toBe(expected.length);
      expect(JSON.stringify(listed)).not.toContain(channelId);
      expectNothingOfTenA(JSON.stringify(listed));

      const rest = await api(token, 'GET', '/channels');
      expect(rest.status).toBe(200);
      expect(rest.body.channels.map((c: { channel_id: string }) => c.channel_id)).toEqual(expected);
      expect(rest.text).not.toContain(channelId);
      expectNothingOfTenA(rest.text);
    });

    it('every MCP channel tool answers CHANNEL_NOT_FOUND for ten_a’s channel id', async () => {
      const { agent: outside } = outsider(who);
      const calls: [string, Record<string, unknown>][] = [
        ['get_channel_info', { channel_id: channelId }],
        ['sync_messages', { channel_id: channelId, cursor: 0, timeout_ms: 0 }],
        ['post_message', { channel_id: channelId, body: 'hello from ten_b' }],
        ['dm_bot', { channel_id: channelId, bot_id: BOT_ID, message: '!help' }],
        ['get_bot_code', { channel_id: channelId, bot_id: BOT_ID }],
        ['update_channel', { channel_id: channelId, ops: [{ type: 'rename', name: 'pwned' }] }],
        [
          'update_channel',
          { channel_id: channelId, ops: [{ type: 'remove_bot', bot_id: BOT_ID }] },
        ],
      ];
      for (const [tool, args] of calls) {
        const error = await toolError(outside.call(tool, args));
        expect({ tool, code: error.code }).toEqual({ tool, code: 'CHANNEL_NOT_FOUND' });
        expectNothingOfTenA(error.text);
      }
    });

    it('ten_a’s rejoin token as member_token is refused on every MCP tool', async () => {
      const { agent: outside } = outsider(who);
      const member_token = seat.rejoin_token;
      const calls: [string, Record<string, unknown>][] = [
        ['get_channel_info', { channel_id: channelId, member_token }],
        ['sync_messages', { channel_id: channelId, cursor: 0, timeout_ms: 0, member_token }],
        ['post_message', { channel_id: channelId, body: 'impostor', member_token }],
        ['dm_bot', { channel_id: channelId, bot_id: BOT_ID, message: '!help', member_token }],
        ['get_bot_code', { channel_id: channelId, bot_id: BOT_ID, member_token }],
        [
          'update_channel',
          { channel_id: channelId, ops: [{ type: 'rename', name: 'pwned' }], member_token },
        ],
      ];
      for (const [tool, args] of calls) {
        const error = await toolError(outside.call(tool, args));
        expect({ tool, code: error.code }).toEqual({ tool, code: 'CHANNEL_NOT_FOUND' });
        expectNothingOfTenA(error.text);
      }
    });

    it('join_channel refuses ten_a’s unused invite and ten_a’s rejoin token', async () => {
      const { agent: outside } = outsider(who);
      const invite = await toolError(outside.call('join_channel', { invite_code: invites[1] }));
      expect(invite.code).toBe('INVITE_INVALID');
      expectNothingOfTenA(invite.text);
      const rejoin = await toolError(
        outside.call('join_channel', { invite_code: seat.rejoin_token }),
      );
      expect(rejoin.code).toBe('REJOIN_TOKEN_INVALID');
      expectNothingOfTenA(rejoin.text);
    });

    it('every REST endpoint answers 404 for ten_a’s channel, invite and token', async () => {
      const { token } = outsider(who);
      const path = `/channels/${channelId}`;
      const cases: { name: string; call: () => Promise<ApiResponse>; code: string }[] = [
        { name: 'info', call: () => api(token, 'GET', path), code: 'CHANNEL_NOT_FOUND' },
        {
          name: 'sync',
          call: () => api(token, 'GET', `${path}/messages?cursor=0&timeout_ms=0`),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'post',
          call: () => api(token, 'POST', `${path}/messages`, { body: 'hello from ten_b' }),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'dm',
          call: () => api(token, 'POST', `${path}/bots/${BOT_ID}/dm`, { message: '!help' }),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'code',
          call: () => api(token, 'GET', `${path}/bots/${BOT_ID}/code`),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'update',
          call: () => api(token, 'PATCH', path, { ops: [{ type: 'rename', name: 'pwned' }] }),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'join with invite',
          call: () => api(token, 'POST', '/channels/join', { invite_code: invites[1] }),
          code: 'INVITE_INVALID',
        },
        {
          name: 'join with rejoin token',
          call: () => api(token, 'POST', '/channels/join', { invite_code: seat.rejoin_token }),
          code: 'REJOIN_TOKEN_INVALID',
        },
      ];
      const memberToken = seat.rejoin_token;
      cases.push(
        {
          name: 'info with X-Member-Token',
          call: () => api(token, 'GET', path, undefined, memberToken),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'sync with X-Member-Token',
          call: () =>
            api(token, 'GET', `${path}/messages?cursor=0&timeout_ms=0`, undefined, memberToken),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'post with X-Member-Token',
          call: () => api(token, 'POST', `${path}/messages`, { body: 'impostor' }, memberToken),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'post with member_token in the body',
          call: () =>
            api(token, 'POST', `${path}/messages`, {
              body: 'impostor',
              member_token: memberToken,
            }),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'dm with X-Member-Token',
          call: () =>
            api(token, 'POST', `${path}/bots/${BOT_ID}/dm`, { message: '!help' }, memberToken),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'code with member_token in the query',
          call: () => api(token, 'GET', `${path}/bots/${BOT_ID}/code?member_token=${memberToken}`),
          code: 'CHANNEL_NOT_FOUND',
        },
        {
          name: 'update with X-Member-Token',
          call: () =>
            api(token, 'PATCH', path, { ops: [{ type: 'rename', name: 'pwned' }] }, memberToken),
          code: 'CHANNEL_NOT_FOUND',
        },
      );
      for (const { name, call, code } of cases) {
        const res = await call();
        expect({ name, status: res.status, code: res.body?.code }).toEqual({
          name,
          status: 404,
          code,
        });
        expect(res.type).toMatch(/application\/problem\+json/);
        expectNothingOfTenA(res.text);
      }
    });

    it('cannot ride ten_a’s MCP session', async () => {
      const { token } = outsider(who);
      const sessionId = agent('userA').sessionId;
      expect(sessionId).toBeTruthy();
      const request = (bearer: string) =>
        fetch(`${app.url}/mcp`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${bearer}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': sessionId ?? '',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name: 'list_channels', arguments: {} },
          }),
        });
      // Control: the session's own principal is served on it.
      const own = await request(tokens.userA);
      expect(own.status).toBe(200);
      expect(await own.text()).toContain(channelId);

      const hijack = await request(token);
      const text = await hijack.text();
      expect(hijack.status).toBe(404);
      expect(text).not.toContain(channelId);
      expectNothingOfTenA(text);
    });
  });

  describe('afterwards, within ten_a', () => {
    it('leaves ten_a’s channel untouched: seat held, name kept, bot kept, no foreign posts', async () => {
      const owner = agent('userA');
      // The seat still belongs to its owner: it posts without a member token.
      await owner.call('post_message', { channel_id: channelId, body: 'still mine' });
      const info = await owner.call<Info>('get_channel_info', { channel_id: channelId });
      expect(info.view.name).toBe(CHANNEL_NAME);
      expect(info.view.slots.map((s) => s.filled_by)).toEqual([`bot:${BOT_ID}`, 'member:s1', null]);
      expect(info.bots.map((b) => b.bot_id)).toEqual([BOT_ID]);
      const messages = await readAll(owner, channelId);
      expect(messages.some((m) => m.body['type'] === 'channel_updated')).toBe(false);
      expect(
        messages.filter((m) => m.sender.startsWith('member:')).map((m) => [m.sender, m.body]),
      ).toEqual([
        ['member:s1', { text: SECRET_BODY }],
        ['member:s1', { text: 'still mine' }],
      ]);
      // And the same through REST, with the token that names the seat.
      const rest = await api(
        tokens.userA,
        'GET',
        `/channels/${channelId}`,
        undefined,
        seat.rejoin_token,
      );
      expect(rest.status).toBe(200);
      expect(rest.body.view.name).toBe(CHANNEL_NAME);
    });

    it('shows a ten_a service client the channel only once it holds a seat', async () => {
      const service = agent('serviceA');
      expect(await service.call('list_channels')).toEqual({ channels: [], total_channels: 0 });
      expect((await api(tokens.serviceA, 'GET', '/channels')).body).toEqual({
        channels: [],
        total_channels: 0,
      });

      // Control: within its own tenant the channel exists for it; it is only not a member.
      const calls = {
        post_message: { channel_id: channelId, body: 'x' },
        sync_messages: { channel_id: channelId, cursor: 0, timeout_ms: 0 },
      };
      for (const [tool, args] of Object.entries(calls)) {
        const error = await toolError(service.call(tool, args));
        expect({ tool, code: error.code }).toEqual({ tool, code: 'NOT_MEMBER' });
      }

      // The invite ten_b could not use works within ten_a.
      const joined = await service.call<Joined>('join_channel', { invite_code: invites[1] });
      expect(joined).toMatchObject({ channel_id: channelId, slot_id: 's2' });
      const listed = await service.call<Listing>('list_channels');
      expect(listed.channels.map((c) => [c.channel_id, c.name])).toEqual([
        [channelId, CHANNEL_NAME],
      ]);
      await service.call('post_message', { channel_id: channelId, body: 'service here' });
      const seen = await readAll(agent('userA'), channelId);
      expect(seen.find((m) => m.body['text'] === 'service here')?.sender).toBe('member:s2');

      // The invite is spent now, for ten_a as well.
      const again = await toolError(
        agent('userA').call('join_channel', { invite_code: invites[1] }),
      );
      expect(again.code).toBe('INVITE_INVALID');
    });
  });
});
