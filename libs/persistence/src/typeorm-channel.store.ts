import type { BotId, ChannelId, PrincipalId, SlotId, TenantId } from '#core';
import { ChannelStore } from '#channels';
import type {
  AppendedMessage,
  BotEffectsCommit,
  BotRecord,
  BotSummary,
  Channel,
  ChannelDraft,
  ChannelEventDraft,
  ChannelSummary,
  ChannelUpdate,
  Message,
  MessageDraft,
  PendingEvent,
  Seat,
  SeatClaim,
  Slot,
} from '#channels';
import type { EntityManager } from 'typeorm';
import { readEventsWithMessages } from './channel-event-rows.js';
import type { Database } from './database.js';
import { BotEntity, ChannelEventEntity, MessageEntity, SlotEntity } from './entities/index.js';
import { jsonb } from './entities/json.js';

interface ChannelRow {
  tenant_id: string;
  id: string;
  name: string;
  created_by: string;
  created_at: Date;
  last_msg_id: number;
}

interface SlotRow {
  channel_id: string;
  slot_id: string;
  kind: 'bot' | 'invite';
  label: string;
  admin: boolean;
  principal_id: string | null;
  bot_id: string | null;
}

interface MessageRow {
  channel_id: string;
  id: number;
  sender: string;
  kind: string;
  body: Record<string, unknown>;
  to_slot: string | null;
  created_at: Date;
}

interface BotSummaryRow {
  bot_id: string;
  slot_id: string;
  name: string;
  version: string;
  manifest: Record<string, unknown>;
  code_ref: string | null;
  code_hash: string;
  manifest_hash: string;
  state_version: number;
  last_event_seq: number;
  created_at: Date;
}

const BOT_SUMMARY_COLUMNS =
  'bot_id, slot_id, name, version, manifest, code_ref, code_hash, manifest_hash, state_version, last_event_seq, created_at';

const SLOT_COLUMNS = 'channel_id, slot_id, kind, label, admin, principal_id, bot_id';
const MESSAGE_COLUMNS = 'channel_id, id, sender, kind, body, to_slot, created_at';

/**
 * ChannelStore on TypeORM and PostgreSQL (or PGlite). Each method is one transaction, or one
 * statement where a single statement can do the whole job (the hot path of posting a message),
 * always with the tenant set for row-level security as well as named in every WHERE clause.
 * Per-channel counters on the channel row allocate message ids and event numbers; updating that
 * row also serialises concurrent writers of one channel.
 */
export class TypeOrmChannelStore extends ChannelStore {
  constructor(private readonly database: Database) {
    super();
  }

  /** Statements for one tenant, each in its own transaction with the tenant set for RLS. */
  private sql(tenantId: TenantId): Sql {
    return <T>(text: string, params: readonly unknown[] = []) =>
      this.database.tenantRows<T>(tenantId, text, params);
  }

  async countChannels(tenantId: TenantId): Promise<number> {
    const [row] = await this.sql(tenantId)<{ n: number }>(
      'SELECT count(*)::int AS n FROM channels WHERE tenant_id = $1',
      [tenantId],
    );
    return row?.n ?? 0;
  }

  async createChannel(
    tenantId: TenantId,
    draft: ChannelDraft,
  ): Promise<{ channel: Channel; lastEventSeq: number }> {
    return this.database.tenantTransaction(tenantId, async (em) => {
      await em.query(
        `INSERT INTO channels (tenant_id, id, name, created_by, last_msg_id, last_event_seq, active_bots)
         VALUES ($1, $2, $3, $4, 0, $5, $6)`,
        [tenantId, draft.id, draft.name, draft.createdBy, draft.events.length, draft.bots.length],
      );
      await em.getRepository(SlotEntity).insert(
        draft.slots.map((slot, position) => ({
          tenantId,
          channelId: draft.id,
          slotId: slot.slotId,
          position,
          kind: slot.kind,
          label: slot.label,
          admin: slot.admin,
          inviteHash: slot.inviteHash,
          memberTokenHash: null,
          principalId: null,
          botId: slot.botId,
          filledAt: slot.botId ? new Date() : null,
        })),
      );
      if (draft.bots.length > 0) {
        await em.getRepository(BotEntity).insert(
          draft.bots.map((bot) => ({
            tenantId,
            channelId: draft.id,
            botId: bot.botId,
            slotId: bot.slotId,
            name: bot.name,
            version: bot.version,
            codeRef: bot.codeRef,
            code: bot.code,
            codeHash: bot.codeHash,
            manifest: jsonb(bot.manifest),
            manifestHash: bot.manifestHash,
            state: {},
            stateVersion: 0,
            lastEventSeq: 0,
            removedAt: null,
          })),
        );
      }
      await insertMessages(em, tenantId, draft.id, draft.messages);
      if (draft.events.length > 0) {
        await em.getRepository(ChannelEventEntity).insert(
          draft.events.map((event, index) => ({
            tenantId,
            channelId: draft.id,
            seq: index + 1,
            type: event.type,
            botId: event.botId,
            payload: jsonb(event.payload),
          })),
        );
      }
      const channel = await readChannel(inTransaction(em), tenantId, draft.id);
      if (!channel) throw new Error('channel vanished inside its own transaction');
      return { channel, lastEventSeq: draft.events.length };
    });
  }

