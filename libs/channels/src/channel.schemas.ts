import { findUnstorableText, isStorableText } from '#core';
import { z } from 'zod';
import { Limits } from './channel.limits.js';

/**
 * One schema per input, shared by the MCP tools and the REST controllers (STYLE principle 6).
 * An unknown argument is refused by name, as the original does: dropping it silently gave the
 * original's `create_channel.py`, which sends `bots`, a channel without its bot.
 */

/** Longest unknown argument name quoted back in an error. */
const NAME_ECHO = 40;

/** A tool's arguments: exactly these, an unknown one is refused with the ones there are. */
const args = <Shape extends z.ZodRawShape>(shape: Shape) =>
  z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      const unknown = issue.keys.slice(0, 3).map((key) => `"${key.slice(0, NAME_ECHO)}"`);
      const known = Object.keys(shape);
      const takes = known.length > 0 ? `the arguments are ${known.join(', ')}` : 'it takes none';
      return `unknown argument ${unknown.join(', ')}; ${takes}`;
    },
  });

// eslint-disable-next-line no-control-regex -- NUL is the character it excludes
const NO_NUL = /^[^\u0000]*$/;

/**
 * A string PostgreSQL can store as it is: no NUL, no unpaired surrogate. The schema-level message
 * is zod's fallback for every issue of the schema, so each check added to it carries its own.
 * The NUL rule is also a regex, so the JSON Schema states it as a `pattern` and a request valid
 * by the published schema is never refused for it; an unpaired surrogate needs a `\uD800`-style
 * escape, which well-formed JSON may not carry (RFC 7493 §2.1).
 */
const text = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .regex(NO_NUL, `${what} must be valid Unicode text without NUL control characters`)
    .refine(isStorableText, `${what} must be valid Unicode text without NUL control characters`);

const id = (what: string) =>
  text(what)
    .min(1, `${what} must not be empty`)
    .max(Limits.idLength, `${what} is at most ${Limits.idLength} characters`);

/**
 * A channel id as create_channel returns it: `chn_` + 11 url-safe characters (spec/compat.md).
 * Anything else is refused here, at the edge, before it can reach a lookup or become a token of a
 * NATS subject (DESIGN §7), where a dot or a wildcard would reach other channels' subjects.
 */
const channelId = id('channel_id')
  .regex(
    /^chn_[A-Za-z0-9_-]{11}$/,
    'channel_id must be "chn_" and 11 letters, digits, "_" or "-"; pass the channel_id that create_channel, join_channel or list_channels returned',
  )
  .describe('The channel id (chn_…) from create_channel, join_channel or list_channels.');

/**
 * A JSON object body, kept exactly as sent: a rebuilt object would silently lose keys such as
 * `__proto__`, and what is stored must be what the member posted.
 */
const jsonObject = z
  .custom<Record<string, unknown>>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    'body must be a string or a JSON object',
  )
  .superRefine((value, ctx) => {
    const bad = findUnstorableText(value);
    if (bad !== null) {
      const problem = bad.includes('nested')
        ? 'is too deep'
        : 'must be valid Unicode text without NUL control characters';
      ctx.addIssue({ code: 'custom', message: `body.${bad} ${problem}` });
    }
  })
  .meta({ type: 'object' });

const memberToken = text('member_token')
  .max(Limits.idLength, `member_token is at most ${Limits.idLength} characters`)
  .nullish()
  .describe(
    'Your rejoin_token from join_channel. Pass it on every call for this channel so the server knows which seat is acting.',
  );

const SLOT_LABEL = `[^\\u0000-\\u001f\\u007f-\\u009f]{0,${Limits.slotLabelLength}}`;
const SLOT_SPEC_PATTERN = `^(bot(:${SLOT_LABEL})?|invite(:${SLOT_LABEL}(:admin)?)?)$`;

/** Kinds only the platform and bots write; a member posting them could impersonate a referee. */
const RESERVED_KINDS: readonly string[] = ['system', 'control', 'bot'];

/** Message ids are PostgreSQL integers. */
const MAX_MESSAGE_ID = 2_147_483_647;

export const createChannelInput = args({
  name: text('name')
    .regex(/\S/, 'name must not be empty')
    .trim()
    .min(1, 'name must not be empty')
    .max(Limits.channelNameLength, `name is at most ${Limits.channelNameLength} characters`)
    .describe('A short name for the channel.'),
  slots: z
    .array(
      text('each slot')
        .max(
          Limits.slotLabelLength + 16,
          `a slot spec is at most ${Limits.slotLabelLength + 16} characters`,
        )
        // Shown in the JSON Schema; parseSlotSpec checks it, with a message naming the slot: a
        // kind, then a label of at most 64 characters without control characters (Unicode Cc).
        .meta({ pattern: SLOT_SPEC_PATTERN }),
      {
        error: 'slots must be a list of strings',
      },
    )
    .min(1, 'slots needs at least one entry')
    .max(Limits.slotsPerChannel, `a channel has at most ${Limits.slotsPerChannel} slots`)
    .describe(
      'Slot specs in order, each "kind:label": "bot:referee" for a bot, "invite:alice" for a player. Add ":admin" to make a player slot an admin ("invite:host:admin").',
    ),
  bot_code: text('bot_code')
    .max(Limits.botCodeBytes, `bot_code is at most ${Limits.botCodeBytes} characters`)
    .nullish()
    .describe('JavaScript source of a bot: an ES module whose default export is the bot class.'),
  bot_preset: text('bot_preset')
    .max(64, 'bot_preset is at most 64 characters')
    .nullish()
    .describe('A built-in bot by name, e.g. "GuessBot".'),
});
export type CreateChannelInput = z.infer<typeof createChannelInput>;

