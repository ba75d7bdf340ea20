import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { readAll } from './game-helpers.js';
import type { Created, Info, Joined, Message, SyncResult } from './game-helpers.js';

/**
 * Hostile bots through create_channel (DESIGN §6): every breach ends its hook, commits only a visible
 * `bot:error`, keeps the bot's state, and never stalls the other channels of the server.
 */

jest.setTimeout(60_000);

const HOOK_TIMEOUT_MS = 500;
/** Well under the 5 s settle deadline: a post that returns sooner did not give up on its hook. */
const RETURNS_WITHIN_MS = 3_000;

const ECHO_BOT = `export default class Echo {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(m) { this.ctx.post('bot', { echo: m.body.text }); }
}`;

/**
 * A bot that echoes, except on the text "attack": then it posts and sets state (effects that must
 * be thrown away) and misbehaves with `attack`.
 */
const misbehavesOnMessage = (
  attack: string,
  { async = false } = {},
) => `export default class Hostile {
  constructor(ctx) { this.ctx = ctx; }
  ${async ? 'async ' : ''}onMessage(m) {
    if (m.body.text !== 'attack') { this.ctx.post('bot', { echo: m.body.text }); return; }
    this.ctx.post('bot', { partial: true });
    this.ctx.setState({ touched: true });
    ${attack}
  }
}`;

/** A bot whose every hook fails, because constructing it does. */
const misbehavesInConstructor = (attack: string) => `export default class Hostile {
  constructor(ctx) { ${attack} }
  onMessage() {}
}`;

interface HostileCase {
  what: string;
  code: string;
  error: RegExp;
  /** The breach takes the whole time limit, so the other channel must answer before it ends. */
  slow?: boolean;
  /** Every hook fails (the constructor breaks), not only the attacking message. */
  everyHook?: boolean;
}

const TIME_LIMIT = new RegExp(`time limit exceeded \\(${HOOK_TIMEOUT_MS} ms\\)`);

