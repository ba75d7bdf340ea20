import { describe, expect, it } from '@jest/globals';
import type { ChannelId, TenantId } from '#core';
import { InProcessEventBus } from './in-process-event-bus.js';

const tenant = 'ten_a' as TenantId;
const channel = 'chn_a' as ChannelId;

describe('InProcessEventBus', () => {
  it('wakes only the listeners of the channel, until they unsubscribe', () => {
    const bus = new InProcessEventBus();
    const seen: string[] = [];
    const off = bus.onWake(tenant, channel, () => seen.push('a'));
    bus.onWake(tenant, 'chn_b' as ChannelId, () => seen.push('b'));
    bus.publishWake(tenant, channel);
    bus.publishWake('ten_other' as TenantId, channel);
    off();
    bus.publishWake(tenant, channel);
    expect(seen).toEqual(['a']);
    expect(bus.subscribedChannels).toBe(1);
  });
});
