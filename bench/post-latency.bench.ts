// DESIGN §10: post_message → bot reply committed, p50 ≤ 5 ms and p99 ≤ 25 ms with an inline bot;
// posts at ≥ 0.8× the raw single-row `pg` INSERT rate on the same database, both measured here.
import { connectAgent } from '../test/support/mcp-client.js';
import type { Agent } from '../test/support/mcp-client.js';
import { benchAppEnv } from './support/app-env.js';
import { openBenchDatabase } from './support/bench-database.js';
import { rawInsertRate } from './support/raw-inserts.js';
import { startServerProcess } from './support/server-process.js';
import { heading, ms, perSecond, ratio, report, summarize } from './support/stats.js';
import { storeAppendRate } from './support/store-posts.js';
import { runClosedLoops } from './support/timed-loop.js';
import type { LoopOptions } from './support/timed-loop.js';

const WARMUP_POSTS = 100;
const TIMED_POSTS = 1_000;
const WRITER_COUNTS = [1, 16] as const;
/** Shorter than the default loop: this benchmark runs six of them and should stay under a minute. */
const RATE_LOOP: LoopOptions = { warmupMs: 500, durationMs: 4_000 };

/** Replies to every message in the same hook: the smallest bot that commits an effect. */
const ECHO_BOT = `export default class Echo {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(m) { this.ctx.post('bot', { echo: m.body.text }); }
}`;

interface Seat {
  readonly agent: Agent;
  readonly channelId: string;
  readonly memberToken: string;
}

/** A new channel with `slots`, and one agent seated in its first invite slot. */
async function seatIn(url: string, slots: string[], botCode?: string): Promise<Seat> {
  const agent = await connectAgent(url, 'bench-poster');
  const created = await agent.call<{ channel_id: string; invites: string[]; bot_errors?: string[] }>(
    'create_channel',
    { name: 'bench', slots, ...(botCode ? { bot_code: botCode } : {}) },
  );
  if (created.bot_errors) throw new Error(`the echo bot did not load: ${created.bot_errors.join('; ')}`);
  const joined = await agent.call<{ rejoin_token: string }>('join_channel', { invite_code: created.invites[0] });
  return { agent, channelId: created.channel_id, memberToken: joined.rejoin_token };
}

function post(seat: Seat, text: string): Promise<{ msg_id: number }> {
  return seat.agent.call<{ msg_id: number }>('post_message', {
    channel_id: seat.channelId,
    body: text,
    member_token: seat.memberToken,
  });
}

/** Latency of each post; post_message returns only once the bot's reply is committed. */
async function botRoundTrips(seat: Seat): Promise<number[]> {
  for (let i = 0; i < WARMUP_POSTS; i += 1) await post(seat, `warm-up ${i}`);
  const samples: number[] = [];
  for (let i = 0; i < TIMED_POSTS; i += 1) {
    const start = performance.now();
    await post(seat, `ping ${i}`);
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Outside the timing: the reply really is stored, right after the post, by the bot. */
async function checkReplyStored(seat: Seat): Promise<void> {
  const { msg_id } = await post(seat, 'is the echo stored?');
  const next = await seat.agent.call<{ messages: { sender: string; body: Record<string, unknown> }[] }>(
    'sync_messages',
    { channel_id: seat.channelId, cursor: msg_id, timeout_ms: 0, member_token: seat.memberToken },
  );
  const reply = next.messages[0];
  if (!reply?.sender.startsWith('bot:') || reply.body['echo'] !== 'is the echo stored?') {
    throw new Error(`no echo reply was committed before post_message returned: ${JSON.stringify(reply)}`);
  }
}

/** Posts/s into channels without bots: one writer per channel, each its own MCP session. */
async function postRate(url: string, writers: number) {
  const seats = await Promise.all(Array.from({ length: writers }, () => seatIn(url, ['invite:a'])));
  try {
    let n = 0;
    return await runClosedLoops(
      writers,
      async (writer) => {
        const seat = seats[writer];
        if (seat) await post(seat, `hello ${(n += 1)}`);
      },
      RATE_LOOP,
    );
  } finally {
    await Promise.all(seats.map((seat) => seat.agent.close()));
  }
}

heading('post_message: bot round trip and posting rate vs raw pg INSERTs (same PostgreSQL)');
const database = await openBenchDatabase();
const server = await startServerProcess('app-server', benchAppEnv(database.url));
try {
  const echo = await seatIn(server.url, ['bot:echo', 'invite:a'], ECHO_BOT);
  const latency = summarize(await botRoundTrips(echo));
  await checkReplyStored(echo);
  await echo.agent.close();
  report(
    'post_message→reply committed',
    `p50 ${ms(latency.p50)}  p99 ${ms(latency.p99)}  (n ${latency.count}; target p50 ≤ 5, p99 ≤ 25)`,
  );

  for (const writers of WRITER_COUNTS) {
    const posts = await postRate(server.url, writers);
    const raw = await rawInsertRate(database.url, writers, RATE_LOOP);
    const store = await storeAppendRate(database.url, writers, RATE_LOOP);
    const label = writers === 1 ? 'post_message, 1 client' : `post_message, ${writers} clients/channels`;
    report(
      label,
      `${perSecond(posts.perSecond)}  raw INSERT ${perSecond(raw.perSecond)}  ratio ${ratio(posts.perSecond, raw.perSecond)} (target ≥ 0.8)`,
    );
    report(
      `  store.appendMessage alone, ${writers}`,
      `${perSecond(store.perSecond)}  ratio to raw INSERT ${ratio(store.perSecond, raw.perSecond)}`,
    );
  }
} finally {
  await server.stop();
  await database.drop();
}
