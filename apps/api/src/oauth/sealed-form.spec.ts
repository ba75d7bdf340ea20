import { describe, expect, it } from '@jest/globals';
import { FormSealer } from './sealed-form.js';
import type { SealLedger } from './sealed-form.js';

/**
 * An in-memory ledger: the unit under test is the sealer; the shared Postgres ledger has its own
 * tests (typeorm-oauth.store.int-spec.ts) and the e2e tests post forms on two replicas.
 */
function inMemoryLedger(): SealLedger & { readonly used: Map<string, Date> } {
  const used = new Map<string, Date>();
  const ledger = (hash: string, expiresAt: Date) => {
    if (used.has(hash)) return Promise.resolve(false);
    used.set(hash, expiresAt);
    return Promise.resolve(true);
  };
  return Object.assign(ledger, { used });
}

describe('FormSealer', () => {
  const sealer = new FormSealer(() => Promise.resolve('a server secret'), inMemoryLedger());

  it('opens what it sealed, for the same purpose only', async () => {
    const sealed = await sealer.seal('consent', { principal: 'p1' }, 60);
    expect(await sealer.open('consent', sealed)).toEqual({ principal: 'p1' });
    expect(await sealer.open('authorize', sealed)).toBeNull();
  });

  it('refuses an altered, expired, foreign or missing seal', async () => {
    const sealed = await sealer.seal('consent', { principal: 'p1' }, 60);
    const [body, signature] = sealed.split('.');
    const altered = Buffer.from(
      Buffer.from(body ?? '', 'base64url')
        .toString()
        .replace('p1', 'p2'),
    ).toString('base64url');
    expect(await sealer.open('consent', `${altered}.${signature}`)).toBeNull();
    expect(await sealer.open('consent', await sealer.seal('consent', {}, -1))).toBeNull();
    const other = new FormSealer(() => Promise.resolve('another secret'), inMemoryLedger());
    expect(await other.open('consent', sealed)).toBeNull();
    expect(await sealer.open('consent', undefined)).toBeNull();
    expect(await sealer.open('consent', 'garbage')).toBeNull();
    expect(await sealer.open('consent', `${sealed}.extra`)).toBeNull();
  });

  it('spends a seal once, until its own expiry, and no other seal of the same value', async () => {
    const ledger = inMemoryLedger();
    const once = new FormSealer(() => Promise.resolve('a server secret'), ledger);
    const sealed = await once.seal('consent', { principal: 'p1' }, 60);
    const twin = await once.seal('consent', { principal: 'p1' }, 60);
    expect(twin).not.toBe(sealed);

    expect(await once.spend('consent', sealed)).toBe(true);
    expect(await once.spend('consent', sealed)).toBe(false);
    expect(await once.spend('consent', `${sealed}.extra`)).toBe(false);
    expect(await once.spend('consent', twin)).toBe(true);
    const [expiresAt] = [...ledger.used.values()];
    expect(Math.abs((expiresAt?.getTime() ?? 0) - (Date.now() + 60_000))).toBeLessThan(2_000);
  });

  it('spends nothing for an invalid seal', async () => {
    const ledger = inMemoryLedger();
    const once = new FormSealer(() => Promise.resolve('a server secret'), ledger);
    const sealed = await once.seal('consent', {}, 60);
    expect(await once.spend('authorize', sealed)).toBe(false);
    expect(await once.spend('consent', await once.seal('consent', {}, -1))).toBe(false);
    expect(await once.spend('consent', undefined)).toBe(false);
    expect(ledger.used.size).toBe(0);
  });
});
