import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChannelId, TenantId } from '#core';
import { InvalidEventMessageError } from './channel-event.message.js';
import type { ChannelEventMessage, ReceivedChannelEvent } from './channel-event.message.js';
import { SubjectTokenError } from './event-bus.js';
import type { EventBus } from './event-bus.js';

/** A channel no other test uses: the NATS stream outlives each test. */
function freshChannel(): { tenantId: TenantId; channelId: ChannelId } {
  return {
    tenantId: 'ten_contract' as TenantId,
    channelId: `chn_${randomBytes(6).toString('hex')}` as ChannelId,
  };
}

function event(
  channel: { tenantId: string; channelId: string },
  seq: number,
  text = `message ${seq}`,
): ChannelEventMessage {
  return {
    ...channel,
    seq,
    type: 'message',
    botId: null,
    payload: { message_id: seq, text },
    createdAt: new Date(0).toISOString(),
    message: null,
  };
}

/** Resolves once `predicate` holds, polling; fails after a few seconds. */
async function eventually(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The EventBus contract (DESIGN §7), run against every adapter: the in-process one and NATS
 * JetStream. Wake-ups reach only their channel; events reach each durable consumer in order, once,
 * again after a failed handler, and from where it left off after a stop.
 */
export function describeEventBusContract(adapter: string, open: () => Promise<EventBus>): void {
  describe(`the EventBus contract: ${adapter}`, () => {
    let bus: EventBus;

    beforeAll(async () => {
      bus = await open();
    });

    afterAll(async () => {
      await bus.close();
    });

    it('refuses a channel id that is not one subject token, before it reaches the bus', async () => {
      const { tenantId } = freshChannel();
      for (const id of ['chn_a.b', 'chn_>', '*', 'chn_a b', 'chn_ü', 'x'.repeat(65)]) {
        const channelId = id as ChannelId;
        expect(() => bus.onWake(tenantId, channelId, () => undefined)).toThrow(SubjectTokenError);
        expect(() => bus.publishWake(tenantId, channelId)).toThrow(SubjectTokenError);
        const consuming = (async () =>
          bus.consume(tenantId, channelId, 'c', () => Promise.resolve()))();
        await expect(consuming).rejects.toThrow(SubjectTokenError);
      }
      expect(bus.isHealthy()).toBe(true);
    });

    it('wakes only the listeners of the channel, until they unsubscribe', async () => {
      const a = freshChannel();
      const b = freshChannel();
      const seen: string[] = [];
      const off = bus.onWake(a.tenantId, a.channelId, () => seen.push('a'));
      const offB = bus.onWake(b.tenantId, b.channelId, () => seen.push('b'));
      bus.publishWake(a.tenantId, a.channelId);
      await eventually(() => seen.length === 1, 'the wake-up');
      off();
      bus.publishWake(a.tenantId, a.channelId);
      bus.publishWake('ten_other' as TenantId, a.channelId);
      bus.publishWake(b.tenantId, b.channelId);
      await eventually(() => seen.includes('b'), 'the other channel’s wake-up');
      expect(seen).toEqual(['a', 'b']);
      offB();
    });

    it('delivers events in order, each once, also when the relay publishes one again', async () => {
      const channel = freshChannel();
      const seen: number[] = [];
      const consumer = await bus.consume(channel.tenantId, channel.channelId, 'bot_a', (e) => {
        seen.push(e.seq);
        return Promise.resolve();
      });
      for (const seq of [1, 2, 2, 3, 1, 4]) await bus.publishEvent(event(channel, seq));
      await eventually(() => seen.length >= 4, 'four events');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).toEqual([1, 2, 3, 4]);
      await consumer.stop();
    });

    it('gives every consumer every event of its channel only, with the payload intact', async () => {
      const channel = freshChannel();
      const other = freshChannel();
      const received: Record<string, ReceivedChannelEvent[]> = { one: [], two: [] };
      const consumers = await Promise.all(
        (['one', 'two'] as const).map((name) =>
          bus.consume(channel.tenantId, channel.channelId, name, (e) => {
            received[name]?.push(e);
            return Promise.resolve();
          }),
        ),
      );
      await bus.publishEvent(event(other, 1));
      await bus.publishEvent(event(channel, 1, 'hé 💬'));
      await eventually(
        () => received['one']?.length === 1 && received['two']?.length === 1,
        'both consumers',
      );
      expect(received['one']).toEqual([event(channel, 1, 'hé 💬')]);
      expect(received['two']).toEqual(received['one']);
      await Promise.all(consumers.map((c) => c.stop()));
    });

    it('delivers an event again when its handler fails, before any later one', async () => {
      const channel = freshChannel();
      const attempts: number[] = [];
      let failures = 2;
      const consumer = await bus.consume(channel.tenantId, channel.channelId, 'flaky', (e) => {
        attempts.push(e.seq);
        if (e.seq === 1 && failures-- > 0) return Promise.reject(new Error('hook crashed'));
        return Promise.resolve();
      });
      await bus.publishEvent(event(channel, 1));
      await bus.publishEvent(event(channel, 2));
      await eventually(() => attempts.includes(2), 'the second event');
      expect(attempts).toEqual([1, 1, 1, 2]);
      await consumer.stop();
    });

    it('resumes a durable consumer after the last event it acknowledged', async () => {
      const channel = freshChannel();
      const first: number[] = [];
      const consumer = await bus.consume(channel.tenantId, channel.channelId, 'runner', (e) => {
        first.push(e.seq);
        return Promise.resolve();
      });
      await bus.publishEvent(event(channel, 1));
      await bus.publishEvent(event(channel, 2));
      await eventually(() => first.length === 2, 'two events');
      await consumer.stop();
      await bus.publishEvent(event(channel, 3));
      const second: number[] = [];
      const again = await bus.consume(channel.tenantId, channel.channelId, 'runner', (e) => {
        second.push(e.seq);
        return Promise.resolve();
      });
      await eventually(() => second.length === 1, 'the event published while stopped');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(second).toEqual([3]);
      await again.stop();
    });

    it('refuses to publish an event that breaks the schema', async () => {
      const channel = freshChannel();
      await expect(bus.publishEvent({ ...event(channel, 1), seq: 0 })).rejects.toThrow(
        InvalidEventMessageError,
      );
      await expect(bus.publishEvent({ ...event(channel, 1), channelId: 'chn.x>' })).rejects.toThrow(
        InvalidEventMessageError,
      );
    });
  });
}
