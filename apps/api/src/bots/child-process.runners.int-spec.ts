import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BotId, ChannelId, TenantId } from '#core';
import type { NatsRunnerHub } from '#events';
import type { BotAddress } from '#events';
import {
  QUIET_RUNNER_API,
  connectTestRunnerHub,
  startRunnerProcess,
  testNats,
} from '#test-support';
import { POISON_STRIKES, RunnerFleet } from '#bots';
import type { RunnerFleetOptions, RunnerOwnership } from '#bots';
import { ChildProcessRunners } from './child-process.runners.js';
import type { RunnerCommand } from './child-process.runners.js';
import { RUNNER_ENTRY } from './runner-command.js';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

function address(name: string): BotAddress {
  return {
    tenantId: 'ten_launcher' as TenantId,
    channelId: `chn_${name}` as ChannelId,
    botId: `bot_${name}` as BotId,
  };
}

async function waitFor(predicate: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Reads the credentials (up to the NUL the launcher ends them with), then runs `then`. */
const afterCredentials = (then: string) =>
  `process.stdin.on('data', (chunk) => { if (chunk.includes(0)) { process.stdin.removeAllListeners('data'); ${then} } });`;

/** A runner that reports holding event `seq` (as apps/bot-runner does) and then `then`. */
const holding = (seq: number, then: string) =>
  afterCredentials(`console.log(JSON.stringify({ event: 'holding', seq: ${seq} })); ${then}`);

/** What the launcher was asked to quarantine. */
interface Quarantined {
  address: BotAddress;
  reason: string;
}

/** The launcher's own failure handling, with commands that fail on purpose instead of runners. */
describe('RunnerFleet with child processes', () => {
  let hub: NatsRunnerHub;
  let servers: string;

  beforeAll(async () => {
    servers = testNats().servers;
    hub = await connectTestRunnerHub();
  });

  afterAll(async () => {
    await hub?.close();
  });

  function launcher(
    command: () => RunnerCommand,
    options: Partial<RunnerFleetOptions> = {},
  ): RunnerFleet {
    const processes = new ChildProcessRunners({
      command: () => Promise.resolve(command()),
      logger: options.logger ?? quiet,
    });
    return new RunnerFleet(hub, processes, {
      perTenant: 5,
      credentialsTtlSeconds: 60,
      nudge: () => undefined,
      stallMs: 60_000,
      quarantine: () => Promise.resolve(true),
      logger: quiet,
      ...options,
    });
  }

  const node = (code: string): RunnerCommand => ({
    command: process.execPath,
    args: ['-e', code],
    env: {},
    cleanup: () => Promise.resolve(),
  });

  it('restarts a crashing runner with growing delays, and stops when the bot is retired', async () => {
    const starts: number[] = [];
    const quarantined: Quarantined[] = [];
    const runners = launcher(
      () => {
        starts.push(Date.now());
        return node('process.exit(1)');
      },
      {
        quarantine: (address, reason) => (
          quarantined.push({ address, reason }),
          Promise.resolve(true)
        ),
      },
    );
    const bot = address('crashing');
    await runners.ensure(bot);
    await waitFor(() => starts.length >= 3, 5_000);
    const [first = 0, second = 0, third = 0] = starts;
    expect(second - first).toBeGreaterThanOrEqual(250);
    expect(third - second).toBeGreaterThanOrEqual(500);
    await runners.retire(bot);
    const retiredAt = starts.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(starts.length).toBe(retiredAt);
    // It crashed holding no event: no event is to blame.
    expect(quarantined).toEqual([]);
    await runners.close();
  });

  it('survives a runner that cannot start at all, and tries again later', async () => {
    let attempts = 0;
    const runners = launcher(() => {
      attempts += 1;
      return { ...node(''), command: '/nonexistent/runner' };
    });
    await runners.ensure(address('missing'));
    await waitFor(() => attempts >= 2, 5_000);
    expect(runners.count()).toBe(0);
    await runners.close();
  });

  it('skips the next event with a bot:error after three runners in a row never ran, and stops trying when none is left', async () => {
    let attempts = 0;
    const quarantined: Quarantined[] = [];
    let pending = 1;
    const runners = launcher(
      () => {
        attempts += 1;
        return { ...node(''), command: '/nonexistent/runner' };
      },
      {
        quarantine: (address, reason) => {
          quarantined.push({ address, reason });
          pending -= 1;
          return Promise.resolve(pending >= 0);
        },
      },
    );
    const bot = address('unstartable');
    await runners.ensure(bot);
    await waitFor(() => quarantined.length >= 2, 10_000);
    expect(quarantined[0]?.reason).toMatch(
      /^the bot's runner could not start \(code null\) 3 times in a row; this event was skipped$/,
    );
    expect(quarantined[0]?.address).toEqual(bot);
    // The second skip found nothing pending: no more starts until the bot is needed again.
    const after = attempts;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(attempts).toBe(after);
    expect(attempts).toBe(6);
    await runners.close();
  });

  it('runs one runner per bot across replicas that share claims, and the other takes over when it ends', async () => {
    // Two replicas' fleets, with claims kept where both see them (a Lease per bot in a cluster).
    const holders = new Map<string, string>();
    const ownership = (me: string): RunnerOwnership => ({
      claim: (bot) => {
        const key = `${bot.channelId}/${bot.botId}`;
        const holder = holders.get(key) ?? me;
        holders.set(key, holder);
        return Promise.resolve(
          holder === me ? { ok: true } : { ok: false, retryAt: Date.now() + 300 },
        );
      },
      release: (bot) => {
        const key = `${bot.channelId}/${bot.botId}`;
        if (holders.get(key) === me) holders.delete(key);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    });
    const stayUp = () => node(afterCredentials('setInterval(() => undefined, 1000)'));
    const first = launcher(stayUp, { ownership: ownership('api-a') });
    const second = launcher(stayUp, { ownership: ownership('api-b') });
    const bot = address('shared');
    await first.ensure(bot);
    await second.ensure(bot);
    expect(first.runnerOf(bot)).not.toBeNull();
    expect(second.runnerOf(bot)).toBeNull();
    // The first replica stops (a rollout): its claim goes, and the second runs the bot.
    await first.close();
    await waitFor(() => second.runnerOf(bot) !== null, 5_000);
    expect(holders.get('chn_shared/bot_shared')).toBe('api-b');
    await second.close();
  });

  it('does not restart a runner that stopped on its own (idle) until it is needed again', async () => {
    let starts = 0;
    const runners = launcher(() => {
      starts += 1;
      return node(afterCredentials('process.exit(0)'));
    });
    const bot = address('idle');
    await runners.ensure(bot);
    await waitFor(() => runners.count() === 0, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(starts).toBe(1);
    await runners.ensure(bot);
    expect(starts).toBe(2);
    await runners.close();
  });

  it('skips an event that crashed its runner three times in a row, with a bot:error saying so', async () => {
    let starts = 0;
    const quarantined: Quarantined[] = [];
    const runners = launcher(
      () => {
        starts += 1;
        // A poison event: the runner dies in its hook each time it takes event 7.
        return node(holding(7, 'process.exit(1)'));
      },
      {
        quarantine: (address, reason) => {
          quarantined.push({ address, reason });
          return Promise.resolve(true);
        },
      },
    );
    const bot = address('poison');
    await runners.ensure(bot);
    await waitFor(() => quarantined.length === 1, 10_000);
    expect(POISON_STRIKES).toBe(3);
    expect(starts).toBe(3);
    expect(quarantined).toEqual([
      {
        address: bot,
        reason: "this event crashed the bot's runner 3 times in a row; it was skipped",
      },
    ]);
    // The next runner starts at once, to read the bot past the skipped event.
    await waitFor(() => starts === 4, 5_000);
    await runners.retire(bot);
    await runners.close();
  });

  it('counts crashes only while the bot makes no progress', async () => {
    let starts = 0;
    const quarantined: Quarantined[] = [];
    const bot = address('progressing');
    let runners: RunnerFleet | null = null;
    runners = launcher(
      () => {
        starts += 1;
        // The bot moves on between some of the crashes (the API committed one of its events).
        if (starts % 2 === 0) runners?.progressed(bot);
        return node(holding(3, 'setTimeout(() => process.exit(1), 100)'));
      },
      {
        quarantine: (address, reason) => {
          quarantined.push({ address, reason });
          return Promise.resolve(true);
        },
      },
    );
    await runners.ensure(bot);
    await waitFor(() => starts >= 5, 15_000);
    expect(quarantined).toEqual([]);
    await runners.retire(bot);
    await runners.close();
  });

  it('kills a runner that holds an event too long, and skips the event after three stalls', async () => {
    let starts = 0;
    const quarantined: Quarantined[] = [];
    const runners = launcher(
      () => {
        starts += 1;
        // Takes event 12 into a hook that never ends, and ignores SIGTERM.
        return node(holding(12, "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);"));
      },
      {
        stallMs: 1_000,
        quarantine: (address, reason) => {
          quarantined.push({ address, reason });
          return Promise.resolve(true);
        },
      },
    );
    const bot = address('stuck');
    await runners.ensure(bot);
    const first = await waitForPid(runners, bot);
    await waitFor(() => !alive(first), 10_000);
    await waitFor(() => quarantined.length === 1, 15_000);
    expect(starts).toBe(3);
    expect(quarantined[0]?.reason).toBe(
      "the bot's runner got stuck on this event 3 times in a row (no result within 1 s); it was skipped",
    );
    await runners.retire(bot);
    await runners.close();
  });

  it('keeps the runner running while it reports holding and releasing events in time', async () => {
    const runners = launcher(
      () =>
        node(
          afterCredentials(
            `let seq = 0; setInterval(() => { seq += 1; console.log(JSON.stringify({ event: 'holding', seq })); setTimeout(() => console.log(JSON.stringify({ event: 'released', seq })), 20); }, 50);`,
          ),
        ),
      { stallMs: 500 },
    );
    const bot = address('busy');
    await runners.ensure(bot);
    const pid = await waitForPid(runners, bot);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(Number(runners.runnerOf(bot))).toBe(pid);
    await runners.close();
  });

  describe('with the real runner', () => {
    const real = (bot: BotAddress, idleSeconds: number): RunnerCommand => ({
      command: process.execPath,
      args: ['--no-node-snapshot', RUNNER_ENTRY],
      env: {
        RUNNER_NATS_URL: servers,
        RUNNER_TENANT: bot.tenantId,
        RUNNER_CHANNEL: bot.channelId,
        RUNNER_BOT: bot.botId,
        RUNNER_MEMORY_MB: '64',
        RUNNER_HOOK_TIMEOUT_MS: '1000',
        RUNNER_OUTPUT_MAX_BYTES: '65536',
        RUNNER_IDLE_SECONDS: String(idleSeconds),
        RUNNER_EGRESS_TIMEOUT_MS: '1000',
        RUNNER_EGRESS_MAX_BYTES: '65536',
        RUNNER_EGRESS_ALLOW_LOOPBACK: 'false',
      },
      cleanup: () => Promise.resolve(),
    });

    beforeAll(() => {
      // The API's side of `load`: a bot with no events yet.
      hub.serve(QUIET_RUNNER_API);
    });

    it('stops an idle runner cleanly (exit 0) and starts it only when needed again', async () => {
      const lines: string[] = [];
      const warnings: string[] = [];
      let starts = 0;
      const bot = address('real_idle');
      const runners = launcher(
        () => {
          starts += 1;
          return real(bot, 1);
        },
        {
          logger: {
            log: (line) => void lines.push(line),
            warn: (line) => void warnings.push(line),
          },
        },
      );
      await runners.ensure(bot);
      await waitFor(() => lines.some((line) => line.includes('"ready"')), 15_000);
      await waitFor(() => runners.count() === 0, 15_000);
      expect(lines.filter((line) => line.includes('"stopping"'))).toEqual([
        `runner ${bot.botId}: {"event":"stopping","reason":"idle","code":0}`,
      ]);
      // A crash would be restarted after 250 ms.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(starts).toBe(1);
      expect(runners.count()).toBe(0);
      expect(warnings).toEqual([]);
      await runners.ensure(bot);
      expect(starts).toBe(2);
      await runners.retire(bot);
      await runners.close();
    });

    it('exits by itself (code 0) when its launcher is gone: its standard input ended', async () => {
      const bot = address('orphan');
      await hub.prepare(bot);
      const { child, output } = startRunnerProcess(real(bot, 600), await hub.credentials(bot, 60));
      try {
        await waitFor(() => output().includes('"ready"'), 15_000);
        const exit = once(child, 'exit');
        // What the launcher's death does to the pipe, however it dies.
        child.stdin.end();
        expect(await exit).toEqual([0, null]);
        expect(output()).toContain('"reason":"launcher gone"');
      } finally {
        child.kill('SIGKILL');
        await hub.discard(bot);
      }
    });
  });
});

async function waitForPid(runners: RunnerFleet, bot: BotAddress): Promise<number> {
  await waitFor(() => runners.runnerOf(bot) !== null, 5_000);
  return Number(runners.runnerOf(bot));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
