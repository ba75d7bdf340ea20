import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { describeInputError } from './input-error.js';
import { findUnstorableText, isStorableText } from './storable-text.js';

const schema = z.object({
  channel_id: z.string({ error: 'channel_id must be a string' }),
  cursor: z.number().int('cursor must be a whole number').optional(),
  tags: z.array(z.string()).optional(),
});

function describe_(input: unknown): string {
  const parsed = schema.safeParse(input);
  if (parsed.success) throw new Error('expected a failure');
  return describeInputError(parsed.error, input);
}

describe('describeInputError', () => {
  it('tells a missing field from a wrongly typed one', () => {
    expect(describe_({})).toBe('channel_id is required.');
    expect(describe_({ channel_id: 5 })).toBe('channel_id must be a string.');
    expect(describe_({ channel_id: 'c', tags: [1] })).toBe('tags.0 must be of type string.');
  });

  it('keeps the schema’s own words', () => {
    expect(describe_({ channel_id: 'c', cursor: 1.5 })).toBe('cursor must be a whole number.');
  });
});

describe('storable text', () => {
  it('refuses NUL and unpaired surrogates, anywhere in a JSON value', () => {
    expect(isStorableText('plain 😀')).toBe(true);
    expect(isStorableText('a\u0000b')).toBe(false);
    expect(isStorableText('\ud800')).toBe(false);
    expect(findUnstorableText({ a: ['ok', { b: 'x\u0000' }] })).toBe('a[1].b');
    expect(findUnstorableText({ ['k\ud800']: 1 })).toBe('k\ud800');
    expect(findUnstorableText({ a: [1, true, null, 'fine'] })).toBeNull();
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(findUnstorableText({ deep })).toMatch(/nested more than 64 levels/);
  });
});
