import { describe, expect, it } from '@jest/globals';
import { FormSealer } from './sealed-form.js';

describe('FormSealer', () => {
  const sealer = new FormSealer(() => Promise.resolve('a server secret'));

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
    const other = new FormSealer(() => Promise.resolve('another secret'));
    expect(await other.open('consent', sealed)).toBeNull();
    expect(await sealer.open('consent', undefined)).toBeNull();
    expect(await sealer.open('consent', 'garbage')).toBeNull();
  });
});
