import type { ChannelId, PrincipalId, TenantId } from '#core';
import type { Slot } from './channel.types.js';
import type { SeatClaim } from './ports/channel.store.js';

/** A remembered seat, and the claim that lets a statement check it still holds. */
export interface RecalledSeat {
  readonly slot: Slot;
  readonly claim: SeatClaim;
}

/**
 * The seats member tokens named lately, as the caller that used the token last held them. It
 * spares post_message a read of the seat, but is never trusted alone: the append checks the claim
 * in its own statement, and the seat is read again when the claim no longer holds (the token was
 * used from another session, on any replica, since). Only what the claim covers may rest on it
 * (the slot and who holds it), never the rest of the slot (admin can change unseen). Kept by the
 * SHA-256 of the token, never the token; the oldest go past `capacity`.
 */
export class RecentSeats {
  private readonly seats = new Map<string, { channelId: ChannelId; slot: Slot }>();

  constructor(private readonly capacity = 4_096) {}

  remember(tenantId: TenantId, tokenHash: string, channelId: ChannelId, slot: Slot): void {
    const key = `${tenantId}/${tokenHash}`;
    this.seats.delete(key);
    this.seats.set(key, { channelId, slot });
    if (this.seats.size > this.capacity) {
      const oldest = this.seats.keys().next().value;
      if (oldest !== undefined) this.seats.delete(oldest);
    }
  }

  /** The seat the token named in this channel, if this principal held it when last seen. */
  recall(
    tenantId: TenantId,
    tokenHash: string,
    channelId: ChannelId,
    principalId: PrincipalId,
  ): RecalledSeat | null {
    const seat = this.seats.get(`${tenantId}/${tokenHash}`);
    if (seat?.channelId !== channelId || seat.slot.principalId !== principalId) return null;
    return { slot: seat.slot, claim: { slotId: seat.slot.slotId, tokenHash, principalId } };
  }

  forget(tenantId: TenantId, tokenHash: string): void {
    this.seats.delete(`${tenantId}/${tokenHash}`);
  }
}
