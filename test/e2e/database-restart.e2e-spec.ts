import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { eventually } from '../support/eventually.js';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { testNats } from '../support/nats.js';
import { PostgresOutage } from '../support/postgres-outage.js';
import type { ShutdownMode } from '../support/postgres-outage.js';
import { startPostgres } from '../support/postgres-server.mjs';
import type { RunningPostgres } from '../support/postgres-server.mjs';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { readAll } from './game-helpers.js';
import type { Created, Joined } from './game-helpers.js';
import {
  COUNTER,
  acked,
  botReplies,
  expectConsistentLog,
  expectOneReplyEach,
  settledLog,
  startTraffic,
  sleep,
} from './traffic.js';
import type { Attempt } from './traffic.js';

/** Answers each player message with its text and how many it has seen (its state). */
const UNAVAILABLE_TEXT = (tool: string) =>
  `Error calling tool '${tool}': UNAVAILABLE: The database is unavailable right now; retry in a few seconds.`;

/**
 * A bound on one call, far above any normal answer: a call that waits on a database that is not
 * there for longer than this has hung (the test fails on its timeout error, not on a clock).
 */
const CALL_TIMEOUT_MS = 20_000;

async function post(agent: Agent, channelId: string, body: string): Promise<CallToolResult> {
  return (await agent.client.callTool(
    { name: 'post_message', arguments: { channel_id: channelId, body } },
    undefined,
    { timeout: CALL_TIMEOUT_MS },
  )) as CallToolResult;
}

const textOf = (result: CallToolResult) =>
  result.content[0]?.type === 'text' ? result.content[0].text : '';

