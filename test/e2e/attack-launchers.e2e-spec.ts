import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { testNats } from '../support/nats.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import type { Created, Joined, Message, SyncResult } from './game-helpers.js';

/** One attack of issue 11 per message text; anything else is echoed. */
const HOSTILE = `export default class Hostile {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(m) {
    const t = m.body.text;
    if (t === 'wasm') new WebAssembly.Memory({ initial: 16384 });
    else if (t === 'hash') { const s = 'x'.repeat(1048576); try { for (;;) this.ctx.sha256(s); } catch {} }
    else if (t === 'tiny') { try { for (;;) this.ctx.random.hex(1); } catch {} }
    else if (t === 'forge') this.ctx.post('control', { type: 'bot:attach', bot_id: 'bot_GuessBot_0', code_hash: 'sha256:' + '0'.repeat(64) });
    else if (t === 'kind') { RegExp.prototype.test = () => true; this.ctx.post('\\u202e' + 'k'.repeat(5000), { text: 'x' }); }
    else if (t === 'stack') {
      let stack = '';
      try { this.ctx.sha256('x'.repeat(1048577)); } catch (e) { stack = String(e.stack); }
      this.ctx.post('bot', { stack });
    }
    else this.ctx.post('bot', { echo: t });
  }
}`;

const ATTACKS: [string, RegExp][] = [
  ['wasm', /^ReferenceError: WebAssembly is not defined$/],
  ['hash', /^host work limit exceeded/],
  ['tiny', /^host work limit exceeded/],
  ['forge', /^message type "bot:attach" is reserved for the platform$/],
  ['kind', /^a message kind must be 1-32 letters/],
];

/**
 * The bot-side attacks of issue 11 on every launcher: the answer is the same whether the hook
 * runs in the API's isolate, in a runner process or in a runner under gVisor, since the sandbox
 * and the host's checks of what a bot posts are the same code.
 */
describe.each([
  ['inline', {}],
  ['process', { BOT_LAUNCHER: 'process' }],
  ['process under gVisor', { BOT_LAUNCHER: 'process', BOT_SANDBOX: 'gvisor' }],
])('hostile bots on the %s launcher', (_launcher, env: Record<string, string>) => {
  let app: TestApp;
  let agent: Agent;
  let channelId: string;
  let token: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { ...testNats().env, BOT_HOOK_TIMEOUT_MS: '3000', ...env } });
    agent = await connectAgent(app.url);
    const created = await agent.call<Created>('create_channel', {
      name: 'hostile',
      slots: ['bot:ref', 'invite:p'],
      bot_code: HOSTILE,
    });
    expect(created.bot_errors).toBeUndefined();
    channelId = created.channel_id;
    token = (await agent.call<Joined>('join_channel', { invite_code: created.invites[0] }))
      .rejoin_token;
  }, 60_000);

  afterAll(async () => {
    await agent?.close();
    await app?.close();
  });

  /** Posts `text` and returns what the bot answered to it. */
  async function answer(text: string): Promise<Message[]> {
    const posted = await agent.call<{ msg_id: number }>('post_message', {
      channel_id: channelId,
      body: text,
      member_token: token,
    });
    const page = await agent.call<SyncResult>('sync_messages', {
      channel_id: channelId,
      cursor: posted.msg_id,
      timeout_ms: 10_000,
      member_token: token,
    });
    return page.messages.filter((m) => m.sender.startsWith('bot:'));
  }

  it('refuses a bot that imports the sandbox internals when it is attached', async () => {
    const created = await agent.call<Created>('create_channel', {
      name: 'importer',
      slots: ['bot:ref', 'invite:p'],
      bot_code: `import { fetchHost } from 'mp:prelude';\nexport default class A { onMessage() { fetchHost.applyIgnored(undefined, []); } }`,
    });
    expect(created.bot_errors).toEqual([
      'The bot could not be loaded: imports are not available to bots (tried "mp:prelude")',
    ]);
  });

  it.each(ATTACKS)('answers %s with a bot:error and nothing else', async (text, error) => {
    const answered = await answer(text);
    expect(answered.map((m) => [m.kind, m.body['type'], m.body['error']])).toEqual([
      ['control', 'bot:error', expect.stringMatching(error)],
    ]);
  });

  it('hands the bot errors without host paths', async () => {
    const [reply] = await answer('stack');
    const stack = String(reply?.body['stack']);
    expect(stack).toMatch(/^RangeError: ctx\.sha256\(text\) hashes at most/);
    expect(stack).not.toContain(process.cwd());
    expect(stack).not.toMatch(/node_modules|node:internal|file:|\.ts:\d/);
  });

  it('still answers after every attack', async () => {
    const answered = await answer('still there?');
    expect(answered.map((m) => m.body['echo'])).toEqual(['still there?']);
    await expect(agent.call('health_check')).resolves.toBeDefined();
  });
});
