// Child process entry of the fair-share benchmark: a hostile tenant's agents and bots. They run in
// a process of their own so that their MCP clients never share the canary's event loop (on a real
// server they would be on other machines; here they still share its two cores, and the parent
// prints the CPU they used). The parent drives it over IPC: setup → start → stop → report.
import { connectAgent, ToolError } from '../../test/support/mcp-client.js';
import type { Agent } from '../../test/support/mcp-client.js';
import { botErrorReasons, readChannel } from './seats.js';
import { summarize } from './stats.js';

export interface BatterySetup {
  readonly url: string;
  /** A bearer token of the hostile tenant (client credentials). */
  readonly token: string;
  /** The server's BOT_HOOK_TIMEOUT_MS, so that one bot can stay just under it. */
  readonly hookTimeoutMs: number;
  readonly agentsPerChannel: number;
  /** Posts per second per agent (0: a closed loop, as fast as the server answers). */
  readonly postsPerSecond: number;
  /** Bots that do nothing instead: the same traffic without the burning, as a control. */
  readonly harmless: boolean;
  /** Only the bots whose names contain this (empty: all), to see what each attack costs. */
  readonly only: string;
}

export type BatteryCommand = { readonly setup: BatterySetup } | 'start' | 'stop' | 'report';

/** What one hostile channel saw: its agents' posts and its bot's failures, by reason. */
export interface HostileChannelReport {
  readonly bot: string;
  readonly posts: number;
  readonly postP50Ms: number;
  readonly postP99Ms: number;
  /** Failed post_message calls by error code (none expected: a hook's failure is not the post's). */
  readonly postErrors: Record<string, number>;
  /** `bot:error` messages in the channel by reason. */
  readonly hookErrors: Record<string, number>;
}

export interface BatteryReport {
  readonly channels: HostileChannelReport[];
  /** CPU seconds this process (the hostile agents' MCP clients) used while posting. */
  readonly clientCpuSeconds: number;
}

export type BatteryEvent =
  { readonly ready: number } | { readonly stopped: true } | { readonly report: BatteryReport };

/** Bots that burn their hooks, each a different way (issue 11). Only `onMessage` does harm. */
function hostileBots(hookTimeoutMs: number, harmless: boolean): { name: string; code: string }[] {
  const bot = (body: string, async = false) =>
    `export default class Hostile {
      constructor(ctx) { this.ctx = ctx; }
      ${async ? 'async ' : ''}onMessage() { ${harmless ? '' : body} }
    }`;
  const underLimitMs = Math.round(hookTimeoutMs * 0.9);
  return [
    { name: 'for(;;){} (time limit)', code: bot('for (;;) {}') },
    {
      name: `busy loop ${underLimitMs} ms (under the limit)`,
      code: bot(`const end = Date.now() + ${underLimitMs}; while (Date.now() < end) {}`),
    },
    {
      name: 'memory hog (isolate limit)',
      code: bot('const keep = []; for (;;) keep.push(new Array(100000).fill(Math.random()));'),
    },
    {
      name: 'ctx.sha256 of 1 MiB strings',
      code: bot(`const big = 'x'.repeat(1024 * 1024);
        for (let i = 0; ; i++) this.ctx.sha256(big);`),
    },
    {
      name: 'ctx.random.hex(1024) loop',
      code: bot('for (;;) this.ctx.random.hex(1024);'),
    },
    {
      name: 'workspace write/read loop',
      code: bot(`const text = 'y'.repeat(60000);
        for (let i = 0; ; i++) {
          this.ctx.workspace.write('f' + (i % 8), text);
          this.ctx.workspace.read('f' + (i % 8));
        }`),
    },
    {
      // The scheduler judges a bot by its last hook: resting every other hook keeps it light, so
      // every burning hook starts without waiting for a heavy place.
      name: `busy ${underLimitMs} ms every other hook`,
      code: bot(`const n = (this.ctx.getState().n ?? 0) + 1;
        this.ctx.setState({ n });
        if (n % 2 === 0) { const end = Date.now() + ${underLimitMs}; while (Date.now() < end) {} }`),
    },
    {
      name: 'await new Promise(() => {})',
      code: bot('await new Promise(() => {});', true),
    },
  ];
}

interface Seat {
  readonly agent: Agent;
  readonly memberToken: string;
}

