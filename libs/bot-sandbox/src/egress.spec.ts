import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { selfSignedCertificate } from '#test-support';
import type { TestCertificate } from '#test-support';
import { EgressFetcher, hostAllowed } from './egress.js';
import type { HookRequest } from './hook.types.js';
import { IsolateSandbox } from './isolate-sandbox.js';

describe('hostAllowed', () => {
  it('matches exact hosts and *.domain subdomains, case-insensitively', () => {
    const list = ['api.example.com', '*.data.example'];
    expect(hostAllowed('API.example.com', list)).toBe(true);
    expect(hostAllowed('a.data.example', list)).toBe(true);
    expect(hostAllowed('a.b.data.example', list)).toBe(true);
    expect(hostAllowed('data.example', list)).toBe(false);
    expect(hostAllowed('evildata.example', list)).toBe(false);
    expect(hostAllowed('api.example.com.evil.test', list)).toBe(false);
  });
});

/**
 * ctx.fetch from inside the sandbox, against an https server the test runs (its own certificate
 * authority, on loopback, which only the test setting allows).
 */
describe('ctx.fetch through the egress rules', () => {
  let tls: TestCertificate;
  let server: Server;
  let port: number;
  let sandbox: IsolateSandbox;
  let strict: IsolateSandbox;

  beforeAll(async () => {
    tls = selfSignedCertificate();
    server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      if (req.url === '/data')
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"price":42}');
      if (req.url === '/here') return res.writeHead(302, { location: '/data' }).end();
      if (req.url === '/away')
        return res.writeHead(302, { location: `https://127.0.0.1:${port}/data` }).end();
      if (req.url === '/huge') return res.writeHead(200).end('x'.repeat(20_000));
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    const ca = tls.cert.toString('utf8');
    const limits = { memoryMb: 32, timeoutMs: 3_000, maxOutputBytes: 64 * 1024 };
    const settings = { timeoutMs: 2_000, maxResponseBytes: 10_000, ca };
    sandbox = new IsolateSandbox(
      limits,
      8,
      new EgressFetcher({ ...settings, allowLoopback: true }),
    );
    strict = new IsolateSandbox(
      limits,
      8,
      new EgressFetcher({ ...settings, allowLoopback: false }),
    );
  });

  afterAll(async () => {
    sandbox?.dispose();
    strict?.dispose();
    await new Promise((resolve) => server?.close(resolve));
    tls?.remove();
  });

  function fetching(url: string, egress: string[]): HookRequest {
    return {
      isolationKey: `egress/${url}`,
      code: `export default class Fetcher {
        constructor(ctx) { this.ctx = ctx; }
        async onMessage() {
          const response = await this.ctx.fetch(${JSON.stringify(url)});
          this.ctx.post('bot', { status: response.status, ok: response.ok, data: response.json() });
        }
      }`,
      params: {},
      state: {},
      channelId: 'chn_egress',
      botId: 'bot_Fetcher_0',
      hook: 'message',
      args: [{ body: {} }],
      now: 0,
      egress,
    };
  }

  it('fetches from a host on the list and hands the bot the response', async () => {
    const { cpuMs: _cpuMs, ...outcome } = await sandbox.run(
      fetching(`https://localhost:${port}/data`, ['localhost']),
    );
    expect(outcome).toEqual({
      ok: true,
      effects: expect.objectContaining({
        posts: [
          { kind: 'bot', body: { status: 200, ok: true, data: { price: 42 } }, to_slot: null },
        ],
      }) as unknown,
    });
  });

  it('follows a redirect that stays on the list', async () => {
    const outcome = await sandbox.run(fetching(`https://localhost:${port}/here`, ['localhost']));
    expect(outcome.ok).toBe(true);
  });

  it.each([
    [
      'a host off the list',
      () => `https://127.0.0.1:${port}/data`,
      ['localhost'],
      /not in this bot's egress list/,
    ],
    ['plain http', () => `http://localhost:${port}/data`, ['localhost'], /https URLs only/],
    [
      'a redirect off the list',
      () => `https://localhost:${port}/away`,
      ['localhost'],
      /127\.0\.0\.1 is not in this bot's egress list/,
    ],
    [
      'a response over the size limit',
      () => `https://localhost:${port}/huge`,
      ['localhost'],
      /larger than 10000 bytes/,
    ],
    [
      'a private address, even on the list',
      () => 'https://10.0.0.1/data',
      ['10.0.0.1'],
      /not a public address/,
    ],
    [
      'a bot with no egress list',
      () => `https://localhost:${port}/data`,
      [],
      /no egress allowlist/,
    ],
  ])('refuses %s with a clear bot error', async (_what, url, egress, reason) => {
    const outcome = await sandbox.run(fetching(url(), egress));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error).toMatch(reason);
  });

  it('refuses loopback unless the test setting allows it', async () => {
    const outcome = await strict.run(fetching(`https://localhost:${port}/data`, ['localhost']));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error).toMatch(/not a public address/);
  });
});
