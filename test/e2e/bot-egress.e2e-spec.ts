import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { startTestApp } from '../support/test-app.js';
import { selfSignedCertificate } from '../support/tls.js';
import type { TestCertificate } from '../support/tls.js';
import type { TestApp } from '../support/test-app.js';

interface Synced {
  messages: { sender: string; kind: string; body: Record<string, unknown> }[];
}

/** A bot whose manifest lists `egress`, fetching a price on every message. */
function pricingBot(egress: string[], url: string): string {
  return `export default class Pricer {
    static manifest = { name: 'Pricer', version: '1', egress: ${JSON.stringify(egress)} };
    constructor(ctx) { this.ctx = ctx; }
    async onMessage() {
      const response = await this.ctx.fetch(${JSON.stringify(url)});
      this.ctx.post('bot', { price: response.json().price });
    }
  }`;
}

/** ctx.fetch end to end: the manifest's egress list reaches the sandbox through BotService. */
describe('bots reaching the network through their egress list', () => {
  let tls: TestCertificate;
  let server: Server;
  let app: TestApp;
  let agent: Agent;
  let base: string;

  beforeAll(async () => {
    tls = selfSignedCertificate();
    server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"price":7}'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://localhost:${(server.address() as { port: number }).port}`;
    app = await startTestApp({
      env: {
        BOT_EGRESS_ALLOW_LOOPBACK: 'true',
        BOT_EGRESS_CA_FILE: tls.certPath,
      },
    });
    agent = await connectAgent(app.url);
  });

  afterAll(async () => {
    await agent?.close();
    await app?.close();
    await new Promise((resolve) => server?.close(resolve));
    tls?.remove();
  });

  async function replyTo(code: string): Promise<Synced['messages']> {
    const created = await agent.call<{ channel_id: string; invites: string[] }>('create_channel', {
      name: 'egress',
      slots: ['bot:pricer', 'invite:a'],
      bot_code: code,
    });
    await agent.call('join_channel', { invite_code: created.invites[0] });
    const posted = await agent.call<{ msg_id: number }>('post_message', {
      channel_id: created.channel_id,
      body: 'price?',
    });
    const synced = await agent.call<Synced>('sync_messages', {
      channel_id: created.channel_id,
      cursor: posted.msg_id,
      timeout_ms: 0,
    });
    return synced.messages;
  }

  it('lets a bot fetch from a host its manifest lists', async () => {
    const messages = await replyTo(pricingBot(['localhost'], `${base}/price`));
    expect(messages.map((m) => m.body['price'])).toContain(7);
  });

  it('turns a fetch off the list into a visible bot:error', async () => {
    const messages = await replyTo(pricingBot(['api.example.com'], `${base}/price`));
    const error = messages.find((m) => m.body['type'] === 'bot:error');
    expect(error?.body['error']).toMatch(
      /ctx\.fetch refused: host localhost is not in this bot's egress list/,
    );
  });

  it('refuses a manifest whose egress entry is not a host', async () => {
    const created = await agent.call<{ bot_errors?: string[] }>('create_channel', {
      name: 'bad egress',
      slots: ['bot:pricer', 'invite:a'],
      bot_code: pricingBot(['https://localhost/'], `${base}/price`),
    });
    expect(created.bot_errors?.join(' ')).toMatch(/egress: hosts like api\.example\.com/);
  });
});
