import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { eventually } from '../support/eventually.js';
import { startApiProcess, stopApiProcess } from '../support/api-process.js';
import type { ApiProcess } from '../support/api-process.js';
import { freePort } from '../support/free-port.js';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { natsOf, testNats } from '../support/nats.js';
import { startNats } from '../support/nats-server.mjs';
import type { TestNatsServer } from '../support/nats-server.mjs';
import { authorizeOpen } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { readAll } from './game-helpers.js';
import type { Created, Joined, Message, SyncResult } from './game-helpers.js';

/** Counts the players' messages in its state and answers each with its text and the count. */
const COUNTER = `export default class Counter {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(msg) {
    if (!msg || !msg.sender.startsWith('member:')) return;
    const count = (this.ctx.getState().count ?? 0) + 1;
    this.ctx.setState({ count });
    this.ctx.post('bot', { echo: msg.body.text ?? null, count });
  }
}`;

/** One post an agent tried. */
interface Attempt {
  readonly body: string;
  readonly sender: string;
  /** What post_message answered; null when the call failed (the post may be stored or not). */
  readonly msgId: number | null;
  readonly error?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Longer than a post may wait for its bot (BOT_SETTLE_TIMEOUT_MS, 5 s) while NATS is away. */
const POST_TIMEOUT_MS = 20_000;

/**
 * Posts `tag#0`, `tag#1`, … in sequence while `more(n)`, through the agent `via(n)` picks, and
 * records each attempt in `attempts` as it ends (so a scenario can watch the traffic). A failed
 * call is recorded, reported to `failed`, and followed by the next post. `abort(agent)` ends a
 * call in flight: the SDK client leaves a call whose response stream broke pending until its own
 * 60 s timeout, where a real agent would see the connection reset.
 */
async function postWhile(options: {
  channelId: string;
  sender: string;
  tag: string;
  more: (n: number) => boolean;
  via: (n: number) => Agent;
  attempts: Attempt[];
  failed?: (agent: Agent) => void;
  abort?: (agent: Agent) => AbortSignal;
}): Promise<void> {
  for (let n = 0; options.more(n); n++) {
    const body = `${options.tag}#${n}`;
    const agent = options.via(n);
    try {
      const result = (await agent.client.callTool(
        { name: 'post_message', arguments: { channel_id: options.channelId, body } },
        undefined,
        { timeout: POST_TIMEOUT_MS, signal: options.abort?.(agent) },
      )) as CallToolResult;
      if (result.isError) throw new Error(JSON.stringify(result.content));
      const posted = result.structuredContent as { msg_id: number };
      options.attempts.push({ body, sender: options.sender, msgId: posted.msg_id });
    } catch (error) {
      options.attempts.push({ body, sender: options.sender, msgId: null, error: String(error) });
      options.failed?.(agent);
      await sleep(50);
    }
  }
}

const acked = (attempts: readonly Attempt[]) => attempts.filter((a) => a.msgId !== null).length;

const playerMessages = (log: readonly Message[]) =>
  log.filter((m) => m.sender.startsWith('member:'));

const botReplies = (log: readonly Message[]) =>
  log.filter((m) => m.sender.startsWith('bot:') && m.kind === 'bot');

/**
 * The log against what the agents tried: ids strictly increase; every acknowledged post is stored
 * once, under the id and sender it was acknowledged with; nothing is stored that nobody posted, or
 * twice; each agent's acknowledged ids increase in the order it posted. Returns the players' messages.
 */
function expectConsistentLog(log: readonly Message[], attempts: readonly Attempt[]): Message[] {
  const ids = log.map((m) => m.id);
  expect(ids.filter((id, i) => i > 0 && id <= (ids[i - 1] ?? 0))).toEqual([]);
  const players = playerMessages(log);
  const bodies = players.map((m) => String(m.body['text']));
  expect(bodies.filter((body, i) => bodies.indexOf(body) !== i)).toEqual([]);
  const tried = new Set(attempts.map((a) => a.body));
  expect(bodies.filter((body) => !tried.has(body))).toEqual([]);
  const stored = new Map(players.map((m) => [String(m.body['text']), m]));
  const wrong = attempts
    .filter((a) => a.msgId !== null)
    .filter((a) => stored.get(a.body)?.id !== a.msgId || stored.get(a.body)?.sender !== a.sender)
    .map((a) => ({ ...a, stored: stored.get(a.body) ?? null }));
  expect(wrong).toEqual([]);
  for (const sender of new Set(attempts.map((a) => a.sender))) {
    const mine = attempts.filter((a) => a.sender === sender && a.msgId !== null);
    const order = mine.map((a) => a.msgId ?? 0);
    expect(order.filter((id, i) => i > 0 && id <= (order[i - 1] ?? 0))).toEqual([]);
  }
  return players;
}

/**
 * The counting bot answered each player message once, in the log's order, after it, and counted
 * 1..N: it saw every message event once and in order, and no hook failed.
 */
function expectOneReplyEach(log: readonly Message[], players: readonly Message[]): void {
  const replies = botReplies(log);
  expect(replies.map((r) => r.body['echo'])).toEqual(players.map((p) => p.body['text']));
  expect(replies.map((r) => r.body['count'])).toEqual(players.map((_, i) => i + 1));
  expect(replies.filter((r, i) => r.id <= (players[i]?.id ?? 0))).toEqual([]);
  expect(log.filter((m) => m.body['type'] === 'bot:error')).toEqual([]);
}

/** Waits until the bot has answered every player message in the log, then reads it once more. */
async function settledLog(agent: Agent, channelId: string): Promise<Message[]> {
  await eventually(
    async () => {
      const log = await readAll(agent, channelId);
      return botReplies(log).length >= playerMessages(log).length;
    },
    'a bot reply to every stored player message',
    30_000,
  );
  // A late duplicate reply would show up now.
  await sleep(500);
  return readAll(agent, channelId);
}

/** A channel with the counting bot, joined by every agent; returns it and each agent's sender. */
async function countingChannel(
  creator: Agent,
  members: readonly Agent[],
  name: string,
): Promise<{ channelId: string; senders: string[] }> {
  const created = await creator.call<Created>('create_channel', {
    name,
    slots: ['bot:counter', ...members.map((_, i) => `invite:p${i}`)],
    bot_code: COUNTER,
  });
  expect(created.bot_errors).toBeUndefined();
  const senders: string[] = [];
  for (const [i, member] of members.entries()) {
    const joined = await member.call<Joined>('join_channel', { invite_code: created.invites[i] });
    senders.push(`member:${joined.slot_id}`);
  }
  return { channelId: created.channel_id, senders };
}

/** The newest id the agent can see in the channel (a cursor for a long poll). */
async function lastId(agent: Agent, channelId: string): Promise<number> {
  return (await readAll(agent, channelId)).at(-1)?.id ?? 0;
}

/**
 * NATS carries the wake-ups, the outbox's events and the runners' traffic; Postgres is the
 * record. A NATS crash in the middle of traffic must lose nothing and repeat nothing: the relay
 * publishes what it could not, JetStream deduplicates, the runner's consumer resumes, and the API's
 * subscriptions (the long polls' wake-ups) come back with the connection.
 */
describe('stop and restart NATS during traffic', () => {
  let nats: TestNatsServer;
  let natsDown = false;
  let app: TestApp;
  let agents: Agent[] = [];

  beforeAll(async () => {
    nats = await startNats();
    app = await startTestApp({ env: { ...natsOf(nats).env, BOT_LAUNCHER: 'process' } });
    agents = await Promise.all([0, 1, 2, 3].map((i) => connectAgent(app.url, `nats-${i}`)));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close().catch(() => undefined)));
    // The API drains its NATS connections on close: give it a server to drain to.
    if (natsDown) await nats.start();
    await app?.close();
    nats?.stop();
  }, 60_000);

