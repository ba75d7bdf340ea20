import { z } from 'zod';

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A committed channel event as it travels on the bus (DESIGN §7): the row of `channel_events`,
 * validated when published and again when received.
 */
/** The public message a `message` event is about, as bots see it (a message view). */
const messageView = z.object({
  id: z.number().int().positive(),
  channel_id: z.string().regex(ID),
  sender: z.string().max(128),
  kind: z.string().max(64),
  body: z.record(z.string(), z.unknown()),
  ts: z.iso.datetime(),
  to_slot: z.string().max(64).nullable(),
});

export const channelEventMessage = z.object({
  tenantId: z.string().regex(ID),
  channelId: z.string().regex(ID),
  seq: z.number().int().positive(),
  type: z.enum(['init', 'join', 'message', 'dm']),
  botId: z.string().regex(ID).nullable(),
  payload: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime(),
  /** Set on `message` events, so a runner needs no database to call its hook. */
  message: messageView.nullable().default(null),
});

export type ChannelEventMessage = z.input<typeof channelEventMessage>;

/** An event as a consumer receives it: validated, with its defaults filled in. */
export type ReceivedChannelEvent = z.output<typeof channelEventMessage>;

/** A message the bus refused or received that does not match the schema. */
export class InvalidEventMessageError extends Error {}

/** The event, checked against the schema; throws InvalidEventMessageError otherwise. */
export function parseEventMessage(value: unknown): ReceivedChannelEvent {
  const parsed = channelEventMessage.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventMessageError(
      `invalid channel event: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }
  return parsed.data;
}
