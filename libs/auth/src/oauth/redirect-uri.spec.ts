import { describe, expect, it } from '@jest/globals';
import { redirectUriMatches, redirectUriProblem } from './redirect-uri.js';

describe('redirectUriProblem', () => {
  it.each([
    'https://claude.ai/api/mcp/auth_callback',
    'https://chatgpt.com/connector/oauth/abc123',
    'http://127.0.0.1:33418/callback',
    'http://localhost:6274/oauth/callback',
    'http://[::1]:8080/cb',
    'com.example.app:/oauth2redirect',
  ])('accepts %s', (uri) => {
    expect(redirectUriProblem(uri)).toBeNull();
  });

  it.each([
    ['http://evil.example/cb', /https/],
    ['https://a.example/cb#frag', /fragment/],
    ['https://a.example/cb#', /fragment/],
    ['http://127.0.0.1:33418/callback#frag', /fragment/],
    ['http://localhost:6274/oauth/callback#', /fragment/],
    ['com.example.app:/oauth2redirect#frag', /fragment/],
    ['javascript:alert(1)', /forbidden scheme/],
    ['data:text/html,hi', /forbidden scheme/],
    ['file:///etc/passwd', /forbidden scheme/],
    ['myapp:/cb', /reverse-domain/],
    ['/relative', /absolute/],
    ['https://user:pw@a.example/cb', /credentials/],
    [`https://a.example/${'x'.repeat(2001)}`, /2000/],
  ])('refuses %s', (uri, reason) => {
    expect(redirectUriProblem(uri)).toMatch(reason);
  });
});

describe('redirectUriMatches', () => {
  const registered = ['https://app.example/cb', 'http://127.0.0.1:7/callback'];

  it('matches exactly, and a loopback redirect on any port (RFC 8252 §7.3)', () => {
    expect(redirectUriMatches('https://app.example/cb', registered)).toBe(true);
    expect(redirectUriMatches('http://127.0.0.1:51000/callback', registered)).toBe(true);
  });

  it('refuses anything else', () => {
    expect(redirectUriMatches('https://app.example/cb/', registered)).toBe(false);
    expect(redirectUriMatches('https://app.example/cb?x=1', registered)).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1:51000/other', registered)).toBe(false);
    expect(redirectUriMatches('http://localhost:7/callback', registered)).toBe(false);
    expect(redirectUriMatches('not a url', registered)).toBe(false);
  });

  it('refuses a fragment in any form, even on a loopback port (RFC 6749 §3.1.2)', () => {
    for (const requested of [
      'http://127.0.0.1:51000/callback#frag',
      'http://127.0.0.1:51000/callback#',
      'http://127.0.0.1:7/callback#x',
      'https://app.example/cb#x',
    ]) {
      expect({ requested, matches: redirectUriMatches(requested, registered) }).toEqual({
        requested,
        matches: false,
      });
    }
  });

  it('refuses a registered URI that would no longer pass registration', () => {
    expect(redirectUriMatches('https://app.example/cb#x', ['https://app.example/cb#x'])).toBe(
      false,
    );
    expect(redirectUriMatches('javascript:alert(1)', ['javascript:alert(1)'])).toBe(false);
  });
});
