import { describe, expect, it } from '@jest/globals';
import type { BotId, ChannelId, PrincipalId, SlotId, TenantId } from '#core';
import { botInfoView, channelView, messageView, syncMessagesResult } from './channel.results.js';
import type { BotSummary, Channel, Message } from './channel.types.js';
import { toBotInfoView, toChannelView, toMessageView } from './channel.views.js';

const channel: Channel = {
  tenantId: 'ten_a' as TenantId,
  id: 'chn_AbCdEfGh-_1' as ChannelId,
  name: 'game',
  createdAt: new Date('2026-01-31T12:00:00Z'),
  createdBy: 'prn_a' as PrincipalId,
  slots: [
    {
      slotId: 's0' as SlotId,
      kind: 'bot',
      label: 'referee',
      admin: true,
      botId: 'bot_GuessBot_0' as BotId,
      principalId: null,
    },
    {
      slotId: 's1' as SlotId,
      kind: 'invite',
      label: 'alice',
      admin: false,
      botId: null,
      principalId: 'prn_b' as PrincipalId,
    },
    {
      slotId: 's2' as SlotId,
      kind: 'invite',
      label: 'bob',
      admin: false,
      botId: null,
      principalId: null,
    },
  ],
};

const message: Message = {
  id: 7,
  channelId: channel.id,
  sender: 'bot:bot_GuessBot_0',
  kind: 'bot',
  body: { type: 'judge', nested: { any: ['thing'] } },
  ts: new Date('2026-01-31T12:00:01.250Z'),
  toSlot: 's1' as SlotId,
};

const bot: BotSummary = {
  botId: 'bot_GuessBot_0' as BotId,
  slotId: 's0' as SlotId,
  name: 'GuessBot',
  version: '1.0',
  manifest: { summary: 'Number guessing referee' },
  codeRef: 'builtin://GuessBot',
  codeHash: `sha256:${'a'.repeat(64)}`,
  manifestHash: `sha256:${'b'.repeat(64)}`,
  stateVersion: 3,
  lastEventSeq: 9,
  createdAt: new Date('2026-01-31T12:00:00Z'),
};

describe('result schemas', () => {
  it('accept the views the service builds', () => {
    expect(channelView.parse(toChannelView(channel))).toEqual(toChannelView(channel));
    expect(messageView.parse(toMessageView(message))).toEqual(toMessageView(message));
    expect(botInfoView.parse(toBotInfoView(bot))).toEqual(toBotInfoView(bot));
    expect(botInfoView.safeParse({ ...toBotInfoView(bot), manifest: null }).success).toBe(true);
  });

  it('keep message bodies open and views closed', () => {
    const view = toMessageView(message);
    expect(messageView.safeParse({ ...view, body: { anything: [1, null] } }).success).toBe(true);
    expect(messageView.safeParse({ ...view, extra: 1 }).success).toBe(false);
    expect(messageView.safeParse({ ...view, to_slot: null }).success).toBe(true);
  });

  it('say which fields may be null, and no others', () => {
    const page = { messages: [], cursor: 0, view: toChannelView(channel) };
    expect(syncMessagesResult.safeParse(page).success).toBe(true);
    expect(syncMessagesResult.safeParse({ ...page, view: null }).success).toBe(true);
    expect(syncMessagesResult.safeParse({ ...page, cursor: null }).success).toBe(false);
    expect(
      channelView.safeParse({ ...toChannelView(channel), created_at: 'yesterday' }).success,
    ).toBe(false);
  });
});
