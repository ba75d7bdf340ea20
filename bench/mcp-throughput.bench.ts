// DESIGN §10: a read tool over MCP at ≥ 0.8× the calls/s of a bare MCP SDK server with one
// trivial tool, at 16 concurrent sessions, both measured in this run with the same client loop.
import { connectAgent } from '../test/support/mcp-client.js';
import { startNats } from '../test/support/nats-server.mjs';
import { benchAppEnv, natsAppEnv } from './support/app-env.js';
import { openBenchDatabase } from './support/bench-database.js';
import { startServerProcess } from './support/server-process.js';
import type { ServerProcess } from './support/server-process.js';
import { heading, perSecond, ratio, report } from './support/stats.js';
import { runClosedLoops } from './support/timed-loop.js';
import type { LoopResult } from './support/timed-loop.js';

const SESSION_COUNTS = [1, 16] as const;
const TARGET_RATIO = 0.8;

interface ToolCall {
  readonly name: string;
  readonly args: Record<string, unknown>;
}

/** A call rate, and how busy each side was meanwhile (share of one core). */
interface Measured extends LoopResult {
  readonly serverCpu: number;
  readonly clientCpu: number;
}

/**
 * `sessions` MCP SDK clients, each with its own session, each calling the tool in a loop. The
 * clients share this process and the machine's two cores with the server: the CPU shares say
 * which side ran out first, and so whether a ratio measures the server or the client.
 */
async function callRate(
  server: ServerProcess,
  call: ToolCall,
  sessions: number,
): Promise<Measured> {
  // Our API's clients authorize first (one token each); the bare server takes any header.
  const token = server.authorized ? undefined : 'unused';
  const agents = await Promise.all(
    Array.from({ length: sessions }, (_, i) => connectAgent(server.url, `bench-${i}`, token)),
  );
  try {
    const serverStart = server.cpuSeconds();
    const wallStart = performance.now();
    const result = await runClosedLoops(sessions, async (worker) => {
      await agents[worker]?.call(call.name, call.args);
    });
    const wall = (performance.now() - wallStart) / 1000;
    return {
      ...result,
      serverCpu: (server.cpuSeconds() - serverStart) / wall,
      clientCpu: result.clientCpuSeconds / result.seconds,
    };
  } finally {
    await Promise.all(agents.map((agent) => agent.close()));
  }
}

async function withServer<T>(
  started: Promise<ServerProcess>,
  work: (server: ServerProcess) => Promise<T>,
): Promise<T> {
  const server = await started;
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}

async function rates(server: ServerProcess, call: ToolCall): Promise<Map<number, Measured>> {
  const results = new Map<number, Measured>();
  for (const sessions of SESSION_COUNTS)
    results.set(sessions, await callRate(server, call, sessions));
  return results;
}

/**
 * Our API on real PostgreSQL and NATS (DESIGN §10): get_channel_info reads the session, and the
 * channel with its slots and bots from memory until a wake-up says it changed. health_check reads only the session, so it shows our HTTP and MCP layers apart from the
 * channel queries (not a budget, a reading aid).
 */
async function measureApi(): Promise<{
  channelInfo: Map<number, Measured>;
  healthCheck: Measured;
}> {
  const database = await openBenchDatabase();
  const nats = await startNats();
  try {
    const natsEnv = natsAppEnv(nats);
    return await withServer(
      startServerProcess('app-server', { ...benchAppEnv(database.url), ...natsEnv }),
      async (server) => {
        const creator = await connectAgent(server.url, 'bench-creator');
        const created = await creator.call<{ channel_id: string }>('create_channel', {
          name: 'throughput',
          slots: ['invite:a', 'invite:b'],
        });
        await creator.close();
        const channelInfo = await rates(server, {
          name: 'get_channel_info',
          args: { channel_id: created.channel_id },
        });
        const healthCheck = await callRate(server, { name: 'health_check', args: {} }, 16);
        return { channelInfo, healthCheck };
      },
    );
  } finally {
    nats.stop();
    await database.drop();
  }
}

/**
 * The baseline in the SDK README's shape (a server per session), and for reading the gap the
 * same bare server with a server and transport per request, as our API has.
 */
async function measureBare(): Promise<{ perSession: Map<number, Measured>; perRequest: Measured }> {
  const ping = { name: 'ping', args: {} };
  const perSession = await withServer(
    startServerProcess('bare-mcp-server', { BARE_MCP_MODE: 'stateful' }),
    (server) => rates(server, ping),
  );
  const perRequest = await withServer(
    startServerProcess('bare-mcp-server', { BARE_MCP_MODE: 'stateless' }),
    (server) => callRate(server, ping, 16),
  );
  return { perSession, perRequest };
}

const percent = (share: number) => `${Math.round(share * 100)}%`;
const cpu = (m: Measured) => `cpu: server ${percent(m.serverCpu)}, clients ${percent(m.clientCpu)}`;

heading('MCP read tool throughput: get_channel_info vs a bare MCP SDK server (one process each)');
const api = await measureApi();
const bare = await measureBare();

for (const sessions of SESSION_COUNTS) {
  const ours = api.channelInfo.get(sessions);
  const baseline = bare.perSession.get(sessions);
  if (!ours || !baseline) continue;
  const target = sessions === 16 ? ` (target ≥ ${TARGET_RATIO})` : '';
  report(
    `get_channel_info ${sessions} session${sessions === 1 ? '' : 's'}`,
    `${perSecond(ours.perSecond)}  bare SDK ${perSecond(baseline.perSecond)}  ratio ${ratio(ours.perSecond, baseline.perSecond)}${target}`,
  );
  report('', `${cpu(ours)} | bare SDK ${cpu(baseline)}`);
}
const bare16 = bare.perSession.get(16)?.perSecond ?? NaN;
report(
  '  health_check 16 (session read only)',
  `${perSecond(api.healthCheck.perSecond)}  ratio to bare SDK ${ratio(api.healthCheck.perSecond, bare16)}`,
);
report(
  '  bare SDK, server per request, 16',
  `${perSecond(bare.perRequest.perSecond)}  ratio to bare SDK ${ratio(bare.perRequest.perSecond, bare16)}`,
);
