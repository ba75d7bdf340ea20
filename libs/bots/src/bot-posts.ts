import type { PostEffect } from '#bot-sandbox';
import { Limits } from '#channels';

/**
 * Message types the platform itself posts (spec/compat.md "System messages", and `bot:error`).
 * A bot posting one would pass for the platform, e.g. a `bot:attach` with a forged code hash.
 */
const PLATFORM_TYPES = new Set(['bots_announced', 'bot:attach', 'bot:manifest', 'bot:error']);

/** The rule member posts follow for kinds (channel.schemas), checked here on the host. */
const KIND = new RegExp(`^[A-Za-z0-9_.:-]{1,${Limits.messageKindLength}}$`);

/**
 * Why the API refuses a bot's post, or null. The driver checks kinds inside the isolate too, but
 * bot code can tamper with the isolate's built-ins and a runner may be compromised: what is
 * stored is checked where it is stored (issue 11, item 8).
 */
export function botPostFault(post: PostEffect): string | null {
  if (typeof post.kind !== 'string' || !KIND.test(post.kind)) {
    return `a message kind must be 1-${Limits.messageKindLength} letters, digits or _ . : -`;
  }
  const type = post.body['type'];
  if (typeof type === 'string' && PLATFORM_TYPES.has(type)) {
    return `message type "${type}" is reserved for the platform`;
  }
  return null;
}