const HOSTILE: HostileCase[] = [
  {
    what: 'loops forever in onMessage',
    code: misbehavesOnMessage('for (;;) {}'),
    error: TIME_LIMIT,
    slow: true,
  },
  {
    what: 'awaits a promise that never settles',
    code: misbehavesOnMessage('await new Promise(() => {});', { async: true }),
    error: TIME_LIMIT,
    slow: true,
  },
  {
    what: 'spins on promise jobs',
    code: misbehavesOnMessage('for (;;) await null;', { async: true }),
    error: TIME_LIMIT,
    slow: true,
  },
  {
    what: 'loops forever in the constructor',
    code: misbehavesInConstructor('for (;;) {}'),
    error: TIME_LIMIT,
    slow: true,
    everyHook: true,
  },
  {
    what: 'allocates without bound',
    code: misbehavesOnMessage(
      'const hoard = []; for (;;) hoard.push(new Array(1e5).fill(Math.random()));',
    ),
    error: /memory limit exceeded \(64 MiB\)/,
  },
  {
    what: 'allocates typed arrays outside the JS heap',
    code: misbehavesOnMessage(
      'const views = []; for (;;) views.push(new Uint8Array(16 * 1024 * 1024).fill(1));',
    ),
    // The isolate refuses the buffer (a RangeError the bot could catch, but it gains no memory by it).
    error: /memory limit exceeded \(64 MiB\)|Array buffer allocation failed/,
  },
  {
    what: 'blocks its thread in Atomics.wait',
    code: misbehavesOnMessage('Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);'),
    error: /time limit exceeded|SharedArrayBuffer is not defined|Atomics\.wait cannot be called/,
  },
  {
    what: 'loops forever inside WebAssembly',
    code: misbehavesOnMessage(`const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0,
      7, 5, 1, 1, 102, 0, 0, 10, 9, 1, 7, 0, 3, 64, 12, 0, 11, 11]);
    new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.f();`),
    // Bots have no WebAssembly (issue 11, item 3): its memory lies outside the isolate's limit.
    error: /^ReferenceError: WebAssembly is not defined$/,
  },
  {
    what: 'throws in the constructor',
    code: misbehavesInConstructor("throw new Error('constructor exploded');"),
    error: /^Error: constructor exploded$|^constructor exploded$/,
    everyHook: true,
  },
  {
    what: "calls require('fs')",
    code: misbehavesOnMessage("require('fs').readFileSync('/etc/passwd', 'utf8');"),
    error: /require is not defined/,
  },
  {
    what: 'calls process.exit()',
    code: misbehavesOnMessage('process.exit(1);'),
    error: /process is not defined/,
  },
  {
    what: "imports 'node:fs' dynamically",
    code: misbehavesOnMessage(
      "const fs = await import('node:fs'); fs.readFileSync('/etc/passwd');",
      { async: true },
    ),
    error: /import/i,
  },
  {
    what: "reaches for the host with globalThis.constructor.constructor('return process')()",
    code: misbehavesOnMessage(
      "const p = globalThis.constructor.constructor('return process')(); p.exit(1);",
    ),
    error: /process is not defined/,
  },
  {
    what: 'posts megabytes',
    code: misbehavesOnMessage(
      "for (let i = 0; i < 100; i++) this.ctx.post('bot', { blob: 'x'.repeat(100_000) });",
    ),
    error: /output limit exceeded/,
  },
  {
    what: 'swallows the output-limit error and carries on',
    code: misbehavesOnMessage(
      "for (let i = 0; i < 100; i++) { try { this.ctx.post('bot', { blob: 'x'.repeat(100_000) }); } catch {} }",
    ),
    error: /output limit exceeded/,
  },
  {
    what: 'replaces JSON.stringify to dodge the output accounting',
    code: misbehavesOnMessage(`
    const big = { kind: 'bot', body: { blob: 'x'.repeat(100_000) }, to_slot: null };
    const stringify = JSON.stringify;
    const parse = JSON.parse;
    JSON.stringify = (v, ...rest) => (v && v.body && v.body.blob ? '"tiny"' : stringify(v, ...rest));
    JSON.parse = (s, ...rest) => (s === '"tiny"' ? big : parse(s, ...rest));
    for (let i = 0; i < 100; i++) this.ctx.post('bot', { blob: 'x'.repeat(100_000) });`),
    error: /output limit exceeded/,
  },
  {
    what: 'sends a DM to a slot that does not exist',
    code: misbehavesOnMessage("this.ctx.dm('s9', 'bot', { secret: 1 });"),
    error: /unknown slot "s9"/,
  },
  {
    what: 'recurses until the stack overflows',
    code: misbehavesOnMessage('const dive = (n) => dive(n + 1) + 1; dive(0);'),
    error: /Maximum call stack size exceeded/,
  },
  {
    what: 'throws a value that is not an Error',
    code: misbehavesOnMessage(
      "throw { message: 'not an error object', toString() { return 'weird throw'; } };",
    ),
    error: /not an error object|weird throw/,
  },
];

/** A message without its (possibly huge) body, for readable failures. */
const brief = (m: Message) => ({
  sender: m.sender,
  kind: m.kind,
  to_slot: m.to_slot,
  type: m.body['type'] ?? null,
  hook: m.body['hook'] ?? null,
});

const errorsOf = (messages: Message[]) =>
  messages.filter((m) => m.kind === 'control' && m.body['type'] === 'bot:error');

