import type { BotId, ChannelId, SlotId, TenantId } from '#core';
import type { ChannelEvent, PendingEvent } from '#channels';
import type { Database } from './database.js';

interface EventWithMessageRow {
  seq: number;
  type: ChannelEvent['type'];
  bot_id: string | null;
  payload: never;
  event_at: Date;
  message_id: number | null;
  sender: string | null;
  kind: string | null;
  body: Record<string, unknown> | null;
  to_slot: string | null;
  message_at: Date | null;
}

/**
 * A channel's events after $3, in order, at most $5, each with the message a `message` event
 * names. With a bot id ($4), only the events for that bot (those for every bot, and its own);
 * with null, all (what the outbox publishes). Parameters: tenant, channel, after, bot, limit.
 *
 * Each message is looked up by its primary key, once per event: the LIMIT keeps the planner from
 * flattening the lateral subquery into a join, which it planned as a scan of the channel's
 * messages per page of events (a hash join, or a nested loop per event on young statistics): an
 * outbox pass then cost time in proportion to the channel's history, over 100 ms at 4,000 messages.
 */
export const EVENTS_WITH_MESSAGES = `SELECT e.seq, e.type, e.bot_id, e.payload, e.created_at AS event_at,
            m.id AS message_id, m.sender, m.kind, m.body, m.to_slot, m.created_at AS message_at
     FROM channel_events e
     LEFT JOIN LATERAL (
       SELECT * FROM messages m
       WHERE m.tenant_id = e.tenant_id AND m.channel_id = e.channel_id
         AND m.id = (e.payload->>'message_id')::integer
       LIMIT 1
     ) m ON e.type = 'message'
     WHERE e.tenant_id = $1 AND e.channel_id = $2 AND e.seq > $3
       AND ($4::text IS NULL OR e.bot_id IS NULL OR e.bot_id = $4)
     ORDER BY e.seq LIMIT $5`;

/** The events of EVENTS_WITH_MESSAGES, each with its message. */
export async function readEventsWithMessages(
  database: Database,
  tenantId: TenantId,
  channelId: ChannelId,
  afterSeq: number,
  limit: number,
  botId: BotId | null,
): Promise<PendingEvent[]> {
  const rows = await database.tenantRows<EventWithMessageRow>(tenantId, EVENTS_WITH_MESSAGES, [
    tenantId,
    channelId,
    afterSeq,
    botId,
    limit,
  ]);
  return rows.map((row) => {
    const event = {
      seq: row.seq,
      type: row.type,
      botId: row.bot_id,
      payload: row.payload,
      createdAt: row.event_at,
    } as ChannelEvent;
    const message =
      row.message_id === null || row.message_at === null
        ? null
        : {
            id: row.message_id,
            channelId,
            sender: row.sender ?? '',
            kind: row.kind ?? '',
            body: row.body ?? {},
            ts: row.message_at,
            toSlot: row.to_slot as SlotId | null,
          };
    return { ...event, message };
  });
}
