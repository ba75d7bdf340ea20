import { describe, expect, it } from '@jest/globals';
import { V1MicroTime } from '@kubernetes/client-node';
import type { V1Lease } from '@kubernetes/client-node';
import { leaseDecision } from './runner-leases.js';

const NOW = Date.parse('2026-12-03T17:00:00Z');

function lease(holderIdentity: string, renewedMsAgo: number, durationSeconds = 15): V1Lease {
  return {
    metadata: { name: 'mp-bot-abc', resourceVersion: '7' },
    spec: {
      holderIdentity,
      leaseDurationSeconds: durationSeconds,
      renewTime: new V1MicroTime(NOW - renewedMsAgo),
    },
  };
}

/** Which replica runs a bot's pod: the rule each replica applies to the bot's Lease. */
describe('leaseDecision', () => {
  it('creates a lease no replica has made yet', () => {
    expect(leaseDecision(null, 'api-a', NOW)).toEqual({ kind: 'create' });
  });

  it('renews its own lease', () => {
    expect(leaseDecision(lease('api-a', 14_000), 'api-a', NOW)).toEqual({ kind: 'renew' });
  });

  it("waits for another live replica's lease to run out", () => {
    expect(leaseDecision(lease('api-b', 5_000), 'api-a', NOW)).toEqual({
      kind: 'wait',
      until: NOW + 10_000,
    });
  });

  it('takes a lease that ran out (its holder died) or was given up', () => {
    expect(leaseDecision(lease('api-b', 15_000), 'api-a', NOW)).toEqual({ kind: 'take' });
    expect(leaseDecision(lease('', 1_000), 'api-a', NOW)).toEqual({ kind: 'take' });
  });
});
