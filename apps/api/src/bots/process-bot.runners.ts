import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BotRunners } from '#bots';
import type { BotAddress, NatsRunnerHub } from '#events';

/** Runner exit codes (apps/bot-runner): 0 stopped or idle, 3 the bot is gone; others are crashes. */
const EXIT_GONE = 3;
/** Crashes (or stalls) on one event in a row, with no progress between, that make it a poison. */
export const POISON_STRIKES = 3;
/** After a runner exits, how long its last output lines may take to arrive. */
const OUTPUT_GRACE_MS = 2_000;
/** Restart delays after crashes: doubling from the first, capped. */
const FIRST_RESTART_MS = 250;
const MAX_RESTART_MS = 30_000;
/** A runner that ran this long before crashing starts its backoff over. */
const STABLE_MS = 60_000;
/** How long a runner has to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 5_000;

/** How one runner process is started: the command, and what to tidy once it has exited. */
export interface RunnerCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  cleanup(): Promise<void>;
}

export interface ProcessRunnerOptions {
  /** Builds the command for a bot's runner (plain node, or node inside gVisor). */
  readonly command: (address: BotAddress) => Promise<RunnerCommand>;
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
   * Moves the bot past its next event with a visible `bot:error` saying `reason` (BotService's
   * quarantineNext); called when that event ended its runner POISON_STRIKES times in a row.
   */
  readonly quarantine: (address: BotAddress, reason: string) => Promise<boolean>;
  readonly logger: { log(message: string): void; warn(message: string): void };
}

interface Runner {
  readonly address: BotAddress;
  readonly child: ChildProcess;
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
  readonly exited: Promise<void>;
}

/** Runners that ended on one event in a row, without progress between. */
interface Strikes {
  readonly seq: number;
  crashed: number;
  stalled: number;
}

/**
 * The `process` launcher (issue 4 item 4): one `bot-runner` child process per bot, started on the
 * bot's first event and restarted with backoff when it crashes. A runner stops itself when idle
 * (exit 0) and starts again on the next event; at the per-tenant cap, the tenant's least recently
 * needed runner stops to make room. Runners hold no state (it is in Postgres), so stopping one at
 * any moment loses nothing: its unacknowledged event is delivered again.
 *
 * Each runner's standard input stays open after its credentials: the API's death, however it
 * dies, ends it, and the runner exits (ADR 0006). A runner that holds one event longer than
 * `stallMs` is killed; an event that ended its runner POISON_STRIKES times in a row (crash, OOM
 * kill or stall) with no progress of the bot between is quarantined: the bot gets a `bot:error`
 * for it and moves on (issue 11 item 7).
 */