  it('loses and repeats nothing, and long polls wake again afterwards', async () => {
    const [first, second] = agents as [Agent, Agent];
    const { channelId, senders } = await countingChannel(first, agents, 'nats outage');

    // A long poll on a quiet channel, waiting across the whole outage.
    const quiet = await first.call<Created>('create_channel', {
      name: 'quiet',
      slots: ['invite:a', 'invite:b'],
    });
    await first.call('join_channel', { invite_code: quiet.invites[0] });
    await second.call('join_channel', { invite_code: quiet.invites[1] });
    const quietPollMs = 50_000;
    const quietPoll = first.call<SyncResult>('sync_messages', {
      channel_id: quiet.channel_id,
      cursor: await lastId(first, quiet.channel_id),
      timeout_ms: quietPollMs,
    });
    // Awaited below; a failure before then must not surface as an unhandled rejection.
    quietPoll.catch(() => undefined);

    const attempts: Attempt[] = [];
    let running = true;
    const traffic = Promise.all(
      agents.map((agent, i) =>
        postWhile({
          channelId,
          sender: senders[i] ?? '',
          tag: `nats-${i}`,
          more: () => running,
          via: () => agent,
          attempts,
        }),
      ),
    );

    try {
      await eventually(async () => acked(attempts) >= 20, 'traffic before the crash', 30_000);
      nats.kill();
      natsDown = true;
      const atCrash = attempts.length;
      await sleep(1500);
      await nats.start();
      natsDown = false;
      await eventually(
        async () => (await fetch(`${app.url}/readyz`)).status === 200,
        'the API to reconnect',
        30_000,
      );
      // The poll waits on a NATS subscription made before the crash: only a wake-up through NATS,
      // on the re-established subscription, ends it before its deadline.
      const wokenAt = Date.now();
      await second.call('post_message', { channel_id: quiet.channel_id, body: 'after the outage' });
      const woken = await quietPoll;
      expect(woken.messages.map((m) => m.body['text'])).toEqual(['after the outage']);
      expect(Date.now() - wokenAt).toBeLessThan(5_000);

      await eventually(
        async () => acked(attempts.slice(atCrash)) >= 20,
        'traffic after the restart',
        30_000,
      );
    } finally {
      running = false;
    }
    await traffic;

    const log = await settledLog(first, channelId);
    const players = expectConsistentLog(log, attempts);
    expectOneReplyEach(log, players);
    expect(players.length).toBeGreaterThanOrEqual(acked(attempts));

    // A fresh long poll on the busy channel wakes on a post, well before its deadline.
    const pollMs = 20_000;
    const started = Date.now();
    const poll = first.call<SyncResult>('sync_messages', {
      channel_id: channelId,
      cursor: log.at(-1)?.id ?? 0,
      timeout_ms: pollMs,
    });
    await sleep(300);
    await second.call('post_message', { channel_id: channelId, body: 'wake up' });
    const seen = await poll;
    expect(seen.messages[0]?.body['text']).toBe('wake up');
    expect(Date.now() - started).toBeLessThan(pollMs / 2);

    const final = await settledLog(first, channelId);
    expectOneReplyEach(final, playerMessages(final));
    expect(botReplies(final).at(-1)?.body).toMatchObject({
      echo: 'wake up',
      count: players.length + 1,
    });
  }, 90_000);
});

