import type { PendingEvent } from '#channels';
import type { BotAddress, NatsRunnerHub } from '#events';
import { BotLauncher } from './bot-launcher.js';
import { RunnerExitCode } from './runner-contract.js';
import type { RunnerReport } from './runner-contract.js';

/** Crashes (or stalls) on one event in a row, with no progress between, that make it a poison. */
export const POISON_STRIKES = 3;
/** Restart delays after crashes: doubling from the first, capped. */
const FIRST_RESTART_MS = 250;
const MAX_RESTART_MS = 30_000;
/** A runner that ran this long before crashing starts its backoff over. */
const STABLE_MS = 60_000;

/** How a runner ended: its exit code, or what ended it (a signal, a pod's reason such as OOMKilled). */
export interface RunnerExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** It never ran: its program could not be started, or its image pulled. */
  readonly neverRan?: boolean;
}

/** One runner a mechanism started. */
export interface RunnerHandle {
  /** Its process id or pod name, for logs and tests. */
  readonly id: string;
  /** Resolves once the runner has ended and its last reports have been read. */
  readonly exited: Promise<RunnerExit>;
  /** Asks it to stop, then ends it if it has not within the mechanism's grace period. */
  stop(): Promise<void>;
  /** Ends it at once. */
  kill(): void;
}

/**
 * How runners are started: a child process, a pod. The mechanism knows nothing of policy: it
 * starts one runner with its credentials, passes on what the runner reports, and ends it on
 * request. `RunnerFleet` decides when.
 */
export interface RunnerMechanism {
  start(
    address: BotAddress,
    credentials: string,
    onReport: (report: RunnerReport) => void,
  ): Promise<RunnerHandle>;
}

/**
 * Which API replica runs which bot's runner, where two replicas could otherwise start two runners
 * for one bot (pods have one name per bot). A claim lasts while this replica renews it; a replica
 * that dies loses its claims when they run out.
 */
export interface RunnerOwnership {
  /** Claims the bot for this replica; if another holds it, when that claim runs out (epoch ms). */
  claim(address: BotAddress): Promise<{ ok: true } | { ok: false; retryAt: number }>;
  /** Gives the claim up: this replica's runner of the bot has ended. */
  release(address: BotAddress): Promise<void>;
  /** Gives every claim up. */
  close(): Promise<void>;
}

export interface RunnerFleetOptions {
  /** Runners of one tenant at once. */
  readonly perTenant: number;
  readonly credentialsTtlSeconds: number;
  /** Called before a runner is needed: committed events should reach the bus now. */
  readonly nudge: () => void;
  /**
   * How long a runner may hold one event (from taking it into a hook until the API answered its
   * effects) before it counts as stuck: it is killed, and that counts as a crash on the event.
   */
  readonly stallMs: number;
  /**
   * Moves the bot past its next event with a visible `bot:error` saying `reason`
   * (BotEffects.quarantineNext); called when that event ended its runner POISON_STRIKES times in
   * a row, or when that many runners in a row never ran.
   */
  readonly quarantine: (address: BotAddress, reason: string) => Promise<boolean>;
  /** Absent: this replica runs every bot it is asked to (child processes are its own). */
  readonly ownership?: RunnerOwnership;
  readonly logger: { log(message: string): void; warn(message: string): void };
}

interface Runner {
  readonly address: BotAddress;
  readonly handle: RunnerHandle;
  readonly startedAt: number;
  /** When the bot last needed its runner (for choosing whom to stop at the tenant cap). */
  lastNeeded: number;
  /** Stopped on purpose: not restarted. */
  stopping: boolean;
  /** The event the runner is running a hook for, as it reported, and since when. */
  holding: { seq: number; since: number } | null;
  stallTimer: NodeJS.Timeout | null;
  /** Killed for holding its event too long. */
  stalled: boolean;
}

/** Runners that ended on one event in a row, without progress between. */
interface Strikes {
  readonly seq: number;
  crashed: number;
  stalled: number;
}

/**
 * The policy of runners outside the API process, whatever the mechanism (issue 13, item 1): one
 * runner per bot, started on the bot's first event and restarted with backoff when it crashes. A
 * runner stops itself when idle (exit 0) and starts again on the next event; at the per-tenant
 * cap, the tenant's least recently needed runner stops to make room; one tenant's starts take
 * turns, so the cap holds. Runners hold no state (it is in Postgres), so stopping one at any
 * moment loses nothing: its unacknowledged event is delivered again.
 *
 * A runner that holds one event longer than `stallMs` is killed; an event that ended its runner
 * POISON_STRIKES times in a row (crash, OOM kill or stall) with no progress of the bot between is
 * quarantined: the bot gets a `bot:error` for it and moves on (issue 11 item 7). With an
 * ownership, a bot runs on the one replica that holds its claim.
 */
