import { afterAll, describe, expect, it } from '@jest/globals';
import { IsolateSandbox } from './isolate-sandbox.js';

const sandbox = new IsolateSandbox({ memoryMb: 16, timeoutMs: 2000, maxOutputBytes: 64 * 1024 });
afterAll(() => sandbox.dispose());

describe('IsolateSandbox on a warm isolate', () => {
  it('runs thousands of hooks without the heap growing to its limit', async () => {
    const code = `export default class Echo {
      constructor(ctx) { this.ctx = ctx; }
      onMessage(msg) { this.ctx.post('bot', { echo: msg.text, pad: 'x'.repeat(1000) }); this.ctx.setState({ n: 1 }); }
    }`;
    const failures: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const outcome = await sandbox.run({
        isolationKey: 'ten/chn/bot',
        code,
        params: {},
        state: {},
        channelId: 'chn',
        botId: 'bot',
        hook: 'message',
        args: [{ text: `m${i}` }],
        now: 0,
        egress: [],
      });
      if (!outcome.ok) failures.push(outcome.error);
    }
    // 1,500 hooks at the old leak (~160 KB each) would need ~240 MB: far past the 16 MiB limit.
    expect(failures).toEqual([]);
  }, 60_000);
});
