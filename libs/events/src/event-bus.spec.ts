import { describe, expect, it } from '@jest/globals';
import type { BotId, ChannelId, TenantId } from '#core';
import { SubjectTokenError, eventSubject, wakeSubject } from './event-bus.js';
import { botSubject } from './runner-protocol.js';

const tenant = 'ten_default' as TenantId;
const channel = 'chn_AbC-d_0123' as ChannelId;
const bot = 'bot_GuessBot_0' as BotId;

describe('subjects (DESIGN §7)', () => {
  it('are built from ids that are url-safe tokens', () => {
    expect(wakeSubject(tenant, channel)).toBe('mp.ten_default.ch.chn_AbC-d_0123.wake');
    expect(eventSubject(tenant, channel)).toBe('mp.ten_default.ch.chn_AbC-d_0123.ev');
    expect(botSubject({ tenantId: tenant, channelId: channel, botId: bot }, 'effects')).toBe(
      'mp.ten_default.ch.chn_AbC-d_0123.bot.bot_GuessBot_0.effects',
    );
  });

  it.each([
    ['a dot', 'chn_a.b'],
    ['the > wildcard', 'chn_>'],
    ['a lone > wildcard', '>'],
    ['the * wildcard', '*'],
    ['a space', 'chn_a b'],
    ['a tab', 'chn_a\tb'],
    ['a newline', 'chn_a\r\nPUB x'],
    ['unicode', 'chn_ünï'],
    ['nothing', ''],
    ['65 characters', `chn_${'a'.repeat(61)}`],
    ['5,000 characters', 'a'.repeat(5000)],
  ])('are never built from an id with %s: that is a bug, so it throws', (_what, id) => {
    expect(() => wakeSubject(tenant, id)).toThrow(SubjectTokenError);
    expect(() => eventSubject(tenant, id)).toThrow(SubjectTokenError);
    expect(() => wakeSubject(id, channel)).toThrow(SubjectTokenError);
    expect(() =>
      botSubject({ tenantId: tenant, channelId: id as ChannelId, botId: bot }, 'load'),
    ).toThrow(SubjectTokenError);
    expect(() =>
      botSubject({ tenantId: tenant, channelId: channel, botId: id as BotId }, 'load'),
    ).toThrow(SubjectTokenError);
  });

  it('names the bad id in the error, cut short', () => {
    expect(() => wakeSubject(tenant, 'x'.repeat(5000))).toThrow(/^channel id "x{40}…" is not/);
  });
});
