// Issue 4: post_message → bot reply committed with process runners (plain and under gVisor) vs
// inline bots, all over the same PostgreSQL and NATS; runner cold start; memory per idle channel
// and per running bot. The baseline is a raw NATS request/reply round trip on the same server.
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { connectAgent } from '../test/support/mcp-client.js';
import type { Agent } from '../test/support/mcp-client.js';
import { startNats } from '../test/support/nats-server.mjs';
import type { TestNatsServer } from '../test/support/nats-server.mjs';
import { benchAppEnv, natsAppEnv } from './support/app-env.js';
import { openBenchDatabase } from './support/bench-database.js';
import { treeRssMb } from './support/process-memory.js';
import { startServerProcess } from './support/server-process.js';
import type { ServerProcess } from './support/server-process.js';
import { heading, ms, ratio, report, sleep, summarize } from './support/stats.js';

const WARMUP_POSTS = 50;
const TIMED_POSTS = 400;
const COLD_STARTS = 8;
const IDLE_CHANNELS = 200;
const RUNNING_BOTS = 8;

const ECHO_BOT = `export default class Echo {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(m) { if (!m.sender.startsWith('bot:')) this.ctx.post('bot', { echo: m.body.text }); }
}`;

interface Seat {
  readonly agent: Agent;
  readonly channelId: string;
}

async function seatIn(url: string, slots: string[], botCode?: string): Promise<Seat> {
  const agent = await connectAgent(url, 'bench-runners');
  const created = await agent.call<{ channel_id: string; invites: string[] }>('create_channel', {
    name: 'bench',
    slots,
    ...(botCode ? { bot_code: botCode } : {}),
  });
  await agent.call('join_channel', { invite_code: created.invites[0] });
  return { agent, channelId: created.channel_id };
}

async function post(seat: Seat, text: string): Promise<void> {
  await seat.agent.call('post_message', { channel_id: seat.channelId, body: text });
}

/** Each post returns once the bot's reply is committed; checks the last reply really is there. */
async function roundTrips(seat: Seat): Promise<number[]> {
  for (let i = 0; i < WARMUP_POSTS; i += 1) await post(seat, `warm-up ${i}`);
  const samples: number[] = [];
  for (let i = 0; i < TIMED_POSTS; i += 1) {
    const start = performance.now();
    await post(seat, `ping ${i}`);
    samples.push(performance.now() - start);
  }
  let echoes = 0;
  for (let cursor = 0; ;) {
    const page = await seat.agent.call<{
      messages: { body: Record<string, unknown> }[];
      cursor: number;
    }>('sync_messages', { channel_id: seat.channelId, cursor, timeout_ms: 0 });
    if (page.messages.length === 0) break;
    echoes += page.messages.filter((m) => m.body['echo'] !== undefined).length;
    cursor = page.cursor;
  }
  if (echoes !== WARMUP_POSTS + TIMED_POSTS) {
    throw new Error(`expected ${WARMUP_POSTS + TIMED_POSTS} replies, found ${echoes}`);
  }
  return samples;
}

/** create_channel with a bot returns once its init hook is committed: a runner's cold start. */
async function coldStarts(url: string): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < COLD_STARTS; i += 1) {
    const agent = await connectAgent(url, 'bench-cold');
    const start = performance.now();
    await agent.call('create_channel', {
      name: 'cold',
      slots: ['bot:echo', 'invite:a'],
      bot_code: ECHO_BOT,
    });
    samples.push(performance.now() - start);
    await agent.close();
  }
  return samples;
}

/** Raw NATS request/reply on the same server: the floor for one runner hop. */
async function natsRoundTrips(nats: TestNatsServer): Promise<number[]> {
  const nc = await connect({
    servers: nats.url,
    authenticator: credsAuthenticator(readFileSync(nats.credsFile)),
  });
  nc.subscribe('bench.echo', {
    callback: (_error, message) => {
      message.respond(message.data);
    },
  });
  const samples: number[] = [];
  for (let i = 0; i < WARMUP_POSTS + TIMED_POSTS; i += 1) {
    const start = performance.now();
    await nc.request('bench.echo', 'x');
    if (i >= WARMUP_POSTS) samples.push(performance.now() - start);
  }
  await nc.close();
  return samples;
}

