import { workspaceDir } from '#bot-sandbox';
import type { HookName, HookOutcome, IsolateSandbox } from '#bot-sandbox';
import type { BotId, ChannelId, TenantId } from '#core';
import type { BotRecord, Channel, ChannelStore, PendingEvent } from '#channels';
import type { BotAddress } from '#events';
import { BotEffects, egressOf, isUnavailable, paramsOf, toHookEvent } from './bot-effects.js';
import { BotLauncher } from './bot-launcher.js';
import { hookCall } from './hook-call.js';
import { HookScheduler } from './hook-scheduler.js';
import type { FairShareSettings } from './hook-scheduler.js';
import { LruMap } from './lru-map.js';
import { SerialLanes } from './serial-lanes.js';

/** Events read per query while a bot catches up. */
const EVENT_BATCH = 32;

/** How long a bot waits to catch up again after the database was unreachable. */
const UNAVAILABLE_RETRY_MS = 2_000;

/** Starts of one event by recovery before it is taken for a poison event and skipped. */
const MAX_RECOVERY_ATTEMPTS = 3;

/** Bots (with their code and state) kept in memory between hook runs. */
const CACHED_BOTS = 256;

export interface InlineLauncherSettings {
  /** Where bots' scratch directories live (`ctx.workspace`); null: bots have none. */
  readonly workspaceRoot: string | null;
  /** How hooks run in this process are shared between tenants (issue 11, item 5). */
  readonly fairShare?: FairShareSettings;
}

/** Without settings: generous caps, for tests of other things. */
const UNBOUNDED_SHARE: FairShareSettings = {
  perProcess: 64,
  perTenant: 64,
  newPerTenant: 64,
  heavyPerProcess: 64,
  heavyPerTenant: 64,
  heavyHookMs: 1_000,
  tenantCpuMsPerMinute: Number.MAX_SAFE_INTEGER,
  tenantCpuBurstMs: Number.MAX_SAFE_INTEGER,
};

/**
 * The embedded default (DESIGN §2): hooks run in isolates inside the API process. For each bot,
 * the channel's events in order, one hook at a time, each hook's effects committed before the
 * next one runs. Tenants share the process's hooks fairly (HookScheduler).
 */
