import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BotId, ChannelId, PrincipalId, SlotId, TenantId } from '#core';
import type { BotDefinition, ChannelDraft } from '#channels';
import type pg from 'pg';
import { createTestDatabase } from '#test-support';
import type { Engine, TestDatabase } from '#test-support';
import { EVENTS_WITH_MESSAGES } from './channel-event-rows.js';
import { Database } from './database.js';
import { TypeOrmChannelStore } from './typeorm-channel.store.js';
import { TypeOrmPrincipalStore, TypeOrmSessionStore } from './typeorm-session.store.js';

const tenant = 'ten_default' as TenantId;
const alice = 'prn_alice' as PrincipalId;
const bob = 'prn_bob' as PrincipalId;

const definition: BotDefinition = {
  name: 'Echo',
  version: '1.0',
  manifest: { summary: 'echo' },
  codeRef: null,
  code: 'export default class Echo {}',
  codeHash: 'sha256:x',
  manifestHash: 'sha256:y',
};

function draft(id: string, withBot: boolean): ChannelDraft {
  const botId = 'bot_Echo_0' as BotId;
  return {
    id: id as ChannelId,
    name: `channel ${id}`,
    createdBy: alice,
    slots: [
      {
        slotId: 's0' as SlotId,
        kind: 'bot',
        label: 'referee',
        admin: true,
        inviteHash: null,
        botId: withBot ? botId : null,
      },
      {
        slotId: 's1' as SlotId,
        kind: 'invite',
        label: 'a',
        admin: false,
        inviteHash: `inv-${id}-1`,
        botId: null,
      },
      {
        slotId: 's2' as SlotId,
        kind: 'invite',
        label: 'b',
        admin: false,
        inviteHash: `inv-${id}-2`,
        botId: null,
      },
    ],
    bots: withBot ? [{ ...definition, botId, slotId: 's0' as SlotId }] : [],
    messages: withBot
      ? [{ sender: 'system', kind: 'system', body: { type: 'bot:attach' }, toSlot: null }]
      : [],
    events: withBot ? [{ type: 'init', botId, payload: {} }] : [],
  };
}

