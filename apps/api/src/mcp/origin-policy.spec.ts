import { describe, expect, it } from '@jest/globals';
import { OriginPolicy } from './origin-policy.js';

describe('OriginPolicy', () => {
  const policy = new OriginPolicy('https://mp.example.com', ['https://inspector.example/']);

  it('lets through clients without Origin, our own origin, configured ones and loopback pages', () => {
    expect(policy.allows(undefined)).toBe(true);
    expect(policy.allows('https://mp.example.com')).toBe(true);
    expect(policy.allows('https://inspector.example')).toBe(true);
    expect(policy.allows('http://localhost:6274')).toBe(true);
    expect(policy.allows('http://127.0.0.1:3000')).toBe(true);
  });

  it('refuses other sites, including rebinding names that resolve to loopback', () => {
    expect(policy.allows('https://evil.example')).toBe(false);
    expect(policy.allows('http://localhost.evil.example')).toBe(false);
    expect(policy.allows('null')).toBe(false);
    expect(policy.allows('file://')).toBe(false);
  });
});
