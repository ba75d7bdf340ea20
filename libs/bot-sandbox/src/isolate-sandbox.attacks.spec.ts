import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { EgressFetcher } from './egress.js';
import { HOST_WORK_LIMITS } from './host-work.js';
import { IsolateSandbox } from './isolate-sandbox.js';
import type { HookOutcome, HookRequest } from './hook.types.js';

/**
 * The hostile bots of issue 11 against the sandbox itself: each reached past the isolate's
 * limits into the host (its internals, its thread, its memory) before this was fixed.
 */

const workspaces = mkdtempSync(join(tmpdir(), 'mp-attack-ws-'));
const sandbox = new IsolateSandbox(
  { memoryMb: 64, timeoutMs: 2_000, maxOutputBytes: 64 * 1024, workspaceBytes: 64 * 1024 },
  8,
  new EgressFetcher({ timeoutMs: 500, maxResponseBytes: 1024, allowLoopback: false }),
);
afterAll(() => {
  sandbox.dispose();
  rmSync(workspaces, { recursive: true, force: true });
});

function request(code: string, overrides: Partial<HookRequest> = {}): HookRequest {
  return {
    isolationKey: 'ten/chn_attack/bot_X_0',
    code,
    params: {},
    state: {},
    channelId: 'chn_attack',
    botId: 'bot_X_0',
    hook: 'message',
    args: [{ id: 4, body: { text: 'attack' } }],
    now: 1_700_000_000_000,
    egress: ['api.example.com'],
    workspace: join(workspaces, 'bot'),
    ...overrides,
  };
}

/** A bot whose onMessage runs `attack`, then posts what it found. */
const onMessage = (attack: string, header = '') => `${header}
export default class Hostile {
  constructor(ctx) { this.ctx = ctx; }
  async onMessage() { ${attack} }
}`;

function failure(outcome: HookOutcome): string {
  if (outcome.ok) throw new Error(`the hook succeeded: ${JSON.stringify(outcome.effects)}`);
  return outcome.error;
}

describe('IsolateSandbox under attack (issue 11)', () => {
  it.each([
    ["import { fetchHost } from 'mp:prelude';", 'mp:prelude'],
    ["import * as driver from 'bot:main';", 'bot:main'],
    ["import fs from 'node:fs';", 'node:fs'],
  ])('refuses every import of a bot module: %s', async (header, specifier) => {
    const outcome = await sandbox.run(request(onMessage('this.ctx.post("bot", {});', header)));
    expect(failure(outcome)).toBe(`imports are not available to bots (tried "${specifier}")`);
  });

  it('keeps the host callbacks away from bot code, so none can be misused', async () => {
    // The attack that killed the API: a host promise left rejecting unobserved.
    const code = onMessage(
      "fetchHost.applyIgnored(undefined, ['not json'], { result: { promise: true } });",
      "import { fetchHost } from 'mp:prelude';",
    );
    expect(failure(await sandbox.run(request(code)))).toMatch(/imports are not available/);
  });

  it('has no WebAssembly, whose memory lies outside the isolate limit', async () => {
    const code = onMessage(
      'const m = new WebAssembly.Memory({ initial: 16384 }); this.ctx.post("bot", { pages: m.buffer.byteLength });',
    );
    expect(failure(await sandbox.run(request(code)))).toBe(
      'ReferenceError: WebAssembly is not defined',
    );
  });

  it('bounds one ctx.sha256 call', async () => {
    const code = onMessage(`this.ctx.sha256('x'.repeat(${HOST_WORK_LIMITS.hashChars + 1}));`);
    expect(failure(await sandbox.run(request(code)))).toBe(
      `RangeError: ctx.sha256(text) hashes at most ${HOST_WORK_LIMITS.hashChars} characters at once`,
    );
  });

  it('bounds the hashing of a whole hook, even when the bot catches the error', async () => {
    const code = onMessage(`
      const text = 'x'.repeat(${HOST_WORK_LIMITS.hashChars});
      let hashed = 0;
      try { for (;;) { this.ctx.sha256(text); hashed++; } } catch {}
      this.ctx.post('bot', { hashed });`);
    expect(failure(await sandbox.run(request(code)))).toMatch(/^host work limit exceeded/);
  });

  it('bounds a loop of tiny host calls', async () => {
    const code = onMessage(`
      let calls = 0;
      try { for (;;) { this.ctx.random.hex(1); calls++; } } catch {}
      this.ctx.post('bot', { calls });`);
    expect(failure(await sandbox.run(request(code)))).toMatch(/^host work limit exceeded/);
  });

  it('bounds workspace I/O in a loop', async () => {
    const code = onMessage(`
      this.ctx.workspace.write('a', 'y'.repeat(60000));
      try { for (;;) this.ctx.workspace.read('a'); } catch {}`);
    expect(failure(await sandbox.run(request(code)))).toMatch(/^host work limit exceeded/);
  });

  it('bounds the fetches of one hook', async () => {
    const code = onMessage(`
      const tries = [];
      for (let i = 0; i < ${HOST_WORK_LIMITS.fetches + 4}; i++) {
        tries.push(this.ctx.fetch('https://api.example.com/').catch((e) => e.message));
      }
      this.ctx.post('bot', { answers: await Promise.all(tries) });`);
    expect(failure(await sandbox.run(request(code)))).toMatch(/^host work limit exceeded/);
  });

  it('hands bots host errors with no host stack', async () => {
    const code = onMessage(`
      const stacks = [];
      try { this.ctx.sha256('x'.repeat(${HOST_WORK_LIMITS.hashChars + 1})); } catch (e) { stacks.push(String(e.stack)); }
      try { await this.ctx.fetch('http://127.0.0.1/'); } catch (e) { stacks.push(String(e.stack)); }
      try { await this.ctx.fetch({ toString() { throw new Error('no'); } }); } catch (e) { stacks.push(String(e.stack)); }
      this.ctx.post('bot', { stacks });`);
    const outcome = await sandbox.run(request(code));
    expect(outcome.ok).toBe(true);
    const stacks = outcome.ok ? (outcome.effects.posts[0]?.body['stacks'] as string[]) : [];
    expect(stacks).toHaveLength(3);
    for (const stack of stacks) {
      // Frames of the sandbox's own modules (driver.js, bot.js) may show; nothing of the host.
      expect(stack).not.toContain(process.cwd());
      expect(stack).not.toMatch(/node_modules|node:internal|file:|\.ts:\d/);
    }
  });

  it('still serves an honest bot after every attack', async () => {
    const code = onMessage(
      "this.ctx.post('bot', { hash: this.ctx.sha256('a'), roll: this.ctx.random.int(1, 6) });",
    );
    const outcome = await sandbox.run(request(code));
    expect(outcome.ok && outcome.effects.posts[0]?.body['hash']).toBe(
      'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb',
    );
  });
});
