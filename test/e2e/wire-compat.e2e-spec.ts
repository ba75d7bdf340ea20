import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectAgent, toolError } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { readAll } from './game-helpers.js';
import type { Created, Joined } from './game-helpers.js';

/**
 * The wire differences where the original is right (issue 12, item 2; docs/compat.md). Each case
 * is one decision recorded there.
 */
describe('wire compatibility with the original', () => {
  let app: TestApp;
  let host: Agent;
  let player: Agent;
  let outsider: Agent;

  beforeAll(async () => {
    app = await startTestApp();
    [host, player, outsider] = await Promise.all([
      connectAgent(app.url),
      connectAgent(app.url),
      connectAgent(app.url),
    ]);
  });

  afterAll(async () => {
    await Promise.all([host, player, outsider].map((agent) => agent?.close()));
    await app?.close();
  });

  it("answers an inline bot's code_ref as null and a preset's as builtin://", async () => {
    const inline = await host.call<Created>('create_channel', {
      name: 'inline',
      slots: ['bot:b', 'invite:a'],
      bot_code: 'export default class B {}',
    });
    const preset = await host.call<Created>('create_channel', {
      name: 'preset',
      slots: ['bot:b', 'invite:a'],
      bot_preset: 'GuessBot',
    });
    const inlineCode = await host.call('get_bot_code', {
      channel_id: inline.channel_id,
      bot_id: 'bot_CustomBot_0',
    });
    const presetCode = await host.call('get_bot_code', {
      channel_id: preset.channel_id,
      bot_id: 'bot_GuessBot_0',
    });
    expect(inlineCode['code_ref']).toBeNull();
    expect(presetCode['code_ref']).toBe('builtin://GuessBot');
  });

  it('refuses an unknown argument by name, and creates nothing', async () => {
    const before = await host.call<{ total_channels: number }>('list_channels');
    const error = await toolError(
      host.call('create_channel', {
        name: 'with bots',
        slots: ['invite:a'],
        bots: [{ preset: 'GuessBot' }],
      }),
    );
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.text).toContain('unknown argument "bots"');
    expect(error.text).toContain('name, slots, bot_code, bot_preset');
    const after = await host.call<{ total_channels: number }>('list_channels');
    expect(after.total_channels).toBe(before.total_channels);

    const health = await toolError(host.call('health_check', { verbose: true }));
    expect(health.text).toContain('unknown argument "verbose"; it takes none');
  });

  it.each([
    [
      'an unknown preset',
      { bot_preset: 'ChessBot' },
      /Unknown bot_preset "ChessBot"; available: GuessBot/,
    ],
    ['code that does not parse', { bot_code: 'export default class {' }, /could not be loaded/],
    [
      'Python code',
      { bot_code: 'class Bot:\n    def __init__(self, ctx, params):\n        self.ctx = ctx\n' },
      /looks like Python/,
    ],
  ])(
    'creates the channel with bot_errors for %s, as for every bot that cannot attach',
    async (_, bot, reason) => {
      const created = await host.call<Created>('create_channel', {
        name: 'broken bot',
        slots: ['bot:b', 'invite:a'],
        ...bot,
      });
      expect(created.channel_id).toMatch(/^chn_/);
      expect(created.bot_errors).toEqual([expect.stringMatching(reason)]);
      const info = await host.call<{ bots: unknown[] }>('get_channel_info', {
        channel_id: created.channel_id,
      });
      expect(info.bots).toEqual([]);
    },
  );

  it('appends a bot slot when a preset comes without one', async () => {
    type WithSlots = Created & { view: { slots: { slot_id: string; kind: string }[] } };
    const created = await host.call<WithSlots>('create_channel', {
      name: 'no bot slot',
      slots: ['invite:alice', 'invite:bob'],
      bot_preset: 'GuessBot',
    });
    expect(created.bot_errors).toBeUndefined();
    expect(created.view.slots.map((slot) => [slot.slot_id, slot.kind])).toEqual([
      ['s0', 'invite'],
      ['s1', 'invite'],
      ['s2', 'bot'],
    ]);
    expect(created.invites).toHaveLength(2);
    const info = await host.call<{ bots: { bot_id: string }[] }>('get_channel_info', {
      channel_id: created.channel_id,
    });
    expect(info.bots.map((bot) => bot.bot_id)).toEqual(['bot_GuessBot_0']);
  });

  it("runs a bot ported with the original's hooks: on_join and on_private_message get slot ids", async () => {
    const ported = `export default class Ported {
      constructor(ctx, params) { this.ctx = ctx; }
      on_join(player_id) {
        const state = this.ctx.getState() ?? {};
        state.players = [...(state.players ?? []), player_id];
        this.ctx.setState(state);
        this.ctx.post('bot', { joined: player_id, type_of: typeof player_id });
      }
      on_private_message(slot_id, msg) {
        this.ctx.dm(slot_id, 'private', { to: slot_id, said: msg.text });
      }
    }`;
    const created = await host.call<Created>('create_channel', {
      name: 'ported',
      slots: ['bot:b', 'invite:a'],
      bot_code: ported,
    });
    const joined = await player.call<Joined>('join_channel', { invite_code: created.invites[0] });
    await player.call('dm_bot', {
      channel_id: created.channel_id,
      bot_id: 'bot_CustomBot_0',
      message: 'hi',
      member_token: joined.rejoin_token,
    });
    const seen = await readAll(player, created.channel_id, joined.rejoin_token);
    expect(seen.find((m) => 'joined' in m.body)?.body).toMatchObject({
      joined: 's1',
      type_of: 'string',
    });
    expect(seen.find((m) => 'said' in m.body)).toMatchObject({
      kind: 'private',
      to_slot: 's1',
      body: { to: 's1', said: 'hi' },
    });
  });

  it('lets a non-member of the tenant read a channel and its bot code, and nothing more', async () => {
    const created = await host.call<Created>('create_channel', {
      name: 'check before joining',
      slots: ['bot:b', 'invite:a'],
      bot_preset: 'GuessBot',
    });
    const info = await outsider.call<{ view: { channel_id: string }; bots: unknown[] }>(
      'get_channel_info',
      { channel_id: created.channel_id },
    );
    expect(info.view.channel_id).toBe(created.channel_id);
    expect(info.bots).toHaveLength(1);
    const code = await outsider.call('get_bot_code', {
      channel_id: created.channel_id,
      bot_id: 'bot_GuessBot_0',
    });
    expect(code['code_hash']).toMatch(/^sha256:/);
    const read = await toolError(
      outsider.call('sync_messages', { channel_id: created.channel_id, timeout_ms: 0 }),
    );
    expect(read.code).toBe('NOT_MEMBER');
    const post = await toolError(
      outsider.call('post_message', { channel_id: created.channel_id, body: 'hi' }),
    );
    expect(post.code).toBe('NOT_MEMBER');
  });

  it('explains in doc://quick-start how to write a bot', async () => {
    const doc = await host.client.readResource({ uri: 'doc://quick-start' });
    const text = doc.contents[0] && 'text' in doc.contents[0] ? doc.contents[0].text : '';
    for (const topic of [
      '## Write a bot',
      'export default class',
      'onJoin(member)',
      'onPrivateMessage(member, msg)',
      'ctx.setState',
      'static manifest',
      'Limits',
      'bot:error',
    ]) {
      expect(text).toContain(topic);
    }
  });
});
