import type { ChannelId, TenantId } from '#core';
import type { PendingEvent } from './channel.store.js';

/** A channel with committed events the relay has not published yet. */
export interface UnpublishedChannel {
  readonly tenantId: TenantId;
  readonly channelId: ChannelId;
  /** The last event published; every later one waits. */
  readonly publishedSeq: number;
}

/**
 * The transactional outbox (DESIGN §7): `channel_events` rows are committed with their cause, and
 * each channel records how far its events have been published.
 */
export abstract class EventOutbox {
  /** Channels with unpublished events, across tenants, at most `limit`. */
  abstract unpublished(limit: number): Promise<UnpublishedChannel[]>;
  /** The channel's events after `afterSeq`, in order, each with its message, at most `limit`. */
  abstract eventsAfter(
    tenantId: TenantId,
    channelId: ChannelId,
    afterSeq: number,
    limit: number,
  ): Promise<PendingEvent[]>;
  /** Records that events up to `seq` are published; never moves back. */
  abstract markPublished(tenantId: TenantId, channelId: ChannelId, seq: number): Promise<void>;
}