export class RunnerFleet extends BotLauncher {
  private readonly runners = new Map<string, Runner>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly restarts = new Map<string, { failures: number; timer: NodeJS.Timeout | null }>();
  private readonly strikes = new Map<string, Strikes>();
  /** Per bot, runners in a row that never ran. */
  private readonly failedStarts = new Map<string, number>();
  /**
   * Per bot, until when an event a dead runner held may still come back (its ack wait, which
   * `stallMs` exceeds): a runner that stops idle before then is started again to receive it.
   */
  private readonly redeliveries = new Map<string, number>();
  /** Per tenant, the start in progress: starts of one tenant take turns, so the cap holds. */
  private readonly tenantTurns = new Map<string, Promise<void>>();
  /** Bots another replica holds: they are asked for again when its claim runs out. */
  private readonly claimWaits = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly hub: NatsRunnerHub,
    private readonly mechanism: RunnerMechanism,
    private readonly options: RunnerFleetOptions,
  ) {
    super();
  }

  /** Has the bot's runner up; it pulls the events itself, so their effects come later. */
  async catchUp(address: BotAddress, _eventSeq: number, _event: PendingEvent | null) {
    await this.ensureLogged(address);
    return false;
  }

  recover(address: BotAddress): Promise<void> {
    return this.ensureLogged(address);
  }

  /** Makes sure the bot's runner is running and its events are on their way to it. */
  async ensure(address: BotAddress): Promise<void> {
    this.options.nudge();
    const key = keyOf(address);
    const runner = this.runners.get(key);
    if (runner && !runner.stopping) {
      runner.lastNeeded = Date.now();
      return;
    }
    // A crashed runner waiting out its backoff starts when the delay ends.
    if (this.restarts.get(key)?.timer) return;
    await this.start(address);
  }

  private async ensureLogged(address: BotAddress): Promise<void> {
    try {
      await this.ensure(address);
    } catch (error) {
      this.options.logger.warn(
        `the runner of ${address.botId} could not start: ${(error as Error).message}`,
      );
    }
  }

  /** Stops the bot's runner for good and drops its place on the bus: the bot was removed. */
  async retire(address: BotAddress): Promise<void> {
    const key = keyOf(address);
    const restart = this.restarts.get(key);
    if (restart?.timer) clearTimeout(restart.timer);
    clearTimeout(this.claimWaits.get(key));
    this.claimWaits.delete(key);
    this.restarts.delete(key);
    this.strikes.delete(key);
    this.failedStarts.delete(key);
    this.redeliveries.delete(key);
    await this.starting.get(key);
    const runner = this.runners.get(key);
    if (runner) await this.stop(runner);
    await this.hub.discard(address);
  }

  /** The bot moved on: whatever ended its runners before was not its next event's fault. */
  override progressed(address: BotAddress): void {
    this.strikes.delete(keyOf(address));
    this.failedStarts.delete(keyOf(address));
    this.redeliveries.delete(keyOf(address));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const restart of this.restarts.values()) if (restart.timer) clearTimeout(restart.timer);
    for (const wait of this.claimWaits.values()) clearTimeout(wait);
    await Promise.all([...this.starting.values()]);
    await Promise.all([...this.runners.values()].map((runner) => this.stop(runner)));
    await this.options.ownership?.close();
  }

  /** Runners alive now, per tenant (for tests and benchmarks). */
  count(tenantId?: string): number {
    return [...this.runners.values()].filter(
      (runner) => !tenantId || runner.address.tenantId === tenantId,
    ).length;
  }

  /** The id (process id, pod name) of the bot's runner, if one runs (for fault tests). */
  runnerOf(address: BotAddress): string | null {
    return this.runners.get(keyOf(address))?.handle.id ?? null;
  }

  private start(address: BotAddress): Promise<void> {
    const key = keyOf(address);
    const pending = this.starting.get(key);
    if (pending) return pending;
    const started = this.inTurn(address.tenantId, () => this.launch(address)).finally(() =>
      this.starting.delete(key),
    );
    this.starting.set(key, started);
    return started;
  }

  /** Runs `work` after the tenant's previous start has finished. */
  private inTurn(tenantId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.tenantTurns.get(tenantId) ?? Promise.resolve();
    const turn = previous.then(work, work);
    const settled = turn.catch(() => undefined);
    this.tenantTurns.set(tenantId, settled);
    void settled.then(() => {
      if (this.tenantTurns.get(tenantId) === settled) this.tenantTurns.delete(tenantId);
    });
    return turn;
  }

  private async launch(address: BotAddress): Promise<void> {
    if (this.closed) return;
    if (!(await this.claim(address))) return;
    // Reports may come before start() resolves; they wait for the runner's record.
    let runner: Runner | null = null;
    const early: RunnerReport[] = [];
    let handle: RunnerHandle;
    try {
      await this.makeRoom(address.tenantId);
      await this.hub.prepare(address);
      const credentials = await this.hub.credentials(address, this.options.credentialsTtlSeconds);
      handle = await this.mechanism.start(address, credentials, (report) =>
        runner ? this.observe(runner, report) : early.push(report),
      );
    } catch (error) {
      // No runner: the claim must not keep other replicas from starting one.
      await this.options.ownership?.release(address).catch(() => undefined);
      throw error;
    }
    runner = {
      address,
      handle,
      startedAt: Date.now(),
      lastNeeded: Date.now(),
      stopping: false,
      holding: null,
      stallTimer: null,
      stalled: false,
    };
    for (const report of early) this.observe(runner, report);
    this.runners.set(keyOf(address), runner);
    this.options.logger.log(`runner started: ${describe(address)} id=${handle.id}`);
    const started = runner;
    void handle.exited.then((exit) => this.exited(started, exit));
  }

  /**
   * Claims the bot for this replica; false if another replica holds it, and then this one asks
   * again when that claim runs out, in case its holder died with the bot's events pending.
   */
  private async claim(address: BotAddress): Promise<boolean> {
    const { ownership } = this.options;
    if (!ownership) return true;
    const claim = await ownership.claim(address);
    if (claim.ok) return true;
    const key = keyOf(address);
    if (!this.claimWaits.has(key)) {
      const wait = setTimeout(
        () => {
          this.claimWaits.delete(key);
          void this.ensureLogged(address);
        },
        Math.max(claim.retryAt - Date.now(), 0) + 100,
      );
      wait.unref();
      this.claimWaits.set(key, wait);
    }
    return false;
  }

  /** Follows the event a runner holds, and when it has held one too long. */
  private observe(runner: Runner, report: RunnerReport): void {
    if (runner.stallTimer) clearTimeout(runner.stallTimer);
    runner.stallTimer = null;
    runner.holding = null;
    if (report.event === 'holding') {
      runner.holding = { seq: report.seq, since: Date.now() };
      runner.stallTimer = setTimeout(() => this.stalled(runner), this.options.stallMs);
      runner.stallTimer.unref();
    }
  }

  /** The runner held one event too long: it is stuck (a hook its isolate could not stop). */
  private stalled(runner: Runner): void {
    if (runner.stopping || !runner.holding) return;
    runner.stalled = true;
    this.options.logger.warn(
      `runner ${runner.address.botId} held event ${runner.holding.seq} for more than ${this.options.stallMs} ms: killing it`,
    );
    runner.handle.kill();
  }

  private exited(runner: Runner, { code, signal, neverRan }: RunnerExit): void {
    const key = keyOf(runner.address);
    if (runner.stallTimer) clearTimeout(runner.stallTimer);
    if (this.runners.get(key) === runner) this.runners.delete(key);
    this.options.ownership
      ?.release(runner.address)
      .catch((error: unknown) =>
        this.options.logger.warn(
          `runner ${runner.address.botId}: release failed: ${String(error)}`,
        ),
      );
    const exit = signal ?? `code ${code}`;
    if (!neverRan) this.failedStarts.delete(key);
    if (runner.stopping || this.closed || code === RunnerExitCode.gone) {
      this.options.logger.log(`runner stopped: ${describe(runner.address)} (${exit})`);
      this.restarts.delete(key);
      return;
    }
    if (code === RunnerExitCode.stopped) {
      this.options.logger.log(`runner exited: ${describe(runner.address)} (idle)`);
      this.restarts.delete(key);
      if ((this.redeliveries.get(key) ?? 0) > Date.now()) {
        // Idle, but an event its crashed predecessor held is due back: be there for it.
        this.start(runner.address).catch((error: unknown) =>
          this.options.logger.warn(
            `runner ${runner.address.botId} did not restart: ${String(error)}`,
          ),
        );
      }
      return;
    }
    if (runner.holding) this.redeliveries.set(key, Date.now() + this.options.stallMs);
    const ranFor = Date.now() - runner.startedAt;
    const previous = ranFor >= STABLE_MS ? 0 : (this.restarts.get(key)?.failures ?? 0);
    let failures = previous + 1;
    const how = runner.stalled ? 'stalled' : exit;
    const poison = neverRan ? this.failedStart(runner, exit) : this.strike(runner);
    // A skipped poison event is not the runner's failure: the next start is a fresh one.
    if (poison) failures = 1;
    const delay = Math.min(FIRST_RESTART_MS * 2 ** (failures - 1), MAX_RESTART_MS);
    this.options.logger.warn(
      `runner crashed: ${describe(runner.address)} (${how}); restarting in ${delay} ms`,
    );
    const timer = setTimeout(() => {
      this.restarts.set(key, { failures, timer: null });
      // After a quarantine, the next runner reads the bot past the skipped event. A runner that
      // cannot start is not tried again for a bot with nothing left to run: its next event will.
      void (poison ?? Promise.resolve(true))
        .then((skipped) => (skipped || !neverRan ? this.start(runner.address) : undefined))
        .catch((error: unknown) =>
          this.options.logger.warn(
            `runner ${runner.address.botId} did not restart: ${String(error)}`,
          ),
        );
    }, delay);
    timer.unref();
    this.restarts.set(key, { failures, timer });
  }

  /**
   * Counts a runner that ended while holding an event against that event; at POISON_STRIKES in
   * a row, quarantines it and returns the quarantine. A runner that ended holding nothing (it
   * could not start, or lost NATS) says nothing about the bot's events.
   */
  private strike(runner: Runner): Promise<boolean> | null {
    const held = runner.holding;
    if (!held) return null;
    const key = keyOf(runner.address);
    const last = this.strikes.get(key);
    const strikes = last?.seq === held.seq ? last : { seq: held.seq, crashed: 0, stalled: 0 };
    if (runner.stalled) strikes.stalled += 1;
    else strikes.crashed += 1;
    this.strikes.set(key, strikes);
    if (strikes.crashed + strikes.stalled < POISON_STRIKES) return null;
    this.strikes.delete(key);
    // The skipped event comes back only to be passed over: nothing to stay up for.
    this.redeliveries.delete(key);
    return this.skip(
      runner.address,
      `event ${held.seq}`,
      poisonReason(strikes, this.options.stallMs),
    );
  }

  /**
   * Counts a runner that never ran (its program could not start, its image could not be pulled);
   * at POISON_STRIKES in a row, the bot's next event is skipped with a `bot:error` that says why,
   * so the channel's members see it rather than a bot that never answers.
   */
  private failedStart(runner: Runner, how: string): Promise<boolean> | null {
    const key = keyOf(runner.address);
    const count = (this.failedStarts.get(key) ?? 0) + 1;
    this.failedStarts.set(key, count);
    if (count < POISON_STRIKES) return null;
    this.failedStarts.delete(key);
    const reason = `the bot's runner could not start (${how}) ${count} times in a row; this event was skipped`;
    return this.skip(runner.address, 'its next event', reason);
  }

  /** Skips the bot's next event with a `bot:error` saying `reason`; true if one was skipped. */
  private skip(address: BotAddress, what: string, reason: string): Promise<boolean> {
    this.options.logger.warn(
      `runner ${address.botId}: skipping ${what} with a bot:error (${reason})`,
    );
    return this.options
      .quarantine(address, reason)
      .then((skipped) => {
        if (!skipped) {
          this.options.logger.warn(
            `runner ${address.botId}: ${what} was not skipped (none pending, committed meanwhile, or the bot is gone)`,
          );
        }
        return skipped;
      })
      .catch((error: unknown) => {
        this.options.logger.warn(
          `runner ${address.botId}: ${what} could not be skipped: ${String(error)}`,
        );
        return false;
      });
  }

  /** At the tenant's cap, stops its least recently needed runner. */
  private async makeRoom(tenantId: string): Promise<void> {
    const mine = [...this.runners.values()].filter(
      (runner) => runner.address.tenantId === tenantId && !runner.stopping,
    );
    if (mine.length < this.options.perTenant) return;
    const oldest = mine.reduce((a, b) => (a.lastNeeded <= b.lastNeeded ? a : b));
    this.options.logger.log(
      `tenant ${tenantId} runs ${mine.length} runners (the cap): stopping ${oldest.address.botId}`,
    );
    await this.stop(oldest);
  }

  private async stop(runner: Runner): Promise<void> {
    runner.stopping = true;
    await runner.handle.stop();
  }
}

/** The `bot:error` sentence for a skipped event: what happened, plainly. */
export function poisonReason(
  strikes: { crashed: number; stalled: number },
  stallMs: number,
): string {
  const times = strikes.crashed + strikes.stalled;
  if (strikes.stalled === 0) {
    return `this event crashed the bot's runner ${times} times in a row; it was skipped`;
  }
  const seconds = Math.round(stallMs / 1000);
  if (strikes.crashed === 0) {
    return `the bot's runner got stuck on this event ${times} times in a row (no result within ${seconds} s); it was skipped`;
  }
  return `this event crashed the bot's runner or got it stuck (no result within ${seconds} s) ${times} times in a row; it was skipped`;
}

/** Which runner a log line is about: its bot, channel and tenant. */
function describe(address: BotAddress): string {
  return `bot=${address.botId} channel=${address.channelId} tenant=${address.tenantId}`;
}

function keyOf(address: BotAddress): string {
  return `${address.tenantId}/${address.channelId}/${address.botId}`;
}
