import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BotRunners } from '#bots';
import type { BotAddress, NatsRunnerHub } from '#events';

/** Runner exit codes (apps/bot-runner): 0 stopped or idle, 3 the bot is gone; others are crashes. */
const EXIT_GONE = 3;
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
  readonly exited: Promise<void>;
}

/**
 * The `process` launcher (issue 4 item 4): one `bot-runner` child process per bot, started on the
 * bot's first event and restarted with backoff when it crashes. A runner stops itself when idle
 * and starts again on the next event; at the per-tenant cap, the tenant's least recently needed
 * runner stops to make room. Runners hold no state (it is in Postgres), so stopping one at any
 * moment loses nothing: its unacknowledged event is delivered again.
 */
export class ProcessBotRunners extends BotRunners {
  private readonly runners = new Map<string, Runner>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly restarts = new Map<string, { failures: number; timer: NodeJS.Timeout | null }>();
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
    await this.starting.get(key);
    const runner = this.runners.get(key);
    if (runner) await this.stop(runner);
    await this.hub.discard(address);
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
    child.stdin.end(credentials);
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
      child.once('exit', end);
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
      exited,
    };
    this.follow(runner);
    this.runners.set(keyOf(address), runner);
  }

  /** Passes the runner's log lines on, tagged with its bot. */
  private follow(runner: Runner): void {
    const tag = `runner ${runner.address.botId}`;
    if (runner.child.stdout) {
      createInterface({ input: runner.child.stdout }).on('line', (line) =>
        this.options.logger.log(`${tag}: ${line.slice(0, 2048)}`),
      );
    }
    if (runner.child.stderr) {
      createInterface({ input: runner.child.stderr }).on('line', (line) =>
        this.options.logger.warn(`${tag}: ${line.slice(0, 2048)}`),
      );
    }
  }

  private exited(runner: Runner, code: number | null, signal: NodeJS.Signals | null): void {
    const key = keyOf(runner.address);
    if (this.runners.get(key) === runner) this.runners.delete(key);
    if (runner.stopping || this.closed || code === 0 || code === EXIT_GONE) {
      this.restarts.delete(key);
      return;
    }
    const ranFor = Date.now() - runner.startedAt;
    const previous = ranFor >= STABLE_MS ? 0 : (this.restarts.get(key)?.failures ?? 0);
    const failures = previous + 1;
    const delay = Math.min(FIRST_RESTART_MS * 2 ** (failures - 1), MAX_RESTART_MS);
    this.options.logger.warn(
      `runner ${runner.address.botId} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`,
    );
    const timer = setTimeout(() => {
      this.restarts.set(key, { failures, timer: null });
      this.start(runner.address).catch((error: unknown) =>
        this.options.logger.warn(
          `runner ${runner.address.botId} did not restart: ${String(error)}`,
        ),
      );
    }, delay);
    timer.unref();
    this.restarts.set(key, { failures, timer });
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

function keyOf(address: BotAddress): string {
  return `${address.tenantId}/${address.channelId}/${address.botId}`;
}