  findChannel(tenantId: TenantId, channelId: ChannelId): Promise<Channel | null> {
    return readChannel(this.sql(tenantId), tenantId, channelId);
  }

  async lastMessageId(tenantId: TenantId, channelId: ChannelId): Promise<number | null> {
    const [row] = await this.sql(tenantId)<{ last_msg_id: number }>(
      'SELECT last_msg_id FROM channels WHERE tenant_id = $1 AND id = $2',
      [tenantId, channelId],
    );
    return row ? row.last_msg_id : null;
  }

  async findChannelWithBots(
    tenantId: TenantId,
    channelId: ChannelId,
  ): Promise<{ channel: Channel; bots: BotSummary[] } | null> {
    const [row] = await this.sql(tenantId)<
      ChannelRow & { slots: SlotRow[]; bots: (BotSummaryRow & { created_at: string })[] }
    >(
      `${CHANNEL_WITH_SLOTS},
              (SELECT coalesce(json_agg(json_build_object(${BOT_SUMMARY_COLUMNS.split(', ')
                .map((column) => `'${column}', b.${column}`)
                .join(', ')}) ORDER BY b.slot_id), '[]')
               FROM bots b WHERE b.tenant_id = c.tenant_id AND b.channel_id = c.id AND b.removed_at IS NULL) AS bots
       FROM channels c WHERE c.tenant_id = $1 AND c.id = $2`,
      [tenantId, channelId],
    );
    if (!row) return null;
    // JSON carries timestamps as text.
    const bots = row.bots.map((bot) =>
      toBotSummary({ ...bot, created_at: new Date(bot.created_at) }),
    );
    return { channel: toChannel(row, row.slots), bots };
  }

  async listBots(tenantId: TenantId, channelId: ChannelId): Promise<BotSummary[]> {
    const rows = await this.sql(tenantId)<BotSummaryRow>(
      `SELECT ${BOT_SUMMARY_COLUMNS} FROM bots
       WHERE tenant_id = $1 AND channel_id = $2 AND removed_at IS NULL ORDER BY slot_id`,
      [tenantId, channelId],
    );
    return rows.map(toBotSummary);
  }

  async findBot(tenantId: TenantId, channelId: ChannelId, botId: BotId): Promise<BotRecord | null> {
    const [row] = await this.sql(tenantId)<
      BotSummaryRow & { code: string; state: Record<string, unknown> }
    >(
      `SELECT ${BOT_SUMMARY_COLUMNS}, code, state FROM bots
       WHERE tenant_id = $1 AND channel_id = $2 AND bot_id = $3 AND removed_at IS NULL`,
      [tenantId, channelId, botId],
    );
    return row ? { ...toBotSummary(row), code: row.code, state: row.state } : null;
  }

  async redeemInvite(
    tenantId: TenantId,
    inviteHash: string,
    principalId: PrincipalId,
    tokenHash: string,
  ): Promise<{ seat: Seat; eventSeq: number } | null> {
    return this.database.tenantTransaction(tenantId, async (em) => {
      const [row] = await em.query<SlotRow[]>(
        `WITH filled AS (
           UPDATE slots SET principal_id = $3, member_token_hash = $4, invite_hash = NULL, filled_at = now()
           WHERE tenant_id = $1 AND invite_hash = $2 AND kind = 'invite' AND principal_id IS NULL
           RETURNING ${SLOT_COLUMNS}
         ) SELECT * FROM filled`,
        [tenantId, inviteHash, principalId, tokenHash],
      );
      if (!row) return null;
      const slot = toSlot(row);
      const eventSeq = await appendEvent(
        inTransaction(em),
        tenantId,
        row.channel_id as ChannelId,
        {
          type: 'join',
          botId: null,
          payload: { member: { slot_id: slot.slotId, label: slot.label } },
        },
        true,
      );
      return { seat: { channelId: row.channel_id as ChannelId, slot }, eventSeq: eventSeq ?? 0 };
    });
  }

