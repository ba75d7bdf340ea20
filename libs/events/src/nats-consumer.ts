import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamClient } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { InvalidEventMessageError, parseEventMessage } from './channel-event.message.js';
import type { ReceivedChannelEvent } from './channel-event.message.js';
import { RETRY_DELAY_MS, eventSubject } from './event-bus.js';
import type { EventConsumer, EventHandler } from './event-bus.js';

/** The JetStream stream of committed channel events (DESIGN §7). */
export const EVENT_STREAM = 'MP_EVENTS';

/** A delivery not acknowledged within this time (a consumer that died mid-hook) comes again. */
export const DEFAULT_ACK_WAIT_MS = 30_000;

/** A durable consumer's name: NATS names allow no `.`, `*`, `>` or spaces. */
export function durableName(tenantId: string, channelId: string, name: string): string {
  return `${tenantId}_${channelId}_${name}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** A durable consumer of one channel's events that hands out one unacknowledged event at a time. */
export function durableConfig(
  tenantId: string,
  channelId: string,
  durable: string,
  ackWaitMs = DEFAULT_ACK_WAIT_MS,
): Partial<ConsumerConfig> {
  return {
    durable_name: durable,
    filter_subject: eventSubject(tenantId, channelId),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: 1,
    ack_wait: nanos(ackWaitMs),
  };
}

/**
 * Pulls from an existing durable consumer and hands each valid event to `handle`: acknowledged
 * when it resolves, delivered again after a pause when it throws. An event that fails validation
 * can never become valid, so it is terminated.
 */
export async function consumeDurable(
  js: JetStreamClient,
  durable: string,
  handle: EventHandler,
  logger: { error(message: string): void },
): Promise<EventConsumer> {
  const consumer = await js.consumers.get(EVENT_STREAM, durable);
  const messages = await consumer.consume({ max_messages: 1 });
  const loop = (async () => {
    for await (const message of messages) {
      let event: ReceivedChannelEvent;
      try {
        event = parseEventMessage(message.json());
      } catch (error) {
        const reason = error instanceof InvalidEventMessageError ? error.message : 'not JSON';
        logger.error(`dropped an event on ${message.subject}: ${reason}`);
        // Without a reason: nats-server 2.9 (Debian's) does not read one and would not end it.
        message.term();
        continue;
      }
      try {
        await handle(event);
        message.ack();
      } catch {
        message.nak(RETRY_DELAY_MS);
      }
    }
  })();
  return {
    stop: async () => {
      await messages.close();
      await loop;
    },
  };
}
