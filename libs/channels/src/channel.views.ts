import type { BotSummary, Channel, Message, Slot } from './channel.types.js';

/**
 * Wire shapes of spec/compat.md. Views show slot ids and labels, never principals, sessions or
 * tokens (DESIGN §4).
 */
export interface SlotView {
  slot_id: string;
  kind: string;
  label: string;
  filled_by: string | null;
  admin: boolean;
}

export interface ChannelView {
  channel_id: string;
  name: string;
  slots: SlotView[];
  created_at: string;
}

export interface MessageView {
  id: number;
  channel_id: string;
  sender: string;
  kind: string;
  body: Record<string, unknown>;
  ts: string;
  to_slot: string | null;
}

export interface BotInfoView {
  bot_id: string;
  name: string;
  version: string;
  manifest: Record<string, unknown> | null;
  created_at: string;
  state_version: number;
}

/** The reference a view shows for whoever holds a slot. */
export function memberRef(slotId: string): string {
  return `member:${slotId}`;
}

export function toSlotView(slot: Slot): SlotView {
  let filledBy: string | null = null;
  if (slot.kind === 'bot' && slot.botId) filledBy = `bot:${slot.botId}`;
  if (slot.kind === 'invite' && slot.principalId) filledBy = memberRef(slot.slotId);
  return {
    slot_id: slot.slotId,
    kind: slot.kind,
    label: slot.label,
    filled_by: filledBy,
    admin: slot.admin,
  };
}

export function toChannelView(channel: Channel): ChannelView {
  return {
    channel_id: channel.id,
    name: channel.name,
    slots: channel.slots.map(toSlotView),
    created_at: channel.createdAt.toISOString(),
  };
}

export function toMessageView(message: Message): MessageView {
  return {
    id: message.id,
    channel_id: message.channelId,
    sender: message.sender,
    kind: message.kind,
    body: message.body,
    ts: message.ts.toISOString(),
    to_slot: message.toSlot,
  };
}

export function toBotInfoView(bot: BotSummary): BotInfoView {
  return {
    bot_id: bot.botId,
    name: bot.name,
    version: bot.version,
    manifest: bot.manifest,
    created_at: bot.createdAt.toISOString(),
    state_version: bot.stateVersion,
  };
}
