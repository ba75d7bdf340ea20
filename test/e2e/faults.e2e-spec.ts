import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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
import type { Created, Joined, SyncResult } from './game-helpers.js';
import {
  COUNTER,
  acked,
  botReplies,
  expectConsistentLog,
  expectOneReplyEach,
  playerMessages,
  postWhile,
  settledLog,
  startTraffic,
  sleep,
} from './traffic.js';
import type { Attempt } from './traffic.js';

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
    const stopTraffic = startTraffic({ channelId, agents, senders, tag: 'nats', attempts });

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
      await stopTraffic();
    }

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
