import { taggedSha256 } from '#core';
import type { BotId, ChannelId, TenantId } from '#core';
import { looksLikePython, readDeclaredManifest, wipeWorkspace } from '#bot-sandbox';
import { BotHost } from '#channels';
import type { BotDefinition, BotPreparation, ChannelStore, PendingEvent } from '#channels';
import type { BotAddress, EffectsReply, EffectsRequest, EventBus, LoadReply } from '#events';
import {
  DEFAULT_INLINE_MANIFEST,
  MANIFEST_MAX_BYTES,
  declaredManifest,
  manifestHash,
} from './bot-manifest.js';
import { egressOf, paramsOf, toHookEvent } from './bot-effects.js';
import type { BotEffects } from './bot-effects.js';
import type { BotLauncher } from './bot-launcher.js';
import { hookCall } from './hook-call.js';
import { workspaceOf } from './inline-bot.launcher.js';
import { presetNames, presetSource } from './presets.js';

export interface BotServiceSettings {
  /** How long a tool waits for the hooks it triggered (DESIGN §6, default 5 s). */
  readonly settleTimeoutMs: number;
  /** Where bots' scratch directories live (`ctx.workspace`); null: bots have none. */
  readonly workspaceRoot: string | null;
}

/**
 * The bots of channels (DESIGN §6): checks a bot before it is attached, has the launcher run each
 * bot's events in order (wherever it runs them), waits for their effects on behalf of the tools
 * that triggered them, and answers runners (their bot, their effects). State lives in Postgres,
 * so a restart resumes where the last committed event left off.
 */
export class BotService extends BotHost {
  constructor(
    private readonly store: ChannelStore,
    private readonly launcher: BotLauncher,
    private readonly effects: BotEffects,
    private readonly bus: EventBus,
    private readonly settings: BotServiceSettings,
  ) {
    super();
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
    const deadline = Date.now() + this.settings.settleTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.settings.settleTimeoutMs);
    });
    try {
      const done = await Promise.race([
        Promise.all(
          pending.map((botId) =>
            this.launcher.catchUp({ tenantId, channelId, botId }, eventSeq, event ?? null),
          ),
        ),
        timeUp,
      ]);
      if (done === null) return;
      // Bots whose hooks run elsewhere (a runner): their effects arrive through the database.
      const elsewhere = pending.filter((_, index) => !done[index]);
      if (elsewhere.length > 0) {
        await this.awaitCommits(tenantId, channelId, eventSeq, elsewhere, deadline);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resumes every bot that has uncommitted events, one at a time, e.g. after a restart. */
  async recover(): Promise<void> {
    const channels = await this.store.botsWithPendingEvents();
    for (const { tenantId, channelId } of channels) {
      for (const bot of await this.store.listBots(tenantId, channelId)) {
        await this.launcher.recover({ tenantId, channelId, botId: bot.botId }, bot.lastEventSeq);
      }
    }
  }

  async removed(tenantId: TenantId, channelId: ChannelId, bots: readonly BotId[]): Promise<void> {
    for (const botId of bots) {
      await this.launcher.retire({ tenantId, channelId, botId });
      const workspace = workspaceOf(this.settings.workspaceRoot, tenantId, channelId, botId);
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
      this.effects.channel(tenantId, channelId),
    ]);
    if (!bot || !channel) return { status: 'gone', stateApplied: false };
    if (request.seq <= bot.lastEventSeq) {
      this.launcher.progressed(address);
      return { status: 'duplicate', stateApplied: false };
    }
    const [next] = await this.store.pendingEvents(tenantId, channelId, botId, bot.lastEventSeq, 1);
    if (next?.seq !== request.seq) return { status: 'reload', stateApplied: false };
    const hook = hookCall(channel.slots, toHookEvent(next)).hook;
    // The guard on last_event_seq makes a second commit of this event (another runner) a no-op.
    const applied = await this.effects.commit(channel, bot, next, { ...request.outcome, hook });
    if (!applied) return { status: 'duplicate', stateApplied: false };
    this.launcher.progressed(address);
    return { status: 'committed', stateApplied: applied.state !== undefined };
  }

  /**
   * Waits until `bots` have committed their effects up to `eventSeq`, or the deadline passes,
   * re-reading on each of the channel's wake-ups (committed effects wake it, from any replica).
   */
  private async awaitCommits(
    tenantId: TenantId,
    channelId: ChannelId,
    eventSeq: number,
    bots: readonly BotId[],
    deadline: number,
  ): Promise<void> {
    let signal: () => void = () => undefined;
    const unsubscribe = this.bus.onWake(tenantId, channelId, () => signal());
    try {
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
}
