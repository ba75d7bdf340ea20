import { describe, expect, it } from '@jest/globals';
import type { ChannelId, PrincipalId, SlotId, TenantId } from '#core';
import type { Slot } from './channel.types.js';
import { RecentSeats } from './recent-seats.js';

const tenant = 'ten_a' as TenantId;
const channel = 'chn_a' as ChannelId;
const alice = 'prn_alice' as PrincipalId;
const bob = 'prn_bob' as PrincipalId;

function slot(principalId: PrincipalId, slotId = 's1'): Slot {
  return {
    slotId: slotId as SlotId,
    kind: 'invite',
    label: 'a',
    admin: false,
    principalId,
    botId: null,
  };
}

describe('RecentSeats', () => {
  it('recalls a seat only for the principal that held it, in its channel and tenant', () => {
    const seats = new RecentSeats();
    seats.remember(tenant, 'hash-1', channel, slot(alice));
    expect(seats.recall(tenant, 'hash-1', channel, alice)).toEqual({
      slot: slot(alice),
      claim: { slotId: 's1', tokenHash: 'hash-1', principalId: alice },
    });
    expect(seats.recall(tenant, 'hash-1', channel, bob)).toBeNull();
    expect(seats.recall(tenant, 'hash-1', 'chn_b' as ChannelId, alice)).toBeNull();
    expect(seats.recall('ten_b' as TenantId, 'hash-1', channel, alice)).toBeNull();
    expect(seats.recall(tenant, 'hash-2', channel, alice)).toBeNull();
  });

  it('follows the token to its latest holder and forgets on request', () => {
    const seats = new RecentSeats();
    seats.remember(tenant, 'hash-1', channel, slot(alice));
    seats.remember(tenant, 'hash-1', channel, slot(bob));
    expect(seats.recall(tenant, 'hash-1', channel, alice)).toBeNull();
    expect(seats.recall(tenant, 'hash-1', channel, bob)?.claim.principalId).toBe(bob);
    seats.forget(tenant, 'hash-1');
    expect(seats.recall(tenant, 'hash-1', channel, bob)).toBeNull();
  });

  it('keeps at most its capacity, dropping the seat remembered longest ago', () => {
    const seats = new RecentSeats(2);
    seats.remember(tenant, 'hash-1', channel, slot(alice, 's1'));
    seats.remember(tenant, 'hash-2', channel, slot(alice, 's2'));
    seats.remember(tenant, 'hash-1', channel, slot(alice, 's1'));
    seats.remember(tenant, 'hash-3', channel, slot(alice, 's3'));
    expect(seats.recall(tenant, 'hash-2', channel, alice)).toBeNull();
    expect(seats.recall(tenant, 'hash-1', channel, alice)?.slot.slotId).toBe('s1');
    expect(seats.recall(tenant, 'hash-3', channel, alice)?.slot.slotId).toBe('s3');
  });
});