/** A node of PostgreSQL's EXPLAIN (ANALYZE, FORMAT JSON), as far as the tests read it. */
interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** The ChannelStore contract, run against PostgreSQL and against PGlite. */
describe.each<Engine>(['postgres', 'pglite'])('TypeOrmChannelStore on %s', (engine) => {
  let testDb: TestDatabase;
  let database: Database;
  let store: TypeOrmChannelStore;

  beforeAll(async () => {
    testDb = await createTestDatabase(engine);
    database = await Database.open({ url: testDb.url, dataDir: testDb.dataDir });
    store = new TypeOrmChannelStore(database);
  });

  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('creates a channel with slots, bot, first messages and events', async () => {
    const { channel, lastEventSeq } = await store.createChannel(
      tenant,
      draft('chn_create0001', true),
    );
    expect(channel.slots.map((s) => [s.slotId, s.kind, s.botId])).toEqual([
      ['s0', 'bot', 'bot_Echo_0'],
      ['s1', 'invite', null],
      ['s2', 'invite', null],
    ]);
    expect(lastEventSeq).toBe(1);
    expect(await store.listBots(tenant, channel.id)).toHaveLength(1);
    expect(
      await store.pendingEvents(tenant, channel.id, 'bot_Echo_0' as BotId, 0, 10),
    ).toMatchObject([{ seq: 1, type: 'init', botId: 'bot_Echo_0' }]);
    expect(await store.findChannel('ten_other' as TenantId, channel.id)).toBeNull();
    const withBots = await store.findChannelWithBots(tenant, channel.id);
    expect(withBots?.channel).toEqual(channel);
    expect(withBots?.bots).toEqual(await store.listBots(tenant, channel.id));
    expect(withBots?.bots[0]?.createdAt).toBeInstanceOf(Date);
    expect(await store.findChannelWithBots('ten_other' as TenantId, channel.id)).toBeNull();
  });

  it('redeems an invite once and finds the seat by its token', async () => {
    const id = 'chn_invite0001' as ChannelId;
    await store.createChannel(tenant, draft(id, true));
    const joined = await store.redeemInvite(tenant, `inv-${id}-1`, bob, 'token-hash-1');
    expect(joined).toMatchObject({
      seat: { channelId: id, slot: { slotId: 's1', principalId: bob } },
      eventSeq: 2,
    });
    expect(await store.redeemInvite(tenant, `inv-${id}-1`, alice, 'token-hash-2')).toBeNull();
    expect(
      await store.redeemInvite('ten_other' as TenantId, `inv-${id}-2`, alice, 'token-hash-3'),
    ).toBeNull();
    expect(await store.findSeatByToken(tenant, 'token-hash-1')).toMatchObject({
      channelId: id,
      slot: { slotId: 's1' },
    });
    expect(await store.seatsOf(tenant, id, bob)).toHaveLength(1);
    await store.rebindSeat(tenant, id, 's1' as SlotId, alice);
    expect(await store.seatsOf(tenant, id, bob)).toHaveLength(0);
    expect(await store.seatsOf(tenant, id, alice)).toHaveLength(1);
  });

  it('appends a claimed message only while the claim holds, storing nothing otherwise', async () => {
    const id = 'chn_claim00001' as ChannelId;
    await store.createChannel(tenant, draft(id, true));
    await store.redeemInvite(tenant, `inv-${id}-1`, bob, 'claim-token-1');
    const message = (text: string) => ({
      sender: 'member:s1',
      kind: 'user',
      body: { text },
      toSlot: null,
    });
    const holds = { slotId: 's1' as SlotId, tokenHash: 'claim-token-1', principalId: bob };
    const first = await store.appendClaimedMessage(tenant, id, message('held'), holds);
    expect(first?.message).toMatchObject({ id: 2, sender: 'member:s1' });
    expect(first?.eventSeq).toBe(3);
    expect(first?.botsBehind).toEqual(['bot_Echo_0']);

    const broken = [
      { ...holds, principalId: alice },
      { ...holds, tokenHash: 'claim-token-2' },
      { ...holds, slotId: 's2' as SlotId },
    ];
    for (const claim of broken) {
      expect(await store.appendClaimedMessage(tenant, id, message('refused'), claim)).toBeNull();
    }
    expect(
      await store.appendClaimedMessage('ten_other' as TenantId, id, message('refused'), holds),
    ).toBeNull();
    // Nothing of the refused appends: no message, no bot event, no id taken (below).
    expect(
      (await store.listVisible(tenant, id, 's1' as SlotId, 0, 100)).map((m) => m.body),
    ).toEqual([{ type: 'bot:attach' }, { text: 'held' }]);
    const events = await store.pendingEvents(tenant, id, 'bot_Echo_0' as BotId, 0, 100);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);

    await store.rebindSeat(tenant, id, 's1' as SlotId, alice);
    expect(await store.appendClaimedMessage(tenant, id, message('moved'), holds)).toBeNull();
    const taken = await store.appendClaimedMessage(tenant, id, message('taken'), {
      ...holds,
      principalId: alice,
    });
    expect(taken?.message.id).toBe(3);
  });

  it('gives messages strictly increasing ids per channel and hides private ones', async () => {
    const a = 'chn_msgs000001' as ChannelId;
    const b = 'chn_msgs000002' as ChannelId;
    await store.createChannel(tenant, draft(a, false));
    await store.createChannel(tenant, draft(b, false));
    const posted = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.appendMessage(tenant, a, {
          sender: 'member:s1',
          kind: 'user',
          body: { text: `m${i}` },
          toSlot: null,
        }),
      ),
    );
    expect(posted.map((p) => p.message.id).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(posted.every((p) => p.eventSeq === null)).toBe(true);
    const other = await store.appendMessage(tenant, b, {
      sender: 'member:s1',
      kind: 'user',
      body: {},
      toSlot: null,
    });
    expect(other.message.id).toBe(1);

    await store.updateChannel(tenant, a, [], {
      sender: 'system',
      kind: 'system',
      body: { type: 'x' },
      toSlot: 's2' as SlotId,
    });
    const forS1 = await store.listVisible(tenant, a, 's1' as SlotId, 0, 100);
    const forS2 = await store.listVisible(tenant, a, 's2' as SlotId, 15, 100);
    expect(forS1).toHaveLength(20);
    expect(forS2.map((m) => m.id)).toEqual([16, 17, 18, 19, 20, 21]);
    expect(forS2.at(-1)).toMatchObject({ toSlot: 's2', body: { type: 'x' } });
  });

  it('commits bot effects once per (bot, event) and records message events for bots', async () => {
    const id = 'chn_effects001' as ChannelId;
    const botId = 'bot_Echo_0' as BotId;
    await store.createChannel(tenant, draft(id, true));
    const { eventSeq } = await store.appendMessage(tenant, id, {
      sender: 'member:s1',
      kind: 'user',
      body: { text: 'hi' },
      toSlot: null,
    });
    expect(eventSeq).toBe(2);
    const effects = {
      messages: [{ sender: `bot:${botId}`, kind: 'bot', body: { text: 'hello' }, toSlot: null }],
      state: { n: 1 },
    };
    expect(await store.commitBotEffects(tenant, id, botId, 1, effects)).toBe(true);
    expect(await store.commitBotEffects(tenant, id, botId, 1, effects)).toBe(false);
    const bot = await store.findBot(tenant, id, botId);
    expect(bot).toMatchObject({ lastEventSeq: 1, state: { n: 1 }, stateVersion: 1 });
    expect(await store.pendingEvents(tenant, id, botId, 1, 10)).toMatchObject([
      { seq: 2, type: 'message', payload: { message_id: 2 } },
    ]);
    expect(await store.botsWithPendingEvents()).toContainEqual({ tenantId: tenant, channelId: id });
    const messages = await store.listVisible(tenant, id, 's1' as SlotId, 0, 10);
    expect(messages.map((m) => m.sender)).toEqual(['system', 'member:s1', `bot:${botId}`]);
  });

  it('reads a page of events with one message lookup each, however long the history', async () => {
    const id = 'chn_history001' as ChannelId;
    await store.createChannel(tenant, draft(id, true));
    for (let n = 0; n < 300; n += 1) {
      await store.appendMessage(tenant, id, {
        sender: 'member:s1',
        kind: 'user',
        body: { n },
        toSlot: null,
      });
    }
    const page = 10;
    const [explained] = await database.tenantRows<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      tenant,
      `EXPLAIN (ANALYZE, FORMAT JSON) ${EVENTS_WITH_MESSAGES}`,
      [tenant, id, 280, null, page],
    );
    const plan = explained?.['QUERY PLAN'][0].Plan;
    // Rows the plan took from `messages`: one per event of the page, not the channel's 301.
    const scans = plan ? nodes(plan).filter((node) => node['Relation Name'] === 'messages') : [];
    expect(scans.length).toBeGreaterThan(0);
    const read = scans.reduce(
      (sum, node) =>
        sum + (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'],
      0,
    );
    expect(read).toBeLessThanOrEqual(page);
    expect(
      (await store.pendingEvents(tenant, id, 'bot_Echo_0' as BotId, 280, page)).map(
        (event) => event.message?.body,
      ),
    ).toEqual(Array.from({ length: page }, (_, i) => ({ n: 279 + i })));
  });

  it('applies channel updates together and stops events for a removed bot', async () => {
    const id = 'chn_update0001' as ChannelId;
    const botId = 'bot_Echo_0' as BotId;
    await store.createChannel(tenant, draft(id, true));
    const channel = await store.updateChannel(
      tenant,
      id,
      [
        { type: 'rename', name: 'renamed' },
        { type: 'set_admin', slotId: 's1' as SlotId, admin: true },
        { type: 'remove_bot', botId },
      ],
      { sender: 'system', kind: 'system', body: { type: 'channel_updated' }, toSlot: null },
    );
    expect(channel.name).toBe('renamed');
    expect(channel.slots[1]?.admin).toBe(true);
    expect(channel.slots[0]?.botId).toBeNull();
    expect(await store.listBots(tenant, id)).toEqual([]);
    const { eventSeq } = await store.appendMessage(tenant, id, {
      sender: 'member:s1',
      kind: 'user',
      body: {},
      toSlot: null,
    });
    expect(eventSeq).toBeNull();
  });

  it('lists only the channels a principal created or holds a seat in', async () => {
    const carol = 'prn_carol' as PrincipalId;
    const id = 'chn_listing001' as ChannelId;
    await store.createChannel(tenant, {
      ...draft(id, false),
      createdBy: 'prn_dave' as PrincipalId,
    });
    expect(await store.listChannelsOf(tenant, carol, 10)).toEqual([]);
    await store.redeemInvite(tenant, `inv-${id}-2`, carol, 'carol-token');
    const listed = await store.listChannelsOf(tenant, carol, 10);
    expect(listed.map((l) => l.channel.id)).toEqual([id]);
    expect(await store.listChannelsOf('ten_other' as TenantId, carol, 10)).toEqual([]);
  });

  it('keeps answering after the pool replaces its connection', async () => {
    const id = 'chn_reconnect1' as ChannelId;
    await store.createChannel(tenant, draft(id, false));
    expect(await store.findChannel(tenant, id)).not.toBeNull();
    const pool = (database.dataSource.driver as unknown as { master: pg.Pool }).master;
    // As the pool's idle timeout does it: the connection ends cleanly, a new one takes its place.
    const client = await pool.connect();
    await client.end();
    client.release(true);
    expect(await store.findChannel(tenant, id)).not.toBeNull();
  });

  it('stores sessions by hash and resolves them to their principal', async () => {
    const principals = new TypeOrmPrincipalStore(database);
    const sessions = new TypeOrmSessionStore(database);
    const principal = await principals.create(tenant, 'anonymous');
    const sessionId = await sessions.open(principal);
    expect(await sessions.find(tenant, sessionId)).toEqual(principal);
    expect(await sessions.find(tenant, 'unknown')).toBeNull();
    expect(await sessions.find('ten_other' as TenantId, sessionId)).toBeNull();
    expect(await sessions.close(tenant, sessionId)).toBe(true);
    expect(await sessions.find(tenant, sessionId)).toBeNull();
    const old = await sessions.open(principal);
    expect(await sessions.expire(new Date(Date.now() - 60_000))).toBe(0);
    expect(await sessions.expire(new Date(Date.now() + 60_000))).toBe(1);
    expect(await sessions.find(tenant, old)).toBeNull();
  });
});
