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

/**
 * An id that cannot be one token of a subject. Ids are checked where they enter (the channel
 * input schemas); one reaching a subject builder is a bug, never the caller's mistake.
 */
export class SubjectTokenError extends Error {
  constructor(what: string, id: string) {
    const shown = id.length > 40 ? `${id.slice(0, 40)}…` : id;
    super(`${what} ${JSON.stringify(shown)} is not a subject token (1-64 of A-Z a-z 0-9 _ -)`);
    this.name = 'SubjectTokenError';
  }
}

/**
 * Ids are url-safe (spec/compat.md), and only such a token is routed literally by NATS: a dot
 * would add tokens, `*` and `>` are wildcards that would reach other channels' subjects, and
 * whitespace or other bytes are refused by the server. 64 is the longest id an input may carry.
 */
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** `id` as one subject token; throws SubjectTokenError for anything else. */
export function subjectToken(what: string, id: string): string {
  if (!SUBJECT_TOKEN.test(id)) throw new SubjectTokenError(what, id);
  return id;
}

/** `mp.<tenant>.ch.<channel>`: the prefix of every subject of one channel. */
export function channelSubjectPrefix(
  tenantId: TenantId | string,
  channelId: ChannelId | string,
): string {
  return `mp.${subjectToken('tenant id', tenantId)}.ch.${subjectToken('channel id', channelId)}`;
}

/** Subject of a channel's long-poll wake-ups (DESIGN §7). */
export function wakeSubject(tenantId: TenantId | string, channelId: ChannelId | string): string {
  return `${channelSubjectPrefix(tenantId, channelId)}.wake`;
}

/** Subject of a channel's committed events (DESIGN §7). */
export function eventSubject(tenantId: TenantId | string, channelId: ChannelId | string): string {
  return `${channelSubjectPrefix(tenantId, channelId)}.ev`;
}

/** How long a failed delivery waits before it is tried again. */
export const RETRY_DELAY_MS = 200;
