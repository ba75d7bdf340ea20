import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { authorizeUrl, pkcePair, registerClient } from '../support/oauth.js';
import { launchChromium, startCallbackServer } from '../support/browser.js';
import type { CallbackServer } from '../support/browser.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

const PASSWORD = 'a long enough password';

/**
 * The login and consent pages in a real browser (Debian's chromium driven by playwright-core),
 * with JavaScript off as well as on, operated by keyboard and by their accessible names.
 */
describe('the sign-in and consent pages in a browser', () => {
  let app: TestApp;
  let browser: Browser;
  let callback: CallbackServer;

  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_MODE: 'local' } });
    await app.admin(['tenant', 'create', 'ten_browser', 'Browser tests']);
    await app.admin(['account', 'create', 'ten_browser', 'carol'], PASSWORD);
    browser = await launchChromium();
    callback = await startCallbackServer();
  });

  afterAll(async () => {
    await callback?.close();
    await browser?.close();
    await app?.close();
  });

  /** A fresh browser context on the authorization page of a newly registered client. */
  async function openAuthorization(javaScriptEnabled: boolean, clientName: string) {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const { client_id: clientId } = await registerClient(app.url, {
      client_name: clientName,
      redirect_uris: [callback.url],
    });
    await page.goto(authorizeUrl(app.url, clientId, pkcePair(), { redirect_uri: callback.url }));
    return { page, close: () => context.close() };
  }

  async function backInTheApp(page: Page): Promise<URL> {
    await page.getByRole('heading', { name: 'Back in the app' }).waitFor();
    const last = callback.visits.at(-1);
    if (!last) throw new Error('the callback was not reached');
    return last;
  }

  async function signIn(page: Page, password: string): Promise<void> {
    // By id: the label has a test of its own below.
    await page.locator('#username').fill('carol');
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
      expect(await alert.textContent()).toMatch(/do not match an account/);
      expect(await page.getByLabel('E-mail or username').inputValue()).toBe('carol');
      expect(await page.getByLabel('Password').getAttribute('aria-describedby')).toBe(
        'login-error',
      );

      await signIn(page, PASSWORD);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Allow access?');
      const text = await page.locator('main').textContent();
      expect(text).toContain('No-JS client');
      expect(text).toContain(new URL(callback.url).host);
      await page.getByRole('button', { name: 'Allow' }).click();
      const returned = await backInTheApp(page);
      expect(returned.searchParams.get('code')).toMatch(/^mac_/);
      expect(returned.searchParams.get('iss')).toBe(app.url);
    } finally {
      await close();
    }
  });

  it('moves the focus to the error after a failed sign-in and marks both fields invalid', async () => {
    for (const javaScriptEnabled of [true, false]) {
      const { page, close } = await openAuthorization(javaScriptEnabled, 'Focus client');
      try {
        expect(await page.locator('#password').getAttribute('aria-invalid')).toBeNull();
        await signIn(page, 'wrong password!');
        await page.getByRole('alert').waitFor();
        const fields = async (attribute: string) => [
          await page.locator('#username').getAttribute(attribute),
          await page.locator('#password').getAttribute(attribute),
        ];
        // One comparison, so that a failure shows every part that is missing.
        expect({
          // autofocus on the error itself: the page's CSP allows no script to move the focus.
          // A string: the tests are compiled without the DOM's types.
          focused: await page.evaluate('document.activeElement.id'),
          invalid: await fields('aria-invalid'),
          describedBy: await fields('aria-describedby'),
        }).toEqual({
          focused: 'login-error',
          invalid: ['true', 'true'],
          describedBy: ['login-error', 'login-error'],
        });
        // Tab goes on from the error to the first field, to put things right.
        await page.keyboard.press('Tab');
        expect(await page.evaluate('document.activeElement.id')).toBe('username');
      } finally {
        await close();
      }
    }
  });

  it('labels the account field as what accounts are named by: an e-mail address or username', async () => {
    const { page, close } = await openAuthorization(true, 'Label client');
    try {
      const field = page.getByLabel('E-mail or username', { exact: true });
      expect(await field.count()).toBe(1);
      expect(await field.getAttribute('id')).toBe('username');
      expect(await field.getAttribute('autocomplete')).toBe('username');
      // Not type=email: an account may be a plain username ("carol"), which it would refuse.
      expect(await field.getAttribute('type')).toBe('text');
      expect(await field.getAttribute('inputmode')).toBe('email');
    } finally {
      await close();
    }
  });

  it("shows the client's own name as not verified, and the redirect host it will return to", async () => {
    const name = 'Claude <b>"Official"</b> & Co';
    const { page, close } = await openAuthorization(false, name);
    try {
      const host = new URL(callback.url).host;
      for (const heading of ['Sign in', 'Allow access?']) {
        await page.getByRole('heading', { name: heading }).waitFor();
        const block = page.locator('.client');
        const text = (await block.textContent())?.replace(/\s+/g, ' ') ?? '';
        expect({
          name: /“.*” \(name not verified\)/.exec(text)?.[0],
          returnsTo: /will be sent back to (\S+);/.exec(text)?.[1],
          // Escaped: the name's markup is text, not an element.
          elementsInName: await block.locator('b').count(),
        }).toEqual({ name: `“${name}” (name not verified)`, returnsTo: host, elementsInName: 0 });
        if (heading === 'Sign in') await signIn(page, PASSWORD);
      }
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
      const returned = await backInTheApp(page);
      expect(returned.searchParams.get('error')).toBe('access_denied');
      expect(returned.searchParams.get('code')).toBeNull();
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
