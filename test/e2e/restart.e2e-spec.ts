import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { readAll } from './game-helpers.js';

describe.each(['postgres', 'pglite'] as const)('a server restart on %s', (engine) => {
  let app: TestApp;
  let alice: Agent;
  let bob: Agent;

  beforeAll(async () => {
    app = await startTestApp({ engine, env: { BOT_SETTLE_TIMEOUT_MS: '2000' } });
    [alice, bob] = await Promise.all([connectAgent(app.url), connectAgent(app.url)]);
  });

  afterAll(async () => {
    await Promise.all([alice, bob].map((agent) => agent?.close()));
    await app?.close();
  });

  it('keeps the game, the sessions and the bot state', async () => {
    const created = await alice.call<{ channel_id: string; invites: string[] }>('create_channel', {
      name: 'survives',
      slots: ['bot:referee', 'invite:a', 'invite:b'],
      bot_preset: 'GuessBot',
    });
    const channelId = created.channel_id;
    await alice.call('join_channel', { invite_code: created.invites[0] });
    await bob.call('join_channel', { invite_code: created.invites[1] });
    await alice.call('post_message', { channel_id: channelId, body: '50' });
    const before = await readAll(alice, channelId);
    const firstJudge = before.find((m) => m.body['type'] === 'judge');
    expect(firstJudge?.body).toMatchObject({ player: 's1', guess: 50, guess_count: 1 });
    if (firstJudge?.body['result'] === 'correct') return; // a 1-in-100 first-guess win: nothing to continue

    await app.restart();

    // The same SDK sessions go on: their ids are in the database.
    await bob.call('post_message', { channel_id: channelId, body: '25' });
    const after = await readAll(bob, channelId);
    const judges = after.filter((m) => m.body['type'] === 'judge');
    expect(judges.map((m) => [m.body['player'], m.body['guess_count']])).toEqual([
      ['s1', 1],
      ['s2', 2],
    ]);
    const ids = after.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('runs a hook that was cut off by the restart exactly once afterwards', async () => {
    const slowEcho = `export default class SlowEcho {
      constructor(ctx) { this.ctx = ctx; }
      onMessage(msg) { const until = Date.now() + 300; while (Date.now() < until) {} this.ctx.post('bot', { echo: msg.body.text }); }
    }`;
    const created = await alice.call<{ channel_id: string; invites: string[] }>('create_channel', {
      name: 'cut off',
      slots: ['bot:echo', 'invite:a'],
      bot_code: slowEcho,
    });
    await alice.call('join_channel', { invite_code: created.invites[0] });
    // Stop the server while the hook may still be running; the event is committed already.
    const posting = alice
      .call('post_message', { channel_id: created.channel_id, body: 'once' })
      .catch(() => null);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await app.restart();
    await posting;
    let echoes: unknown[] = [];
    for (let i = 0; i < 50 && echoes.length === 0; i++) {
      echoes = (await readAll(alice, created.channel_id)).filter((m) => m.body['echo'] === 'once');
      if (echoes.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    echoes = (await readAll(alice, created.channel_id)).filter((m) => m.body['echo'] === 'once');
    expect(echoes).toHaveLength(1);
  }, 30_000);
});
