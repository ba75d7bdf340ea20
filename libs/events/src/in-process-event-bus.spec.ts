import { describe, expect, it } from '@jest/globals';
import type { ChannelId, TenantId } from '#core';
import { describeEventBusContract } from './event-bus.contract.js';
import { InProcessEventBus } from './in-process-event-bus.js';

describeEventBusContract('in-process', () => Promise.resolve(new InProcessEventBus()));

describe('InProcessEventBus', () => {
  it('drops a channel’s listener set when its last waiter leaves', () => {
    const bus = new InProcessEventBus();
    const off = bus.onWake('ten_a' as TenantId, 'chn_a' as ChannelId, () => undefined);
    expect(bus.subscribedChannels).toBe(1);
    off();
    expect(bus.subscribedChannels).toBe(0);
  });
});
