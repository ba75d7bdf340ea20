import { describe, expect, it } from '@jest/globals';
import { TokenBucketLimiter } from './token-bucket.limiter.js';

describe('TokenBucketLimiter', () => {
  it('allows a burst, then asks to wait until a token refills', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter(60, 2, () => now);
    expect(limiter.take('m')).toBe(0);
    expect(limiter.take('m')).toBe(0);
    expect(limiter.take('m')).toBe(1);
    expect(limiter.take('other')).toBe(0);
    now += 1000;
    expect(limiter.take('m')).toBe(0);
  });
});