interface HostileChannel {
  readonly bot: string;
  readonly channelId: string;
  readonly seats: Seat[];
  readonly latencies: number[];
  readonly postErrors: Map<string, number>;
}

let channels: HostileChannel[] = [];
let pauseMs = 0;
let loops: Promise<void>[] = [];
let stopping = false;
let cpuAtStart: NodeJS.CpuUsage | null = null;
let clientCpuSeconds = 0;

const send = (event: BatteryEvent) => process.send?.(event);

async function setUp(setup: BatterySetup): Promise<void> {
  pauseMs = setup.postsPerSecond > 0 ? 1000 / setup.postsPerSecond : 0;
  channels = await Promise.all(
    hostileBots(setup.hookTimeoutMs, setup.harmless)
      .filter(({ name }) => name.includes(setup.only))
      .map(async ({ name, code }) => {
        const agents = await Promise.all(
          Array.from({ length: setup.agentsPerChannel }, (_, i) =>
            connectAgent(setup.url, `hostile-${i}`, setup.token),
          ),
        );
        const slots = ['bot:hostile', ...agents.map((_, i) => `invite:p${i}`)];
        const created = await agents[0]!.call<{
          channel_id: string;
          invites: string[];
          bot_errors?: string[];
        }>('create_channel', { name: 'hostile', slots, bot_code: code });
        if (created.bot_errors) throw new Error(`${name}: ${created.bot_errors.join('; ')}`);
        const seats = await Promise.all(
          agents.map(async (agent, i) => {
            const joined = await agent.call<{ rejoin_token: string }>('join_channel', {
              invite_code: created.invites[i],
            });
            return { agent, memberToken: joined.rejoin_token };
          }),
        );
        return {
          bot: name,
          channelId: created.channel_id,
          seats,
          latencies: [],
          postErrors: new Map<string, number>(),
        };
      }),
  );
  send({ ready: channels.length });
}

/**
 * One agent's loop of posts until told to stop, each waiting for the last (and, when paced, for its
 * turn); a failed post is counted, not fatal.
 */
async function postLoop(channel: HostileChannel, seat: Seat): Promise<void> {
  for (let n = 0, next = performance.now(); !stopping; n += 1) {
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const start = performance.now();
    next = Math.max(next + pauseMs, start);
    try {
      await seat.agent.call('post_message', {
        channel_id: channel.channelId,
        body: `burn ${n}`,
        member_token: seat.memberToken,
      });
      channel.latencies.push(performance.now() - start);
    } catch (error) {
      const code = error instanceof ToolError ? error.code : String(error).slice(0, 80);
      channel.postErrors.set(code, (channel.postErrors.get(code) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function hookErrors(channel: HostileChannel): Promise<Record<string, number>> {
  const seat = { ...channel.seats[0]!, channelId: channel.channelId };
  return Object.fromEntries(botErrorReasons(await readChannel(seat), 120));
}

async function report(): Promise<void> {
  const reports = await Promise.all(
    channels.map(async (channel): Promise<HostileChannelReport> => {
      const latency = channel.latencies.length > 0 ? summarize(channel.latencies) : null;
      return {
        bot: channel.bot,
        posts: channel.latencies.length,
        postP50Ms: latency?.p50 ?? NaN,
        postP99Ms: latency?.p99 ?? NaN,
        postErrors: Object.fromEntries(channel.postErrors),
        hookErrors: await hookErrors(channel),
      };
    }),
  );
  send({ report: { channels: reports, clientCpuSeconds } });
  await Promise.all(channels.flatMap((channel) => channel.seats.map((s) => s.agent.close())));
  process.exit(0);
}

function fail(error: unknown): void {
  console.error('hostile battery:', error);
  process.exit(1);
}

process.on('message', (command: BatteryCommand) => {
  if (typeof command === 'object') return void setUp(command.setup).catch(fail);
  if (command === 'start') {
    cpuAtStart = process.cpuUsage();
    loops = channels.flatMap((channel) => channel.seats.map((seat) => postLoop(channel, seat)));
  } else if (command === 'stop') {
    stopping = true;
    void Promise.all(loops).then(() => {
      const cpu = process.cpuUsage(cpuAtStart ?? undefined);
      clientCpuSeconds = (cpu.user + cpu.system) / 1e6;
      send({ stopped: true });
    }, fail);
  } else if (command === 'report') {
    void report().catch(fail);
  }
});
process.on('disconnect', () => process.exit(0));
