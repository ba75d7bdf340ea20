import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BotLauncher } from '#bots';
import type { RunnerFleet } from '#bots';
import type { BotId, ChannelId, TenantId } from '#core';
import type { BotAddress } from '#events';
import { eventually } from '../support/eventually.js';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { testNats } from '../support/nats.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

interface Message {
  id: number;
  sender: string;
  kind: string;
  body: Record<string, unknown>;
}

interface Created {
  channel_id: string;
  invites: string[];
  bots: { bot_id: string }[];
}

/** Echoes each message with a running count kept in its state; `slow` hooks take a while. */
const COUNTING_ECHO = `export default class Counter {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(msg) {
    if (!msg || msg.sender.startsWith('bot:')) return;
    if (msg.body.text === 'slow') { const end = Date.now() + 1500; while (Date.now() < end) {} }
    const state = this.ctx.getState();
    const count = (state.count ?? 0) + 1;
    this.ctx.setState({ count });
    this.ctx.post('bot', { echo: msg.body.text ?? null, count });
  }
}`;

/**
 * BOT_LAUNCHER=process (issue 4 items 3 and 4): each bot in its own bot-runner child process with
 * NATS credentials for its channel only; effects committed by the API once per event, whatever
 * happens to the runner.
 */
describe('bots in runner processes', () => {
  let app: TestApp;
  let agent: Agent;
  let runners: RunnerFleet;

  beforeAll(async () => {
    app = await startTestApp({
      env: {
        ...testNats().env,
        BOT_LAUNCHER: 'process',
        BOT_HOOK_TIMEOUT_MS: '2000',
        BOT_RUNNER_IDLE_SECONDS: '2',
        BOT_RUNNERS_PER_TENANT: '2',
      },
    });
    agent = await connectAgent(app.url);
    runners = app.nest.get<BotLauncher, RunnerFleet>(BotLauncher);
  });

  afterAll(async () => {
    await agent?.close();
    await app?.close();
  });

  async function channel(name: string): Promise<{ id: string; address: BotAddress }> {
    const created = await agent.call<Created>('create_channel', {
      name,
      slots: ['bot:counter', 'invite:a'],
      bot_code: COUNTING_ECHO,
    });
    await agent.call('join_channel', { invite_code: created.invites[0] });
    const info = await agent.call<{ bots: { bot_id: string }[] }>('get_channel_info', {
      channel_id: created.channel_id,
    });
    const botId = info.bots[0]?.bot_id ?? '';
    return {
      id: created.channel_id,
      address: {
        tenantId: 'ten_default' as TenantId,
        channelId: created.channel_id as ChannelId,
        botId: botId as BotId,
      },
    };
  }

  async function post(channelId: string, text: string): Promise<number> {
    const posted = await agent.call<{ msg_id: number }>('post_message', {
      channel_id: channelId,
      body: text,
    });
    return posted.msg_id;
  }

  async function messages(channelId: string): Promise<Message[]> {
    const synced = await agent.call<{ messages: Message[] }>('sync_messages', {
      channel_id: channelId,
      cursor: 0,
      timeout_ms: 0,
    });
    return synced.messages;
  }

  function replies(all: Message[]): { echo: unknown; count: unknown }[] {
    return all
      .filter((m) => m.sender.startsWith('bot:') && m.kind === 'bot')
      .map((m) => ({ echo: m.body['echo'], count: m.body['count'] }));
  }

  it('answers before post_message returns, with state kept across hooks', async () => {
    const { id, address } = await channel('process echo');
    const first = await post(id, 'one');
    const synced = await agent.call<{ messages: Message[] }>('sync_messages', {
      channel_id: id,
      cursor: first,
      timeout_ms: 0,
    });
    expect(replies(synced.messages)).toEqual([{ echo: 'one', count: 1 }]);
    await post(id, 'two');
    expect(replies(await messages(id))).toEqual([
      { echo: 'one', count: 1 },
      { echo: 'two', count: 2 },
    ]);
    expect(pidOf(runners, address)).not.toBeNull();
    expect(pidOf(runners, address)).not.toBe(process.pid);
  });

  it('commits a hook once when its runner is killed in the middle of it', async () => {
    const { id, address } = await channel('kill mid-hook');
    await post(id, 'warm');
    const pid = pidOf(runners, address);
    expect(pid).not.toBeNull();
    const posting = post(id, 'slow');
    // The slow hook busy-waits 1.5 s: kill its runner while it runs.
    await new Promise((resolve) => setTimeout(resolve, 500));
    process.kill(pid ?? 0, 'SIGKILL');
    await posting;
    // The launcher restarts the runner; the event comes back after the consumer's ack wait.
    await eventually(
      async () => replies(await messages(id)).length === 2,
      'the redelivered hook',
      20_000,
    );
    await post(id, 'after');
    expect(replies(await messages(id))).toEqual([
      { echo: 'warm', count: 1 },
      { echo: 'slow', count: 2 },
      { echo: 'after', count: 3 },
    ]);
    expect(pidOf(runners, address)).not.toBe(pid);
  });

  it('stops an idle runner and starts it again on the next event, state intact', async () => {
    const { id, address } = await channel('idle');
    await post(id, 'before');
    expect(pidOf(runners, address)).not.toBeNull();
    await eventually(() => pidOf(runners, address) === null, 'the idle runner to stop');
    await post(id, 'after');
    expect(replies(await messages(id))).toEqual([
      { echo: 'before', count: 1 },
      { echo: 'after', count: 2 },
    ]);
  });

  it('keeps at most the per-tenant number of runners, and every bot still answers', async () => {
    const channels = [await channel('cap 1'), await channel('cap 2'), await channel('cap 3')];
    for (const round of [1, 2]) {
      for (const { id } of channels) {
        await post(id, `round ${round}`);
        expect(runners.count('ten_default')).toBeLessThanOrEqual(2);
      }
    }
    for (const { id } of channels) {
      expect(replies(await messages(id))).toEqual([
        { echo: 'round 1', count: 1 },
        { echo: 'round 2', count: 2 },
      ]);
    }
  });

  it('stops the runner of a removed bot', async () => {
    const { id, address } = await channel('removed');
    await post(id, 'hello');
    expect(pidOf(runners, address)).not.toBeNull();
    await agent.call('update_channel', {
      channel_id: id,
      ops: [{ type: 'remove_bot', bot_id: address.botId }],
    });
    expect(pidOf(runners, address)).toBeNull();
    await post(id, 'nobody listens');
    expect(pidOf(runners, address)).toBeNull();
  });
});

/** The process id of the bot's runner, if one runs. */
function pidOf(runners: RunnerFleet, address: BotAddress): number | null {
  const id = runners.runnerOf(address);
  return id === null ? null : Number(id);
}