export class InlineBotLauncher extends BotLauncher {
  private readonly lanes = new SerialLanes();
  private readonly bots = new LruMap<string, BotRecord>(CACHED_BOTS);
  /** Per bot with work in flight, the latest event a caller is waiting for. */
  private readonly wanted = new Map<string, number>();
  private readonly scheduler: HookScheduler;
  /** Bots whose catch-up waits for the database to come back. */
  private readonly retries = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: ChannelStore,
    private readonly effects: BotEffects,
    private readonly sandbox: IsolateSandbox,
    private readonly settings: InlineLauncherSettings,
    private readonly logger: { error(message: string): void },
  ) {
    super();
    this.scheduler = new HookScheduler(settings.fairShare ?? UNBOUNDED_SHARE);
  }

  /** Runs the bot's events up to `eventSeq` here; true once their effects are committed. */
  async catchUp(address: BotAddress, eventSeq: number, event: PendingEvent | null): Promise<true> {
    await this.drain(address, eventSeq, event?.seq === eventSeq ? event : null);
    return true;
  }

  /**
   * Resumes the bot after a restart, counting a start of its oldest uncommitted event first: if
   * its hook is what stopped the process, the count grows with every start, and past
   * `MAX_RECOVERY_ATTEMPTS` the event is skipped with a visible `bot:error` instead of stopping
   * the server once more (a poison event, issue 11 item 1).
   */
  async recover(address: BotAddress, lastEventSeq: number): Promise<void> {
    const { tenantId, channelId, botId } = address;
    const [next] = await this.store.pendingEvents(tenantId, channelId, botId, lastEventSeq, 1);
    if (!next) return;
    const attempts = await this.store.countRecoveryAttempt(tenantId, channelId, botId, next.seq);
    if (attempts > MAX_RECOVERY_ATTEMPTS) {
      this.logger.error(`bot ${botId} in ${channelId}: event ${next.seq} skipped as poison`);
      this.bots.delete(keyOf(address));
      await this.effects.quarantineNext(
        address,
        `the server stopped ${attempts - 1} times while this event's hook ran; the event was skipped`,
      );
    }
    await this.drain(address, next.seq, null);
  }

  retire(address: BotAddress): Promise<void> {
    this.bots.delete(keyOf(address));
    return Promise.resolve();
  }

  close(): Promise<void> {
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.sandbox.dispose();
    return Promise.resolve();
  }

  /**
   * Has the bot catch up to at least `eventSeq`. `committed` is that event when the caller just
   * committed it: a bot caught up to the event before runs it without reading its pending events.
   */
  private drain(
    address: BotAddress,
    eventSeq: number,
    committed: PendingEvent | null,
  ): Promise<void> {
    const key = keyOf(address);
    // A request that joins a run waiting to start leaves its event here, so that run does not
    // take the shortcut for an older event and stop short of this one.
    this.wanted.set(key, Math.max(this.wanted.get(key) ?? 0, eventSeq));
    return this.lanes.schedule(key, async () => {
      try {
        await this.runPending(address, committed);
      } catch (error) {
        // The events stay uncommitted and run again on the next settle or recovery; while the
        // database is away, also by themselves once it is back, so a quiet channel catches up.
        this.logger.error(
          `bot ${address.botId} in ${address.channelId} stopped: ${(error as Error).message}`,
        );
        if (isUnavailable(error)) this.retryLater(key, () => this.drain(address, 0, null));
      }
    });
  }

  /** Runs `work` again after a pause, once per key however often it is asked for. */
  private retryLater(key: string, work: () => Promise<void>): void {
    if (this.retries.has(key)) return;
    const timer = setTimeout(() => {
      this.retries.delete(key);
      void work();
    }, UNAVAILABLE_RETRY_MS);
    timer.unref();
    this.retries.set(key, timer);
  }

  /**
   * Runs the bot's uncommitted events in order. The bot and its channel are kept in memory between
   * runs: slot ids and labels never change, and a stale bot (another runner moved it on) is caught
   * by the commit's guard on `last_event_seq`, after which the bot is read again.
   */
  private async runPending(address: BotAddress, committed: PendingEvent | null): Promise<void> {
    const { tenantId, channelId, botId } = address;
    const key = keyOf(address);
    let bot = this.bots.get(key) ?? (await this.store.findBot(tenantId, channelId, botId));
    const channel = await this.effects.channel(tenantId, channelId);
    if (!bot || !channel) {
      this.bots.delete(key);
      this.wanted.delete(key);
      return;
    }
    // The event just committed is all there is to run when the bot had run everything before it
    // and nobody has asked for a later event: then the read of pending events can be skipped.
    let shortcut =
      committed !== null &&
      bot.lastEventSeq === committed.seq - 1 &&
      (this.wanted.get(key) ?? 0) <= committed.seq;
    for (;;) {
      const events: PendingEvent[] =
        shortcut && committed
          ? [committed]
          : await this.store.pendingEvents(
              tenantId,
              channelId,
              botId,
              bot.lastEventSeq,
              EVENT_BATCH,
            );
      shortcut = false;
      let stale = false;
      for (const event of events) {
        const outcome = await this.runHook(channel, bot, event);
        const applied = await this.effects.commit(channel, bot, event, outcome);
        if (!applied) {
          stale = true;
          break;
        }
        bot = {
          ...bot,
          lastEventSeq: event.seq,
          state: applied.state ?? bot.state,
          stateVersion: applied.state ? bot.stateVersion + 1 : bot.stateVersion,
        };
      }
      if (stale) {
        this.bots.delete(key);
        bot = await this.store.findBot(tenantId, channelId, botId);
        if (!bot) {
          this.wanted.delete(key);
          return;
        }
        continue;
      }
      this.bots.set(key, bot);
      // A short batch means the bot has caught up with what was committed when it was read; an
      // event committed since then schedules a run of its own.
      if (events.length < EVENT_BATCH) {
        if ((this.wanted.get(key) ?? 0) <= bot.lastEventSeq) this.wanted.delete(key);
        return;
      }
    }
  }

  private async runHook(
    channel: Channel,
    bot: BotRecord,
    event: PendingEvent,
  ): Promise<HookOutcome & { hook: HookName }> {
    const call = hookCall(channel.slots, toHookEvent(event));
    const key = `${channel.tenantId}/${channel.id}/${bot.botId}`;
    const outcome = await this.scheduler.run(channel.tenantId, key, (budgetMs) =>
      this.sandbox.run({
        isolationKey: key,
        code: bot.code,
        params: paramsOf(bot.manifest),
        state: bot.state,
        channelId: channel.id,
        botId: bot.botId,
        hook: call.hook,
        args: call.args,
        now: Date.now(),
        egress: egressOf(bot.manifest),
        workspace: workspaceOf(
          this.settings.workspaceRoot,
          channel.tenantId,
          channel.id,
          bot.botId,
        ),
        cpuLimitMs: budgetMs,
      }),
    );
    return { ...outcome, hook: call.hook };
  }
}

/** The bot's scratch directory under `root`; null when bots have none. */
export function workspaceOf(
  root: string | null,
  tenantId: TenantId,
  channelId: ChannelId,
  botId: BotId,
): string | null {
  return root ? workspaceDir(root, tenantId, channelId, botId) : null;
}

function keyOf(address: BotAddress): string {
  return `${address.tenantId}/${address.channelId}/${address.botId}`;
}
