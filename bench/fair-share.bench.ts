// Issue 11, "How it is checked": a canary tenant's post → reply p50/p99 alone and while another
// tenant's hostile bots burn their hooks (target: p99 under attack within 2× of alone); the API's
// peak RSS during the hostile battery under 1 GiB. One API process, inline bots, PostgreSQL and
// NATS (DESIGN §10). The canary is the default tenant with an echo bot, timed ALONE, then UNDER
// ATTACK, then ALONE again (drift); the attack is a second tenant, made with the admin command,
// whose agents (a child process, hostile-battery.ts) post into channels of CPU-burning bots.
// Levers: the server's BOT_* settings pass through from the shell, e.g.
// `BOT_HOOKS_PER_TENANT=2 npm run bench -- fair-share`; BENCH_HOSTILE_* below shape the attack.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../apps/api/src/config/app.config.js';
import { startNats } from '../test/support/nats-server.mjs';
import { serviceToken } from '../test/support/oauth.js';
import { runAdminCommand } from './support/admin-cli.js';
import { benchAppEnv, natsAppEnv } from './support/app-env.js';
import { openBenchDatabase } from './support/bench-database.js';
import type { BatteryCommand, BatteryEvent, BatteryReport } from './support/hostile-battery.js';
import { RssSampler } from './support/rss-sampler.js';
import { ECHO_BOT, botErrorReasons, post, readChannel, seatIn } from './support/seats.js';
import type { Seat } from './support/seats.js';
import { startServerProcess } from './support/server-process.js';
import type { ServerProcess } from './support/server-process.js';
import { heading, ms, report, sleep, summarize } from './support/stats.js';
import type { LatencySummary } from './support/stats.js';

const WARMUP_POSTS = 100;
const TIMED_POSTS = 1_000;
/**
 * The attack lasts at least this long, however fast the canary posts: past the tenant's CPU burst
 * (a full minute's budget may be spent at once) into the refill that follows it.
 */
const ATTACK_MIN_MS = Number(process.env['BENCH_ATTACK_SECONDS'] ?? 45) * 1_000;
/** ...and at most this long: a server without fair share may answer the canary very slowly. */
const ATTACK_MAX_MS = 120_000;
/** The attack's canary posts are also summarised per window of this length. */
const WINDOW_MS = 15_000;
/** The API's CPU during the attack is printed per interval of this length. */
const TIMELINE_MS = 3_000;
const HOSTILE_AGENTS_PER_CHANNEL = Number(process.env['BENCH_HOSTILE_AGENTS'] ?? 2);
/**
 * Each hostile agent posts at most this often: by default the server's per-member message rate
 * (MESSAGE_RATE_PER_MINUTE, 120 a minute), which benchAppEnv lifts only so that the canary can post
 * back to back. 0 makes every hostile agent a closed loop: a message flood on top of the burning.
 */
const HOSTILE_POSTS_PER_SECOND = Number(process.env['BENCH_HOSTILE_POSTS_PER_SECOND'] ?? 2);
/** BENCH_HOSTILE_BOTS=harmless: the same hostile traffic into bots that do nothing (a control). */
const HARMLESS = process.env['BENCH_HOSTILE_BOTS'] === 'harmless';
/** BENCH_HOSTILE_ONLY=sha256: only the hostile bots whose names contain this, one attack at a time. */
const ONLY = process.env['BENCH_HOSTILE_ONLY'] ?? '';
const HOSTILE_TENANT = 'ten_hostile';
const P99_RATIO_TARGET = 2;
const RSS_TARGET_MB = 1024;

/** A timed post: when it started (ms since the phase began) and how long it took. */
interface Sample {
  readonly at: number;
  readonly ms: number;
}

/**
 * Posts in a closed loop until `posts` are timed and `minMs` has passed, or `maxMs` has; each post
 * waits for the echo.
 */
async function canaryPosts(
  seat: Seat,
  label: string,
  posts: number,
  minMs = 0,
  maxMs = Infinity,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  const begin = performance.now();
  for (;;) {
    const elapsed = performance.now() - begin;
    if ((samples.length >= posts && elapsed >= minMs) || elapsed >= maxMs) break;
    const start = performance.now();
    await post(seat, `${label} ${samples.length}`);
    samples.push({ at: start - begin, ms: performance.now() - start });
  }
  return samples;
}

