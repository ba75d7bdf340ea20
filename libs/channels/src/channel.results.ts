import { z } from 'zod';

/**
 * One schema per result, the wire shapes of docs/compat.md ("Tools", "Shapes"). The MCP tools list
 * them as `outputSchema` and the OpenAPI document as response schemas, so a client can check
 * every answer (STYLE principle 6, "generated contracts").
 *
 * Objects are strict: a field the server sends is a field the schema names. What agents and bots
 * write (message bodies, manifests) stays open.
 */

/** ISO 8601 UTC, as `Date.prototype.toISOString` writes it. */
const timestamp = z.iso.datetime().describe('ISO 8601, UTC.');

/** Ids of docs/compat.md "Shapes": the formats are part of the contract. */
const channelId = z.string().regex(/^chn_[A-Za-z0-9_-]{11}$/);
const slotId = z.string().regex(/^s\d+$/);
const botId = z.string().regex(/^bot_[A-Za-z0-9]+_\d+$/);
const inviteCode = z.string().regex(/^inv_[A-Za-z0-9_-]{22}$/);
const rejoinToken = z.string().regex(/^rejoin_[A-Za-z0-9_-]{22}$/);
const sha256 = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** A JSON object written by an agent or a bot: any keys. */
const jsonObject = z.record(z.string(), z.unknown());

const count = z.int().min(0);

export const slotView = z.strictObject({
  slot_id: slotId,
  kind: z.enum(['bot', 'invite']),
  label: z.string(),
  filled_by: z
    .string()
    .nullable()
    .describe(
      'Who holds the slot: "member:<slot_id>" or "bot:<bot_id>", never a session or token; null while free.',
    ),
  admin: z.boolean(),
});

export const channelView = z.strictObject({
  channel_id: channelId,
  name: z.string(),
  slots: z.array(slotView),
  created_at: timestamp,
});

export const messageView = z.strictObject({
  id: z.int().min(1).describe('Per channel, strictly increasing; a sync_messages cursor.'),
  channel_id: channelId,
  sender: z.string().describe('"member:<slot_id>", "bot:<bot_id>" or "system".'),
  kind: z.string(),
  body: jsonObject,
  ts: timestamp,
  to_slot: slotId.nullable().describe('Set on a private message: the only slot that sees it.'),
});

export const botInfoView = z.strictObject({
  bot_id: botId,
  name: z.string(),
  version: z.string(),
  manifest: jsonObject.nullable(),
  created_at: timestamp,
  state_version: count,
});

export const createChannelResult = z.strictObject({
  channel_id: channelId,
  invites: z.array(inviteCode).describe('One invite code per invite slot, in slot order.'),
  view: channelView,
  bot_errors: z
    .array(z.string())
    .optional()
    .describe('Why a bot did not attach; absent when every bot did.'),
});

export const joinChannelResult = z.strictObject({
  channel_id: channelId,
  slot_id: slotId,
  rejoin_token: rejoinToken.describe(
    'Your seat: pass it as member_token on every call for this channel.',
  ),
  view: channelView,
  bots: z.array(botInfoView),
});

export const postMessageResult = z.strictObject({
  msg_id: z.int().min(1),
  ts: timestamp,
});

export const dmBotResult = z.strictObject({
  ok: z.literal(true),
  delivered_to: botId,
});

export const syncMessagesResult = z.strictObject({
  messages: z.array(messageView),
  cursor: count.describe('The id of the last message returned, else the cursor given (null → 0).'),
  view: channelView.nullable().describe('The channel when no messages came, else null.'),
});

export const channelInfoResult = z.strictObject({
  view: channelView,
  bots: z.array(botInfoView),
});

export const botCodeResult = z.strictObject({
  bot_id: botId,
  name: z.string(),
  version: z.string(),
  code_ref: z
    .string()
    .nullable()
    .describe('"builtin://<Preset>" for a preset; null for code given at creation.'),
  inline_code: z.string().describe('The exact source the bot runs.'),
  manifest: jsonObject,
  code_hash: sha256.describe('"sha256:" + hex SHA-256 of the UTF-8 bytes of inline_code.'),
  manifest_hash: sha256,
});

export const listChannelsResult = z.strictObject({
  channels: z.array(
    z.strictObject({
      channel_id: channelId,
      name: z.string(),
      slots: z.array(slotView),
      message_count: count,
      bots: z.array(botId),
    }),
  ),
  total_channels: count,
});

export const updateChannelResult = z.strictObject({
  ok: z.literal(true),
  view: channelView,
  bots: z.array(botInfoView),
});

export const healthCheckResult = z.strictObject({
  result: z.string().describe('"Multiplayer server healthy at <ISO time>".'),
});