export class ProcessBotRunners extends BotRunners {
  private readonly runners = new Map<string, Runner>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly restarts = new Map<string, { failures: number; timer: NodeJS.Timeout | null }>();
  private readonly strikes = new Map<string, Strikes>();
  /**
   * Per bot, until when an event a dead runner held may still come back (its ack wait, which
   * `stallMs` exceeds): a runner that stops idle before then is started again to receive it.
   */
  private readonly redeliveries = new Map<string, number>();
  /** Per tenant, the start in progress: starts of one tenant take turns, so the cap holds. */
  private readonly tenantTurns = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly hub: NatsRunnerHub,
    private readonly options: ProcessRunnerOptions,
  ) {
    super();
  }

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

  async retire(address: BotAddress): Promise<void> {
    const key = keyOf(address);
    const restart = this.restarts.get(key);
    if (restart?.timer) clearTimeout(restart.timer);
    this.restarts.delete(key);
    this.strikes.delete(key);
    this.redeliveries.delete(key);
    await this.starting.get(key);
    const runner = this.runners.get(key);
    if (runner) await this.stop(runner);
    await this.hub.discard(address);
  }

  /** The bot moved on: whatever ended its runners before was not its next event's fault. */
  progressed(address: BotAddress): void {
    this.strikes.delete(keyOf(address));
    this.redeliveries.delete(keyOf(address));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const restart of this.restarts.values()) if (restart.timer) clearTimeout(restart.timer);
    await Promise.all([...this.starting.values()]);
    await Promise.all([...this.runners.values()].map((runner) => this.stop(runner)));
  }

  /** Runners alive now, per tenant (for tests and benchmarks). */
  count(tenantId?: string): number {
    return [...this.runners.values()].filter(
      (runner) => !tenantId || runner.address.tenantId === tenantId,
    ).length;
  }

  /** The process id of the bot's runner, if one runs (for fault tests). */
  pidOf(address: BotAddress): number | null {
    return this.runners.get(keyOf(address))?.child.pid ?? null;
  }

  private start(address: BotAddress): Promise<void> {
    const key = keyOf(address);
    const pending = this.starting.get(key);
    if (pending) return pending;
    const started = this.inTurn(address.tenantId, () => this.spawn(address)).finally(() =>
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

  private async spawn(address: BotAddress): Promise<void> {
    if (this.closed) return;
    await this.makeRoom(address.tenantId);
    await this.hub.prepare(address);
    const credentials = await this.hub.credentials(address, this.options.credentialsTtlSeconds);
    const command = await this.options.command(address);
    // Only what the runner needs: never the API's environment (database URL, secrets).
    const child = spawn(command.command, [...command.args], {
      env: { ...command.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // A runner that dies before reading its credentials must not take the API down with EPIPE.
    child.stdin.on('error', () => undefined);
    // The credentials, then nothing: the pipe stays open until this process ends (ADR 0006).
    child.stdin.write(`${credentials}\0`);
    const exited = new Promise<void>((resolve) => {
      let ended = false;
      // A child that could not start reports 'error' and may never report 'exit'.
      const end = (code: number | null, signal: NodeJS.Signals | null) => {
        if (ended) return;
        ended = true;
        command
          .cleanup()
          .catch((error: unknown) =>
            this.options.logger.warn(`runner cleanup failed: ${String(error)}`),
          );
        this.exited(runner, code, signal);
        resolve();
      };
      // 'close' comes once its output is read too (the last `holding` line counts); a grandchild
      // that keeps the output open must not keep the runner from being seen to exit.
      child.once('close', end);
      child.once('exit', (code, signal) => {
        setTimeout(() => end(code, signal), OUTPUT_GRACE_MS).unref();
      });
      child.once('error', (error) => {
        this.options.logger.warn(`runner ${address.botId} failed: ${error.message}`);
        if (child.pid === undefined) {
          end(null, null);
        }
      });
    });
    const runner: Runner = {
      address,
      child,
      startedAt: Date.now(),
      lastNeeded: Date.now(),
      stopping: false,
      holding: null,
      stallTimer: null,
      stalled: false,
      exited,
    };
    this.follow(runner);
    this.runners.set(keyOf(address), runner);
    this.options.logger.log(`runner started: ${describe(address)} pid=${child.pid ?? '-'}`);
  }

  /** Passes the runner's log lines on, tagged with its bot, and follows what it holds. */
  private follow(runner: Runner): void {
    const tag = `runner ${runner.address.botId}`;
    if (runner.child.stdout) {
      createInterface({ input: runner.child.stdout }).on('line', (line) => {
        if (!this.observe(runner, line)) this.options.logger.log(`${tag}: ${line.slice(0, 2048)}`);
      });
    }
    if (runner.child.stderr) {
      createInterface({ input: runner.child.stderr }).on('line', (line) =>
        this.options.logger.warn(`${tag}: ${line.slice(0, 2048)}`),
      );
    }
  }

  /** Reads a `holding` or `released` line (apps/bot-runner); false for any other line. */
  private observe(runner: Runner, line: string): boolean {
    if (!line.startsWith('{"event":"holding"') && !line.startsWith('{"event":"released"')) {
      return false;
    }
    let report: { event?: unknown; seq?: unknown };
    try {
      report = JSON.parse(line) as typeof report;
    } catch {
      return false;
    }
    if (typeof report.seq !== 'number') return false;
    if (runner.stallTimer) clearTimeout(runner.stallTimer);
    runner.stallTimer = null;
    runner.holding = null;
    if (report.event === 'holding') {
      runner.holding = { seq: report.seq, since: Date.now() };
      runner.stallTimer = setTimeout(() => this.stalled(runner), this.options.stallMs);
      runner.stallTimer.unref();
    }
    return true;
  }

  /** The runner held one event too long: it is stuck (a hook its isolate could not stop). */
  private stalled(runner: Runner): void {
    if (runner.stopping || !runner.holding) return;
    runner.stalled = true;
    this.options.logger.warn(
      `runner ${runner.address.botId} held event ${runner.holding.seq} for more than ${this.options.stallMs} ms: killing it`,
    );
    runner.child.kill('SIGKILL');
  }

  private exited(runner: Runner, code: number | null, signal: NodeJS.Signals | null): void {
    const key = keyOf(runner.address);
    if (runner.stallTimer) clearTimeout(runner.stallTimer);
    if (this.runners.get(key) === runner) this.runners.delete(key);
    const exit = signal ?? `code ${code}`;
    if (runner.stopping || this.closed || code === EXIT_GONE) {
      this.options.logger.log(`runner stopped: ${describe(runner.address)} (${exit})`);
      this.restarts.delete(key);
      return;
    }
    if (code === 0) {
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
    const poison = this.strike(runner);
    // A skipped poison event is not the runner's failure: the next start is a fresh one.
    if (poison) failures = 1;
    const delay = Math.min(FIRST_RESTART_MS * 2 ** (failures - 1), MAX_RESTART_MS);
    this.options.logger.warn(
      `runner crashed: ${describe(runner.address)} (${how}); restarting in ${delay} ms`,
    );
    const timer = setTimeout(() => {
      this.restarts.set(key, { failures, timer: null });
      // After a quarantine, the next runner reads the bot past the skipped event.
      void (poison ?? Promise.resolve())
        .then(() => this.start(runner.address))
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
  private strike(runner: Runner): Promise<void> | null {
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
    const reason = poisonReason(strikes, this.options.stallMs);
    this.options.logger.warn(
      `runner ${runner.address.botId}: skipping event ${held.seq} with a bot:error (${reason})`,
    );
    return this.options
      .quarantine(runner.address, reason)
      .then((skipped) => {
        if (!skipped) {
          this.options.logger.warn(
            `runner ${runner.address.botId}: event ${held.seq} was not skipped (committed meanwhile, or the bot is gone)`,
          );
        }
      })
      .catch((error: unknown) =>
        this.options.logger.warn(
          `runner ${runner.address.botId}: event ${held.seq} could not be skipped: ${String(error)}`,
        ),
      );
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
    runner.child.kill('SIGTERM');
    const killer = setTimeout(() => runner.child.kill('SIGKILL'), STOP_GRACE_MS);
    await runner.exited;
    clearTimeout(killer);
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