/** The canary bot's failures over the whole run (`bot:error` messages) and its replies. */
async function canaryOutcomes(
  seat: Seat,
): Promise<{ replies: number; errors: Map<string, number> }> {
  const messages = await readChannel(seat);
  const replies = messages.filter((m) => m.sender.startsWith('bot:') && 'echo' in m.body).length;
  return { replies, errors: botErrorReasons(messages) };
}

/** The hostile tenant and a client-credentials client of it, made with the admin command. */
async function hostileToken(databaseUrl: string, url: string): Promise<string> {
  await runAdminCommand(databaseUrl, ['tenant', 'create', HOSTILE_TENANT, 'Hostile bench tenant']);
  const client = await runAdminCommand(databaseUrl, ['client', 'create', HOSTILE_TENANT, 'bench']);
  return serviceToken(url, client);
}

/** The hostile agents' process, and a way to wait for its next event of a kind. */
class Battery {
  private readonly child: ChildProcess;
  private readonly events: BatteryEvent[] = [];
  private wake: (() => void) | null = null;

  constructor() {
    this.child = fork(new URL('./support/hostile-battery.js', import.meta.url), [], {
      execArgv: ['--enable-source-maps'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (event: BatteryEvent) => {
      this.events.push(event);
      this.wake?.();
    });
    this.child.once('exit', (code) => {
      if (code !== 0) {
        console.error(`bench: the hostile battery exited with code ${code}`);
        process.exit(1);
      }
    });
  }

  send(command: BatteryCommand): void {
    this.child.send(command);
  }

  async next<K extends 'ready' | 'stopped' | 'report'>(
    kind: K,
  ): Promise<Extract<BatteryEvent, Record<K, unknown>>> {
    for (;;) {
      const index = this.events.findIndex((event) => kind in event);
      if (index >= 0)
        return this.events.splice(index, 1)[0] as Extract<BatteryEvent, Record<K, unknown>>;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** Busy and stolen CPU of the whole machine since boot, in seconds of one core (Linux /proc/stat). */
function machineCpu(): { busy: number; steal: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return { busy: (user + nice + system + irq + softirq) / 100, steal: steal / 100 };
}

/** CPU use over one phase: the server's and the whole machine's, in cores. */
function cpuMeter(server: ServerProcess): () => string {
  const start = performance.now();
  const serverStart = server.cpuSeconds();
  const machineStart = machineCpu();
  return () => {
    const seconds = (performance.now() - start) / 1000;
    const machine = machineCpu();
    const cores = (value: number) => (value / seconds).toFixed(2);
    return `CPU in cores: API ${cores(server.cpuSeconds() - serverStart)}, whole machine ${cores(machine.busy - machineStart.busy)} (stolen ${cores(machine.steal - machineStart.steal)})`;
  };
}

/** The server's CPU use in cores over each `everyMs` from now until the returned function is called. */
function cpuTimeline(server: ServerProcess, everyMs: number): () => string {
  const cores: number[] = [];
  let last = server.cpuSeconds();
  const timer = setInterval(() => {
    const now = server.cpuSeconds();
    cores.push((now - last) / (everyMs / 1000));
    last = now;
  }, everyMs);
  return () => {
    clearInterval(timer);
    return cores.map((value) => value.toFixed(1)).join(' ');
  };
}

/** Waits until the server's CPU use stays below 15% for two seconds (at most `maxMs`); ms waited. */
async function quiet(server: ServerProcess, maxMs: number): Promise<number> {
  const start = performance.now();
  let calm = 0;
  while (calm < 2 && performance.now() - start < maxMs) {
    const before = server.cpuSeconds();
    await sleep(1_000);
    calm = server.cpuSeconds() - before < 0.15 ? calm + 1 : 0;
  }
  return performance.now() - start;
}

function latencyLine(summary: LatencySummary): string {
  return `p50 ${ms(summary.p50)}  p99 ${ms(summary.p99)}  mean ${ms(summary.mean)}  (n ${summary.count})`;
}

/** The settings' environment variables (README, "Configuration"), to print what the server ran with. */
const FAIR_SHARE_VARIABLES: Record<string, string> = {
  tenantCpuMsPerMinute: 'BOT_TENANT_HOOK_CPU_MS_PER_MINUTE',
  heavyHookMs: 'BOT_HEAVY_HOOK_MS',
  heavyPerTenant: 'BOT_HEAVY_HOOKS_PER_TENANT',
  heavyPerProcess: 'BOT_HEAVY_HOOKS_PER_PROCESS',
  perTenant: 'BOT_HOOKS_PER_TENANT',
  perProcess: 'BOT_HOOKS_PER_PROCESS',
  newPerTenant: 'BOT_NEW_HOOKS_PER_TENANT',
  tenantCpuBurstMs: 'BOT_TENANT_HOOK_CPU_BURST_MS',
};

const mb = (value: number) => `${Math.round(value)} MiB`;
const verdict = (met: boolean) => (met ? 'met' : 'NOT MET');

heading("fair share: a canary tenant's post → reply while another tenant's bots burn their hooks");
const database = await openBenchDatabase();
const nats = await startNats();
const env = { ...benchAppEnv(database.url), ...natsAppEnv(nats) };
// The settings the server reads from the same environment (BOT_* from the shell pass through).
const configDir = mkdtempSync(join(tmpdir(), 'mp-bench-config-'));
const config = loadConfig({ ...process.env, ...env, DATA_DIR: configDir });
rmSync(configDir, { recursive: true, force: true });
// Builds before the hook scheduler (measured for comparison) have no such settings.
const fairShare: Record<string, number> | undefined =
  'botFairShare' in config ? { ...config.botFairShare } : undefined;
report('launcher', `${config.botLauncher}; ${availableParallelism()} cores`);
report(
  'bot limits',
  `BOT_HOOK_TIMEOUT_MS ${config.botHookTimeoutMs}, BOT_MEMORY_MB ${config.botMemoryMb}, BOT_SETTLE_TIMEOUT_MS ${config.botSettleTimeoutMs}`,
);
report(
  'fair share',
  fairShare
    ? Object.entries(fairShare)
        .map(([key, value]) => `${FAIR_SHARE_VARIABLES[key] ?? key} ${value}`)
        .join(', ')
    : 'none: this build has no hook scheduler (hostile hooks run unbounded)',
);
const server = await startServerProcess('app-server', env);
const rss = new RssSampler(server.pid);
let battery: Battery | null = null;
try {
  const canary = await seatIn(server.url, ['bot:echo', 'invite:a'], ECHO_BOT, 'canary');
  const token = await hostileToken(database.url, server.url);
  battery = new Battery();
  battery.send({
    setup: {
      url: server.url,
      token,
      hookTimeoutMs: config.botHookTimeoutMs,
      agentsPerChannel: HOSTILE_AGENTS_PER_CHANNEL,
      postsPerSecond: HOSTILE_POSTS_PER_SECOND,
      harmless: HARMLESS,
      only: ONLY,
    },
  });
  const { ready } = await battery.next('ready');
  report(
    'hostile battery',
    `${ready} channels of tenant ${HOSTILE_TENANT}, ${HOSTILE_AGENTS_PER_CHANNEL} agents in each (client credentials), each posting ${HOSTILE_POSTS_PER_SECOND > 0 ? `at most ${HOSTILE_POSTS_PER_SECOND}/s` : 'in a closed loop'}${HARMLESS ? '; CONTROL: the bots do nothing' : ''}${ONLY ? `; only bots named *${ONLY}*` : ''}`,
  );

  await canaryPosts(canary, 'warm-up', WARMUP_POSTS);
  rss.phase('alone');
  const aloneCpu = cpuMeter(server);
  const alone = summarize((await canaryPosts(canary, 'alone', TIMED_POSTS)).map((s) => s.ms));
  const aloneCpuUse = aloneCpu();

  rss.phase('battery');
  battery.send('start');
  const attackCpu = cpuMeter(server);
  const attackBegin = performance.now();
  const timeline = cpuTimeline(server, TIMELINE_MS);
  const attackSamples = await canaryPosts(
    canary,
    'attacked',
    TIMED_POSTS,
    ATTACK_MIN_MS,
    ATTACK_MAX_MS,
  );
  const attackSeconds = (performance.now() - attackBegin) / 1000;
  const attackCpuUse = attackCpu();
  const attackTimeline = timeline();
  battery.send('stop');
  await battery.next('stopped');
  const drainMs = await quiet(server, 60_000);
  rss.phase('after');
  const attacked = summarize(attackSamples.map((s) => s.ms));

  const againCpu = cpuMeter(server);
  const again = summarize((await canaryPosts(canary, 'alone again', TIMED_POSTS)).map((s) => s.ms));
  const againCpuUse = againCpu();

  battery.send('report');
  const { report: hostile } = await battery.next('report');
  const outcomes = await canaryOutcomes(canary);
  await canary.agent.close();

  console.log(
    '\ncanary (default tenant, echo bot; post_message returns once the reply is committed)',
  );
  report('  ALONE', latencyLine(alone));
  report('', aloneCpuUse);
  report('  UNDER ATTACK', `${latencyLine(attacked)} over ${attackSeconds.toFixed(0)} s`);
  report('', attackCpuUse);
  report(`    API cores per ${TIMELINE_MS / 1000} s`, attackTimeline);
  for (let from = 0; from < attackSeconds * 1000; from += WINDOW_MS) {
    const window = attackSamples.filter((s) => s.at >= from && s.at < from + WINDOW_MS);
    if (window.length === 0) continue;
    report(
      `    ${from / 1000}–${(from + WINDOW_MS) / 1000} s`,
      latencyLine(summarize(window.map((s) => s.ms))),
    );
  }
  report(
    '  ALONE AGAIN',
    `${latencyLine(again)} (after ${(drainMs / 1000).toFixed(0)} s for the server to go quiet)`,
  );
  report('', againCpuUse);
  const p99Ratio = attacked.p99 / alone.p99;
  report(
    '  p99 under attack / alone',
    `${p99Ratio.toFixed(2)} (target ≤ ${P99_RATIO_TARGET}: ${verdict(p99Ratio <= P99_RATIO_TARGET)}); against alone again ${(attacked.p99 / again.p99).toFixed(2)}`,
  );
  report(
    '  p50 under attack / alone',
    `${(attacked.p50 / alone.p50).toFixed(2)}; against alone again ${(attacked.p50 / again.p50).toFixed(2)}`,
  );
  const canaryPostCount = WARMUP_POSTS + TIMED_POSTS * 2 + attackSamples.length;
  report('  echo replies stored', `${outcomes.replies} of ${canaryPostCount} posts`);
  for (const [reason, count] of outcomes.errors)
    report('  canary bot:error', `${count}× "${reason}"`);

  printHostile(hostile);

  const base = rss.get('alone');
  const during = rss.get('battery');
  console.log('\nAPI process tree RSS (sampled every 100 ms)');
  report('  before the battery (alone)', `peak ${mb(base.peakMb)}, mean ${mb(base.meanMb)}`);
  report(
    '  during the battery (till quiet)',
    `peak ${mb(during.peakMb)} (target < ${RSS_TARGET_MB} MiB: ${verdict(during.peakMb < RSS_TARGET_MB)}), mean ${mb(during.meanMb)}`,
  );
  report('  after (alone again)', `peak ${mb(rss.get('after').peakMb)}`);
} finally {
  rss.stop();
  await server.stop();
  nats.stop();
  await database.drop();
}

function printHostile(hostile: BatteryReport): void {
  console.log(
    `\nhostile tenant (${HOSTILE_TENANT}): what its agents and bots saw; its clients used ${hostile.clientCpuSeconds.toFixed(1)} CPU s`,
  );
  const totals = new Map<string, number>();
  for (const channel of hostile.channels) {
    report(
      `  ${channel.bot}`,
      `${channel.posts} posts, post p50 ${ms(channel.postP50Ms)} p99 ${ms(channel.postP99Ms)}`,
    );
    for (const [code, count] of Object.entries(channel.postErrors))
      report('    failed posts', `${count}× ${code}`);
    for (const [reason, count] of Object.entries(channel.hookErrors)) {
      report('    bot:error', `${count}× ${reason}`);
      const kind = reason
        .replace(/^\w*Error: /, '')
        .replace(/[(:].*$/, '')
        .trim();
      totals.set(kind, (totals.get(kind) ?? 0) + count);
    }
  }
  for (const [kind, count] of totals) report('  all hostile bot:errors', `${count}× ${kind}`);
}