/**
 * Two replicas over one database behind one public URL, one killed outright in the middle of the
 * traffic: what it acknowledged is kept, what it was doing is at most done once, and the other
 * replica finishes its bots' work and goes on serving.
 */
describe('kill one API process under load', () => {
  let database: TestDatabase;
  let doomed: ApiProcess | undefined;
  let survivor: ApiProcess | undefined;
  /** Each agent's clients: [on the doomed replica, on the survivor], with one token. */
  let clients: [Agent, Agent][] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const nats = testNats().env;
    const [firstPort, secondPort] = [await freePort(), await freePort()];
    const publicUrl = `http://127.0.0.1:${firstPort}`;
    // One after the other: the first runs the migrations.
    doomed = await startApiProcess(firstPort, publicUrl, database, nats);
    survivor = await startApiProcess(secondPort, publicUrl, database, nats);
    clients = await Promise.all(
      [0, 1, 2, 3].map(async (i): Promise<[Agent, Agent]> => {
        const { accessToken } = await authorizeOpen(publicUrl);
        return [
          await connectAgent(publicUrl, `replicas-${i}-a`, accessToken),
          await connectAgent(survivor?.url ?? '', `replicas-${i}-b`, accessToken),
        ];
      }),
    );
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.flat().map((agent) => agent.close().catch(() => undefined)));
    await Promise.all([stopApiProcess(doomed), stopApiProcess(survivor)]);
    await database?.drop();
  }, 30_000);

  it('keeps every acknowledged post once and answers every stored one once', async () => {
    const onSurvivor = clients.map(([, b]) => b);
    const [admin] = onSurvivor as [Agent];
    const { channelId, senders } = await countingChannel(admin, onSurvivor, 'replica crash');

    const attempts: Attempt[] = [];
    let running = true;
    const killed = new AbortController();
    const alive = new AbortController().signal;
    const traffic = Promise.all(
      clients.map((pair, i) => {
        // Alternate between the replicas; after a failure, stay on the other one.
        let avoid: Agent | null = null;
        return postWhile({
          channelId,
          sender: senders[i] ?? '',
          tag: `replicas-${i}`,
          more: () => running,
          via: (n) => {
            const pick = pair[(n + i) % 2] as Agent;
            return pick === avoid ? (pair.find((agent) => agent !== avoid) as Agent) : pick;
          },
          attempts,
          failed: (agent) => (avoid = agent),
          abort: (agent) => (agent === pair[0] ? killed.signal : alive),
        });
      }),
    );

    try {
      await sleep(1000);
      await eventually(async () => acked(attempts) >= 30, 'traffic on both replicas', 30_000);
      doomed?.child.kill('SIGKILL');
      await doomed?.exited;
      killed.abort();
      const atKill = attempts.length;
      await sleep(1500);
      await eventually(
        async () => acked(attempts.slice(atKill)) >= 30,
        'traffic after the kill',
        30_000,
      );
    } finally {
      running = false;
    }
    await traffic;

    // Every agent tried the dead replica at least once: the failures are the uncertain posts.
    const failed = attempts.filter((a) => a.msgId === null);
    expect(failed.length).toBeGreaterThanOrEqual(1);

    // The survivor serves: a fresh post is answered, and its settle runs whatever the dead
    // replica left uncommitted before it.
    const fresh = await admin.call<{ msg_id: number }>('post_message', {
      channel_id: channelId,
      body: 'still here',
    });
    attempts.push({ body: 'still here', sender: senders[0] ?? '', msgId: fresh.msg_id });
    const log = await settledLog(admin, channelId);
    const players = expectConsistentLog(log, attempts);
    expectOneReplyEach(log, players);
    expect(players.length).toBeGreaterThanOrEqual(acked(attempts));
    expect(players.length).toBeLessThanOrEqual(attempts.length);
    expect(botReplies(log).at(-1)?.body).toMatchObject({
      echo: 'still here',
      count: players.length,
    });
    expect((await fetch(`${survivor?.url ?? ''}/readyz`)).status).toBe(200);
  }, 90_000);
});

