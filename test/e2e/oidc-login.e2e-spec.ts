import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import type { Browser, Page } from 'playwright-core';
import {
  authorizeUrl,
  jwtClaims,
  pkcePair,
  registerClient,
  tokenRequest,
} from '../support/oauth.js';
import { launchChromium, startCallbackServer } from '../support/browser.js';
import type { CallbackServer } from '../support/browser.js';
import { freePort } from '../support/free-port.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

/**
 * AUTH_MODE=oidc against a real OpenID Connect provider (panva's oidc-provider, run by the test),
 * driven in chromium as a person would: our authorize endpoint sends them to the provider, they
 * sign in and agree there, come back, consent on our page, and the client gets its code. The
 * tenant comes from the verified email domain.
 */
describe('signing in through an upstream OpenID Connect provider', () => {
  let app: TestApp;
  let provider: Server;
  let browser: Browser;
  let callback: CallbackServer;

  beforeAll(async () => {
    const providerPort = await freePort();
    const issuer = `http://127.0.0.1:${providerPort}`;
    app = await startTestApp({
      env: {
        AUTH_MODE: 'oidc',
        OIDC_ISSUER_URL: issuer,
        OIDC_CLIENT_ID: 'multiplayer',
        OIDC_CLIENT_SECRET: 'multiplayer-secret',
        OIDC_TENANT_DOMAINS: 'acme.test=ten_acme',
        OIDC_ALLOW_INSECURE_HTTP: 'true',
      },
    });
    await app.admin(['tenant', 'create', 'ten_acme', 'Acme']);
    const oidc = new Provider(issuer, {
      clients: [
        {
          client_id: 'multiplayer',
          client_secret: 'multiplayer-secret',
          redirect_uris: [`${app.url}/oauth/oidc/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      claims: { email: ['email', 'email_verified'], profile: ['name'] },
      // The login the person types is their account id and their email.
      findAccount: (_ctx, id) => ({
        accountId: id,
        claims: () => ({ sub: id, email: id, email_verified: true, name: id }),
      }),
      features: { devInteractions: { enabled: true } },
    });
    provider = oidc.listen(providerPort);
    browser = await launchChromium();
    callback = await startCallbackServer();
  });

  afterAll(async () => {
    await browser?.close();
    await callback?.close();
    await new Promise((resolve) => provider?.close(resolve));
    await app?.close();
  });

  /** Our authorize URL for a new client, opened in a fresh browser. */
  async function startSignIn(): Promise<{ page: Page; clientId: string; verifier: string }> {
    const { client_id: clientId } = await registerClient(app.url, {
      client_name: 'Upstream test client',
      redirect_uris: [callback.url],
    });
    const pkce = pkcePair();
    const page = await (await browser.newContext()).newPage();
    await page.goto(authorizeUrl(app.url, clientId, pkce, { redirect_uri: callback.url }));
    return { page, clientId, verifier: pkce.verifier };
  }

  /** The provider's own (development) login and consent pages. */
  async function signInUpstream(page: Page, login: string): Promise<void> {
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]').click();
  }

  it('places a person from a mapped domain in its tenant and hands the client a code', async () => {
    const { page, clientId, verifier } = await startSignIn();
    expect(new URL(page.url()).origin).not.toBe(app.url);
    await signInUpstream(page, 'alice@acme.test');
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    expect(await page.locator('main').textContent()).toContain('alice@acme.test');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Back in the app' }).waitFor();
    const code = callback.visits.at(-1)?.searchParams.get('code');
    expect(callback.visits.at(-1)?.searchParams.get('iss')).toBe(app.url);
    const { status, body } = await tokenRequest(app.url, {
      grant_type: 'authorization_code',
      code: code ?? '',
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: callback.url,
    });
    expect(status).toBe(200);
    expect(jwtClaims(body['access_token'] as string)).toMatchObject({
      tid: 'ten_acme',
      pkd: 'user',
    });
  });

  it('signs the same person in as the same principal the next time', async () => {
    const subjects = [];
    for (let round = 0; round < 2; round++) {
      const { page, clientId, verifier } = await startSignIn();
      await signInUpstream(page, 'bob@acme.test');
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.getByRole('heading', { name: 'Back in the app' }).waitFor();
      const { body } = await tokenRequest(app.url, {
        grant_type: 'authorization_code',
        code: callback.visits.at(-1)?.searchParams.get('code') ?? '',
        code_verifier: verifier,
        client_id: clientId,
        redirect_uri: callback.url,
      });
      subjects.push(jwtClaims(body['access_token'] as string)['sub']);
    }
    expect(subjects[0]).toBe(subjects[1]);
  });

  it('refuses a person whose organisation has no tenant, with a page that says so', async () => {
    const { page } = await startSignIn();
    await signInUpstream(page, 'mallory@elsewhere.test');
    await page.getByRole('heading', { name: 'You cannot sign in here' }).waitFor();
    expect(await page.locator('main').textContent()).toMatch(/no tenant on this server/);
  });
});
