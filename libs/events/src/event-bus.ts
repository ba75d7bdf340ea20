import type { ChannelId, TenantId } from '#core';
import type { ChannelEventMessage, ReceivedChannelEvent } from './channel-event.message.js';

/** A running consumer of a channel's events; stop it to stop deliveries. */
export interface EventConsumer {
  stop(): Promise<void>;
}

/** Handles one event; resolving acknowledges it, throwing has it delivered again later. */
export type EventHandler = (event: ReceivedChannelEvent) => Promise<void>;

/**
 * Carries channel signals between the parts of the system and between API replicas (DESIGN §7).
 * Wake-ups say "something was committed" (readers re-read Postgres); committed channel events
 * travel in order to durable consumers, one per bot.
 */
export abstract class EventBus {
  /** Tells every waiter on this channel, in every process, that new messages were committed. */
  abstract publishWake(tenantId: TenantId, channelId: ChannelId): void;

  /**
   * Calls `listener` on each wake of this channel until the returned function is called.
   * Subscribe before reading, so a commit between the read and the wait is never missed.
   */
  abstract onWake(tenantId: TenantId, channelId: ChannelId, listener: () => void): () => void;

  /**
   * Publishes a committed event (validated first). Publishing the same (tenant, channel, seq)
   * again, as a relay does after a crash, delivers it once.
   */
  abstract publishEvent(event: ChannelEventMessage): Promise<void>;

  /**
   * Delivers the channel's events to the durable consumer `name`, in order and one at a time,
   * starting after the last one it acknowledged (from the first event when it is new). An event
   * whose handler throws is delivered again after `retryDelayMs`; an event that fails validation
   * on arrival is dropped (it can never become valid).
   */
  abstract consume(
    tenantId: TenantId,
    channelId: ChannelId,
    name: string,
    handle: EventHandler,
  ): Promise<EventConsumer>;

  /** Stops every consumer and lets go of the connection. */
  abstract close(): Promise<void>;

  /** Whether the bus can carry messages now (for /readyz). */
  abstract isHealthy(): boolean;
}

/** Subject of a channel's long-poll wake-ups (DESIGN §7). */
export function wakeSubject(tenantId: TenantId | string, channelId: ChannelId | string): string {
  return `mp.${tenantId}.ch.${channelId}.wake`;
}

/** Subject of a channel's committed events (DESIGN §7). */
export function eventSubject(tenantId: TenantId | string, channelId: ChannelId | string): string {
  return `mp.${tenantId}.ch.${channelId}.ev`;
}

/** How long a failed delivery waits before it is tried again. */
export const RETRY_DELAY_MS = 200;
