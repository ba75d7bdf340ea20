import { DomainError, findUnstorableText, taggedSha256 } from '#core';
import type { BotId, ChannelId, TenantId } from '#core';
import { looksLikePython, readDeclaredManifest, wipeWorkspace, workspaceDir } from '#bot-sandbox';
import type { HookName, HookOutcome } from '#bot-sandbox';
import { BotHost, toMessageView } from '#channels';
import type {
  BotDefinition,
  BotEffectsCommit,
  BotPreparation,
  BotRecord,
  Channel,
  ChannelEvent,
  ChannelStore,
  MessageDraft,
  PendingEvent,
} from '#channels';
import type { BotAddress, EffectsReply, EffectsRequest, EventBus, LoadReply } from '#events';
import {
  DEFAULT_INLINE_MANIFEST,
  MANIFEST_MAX_BYTES,
  declaredManifest,
  manifestHash,
} from './bot-manifest.js';
import type { BotLauncher } from './bot-launcher.js';
import type { BotRunners } from './bot-runners.js';
import { botPostFault } from './bot-posts.js';
import { hookCall } from './hook-call.js';
import { HookScheduler } from './hook-scheduler.js';
import type { FairShareSettings } from './hook-scheduler.js';
import type { HookEvent } from './hook-call.js';
import { presetNames, presetSource } from './presets.js';
import { LruMap } from './lru-map.js';
import { SerialLanes } from './serial-lanes.js';

/** Events read per query while a bot catches up. */
const EVENT_BATCH = 32;

/** How long a bot waits to catch up again after the database was unreachable. */
const UNAVAILABLE_RETRY_MS = 2_000;

/** Starts of one event by recovery before it is taken for a poison event and skipped. */
const MAX_RECOVERY_ATTEMPTS = 3;

/** Bots (with their code and state) and channels kept in memory between hook runs. */
const CACHED_BOTS = 256;

export interface BotServiceSettings {
  /** How long a tool waits for the hooks it triggered (DESIGN §6, default 5 s). */
  readonly settleTimeoutMs: number;
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

export interface BotServiceLogger {
  error(message: string): void;
}

/**
 * Runs the hook contract (DESIGN §6): for each bot, the channel's events in order, one hook at a
 * time; each hook's effects committed in one transaction keyed by (bot, event). A failing hook
 * commits only a visible `bot:error`. State lives in Postgres, so a restart resumes where the
 * last committed event left off.
 */
export class BotService extends BotHost {
  private readonly lanes = new SerialLanes();
  private readonly botCache = new LruMap<string, BotRecord>(CACHED_BOTS);
  private readonly channelCache = new LruMap<string, Channel>(CACHED_BOTS);
  /** Per bot with work in flight, the latest event a caller is waiting for. */
  private readonly wanted = new Map<string, number>();
  private readonly scheduler: HookScheduler;
  /** Bots whose catch-up waits for the database to come back. */
  private readonly retries = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: ChannelStore,
    private readonly launcher: BotLauncher,
    private readonly bus: EventBus,
    private readonly settings: BotServiceSettings,
    private readonly logger: BotServiceLogger,
    /** Set for `process` (and later `kubernetes`): hooks run there, not in this process. */
    private readonly runners: BotRunners | null = null,
  ) {
    super();
    this.scheduler = new HookScheduler(settings.fairShare ?? UNBOUNDED_SHARE);
  }

  prepare(spec: { code?: string | null; preset?: string | null }): Promise<BotPreparation> {
    if (spec.code) return Promise.resolve(this.prepareInline(spec.code));
    const name = spec.preset ?? '';
    const source = presetSource(name);
    if (source === null) {
      return Promise.resolve({
        ok: false,
        error: `Unknown bot_preset "${name.slice(0, 64)}"; available: ${presetNames().join(', ')}.`,
      });
    }
    return Promise.resolve(this.define(source, `builtin://${name}`, {}));
  }

