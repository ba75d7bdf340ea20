import type { BotId, ChannelId, PrincipalId, SlotId, TenantId } from '#core';
import type {
  BotDefinition,
  BotRecord,
  BotSummary,
  Channel,
  ChannelEvent,
  ChannelEventDraft,
  Message,
  MessageDraft,
  Slot,
  SlotKind,
} from '../channel.types.js';

export interface SlotDraft {
  readonly slotId: SlotId;
  readonly kind: SlotKind;
  readonly label: string;
  readonly admin: boolean;
  /** SHA-256 of the slot's invite code (invite slots only). */
  readonly inviteHash: string | null;
  readonly botId: BotId | null;
}

export interface ChannelDraft {
  readonly id: ChannelId;
  readonly name: string;
  readonly createdBy: PrincipalId;
  readonly slots: readonly SlotDraft[];
  readonly bots: readonly (BotDefinition & { botId: BotId; slotId: SlotId })[];
  /** Committed in order right after the channel, ids 1, 2, … */
  readonly messages: readonly MessageDraft[];
  readonly events: readonly ChannelEventDraft[];
}

/** A seat someone holds, as the store reports it after a join or a token look-up. */
/** What appendMessage commits and reads back. */
export interface AppendedMessage {
  readonly message: Message;
  readonly eventSeq: number | null;
  readonly botsBehind: BotId[];
}

/**
 * A seat as the caller last saw it: the slot its member token names, held by the caller. Checked
 * in the statement that acts on it, so a seat remembered in memory is never trusted on its own.
 */
export interface SeatClaim {
  readonly slotId: SlotId;
  readonly tokenHash: string;
  readonly principalId: PrincipalId;
}

export interface Seat {
  readonly channelId: ChannelId;
  readonly slot: Slot;
}

export interface ChannelSummary {
  readonly channel: Channel;
  readonly messageCount: number;
  readonly botIds: readonly BotId[];
}

/** Effects of one bot hook, as the API commits them. */
export interface BotEffectsCommit {
  readonly messages: readonly MessageDraft[];
  /** The new state, or undefined when the hook did not call setState. */
  readonly state: Record<string, unknown> | undefined;
}

/** An event a bot has yet to react to; `message` is set for `message` events. */
export type PendingEvent = ChannelEvent & { readonly message: Message | null };

/** The `message` event `appendMessage` recorded for a message, as bots receive it. */
export function messageEvent(message: Message, seq: number): PendingEvent {
  return {
    seq,
    type: 'message',
    botId: null,
    payload: { message_id: message.id },
    createdAt: message.ts,
    message,
  };
}

export type ChannelUpdate =
  | { readonly type: 'rename'; readonly name: string }
  | { readonly type: 'set_admin'; readonly slotId: SlotId; readonly admin: boolean }
  | { readonly type: 'remove_bot'; readonly botId: BotId };

/**
 * Where channels, slots, bots, messages and channel events live. Every method takes the tenant
 * id (STYLE principle 4) and each method is one transaction: it commits whole or not at all.
 * Message ids and event sequence numbers are allocated per channel, strictly increasing.
 */
export abstract class ChannelStore {
  abstract countChannels(tenantId: TenantId): Promise<number>;

  /** Stores a new channel with its slots, bots, first messages and events. */
  abstract createChannel(
    tenantId: TenantId,
    draft: ChannelDraft,
  ): Promise<{ channel: Channel; lastEventSeq: number }>;

  abstract findChannel(tenantId: TenantId, channelId: ChannelId): Promise<Channel | null>;

  /** The id of the channel's newest message (0 when it has none); null: no such channel. */
  abstract lastMessageId(tenantId: TenantId, channelId: ChannelId): Promise<number | null>;

  /** The channel and its bots (as listBots gives them), in one read. */
  abstract findChannelWithBots(
    tenantId: TenantId,
    channelId: ChannelId,
  ): Promise<{ channel: Channel; bots: BotSummary[] } | null>;

