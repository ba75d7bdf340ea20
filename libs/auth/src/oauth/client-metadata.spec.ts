import { describe, expect, it } from '@jest/globals';
import { parseMetadataDocument, parseRegistration, parseScope } from './client-metadata.js';
import { OAuthError } from './oauth.errors.js';

function failure(body: unknown): OAuthError {
  try {
    parseRegistration(body);
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
  throw new Error('expected the registration to fail');
}

describe('parseRegistration (RFC 7591)', () => {
  it('fills in the defaults of §2', () => {
    expect(
      parseRegistration({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'] }),
    ).toEqual({
      redirectUris: ['https://claude.ai/api/mcp/auth_callback'],
      authMethod: 'client_secret_basic',
      grantTypes: ['authorization_code'],
      applicationType: 'web',
      name: 'Unnamed client',
      scope: 'channels:read channels:write',
      grantsNamed: false,
    });
  });

  it('ignores fields it does not read', () => {
    const parsed = parseRegistration({
      redirect_uris: ['http://localhost:1/cb'],
      token_endpoint_auth_method: 'none',
      contacts: ['x@y.z'],
      jwks_uri: 'https://a.example/jwks',
    });
    expect(parsed.authMethod).toBe('none');
  });

  it('answers the RFC error codes with the field at fault', () => {
    expect(failure({ grant_types: ['authorization_code'] }).code).toBe('invalid_redirect_uri');
    expect(failure({ redirect_uris: ['http://evil.example/cb'] }).code).toBe(
      'invalid_redirect_uri',
    );
    expect(failure({ redirect_uris: 'https://a.example/cb' }).code).toBe('invalid_redirect_uri');
    expect(
      failure({ redirect_uris: ['https://a.example/cb'], grant_types: ['implicit'] }),
    ).toMatchObject({
      code: 'invalid_client_metadata',
      message: expect.stringMatching(/^grant_types/) as unknown,
    });
    expect(
      failure({ grant_types: ['client_credentials'], token_endpoint_auth_method: 'none' }).code,
    ).toBe('invalid_client_metadata');
    expect(failure({ redirect_uris: ['https://a.example/cb'], scope: 'admin' }).code).toBe(
      'invalid_scope',
    );
  });
});

describe('parseMetadataDocument', () => {
  const url = 'https://app.example/oauth/client.json';

  it('refuses a document listing a redirect URI with a fragment (RFC 6749 §3.1.2)', () => {
    for (const uri of [
      'http://127.0.0.1:7/cb#x',
      'https://app.example/cb#',
      'com.example.app:/cb#x',
    ]) {
      expect(() =>
        parseMetadataDocument(url, { client_id: url, redirect_uris: [uri] }, null),
      ).toThrow(/fragment/);
    }
  });
});

describe('parseScope', () => {
  it('normalises, removes repeats, and keeps within what is allowed', () => {
    expect(parseScope(undefined)).toBe('channels:read channels:write');
    // The Python original's one scope stands for all of ours.
    expect(parseScope('mcp')).toBe('channels:read channels:write');
    expect(parseScope('mcp channels:read')).toBe('channels:read channels:write');
    expect(() => parseScope('mcp', 'channels:read')).toThrow(/channels:write.*not available/);
    expect(parseScope('  channels:read   channels:read ')).toBe('channels:read');
    expect(parseScope('channels:read', 'channels:read')).toBe('channels:read');
    expect(() => parseScope('channels:write', 'channels:read')).toThrow(/not available/);
  });
});
