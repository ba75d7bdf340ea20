import { DomainError, findUnstorableText } from '#core';
import type { BotId, ChannelId, TenantId } from '#core';
import type { HookName, HookOutcome } from '#bot-sandbox';
import { toMessageView } from '#channels';
import type {
  BotEffectsCommit,
  BotRecord,
  Channel,
  ChannelEvent,
  ChannelStore,
  MessageDraft,
  PendingEvent,
} from '#channels';
import type { BotAddress, EventBus } from '#events';
import { botPostFault } from './bot-posts.js';
import { hookCall } from './hook-call.js';
import type { HookEvent } from './hook-call.js';
import { LruMap } from './lru-map.js';

/** Channels kept in memory between hook runs (slot ids and labels never change). */
const CACHED_CHANNELS = 256;

export interface BotEffectsLogger {
  error(message: string): void;
}

/**
 * Where every hook's effects are committed, wherever the hook ran (inline, a runner process, a
 * pod): once per (bot, event), in one transaction, as DESIGN §6 says. Effects that break a rule
 * become one visible `bot:error` instead, and so does an event skipped as poison.
 */
export class BotEffects {
  private readonly channels = new LruMap<string, Channel>(CACHED_CHANNELS);

  constructor(
    private readonly store: ChannelStore,
    private readonly bus: EventBus,
    private readonly logger: BotEffectsLogger,
  ) {}

  /** The channel as hooks see it, cached. */
  async channel(tenantId: TenantId, channelId: ChannelId): Promise<Channel | null> {
    const key = `${tenantId}/${channelId}`;
    const cached = this.channels.get(key);
    if (cached) return cached;
    const channel = await this.store.findChannel(tenantId, channelId);
    if (channel) this.channels.set(key, channel);
    return channel;
  }

  /**
   * Commits a hook's outcome for `event` and wakes the channel; what was committed, or null when
   * the bot had moved past the event (another runner committed it first). If the database
   * refuses the effects, a `bot:error` is committed instead, so one bad output cannot stall the
   * bot forever; if that fails too (the database is down), the error propagates and the event
   * runs again later.
   */
  async commit(
    channel: Channel,
    bot: BotRecord,
    event: ChannelEvent,
    outcome: HookOutcome & { hook: HookName },
  ): Promise<BotEffectsCommit | null> {
    const effects = toCommit(channel, bot, event, outcome);
    let committed: BotEffectsCommit | null;
    try {
      committed = await this.save(channel, bot.botId, event.seq, effects);
    } catch (error) {
      // The database is away: nothing was refused; the event runs again once it is back.
      if (isUnavailable(error)) throw error;
      this.logger.error(
        `effects of ${bot.botId} for event ${event.seq} were refused: ${(error as Error).message}`,
      );
      const failure = failureCommit(
        bot,
        event,
        outcome.hook,
        'the hook’s effects could not be stored',
      );
      committed = await this.save(channel, bot.botId, event.seq, failure);
    }
    return committed;
  }

  /**
   * Moves the bot past its next uncommitted event with a visible `bot:error` instead of running
   * it: for an event whose hook keeps killing the process that runs it (a poison event), which
   * would otherwise be retried forever. False when the bot has no such event or is gone.
   */
  async quarantineNext(address: BotAddress, reason: string): Promise<boolean> {
    const { tenantId, channelId, botId } = address;
    const [bot, channel] = await Promise.all([
      this.store.findBot(tenantId, channelId, botId),
      this.channel(tenantId, channelId),
    ]);
    if (!bot || !channel) return false;
    const [next] = await this.store.pendingEvents(tenantId, channelId, botId, bot.lastEventSeq, 1);
    if (!next) return false;
    const hook = hookCall(channel.slots, toHookEvent(next)).hook;
    const failure = failureCommit(bot, next, hook, reason);
    return (await this.save(channel, botId, next.seq, failure)) !== null;
  }

