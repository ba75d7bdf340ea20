// DESIGN §10: a read tool over MCP at ≥ 0.8× the calls/s of a bare MCP SDK server with one
// trivial tool, at 16 concurrent sessions, both measured in this run with the same client loop.
import { connectAgent } from '../test/support/mcp-client.js';
import { benchAppEnv } from './support/app-env.js';
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

/** `sessions` MCP SDK clients, each with its own session, each calling the tool in a loop. */
async function callRate(url: string, call: ToolCall, sessions: number): Promise<LoopResult> {
  const agents = await Promise.all(Array.from({ length: sessions }, (_, i) => connectAgent(url, `bench-${i}`)));
  try {
    return await runClosedLoops(sessions, async (worker) => {
      await agents[worker]?.call(call.name, call.args);
    });
  } finally {
    await Promise.all(agents.map((agent) => agent.close()));
  }
}

async function withServer<T>(started: Promise<ServerProcess>, work: (url: string) => Promise<T>): Promise<T> {
  const server = await started;
  try {
    return await work(server.url);
  } finally {
    await server.stop();
  }
}

/** Our API on real PostgreSQL; get_channel_info reads the session, the channel, its slots and bots. */
async function measureApi(): Promise<Map<number, LoopResult>> {
  const database = await openBenchDatabase();
  try {
    return await withServer(startServerProcess('app-server', benchAppEnv(database.url)), async (url) => {
      const creator = await connectAgent(url, 'bench-creator');
      const created = await creator.call<{ channel_id: string }>('create_channel', {
        name: 'throughput',
        slots: ['invite:a', 'invite:b'],
      });
      await creator.close();
      const call = { name: 'get_channel_info', args: { channel_id: created.channel_id } };
      const results = new Map<number, LoopResult>();
      for (const sessions of SESSION_COUNTS) results.set(sessions, await callRate(url, call, sessions));
      return results;
    });
  } finally {
    await database.drop();
  }
}

async function measureBare(mode: 'stateful' | 'stateless', counts: readonly number[]): Promise<Map<number, LoopResult>> {
  return withServer(startServerProcess('bare-mcp-server', { BARE_MCP_MODE: mode }), async (url) => {
    const results = new Map<number, LoopResult>();
    for (const sessions of counts) results.set(sessions, await callRate(url, { name: 'ping', args: {} }, sessions));
    return results;
  });
}

heading('MCP read tool throughput: get_channel_info vs a bare MCP SDK server (one process each)');
const api = await measureApi();
const bare = await measureBare('stateful', SESSION_COUNTS);
const bareStateless = await measureBare('stateless', [16]);

for (const sessions of SESSION_COUNTS) {
  const ours = api.get(sessions)?.perSecond ?? NaN;
  const baseline = bare.get(sessions)?.perSecond ?? NaN;
  const target = sessions === 16 ? ` (target ≥ ${TARGET_RATIO})` : '';
  report(
    `get_channel_info ${sessions} session${sessions === 1 ? '' : 's'}`,
    `${perSecond(ours)}  bare SDK ${perSecond(baseline)}  ratio ${ratio(ours, baseline)}${target}`,
  );
}
// For reading the gap: the bare SDK again, but with a server and transport per request as ours has.
const stateless16 = bareStateless.get(16)?.perSecond ?? NaN;
report(
  '  bare SDK, per-request server, 16',
  `${perSecond(stateless16)}  (get_channel_info / this: ${ratio(api.get(16)?.perSecond ?? NaN, stateless16)})`,
);
