import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BotId, ChannelId, TenantId } from '#core';
import type { NatsRunnerHub } from '#events';
import type { BotAddress } from '#events';
import {
  QUIET_RUNNER_API,
  connectTestRunnerHub,
  startRunnerProcess,
  testNats,
} from '#test-support';
import { loadConfig } from '../config/app.config.js';
import { linkedLibraries, prepareGvisorCommand } from './gvisor.js';
import { gvisorRunnerCommand, plainRunnerCommand } from './runner-command.js';
import { RunnerMemoryLimit } from './runner-memory.js';
import type { CommandLine, LimitedCommand } from './runner-memory.js';

const quiet = { log: () => undefined, warn: () => undefined };
const LIMIT_MB = 128;

/**
 * Grows its memory outside any V8 heap limit (Buffers, as a bot's isolate overshooting its soft
 * limit, or memory a native addon takes, would) and prints how far it got, every 8 MiB.
 */
const ALLOCATE = `
  const held = [];
  for (let mb = 8; mb <= Number(process.argv[1]); mb += 8) {
    held.push(Buffer.alloc(8 * 1024 * 1024, 1));
    console.log(mb);
  }`;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The most it reported having allocated, in MiB. */
  reached: number;
}

async function run(command: LimitedCommand): Promise<Finished> {
  const child = spawn(command.command, [...command.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let reached = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().trim().split('\n'))
      reached = Math.max(reached, Number(line) || 0);
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, reached };
}

function node(script: string, ...args: string[]): CommandLine {
  return { command: process.execPath, args: ['--no-node-snapshot', '-e', script, ...args] };
}

/** Host processes whose command line names `text`. */
function hostProcesses(text: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    });
}

/** BOT_RUNNER_MEMORY_MB (issue 11 item 4): a hard memory limit for each runner, plain or in gVisor. */
describe('RunnerMemoryLimit', () => {
  let limit: RunnerMemoryLimit;
  let stateDir: string;

  beforeAll(async () => {
    const warnings: string[] = [];
    limit = await RunnerMemoryLimit.open(LIMIT_MB, {
      log: () => undefined,
      warn: (w) => warnings.push(w),
    });
    // These tests need a writable memory cgroup (as root on CI); say why when there is none.
    expect(warnings).toEqual([]);
    expect(limit.applied).toBe(true);
    stateDir = mkdtempSync(join(tmpdir(), 'runner-memory-'));
  });

  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it('kills a runner process that grows past the limit, and removes its cgroup', async () => {
    const command = await limit.wrap('alloc', node(ALLOCATE, '1024'));
    const finished = await run(command);
    await command.cleanup();
    expect(finished).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(finished.reached).toBeLessThan(LIMIT_MB);
    expect(finished.reached).toBeGreaterThanOrEqual(16);
    expect(existsSync(command.group ?? '')).toBe(false);
  });

  it('leaves a runner process within the limit alone', async () => {
    const command = await limit.wrap('small', node(ALLOCATE, '24'));
    const finished = await run(command);
    await command.cleanup();
    expect(finished).toEqual({ code: 0, signal: null, reached: 24 });
  });

  it('kills a gVisor sandbox that grows past the limit, and leaves no process behind', async () => {
    const sandbox = await prepareGvisorCommand({
      id: 'memory-test',
      command: process.execPath,
      args: [...node(ALLOCATE, '1024').args],
      env: {},
      cwd: '/',
      readOnlyPaths: [process.execPath, ...(await linkedLibraries([process.execPath]))],
      workspace: null,
      stateDir,
    });
    const command = await limit.wrap('alloc-gvisor', sandbox);
    try {
      const finished = await run(command);
      // runsc reports its killed sandbox as exit status 128 + SIGKILL.
      expect(finished.code === 137 || finished.signal === 'SIGKILL').toBe(true);
      expect(finished.reached).toBeLessThan(LIMIT_MB);
      expect(finished.reached).toBeGreaterThanOrEqual(16);
    } finally {
      await sandbox.cleanup().catch(() => undefined);
      await command.cleanup();
    }
    expect(hostProcesses(sandbox.containerId)).toEqual([]);
    expect(existsSync(command.group ?? '')).toBe(false);
  });

  it('removes runner cgroups a killed API left behind when it starts again', async () => {
    const command = await limit.wrap('left-behind', node(''));
    expect(existsSync(command.group ?? '')).toBe(true);
    await RunnerMemoryLimit.open(LIMIT_MB, quiet);
    expect(existsSync(command.group ?? '')).toBe(false);
  });

  describe('with the real runner', () => {
    let hub: NatsRunnerHub;
    const bot: BotAddress = {
      tenantId: 'ten_memory' as TenantId,
      channelId: 'chn_memory' as ChannelId,
      botId: 'bot_memory' as BotId,
    };

    beforeAll(async () => {
      hub = await connectTestRunnerHub();
      hub.serve(QUIET_RUNNER_API);
      await hub.prepare(bot);
    });

    afterAll(async () => {
      await hub?.discard(bot);
      await hub?.close();
    });

    it.each(['none', 'gvisor'])(
      'runs within the default limit (sandbox %s)',
      async (sandbox) => {
        const nats = testNats();
        const config = loadConfig({
          ...nats.env,
          BOT_LAUNCHER: 'process',
          BOT_SANDBOX: sandbox,
          DATA_DIR: stateDir,
          BOT_WORKSPACE_MAX_BYTES: '0',
        });
        const memory = RunnerMemoryLimit.open(config.runners?.memoryMb ?? 0, quiet);
        const build =
          sandbox === 'gvisor'
            ? gvisorRunnerCommand(config, nats.servers, join(stateDir, 'runsc'), memory)
            : plainRunnerCommand(config, nats.servers, memory);
        const command = await build(bot);
        const { child, output } = startRunnerProcess(command, await hub.credentials(bot, 60));
        try {
          const deadline = Date.now() + 30_000;
          while (
            !output().includes('"ready"') &&
            Date.now() < deadline &&
            child.exitCode === null
          ) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          expect(output()).toContain('"ready"');
          const group = command.args[2]?.replace(/\/cgroup\.procs$/, '') ?? '';
          const peak = ['memory.max_usage_in_bytes', 'memory.peak'].find((f) =>
            existsSync(join(group, f)),
          );
          const peakMb = Number(readFileSync(join(group, peak ?? ''), 'utf8')) / 2 ** 20;
          console.log(`runner (${sandbox}) peak memory at ready: ${peakMb.toFixed(1)} MiB`);
          expect(peakMb).toBeLessThan(config.runners?.memoryMb ?? 0);
          const exit = once(child, 'close');
          child.stdin.end();
          expect((await exit)[0]).toBe(0);
        } finally {
          child.kill('SIGKILL');
          await command.cleanup();
        }
      },
      60_000,
    );
  });
});
