import type { BotId, ChannelId, PrincipalId, SlotId, TenantId } from '#core';
import type { EventBus } from '#events';
import type { BotSummary, Channel, ChannelEventDraft, MessageDraft } from './channel.types.js';
import { ChannelStore } from './ports/channel.store.js';
import type {
  BotEffectsCommit,
  ChannelDraft,
  ChannelUpdate,
  PendingEvent,
  SeatClaim,
} from './ports/channel.store.js';

type ChannelWithBots = { channel: Channel; bots: BotSummary[] };

interface Entry {
  readonly value: ChannelWithBots;
  readonly until: number;
  readonly unsubscribe: () => void;
}

/**
 * Keeps `findChannelWithBots` (the read behind `get_channel_info`) in memory. An entry goes when
 * this process changes the channel or its bots (before the change is reported), when the
 * channel's wake-up arrives from the bus (another replica changed it: every change publishes
 * one), and after `ttlMs` at the latest, in case the bus dropped a wake-up. While the bus is
 * unhealthy nothing is served from memory. A read overtaken by a change is not kept.
 */
export class CachingChannelStore extends ChannelStore {
  private readonly entries = new Map<string, Entry>();
  /** Reads in flight per key; a change marks them stale, so what they return is not kept. */
  private readonly reading = new Map<string, Set<{ stale: boolean }>>();

  constructor(
    private readonly inner: ChannelStore,
    private readonly bus: EventBus,
    private readonly ttlMs = 5_000,
    private readonly capacity = 1_024,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  async findChannelWithBots(
    tenantId: TenantId,
    channelId: ChannelId,
  ): Promise<ChannelWithBots | null> {
    const key = `${tenantId}/${channelId}`;
    const healthy = this.bus.isHealthy();
    const hit = this.entries.get(key);
    if (hit && hit.until > this.now() && healthy) return hit.value;
    if (hit) this.forget(key);
    if (!healthy) return this.inner.findChannelWithBots(tenantId, channelId);
    // Listen before reading, so a change committed during the read is not missed.
    const unsubscribe = this.bus.onWake(tenantId, channelId, () => this.invalidate(key));
    const read = { stale: false };
    let reads = this.reading.get(key);
    if (!reads) {
      reads = new Set();
      this.reading.set(key, reads);
    }
    reads.add(read);
    let value: ChannelWithBots | null;
    try {
      value = await this.inner.findChannelWithBots(tenantId, channelId);
    } catch (error) {
      unsubscribe();
      throw error;
    } finally {
      reads.delete(read);
      if (reads.size === 0 && this.reading.get(key) === reads) this.reading.delete(key);
    }
    if (!value || read.stale || this.entries.has(key)) {
      unsubscribe();
      return value;
    }
    this.entries.set(key, { value, until: this.now() + this.ttlMs, unsubscribe });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.forget(oldest);
    }
    return value;
  }

  countChannels(tenantId: TenantId): Promise<number> {
    return this.inner.countChannels(tenantId);
  }

  createChannel(
    tenantId: TenantId,
    draft: ChannelDraft,
  ): Promise<{ channel: Channel; lastEventSeq: number }> {
    return this.inner.createChannel(tenantId, draft);
  }

  findChannel(tenantId: TenantId, channelId: ChannelId): Promise<Channel | null> {
    return this.inner.findChannel(tenantId, channelId);
  }

  listBots(tenantId: TenantId, channelId: ChannelId): Promise<BotSummary[]> {
    return this.inner.listBots(tenantId, channelId);
  }

  findBot(tenantId: TenantId, channelId: ChannelId, botId: BotId) {
    return this.inner.findBot(tenantId, channelId, botId);
  }

  async redeemInvite(
    tenantId: TenantId,
    inviteHash: string,
    principalId: PrincipalId,
    tokenHash: string,
  ) {
    const redeemed = await this.inner.redeemInvite(tenantId, inviteHash, principalId, tokenHash);
    if (redeemed) this.invalidate(`${tenantId}/${redeemed.seat.channelId}`);
    return redeemed;
  }

  findSeatByToken(tenantId: TenantId, tokenHash: string) {
    return this.inner.findSeatByToken(tenantId, tokenHash);
  }

  async rebindSeat(
    tenantId: TenantId,
    channelId: ChannelId,
    slotId: SlotId,
    principalId: PrincipalId,
  ): Promise<void> {
    await this.inner.rebindSeat(tenantId, channelId, slotId, principalId);
    this.invalidate(`${tenantId}/${channelId}`);
  }

  seatsOf(tenantId: TenantId, channelId: ChannelId, principalId: PrincipalId) {
    return this.inner.seatsOf(tenantId, channelId, principalId);
  }

  appendMessage(tenantId: TenantId, channelId: ChannelId, draft: MessageDraft) {
    return this.inner.appendMessage(tenantId, channelId, draft);
  }

  appendClaimedMessage(
    tenantId: TenantId,
    channelId: ChannelId,
    draft: MessageDraft,
    claim: SeatClaim,
  ) {
    return this.inner.appendClaimedMessage(tenantId, channelId, draft, claim);
  }

  appendEvent(tenantId: TenantId, channelId: ChannelId, event: ChannelEventDraft) {
    return this.inner.appendEvent(tenantId, channelId, event);
  }

  listVisible(
    tenantId: TenantId,
    channelId: ChannelId,
    viewer: SlotId,
    cursor: number,
    limit: number,
  ) {
    return this.inner.listVisible(tenantId, channelId, viewer, cursor, limit);
  }

  listChannelsOf(tenantId: TenantId, principalId: PrincipalId, limit: number) {
    return this.inner.listChannelsOf(tenantId, principalId, limit);
  }

  async updateChannel(
    tenantId: TenantId,
    channelId: ChannelId,
    updates: readonly ChannelUpdate[],
    notice: MessageDraft,
  ): Promise<Channel> {
    const channel = await this.inner.updateChannel(tenantId, channelId, updates, notice);
    this.invalidate(`${tenantId}/${channelId}`);
    return channel;
  }

  pendingEvents(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
    afterSeq: number,
    limit: number,
  ): Promise<PendingEvent[]> {
    return this.inner.pendingEvents(tenantId, channelId, botId, afterSeq, limit);
  }

  lastMessageId(tenantId: TenantId, channelId: ChannelId) {
    return this.inner.lastMessageId(tenantId, channelId);
  }

  botsWithPendingEvents() {
    return this.inner.botsWithPendingEvents();
  }

  countRecoveryAttempt(tenantId: TenantId, channelId: ChannelId, botId: BotId, eventSeq: number) {
    return this.inner.countRecoveryAttempt(tenantId, channelId, botId, eventSeq);
  }

  async commitBotEffects(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
    eventSeq: number,
    effects: BotEffectsCommit,
  ): Promise<boolean> {
    const committed = await this.inner.commitBotEffects(
      tenantId,
      channelId,
      botId,
      eventSeq,
      effects,
    );
    // A bot's state version shows in the channel's bot list.
    if (committed) this.invalidate(`${tenantId}/${channelId}`);
    return committed;
  }

  /** How many channels are held (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private invalidate(key: string): void {
    for (const read of this.reading.get(key) ?? []) read.stale = true;
    this.forget(key);
  }

  private forget(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.unsubscribe();
  }
}