export const joinChannelInput = args({
  invite_code: id('invite_code').describe(
    'An invite code (inv_…) or your rejoin token (rejoin_…) to take your seat back.',
  ),
});
export type JoinChannelInput = z.infer<typeof joinChannelInput>;

export const postMessageInput = args({
  channel_id: channelId,
  body: z
    .union([text('body'), jsonObject], { error: 'body must be a string or a JSON object' })
    .default('')
    .describe('The message text (stored as {"text": …}), or a JSON object.'),
  kind: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/, 'kind may use letters, digits and _ . : - only')
    .max(Limits.messageKindLength, `kind is at most ${Limits.messageKindLength} characters`)
    .refine((kind) => !RESERVED_KINDS.includes(kind), {
      error: (issue) =>
        `kind "${String(issue.input)}" is reserved for the platform and bots; use "user".`,
    })
    .meta({ not: { enum: [...RESERVED_KINDS] } })
    .default('user')
    .describe('The message kind; "user" unless a bot asks for another.'),
  member_token: memberToken,
});
export type PostMessageInput = z.infer<typeof postMessageInput>;

export const dmBotInput = args({
  channel_id: channelId,
  bot_id: id('bot_id'),
  message: text('message')
    .min(1, 'message must not be empty: write what the bot should read, e.g. "!help"')
    .max(Limits.messageBodyBytes, `message is at most ${Limits.messageBodyBytes} characters`)
    .describe('The private text for the bot, e.g. "!status".'),
  member_token: memberToken,
});
export type DmBotInput = z.infer<typeof dmBotInput>;

export const syncMessagesInput = args({
  channel_id: channelId,
  cursor: z
    .number()
    .int('cursor must be a whole number')
    .min(0, 'cursor must not be negative')
    .max(MAX_MESSAGE_ID, `cursor is at most ${MAX_MESSAGE_ID}`)
    .nullish()
    .describe('The cursor from your last sync_messages (the highest message id you have seen).'),
  timeout_ms: z
    .number()
    .int('timeout_ms must be a whole number')
    .min(0, 'timeout_ms must not be negative')
    .default(25_000)
    .transform((ms) => Math.min(ms, Limits.longPollMaxMs))
    .describe(
      `How long to wait for a new message, in ms (at most ${Limits.longPollMaxMs}; larger values are capped). 0 returns at once.`,
    ),
  member_token: memberToken,
});
export type SyncMessagesInput = z.infer<typeof syncMessagesInput>;

export const channelInfoInput = args({
  channel_id: channelId,
  member_token: memberToken,
});
export type ChannelInfoInput = z.infer<typeof channelInfoInput>;

export const botCodeInput = args({
  channel_id: channelId,
  bot_id: id('bot_id'),
  member_token: memberToken,
});
export type BotCodeInput = z.infer<typeof botCodeInput>;

export const listChannelsInput = args({});
export const healthCheckInput = args({});

const updateOp = z
  .object({ type: text('type').max(64, 'op type is at most 64 characters') })
  .catchall(z.unknown());

export const updateChannelInput = args({
  channel_id: channelId,
  ops: z
    .array(updateOp, { error: 'ops must be a list of objects with a "type"' })
    .min(1, 'ops needs at least one operation')
    .max(Limits.updateOpsPerCall, `at most ${Limits.updateOpsPerCall} ops per call`)
    .describe(
      'Operations applied together: {"type":"rename","name":…}, {"type":"set_admin","slot_id":…,"admin":true|false}, {"type":"remove_bot","bot_id":…}.',
    ),
  member_token: memberToken,
});
export type UpdateChannelInput = z.infer<typeof updateChannelInput>;

export const renameOp = z.object({
  type: z.literal('rename'),
  name: text('name')
    .regex(/\S/, 'rename needs a non-empty name')
    .trim()
    .min(1, 'rename needs a non-empty name')
    .max(Limits.channelNameLength, `name is at most ${Limits.channelNameLength} characters`),
});
export const setAdminOp = z.object({
  type: z.literal('set_admin'),
  slot_id: id('slot_id'),
  admin: z.boolean({ error: 'set_admin needs admin: true or false' }),
});
export const removeBotOp = z.object({ type: z.literal('remove_bot'), bot_id: id('bot_id') });
export type UpdateOp =
  z.infer<typeof renameOp> | z.infer<typeof setAdminOp> | z.infer<typeof removeBotOp>;
