import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiProcess } from '../support/api-process.js';
import type { ApiProcess } from '../support/api-process.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { testNats } from '../support/nats.js';
import { authorizeOpen } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { readAll } from './game-helpers.js';
import type { Created, Message } from './game-helpers.js';

/** Counts the players' messages in its state and answers each; `hog` grows past any runner. */
const COUNTER = `export default class Counter {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(msg) {
    if (!msg || !msg.sender.startsWith('member:')) return;
    if (msg.body.text === 'hog') {
      // Within the isolate's 64 MiB, but more than the runner process may have (BOT_RUNNER_MEMORY_MB).
      const block = new Uint8Array(60 * 1024 * 1024);
      block.fill(1);
      this.ctx.post('bot', { size: block.length });
      return;
    }
    const count = (this.ctx.getState().count ?? 0) + 1;
    this.ctx.setState({ count });
    this.ctx.post('bot', { echo: msg.body.text ?? null, count });
  }
}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const botReplies = (log: readonly Message[]) =>
  log
    .filter((m) => m.sender.startsWith('bot:') && m.kind === 'bot')
    .map((m) => ({ echo: m.body['echo'], count: m.body['count'] }));

const botErrors = (log: readonly Message[]) =>
  log.filter((m) => m.body['type'] === 'bot:error').map((m) => m.body['error']);

async function countingChannel(agent: Agent, name: string): Promise<string> {
  const created = await agent.call<Created>('create_channel', {
    name,
    slots: ['bot:counter', 'invite:a'],
    bot_code: COUNTER,
  });
  await agent.call('join_channel', { invite_code: created.invites[0] });
  return created.channel_id;
}

async function post(agent: Agent, channelId: string, text: string): Promise<void> {
  await agent.call('post_message', { channel_id: channelId, body: text });
}

/** Every process below `root` (children, theirs, …), from /proc. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // proc(5): the fourth field after the parenthesised command is the parent's id.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift();
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

/** Alive and not a zombie waiting for its reaper. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/**
 * Runners do not outlive their API (issue 11 item 7): killed outright, it cannot stop them, but
 * the end of their standard input tells them, plain or inside gVisor, and the next API's runners
 * take over the bots' events with nothing lost or run twice.
 */
describe.each(['none', 'gvisor'])('an API killed outright (BOT_SANDBOX=%s)', (sandbox) => {
  let database: TestDatabase;
  let port: number;
  let api: ApiProcess | undefined;
  let agent: Agent | undefined;
  /** Every process the runners were, to be sure none is left whatever the test's outcome. */
  const seen = new Set<number>();
  const env = { ...testNats().env, BOT_LAUNCHER: 'process', BOT_SANDBOX: sandbox };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    port = await freePort();
    api = await startApiProcess(port, `http://127.0.0.1:${port}`, database, {
      LOG_LEVEL: 'warn',
      ...env,
    });
  }, 60_000);

  afterAll(async () => {
    await agent?.close().catch(() => undefined);
    api?.child.kill('SIGKILL');
    await api?.exited;
    for (const pid of seen) if (running(pid)) process.kill(pid, 'SIGKILL');
    await database?.drop();
  }, 30_000);

  it('leaves no runner behind, and the next API carries on where it stopped', async () => {
    const url = `http://127.0.0.1:${port}`;
    const { accessToken } = await authorizeOpen(url);
    agent = await connectAgent(url, 'orphans', accessToken);
    const channels = [await countingChannel(agent, 'one'), await countingChannel(agent, 'two')];
    for (const id of channels) await post(agent, id, 'before');
    for (const id of channels) {
      expect(botReplies(await readAll(agent, id))).toEqual([{ echo: 'before', count: 1 }]);
    }
    const apiPid = api?.child.pid ?? 0;
    const runners = descendants(apiPid);
    for (const pid of runners) seen.add(pid);
    const kind = sandbox === 'gvisor' ? 'runsc' : 'bot-runner';
    expect(runners.filter((pid) => commandLine(pid).includes(kind)).length).toBeGreaterThanOrEqual(
      2,
    );

    api?.child.kill('SIGKILL');
    await api?.exited;
    await eventually(
      () => runners.every((pid) => !running(pid)),
      `the runners of the killed API to exit (${runners.map(commandLine).join('; ')})`,
      20_000,
    );

    await agent.close();
    api = await startApiProcess(port, `http://127.0.0.1:${port}`, database, {
      LOG_LEVEL: 'warn',
      ...env,
    });
    agent = await connectAgent(url, 'orphans', accessToken);
    for (const id of channels) await post(agent, id, 'after');
    for (const id of channels) {
      await eventually(
        async () => botReplies(await readAll(agent as Agent, id)).length >= 2,
        'the bot to answer after the restart',
        30_000,
      );
      // A late duplicate would show up now.
      await sleep(500);
      const log = await readAll(agent, id);
      expect(botReplies(log)).toEqual([
        { echo: 'before', count: 1 },
        { echo: 'after', count: 2 },
      ]);
      expect(botErrors(log)).toEqual([]);
    }
    for (const pid of descendants(api.child.pid ?? 0)) seen.add(pid);
  }, 120_000);
});

/**
 * A poison event (issue 11 item 7): a hook that gets its runner killed every time, here by the
 * runner's memory limit (BOT_RUNNER_MEMORY_MB, item 4), must not wedge the bot. After three
 * crashes in a row on it the bot gets a `bot:error` saying so, and goes on with the next event.
 */
describe('a hook that gets its runner OOM-killed', () => {
  let app: TestApp;
  let agent: Agent;

  beforeAll(async () => {
    app = await startTestApp({
      env: {
        ...testNats().env,
        BOT_LAUNCHER: 'process',
        BOT_HOOK_TIMEOUT_MS: '2000',
        BOT_RUNNER_MEMORY_MB: '80',
      },
    });
    agent = await connectAgent(app.url);
  });

  afterAll(async () => {
    await agent?.close();
    await app?.close();
  });

  it('is skipped with a bot:error after three crashes, and the bot answers the next post', async () => {
    const id = await countingChannel(agent, 'poison');
    await post(agent, id, 'before');
    expect(botReplies(await readAll(agent, id))).toEqual([{ echo: 'before', count: 1 }]);
    await post(agent, id, 'hog');
    // Each crash waits out the event's redelivery (the hook limit plus 5 s).
    await eventually(
      async () => botErrors(await readAll(agent, id)).length > 0,
      'the bot:error of the skipped event',
      90_000,
    );
    await post(agent, id, 'after');
    // The skipped event is still out with the dead runner until its ack wait ends.
    await eventually(
      async () => botReplies(await readAll(agent, id)).length >= 2,
      'the answer to the next post',
      30_000,
    );
    await sleep(500);
    const log = await readAll(agent, id);
    expect(botErrors(log)).toEqual([
      "this event crashed the bot's runner 3 times in a row; it was skipped",
    ]);
    expect(botReplies(log)).toEqual([
      { echo: 'before', count: 1 },
      { echo: 'after', count: 2 },
    ]);
  }, 120_000);
});
