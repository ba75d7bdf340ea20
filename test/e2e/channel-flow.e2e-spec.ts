import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '../support/eventually.js';
import { connectAgent, toolError } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { EventBus } from '#events';
import { readAll } from './game-helpers.js';
import type { SyncResult } from './game-helpers.js';

const ECHO_BOT = `export default class Echo {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(msg) { this.ctx.post('bot', { echo: msg.body.text ?? null, from: msg.from?.slot_id ?? null }); }
  onPrivateMessage(member, msg) { this.ctx.dm(member.slot_id, 'bot', { secret: msg.text }); }
}`;

interface Joined {
  channel_id: string;
  slot_id: string;
  rejoin_token: string;
}

describe('channels over MCP', () => {
  let app: TestApp;
  let host: Agent;
  let a: Agent;
  let b: Agent;

  beforeAll(async () => {
    app = await startTestApp();
    [host, a, b] = await Promise.all([
      connectAgent(app.url),
      connectAgent(app.url),
      connectAgent(app.url),
    ]);
  });

  afterAll(async () => {
    await Promise.all([host, a, b].map((agent) => agent?.close()));
    await app?.close();
  });

  async function channelWithEcho(): Promise<{ channelId: string; joinA: Joined; joinB: Joined }> {
    const created = await host.call<{ channel_id: string; invites: string[] }>('create_channel', {
      name: 'echo',
      slots: ['bot:echo', 'invite:a', 'invite:b'],
      bot_code: ECHO_BOT,
    });
    const joinA = await a.call<Joined>('join_channel', { invite_code: created.invites[0] });
    const joinB = await b.call<Joined>('join_channel', { invite_code: created.invites[1] });
    return { channelId: created.channel_id, joinA, joinB };
  }

  it('commits an inline bot reply before post_message returns, with a higher id', async () => {
    const { channelId } = await channelWithEcho();
    const posted = await a.call<{ msg_id: number; ts: string }>('post_message', {
      channel_id: channelId,
      body: 'hello',
    });
    const page = await a.call<SyncResult>('sync_messages', {
      channel_id: channelId,
      cursor: posted.msg_id,
      timeout_ms: 0,
    });
    expect(page.messages).toHaveLength(1);
    expect(page.messages[0]).toMatchObject({
      sender: 'bot:bot_CustomBot_0',
      kind: 'bot',
      body: { echo: 'hello', from: 's1', bot_id: 'bot_CustomBot_0' },
      to_slot: null,
    });
    expect(page.messages[0]?.id).toBeGreaterThan(posted.msg_id);
  });

  it('gives an inline bot without a manifest the default one, hashed as the original does', async () => {
    const { channelId } = await channelWithEcho();
    const code = await a.call('get_bot_code', {
      channel_id: channelId,
      bot_id: 'bot_CustomBot_0',
    });
    expect(code).toMatchObject({
      name: 'CustomBot',
      version: '1.0',
      code_ref: null,
      inline_code: ECHO_BOT,
      manifest: {
        summary: 'Custom inline bot',
        hooks: ['on_init', 'on_join', 'on_message'],
        emits: ['system'],
        params: {},
      },
      manifest_hash: 'sha256:b215ce9e7332de6dcd2412a6e9d55cd88eb3ee16cc2b65adb6a24fd99a91afce',
    });
  });

  it('stores text bodies as {text}, empty ones as {}, and keeps object bodies', async () => {
    const { channelId } = await channelWithEcho();
    const ids: number[] = [];
    for (const body of ['plain', '', { move: 'e4' }]) {
      ids.push(
        (await a.call<{ msg_id: number }>('post_message', { channel_id: channelId, body })).msg_id,
      );
    }
    const mine = (await readAll(a, channelId)).filter((m) => ids.includes(m.id));
    expect(mine.map((m) => m.body)).toEqual([{ text: 'plain' }, {}, { move: 'e4' }]);
    expect(mine.every((m) => m.sender === 'member:s1' && m.kind === 'user')).toBe(true);
  });

  it('keeps cursor rules: never moves without new visible messages, view only when empty', async () => {
    const { channelId, joinB } = await channelWithEcho();
    const first = await a.call<SyncResult>('sync_messages', {
      channel_id: channelId,
      cursor: null,
      timeout_ms: 0,
    });
    expect(first.messages.length).toBeGreaterThan(0);
    expect(first.view).toBeNull();
    expect(first.cursor).toBe(first.messages.at(-1)?.id);

    const idle = await a.call<SyncResult>('sync_messages', {
      channel_id: channelId,
      cursor: first.cursor,
      timeout_ms: 0,
    });
    expect(idle).toMatchObject({ messages: [], cursor: first.cursor });
    expect(idle.view).toMatchObject({ channel_id: channelId });

    // A cursor past the newest message is refused at once, with the id to go on from (it was
    // held for the whole long poll, waiting for ids that may never come).
    const ahead = await toolError(
      a.call('sync_messages', {
        channel_id: channelId,
        cursor: first.cursor + 1000,
        timeout_ms: 30_000,
      }),
    );
    expect(ahead.code).toBe('INVALID_REQUEST');
    expect(ahead.text).toContain(`past this channel's newest message (${first.cursor})`);

    // A private reply to b is invisible to a: a's cursor stays put.
    await b.call('dm_bot', {
      channel_id: channelId,
      bot_id: 'bot_CustomBot_0',
      message: 'psst',
      member_token: joinB.rejoin_token,
    });
    const afterDm = await a.call<SyncResult>('sync_messages', {
      channel_id: channelId,
      cursor: first.cursor,
      timeout_ms: 0,
    });
    expect(afterDm).toMatchObject({ messages: [], cursor: first.cursor });
    const forB = await readAll(b, channelId);
    expect(forB.at(-1)).toMatchObject({ to_slot: 's2', body: { secret: 'psst' } });
  });

  it('long-polls: a waiting sync returns as soon as another member posts', async () => {
    const { channelId } = await channelWithEcho();
    const start = await a.call<SyncResult>('sync_messages', {
      channel_id: channelId,
      timeout_ms: 0,
    });
    const cursor = start.cursor;
    const waiting = a.call<SyncResult>('sync_messages', {
      channel_id: channelId,
      cursor,
      timeout_ms: 20_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const posted = await b.call<{ msg_id: number }>('post_message', {
      channel_id: channelId,
      body: 'wake up',
    });
    const woken = await waiting;
    expect(woken.messages[0]).toMatchObject({ id: posted.msg_id, body: { text: 'wake up' } });
    expect(woken.cursor).toBeGreaterThan(cursor);
  });

  it('stops a long poll as soon as its caller hangs up', async () => {
    const { channelId } = await channelWithEcho();
    // Counts the wake-up subscriptions held open: each waiting sync_messages holds one.
    const bus = app.nest.get(EventBus);
    const subscribe = bus.onWake.bind(bus);
    let held = 0;
    bus.onWake = (tenantId, channel, listener) => {
      held += 1;
      const unsubscribe = subscribe(tenantId, channel, listener);
      return () => {
        held -= 1;
        unsubscribe();
      };
    };
    // Caught up: the poll waits for the next message.
    const { cursor: newest } = await a.call<SyncResult>('sync_messages', {
      channel_id: channelId,
      timeout_ms: 0,
    });
    const hangUp = new AbortController();
    const call = fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${a.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'sync_messages',
          arguments: { channel_id: channelId, cursor: newest, timeout_ms: 30_000 },
        },
      }),
      signal: hangUp.signal,
    })
      .then((response) => response.text())
      .catch((error: unknown) => error);
    await eventually(() => held === 1, 'the long poll to be held');
    hangUp.abort();
    await call;
    // Released long before the poll's 30 s were up.
    await eventually(() => held === 0, 'the long poll to be released');
  });

  it('answers AMBIGUOUS_MEMBER when one principal holds two seats, and acts for the named seat', async () => {
    const created = await host.call<{ channel_id: string; invites: string[] }>('create_channel', {
      name: 'two seats',
      slots: ['invite:x', 'invite:y'],
    });
    const x = await a.call<Joined>('join_channel', { invite_code: created.invites[0] });
    const y = await a.call<Joined>('join_channel', { invite_code: created.invites[1] });
    const ambiguous = await toolError(
      a.call('post_message', { channel_id: created.channel_id, body: 'who am I' }),
    );
    expect(ambiguous.code).toBe('AMBIGUOUS_MEMBER');
    expect(ambiguous.text).toMatch(/member_token/);
    await a.call('post_message', {
      channel_id: created.channel_id,
      body: 'as y',
      member_token: y.rejoin_token,
    });
    await a.call('post_message', {
      channel_id: created.channel_id,
      body: 'as x',
      member_token: x.rejoin_token,
    });
    const messages = await readAll(a, created.channel_id, x.rejoin_token);
    expect(messages.map((m) => [m.sender, m.body['text']])).toEqual([
      ['member:s1', 'as y'],
      ['member:s0', 'as x'],
    ]);
  });

  it('moves a seat to a new session with the rejoin token', async () => {
    const { channelId, joinA } = await channelWithEcho();
    const newSession = await connectAgent(app.url, 'a-again');
    try {
      const rejoined = await newSession.call<Joined>('join_channel', {
        invite_code: joinA.rejoin_token,
      });
      expect(rejoined).toMatchObject({
        channel_id: channelId,
        slot_id: joinA.slot_id,
        rejoin_token: joinA.rejoin_token,
      });
      await newSession.call('post_message', {
        channel_id: channelId,
        body: 'from the new session',
      });
      const lost = await toolError(
        a.call('post_message', { channel_id: channelId, body: 'old session' }),
      );
      expect(lost.code).toBe('NOT_MEMBER');
      // The token itself still names the seat, from anywhere.
      await a.call('post_message', {
        channel_id: channelId,
        body: 'with token',
        member_token: joinA.rejoin_token,
      });
      const info = await newSession.call<{
        view: { slots: { slot_id: string; filled_by: string | null }[] };
      }>('get_channel_info', { channel_id: channelId });
      expect(info.view.slots.find((s) => s.slot_id === joinA.slot_id)?.filled_by).toBe('member:s1');
    } finally {
      await newSession.close();
    }
  });

  it('never shows tokens, sessions or principals in views and messages', async () => {
    const { channelId, joinA } = await channelWithEcho();
    const dump = JSON.stringify([
      await a.call('get_channel_info', { channel_id: channelId }),
      await readAll(a, channelId),
      await a.call('list_channels'),
    ]);
    expect(dump).not.toContain(joinA.rejoin_token);
    expect(dump).not.toContain(a.sessionId ?? 'no-session');
    expect(dump).not.toMatch(/prn_|inv_/);
  });

  it('lists only the caller’s channels', async () => {
    const { channelId } = await channelWithEcho();
    const outsider = await connectAgent(app.url, 'outsider');
    try {
      const mine = await a.call<{ channels: { channel_id: string }[]; total_channels: number }>(
        'list_channels',
      );
      expect(mine.channels.map((c) => c.channel_id)).toContain(channelId);
      expect(mine.total_channels).toBe(mine.channels.length);
      expect(await outsider.call('list_channels')).toEqual({ channels: [], total_channels: 0 });
    } finally {
      await outsider.close();
    }
  });

  it('lets an admin rename and remove a bot, and refuses others', async () => {
    const created = await host.call<{ channel_id: string; invites: string[] }>('create_channel', {
      name: 'admin test',
      slots: ['bot:echo', 'invite:boss:admin', 'invite:guest'],
      bot_code: ECHO_BOT,
    });
    const boss = await a.call<Joined>('join_channel', { invite_code: created.invites[0] });
    const guest = await b.call<Joined>('join_channel', { invite_code: created.invites[1] });
    const refused = await toolError(
      b.call('update_channel', {
        channel_id: created.channel_id,
        ops: [{ type: 'rename', name: 'mine' }],
        member_token: guest.rejoin_token,
      }),
    );
    expect(refused.code).toBe('NOT_ADMIN');
    const badOp = await toolError(
      a.call('update_channel', {
        channel_id: created.channel_id,
        ops: [{ type: 'explode' }],
        member_token: boss.rejoin_token,
      }),
    );
    expect(badOp.text).toMatch(/BAD_OP: explode/);
    const updated = await a.call<{ view: { name: string }; bots: unknown[] }>('update_channel', {
      channel_id: created.channel_id,
      ops: [
        { type: 'rename', name: 'renamed' },
        { type: 'remove_bot', bot_id: 'bot_CustomBot_0' },
      ],
      member_token: boss.rejoin_token,
    });
    expect(updated).toMatchObject({ view: { name: 'renamed' }, bots: [] });
    const posted = await b.call<{ msg_id: number }>('post_message', {
      channel_id: created.channel_id,
      body: 'anyone?',
    });
    const after = await b.call<SyncResult>('sync_messages', {
      channel_id: created.channel_id,
      cursor: posted.msg_id,
      timeout_ms: 0,
    });
    expect(after.messages).toEqual([]);
    const notice = (await readAll(b, created.channel_id)).find(
      (m) => m.body['type'] === 'channel_updated',
    );
    expect(notice).toMatchObject({ sender: 'system', body: { by: 'member:s1' } });
  });

  it('lists the doc resources and serves them', async () => {
    const listed = await a.client.listResources();
    expect(listed.resources.map((r) => r.uri).sort()).toEqual([
      'doc://messages',
      'doc://quick-start',
    ]);
    const doc = await a.client.readResource({ uri: 'doc://quick-start' });
    expect(doc.contents[0]).toMatchObject({ mimeType: 'text/markdown' });
    expect(JSON.stringify(doc.contents[0])).toContain('member_token');
    // Asked by the Inspector, the Python SDKs and mcp-remote whenever resources are offered.
    expect(await a.client.listResourceTemplates()).toEqual({ resourceTemplates: [] });
  });

  it('describes every tool with annotations and tells agents to keep the rejoin token', async () => {
    const { tools } = await a.client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      'health_check',
      'create_channel',
      'join_channel',
      'post_message',
      'sync_messages',
      'dm_bot',
      'get_channel_info',
      'get_bot_code',
      'list_channels',
      'update_channel',
    ]);
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get('join_channel')?.description).toMatch(
      /keep the rejoin_token and pass it as member_token/,
    );
    expect(byName.get('sync_messages')?.annotations?.readOnlyHint).toBe(true);
    expect(byName.get('update_channel')?.annotations?.destructiveHint).toBe(true);
    expect(byName.get('post_message')?.inputSchema.properties).toHaveProperty('member_token');
    const health = await a.raw('health_check');
    expect(health.content[0]).toMatchObject({
      type: 'text',
      text: expect.stringMatching(/^Multiplayer server healthy at \d{4}-/),
    });
    expect(health.structuredContent).toEqual({
      result: (health.content[0] as { text: string }).text,
    });
  });
});
