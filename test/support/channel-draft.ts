import type { ChannelDraft } from '#channels';
import type { BotId, ChannelId, PrincipalId, SlotId } from '#core';

/** A channel for store tests: bot `bot_Echo_0` in slot s0 (with its init event), invite slot s1. */
export function channelWithBot(id: string): ChannelDraft {
  const botId = 'bot_Echo_0' as BotId;
  return {
    id: id as ChannelId,
    name: id,
    createdBy: 'prn_x' as PrincipalId,
    slots: [
      { slotId: 's0' as SlotId, kind: 'bot', label: 'bot', admin: true, inviteHash: null, botId },
      {
        slotId: 's1' as SlotId,
        kind: 'invite',
        label: 'a',
        admin: false,
        inviteHash: `inv-${id}`,
        botId: null,
      },
    ],
    bots: [
      {
        botId,
        slotId: 's0' as SlotId,
        name: 'Echo',
        version: '1',
        manifest: {},
        codeRef: null,
        code: 'export default class Echo {}',
        codeHash: 'sha256:x',
        manifestHash: 'sha256:y',
      },
    ],
    messages: [],
    events: [{ type: 'init', botId, payload: {} }],
  };
}
