// DESIGN §10: isolate hook overhead ≤ 2 ms. The same bot hook run through IsolateSandbox.run and
// called directly in Node; the overhead is the difference at each percentile.
import { IsolateSandbox } from '#bot-sandbox';
import type { HookRequest } from '#bot-sandbox';
import { heading, ms, report, summarize } from './support/stats.js';

const WARMUP_RUNS = 200;
const TIMED_RUNS = 2_000;
const TARGET_MS = 2;
/** Idle time between paced hooks: a channel's hooks come a post apart, not back to back. */
const PACE_MS = 3;

const ECHO_BOT = `export default class Echo {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(m) { this.ctx.post('bot', { echo: m.body.text }); }
}`;

/** The message a member's post hands to onMessage, shaped as BotService builds it. */
const MESSAGE = {
  id: 7,
  channel_id: 'chn_bench',
  sender: 'member:s1',
  kind: 'user',
  body: { text: 'hello' },
  ts: new Date(0).toISOString(),
  to_slot: null,
  from: { slot_id: 's1', label: 'alice' },
};

const LIMITS = { memoryMb: 64, timeoutMs: 5_000, maxOutputBytes: 256 * 1024 };

function request(): HookRequest {
  return {
    isolationKey: 'ten_default/chn_bench/bot_Echo_0',
    code: ECHO_BOT,
    params: {},
    state: {},
    channelId: 'chn_bench',
    botId: 'bot_Echo_0',
    hook: 'message',
    args: [MESSAGE],
    now: Date.now(),
    egress: [],
  };
}

/** Hooks that failed inside the sandbox: counted and reported, since they are a finding too. */
const failures = new Map<string, number>();

/**
 * One timed run. A run the sandbox fails (e.g. a limit breach) still counts in the latencies:
 * its cost, and the cold isolate the next run gets, is what a channel would see.
 */
async function timeSandbox(sandbox: IsolateSandbox): Promise<number> {
  const start = performance.now();
  const outcome = await sandbox.run(request());
  const elapsed = performance.now() - start;
  if (!outcome.ok) failures.set(outcome.error, (failures.get(outcome.error) ?? 0) + 1);
  else if (outcome.effects.posts[0]?.body['echo'] !== 'hello') {
    throw new Error(`the sandboxed hook did not echo: ${JSON.stringify(outcome)}`);
  }
  return elapsed;
}

/** The bot class loaded as an ordinary Node module, with a ctx that only collects posts. */
async function directCall(): Promise<() => number> {
  const module = (await import(`data:text/javascript,${encodeURIComponent(ECHO_BOT)}`)) as {
    default: new (ctx: unknown, params: unknown) => { onMessage(message: unknown): void };
  };
  const Echo = module.default;
  return () => {
    const posts: unknown[] = [];
    const start = performance.now();
    new Echo({ post: (kind: string, body: unknown) => posts.push({ kind, body }) }, {}).onMessage(
      MESSAGE,
    );
    const elapsed = performance.now() - start;
    if (posts.length !== 1) throw new Error('the direct call did not post');
    return elapsed;
  };
}

heading('Bot hook in an isolate (IsolateSandbox.run) vs the same call in Node');
const cold = new IsolateSandbox(LIMITS);
const coldMs = await timeSandbox(cold);
cold.dispose();

const sandbox = new IsolateSandbox(LIMITS);
const direct = await directCall();
for (let i = 0; i < WARMUP_RUNS; i += 1) {
  await timeSandbox(sandbox);
  direct();
}
failures.clear();
const inIsolate: number[] = [];
const inNode: number[] = [];
for (let i = 0; i < TIMED_RUNS; i += 1) {
  inIsolate.push(await timeSandbox(sandbox));
  inNode.push(direct());
}
// With room between hooks, each finds its context already made (IsolateSandbox makes the next
// one when a hook ends); back to back, each waits for it.
const paced: number[] = [];
for (let i = 0; i < TIMED_RUNS / 4; i += 1) {
  await new Promise((resolve) => setTimeout(resolve, PACE_MS));
  paced.push(await timeSandbox(sandbox));
}
sandbox.dispose();

const isolated = summarize(inIsolate);
const native = summarize(inNode);
report(
  'IsolateSandbox.run, warm isolate',
  `p50 ${ms(isolated.p50)}  p99 ${ms(isolated.p99)}  mean ${ms(isolated.mean)}  (n ${isolated.count})`,
);
const spaced = summarize(paced);
report(
  `  the same, ${PACE_MS} ms between hooks`,
  `p50 ${ms(spaced.p50)}  p99 ${ms(spaced.p99)}  (n ${spaced.count})`,
);
report('direct call in Node', `p50 ${ms(native.p50)}  p99 ${ms(native.p99)}`);
report(
  'hook overhead',
  `p50 ${ms(isolated.p50 - native.p50)}  p99 ${ms(isolated.p99 - native.p99)}  (target ≤ ${TARGET_MS} ms)`,
);
report('  first run of new code (cold isolate)', ms(coldMs));
for (const [error, count] of failures) {
  report('  FAILED hooks (a sandbox bug)', `${count} of ${TIMED_RUNS}: "${error}"`);
}
