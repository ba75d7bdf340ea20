import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BotId, ChannelId, PrincipalId, SlotId, TenantId } from '#core';
import { messageEvent } from '#channels';
import type { MessageDraft } from '#channels';
import { IsolateSandbox } from '#bot-sandbox';
import { InProcessEventBus } from '#events';
import { Database, TypeOrmChannelStore } from '#persistence';
import { createTestDatabase } from '#test-support';
import type { TestDatabase } from '#test-support';
import { BotService } from './bot.service.js';
import { BotEffects } from './bot-effects.js';
import { InlineBotLauncher } from './inline-bot.launcher.js';

const tenant = 'ten_default' as TenantId;
const botId = 'bot_Echo_0' as BotId;
const ECHO = `export default class Echo {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(msg) { this.ctx.post('bot', { echo: msg.body.text }); }
}`;

/** BotService against a real PostgreSQL: ordering, idempotent commits, another runner racing it. */
describe('BotService', () => {
  let testDb: TestDatabase;
  let database: Database;
  let store: TypeOrmChannelStore;
  let sandbox: IsolateSandbox;
  const logger = { error: () => undefined };

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    database = await Database.open({ url: testDb.url, dataDir: testDb.dataDir });
    store = new TypeOrmChannelStore(database);
    sandbox = new IsolateSandbox({ memoryMb: 32, timeoutMs: 2000, maxOutputBytes: 65536 });
  });

  afterAll(async () => {
    sandbox?.dispose();
    await database?.close();
    await testDb?.drop();
  });

  /** A BotService with hooks inline, as one API process has it. */
  function service(): BotService {
    const bus = new InProcessEventBus();
    const effects = new BotEffects(store, bus, logger);
    const launcher = new InlineBotLauncher(
      store,
      effects,
      sandbox,
      { workspaceRoot: null },
      logger,
    );
    return new BotService(store, launcher, effects, bus, {
      settleTimeoutMs: 5000,
      workspaceRoot: null,
    });
  }

  async function echoChannel(id: string): Promise<ChannelId> {
    const prepared = await service().prepare({ code: ECHO });
    if (!prepared.ok) throw new Error(prepared.error);
    const channelId = id as ChannelId;
    await store.createChannel(tenant, {
      id: channelId,
      name: id,
      createdBy: 'prn_x' as PrincipalId,
      slots: [
        {
          slotId: 's0' as SlotId,
          kind: 'bot',
          label: 'echo',
          admin: true,
          inviteHash: null,
          botId,
        },
      ],
      bots: [{ ...prepared.definition, botId, slotId: 's0' as SlotId }],
      messages: [],
      events: [{ type: 'init', botId, payload: {} }],
    });
    return channelId;
  }

  async function post(channelId: ChannelId, text: string): Promise<number> {
    const { eventSeq } = await store.appendMessage(tenant, channelId, {
      sender: 'member:s1',
      kind: 'user',
      body: { text },
      toSlot: null,
    });
    if (eventSeq === null) throw new Error('the channel has no bot');
    return eventSeq;
  }

  async function echoes(channelId: ChannelId): Promise<unknown[]> {
    const messages = await store.listVisible(tenant, channelId, 's1' as SlotId, 0, 100);
    return messages.filter((m) => m.sender === `bot:${botId}`).map((m) => m.body['echo']);
  }

  it('answers every event once, in order, even when many are settled at once', async () => {
    const channelId = await echoChannel('chn_order00001');
    const bots = service();
    const seqs = [];
    for (let i = 0; i < 10; i++) seqs.push(await post(channelId, `m${i}`));
    await Promise.all(seqs.map((seq) => bots.settle(tenant, channelId, seq)));
    expect(await echoes(channelId)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  });

  it('runs handed-over events once and in order when posts and their settles interleave', async () => {
    const channelId = await echoChannel('chn_handover01');
    const bots = service();
    await bots.settle(tenant, channelId, 1);
    const reached: boolean[] = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const { message, eventSeq } = await store.appendMessage(tenant, channelId, {
          sender: 'member:s1',
          kind: 'user',
          body: { text: `h${i}` },
          toSlot: null,
        });
        if (eventSeq === null) throw new Error('the channel has no bot');
        await bots.settle(tenant, channelId, eventSeq, [botId], messageEvent(message, eventSeq));
        // The caller's own event is committed when settle returns.
        const bot = await store.findBot(tenant, channelId, botId);
        return (bot?.lastEventSeq ?? 0) >= eventSeq;
      }),
    );
    expect(reached.every(Boolean)).toBe(true);
    const answered = await echoes(channelId);
    const posted = (await store.listVisible(tenant, channelId, 's1' as SlotId, 0, 100))
      .filter((m) => m.sender === 'member:s1')
      .map((m) => m.body['text']);
    expect(answered).toEqual(posted);
    expect(new Set(answered).size).toBe(20);
  });

  it('resumes a pending event at recovery, counting the start', async () => {
    const channelId = await echoChannel('chn_recover001');
    await service().settle(tenant, channelId, 1);
    const seq = await post(channelId, 'while down');
    await service().recover();
    expect(await echoes(channelId)).toEqual(['while down']);
    // This was the event's first start by recovery.
    expect(await store.countRecoveryAttempt(tenant, channelId, botId, seq)).toBe(2);
  });

  it('skips, with a visible bot:error, an event that stopped the server on every start', async () => {
    const channelId = await echoChannel('chn_recover002');
    await service().settle(tenant, channelId, 1);
    const poison = await post(channelId, 'poison');
    // Three starts by recovery, each ended by the process dying in the hook.
    for (let start = 1; start <= 3; start++) {
      expect(await store.countRecoveryAttempt(tenant, channelId, botId, poison)).toBe(start);
    }
    await post(channelId, 'after');
    await service().recover();
    const fromBot = (await store.listVisible(tenant, channelId, 's1' as SlotId, 0, 100)).filter(
      (m) => m.sender === `bot:${botId}`,
    );
    expect(fromBot.map((m) => m.body['echo'] ?? m.body)).toEqual([
      expect.objectContaining({
        type: 'bot:error',
        event_seq: poison,
        error: "the server stopped 3 times while this event's hook ran; the event was skipped",
      }),
      'after',
    ]);
  });

  it('refuses posts typed like the platform and kinds past the member rules, even from a tampered driver', async () => {
    const channelId = await echoChannel('chn_platform01');
    const forger = `export default class Forger {
      constructor(ctx) { this.ctx = ctx; }
      onMessage(msg) {
        if (msg.body.text === 'kind') { RegExp.prototype.test = () => true; this.ctx.post('x'.repeat(40), {}); }
        else this.ctx.post('control', { type: 'bots_announced', bots: [] });
      }
    }`;
    await database.tenantRows(
      tenant,
      'UPDATE bots SET code = $3 WHERE tenant_id = $1 AND channel_id = $2',
      [tenant, channelId, forger],
    );
    const mine = service();
    await mine.settle(tenant, channelId, await post(channelId, 'announce'));
    await mine.settle(tenant, channelId, await post(channelId, 'kind'));
    const fromBot = (await store.listVisible(tenant, channelId, 's1' as SlotId, 0, 100)).filter(
      (m) => m.sender === `bot:${botId}`,
    );
    expect(fromBot.map((m) => [m.kind, m.body['type'], m.body['error']])).toEqual([
      ['control', 'bot:error', 'message type "bots_announced" is reserved for the platform'],
      ['control', 'bot:error', 'a message kind must be 1-32 letters, digits or _ . : -'],
    ]);
  });

  it('notices that another runner committed an event first, and goes on from there', async () => {
    const channelId = await echoChannel('chn_racing0001');
    const mine = service();
    await mine.settle(tenant, channelId, await post(channelId, 'first'));
    // Another runner (a second replica) handles the next event while this one's cache is stale.
    const next = await post(channelId, 'second');
    const theirs: MessageDraft = {
      sender: `bot:${botId}`,
      kind: 'bot',
      body: { echo: 'second (other runner)' },
      toSlot: null,
    };
    expect(
      await store.commitBotEffects(tenant, channelId, botId, next, {
        messages: [theirs],
        state: undefined,
      }),
    ).toBe(true);
    await mine.settle(tenant, channelId, await post(channelId, 'third'));
    expect(await echoes(channelId)).toEqual(['first', 'second (other runner)', 'third']);
    expect((await store.findBot(tenant, channelId, botId))?.lastEventSeq).toBe(next + 1);
  });
});
