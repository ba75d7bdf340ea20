// DESIGN §10: 1,000 concurrent long polls held with flat memory. Holds that many `sync_messages`
// calls open (each a plain MCP request over its own HTTP connection, as connectors send them),
// samples the server's memory while they wait, then posts once and times how long the wake-up
// takes to answer them all. The baseline is the same server idle.
import { Agent as HttpAgent, request } from 'node:http';
import { startNats } from '../test/support/nats-server.mjs';
import { connectAgent } from '../test/support/mcp-client.js';
import { authorizeOpen } from '../test/support/oauth.js';
import { benchAppEnv, natsAppEnv } from './support/app-env.js';
import { openBenchDatabase } from './support/bench-database.js';
import { treeRssMb } from './support/process-memory.js';
import { startServerProcess } from './support/server-process.js';
import { heading, ms, report, sleep } from './support/stats.js';

const POLLS = 1_000;
const HOLD_SAMPLES = 4;
const SAMPLE_EVERY_MS = 2_500;

/** One `sync_messages` long poll as a self-contained MCP request; resolves with its status. */
function longPoll(
  url: string,
  token: string,
  args: Record<string, unknown>,
  agent: HttpAgent,
): Promise<number> {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'sync_messages', arguments: args },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/mcp`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

heading(`long polls: ${POLLS} sync_messages held at once (PostgreSQL and NATS)`);
const database = await openBenchDatabase();
const nats = await startNats();
const server = await startServerProcess('app-server', {
  ...benchAppEnv(database.url),
  ...natsAppEnv(nats),
});
const http = new HttpAgent({ keepAlive: true, maxSockets: Infinity });
try {
  const { accessToken } = await authorizeOpen(server.url);
  const agent = await connectAgent(server.url, 'bench-long-polls', accessToken);
  const created = await agent.call<{ channel_id: string; invites: string[] }>('create_channel', {
    name: 'waiting room',
    slots: ['invite:a'],
  });
  const joined = await agent.call<{ rejoin_token: string }>('join_channel', {
    invite_code: created.invites[0],
  });
  const { cursor } = await agent.call<{ cursor: number }>('sync_messages', {
    channel_id: created.channel_id,
    cursor: 0,
    timeout_ms: 0,
  });
  const args = {
    channel_id: created.channel_id,
    cursor,
    timeout_ms: 60_000,
    member_token: joined.rejoin_token,
  };
  await sleep(1_000);
  const idle = treeRssMb(server.pid);
  const polls = Array.from({ length: POLLS }, () => longPoll(server.url, accessToken, args, http));
  const held: number[] = [];
  for (let i = 0; i < HOLD_SAMPLES; i += 1) {
    await sleep(SAMPLE_EVERY_MS);
    held.push(treeRssMb(server.pid));
  }
  const start = performance.now();
  await agent.call('post_message', { channel_id: created.channel_id, body: 'wake up' });
  const statuses = await Promise.all(polls);
  const fanOut = performance.now() - start;
  const first = held[0] ?? NaN;
  const last = held.at(-1) ?? NaN;
  report('server RSS idle', `${idle.toFixed(1)} MiB`);
  report(
    `server RSS holding ${POLLS}`,
    `${held.map((mb) => mb.toFixed(1)).join(' → ')} MiB over ${((HOLD_SAMPLES * SAMPLE_EVERY_MS) / 1000).toFixed(0)} s`,
  );
  report(
    '  per held poll',
    `${(((first - idle) * 1024) / POLLS).toFixed(1)} KiB; drift while held ${(last - first).toFixed(1)} MiB (flat: within a few MiB)`,
  );
  report(
    'one post wakes them all',
    `${ms(fanOut)} until all ${POLLS} answered; ${statuses.filter((s) => s === 200).length} with 200`,
  );
  await agent.close();
} finally {
  http.destroy();
  await server.stop();
  nats.stop();
  await database.drop();
}
