import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectAgent, toolError } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { playToVerifiedEnd, readAll } from './game-helpers.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('GuessBot over MCP, two agents in separate sessions', () => {
  let app: TestApp;
  let host: Agent;
  let alice: Agent;
  let bob: Agent;

  beforeAll(async () => {
    app = await startTestApp();
    [host, alice, bob] = await Promise.all([
      connectAgent(app.url, 'host'),
      connectAgent(app.url, 'alice'),
      connectAgent(app.url, 'bob'),
    ]);
  });

  afterAll(async () => {
    await Promise.all([host, alice, bob].map((agent) => agent?.close()));
    await app?.close();
  });

  it('plays to the end with verified code, commitment and turns', async () => {
    expect(new Set([host.sessionId, alice.sessionId, bob.sessionId]).size).toBe(3);
    const created = await host.call<{
      channel_id: string;
      invites: string[];
      view: { slots: unknown[] };
    }>('create_channel', {
      name: 'guess',
      slots: ['bot:referee', 'invite:alice', 'invite:bob'],
      bot_preset: 'GuessBot',
    });
    expect(created.invites).toHaveLength(2);
    const channelId = created.channel_id;
    expect(channelId).toMatch(/^chn_[A-Za-z0-9_-]{11}$/);
    expect(created.invites[0]).toMatch(/^inv_[A-Za-z0-9_-]{22}$/);

    const joinedA = await alice.call<{
      slot_id: string;
      rejoin_token: string;
      bots: { bot_id: string }[];
    }>('join_channel', { invite_code: created.invites[0] });
    const joinedB = await bob.call<{ slot_id: string; rejoin_token: string }>('join_channel', {
      invite_code: created.invites[1],
    });
    expect(joinedA.slot_id).toBe('s1');
    expect(joinedB.slot_id).toBe('s2');
    expect(joinedA.rejoin_token).toMatch(/^rejoin_[A-Za-z0-9_-]{22}$/);
    const botId = joinedA.bots[0]?.bot_id ?? '';
    expect(botId).toBe('bot_GuessBot_0');

    // The attach hash is the hash of the code we can read.
    const code = await alice.call<{ inline_code: string; code_hash: string; code_ref: string }>(
      'get_bot_code',
      {
        channel_id: channelId,
        bot_id: botId,
      },
    );
    expect(code.code_ref).toBe('builtin://GuessBot');
    // The manifest and its hash are the original's (spec/compat.md "Default manifests").
    expect(code).toMatchObject({
      manifest: {
        summary: 'Number guessing referee',
        hooks: ['on_init', 'on_join', 'on_message'],
        emits: ['prompt', 'state', 'turn', 'judge'],
        params: { mode: 'number', range: [1, 100] },
      },
      manifest_hash: 'sha256:c82f5b7d61fd4bd5687054d4ad3b7e1a3cffc242d58fce2ab7fa5730ceccdd08',
    });
    expect(code.code_hash).toBe(`sha256:${sha256(code.inline_code)}`);
    const history = await readAll(alice, channelId);
    const attach = history.find((m) => m.body['type'] === 'bot:attach');
    expect(attach?.body['code_hash']).toBe(code.code_hash);
    const commit = history.find((m) => m.body['type'] === 'bot:commit')?.body['commit'];
    expect(commit).toMatch(/^[0-9a-f]{64}$/);
    const turn = [...history].reverse().find((m) => m.body['type'] === 'bot:turn');
    expect(turn?.body['player']).toBe('s1');

    // Bob guesses out of turn: the announced turn is the enforced one.
    await bob.call('post_message', { channel_id: channelId, body: 'I guess 50' });
    const afterBad = await readAll(bob, channelId);
    expect(afterBad.at(-1)?.body).toMatchObject({ type: 'violation', reason: 'BAD_TURN' });

    // !status is private to the asker.
    await alice.call('dm_bot', { channel_id: channelId, bot_id: botId, message: '!status' });
    const aliceView = await readAll(alice, channelId);
    const status = aliceView.find((m) => m.body['type'] === 'status');
    expect(status).toMatchObject({
      kind: 'private',
      to_slot: 's1',
      body: { you: 's1', your_turn: true, player_count: 2 },
    });
    const bobView = await readAll(bob, channelId);
    expect(bobView.some((m) => m.body['type'] === 'status')).toBe(false);

    // Binary search, taking turns, until the bot judges a guess correct.
    const final = await playToVerifiedEnd([alice, bob], channelId, commit);
    expect(final.at(-1)).toMatchObject({
      sender: `bot:${botId}`,
      kind: 'system',
      body: { type: 'end' },
    });
    const ids = final.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('refuses a guess from someone who is not in the channel', async () => {
    const created = await host.call<{ channel_id: string }>('create_channel', {
      name: 'closed',
      slots: ['bot:referee', 'invite:a'],
      bot_preset: 'GuessBot',
    });
    const error = await toolError(
      bob.call('post_message', { channel_id: created.channel_id, body: '5' }),
    );
    expect(error.code).toBe('NOT_MEMBER');
    expect(error.text).toMatch(/rejoin_token/);
  });
});