async function withServer<T>(
  env: Record<string, string>,
  work: (server: ServerProcess) => Promise<T>,
): Promise<T> {
  const server = await startServerProcess('app-server', env);
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}

heading('bot runners: inline vs process vs process under gVisor (same PostgreSQL and NATS)');
const database = await openBenchDatabase();
const nats = await startNats();
try {
  const natsEnv = {
    ...natsAppEnv(nats),
    NATS_RUNNER_SIGNING_KEY_FILE: nats.signingKeyFile,
  };
  const floor = summarize(await natsRoundTrips(nats));
  report('raw NATS request/reply', `p50 ${ms(floor.p50)}  p99 ${ms(floor.p99)}`);
  const modes: [string, Record<string, string>][] = [
    ['inline', {}],
    ['process', { BOT_LAUNCHER: 'process' }],
    ['process + gVisor', { BOT_LAUNCHER: 'process', BOT_SANDBOX: 'gvisor' }],
  ];
  let inlineP50 = NaN;
  for (const [mode, extra] of modes) {
    await withServer({ ...benchAppEnv(database.url), ...natsEnv, ...extra }, async (server) => {
      const seat = await seatIn(server.url, ['bot:echo', 'invite:a'], ECHO_BOT);
      const latency = summarize(await roundTrips(seat));
      await seat.agent.close();
      if (mode === 'inline') inlineP50 = latency.p50;
      report(
        `${mode}: post_message→reply committed`,
        `p50 ${ms(latency.p50)}  p99 ${ms(latency.p99)}  (n ${latency.count}; ${ratio(latency.p50, inlineP50)} of inline p50, ${ratio(latency.p50, floor.p50)} NATS round trips)`,
      );
      if (mode === 'inline') return;
      const cold = summarize(await coldStarts(server.url));
      report(
        `${mode}: cold start (create_channel until init committed)`,
        `p50 ${ms(cold.p50)}  p99 ${ms(cold.p99)}  (n ${cold.count})`,
      );
    });
  }

  // Memory: channels with no bot cost only rows; each running bot costs its runner process.
  await withServer({ ...benchAppEnv(database.url), ...natsEnv }, async (server) => {
    const agent = await connectAgent(server.url, 'bench-memory');
    await sleep(500);
    const before = treeRssMb(server.pid);
    for (let i = 0; i < IDLE_CHANNELS; i += 1) {
      await agent.call('create_channel', { name: `idle ${i}`, slots: ['invite:a', 'invite:b'] });
    }
    await sleep(500);
    const after = treeRssMb(server.pid);
    report(
      'memory per idle channel (API RSS)',
      `${(((after - before) * 1024) / IDLE_CHANNELS).toFixed(1)} KiB  (${IDLE_CHANNELS} channels: ${before.toFixed(0)} → ${after.toFixed(0)} MiB)`,
    );
    await agent.close();
  });
  for (const [mode, extra] of modes.slice(1)) {
    await withServer({ ...benchAppEnv(database.url), ...natsEnv, ...extra }, async (server) => {
      await sleep(500);
      const before = treeRssMb(server.pid);
      const seats: Seat[] = [];
      for (let i = 0; i < RUNNING_BOTS; i += 1) {
        const seat = await seatIn(server.url, ['bot:echo', 'invite:a'], ECHO_BOT);
        await post(seat, 'hello');
        seats.push(seat);
      }
      await sleep(500);
      const after = treeRssMb(server.pid);
      report(
        `${mode}: memory per running bot (API + runners RSS)`,
        `${((after - before) / RUNNING_BOTS).toFixed(1)} MiB  (${RUNNING_BOTS} bots: ${before.toFixed(0)} → ${after.toFixed(0)} MiB)`,
      );
      await Promise.all(seats.map((seat) => seat.agent.close()));
    });
  }
} finally {
  nats.stop();
  await database.drop();
}
