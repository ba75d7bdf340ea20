// DESIGN §10: a read tool over MCP at ≥ 0.8× the calls/s of a bare MCP SDK server with one
// trivial tool, at 16 concurrent sessions, both measured in this run with the same client loop.
import { connectAgent } from '../test/support/mcp-client.js';
import type { Agent } from '../test/support/mcp-client.js';
import { startNats } from '../test/support/nats-server.mjs';
import { benchAppEnv, natsAppEnv } from './support/app-env.js';
import { openBenchDatabase } from './support/bench-database.js';
import { startServerProcess } from './support/server-process.js';
import type { ServerProcess } from './support/server-process.js';
import { heading, perSecond, ratio, report } from './support/stats.js';
import { runClosedLoops } from './support/timed-loop.js';
import type { LoopOptions } from './support/timed-loop.js';

const TARGET_RATIO = 0.8;
/**
 * Every measurement is split into rounds, and the rounds of all of them are interleaved: this
 * machine's speed drifts by a third from one minute to the next, so a baseline measured a minute
 * before or after the API would move the ratio more than anything the API does.
 */
const ROUNDS = 4;
const ROUND: LoopOptions = { warmupMs: 300, durationMs: 2_000 };

interface ToolCall {
  readonly name: string;
  readonly args: Record<string, unknown>;
}

/** One thing measured: `sessions` MCP SDK clients, each in its own session, calling a tool. */
interface Target {
  readonly server: ServerProcess;
  readonly call: ToolCall;
  readonly sessions: number;
  readonly agents: readonly Agent[];
}

/** A call rate over all rounds, and how busy each side was meanwhile (share of one core). */
interface Measured {
  readonly perSecond: number;
  readonly serverCpu: number;
  readonly clientCpu: number;
}

async function target(server: ServerProcess, call: ToolCall, sessions: number): Promise<Target> {
  // Our API's clients authorize first (one token each); the bare server takes any header.
  const token = server.authorized ? undefined : 'unused';
  const agents = await Promise.all(
    Array.from({ length: sessions }, (_, i) => connectAgent(server.url, `bench-${i}`, token)),
  );
  return { server, call, sessions, agents };
}

/**
 * Each client calls its tool in a closed loop, round after round, the targets taking turns. The
 * clients share this process and the machine's two cores with the servers: the CPU shares say
 * which side ran out first, and so whether a ratio measures the server or the client.
 */
async function measureInTurns(targets: readonly Target[]): Promise<Map<Target, Measured>> {
  const totals = new Map(targets.map((t) => [t, { calls: 0, seconds: 0, client: 0, server: 0 }]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const t of targets) {
      const result = await runClosedLoops(
        t.sessions,
        async (worker) => {
          await t.agents[worker]?.call(t.call.name, t.call.args);
        },
        { ...ROUND, server: t.server },
      );
      const total = totals.get(t);
      if (!total) continue;
      total.calls += result.calls;
      total.seconds += result.seconds;
      total.client += result.clientCpuSeconds;
      total.server += result.serverCpuSeconds;
    }
  }
  return new Map(
    [...totals].map(([t, total]) => [
      t,
      {
        perSecond: total.calls / total.seconds,
        serverCpu: total.server / total.seconds,
        clientCpu: total.client / total.seconds,
      },
    ]),
  );
}

const percent = (share: number) => `${Math.round(share * 100)}%`;
const cpu = (m: Measured) => `cpu: server ${percent(m.serverCpu)}, clients ${percent(m.clientCpu)}`;

heading('MCP read tool throughput: get_channel_info vs a bare MCP SDK server (one process each)');
const database = await openBenchDatabase();
const nats = await startNats();
// Our API on real PostgreSQL and NATS (DESIGN §10); the baseline in the SDK README's shape (a
// server per session); and, to read the gap, the bare server with a server and transport per
// request, as our API has.
const servers = await Promise.all([
  startServerProcess('app-server', { ...benchAppEnv(database.url), ...natsAppEnv(nats) }),
  startServerProcess('bare-mcp-server', { BARE_MCP_MODE: 'stateful' }),
  startServerProcess('bare-mcp-server', { BARE_MCP_MODE: 'stateless' }),
]);
const [api, bare, bareStateless] = servers;
const targets: Target[] = [];
try {
  const creator = await connectAgent(api.url, 'bench-creator');
  const created = await creator.call<{ channel_id: string }>('create_channel', {
    name: 'throughput',
    slots: ['invite:a', 'invite:b'],
  });
  await creator.close();
  // get_channel_info reads the session, and the channel with its slots and bots from memory until
  // a wake-up says it changed. health_check reads only the session, so it shows our HTTP and MCP
  // layers apart from the channel (not a budget, a reading aid).
  const channelInfo = { name: 'get_channel_info', args: { channel_id: created.channel_id } };
  const ping = { name: 'ping', args: {} };
  const [info1, info16, health16, bare1, bare16, stateless16] = await Promise.all([
    target(api, channelInfo, 1),
    target(api, channelInfo, 16),
    target(api, { name: 'health_check', args: {} }, 16),
    target(bare, ping, 1),
    target(bare, ping, 16),
    target(bareStateless, ping, 16),
  ]);
  targets.push(info1, info16, health16, bare1, bare16, stateless16);
  const measured = await measureInTurns(targets);
  const of = (t: Target) => measured.get(t) ?? { perSecond: NaN, serverCpu: NaN, clientCpu: NaN };

  for (const [ours, baseline] of [
    [info1, bare1],
    [info16, bare16],
  ] as const) {
    const target = ours.sessions === 16 ? ` (target ≥ ${TARGET_RATIO})` : '';
    report(
      `get_channel_info ${ours.sessions} session${ours.sessions === 1 ? '' : 's'}`,
      `${perSecond(of(ours).perSecond)}  bare SDK ${perSecond(of(baseline).perSecond)}  ratio ${ratio(of(ours).perSecond, of(baseline).perSecond)}${target}`,
    );
    report('', `${cpu(of(ours))} | bare SDK ${cpu(of(baseline))}`);
  }
  report(
    '  health_check 16 (session read only)',
    `${perSecond(of(health16).perSecond)}  ratio to bare SDK ${ratio(of(health16).perSecond, of(bare16).perSecond)}`,
  );
  report(
    '  bare SDK, server per request, 16',
    `${perSecond(of(stateless16).perSecond)}  ratio to bare SDK ${ratio(of(stateless16).perSecond, of(bare16).perSecond)}`,
  );
} finally {
  await Promise.all(targets.flatMap((t) => t.agents.map((agent) => agent.close())));
  await Promise.all(servers.map((server) => server.stop()));
  nats.stop();
  await database.drop();
}
