import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { freePort } from '../support/free-port.js';
import { authorizeUrl, pkcePair, registerClient } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

/** Debian's chromium, which .ci/run installs. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const PASSWORD = 'a long enough password';

/**
 * The login and consent pages in a real browser (Debian's chromium driven by playwright-core),
 * with JavaScript off as well as on, operated by keyboard and by their accessible names.
 */
describe('the sign-in and consent pages in a browser', () => {
  let app: TestApp;
  let browser: Browser;
  /** The client's loopback callback: a real server, as a native client runs one. */
  let callbackServer: Server;
  let callbackUrl: string;
  const callbacks: URL[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
    app = await startTestApp({ env: { AUTH_MODE: 'local' } });
    await app.admin(['tenant', 'create', 'ten_browser', 'Browser tests']);
    await app.admin(['account', 'create', 'ten_browser', 'carol'], PASSWORD);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const port = await freePort();
    callbackUrl = `http://127.0.0.1:${port}/callback`;
    callbackServer = createServer((req, res) => {
      const url = new URL(req.url ?? '/', callbackUrl);
      if (url.pathname === '/callback') callbacks.push(url);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Back in the app</h1>');
    });
    await new Promise<void>((resolve) => callbackServer.listen(port, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => callbackServer?.close(resolve));
    await browser?.close();
    await app?.close();
  });

  /** A fresh browser context on the authorization page of a newly registered client. */
  async function openAuthorization(javaScriptEnabled: boolean, clientName: string) {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const { client_id: clientId } = await registerClient(app.url, {
      client_name: clientName,
      redirect_uris: [callbackUrl],
    });
    await page.goto(authorizeUrl(app.url, clientId, pkcePair(), { redirect_uri: callbackUrl }));
    return { page, close: () => context.close() };
  }

  async function backInTheApp(page: Page): Promise<URL> {
    await page.getByRole('heading', { name: 'Back in the app' }).waitFor();
    const last = callbacks.at(-1);
    if (!last) throw new Error('the callback was not reached');
    return last;
  }

  async function signIn(page: Page, password: string): Promise<void> {
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('works without JavaScript: a wrong password is announced, then consent returns a code', async () => {
    const { page, close } = await openAuthorization(false, 'No-JS client');
    try {
      await expect(page.title()).resolves.toMatch(/^Sign in/);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      await expect(page.getByText('No-JS client').isVisible()).resolves.toBe(true);

      await signIn(page, 'wrong password!');
      const alert = page.getByRole('alert');
      expect(await alert.textContent()).toMatch(/not right/);
      expect(await page.getByLabel('Username').inputValue()).toBe('carol');
      expect(await page.getByLabel('Password').getAttribute('aria-describedby')).toBe(
        'login-error',
      );

      await signIn(page, PASSWORD);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Allow access?');
      const text = await page.locator('main').textContent();
      expect(text).toContain('No-JS client');
      expect(text).toContain(new URL(callbackUrl).host);
      await page.getByRole('button', { name: 'Allow' }).click();
      const callback = await backInTheApp(page);
      expect(callback.searchParams.get('code')).toMatch(/^mac_/);
      expect(callback.searchParams.get('iss')).toBe(app.url);
    } finally {
      await close();
    }
  });

  it('can be done by keyboard alone, and Deny returns access_denied', async () => {
    const { page, close } = await openAuthorization(true, 'Keyboard client');
    try {
      await page.keyboard.press('Tab');
      expect(await page.locator(':focus').getAttribute('id')).toBe('username');
      await page.keyboard.type('carol');
      await page.keyboard.press('Tab');
      expect(await page.locator(':focus').getAttribute('id')).toBe('password');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
      await page.getByRole('button', { name: 'Deny' }).focus();
      await page.keyboard.press('Enter');
      const callback = await backInTheApp(page);
      expect(callback.searchParams.get('error')).toBe('access_denied');
      expect(callback.searchParams.get('code')).toBeNull();
    } finally {
      await close();
    }
  });

  it('refuses to be framed by another site', async () => {
    const { page, close } = await openAuthorization(true, 'Framed client');
    try {
      const response = await page.reload();
      expect(response?.headers()['x-frame-options']).toBe('DENY');
      expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    } finally {
      await close();
    }
  });
});
