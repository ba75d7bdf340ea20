import type { BotId, ChannelId, TenantId } from '#core';
import type { BotDefinition } from '../channel.types.js';
import type { PendingEvent } from './channel.store.js';

export type BotPreparation = { ok: true; definition: BotDefinition } | { ok: false; error: string };

/**
 * What the channel service needs from the bot runtime: checking a bot before it is attached,
 * and waiting until the channel's bots have reacted to committed events.
 */
export abstract class BotHost {
  /**
   * Loads a preset or checks inline code. A bot that cannot attach (an unknown preset, code
   * that does not parse, code in a language we do not run) is reported, never thrown:
   * spec/compat.md lists attach failures in `bot_errors`.
   */
  abstract prepare(spec: { code?: string | null; preset?: string | null }): Promise<BotPreparation>;

  /**
   * Resolves once every bot of the channel has committed its effects for events up to `eventSeq`,
   * or when the settle deadline passes (the hooks go on; their effects land later). `bots`, when
   * the caller already knows which bots are behind that event, saves reading them again; so does
   * `event`, the event just committed (with its message), for a bot that was caught up before it.
   */
  abstract settle(
    tenantId: TenantId,
    channelId: ChannelId,
    eventSeq: number,
    bots?: readonly BotId[],
    event?: PendingEvent,
  ): Promise<void>;

  /** The bots were removed from the channel (committed): their runners and scratch areas go. */
  abstract removed(tenantId: TenantId, channelId: ChannelId, bots: readonly BotId[]): Promise<void>;
}
