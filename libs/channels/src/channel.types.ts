import type { BotId, ChannelId, PrincipalId, SlotId, TenantId } from '#core';

export type SlotKind = 'bot' | 'invite';

/** One place in a channel: for a bot, or for a player who redeems its invite. */
export interface Slot {
  readonly slotId: SlotId;
  readonly kind: SlotKind;
  readonly label: string;
  readonly admin: boolean;
  /** The bot in a bot slot, once attached. */
  readonly botId: BotId | null;
  /** The principal holding an invite slot, once redeemed. Never shown on the wire. */
  readonly principalId: PrincipalId | null;
}

export interface Channel {
  readonly tenantId: TenantId;
  readonly id: ChannelId;
  readonly name: string;
  readonly createdAt: Date;
  readonly createdBy: PrincipalId;
  readonly slots: readonly Slot[];
}

/** JSON object body of a message; immutable once committed. */
export type MessageBody = Record<string, unknown>;

export interface Message {
  /** Strictly increasing per channel. */
  readonly id: number;
  readonly channelId: ChannelId;
  /** `member:<slot_id>`, `bot:<bot_id>` or `system`. */
  readonly sender: string;
  readonly kind: string;
  readonly body: MessageBody;
  readonly ts: Date;
  /** Set on a private message: only this slot sees it. */
  readonly toSlot: SlotId | null;
}

/** What a new message says before the store gives it an id and a time. */
export interface MessageDraft {
  readonly sender: string;
  readonly kind: string;
  readonly body: MessageBody;
  readonly toSlot: SlotId | null;
}

/** A bot's code and manifest, checked and hashed, ready to attach to a channel. */
export interface BotDefinition {
  readonly name: string;
  readonly version: string;
  readonly manifest: Record<string, unknown>;
  /** `builtin://<Preset>` for presets; null for code given at creation. */
  readonly codeRef: string | null;
  /** The exact source that runs; `codeHash` is over these UTF-8 bytes. */
  readonly code: string;
  readonly codeHash: string;
  readonly manifestHash: string;
}

/** A bot attached to a channel, with the state its hooks keep. */
export interface BotRecord extends BotDefinition {
  readonly botId: BotId;
  readonly slotId: SlotId;
  readonly state: Record<string, unknown>;
  readonly stateVersion: number;
  /** The last channel event whose effects are committed; hooks resume after it. */
  readonly lastEventSeq: number;
  readonly createdAt: Date;
}

/** A bot as views and schedulers need it: everything but its code and state. */
export type BotSummary = Omit<BotRecord, 'code' | 'state'>;

/** The member a bot hook is told about: a slot and its label, never a principal or token. */
export interface MemberRef {
  readonly slot_id: string;
  readonly label: string;
}

/**
 * A committed channel event that bots react to, in channel order. `botId` names the one bot an
 * event is for (its `init`, a DM to it); null means every bot of the channel.
 */
export type ChannelEventDraft =
  | { readonly type: 'init'; readonly botId: BotId; readonly payload: Record<string, never> }
  | { readonly type: 'join'; readonly botId: null; readonly payload: { member: MemberRef } }
  | { readonly type: 'message'; readonly botId: null; readonly payload: { message_id: number } }
  | {
      readonly type: 'dm';
      readonly botId: BotId;
      readonly payload: { member: MemberRef; message: { text: string } };
    };

export type ChannelEvent = ChannelEventDraft & { readonly seq: number; readonly createdAt: Date };
