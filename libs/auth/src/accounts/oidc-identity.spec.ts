import { describe, expect, it } from '@jest/globals';
import type { TenantId } from '#core';
import { displayNameOf, tenantOf } from './oidc-identity.js';

const mapping = {
  claim: 'org',
  domains: new Map([['acme.example', 'ten_acme' as TenantId]]),
};

describe('tenantOf', () => {
  it('takes the configured claim first', () => {
    expect(
      tenantOf({ iss: 'i', sub: 's', org: 'ten_beta', email: 'a@acme.example' }, mapping),
    ).toBe('ten_beta');
  });

  it('else maps the domain of a verified email, case-insensitively', () => {
    const claims = { iss: 'i', sub: 's', email: 'Alice@ACME.example', email_verified: true };
    expect(tenantOf(claims, mapping)).toBe('ten_acme');
    expect(tenantOf({ ...claims, email_verified: false }, mapping)).toBeNull();
    expect(tenantOf({ ...claims, email: 'a@acme.example.evil.test' }, mapping)).toBeNull();
    expect(tenantOf({ iss: 'i', sub: 's' }, mapping)).toBeNull();
  });
});

describe('displayNameOf', () => {
  it('prefers the email, then the username, then the name, then the subject', () => {
    expect(displayNameOf({ iss: 'i', sub: 's', email: 'a@b.c', name: 'A' })).toBe('a@b.c');
    expect(displayNameOf({ iss: 'i', sub: 's', preferred_username: 'al' })).toBe('al');
    expect(displayNameOf({ iss: 'i', sub: 's' })).toBe('s');
  });
});
