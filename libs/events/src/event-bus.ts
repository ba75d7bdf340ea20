import type { ChannelId, TenantId } from '#core';

/**
 * Carries channel signals between the parts of the system, and later between API replicas
 * (DESIGN §7). Signals say "something was committed"; readers always re-read Postgres.
 */
export abstract class EventBus {
  /** Tells every waiter on this channel that new messages were committed. */
  abstract publishWake(tenantId: TenantId, channelId: ChannelId): void;

  /**
   * Calls `listener` on each wake of this channel until the returned function is called.
   * Subscribe before reading, so a commit between the read and the wait is never missed.
   */
  abstract onWake(tenantId: TenantId, channelId: ChannelId, listener: () => void): () => void;
}

/** Subject of a channel's long-poll wake-ups (DESIGN §7). */
export function wakeSubject(tenantId: TenantId, channelId: ChannelId): string {
  return `mp.${tenantId}.ch.${channelId}.wake`;
}