  async settle(
    tenantId: TenantId,
    channelId: ChannelId,
    eventSeq: number,
    bots?: readonly BotId[],
    event?: PendingEvent,
  ): Promise<void> {
    const pending =
      bots ??
      (await this.store.listBots(tenantId, channelId))
        .filter((bot) => bot.lastEventSeq < eventSeq)
        .map((bot) => bot.botId);
    if (pending.length === 0) return;
    if (this.runners) return this.awaitRunners(tenantId, channelId, eventSeq, pending);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>(
      (resolve) => (timer = setTimeout(resolve, this.settings.settleTimeoutMs)),
    );
    try {
      await Promise.race([
        Promise.all(
          pending.map((botId) =>
            this.drain(
              tenantId,
              channelId,
              botId,
              eventSeq,
              event?.seq === eventSeq ? event : null,
            ),
          ),
        ),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resumes every bot that has uncommitted events, e.g. after a restart. Bots resume one at a
   * time, and each one's oldest uncommitted event is counted first: if its hook is what stopped
   * the process, the count grows with every start, and past `MAX_RECOVERY_ATTEMPTS` the event is
   * skipped with a visible `bot:error` instead of stopping the server once more (a poison event,
   * issue 11 item 1). Runners count their own crashes.
   */
  async recover(): Promise<void> {
    const channels = await this.store.botsWithPendingEvents();
    for (const { tenantId, channelId } of channels) {
      for (const bot of await this.store.listBots(tenantId, channelId)) {
        const address = { tenantId, channelId, botId: bot.botId };
        if (this.runners) await this.ensureRunner(address);
        else await this.recoverInline(address, bot.lastEventSeq);
      }
    }
  }

  private async recoverInline(address: BotAddress, lastEventSeq: number): Promise<void> {
    const { tenantId, channelId, botId } = address;
    const [next] = await this.store.pendingEvents(tenantId, channelId, botId, lastEventSeq, 1);
    if (!next) return;
    const attempts = await this.store.countRecoveryAttempt(tenantId, channelId, botId, next.seq);
    if (attempts > MAX_RECOVERY_ATTEMPTS) {
      this.logger.error(`bot ${botId} in ${channelId}: event ${next.seq} skipped as poison`);
      await this.quarantineNext(
        address,
        `the server stopped ${attempts - 1} times while this event's hook ran; the event was skipped`,
      );
    }
    await this.drain(tenantId, channelId, botId, next.seq, null);
  }

  async removed(tenantId: TenantId, channelId: ChannelId, bots: readonly BotId[]): Promise<void> {
    for (const botId of bots) {
      this.botCache.delete(`${tenantId}/${channelId}/${botId}`);
      await this.runners?.retire({ tenantId, channelId, botId });
      const workspace = this.workspaceOf(tenantId, channelId, botId);
      if (workspace) await wipeWorkspace(workspace);
    }
  }

  /** A runner's `load`: its bot as the runner needs it, or why there is none. */
  async runnerLoad(address: BotAddress): Promise<LoadReply> {
    const { tenantId, channelId, botId } = address;
    const [bot, channel] = await Promise.all([
      this.store.findBot(tenantId, channelId, botId),
      this.store.findChannel(tenantId, channelId),
    ]);
    if (!bot || !channel) return { ok: false, error: 'the bot was removed' };
    return {
      ok: true,
      bot: {
        code: bot.code,
        params: paramsOf(bot.manifest),
        egress: egressOf(bot.manifest),
        state: bot.state,
        lastEventSeq: bot.lastEventSeq,
        slots: channel.slots.map(({ slotId, label }) => ({ slotId, label })),
      },
    };
  }

  /**
   * A runner's effects for one event, committed as an inline hook's would be. The runner may
   * only commit the bot's next event: one it skipped or ran twice is refused (`reload`), and one
   * committed already (a redelivery) is acknowledged without a second commit (`duplicate`).
   */
  async runnerCommit(address: BotAddress, request: EffectsRequest): Promise<EffectsReply> {
    const { tenantId, channelId, botId } = address;
    const [bot, channel] = await Promise.all([
      this.store.findBot(tenantId, channelId, botId),
      this.channelOf(tenantId, channelId),
    ]);
    if (!bot || !channel) return { status: 'gone', stateApplied: false };
    if (request.seq <= bot.lastEventSeq) {
      this.runners?.progressed(address);
      return { status: 'duplicate', stateApplied: false };
    }
    const [next] = await this.store.pendingEvents(tenantId, channelId, botId, bot.lastEventSeq, 1);
    if (next?.seq !== request.seq) return { status: 'reload', stateApplied: false };
    const hook = hookCall(channel.slots, toHookEvent(next)).hook;
    const commit = toCommit(channel, bot, next, { ...request.outcome, hook });
    // The guard on last_event_seq makes a second commit of this event (another runner) a no-op.
    if (!(await this.commit(channel, bot, next, hook, commit))) {
      return { status: 'duplicate', stateApplied: false };
    }
    this.runners?.progressed(address);
    this.bus.publishWake(tenantId, channelId);
    return { status: 'committed', stateApplied: commit.state !== undefined };
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
      this.channelOf(tenantId, channelId),
    ]);
    if (!bot || !channel) return false;
    const [next] = await this.store.pendingEvents(tenantId, channelId, botId, bot.lastEventSeq, 1);
    if (!next) return false;
    const hook = hookCall(channel.slots, toHookEvent(next)).hook;
    this.botCache.delete(`${tenantId}/${channelId}/${botId}`);
    const failure = failureCommit(bot, next, hook, reason);
    const committed = await this.store.commitBotEffects(
      tenantId,
      channelId,
      botId,
      next.seq,
      failure,
    );
    if (committed) {
      this.logBotErrors(channel, botId, failure);
      this.bus.publishWake(tenantId, channelId);
    }
    return committed;
  }

  /**
   * Waits until the runners of `bots` have committed their effects up to `eventSeq`, re-reading
   * on each of the channel's wake-ups (committed effects wake it, from any replica).
   */
  private async awaitRunners(
    tenantId: TenantId,
    channelId: ChannelId,
    eventSeq: number,
    bots: readonly BotId[],
  ): Promise<void> {
    let signal: () => void = () => undefined;
    const unsubscribe = this.bus.onWake(tenantId, channelId, () => signal());
    const deadline = Date.now() + this.settings.settleTimeoutMs;
    try {
      await Promise.all(bots.map((botId) => this.ensureRunner({ tenantId, channelId, botId })));
      for (;;) {
        const woken = new Promise<void>((resolve) => (signal = resolve));
        const behind = (await this.store.listBots(tenantId, channelId)).filter(
          (bot) => bots.includes(bot.botId) && bot.lastEventSeq < eventSeq,
        );
        const left = deadline - Date.now();
        if (behind.length === 0 || left <= 0) return;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
        clearTimeout(timer);
      }
    } finally {
      unsubscribe();
    }
  }

  private async ensureRunner(address: BotAddress): Promise<void> {
    try {
      await this.runners?.ensure(address);
    } catch (error) {
      this.logger.error(
        `the runner of ${address.botId} could not start: ${(error as Error).message}`,
      );
    }
  }

  private workspaceOf(tenantId: TenantId, channelId: ChannelId, botId: BotId): string | null {
    const root = this.settings.workspaceRoot;
    return root ? workspaceDir(root, tenantId, channelId, botId) : null;
  }

  private async channelOf(tenantId: TenantId, channelId: ChannelId): Promise<Channel | null> {
    const key = `${tenantId}/${channelId}`;
    const cached = this.channelCache.get(key);
    if (cached) return cached;
    const channel = await this.store.findChannel(tenantId, channelId);
    if (channel) this.channelCache.set(key, channel);
    return channel;
  }

  private prepareInline(code: string): BotPreparation {
    if (looksLikePython(code)) {
      return {
        ok: false,
        error:
          'The bot could not be loaded: bot_code looks like Python. Bots here are JavaScript: an ES module whose default export is the bot class (read doc://quick-start).',
      };
    }
    return this.define(code, null, DEFAULT_INLINE_MANIFEST);
  }

  private define(
    code: string,
    codeRef: string | null,
    defaults: Record<string, unknown>,
  ): BotPreparation {
    // Read from the source, never by running it: bot code runs only where its hooks run.
    const read = readDeclaredManifest(code);
    if (!read.ok) return { ok: false, error: `The bot could not be loaded: ${read.error}` };
    let name = 'CustomBot';
    let version = '1.0';
    let manifest: Record<string, unknown> = { ...defaults };
    if (read.manifest) {
      const declared = declaredManifest.safeParse(read.manifest);
      if (!declared.success) {
        const issue = declared.error.issues[0];
        return {
          ok: false,
          error: `The bot's static manifest is invalid: ${issue?.path.join('.')} ${issue?.message}`,
        };
      }
      const { name: declaredName, version: declaredVersion, ...rest } = declared.data;
      name = declaredName ?? name;
      version = declaredVersion ?? version;
      manifest = { ...defaults, ...rest };
    }
    if (JSON.stringify(manifest).length > MANIFEST_MAX_BYTES) {
      return { ok: false, error: `The bot's manifest is larger than ${MANIFEST_MAX_BYTES} bytes.` };
    }
    const definition: BotDefinition = {
      name,
      version,
      manifest,
      codeRef,
      code,
      codeHash: taggedSha256(code),
      manifestHash: manifestHash(manifest),
    };
    return { ok: true, definition };
  }

  /**
   * Has the bot catch up to at least `eventSeq`. `committed` is that event when the caller just
   * committed it: a bot caught up to the event before runs it without reading its pending events.
   */
  private drain(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
    eventSeq: number,
    committed: PendingEvent | null,
  ): Promise<void> {
    const key = `${tenantId}/${channelId}/${botId}`;
    // A request that joins a run waiting to start leaves its event here, so that run does not
    // take the shortcut for an older event and stop short of this one.
    this.wanted.set(key, Math.max(this.wanted.get(key) ?? 0, eventSeq));
    return this.lanes.schedule(key, async () => {
      try {
        await this.runPending(tenantId, channelId, botId, committed);
      } catch (error) {
        // The events stay uncommitted and run again on the next settle or recovery; while the
        // database is away, also by themselves once it is back, so a quiet channel catches up.
        this.logger.error(`bot ${botId} in ${channelId} stopped: ${(error as Error).message}`);
        if (isUnavailable(error))
          this.retryLater(key, () => this.drain(tenantId, channelId, botId, 0, null));
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
  private async runPending(
    tenantId: TenantId,
    channelId: ChannelId,
    botId: BotId,
    committed: PendingEvent | null,
  ): Promise<void> {
    const key = `${tenantId}/${channelId}/${botId}`;
    let bot = this.botCache.get(key) ?? (await this.store.findBot(tenantId, channelId, botId));
    const channel = await this.channelOf(tenantId, channelId);
    if (!bot || !channel) {
      this.botCache.delete(key);
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
        const commit = toCommit(channel, bot, event, outcome);
        if (!(await this.commit(channel, bot, event, outcome.hook, commit))) {
          stale = true;
          break;
        }
        this.bus.publishWake(tenantId, channelId);
        bot = {
          ...bot,
          lastEventSeq: event.seq,
          state: commit.state ?? bot.state,
          stateVersion: commit.state ? bot.stateVersion + 1 : bot.stateVersion,
        };
      }
      if (stale) {
        this.botCache.delete(key);
        bot = await this.store.findBot(tenantId, channelId, botId);
        if (!bot) {
          this.wanted.delete(key);
          return;
        }
        continue;
      }
      this.botCache.set(key, bot);
      // A short batch means the bot has caught up with what was committed when it was read; an
      // event committed since then schedules a run of its own.
      if (events.length < EVENT_BATCH) {
        if ((this.wanted.get(key) ?? 0) <= bot.lastEventSeq) this.wanted.delete(key);
        return;
      }
    }
  }

  /**
   * Commits a hook's effects. If the database refuses them, it records a `bot:error` for the event
   * instead, so one bad output cannot stall the bot forever; if that fails too (the database is
   * down), the error propagates and the event runs again later.
   */
  private async commit(
    channel: Channel,
    bot: BotRecord,
    event: ChannelEvent,
    hook: HookName,
    effects: BotEffectsCommit,
  ): Promise<boolean> {
    try {
      const committed = await this.store.commitBotEffects(
        channel.tenantId,
        channel.id,
        bot.botId,
        event.seq,
        effects,
      );
      if (committed) this.logBotErrors(channel, bot.botId, effects);
      return committed;
    } catch (error) {
      // The database is away: nothing was refused; the event runs again once it is back.
      if (isUnavailable(error)) throw error;
      this.logger.error(
        `effects of ${bot.botId} for event ${event.seq} were refused: ${(error as Error).message}`,
      );
      const failure = failureCommit(bot, event, hook, 'the hook’s effects could not be stored');
      const committed = await this.store.commitBotEffects(
        channel.tenantId,
        channel.id,
        bot.botId,
        event.seq,
        failure,
      );
      if (committed) this.logBotErrors(channel, bot.botId, failure);
      return committed;
    }
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

  private async runHook(
    channel: Channel,
    bot: BotRecord,
    event: PendingEvent,
  ): Promise<HookOutcome & { hook: HookName }> {
    const call = hookCall(channel.slots, toHookEvent(event));
    const key = `${channel.tenantId}/${channel.id}/${bot.botId}`;
    const outcome = await this.scheduler.run(channel.tenantId, key, (budgetMs) =>
      this.launcher.run({
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
        workspace: this.workspaceOf(channel.tenantId, channel.id, bot.botId),
        cpuLimitMs: budgetMs,
      }),
    );
    return { ...outcome, hook: call.hook };
  }
}

/** The database could not be reached (a DomainError of kind `unavailable`). */
function isUnavailable(error: unknown): boolean {
  return error instanceof DomainError && error.kind === 'unavailable';
}

/** The hosts the bot's manifest lets `ctx.fetch` reach (checked when the bot was attached). */
function egressOf(manifest: Record<string, unknown>): string[] {
  const egress = manifest['egress'];
  return Array.isArray(egress)
    ? egress.filter((host): host is string => typeof host === 'string')
    : [];
}

/** The bot's `params` from its manifest. */
function paramsOf(manifest: Record<string, unknown>): Record<string, unknown> {
  return (manifest['params'] as Record<string, unknown> | undefined) ?? {};
}

/** The event with its message as bots see it. */
function toHookEvent(event: PendingEvent): HookEvent {
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