  /** Bots attached and not removed, in slot order, without their code and state. */
  abstract listBots(tenantId: TenantId, channelId: ChannelId): Promise<BotSummary[]>;

  abstract findBot(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
  ): Promise<BotRecord | null>;

  /**
   * Fills the open invite slot whose invite hashes to `inviteHash`, binds it to `principalId`
   * with a member token hashing to `tokenHash`, and appends a `join` event. Null when no open
   * slot has that invite (unknown or already used).
   */
  abstract redeemInvite(
    tenantId: TenantId,
    inviteHash: string,
    principalId: PrincipalId,
    tokenHash: string,
  ): Promise<{ seat: Seat; eventSeq: number } | null>;

  /** The seat whose member token hashes to `tokenHash`, in any channel of the tenant. */
  abstract findSeatByToken(tenantId: TenantId, tokenHash: string): Promise<Seat | null>;

  /** Re-binds a seat to `principalId` (the old holder loses it; the token stays valid). */
  abstract rebindSeat(
    tenantId: TenantId,
    channelId: ChannelId,
    slotId: SlotId,
    principalId: PrincipalId,
  ): Promise<void>;

  /** The invite slots of a channel that `principalId` holds. */
  abstract seatsOf(
    tenantId: TenantId,
    channelId: ChannelId,
    principalId: PrincipalId,
  ): Promise<Slot[]>;

  /**
   * Commits a member's public message and, when the channel has bots, the `message` event that
   * tells them about it (`eventSeq` is null when it has none). `botsBehind` lists the bots that
   * have yet to react to that event, read in the same statement.
   */
  abstract appendMessage(
    tenantId: TenantId,
    channelId: ChannelId,
    draft: MessageDraft,
  ): Promise<AppendedMessage>;

  /** appendMessage if the claim still holds; null, having stored nothing, if it does not. */
  abstract appendClaimedMessage(
    tenantId: TenantId,
    channelId: ChannelId,
    draft: MessageDraft,
    claim: SeatClaim,
  ): Promise<AppendedMessage | null>;

  /** Commits an event with no message (a DM to a bot). */
  abstract appendEvent(
    tenantId: TenantId,
    channelId: ChannelId,
    event: ChannelEventDraft,
  ): Promise<number>;

  /** Messages after `cursor` that the slot may see (public, or private to it), oldest first. */
  abstract listVisible(
    tenantId: TenantId,
    channelId: ChannelId,
    viewer: SlotId,
    cursor: number,
    limit: number,
  ): Promise<Message[]>;

  /** Channels where the principal holds a seat or that it created, newest first. */
  abstract listChannelsOf(
    tenantId: TenantId,
    principalId: PrincipalId,
    limit: number,
  ): Promise<ChannelSummary[]>;

  /** Applies updates and appends their system message, all or nothing. */
  abstract updateChannel(
    tenantId: TenantId,
    channelId: ChannelId,
    updates: readonly ChannelUpdate[],
    notice: MessageDraft,
  ): Promise<Channel>;

  /**
   * Events after `afterSeq` addressed to the bot (or to every bot), in order; a `message` event
   * comes with its message, so the hook needs no second read.
   */
  abstract pendingEvents(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
    afterSeq: number,
    limit: number,
  ): Promise<PendingEvent[]>;

  /** Bots of the tenant-wide store with events not yet committed; for recovery after a restart. */
  abstract botsWithPendingEvents(): Promise<{ tenantId: TenantId; channelId: ChannelId }[]>;

  /**
   * Records that recovery is starting the bot's event `eventSeq` once more, and answers how many
   * times it has been started by recovery so far, this one included (a new event starts at 1).
   */
  abstract countRecoveryAttempt(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
    eventSeq: number,
  ): Promise<number>;

  /**
   * Commits a hook's effects and moves the bot past `eventSeq`, idempotently keyed by
   * (bot, event): false, with nothing written, when that event was already committed.
   */
  abstract commitBotEffects(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
    eventSeq: number,
    effects: BotEffectsCommit,
  ): Promise<boolean>;
}
