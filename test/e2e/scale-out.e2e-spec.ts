import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChannelId, TenantId } from '#core';
import { NatsEventBus } from '#events';
import type { ReceivedChannelEvent } from '#events';
import { eventually } from '../support/eventually.js';
import { connectAgent, toolError } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { authorizeOpen } from '../support/oauth.js';
import { testNats } from '../support/nats.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

interface Synced {
  cursor: number;
  messages: { id: number; sender: string; body: Record<string, unknown> }[];
}

const ECHO = `export default class Echo {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(m) { this.ctx.post('bot', { echo: m.body.text }); }
}`;

/** Counts messages in its state, so each hook moves the bot's state version. */
const STATEFUL = `export default class Counter {
  constructor(ctx) { this.ctx = ctx; }
  onMessage() { this.ctx.setState({ n: (this.ctx.getState().n ?? 0) + 1 }); }
}`;

/**
 * Within 2 s: well inside the read cache's 5 s lifetime, so passing shows the other replica's
 * wake-up reached it, not that the cached view expired.
 */
const WAKE_WINDOW_MS = 2_000;

/**
 * Two API processes over one PostgreSQL database and one NATS server, as two replicas behind a
 * load balancer (one PUBLIC_URL): a client whose requests alternate between them sees one channel,
 * and a long poll on one wakes when a message is posted on the other.
 */