/**
 * Many agents posting at once into many channels, each with its own bot runner process: every
 * message stored once and in each agent's order, every bot through every event once.
 */
describe('load: many agents × many messages across many channels', () => {
  const AGENTS = 8;
  const CHANNELS = 6;
  const PER_CHANNEL = 40;
  let app: TestApp;
  let agents: Agent[] = [];

  beforeAll(async () => {
    app = await startTestApp({ env: { ...testNats().env, BOT_LAUNCHER: 'process' } });
    agents = await Promise.all(
      Array.from({ length: AGENTS }, (_, i) => connectAgent(app.url, `load-${i}`)),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close().catch(() => undefined)));
    await app?.close();
  }, 30_000);

  it('stores every message once, in order, and each bot sees every event once', async () => {
    const [creator] = agents as [Agent];
    const channels: { channelId: string; senders: string[] }[] = [];
    for (let c = 0; c < CHANNELS; c++) {
      channels.push(await countingChannel(creator, agents, `load ${c}`));
    }

    const attempts = channels.map((): Attempt[] => []);
    const started = Date.now();
    await Promise.all(
      channels.flatMap(({ channelId, senders }, c) =>
        agents.map((agent, i) =>
          postWhile({
            channelId,
            sender: senders[i] ?? '',
            tag: `load-${i}-${c}`,
            more: (n) => n < PER_CHANNEL,
            via: () => agent,
            attempts: attempts[c] ?? [],
          }),
        ),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    const total = AGENTS * CHANNELS * PER_CHANNEL;
    console.log(
      `load: ${total} posts (${AGENTS} agents × ${CHANNELS} channels × ${PER_CHANNEL}), each answered by a runner process, in ${seconds.toFixed(1)} s: ${(total / seconds).toFixed(0)} messages/s`,
    );

    for (const [c, { channelId, senders }] of channels.entries()) {
      const tried = attempts[c] ?? [];
      expect(tried.filter((a) => a.msgId === null)).toEqual([]);
      const log = await settledLog(creator, channelId);
      const players = expectConsistentLog(log, tried);
      expect(players).toHaveLength(AGENTS * PER_CHANNEL);
      for (const [i, sender] of senders.entries()) {
        expect(players.filter((m) => m.sender === sender).map((m) => m.body['text'])).toEqual(
          Array.from({ length: PER_CHANNEL }, (_, n) => `load-${i}-${c}#${n}`),
        );
      }
      expectOneReplyEach(log, players);
    }
  }, 120_000);
});