async function readyStatus(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`).catch(() => null))?.status ?? 0;
}

/**
 * PostgreSQL restarts under a running API (issue 11, item 6): a `fast` shutdown ends every session
 * with 57P01, an `immediate` one kills the server and the next start recovers from the WAL. The
 * API process stays up; while the database is away every call answers UNAVAILABLE (retryable) at
 * once, /readyz says 503 and /healthz 200; when it is back, the API reconnects by itself and
 * nothing acknowledged is lost, repeated or reordered. The server is this file's own: the run's
 * shared one serves the other test files.
 */
describe('PostgreSQL restarts under the API', () => {
  let postgres: RunningPostgres;
  let outage: PostgresOutage;
  let postgresDown = false;
  let dataDir: string;
  let app: TestApp;
  let agents: Agent[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
    outage = new PostgresOutage(postgres);
    dataDir = mkdtempSync(join(tmpdir(), 'mp-db-restart-'));
    app = await startTestApp({
      env: testNats().env,
      database: { engine: 'postgres', url: postgres.url, dataDir, drop: async () => undefined },
    });
    agents = await Promise.all([0, 1, 2].map((i) => connectAgent(app.url, `db-${i}`)));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close().catch(() => undefined)));
    if (postgresDown) outage.start();
    await app?.close();
    postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('answers UNAVAILABLE while it is down, recovers by itself, and loses nothing', async () => {
    const [first, second] = agents as [Agent, Agent];
    const created = await first.call<Created>('create_channel', {
      name: 'database outage',
      slots: ['bot:counter', ...agents.map((_, i) => `invite:p${i}`)],
      bot_code: COUNTER,
    });
    expect(created.bot_errors).toBeUndefined();
    const channelId = created.channel_id;
    const senders: string[] = [];
    for (const [i, agent] of agents.entries()) {
      const joined = await agent.call<Joined>('join_channel', { invite_code: created.invites[i] });
      senders.push(`member:${joined.slot_id}`);
    }

    const attempts: Attempt[] = [];
    const stopTraffic = startTraffic({ channelId, agents, senders, tag: 'db', attempts });

    /** One outage: stop the server with `mode`, check what callers see, start it again. */
    const outageOf = async (mode: ShutdownMode) => {
      const before = attempts.length;
      await eventually(
        async () => acked(attempts.slice(before)) >= 15,
        `traffic before the ${mode} stop`,
        60_000,
      );
      outage.stop(mode);
      postgresDown = true;

      await eventually(
        async () => (await readyStatus(app.url)) === 503,
        `/readyz to answer 503 after the ${mode} stop`,
        30_000,
      );
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

      // A post while the database is away: refused with the retryable code, at once.
      const body = `while down (${mode})`;
      const refused = await post(second, channelId, body);
      attempts.push({ body, sender: senders[1] ?? '', msgId: null, error: textOf(refused) });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toBe(UNAVAILABLE_TEXT('post_message'));
      const read = await first.client.callTool(
        { name: 'sync_messages', arguments: { channel_id: channelId, cursor: 0, timeout_ms: 0 } },
        undefined,
        { timeout: CALL_TIMEOUT_MS },
      );
      expect(textOf(read as CallToolResult)).toBe(UNAVAILABLE_TEXT('sync_messages'));

      // REST: problem+json 503 with Retry-After, and nothing of the database in it.
      const rest = await fetch(`${app.url}/api/v1/channels/${channelId}/messages?timeout_ms=0`, {
        headers: { authorization: `Bearer ${first.accessToken}` },
      });
      expect(rest.status).toBe(503);
      expect(rest.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(Number(rest.headers.get('retry-after'))).toBeGreaterThan(0);
      const problem = (await rest.json()) as Record<string, unknown>;
      expect(problem).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
      expect(JSON.stringify(problem)).not.toMatch(/SELECT|INSERT|postgres:|127\.0\.0\.1|\bat /);

      // A new MCP session (initialize stores one) is refused the same way, over JSON-RPC.
      const initialize = await fetch(`${app.url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${first.accessToken}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'probe', version: '1' },
          },
        }),
      });
      expect(initialize.status).toBe(503);
      expect(Number(initialize.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(JSON.stringify(await initialize.json())).toContain('UNAVAILABLE');

      const down = attempts.length;
      outage.start();
      postgresDown = false;
      await eventually(
        async () => (await readyStatus(app.url)) === 200,
        `/readyz to answer 200 again after the ${mode} outage`,
        60_000,
      );
      await eventually(
        async () => acked(attempts.slice(down)) >= 15,
        `traffic after the ${mode} outage`,
        60_000,
      );
    };

    try {
      await outageOf('fast');
      await outageOf('immediate');
    } finally {
      await stopTraffic();
    }

    // Every failed call failed with the retryable code: none with INTERNAL_ERROR, none hung.
    const failures = attempts.filter((a) => a.msgId === null);
    expect(failures.filter((a) => !a.error?.includes(': UNAVAILABLE: '))).toEqual([]);

    // The log: strictly increasing ids; every acknowledged post stored once, under its id and
    // sender; nothing stored that nobody posted; each agent's posts in the order it made them.
    const log = await settledLog(first, channelId, 60_000);
    // The bot kept replying: once to each stored player message, in order, counting 1..N.
    expectOneReplyEach(log, expectConsistentLog(log, attempts));

    // And it still does.
    await second.call('post_message', { channel_id: channelId, body: 'after both outages' });
    await eventually(
      async () =>
        botReplies(await readAll(first, channelId)).some(
          (r) => r.body['echo'] === 'after both outages',
        ),
      'the bot to answer a post after both outages',
      30_000,
    );
  }, 300_000);

  it('has a bot whose commit fell into the outage catch up by itself, with no later post', async () => {
    const [first] = agents as [Agent];
    // A hook long enough for the database to go away while it runs (the limit here is 1 s).
    const slowEcho = `export default class SlowEcho {
      constructor(ctx) { this.ctx = ctx; }
      onMessage(m) { const until = Date.now() + 700; while (Date.now() < until) {} this.ctx.post('bot', { echo: m.body.text }); }
    }`;
    const created = await first.call<Created>('create_channel', {
      name: 'outage mid-hook',
      slots: ['bot:echo', 'invite:p'],
      bot_code: slowEcho,
    });
    const channelId = created.channel_id;
    await first.call('join_channel', { invite_code: created.invites[0] });
    const posting = first.call('post_message', { channel_id: channelId, body: 'mid-hook' });
    await sleep(250);
    outage.stop('fast');
    postgresDown = true;
    await posting.catch(() => undefined);
    await sleep(2_500);
    outage.start();
    postgresDown = false;
    await eventually(
      async () => {
        const log = await readAll(first, channelId).catch(() => []);
        return log.some((m) => m.body['echo'] === 'mid-hook');
      },
      'the bot to commit its reply once the database is back',
      30_000,
    );
    // The post and one reply: no bot:error for the refused commit, no second reply.
    const log = (await readAll(first, channelId)).filter((m) => m.sender !== 'system');
    expect(log.map((m) => [m.sender.split(':')[0], m.body['text'] ?? m.body['echo']])).toEqual([
      ['member', 'mid-hook'],
      ['bot', 'mid-hook'],
    ]);
  }, 120_000);
});
