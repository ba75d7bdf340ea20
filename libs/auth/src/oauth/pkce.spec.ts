import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { verifyPkce } from './pkce.js';

describe('verifyPkce (S256)', () => {
  // RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))), without padding.
  const verifier = 'dBjftJeZ4CVP-mJ92K1s0J3pOcYqgHRV8kGcZ8d3AeI';
  const challenge = 'Joi5FYTe-dC89UbNnB98dDwbSLIPMgsAHAdccebsvWA';

  it('accepts the verifier the challenge was made from', () => {
    expect(verifyPkce(verifier, challenge)).toBe(true);
  });

  it('refuses another verifier, a short one, and the plain method', () => {
    expect(verifyPkce(`${verifier.slice(0, -1)}x`, challenge)).toBe(false);
    const short = 'abc';
    expect(verifyPkce(short, createHash('sha256').update(short).digest('base64url'))).toBe(false);
    expect(verifyPkce(verifier, verifier)).toBe(false);
  });
});
