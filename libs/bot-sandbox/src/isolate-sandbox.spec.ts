import { afterAll, describe, expect, it } from '@jest/globals';
import { IsolateSandbox } from './isolate-sandbox.js';
import type { HookRequest } from './hook.types.js';

const sandbox = new IsolateSandbox({ memoryMb: 16, timeoutMs: 300, maxOutputBytes: 64 * 1024 });
afterAll(() => sandbox.dispose());

function request(code: string, overrides: Partial<HookRequest> = {}): HookRequest {
  return {
    isolationKey: 'ten/chn_x/bot_X_0',
    code,
    params: { greeting: 'hi' },
    state: { n: 1 },
    channelId: 'chn_x',
    botId: 'bot_X_0',
    hook: 'message',
    args: [{ id: 4, body: { text: 'ping' } }],
    now: 1_700_000_000_000,
    egress: [],
    ...overrides,
  };
}

describe('IsolateSandbox', () => {
  it('runs a hook with ctx and params and returns its effects', async () => {
    const code = `export default class Echo {
      constructor(ctx, params) { this.ctx = ctx; this.params = params; }
      onMessage(msg) {
        const s = this.ctx.getState();
        this.ctx.post('bot', { echo: msg.body.text, greeting: this.params.greeting, n: s.n, now: this.ctx.now() });
        this.ctx.dm('s1', 'bot', { secret: this.ctx.sha256('a') });
        this.ctx.setState({ n: s.n + 1 });
      }
    }`;
    const { cpuMs, ...outcome } = await sandbox.run(request(code));
    expect(cpuMs).toBeGreaterThan(0);
    expect(outcome).toEqual({
      ok: true,
      effects: {
        posts: [
          {
            kind: 'bot',
            body: { echo: 'ping', greeting: 'hi', n: 1, now: 1_700_000_000_000 },
            to_slot: null,
          },
          {
            kind: 'bot',
            body: { secret: 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb' },
            to_slot: 's1',
          },
        ],
        state: { n: 2 },
        logs: [],
      },
    });
  });

  it('accepts snake_case hooks and a source with a single top-level class', async () => {
    const code = `class Bot { constructor(ctx) { this.ctx = ctx; } on_message() { this.ctx.post('bot', { ok: true }); } }`;
    const outcome = await sandbox.run(request(code));
    expect(outcome.ok && outcome.effects.posts).toEqual([
      { kind: 'bot', body: { ok: true }, to_slot: null },
    ]);
  });

  it('gives uniform integers in range from ctx.random', async () => {
    const code = `export default class R { constructor(ctx) { this.ctx = ctx; }
      onMessage() { const xs = []; for (let i = 0; i < 200; i++) xs.push(this.ctx.random.int(1, 3));
        this.ctx.post('bot', { xs, hex: this.ctx.random.hex(16) }); } }`;
    const outcome = await sandbox.run(request(code));
    if (!outcome.ok) throw new Error(outcome.error);
    const body = outcome.effects.posts[0]?.body as { xs: number[]; hex: string };
    expect(new Set(body.xs)).toEqual(new Set([1, 2, 3]));
    expect(body.hex).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each([
    [
      'an endless loop in a hook',
      'export default class B { onMessage() { for (;;) {} } }',
      /time limit/,
    ],
    [
      'an endless loop in the constructor',
      'export default class B { constructor() { for (;;) {} } }',
      /time limit/,
    ],
    ['an endless loop at module level', 'for (;;) {}\nexport default class B {}', /time limit/],
    [
      'an endless promise chain',
      'export default class B { async onMessage() { for (;;) { await null; } } }',
      /time limit/,
    ],
    [
      'unbounded allocation',
      'export default class B { onMessage() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); } }',
      /memory limit/,
    ],
    [
      'a throwing constructor',
      'export default class B { constructor() { throw new Error("boom"); } }',
      /boom/,
    ],
    [
      'require',
      'export default class B { onMessage() { require("fs"); } }',
      /require is not defined/,
    ],
    [
      'process',
      'export default class B { onMessage() { process.exit(1); } }',
      /process is not defined/,
    ],
    [
      'an import',
      'import fs from "node:fs";\nexport default class B {}',
      /imports are not available/,
    ],
    [
      'a dynamic import',
      'export default class B { async onMessage() { await import("node:fs"); } }',
      /./,
    ],
    [
      'posting megabytes',
      'export default class B { constructor(c) { this.c = c; } onMessage() { for (;;) this.c.post("bot", { x: "y".repeat(1e5) }); } }',
      /output limit/,
    ],
    [
      'a non-object body',
      'export default class B { constructor(c) { this.c = c; } onMessage() { this.c.post("bot", "hi"); } }',
      /plain object/,
    ],
    [
      'fetch without egress',
      'export default class B { constructor(c) { this.c = c; } onMessage() { this.c.fetch("https://x"); } }',
      /egress/,
    ],
  ])('reports %s as a bot error and keeps serving', async (_what, code, reason) => {
    const outcome = await sandbox.run(request(code));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error).toMatch(reason);
    const healthy = await sandbox.run(
      request(
        'export default class Ok { constructor(c) { this.c = c; } onMessage() { this.c.post("bot", {}); } }',
      ),
    );
    expect(healthy.ok).toBe(true);
  });

  it('keeps prototype pollution and globals inside the hook that made them', async () => {
    const polluter = `export default class P { constructor(c) { this.c = c; }
      onMessage() { Object.prototype.polluted = 'yes'; globalThis.leak = 1; this.c.post('bot', {}); } }`;
    expect((await sandbox.run(request(polluter))).ok).toBe(true);
    const reader = `export default class P { constructor(c) { this.c = c; }
      onMessage() { this.c.post('bot', { polluted: ({}).polluted ?? null, leak: globalThis.leak ?? null }); } }`;
    const outcome = await sandbox.run(request(reader));
    expect(outcome.ok && outcome.effects.posts[0]?.body).toEqual({ polluted: null, leak: null });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('gives the same bot a fresh context each hook, the one made ahead included', async () => {
    const code = `export default class P { constructor(c) { this.c = c; }
      onMessage() {
        this.c.post('bot', {
          polluted: ({}).polluted ?? null,
          leak: globalThis.leak ?? null,
          host: typeof globalThis.__mpRandomHex,
        });
        Object.prototype.polluted = 'yes';
        globalThis.leak = 1;
      } }`;
    const key = 'ten/chn_x/bot_Fresh_0';
    for (let hook = 0; hook < 3; hook += 1) {
      const outcome = await sandbox.run(request(code, { isolationKey: key }));
      expect(outcome.ok && outcome.effects.posts[0]?.body).toEqual({
        polluted: null,
        leak: null,
        host: 'undefined',
      });
    }
  });

  it('runs the code it is given when a bot changes code between hooks', async () => {
    const saying = (word: string) =>
      `export default class S { constructor(c) { this.c = c; } onMessage() { this.c.post('bot', { word: '${word}' }); } }`;
    const key = 'ten/chn_x/bot_Changing_0';
    const words: unknown[] = [];
    for (const word of ['one', 'two', 'two', 'one']) {
      const outcome = await sandbox.run(request(saying(word), { isolationKey: key }));
      words.push(outcome.ok && outcome.effects.posts[0]?.body['word']);
    }
    expect(words).toEqual(['one', 'two', 'two', 'one']);
  });

  it('stops a hook that burns past the CPU limit it was given, and only such a hook', async () => {
    const loop = `export default class L { onMessage() { for (;;) {} } }`;
    expect(await sandbox.run(request(loop, { cpuLimitMs: 60 }))).toMatchObject({
      ok: false,
      error: 'CPU limit reached (60 ms)',
    });
    // A hook within its CPU limit is not touched.
    const quick = `export default class Q { constructor(ctx) { this.ctx = ctx; } onMessage() { this.ctx.post('bot', {}); } }`;
    expect(await sandbox.run(request(quick, { cpuLimitMs: 60 }))).toMatchObject({ ok: true });
  });

  it('keeps working when disposed while a context is being made ahead', async () => {
    const own = new IsolateSandbox({ memoryMb: 16, timeoutMs: 300, maxOutputBytes: 1024 });
    const code = `export default class O { constructor(c) { this.c = c; } onMessage() { this.c.post('bot', {}); } }`;
    expect((await own.run(request(code))).ok).toBe(true);
    own.dispose();
    expect((await own.run(request(code))).ok).toBe(true);
    own.dispose();
  });
});