describe('two API replicas sharing Postgres and NATS', () => {
  let first: TestApp;
  let second: TestApp;
  let onFirst: Agent;
  let onSecond: Agent;

  beforeAll(async () => {
    const nats = testNats().env;
    first = await startTestApp({ env: nats });
    second = await startTestApp({
      database: first.database,
      env: { ...nats, PUBLIC_URL: first.url },
    });
    // One person, one token, each request to either replica.
    const { accessToken } = await authorizeOpen(first.url);
    onFirst = await connectAgent(first.url, 'replica-1', accessToken);
    onSecond = await connectAgent(second.url, 'replica-2', accessToken);
  });

  afterAll(async () => {
    await Promise.all([onFirst, onSecond].map((agent) => agent?.close()));
    await second?.close();
    await first?.close();
  });

  it('keeps one consistent channel when requests alternate between the replicas', async () => {
    const created = await onFirst.call<{ channel_id: string; invites: string[] }>(
      'create_channel',
      { name: 'replicated', slots: ['bot:echo', 'invite:a'], bot_code: ECHO },
    );
    await onSecond.call('join_channel', { invite_code: created.invites[0] });
    for (const [i, agent] of [onFirst, onSecond, onFirst, onSecond].entries()) {
      await agent.call('post_message', { channel_id: created.channel_id, body: `hop ${i}` });
    }
    const seen = await onFirst.call<Synced>('sync_messages', {
      channel_id: created.channel_id,
      cursor: 0,
      timeout_ms: 0,
    });
    const echoes = seen.messages.filter((m) => 'echo' in m.body).map((m) => m.body['echo']);
    expect(echoes).toEqual(['hop 0', 'hop 1', 'hop 2', 'hop 3']);
    const ids = seen.messages.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('moves a seat with its member token between people on either replica, post by post', async () => {
    const created = await onFirst.call<{ channel_id: string; invites: string[] }>(
      'create_channel',
      { name: 'moving seat', slots: ['bot:echo', 'invite:a'], bot_code: ECHO },
    );
    const channelId = created.channel_id;
    const { rejoin_token: token } = await onFirst.call<{ rejoin_token: string }>('join_channel', {
      invite_code: created.invites[0],
    });
    const someoneElse = await connectAgent(
      second.url,
      'someone-else',
      (await authorizeOpen(first.url)).accessToken,
    );
    try {
      const post = (agent: Agent, text: string, memberToken?: string) =>
        agent.call('post_message', {
          channel_id: channelId,
          body: text,
          member_token: memberToken,
        });
      // The first replica remembers the seat as the first person's; the token then takes it to
      // someone else on the second, so the first replica's memory of it is stale.
      await post(onFirst, 'one', token);
      await post(someoneElse, 'two', token);
      await post(onFirst, 'three', token);
      // The stale memory did not stand in for the seat: the token took it back.
      await post(onFirst, 'four');
      expect((await toolError(post(someoneElse, 'five'))).code).toBe('NOT_MEMBER');
      const seen = await onFirst.call<Synced>('sync_messages', {
        channel_id: channelId,
        cursor: 0,
        timeout_ms: 0,
      });
      const posted = seen.messages.filter((m) => m.sender.startsWith('member:'));
      expect(posted.map((m) => [m.sender, m.body['text']])).toEqual([
        ['member:s1', 'one'],
        ['member:s1', 'two'],
        ['member:s1', 'three'],
        ['member:s1', 'four'],
      ]);
      const echoes = seen.messages.filter((m) => 'echo' in m.body).map((m) => m.body['echo']);
      expect(echoes).toEqual(['one', 'two', 'three', 'four']);
    } finally {
      await someoneElse.close();
    }
  });

  it('shows on each replica a channel view that follows changes made on the other', async () => {
    type Info = {
      view: { slots: { filled_by: string | null }[]; name: string };
      bots: { state_version: number }[];
    };
    const info = (agent: Agent, channelId: string) =>
      agent.call<Info>('get_channel_info', { channel_id: channelId });
    const created = await onFirst.call<{ channel_id: string; invites: string[] }>(
      'create_channel',
      { name: 'viewed', slots: ['bot:echo', 'invite:a', 'invite:b'], bot_code: STATEFUL },
    );
    const id = created.channel_id;
    const botless = await onFirst.call<{ channel_id: string; invites: string[] }>(
      'create_channel',
      { name: 'no bot', slots: ['invite:a'] },
    );
    // Both replicas hold the views in memory now.
    for (const agent of [onFirst, onSecond]) {
      expect((await info(agent, botless.channel_id)).view.slots[0]?.filled_by).toBeNull();
      expect((await info(agent, id)).bots[0]?.state_version).toBe(0);
    }
    await onSecond.call('join_channel', { invite_code: botless.invites[0] });
    await eventually(
      async () => (await info(onFirst, botless.channel_id)).view.slots[0]?.filled_by !== null,
      'the join on replica 2 to show on replica 1',
      WAKE_WINDOW_MS,
    );
    await onSecond.call('join_channel', { invite_code: created.invites[0] });
    await onFirst.call('post_message', { channel_id: id, body: 'count me' });
    await eventually(
      async () => (await info(onSecond, id)).bots[0]?.state_version === 1,
      'the bot state from replica 1 to show on replica 2',
      WAKE_WINDOW_MS,
    );
    await onSecond.call('update_channel', {
      channel_id: id,
      ops: [{ type: 'rename', name: 'renamed on two' }],
    });
    await eventually(
      async () => (await info(onFirst, id)).view.name === 'renamed on two',
      'the rename on replica 2 to show on replica 1',
      WAKE_WINDOW_MS,
    );
  });

  it('publishes every committed event to NATS once and in order, though both replicas relay', async () => {
    const created = await onFirst.call<{ channel_id: string; invites: string[] }>(
      'create_channel',
      { name: 'relayed', slots: ['bot:echo', 'invite:a'], bot_code: ECHO },
    );
    await onSecond.call('join_channel', { invite_code: created.invites[0] });
    for (const [i, agent] of [onSecond, onFirst, onSecond].entries()) {
      await agent.call('post_message', { channel_id: created.channel_id, body: `relay ${i}` });
    }
    const observer = await NatsEventBus.connect({
      servers: testNats().servers,
      credentials: testNats().credentials,
      name: 'observer',
      logger: { error: () => undefined },
    });
    const seen: ReceivedChannelEvent[] = [];
    const consumer = await observer.consume(
      'ten_default' as TenantId,
      created.channel_id as ChannelId,
      'observer',
      (event) => {
        seen.push(event);
        return Promise.resolve();
      },
    );
    for (let i = 0; i < 200 && seen.length < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    await consumer.stop();
    await observer.close();
    // init, join, then the three messages: 1..5, no gap, no repeat.
    expect(seen.map((event) => [event.seq, event.type])).toEqual([
      [1, 'init'],
      [2, 'join'],
      [3, 'message'],
      [4, 'message'],
      [5, 'message'],
    ]);
  });

  it('is live and ready on both replicas', async () => {
    for (const app of [first, second]) {
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${app.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ready',
        checks: { database: true, events: true, outbox: true },
      });
    }
  });

  it('wakes a long poll on one replica when a message is posted on the other', async () => {
    const created = await onFirst.call<{ channel_id: string; invites: string[] }>(
      'create_channel',
      { name: 'wake across', slots: ['invite:a'] },
    );
    await onFirst.call('join_channel', { invite_code: created.invites[0] });
    const start = await onSecond.call<Synced>('sync_messages', {
      channel_id: created.channel_id,
      cursor: 0,
      timeout_ms: 0,
    });
    const waitMs = 20_000;
    const started = Date.now();
    const waiting = onSecond.call<Synced>('sync_messages', {
      channel_id: created.channel_id,
      cursor: start.cursor,
      timeout_ms: waitMs,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await onFirst.call('post_message', { channel_id: created.channel_id, body: 'over here' });
    const woken = await waiting;
    expect(woken.messages.map((m) => m.body['text'])).toEqual(['over here']);
    // Woken by the post, not by the poll's own deadline.
    expect(Date.now() - started).toBeLessThan(waitMs / 2);
  });
});
