import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OutboxRelay } from '#channels';
import type { ChannelId, TenantId } from '#core';
import { InProcessEventBus, NatsEventBus } from '#events';
import type { EventBus, ReceivedChannelEvent } from '#events';
import { channelWithBot, createTestDatabase, testNats } from '#test-support';
import type { Engine, TestDatabase } from '#test-support';
import { Database } from './database.js';
import { TypeOrmChannelStore } from './typeorm-channel.store.js';
import { TypeOrmEventOutbox } from './typeorm-event-outbox.js';

const tenant = 'ten_default' as TenantId;
/** Channel ids of this run: a NATS server given from outside keeps streams between runs. */
const run = Date.now().toString(36);
const quiet = { error: () => undefined };

/**
 * The transactional outbox: committed channel events reach the bus in order, each once, also
 * when a relay died between committing and publishing or between publishing and recording it.
 */
describe.each<[Engine, string]>([
  ['postgres', 'NATS JetStream'],
  ['pglite', 'in-process'],
])('the outbox relay on %s to the %s bus', (engine, busKind) => {
  let testDb: TestDatabase;
  let database: Database;
  let store: TypeOrmChannelStore;
  let outbox: TypeOrmEventOutbox;
  let bus: EventBus;

  beforeAll(async () => {
    testDb = await createTestDatabase(engine);
    database = await Database.open({ url: testDb.url, dataDir: testDb.dataDir });
    store = new TypeOrmChannelStore(database);
    outbox = new TypeOrmEventOutbox(database);
    bus =
      busKind === 'NATS JetStream'
        ? await NatsEventBus.connect({
            servers: testNats().servers,
            credentials: testNats().credentials,
            name: 'outbox-test',
            logger: quiet,
          })
        : new InProcessEventBus();
  });

  afterAll(async () => {
    await bus?.close();
    await database?.close();
    await testDb?.drop();
  });

  async function collect(channelId: string, count: number): Promise<ReceivedChannelEvent[]> {
    const seen: ReceivedChannelEvent[] = [];
    const consumer = await bus.consume(tenant, channelId as ChannelId, 'bot_Echo_0', (event) => {
      seen.push(event);
      return Promise.resolve();
    });
    for (let i = 0; i < 200 && seen.length < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    await consumer.stop();
    return seen;
  }

  it('publishes what was committed while no relay ran, in order, and records it', async () => {
    const id = `chn_${engine}_a_${run}`;
    await store.createChannel(tenant, channelWithBot(id));
    for (const text of ['one', 'two']) {
      await store.appendMessage(tenant, id as ChannelId, {
        sender: 'member:s1',
        kind: 'user',
        body: { text },
        toSlot: null,
      });
    }
    // A relay starting now (another replica, or this one after a crash) finds all three.
    const relay = new OutboxRelay(outbox, bus, { idleMs: 50 }, quiet);
    expect(await relay.pass()).toBe(3);
    expect(await relay.pass()).toBe(0);
    const seen = await collect(id, 3);
    expect(seen.map((event) => [event.seq, event.type])).toEqual([
      [1, 'init'],
      [2, 'message'],
      [3, 'message'],
    ]);
    expect(seen[1]?.payload).toEqual({ message_id: 1 });
  });

  it('publishes again after a crash between publishing and recording, and consumers see each once', async () => {
    const id = `chn_${engine}_b_${run}`;
    await store.createChannel(tenant, channelWithBot(id));
    const relay = new OutboxRelay(outbox, bus, { idleMs: 50 }, quiet);
    await relay.pass();
    // As if the relay had died after publishing, before recording it.
    await database.tenantRows(tenant, `UPDATE channels SET published_seq = 0 WHERE id = $1`, [id]);
    expect(await relay.pass()).toBe(1);
    const seen = await collect(id, 1);
    expect(seen.map((event) => event.seq)).toEqual([1]);
  });

  it('runs on its own until stopped, and says whether it is healthy', async () => {
    const id = `chn_${engine}_c_${run}`;
    const relay = new OutboxRelay(outbox, bus, { idleMs: 20 }, quiet);
    expect(relay.healthy(1_000)).toBe(false);
    relay.start();
    await store.createChannel(tenant, channelWithBot(id));
    const seen = await collect(id, 1);
    expect(seen.map((event) => event.type)).toEqual(['init']);
    expect(relay.healthy(1_000)).toBe(true);
    await relay.stop();
    expect(relay.healthy(1_000)).toBe(false);
  });

  it('goes on without resting while a pass leaves events behind', async () => {
    const id = `chn_${engine}_d_${run}`;
    await store.createChannel(tenant, channelWithBot(id));
    // More events than one pass takes from a channel (256): the rest must follow at once.
    for (let i = 0; i < 300; i++) {
      await store.appendMessage(tenant, id as ChannelId, {
        sender: 'member:s1',
        kind: 'user',
        body: { text: `m${i}` },
        toSlot: null,
      });
    }
    const relay = new OutboxRelay(outbox, bus, { idleMs: 60_000 }, quiet);
    relay.start();
    try {
      const seen = await collect(id, 301);
      expect(seen.map((event) => event.seq)).toEqual(Array.from({ length: 301 }, (_, i) => i + 1));
    } finally {
      await relay.stop();
    }
  });

  it('rests between passes under steady traffic instead of passing once per event', async () => {
    const id = `chn_${engine}_e_${run}`;
    await store.createChannel(tenant, channelWithBot(id));
    // Traffic that always lands while a pass runs: each pass finds a new event committed.
    const counting = new (class extends TypeOrmEventOutbox {
      passes = 0;
      override async unpublished(limit: number) {
        this.passes += 1;
        await store.appendMessage(tenant, id as ChannelId, {
          sender: 'member:s1',
          kind: 'user',
          body: { text: `during pass ${this.passes}` },
          toSlot: null,
        });
        return super.unpublished(limit);
      }
    })(database);
    const relay = new OutboxRelay(counting, bus, { idleMs: 60_000 }, quiet);
    relay.start();
    try {
      const seen = await collect(id, 2);
      expect(seen.map((event) => event.seq)).toEqual([1, 2]);
      // A relay that passed again whenever its last pass published would be far along by now.
      expect(counting.passes).toBe(1);
    } finally {
      await relay.stop();
    }
  });
});
