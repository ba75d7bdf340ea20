import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessTokens } from '#auth';
import type { OAuthClient, Principal } from '#auth';
import type { PrincipalId, TenantId } from '#core';
import { createTestDatabase } from '#test-support';
import type { Engine, TestDatabase } from '#test-support';
import { DatabaseUnavailableError } from './connection-loss.js';
import { Database } from './database.js';
import { TypeOrmOAuthStore } from './typeorm-oauth.store.js';

function client(id: string, source: OAuthClient['source']): OAuthClient {
  return {
    id,
    tenantId: null,
    principalId: null,
    source,
    name: id,
    secretHash: null,
    authMethod: 'none',
    applicationType: 'native',
    redirectUris: ['http://127.0.0.1/cb'],
    grantTypes: ['authorization_code', 'refresh_token'],
    scope: 'channels:read channels:write',
    fetchedUntil: null,
  };
}

const principal: Principal = {
  tenantId: 'ten_default' as TenantId,
  id: 'prn_x' as PrincipalId,
  kind: 'user',
};

/** Access tokens of one issuer for one resource, signed with keys rotated hourly. */
const settings = {
  issuer: 'https://mp.example',
  audiences: ['https://mp.example/mcp'],
  ttlSeconds: 600,
  keyRotationSeconds: 3600,
};

describe.each<Engine>(['postgres', 'pglite'])('the OAuth store on %s', (engine) => {
  let testDb: TestDatabase;
  let database: Database;
  let store: TypeOrmOAuthStore;

  beforeAll(async () => {
    testDb = await createTestDatabase(engine);
    database = await Database.open({ url: testDb.url, dataDir: testDb.dataDir });
    store = new TypeOrmOAuthStore(database);
  });

  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('expires unused dynamically registered clients, never administrator-made ones', async () => {
    await store.createClient(client('mcc_stale', 'dynamic'));
    await store.createClient(client('mcc_fresh', 'dynamic'));
    await store.createClient(client('mcc_script', 'admin'));
    await database.rows(
      `UPDATE oauth_clients SET last_used_at = now() - interval '40 days' WHERE id <> 'mcc_fresh'`,
    );
    const expired = await store.deleteUnusedClients(new Date(Date.now() - 30 * 86_400_000));
    expect(expired).toBe(1);
    expect(await store.findClient('mcc_stale')).toBeNull();
    expect(await store.findClient('mcc_fresh')).not.toBeNull();
    expect(await store.findClient('mcc_script')).not.toBeNull();
  });

  it('records a form seal used once, whichever of several concurrent uses comes first', async () => {
    const until = new Date(Date.now() + 600_000);
    expect(await store.useFormSeal('seal-once', until)).toBe(true);
    expect(await store.useFormSeal('seal-once', until)).toBe(false);
    const racing = await Promise.all(
      Array.from({ length: 8 }, () => store.useFormSeal('seal-race', until)),
    );
    expect(racing.filter(Boolean)).toHaveLength(1);
  });

  it('deletes form seals an hour past their expiry, keeping the others', async () => {
    const hour = 3_600_000;
    await store.useFormSeal('seal-long-gone', new Date(Date.now() - 2 * hour));
    await store.useFormSeal('seal-just-expired', new Date(Date.now() - 60_000));
    await store.useFormSeal('seal-next', new Date(Date.now() + hour));
    const left = await database.rows<{ seal_hash: string }>(
      `SELECT seal_hash FROM oauth_used_seals WHERE seal_hash LIKE 'seal-%' ORDER BY seal_hash`,
    );
    expect(left.map((row) => row.seal_hash)).toEqual([
      'seal-just-expired',
      'seal-next',
      'seal-once',
      'seal-race',
    ]);
  });

  it('rotates signing keys: a new key signs, the old one still verifies until it expires', async () => {
    const tokens = new AccessTokens(store, settings);
    await tokens.rotate();
    const subject = {
      principal,
      clientId: 'c',
      scope: 'channels:read',
      audience: settings.audiences[0]!,
    };
    const before = await tokens.sign(subject);
    // The key retires within one token lifetime: rotating now makes a new key.
    await database.rows(`UPDATE oauth_signing_keys SET retires_at = now() + interval '5 minutes'`);
    const rotated = new AccessTokens(store, settings);
    await rotated.rotate();
    const after = await rotated.sign(subject);
    expect(after.claims.kid).not.toBe(before.claims.kid);
    expect((await rotated.publicKeys()).keys.map((key) => key.kid).sort()).toEqual(
      [before.claims.kid, after.claims.kid].sort(),
    );
    expect(await rotated.verify(before.token)).toMatchObject({ principal, clientId: 'c' });
    expect(await rotated.verify(after.token)).toMatchObject({ principal });
    // Rotating again changes nothing while the new key has long to go.
    await rotated.rotate();
    expect((await rotated.publicKeys()).keys).toHaveLength(2);
  });

  it('answers a token it cannot check for an outage with the outage, never as an invalid token', async () => {
    const tokens = new AccessTokens(store, settings);
    await tokens.rotate();
    const { token } = await tokens.sign({
      principal,
      clientId: 'c',
      scope: 'channels:read',
      audience: settings.audiences[0]!,
    });
    // A stand-in for the moment the keys are read: the database went away (the outage itself is
    // tested end to end in test/e2e/database-restart).
    class AwayStore extends TypeOrmOAuthStore {
      override signingKeys(): never {
        throw new DatabaseUnavailableError();
      }
    }
    const cold = new AccessTokens(new AwayStore(database), settings);
    await expect(cold.verify(token)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(await tokens.verify(`${token}x`)).toBeNull();
  });
});
