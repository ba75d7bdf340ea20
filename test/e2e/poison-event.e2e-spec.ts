import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startApiProcess, stopApiProcess } from '../support/api-process.js';
import type { ApiProcess } from '../support/api-process.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { authorizeOpen } from '../support/oauth.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { readAll } from './game-helpers.js';
import type { Created, Joined } from './game-helpers.js';

/** Loops on the text "poison" (past any time the test waits), echoes everything else. */
const POISONED = `export default class Poisoned {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(m) {
    if (m.body.text === 'poison') for (;;) {}
    this.ctx.post('bot', { echo: m.body.text });
  }
}`;

/**
 * A poison event (issue 11, item 1): an event whose hook kills the process that runs it. Here the
 * test kills the API, SIGKILL, each time the hook is running, as a crash in the hook would. Before,
 * recovery replayed the event at every start, so the server died again on every restart; now the
 * starts are counted and the fourth skips the event with a visible bot:error.
 */
describe('a poison event', () => {
  let database: TestDatabase;
  let api: ApiProcess | undefined;
  let port: number;
  let publicUrl: string;
  let token: string;
  let sql: pg.Client;

  const start = async () => {
    api = await startApiProcess(port, publicUrl, database, {
      // Longer than the test: the hook is running whenever the test kills the server.
      BOT_HOOK_TIMEOUT_MS: '60000',
      BOT_SETTLE_TIMEOUT_MS: '300',
    });
  };
  const kill = async () => {
    api?.child.kill('SIGKILL');
    await api?.exited;
  };
  const agent = (): Promise<Agent> => connectAgent(publicUrl, 'poison-test', token);
  const recoveryAttempts = async (channelId: string): Promise<number> => {
    const { rows } = await sql.query<{ recovery_attempts: number }>(
      'SELECT recovery_attempts FROM bots WHERE channel_id = $1',
      [channelId],
    );
    return rows[0]?.recovery_attempts ?? 0;
  };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    await start();
    token = (await authorizeOpen(publicUrl)).accessToken;
    // The test reads the bots table as the database's owner, beside the server.
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await sql?.end();
    await stopApiProcess(api);
    await database?.drop();
  });

  it('is skipped with a bot:error after three starts, and the server and the bot go on', async () => {
    let player = await agent();
    const created = await player.call<Created>('create_channel', {
      name: 'poisoned',
      slots: ['bot:ref', 'invite:p'],
      bot_code: POISONED,
    });
    expect(created.bot_errors).toBeUndefined();
    const channelId = created.channel_id;
    const joined = await player.call<Joined>('join_channel', { invite_code: created.invites[0] });
    await player.call('post_message', { channel_id: channelId, body: 'poison' });
    await player.close();

    // The hook runs now; each start after a kill runs it again, and is counted.
    for (let starts = 1; starts <= 3; starts++) {
      await kill();
      await start();
      await eventually(
        async () => (await recoveryAttempts(channelId)) === starts,
        `recovery to start the poison event a time #${starts}`,
        30_000,
      );
    }
    await kill();
    await start();

    player = await agent();
    await eventually(
      async () =>
        (await readAll(player, channelId, joined.rejoin_token)).some(
          (m) => m.body['type'] === 'bot:error',
        ),
      'the poison event to be skipped',
      30_000,
    );
    await player.call('post_message', {
      channel_id: channelId,
      body: 'after',
      member_token: joined.rejoin_token,
    });
    const fromBot = (await readAll(player, channelId, joined.rejoin_token)).filter((m) =>
      m.sender.startsWith('bot:'),
    );
    expect(fromBot.map((m) => m.body['echo'] ?? m.body['error'])).toEqual([
      "the server stopped 3 times while this event's hook ran; the event was skipped",
      'after',
    ]);
    expect(await recoveryAttempts(channelId)).toBe(4);
    expect(api?.child.exitCode).toBeNull();
    await player.close();
  }, 180_000);
});