  async findSeatByToken(tenantId: TenantId, tokenHash: string): Promise<Seat | null> {
    const [row] = await this.sql(tenantId)<SlotRow>(
      `SELECT ${SLOT_COLUMNS} FROM slots WHERE tenant_id = $1 AND member_token_hash = $2`,
      [tenantId, tokenHash],
    );
    return row ? { channelId: row.channel_id as ChannelId, slot: toSlot(row) } : null;
  }

  async rebindSeat(
    tenantId: TenantId,
    channelId: ChannelId,
    slotId: SlotId,
    principalId: PrincipalId,
  ): Promise<void> {
    await this.sql(tenantId)(
      'UPDATE slots SET principal_id = $4 WHERE tenant_id = $1 AND channel_id = $2 AND slot_id = $3',
      [tenantId, channelId, slotId, principalId],
    );
  }

  async seatsOf(
    tenantId: TenantId,
    channelId: ChannelId,
    principalId: PrincipalId,
  ): Promise<Slot[]> {
    const rows = await this.sql(tenantId)<SlotRow>(
      `SELECT ${SLOT_COLUMNS} FROM slots
       WHERE tenant_id = $1 AND channel_id = $2 AND principal_id = $3 ORDER BY position`,
      [tenantId, channelId, principalId],
    );
    return rows.map(toSlot);
  }

  async appendMessage(
    tenantId: TenantId,
    channelId: ChannelId,
    draft: MessageDraft,
  ): Promise<AppendedMessage> {
    const appended = await this.append(tenantId, channelId, draft, null);
    if (!appended) throw new Error('the channel to post in does not exist');
    return appended;
  }

  appendClaimedMessage(
    tenantId: TenantId,
    channelId: ChannelId,
    draft: MessageDraft,
    claim: SeatClaim,
  ): Promise<AppendedMessage | null> {
    return this.append(tenantId, channelId, draft, claim);
  }

  private async append(
    tenantId: TenantId,
    channelId: ChannelId,
    draft: MessageDraft,
    claim: SeatClaim | null,
  ): Promise<AppendedMessage | null> {
    // One statement, so one round trip: check the claim, allocate the id (locking the channel
    // row), insert the message, and record the bot event when the channel has bots.
    const [row] = await this.sql(tenantId)<
      MessageRow & { event_seq: number | null; bots_behind: BotId[] }
    >(
      `WITH c AS (
         UPDATE channels
         SET last_msg_id = last_msg_id + 1,
             last_event_seq = last_event_seq + CASE WHEN active_bots > 0 THEN 1 ELSE 0 END
         WHERE tenant_id = $1 AND id = $2
           AND ($7::text IS NULL OR EXISTS (
             SELECT 1 FROM slots s
             WHERE s.tenant_id = $1 AND s.channel_id = $2 AND s.slot_id = $7
               AND s.member_token_hash = $8 AND s.principal_id = $9))
         RETURNING last_msg_id, last_event_seq, active_bots
       ), m AS (
         INSERT INTO messages (tenant_id, channel_id, id, sender, kind, body, to_slot)
         SELECT $1, $2, c.last_msg_id, $3, $4, $5::jsonb, $6 FROM c
         RETURNING ${MESSAGE_COLUMNS}
       ), e AS (
         INSERT INTO channel_events (tenant_id, channel_id, seq, type, bot_id, payload)
         SELECT $1, $2, c.last_event_seq, 'message', NULL, jsonb_build_object('message_id', c.last_msg_id)
         FROM c WHERE c.active_bots > 0
         RETURNING seq
       )
       SELECT m.*, (SELECT seq FROM e) AS event_seq,
              (SELECT coalesce(json_agg(b.bot_id ORDER BY b.slot_id), '[]') FROM bots b, c
               WHERE b.tenant_id = $1 AND b.channel_id = $2 AND b.removed_at IS NULL
                 AND b.last_event_seq < c.last_event_seq) AS bots_behind
       FROM m`,
      [
        tenantId,
        channelId,
        draft.sender,
        draft.kind,
        JSON.stringify(draft.body),
        draft.toSlot,
        claim?.slotId ?? null,
        claim?.tokenHash ?? null,
        claim?.principalId ?? null,
      ],
    );
    return row
      ? { message: toMessage(row), eventSeq: row.event_seq, botsBehind: row.bots_behind }
      : null;
  }

