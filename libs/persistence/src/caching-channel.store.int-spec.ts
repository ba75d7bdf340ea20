import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CachingChannelStore } from '#channels';
import type { ChannelDraft } from '#channels';
import type { BotId, ChannelId, PrincipalId, SlotId, TenantId } from '#core';
import { InProcessEventBus, NatsEventBus } from '#events';
import { channelWithBot, createTestDatabase, testNats } from '#test-support';
import type { TestDatabase } from '#test-support';
import { Database } from './database.js';
import { TypeOrmChannelStore } from './typeorm-channel.store.js';

const tenant = 'ten_default' as TenantId;
const quiet = { error: () => undefined };
let sequence = 0;

function draft(): ChannelDraft {
  return channelWithBot(`chn_cache${String((sequence += 1)).padStart(5, '0')}`);
}

async function eventually(predicate: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The channel read cache behind get_channel_info, over real PostgreSQL: served from memory until
 * this process changes the channel or a wake-up says another replica did.
 */
describe('CachingChannelStore', () => {
  let testDb: TestDatabase;
  let database: Database;
  let plain: TypeOrmChannelStore;

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    database = await Database.open({ url: testDb.url, dataDir: testDb.dataDir });
    plain = new TypeOrmChannelStore(database);
  });

  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  /** A change no store of this process made (as another replica's would be). */
  async function renameBehindItsBack(id: ChannelId, name: string): Promise<void> {
    await database.tenantRows(
      tenant,
      'UPDATE channels SET name = $3 WHERE tenant_id = $1 AND id = $2',
      [tenant, id, name],
    );
  }

  it('serves a repeated read from memory, and reads again after the channel’s wake-up', async () => {
    const bus = new InProcessEventBus();
    const store = new CachingChannelStore(plain, bus);
    const { channel } = await store.createChannel(tenant, draft());
    expect((await store.findChannelWithBots(tenant, channel.id))?.channel.name).toBe(channel.name);
    await renameBehindItsBack(channel.id, 'elsewhere');
    expect((await store.findChannelWithBots(tenant, channel.id))?.channel.name).toBe(channel.name);
    bus.publishWake(tenant, channel.id);
    expect((await store.findChannelWithBots(tenant, channel.id))?.channel.name).toBe('elsewhere');
  });

  it('forgets a channel as soon as this process changes it or its bots', async () => {
    const store = new CachingChannelStore(plain, new InProcessEventBus());
    const { channel } = await store.createChannel(tenant, draft());
    const read = () => store.findChannelWithBots(tenant, channel.id);
    expect((await read())?.channel.slots[1]?.principalId).toBeNull();
    await store.redeemInvite(tenant, `inv-${channel.id}`, 'prn_bob' as PrincipalId, 'tok');
    expect((await read())?.channel.slots[1]?.principalId).toBe('prn_bob');
    await store.rebindSeat(tenant, channel.id, 's1' as SlotId, 'prn_carol' as PrincipalId);
    expect((await read())?.channel.slots[1]?.principalId).toBe('prn_carol');
    await store.commitBotEffects(tenant, channel.id, 'bot_Echo_0' as BotId, 1, {
      messages: [],
      state: { n: 1 },
    });
    expect((await read())?.bots[0]?.stateVersion).toBe(1);
    await store.updateChannel(tenant, channel.id, [{ type: 'rename', name: 'renamed' }], {
      sender: 'system',
      kind: 'system',
      body: { type: 'channel_updated' },
      toSlot: null,
    });
    expect((await read())?.channel.name).toBe('renamed');
  });

  it('does not keep a read that a change overtook', async () => {
    const bus = new InProcessEventBus();
    const store = new CachingChannelStore(plain, bus);
    const { channel } = await store.createChannel(tenant, draft());
    const racing = store.findChannelWithBots(tenant, channel.id);
    bus.publishWake(tenant, channel.id);
    await racing;
    expect(store.size).toBe(0);
  });

  it('reads through while the bus is down, and holds at most its capacity', async () => {
    const nats = await NatsEventBus.connect({ ...testNats(), name: 'cache-down', logger: quiet });
    const store = new CachingChannelStore(plain, nats, 5_000, 2);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await store.createChannel(tenant, draft())).channel.id);
    for (const id of ids) await store.findChannelWithBots(tenant, id);
    expect(store.size).toBe(2);
    await nats.close();
    const id = ids[2] as ChannelId;
    await renameBehindItsBack(id, 'while down');
    expect((await store.findChannelWithBots(tenant, id))?.channel.name).toBe('while down');
  });

  it('sees a change made through another replica once its wake-up arrives over NATS', async () => {
    const busA = await NatsEventBus.connect({ ...testNats(), name: 'replica-a', logger: quiet });
    const busB = await NatsEventBus.connect({ ...testNats(), name: 'replica-b', logger: quiet });
    try {
      const a = new CachingChannelStore(plain, busA);
      const b = new CachingChannelStore(plain, busB);
      const { channel } = await a.createChannel(tenant, draft());
      expect((await a.findChannelWithBots(tenant, channel.id))?.channel.name).toBe(channel.name);
      await b.updateChannel(tenant, channel.id, [{ type: 'rename', name: 'by b' }], {
        sender: 'system',
        kind: 'system',
        body: { type: 'channel_updated' },
        toSlot: null,
      });
      // As ChannelService does after every change.
      busB.publishWake(tenant, channel.id);
      await eventually(
        async () => (await a.findChannelWithBots(tenant, channel.id))?.channel.name === 'by b',
        'replica A to see the rename',
      );
    } finally {
      await busA.close();
      await busB.close();
    }
  });
});
