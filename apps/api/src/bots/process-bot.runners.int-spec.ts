import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BotId, ChannelId, TenantId } from '#core';
import { NatsEventBus, NatsRunnerHub } from '#events';
import type { BotAddress } from '#events';
import { testNats } from '#test-support';
import { ProcessBotRunners } from './process-bot.runners.js';
import type { RunnerCommand } from './process-bot.runners.js';

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

/** The launcher's own failure handling, with commands that fail on purpose instead of runners. */
describe('ProcessBotRunners', () => {
  let hub: NatsRunnerHub;

  beforeAll(async () => {
    const { servers, credentials, signingKeyFile } = testNats();
    // The API's event bus creates the stream the runners' consumers live on.
    await (
      await NatsEventBus.connect({ servers, credentials, name: 'stream', logger: quiet })
    ).close();
    hub = await NatsRunnerHub.connect({
      servers,
      credentials,
      signingKeyFile,
      ackWaitMs: 5_000,
      logger: quiet,
    });
  });

  afterAll(async () => {
    await hub?.close();
  });

  function launcher(command: () => RunnerCommand): ProcessBotRunners {
    return new ProcessBotRunners(hub, {
      command: () => Promise.resolve(command()),
      perTenant: 5,
      credentialsTtlSeconds: 60,
      nudge: () => undefined,
      logger: quiet,
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
    const runners = launcher(() => {
      starts.push(Date.now());
      return node('process.exit(1)');
    });
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

  it('does not restart a runner that stopped on its own (idle) until it is needed again', async () => {
    let starts = 0;
    const runners = launcher(() => {
      starts += 1;
      return node('process.stdin.resume(); process.stdin.on("end", () => process.exit(0))');
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
});
