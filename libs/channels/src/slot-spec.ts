import { InvalidRequestError } from '#core';
import { Limits } from './channel.limits.js';
import type { SlotKind } from './channel.types.js';

export interface SlotSpec {
  readonly kind: SlotKind;
  readonly label: string;
  readonly admin: boolean;
}

const KINDS: readonly SlotKind[] = ['bot', 'invite'];

/**
 * Parses `"<kind>:<label>"` with an optional `":admin"` suffix on invite slots.
 * Bot slots are always admin (spec/compat.md). The original accepted any kind; we name the two.
 */
export function parseSlotSpec(spec: string, index: number): SlotSpec {
  const colon = spec.indexOf(':');
  const kind = (colon < 0 ? spec : spec.slice(0, colon)).trim();
  let label = colon < 0 ? '' : spec.slice(colon + 1).trim();
  if (!KINDS.includes(kind as SlotKind)) {
    throw new InvalidRequestError(
      `slots[${index}] "${truncate(spec)}" has kind "${truncate(kind)}"; use "bot:<label>" or "invite:<label>".`,
    );
  }
  let admin = kind === 'bot';
  if (kind === 'invite' && label.endsWith(':admin')) {
    admin = true;
    label = label.slice(0, -':admin'.length).trim();
  }
  if (label.length === 0) label = kind === 'bot' ? 'bot' : `player${index}`;
  if (label.length > Limits.slotLabelLength || /\p{Cc}/u.test(label)) {
    throw new InvalidRequestError(
      `slots[${index}] has a label over ${Limits.slotLabelLength} characters or with control characters.`,
    );
  }
  return { kind: kind as SlotKind, label, admin };
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
