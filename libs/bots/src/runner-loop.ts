import type { HookOutcome, HookRequest } from '#bot-sandbox';
import type {
  BotAddress,
  EffectsReply,
  EffectsRequest,
  EventConsumer,
  EventHandler,
  LoadReply,
  ReceivedChannelEvent,
  RunnerBot,
} from '#events';
import { hookCall } from './hook-call.js';
import type { HookEvent } from './hook-call.js';

/** What a runner needs of its connection (NatsRunnerLink is one). */
export interface RunnerConnection {
  load(): Promise<LoadReply>;
  commit(request: EffectsRequest): Promise<EffectsReply>;
  consume(handle: EventHandler): Promise<EventConsumer>;
}

/** Runs one hook; the isolate sandbox in a runner. */
export interface HookExecutor {
  run(request: HookRequest): Promise<HookOutcome>;
}

/**
 * Told when the runner takes an event into a hook and when it is done with it (committed, or
 * given back for a retry), so whoever watches the runner can tell a stuck hook from an idle one.
 */
export interface RunnerWatcher {
  holding(seq: number): void;
  released(seq: number): void;
}

/** The bot is no longer attached: the runner has nothing left to do. */
export class BotGoneError extends Error {}

/**
 * A runner's work (DESIGN §6 and §7): for each of its channel's events, in order, run the bot's
 * hook and send the effects to the API, which commits them keyed by (bot, event). An event is
 * acknowledged only after the API answered, so a runner killed mid-hook gets the event again and
 * the API commits it once. The bot's state is the API's; the runner re-reads it whenever the API
 * says its copy is stale.
 */
export class RunnerLoop {
  private bot: RunnerBot | null = null;
  private lastActivity = Date.now();

  constructor(
    private readonly address: BotAddress,
    private readonly connection: RunnerConnection,
    private readonly executor: HookExecutor,
    private readonly onGone: () => void,
    /** The bot's scratch directory, as the runner sees it; null: none. */
    private readonly workspace: string | null = null,
    private readonly watcher: RunnerWatcher | null = null,
  ) {}

  /** Reads the bot, then consumes events until stopped. */
  async start(): Promise<EventConsumer> {
    await this.reload();
    return this.connection.consume((event) => this.handle(event));
  }

  /** Milliseconds since the last event was handled (for stopping when idle). */
  idleMs(): number {
    return Date.now() - this.lastActivity;
  }

  private async reload(): Promise<RunnerBot> {
    const reply = await this.connection.load();
    if (!reply.ok) throw new BotGoneError(reply.error);
    this.bot = reply.bot;
    return reply.bot;
  }

  private async handle(event: ReceivedChannelEvent): Promise<void> {
    this.lastActivity = Date.now();
    const bot = this.bot ?? (await this.reload());
    if (event.seq <= bot.lastEventSeq) return;
    if (event.botId !== null && event.botId !== this.address.botId) return;
    this.watcher?.holding(event.seq);
    try {
      await this.run(bot, event);
    } finally {
      this.watcher?.released(event.seq);
    }
  }

  private async run(bot: RunnerBot, event: ReceivedChannelEvent): Promise<void> {
    const call = hookCall(bot.slots, event as unknown as HookEvent);
    const outcome = await this.executor.run({
      isolationKey: this.address.botId,
      code: bot.code,
      params: bot.params,
      state: bot.state,
      channelId: this.address.channelId,
      botId: this.address.botId,
      hook: call.hook,
      args: call.args,
      now: Date.now(),
      egress: bot.egress,
      workspace: this.workspace,
    });
    const reply = await this.connection.commit({ seq: event.seq, outcome });
    this.lastActivity = Date.now();
    switch (reply.status) {
      case 'committed':
        bot.lastEventSeq = event.seq;
        if (reply.stateApplied && outcome.ok && outcome.effects.state) {
          bot.state = outcome.effects.state;
        }
        return;
      case 'gone':
        this.onGone();
        return;
      case 'duplicate':
      case 'reload':
        // Committed elsewhere, or our copy is behind: read the bot again before the next event.
        this.bot = null;
    }
  }
}