  /** Commits effects unless the bot has moved past the event; wakes the channel when it did. */
  private async save(
    channel: Channel,
    botId: BotId,
    eventSeq: number,
    effects: BotEffectsCommit,
  ): Promise<BotEffectsCommit | null> {
    const committed = await this.store.commitBotEffects(
      channel.tenantId,
      channel.id,
      botId,
      eventSeq,
      effects,
    );
    if (!committed) return null;
    this.logBotErrors(channel, botId, effects);
    this.bus.publishWake(channel.tenantId, channel.id);
    return effects;
  }

  /**
   * One log line per committed `bot:error`: the bot, its channel and tenant, and the reason the
   * channel was given; nothing else the bot produced. The reason may quote the bot's own error
   * text, so it is quoted with every control character escaped: a bot cannot forge log lines or
   * send escape sequences to the operator's terminal.
   */
  private logBotErrors(channel: Channel, botId: BotId, effects: BotEffectsCommit): void {
    for (const message of effects.messages) {
      if (message.body['type'] !== 'bot:error') continue;
      const reason = JSON.stringify(String(message.body['error']).slice(0, 500)).replace(
        /[\u007f-\u009f\u2028\u2029]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
      this.logger.error(
        `bot:error bot=${botId} channel=${channel.id} tenant=${channel.tenantId} reason=${reason}`,
      );
    }
  }
}

/** The database could not be reached (a DomainError of kind `unavailable`). */
export function isUnavailable(error: unknown): boolean {
  return error instanceof DomainError && error.kind === 'unavailable';
}

/** The hosts the bot's manifest lets `ctx.fetch` reach (checked when the bot was attached). */
export function egressOf(manifest: Record<string, unknown>): string[] {
  const egress = manifest['egress'];
  return Array.isArray(egress)
    ? egress.filter((host): host is string => typeof host === 'string')
    : [];
}

/** The bot's `params` from its manifest. */
export function paramsOf(manifest: Record<string, unknown>): Record<string, unknown> {
  return (manifest['params'] as Record<string, unknown> | undefined) ?? {};
}

/** The event with its message as bots see it. */
export function toHookEvent(event: PendingEvent): HookEvent {
  return { ...event, message: event.message ? toMessageView(event.message) : null };
}

/** The only effect of a failed hook: a visible `bot:error` control message; the state stays. */
function failureCommit(
  bot: BotRecord,
  event: ChannelEvent,
  hook: HookName,
  error: string,
): BotEffectsCommit {
  return {
    messages: [
      {
        sender: `bot:${bot.botId}`,
        kind: 'control',
        body: { type: 'bot:error', bot_id: bot.botId, hook, event_seq: event.seq, error },
        toSlot: null,
      },
    ],
    state: undefined,
  };
}

/** Turns a hook outcome into what gets committed; any fault becomes one `bot:error` message. */
function toCommit(
  channel: Channel,
  bot: BotRecord,
  event: ChannelEvent,
  outcome: HookOutcome & { hook: HookName },
): BotEffectsCommit {
  const sender = `bot:${bot.botId}`;
  const failure = (error: string) => failureCommit(bot, event, outcome.hook, error);
  if (!outcome.ok) return failure(outcome.error);
  const { posts, state } = outcome.effects;
  const unstorable = findUnstorableText({ posts, state: state ?? null });
  if (unstorable !== null) {
    return failure(
      `the hook produced a value that cannot be stored (NUL, invalid Unicode or too deep) at ${unstorable.slice(0, 64)}`,
    );
  }
  for (const post of posts) {
    const fault = botPostFault(post);
    if (fault !== null) return failure(fault);
  }
  const unknownSlot = posts.find(
    (post) => post.to_slot !== null && !channel.slots.some((s) => s.slotId === post.to_slot),
  );
  if (unknownSlot)
    return failure(`ctx.dm to unknown slot "${String(unknownSlot.to_slot).slice(0, 32)}"`);
  const stateVersion = state ? bot.stateVersion + 1 : bot.stateVersion;
  const messages: MessageDraft[] = posts.map((post) => ({
    sender,
    kind: post.kind,
    body: { ...post.body, bot_id: bot.botId, state_version: stateVersion },
    toSlot: post.to_slot as MessageDraft['toSlot'],
  }));
  return { messages, state };
}
