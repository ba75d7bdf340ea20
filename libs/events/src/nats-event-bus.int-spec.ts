import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import type { ChannelId, TenantId } from '#core';
import { natsAuth } from './nats-event-bus.js';
import { testNats } from '#test-support';
import { describeEventBusContract } from './event-bus.contract.js';
import { eventSubject } from './event-bus.js';
import { NatsEventBus } from './nats-event-bus.js';

const quiet = { error: () => undefined };

function connection(): { servers: string; credentials: string } {
  const { servers, credentials } = testNats();
  return { servers, credentials };
}

describeEventBusContract('NATS JetStream', () =>
  NatsEventBus.connect({ ...connection(), name: 'contract-test', logger: quiet }),
);

describe('NatsEventBus', () => {
  let bus: NatsEventBus;
  let raw: NatsConnection;

  beforeAll(async () => {
    bus = await NatsEventBus.connect({ ...connection(), name: 'nats-test', logger: quiet });
    raw = await connect({ servers: testNats().servers, ...natsAuth(testNats().credentials) });
  });

  afterAll(async () => {
    await bus?.close();
    await raw?.close();
  });

  it('drops a message that breaks the schema on arrival and goes on with the next', async () => {
    const tenantId = 'ten_raw' as TenantId;
    const channelId = `chn_${Date.now()}` as ChannelId;
    const js = jetstream(raw);
    await js.publish(eventSubject(tenantId, channelId), '{"seq": "not a number"}');
    await js.publish(eventSubject(tenantId, channelId), 'not json');
    await bus.publishEvent({
      tenantId,
      channelId,
      seq: 1,
      type: 'join',
      botId: null,
      payload: {},
      createdAt: new Date(0).toISOString(),
    });
    const seen: number[] = [];
    const consumer = await bus.consume(tenantId, channelId, 'strict', (event) => {
      seen.push(event.seq);
      return Promise.resolve();
    });
    for (let i = 0; i < 100 && seen.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(seen).toEqual([1]);
    await consumer.stop();
  });

  it('reports its connection for readiness', async () => {
    expect(bus.isHealthy()).toBe(true);
    const other = await NatsEventBus.connect({
      ...connection(),
      name: 'closing',
      logger: quiet,
    });
    await other.close();
    expect(other.isHealthy()).toBe(false);
  });
});
