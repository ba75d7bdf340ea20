import { describe, expect, it } from '@jest/globals';
import { MessageRateLimiter } from './message-rate.limiter.js';

describe('MessageRateLimiter', () => {
  it('allows a burst, then asks to wait until a token refills', () => {
    let now = 0;
    const limiter = new MessageRateLimiter(60, 2, () => now);
    expect(limiter.take('m')).toBe(0);
    expect(limiter.take('m')).toBe(0);
    expect(limiter.take('m')).toBe(1);
    expect(limiter.take('other')).toBe(0);
    now += 1000;
    expect(limiter.take('m')).toBe(0);
  });
});
