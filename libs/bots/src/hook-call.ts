import type { HookName } from '#bot-sandbox';
import { memberRef } from '#channels';
import type { ChannelEventDraft, MessageView } from '#channels';

/** The slots of a channel as hooks name them. */
export interface SlotLabel {
  readonly slotId: string;
  readonly label: string;
}

/** A committed event as a hook needs it: a `message` event carries its message's view. */
export type HookEvent = TypeAndPayload<ChannelEventDraft> & {
  readonly message: MessageView | null;
};

/** Keeps each event type paired with its payload. */
type TypeAndPayload<E> = E extends ChannelEventDraft ? Pick<E, 'type' | 'payload'> : never;

/**
 * The hook an event calls and its arguments as the bot sees them, the same whether the hook runs
 * inline or in a runner.
 */
export function hookCall(
  slots: readonly SlotLabel[],
  event: HookEvent,
): { hook: HookName; args: unknown[] } {
  switch (event.type) {
    case 'init':
      return { hook: 'init', args: [] };
    case 'join':
      return { hook: 'join', args: [event.payload.member] };
    case 'dm':
      return { hook: 'private_message', args: [event.payload.member, event.payload.message] };
    case 'message': {
      const { message } = event;
      if (!message) return { hook: 'message', args: [null] };
      const slot = slots.find((s) => memberRef(s.slotId) === message.sender);
      const from = slot ? { slot_id: slot.slotId, label: slot.label } : null;
      return { hook: 'message', args: [{ ...message, from }] };
    }
  }
}