  async appendEvent(
    tenantId: TenantId,
    channelId: ChannelId,
    event: ChannelEventDraft,
  ): Promise<number> {
    const seq = await appendEvent(this.sql(tenantId), tenantId, channelId, event, false);
    if (seq === null) throw new Error('the channel for the event does not exist');
    return seq;
  }

  async listVisible(
    tenantId: TenantId,
    channelId: ChannelId,
    viewer: SlotId,
    cursor: number,
    limit: number,
  ): Promise<Message[]> {
    const rows = await this.sql(tenantId)<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
       WHERE tenant_id = $1 AND channel_id = $2 AND id > $3 AND (to_slot IS NULL OR to_slot = $4)
       ORDER BY id LIMIT $5`,
      [tenantId, channelId, cursor, viewer, limit],
    );
    return rows.map(toMessage);
  }

  async listChannelsOf(
    tenantId: TenantId,
    principalId: PrincipalId,
    limit: number,
  ): Promise<ChannelSummary[]> {
    const channels = await this.sql(tenantId)<ChannelRow>(
      `SELECT c.tenant_id, c.id, c.name, c.created_by, c.created_at, c.last_msg_id FROM channels c
       WHERE c.tenant_id = $1 AND (c.created_by = $2 OR EXISTS (
         SELECT 1 FROM slots s WHERE s.tenant_id = c.tenant_id AND s.channel_id = c.id AND s.principal_id = $2))
       ORDER BY c.created_at DESC, c.id LIMIT $3`,
      [tenantId, principalId, limit],
    );
    if (channels.length === 0) return [];
    const ids = channels.map((c) => c.id);
    const slots = await this.sql(tenantId)<SlotRow>(
      `SELECT ${SLOT_COLUMNS} FROM slots WHERE tenant_id = $1 AND channel_id = ANY($2) ORDER BY position`,
      [tenantId, ids],
    );
    const bots = await this.sql(tenantId)<{ channel_id: string; bot_id: string }>(
      `SELECT channel_id, bot_id FROM bots
       WHERE tenant_id = $1 AND channel_id = ANY($2) AND removed_at IS NULL ORDER BY slot_id`,
      [tenantId, ids],
    );
    return channels.map((row) => ({
      channel: toChannel(
        row,
        slots.filter((s) => s.channel_id === row.id),
      ),
      messageCount: row.last_msg_id,
      botIds: bots.filter((b) => b.channel_id === row.id).map((b) => b.bot_id as BotId),
    }));
  }

  async updateChannel(
    tenantId: TenantId,
    channelId: ChannelId,
    updates: readonly ChannelUpdate[],
    notice: MessageDraft,
  ): Promise<Channel> {
    return this.database.tenantTransaction(tenantId, async (em) => {
      for (const update of updates) {
        switch (update.type) {
          case 'rename':
            await em.query('UPDATE channels SET name = $3 WHERE tenant_id = $1 AND id = $2', [
              tenantId,
              channelId,
              update.name,
            ]);
            break;
          case 'set_admin':
            await em.query(
              'UPDATE slots SET admin = $4 WHERE tenant_id = $1 AND channel_id = $2 AND slot_id = $3',
              [tenantId, channelId, update.slotId, update.admin],
            );
            break;
          case 'remove_bot': {
            const removed = await em.query<unknown[]>(
              `WITH r AS (
                 UPDATE bots SET removed_at = now()
                 WHERE tenant_id = $1 AND channel_id = $2 AND bot_id = $3 AND removed_at IS NULL
                 RETURNING bot_id
               ) SELECT * FROM r`,
              [tenantId, channelId, update.botId],
            );
            if (removed.length > 0) {
              await em.query(
                'UPDATE slots SET bot_id = NULL WHERE tenant_id = $1 AND channel_id = $2 AND bot_id = $3',
                [tenantId, channelId, update.botId],
              );
              await em.query(
                'UPDATE channels SET active_bots = active_bots - 1 WHERE tenant_id = $1 AND id = $2',
                [tenantId, channelId],
              );
            }
            break;
          }
        }
      }
      await insertMessages(em, tenantId, channelId, [notice]);
      const channel = await readChannel(inTransaction(em), tenantId, channelId);
      if (!channel) throw new Error('the channel to update does not exist');
      return channel;
    });
  }

  pendingEvents(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
    afterSeq: number,
    limit: number,
  ): Promise<PendingEvent[]> {
    return readEventsWithMessages(this.database, tenantId, channelId, afterSeq, limit, botId);
  }

  async botsWithPendingEvents(): Promise<{ tenantId: TenantId; channelId: ChannelId }[]> {
    const rows = await this.database.acrossTenants<{ tenant_id: string; channel_id: string }>(
      `SELECT DISTINCT b.tenant_id, b.channel_id FROM bots b
       JOIN channels c ON c.tenant_id = b.tenant_id AND c.id = b.channel_id
       WHERE b.removed_at IS NULL AND b.last_event_seq < c.last_event_seq`,
    );
    return rows.map((row) => ({
      tenantId: row.tenant_id as TenantId,
      channelId: row.channel_id as ChannelId,
    }));
  }

  async countRecoveryAttempt(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
    eventSeq: number,
  ): Promise<number> {
    const [row] = await this.database.tenantRows<{ recovery_attempts: number }>(
      tenantId,
      `UPDATE bots SET recovery_attempts = CASE WHEN recovery_seq = $4 THEN recovery_attempts + 1 ELSE 1 END,
                       recovery_seq = $4
       WHERE tenant_id = $1 AND channel_id = $2 AND bot_id = $3
       RETURNING recovery_attempts`,
      [tenantId, channelId, botId, eventSeq],
    );
    return row?.recovery_attempts ?? 0;
  }

  async commitBotEffects(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
    eventSeq: number,
    effects: BotEffectsCommit,
  ): Promise<boolean> {
    // One statement, so one round trip and atomic: move the bot past the event (only if it is not
    // already), take the channel's next message ids, and insert the messages in order.
    const state = effects.state === undefined ? null : JSON.stringify(effects.state);
    const messages = JSON.stringify(
      effects.messages.map((m) => ({
        sender: m.sender,
        kind: m.kind,
        body: m.body,
        to_slot: m.toSlot,
      })),
    );
    const [row] = await this.sql(tenantId)<{ advanced: number }>(
      `WITH b AS (
         UPDATE bots
         SET last_event_seq = $4,
             state = COALESCE($5::jsonb, state),
             state_version = state_version + CASE WHEN $5::jsonb IS NULL THEN 0 ELSE 1 END
         WHERE tenant_id = $1 AND channel_id = $2 AND bot_id = $3 AND last_event_seq < $4 AND removed_at IS NULL
         RETURNING bot_id
       ), c AS (
         UPDATE channels SET last_msg_id = last_msg_id + $6
         WHERE tenant_id = $1 AND id = $2 AND $6 > 0 AND EXISTS (SELECT 1 FROM b)
         RETURNING last_msg_id
       ), m AS (
         INSERT INTO messages (tenant_id, channel_id, id, sender, kind, body, to_slot)
         SELECT $1, $2, c.last_msg_id - $6 + x.n::integer, x.item->>'sender', x.item->>'kind', x.item->'body',
                x.item->>'to_slot'
         FROM c, jsonb_array_elements($7::jsonb) WITH ORDINALITY AS x(item, n)
         RETURNING id
       )
       SELECT (SELECT count(*) FROM b)::int AS advanced, (SELECT count(*) FROM m)::int AS inserted`,
      [tenantId, channelId, botId, eventSeq, state, effects.messages.length, messages],
    );
    return (row?.advanced ?? 0) > 0;
  }
}

/** Runs one statement and returns its rows: on the pool, or inside a transaction. */
type Sql = <T>(text: string, params?: readonly unknown[]) => Promise<T[]>;

function inTransaction(em: EntityManager): Sql {
  return <T>(text: string, params: readonly unknown[] = []) => em.query<T[]>(text, [...params]);
}

/** The channel row with its slots as JSON, in one statement. */
const CHANNEL_WITH_SLOTS = `
  SELECT c.tenant_id, c.id, c.name, c.created_by, c.created_at, c.last_msg_id,
         (SELECT coalesce(json_agg(json_build_object(
             'channel_id', s.channel_id, 'slot_id', s.slot_id, 'kind', s.kind, 'label', s.label,
             'admin', s.admin, 'principal_id', s.principal_id, 'bot_id', s.bot_id) ORDER BY s.position), '[]')
          FROM slots s WHERE s.tenant_id = c.tenant_id AND s.channel_id = c.id) AS slots`;

async function readChannel(
  sql: Sql,
  tenantId: TenantId,
  channelId: ChannelId,
): Promise<Channel | null> {
  const [row] = await sql<ChannelRow & { slots: SlotRow[] }>(
    `${CHANNEL_WITH_SLOTS} FROM channels c WHERE c.tenant_id = $1 AND c.id = $2`,
    [tenantId, channelId],
  );
  return row ? toChannel(row, row.slots) : null;
}

/** Inserts messages with the channel's next ids, in order. */
async function insertMessages(
  em: EntityManager,
  tenantId: TenantId,
  channelId: ChannelId,
  drafts: readonly MessageDraft[],
): Promise<void> {
  if (drafts.length === 0) return;
  const [counter] = await em.query<{ last_msg_id: number }[]>(
    `WITH c AS (
       UPDATE channels SET last_msg_id = last_msg_id + $3 WHERE tenant_id = $1 AND id = $2 RETURNING last_msg_id
     ) SELECT * FROM c`,
    [tenantId, channelId, drafts.length],
  );
  if (!counter) throw new Error('the channel for the messages does not exist');
  const first = counter.last_msg_id - drafts.length + 1;
  await em.getRepository(MessageEntity).insert(
    drafts.map((draft, index) => ({
      tenantId,
      channelId,
      id: first + index,
      sender: draft.sender,
      kind: draft.kind,
      body: jsonb(draft.body),
      toSlot: draft.toSlot,
    })),
  );
}

/** Appends an event; with `onlyIfBots`, only when the channel has bots (else returns null). */
async function appendEvent(
  sql: Sql,
  tenantId: TenantId,
  channelId: ChannelId,
  event: ChannelEventDraft,
  onlyIfBots: boolean,
): Promise<number | null> {
  const [row] = await sql<{ seq: number }>(
    `WITH c AS (
       UPDATE channels SET last_event_seq = last_event_seq + 1
       WHERE tenant_id = $1 AND id = $2 AND (NOT $6 OR active_bots > 0)
       RETURNING last_event_seq
     )
     INSERT INTO channel_events (tenant_id, channel_id, seq, type, bot_id, payload)
     SELECT $1, $2, c.last_event_seq, $3, $4, $5::jsonb FROM c
     RETURNING seq`,
    [tenantId, channelId, event.type, event.botId, JSON.stringify(event.payload), onlyIfBots],
  );
  return row?.seq ?? null;
}

function toChannel(row: ChannelRow, slots: SlotRow[]): Channel {
  return {
    tenantId: row.tenant_id as TenantId,
    id: row.id as ChannelId,
    name: row.name,
    createdAt: row.created_at,
    createdBy: row.created_by as PrincipalId,
    slots: slots.map(toSlot),
  };
}

function toSlot(row: SlotRow): Slot {
  return {
    slotId: row.slot_id as SlotId,
    kind: row.kind,
    label: row.label,
    admin: row.admin,
    botId: row.bot_id as BotId | null,
    principalId: row.principal_id as PrincipalId | null,
  };
}

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    channelId: row.channel_id as ChannelId,
    sender: row.sender,
    kind: row.kind,
    body: row.body,
    ts: row.created_at,
    toSlot: row.to_slot as SlotId | null,
  };
}

function toBotSummary(row: BotSummaryRow): BotSummary {
  return {
    botId: row.bot_id as BotId,
    slotId: row.slot_id as SlotId,
    name: row.name,
    version: row.version,
    manifest: row.manifest,
    codeRef: row.code_ref,
    codeHash: row.code_hash,
    manifestHash: row.manifest_hash,
    stateVersion: row.state_version,
    lastEventSeq: row.last_event_seq,
    createdAt: row.created_at,
  };
}