describe('hostile bots', () => {
  let app: TestApp;
  let host: Agent;
  let player: Agent;
  let watcher: Agent;
  let echoChannel: string;

  beforeAll(async () => {
    app = await startTestApp({
      env: {
        BOT_HOOK_TIMEOUT_MS: String(HOOK_TIMEOUT_MS),
        // Every attack here burns one tenant's hooks to their limits, one after another: the
        // tenant's CPU budget (fair share between tenants, tested in hook-scheduler.spec and
        // measured by bench/fair-share) would skip the later ones.
        BOT_TENANT_HOOK_CPU_MS_PER_MINUTE: '3600000',
        BOT_TENANT_HOOK_CPU_BURST_MS: '3600000',
      },
    });
    [host, player, watcher] = await Promise.all([
      connectAgent(app.url, 'host'),
      connectAgent(app.url, 'player'),
      connectAgent(app.url, 'watcher'),
    ]);
    const echo = await host.call<Created>('create_channel', {
      name: 'echo',
      slots: ['bot:echo', 'invite:w'],
      bot_code: ECHO_BOT,
    });
    await watcher.call('join_channel', { invite_code: echo.invites[0] });
    echoChannel = echo.channel_id;
  });

  afterAll(async () => {
    await Promise.all([host, player, watcher].map((agent) => agent?.close()));
    await app?.close();
  });

  /** Posts to the echo channel and reads the reply that must already be stored. */
  async function pingEcho(
    text: string,
  ): Promise<{ userId: number; reply: Message | undefined; doneAt: number }> {
    const posted = await watcher.call<{ msg_id: number }>('post_message', {
      channel_id: echoChannel,
      body: text,
    });
    const page = await watcher.call<SyncResult>('sync_messages', {
      channel_id: echoChannel,
      cursor: posted.msg_id,
      timeout_ms: 0,
    });
    return {
      userId: posted.msg_id,
      reply: page.messages.find((m) => m.body['echo'] === text),
      doneAt: Date.now(),
    };
  }

  async function hostileChannel(code: string): Promise<{ channelId: string; token: string }> {
    const created = await host.call<Created>('create_channel', {
      name: 'hostile',
      slots: ['bot:ref', 'invite:p'],
      bot_code: code,
    });
    expect(created.bot_errors).toBeUndefined();
    const joined = await player.call<Joined>('join_channel', { invite_code: created.invites[0] });
    return { channelId: created.channel_id, token: joined.rejoin_token };
  }

  const stateVersion = async (channelId: string) =>
    (await player.call<Info>('get_channel_info', { channel_id: channelId })).bots[0]?.state_version;

  describe('a breach ends the hook with a visible bot:error, and the other channel keeps answering', () => {
    it.each(HOSTILE.map((k) => [k.what, k] as const))('a bot that %s', async (_what, k) => {
      const { channelId, token } = await hostileChannel(k.code);
      const before = await readAll(player, channelId, token);
      const versionBefore = await stateVersion(channelId);

      // The attack and three round trips on the echo channel run at the same time.
      const startedAt = Date.now();
      const [attack, echoes] = await Promise.all([
        player
          .call<{ msg_id: number }>('post_message', {
            channel_id: channelId,
            body: 'attack',
            member_token: token,
          })
          .then((posted) => ({ ...posted, doneAt: Date.now() })),
        (async () => {
          const replies = [];
          for (let i = 0; i < 3; i++) replies.push(await pingEcho(`${k.what} #${i}`));
          return replies;
        })(),
      ]);

      expect(attack.doneAt - startedAt).toBeLessThan(RETURNS_WITHIN_MS);
      for (const echo of echoes) {
        expect(echo.reply?.sender).toBe('bot:bot_CustomBot_0');
        expect(echo.reply?.id).toBeGreaterThan(echo.userId);
      }
      if (k.slow) expect(echoes[0]?.doneAt).toBeLessThan(attack.doneAt);

      // Read right away, without waiting: the error was committed before post_message returned.
      const page = await player.call<SyncResult>('sync_messages', {
        channel_id: channelId,
        cursor: attack.msg_id,
        timeout_ms: 0,
        member_token: token,
      });
      expect(page.messages.map(brief)).toEqual([
        {
          sender: 'bot:bot_CustomBot_0',
          kind: 'control',
          to_slot: null,
          type: 'bot:error',
          hook: 'message',
        },
      ]);
      const error = String(page.messages[0]?.body['error']);
      expect(error).toMatch(k.error);
      expect(error).not.toMatch(/\/work\/|node_modules|\n\s+at |isolated-vm|QueryFailedError/);
      expect(page.messages.some((m) => m.body['partial'] === true || 'blob' in m.body)).toBe(false);
      expect(await stateVersion(channelId)).toBe(versionBefore);

      // Nothing else changed, and the bot answers (or fails) the next message the same way.
      const after = await readAll(player, channelId, token);
      expect(after.slice(0, before.length)).toEqual(before);
      const next = await player.call<{ msg_id: number }>('post_message', {
        channel_id: channelId,
        body: 'after',
        member_token: token,
      });
      const reply = (
        await player.call<SyncResult>('sync_messages', {
          channel_id: channelId,
          cursor: next.msg_id,
          timeout_ms: 0,
          member_token: token,
        })
      ).messages;
      if (k.everyHook)
        expect(errorsOf(reply).map((m) => m.body['error'])).toEqual([
          expect.stringMatching(k.error),
        ]);
      else expect(reply.map((m) => m.body['echo'])).toEqual(['after']);
    });
  });

  describe('many hostile bots at once', () => {
    it('do not stall a well-behaved bot while they all loop', async () => {
      // Six different sources, so six isolates: more than the machine has cores.
      const loopers = await Promise.all(
        [0, 1, 2, 3, 4, 5].map((n) =>
          hostileChannel(misbehavesOnMessage(`for (;;) {} // looper ${n}`)),
        ),
      );
      const startedAt = Date.now();
      const attacks = Promise.all(
        loopers.map(({ channelId, token }) =>
          player
            .call('post_message', { channel_id: channelId, body: 'attack', member_token: token })
            .then(() => Date.now()),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const echo = await pingEcho('while six bots loop');
      const attacksDoneAt = await attacks;
      expect(echo.reply?.id).toBeGreaterThan(echo.userId);
      expect(echo.doneAt).toBeLessThan(Math.min(...attacksDoneAt));
      expect(Math.max(...attacksDoneAt) - startedAt).toBeLessThan(RETURNS_WITHIN_MS);
      for (const { channelId, token } of loopers) {
        const errors = errorsOf(await readAll(player, channelId, token));
        expect(errors.map((m) => m.body['error'])).toEqual([expect.stringMatching(TIME_LIMIT)]);
      }
    });
  });

  describe('one source in two channels', () => {
    it('does not let a breach in one channel fail or delay the other channel’s hooks', async () => {
      // Bot code is public (get_bot_code), so anyone can attach a copy of another channel's bot and
      // drive it into its slow path. The copy must not share fate with the original.
      const code = misbehavesOnMessage('for (;;) {} // shared source');
      const attacker = await hostileChannel(code);
      const victim = await hostileChannel(code);
      const attack = player.call('post_message', {
        channel_id: attacker.channelId,
        body: 'attack',
        member_token: attacker.token,
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const startedAt = Date.now();
      const posted = await player.call<{ msg_id: number }>('post_message', {
        channel_id: victim.channelId,
        body: 'hello',
        member_token: victim.token,
      });
      const victimTook = Date.now() - startedAt;
      await attack;
      const page = await player.call<SyncResult>('sync_messages', {
        channel_id: victim.channelId,
        cursor: posted.msg_id,
        timeout_ms: 0,
        member_token: victim.token,
      });
      expect(page.messages.map((m) => m.body['echo'] ?? m.body['error'])).toEqual(['hello']);
      expect(victimTook).toBeLessThan(HOOK_TIMEOUT_MS / 2);
      const attackerErrors = errorsOf(await readAll(player, attacker.channelId, attacker.token));
      expect(attackerErrors.map((m) => m.body['error'])).toEqual([
        expect.stringMatching(TIME_LIMIT),
      ]);
    });
  });

  describe('bots that break while loading', () => {
    it.each([
      ['has a syntax error', 'export default class Broken { onMessage( { }', /SyntaxError/],
      [
        'imports a Node module',
        "import fs from 'node:fs';\nexport default class Reader {}",
        /imports are not available/,
      ],
      ['exports no class', 'export const notABot = 1;', /default export/],
    ])('lists a bot that %s in bot_errors and attaches nothing', async (_what, code, error) => {
      const startedAt = Date.now();
      const created = await host.call<Created>('create_channel', {
        name: 'broken',
        slots: ['bot:ref', 'invite:p'],
        bot_code: code,
      });
      expect(Date.now() - startedAt).toBeLessThan(RETURNS_WITHIN_MS);
      expect(created.bot_errors).toEqual([expect.stringMatching(/^The bot could not be loaded: /)]);
      expect(created.bot_errors?.[0]).toMatch(error);
      expect(created.bot_errors?.[0]).not.toMatch(/\/work\/|node_modules|\n\s+at /);
      expect(created.invites).toHaveLength(1);

      const joined = await player.call<Joined>('join_channel', { invite_code: created.invites[0] });
      expect(joined.bots).toEqual([]);
      const info = await player.call<Info>('get_channel_info', { channel_id: created.channel_id });
      expect(info.view.slots[0]?.filled_by).toBeNull();
      await player.call('post_message', {
        channel_id: created.channel_id,
        body: 'anyone?',
        member_token: joined.rejoin_token,
      });
      const messages = await readAll(player, created.channel_id, joined.rejoin_token);
      expect(messages.map((m) => [m.sender, m.body['text']])).toEqual([['member:s1', 'anyone?']]);
    });

    // The API never runs bot code to attach it (issue 11, item 4): its manifest is read from the
    // source. A module that misbehaves at its top level attaches, and every hook reports why: module
    // evaluation counts against the hook's limits (DESIGN §6).
    it.each([
      ['loops forever at module top level', 'for (;;) {}', TIME_LIMIT],
      [
        'allocates without bound at module top level',
        'const hoard = []; for (;;) hoard.push(new Array(1e5).fill(1));',
        /memory limit exceeded/,
      ],
      [
        'throws at module top level',
        "throw new Error('top level exploded');",
        /top level exploded/,
      ],
    ])(
      'attaches a bot that %s, and reports it as a bot:error of its hook',
      async (_what, top, error) => {
        const code = `${top}\nexport default class Never { constructor(ctx) { this.ctx = ctx; } onMessage() { this.ctx.post('bot', { ran: true }); } }`;
        const { channelId, token } = await hostileChannel(code);
        const [posted, echo] = await Promise.all([
          player.call<{ msg_id: number }>('post_message', {
            channel_id: channelId,
            body: 'wake',
            member_token: token,
          }),
          pingEcho('while the broken bot runs'),
        ]);
        expect(echo.reply?.id).toBeGreaterThan(echo.userId);
        const page = await player.call<SyncResult>('sync_messages', {
          channel_id: channelId,
          cursor: posted.msg_id,
          timeout_ms: 0,
          member_token: token,
        });
        expect(page.messages.map((m) => m.body)).toEqual([
          expect.objectContaining({
            type: 'bot:error',
            hook: 'message',
            error: expect.stringMatching(error),
          }),
        ]);
        expect(JSON.stringify(page.messages)).not.toMatch(/\/work\/|node_modules|\n\s+at /);
      },
    );
  });

  describe('a bot whose effects the database cannot store', () => {
    it.each([
      ['a post with a NUL character', "this.ctx.post('bot', { text: 'a\\u0000b' });"],
      ['state with a lone surrogate', "this.ctx.setState({ s: 'x\\uD800y' });"],
    ])('reports %s as a bot:error and keeps answering later messages', async (_what, attack) => {
      const { channelId, token } = await hostileChannel(misbehavesOnMessage(attack));
      for (const text of ['attack', 'after', 'and after']) {
        await player.call('post_message', {
          channel_id: channelId,
          body: text,
          member_token: token,
        });
      }
      const fromBot = (await readAll(player, channelId, token)).filter(
        (m) => m.sender === 'bot:bot_CustomBot_0',
      );
      expect(fromBot.map((m) => m.body['echo'] ?? m.body['type'])).toEqual([
        'bot:error',
        'after',
        'and after',
      ]);
      expect(await stateVersion(channelId)).toBe(0);
    });
  });

  describe('a bot that passes for the platform or breaks the member rules (issue 11, item 8)', () => {
    it.each([
      [
        'a bot:attach with a forged code hash',
        "this.ctx.post('control', { type: 'bot:attach', bot_id: 'bot_GuessBot_0', code_hash: 'sha256:' + '0'.repeat(64) });",
        /message type "bot:attach" is reserved for the platform/,
      ],
      [
        'a bot:error in its own name',
        "this.ctx.post('control', { type: 'bot:error', error: 'the other player cheated' });",
        /message type "bot:error" is reserved for the platform/,
      ],
      [
        'a 5,000-character kind with a right-to-left override, past the driver (a tampered RegExp)',
        "RegExp.prototype.test = () => true; this.ctx.post('\u202e' + 'k'.repeat(5000), { text: 'x' });",
        /a message kind must be 1-32 letters, digits or _ \. : -/,
      ],
    ])('refuses %s: only a bot:error is stored', async (_what, attack, error) => {
      const { channelId, token } = await hostileChannel(misbehavesOnMessage(attack));
      await player.call('post_message', {
        channel_id: channelId,
        body: 'attack',
        member_token: token,
      });
      const fromBot = (await readAll(player, channelId, token)).filter(
        (m) => m.sender === 'bot:bot_CustomBot_0',
      );
      expect(fromBot.map((m) => m.body)).toEqual([
        expect.objectContaining({ type: 'bot:error', error: expect.stringMatching(error) }),
      ]);
      expect(fromBot[0]?.kind).toBe('control');
      expect(await stateVersion(channelId)).toBe(0);
    });
  });

  describe('prototype pollution', () => {
    it('stays inside the hook that made it', async () => {
      const code = `export default class Polluter {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(m) {
    this.ctx.post('bot', { saw: ({}).polluted ?? null, sawArray: [].polluted ?? null, sawGlobal: globalThis.leak ?? null });
    Object.prototype.polluted = 'yes';
    Array.prototype.polluted = 'yes';
    globalThis.leak = 'yes';
    JSON.parse = () => ({ hijacked: true });
  }
}`;
      const { channelId, token } = await hostileChannel(code);
      const seen = [];
      for (const text of ['one', 'two']) {
        const posted = await player.call<{ msg_id: number }>('post_message', {
          channel_id: channelId,
          body: text,
          member_token: token,
        });
        const page = await player.call<SyncResult>('sync_messages', {
          channel_id: channelId,
          cursor: posted.msg_id,
          timeout_ms: 0,
          member_token: token,
        });
        seen.push(...page.messages.map((m) => m.body));
      }
      expect(seen).toEqual([
        expect.objectContaining({ saw: null, sawArray: null, sawGlobal: null }),
        expect.objectContaining({ saw: null, sawArray: null, sawGlobal: null }),
      ]);
      const echo = await pingEcho('after pollution');
      expect(echo.reply?.body).toEqual({
        echo: 'after pollution',
        bot_id: 'bot_CustomBot_0',
        state_version: 0,
      });
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect(([] as unknown as Record<string, unknown>)['polluted']).toBeUndefined();
      expect((globalThis as Record<string, unknown>)['leak']).toBeUndefined();
    });
  });

  describe('a well-behaved echo bot', () => {
    it('has its reply stored before post_message returns, with a higher id than the message', async () => {
      const created = await host.call<Created>('create_channel', {
        name: 'echo 2',
        slots: ['bot:echo', 'invite:p'],
        bot_code: ECHO_BOT,
      });
      const joined = await player.call<Joined>('join_channel', { invite_code: created.invites[0] });
      for (const text of ['first', 'second', 'third']) {
        const posted = await player.call<{ msg_id: number }>('post_message', {
          channel_id: created.channel_id,
          body: text,
          member_token: joined.rejoin_token,
        });
        const page = await player.call<SyncResult>('sync_messages', {
          channel_id: created.channel_id,
          cursor: posted.msg_id - 1,
          timeout_ms: 0,
          member_token: joined.rejoin_token,
        });
        expect(page.messages.map((m) => [m.id, m.sender, m.kind, m.body])).toEqual([
          [posted.msg_id, 'member:s1', 'user', { text }],
          [
            expect.any(Number),
            'bot:bot_CustomBot_0',
            'bot',
            { echo: text, bot_id: 'bot_CustomBot_0', state_version: 0 },
          ],
        ]);
        expect(page.messages[1]?.id).toBeGreaterThan(posted.msg_id);
      }
    });
  });
});
