import type { ChannelId, TenantId } from '#core';
import { EventOutbox } from '#channels';
import type { PendingEvent, UnpublishedChannel } from '#channels';
import { readEventsWithMessages } from './channel-event-rows.js';
import type { Database } from './database.js';

/** The outbox in Postgres: `channel_events` and each channel's `published_seq`. */
export class TypeOrmEventOutbox extends EventOutbox {
  constructor(private readonly database: Database) {
    super();
  }

  async unpublished(limit: number): Promise<UnpublishedChannel[]> {
    // The relay serves every tenant: row-level security lets it read across them, not write.
    const rows = await this.database.acrossTenants<{
      tenant_id: string;
      id: string;
      published_seq: number;
    }>(
      `SELECT tenant_id, id, published_seq FROM channels
       WHERE last_event_seq > published_seq LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({
      tenantId: row.tenant_id as TenantId,
      channelId: row.id as ChannelId,
      publishedSeq: row.published_seq,
    }));
  }

  eventsAfter(
    tenantId: TenantId,
    channelId: ChannelId,
    afterSeq: number,
    limit: number,
  ): Promise<PendingEvent[]> {
    return readEventsWithMessages(this.database, tenantId, channelId, afterSeq, limit, null);
  }

  async markPublished(tenantId: TenantId, channelId: ChannelId, seq: number): Promise<void> {
    await this.database.tenantRows(
      tenantId,
      `UPDATE channels SET published_seq = $3
       WHERE tenant_id = $1 AND id = $2 AND published_seq < $3`,
      [tenantId, channelId, seq],
    );
  }
}
