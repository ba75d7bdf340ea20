import type { HookOutcome } from '#bot-sandbox';

export interface FairShareSettings {
  /** Hooks running at once in this process, all tenants together. */
  readonly perProcess: number;
  /** Hooks of one tenant running at once in this process. */
  readonly perTenant: number;
  /** Of those, hooks of heavy bots running at once in this process. */
  readonly heavyPerProcess: number;
  /** Of those, hooks of one tenant's heavy bots running at once in this process. */
  readonly heavyPerTenant: number;
  /** A hook that used this much CPU time, ms, makes its bot heavy until a hook of it does not. */
  readonly heavyHookMs: number;
  /** CPU time one tenant's hooks may use per minute in this process, ms (also its burst). */
  readonly tenantCpuMsPerMinute: number;
}

const MINUTE_MS = 60_000;
/** Heavy bots remembered; past this the longest-known are forgotten (they start light again). */
const HEAVY_BOTS_KEPT = 10_000;

/** One tenant's place: its hooks running and waiting, and its CPU allowance. */
interface TenantShare {
  running: number;
  heavyRunning: number;
  /** Hooks waiting for a place, light and heavy apart: a light one never waits behind a heavy. */
  readonly light: (() => void)[];
  readonly heavy: (() => void)[];
  /** CPU ms the tenant may still spend (a token bucket); at or below zero it must wait. */
  balance: number;
  /** When `balance` was last brought up to date, ms on the monotonic clock. */
  updatedAt: number;
}

/**
 * Shares this process's hooks between tenants (issue 11, item 5):
 * - every tenant has a budget of hook CPU time per minute; past it, its hooks are skipped with a
 *   visible `bot:error` until the budget refills;
 * - hooks run at most `perProcess` at once, and `perTenant` of one tenant, so a burst of events
 *   cannot start an isolate for every bot at once; waiting tenants are served in turn;
 * - a bot whose last hook was costly (it used `heavyHookMs` of CPU time) is heavy, and heavy hooks
 *   have only a few places (`heavyPerTenant`, `heavyPerProcess`): CPU-burning bots never hold every
 *   core, and a light hook, what honest bots run, never waits behind them.
 * Hooks of one bot already run one at a time.
 */
export class HookScheduler {
  private running = 0;
  private heavyRunning = 0;
  private readonly tenants = new Map<string, TenantShare>();
  /** Tenants with hooks waiting, served in this order (round robin). */
  private readonly queue: string[] = [];
  private readonly heavyBots = new Set<string>();

  constructor(
    private readonly settings: FairShareSettings,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Runs one hook of `botKey` for the tenant, in its turn, unless the tenant is out of CPU time. */
  async run(
    tenantId: string,
    botKey: string,
    hook: () => Promise<HookOutcome>,
  ): Promise<HookOutcome> {
    const share = this.shareOf(tenantId);
    if (this.overBudget(share)) return this.refusal();
    const heavy = this.heavyBots.has(botKey);
    await this.turn(tenantId, share, heavy);
    // The budget may have run out while the hook waited for its turn.
    if (this.overBudget(share)) {
      this.release(tenantId, share, heavy);
      return this.refusal();
    }
    const started = this.now();
    let outcome: HookOutcome | null = null;
    try {
      outcome = await hook();
      return outcome;
    } finally {
      const spent = outcome?.cpuMs ?? this.now() - started;
      share.balance -= spent;
      this.mark(botKey, spent >= this.settings.heavyHookMs);
      this.release(tenantId, share, heavy);
    }
  }

  /** Hooks running now, and of them the heavy ones (for tests and benchmarks). */
  runningHooks(): { all: number; heavy: number } {
    return { all: this.running, heavy: this.heavyRunning };
  }

  private refusal(): HookOutcome {
    return {
      ok: false,
      error:
        `skipped: this tenant's bots used up their hook CPU time on this server ` +
        `(${this.settings.tenantCpuMsPerMinute} ms a minute); later events run as it refills`,
      cpuMs: 0,
    };
  }

  /** Remembers whether the bot's last hook was costly (a hook past a time limit always is). */
  private mark(botKey: string, costly: boolean): void {
    this.heavyBots.delete(botKey);
    if (!costly) return;
    this.heavyBots.add(botKey);
    if (this.heavyBots.size > HEAVY_BOTS_KEPT) {
      const oldest = this.heavyBots.values().next().value;
      if (oldest !== undefined) this.heavyBots.delete(oldest);
    }
  }

  private shareOf(tenantId: string): TenantShare {
    let share = this.tenants.get(tenantId);
    if (!share) {
      share = {
        running: 0,
        heavyRunning: 0,
        light: [],
        heavy: [],
        balance: this.settings.tenantCpuMsPerMinute,
        updatedAt: this.now(),
      };
      this.tenants.set(tenantId, share);
    }
    return share;
  }

  /** Refills the tenant's allowance for the time passed; true while it is spent. */
  private overBudget(share: TenantShare): boolean {
    const now = this.now();
    const budget = this.settings.tenantCpuMsPerMinute;
    share.balance = Math.min(
      budget,
      share.balance + ((now - share.updatedAt) * budget) / MINUTE_MS,
    );
    share.updatedAt = now;
    return share.balance <= 0;
  }

  private turn(tenantId: string, share: TenantShare, heavy: boolean): Promise<void> {
    const waiting = heavy ? share.heavy : share.light;
    if (waiting.length === 0 && this.hasRoom(share, heavy)) {
      this.take(share, heavy);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      waiting.push(resolve);
      if (!this.queue.includes(tenantId)) this.queue.push(tenantId);
    });
  }

  private hasRoom(share: TenantShare, heavy: boolean): boolean {
    const { perProcess, perTenant, heavyPerProcess, heavyPerTenant } = this.settings;
    if (this.running >= perProcess || share.running >= perTenant) return false;
    return !heavy || (this.heavyRunning < heavyPerProcess && share.heavyRunning < heavyPerTenant);
  }

  private take(share: TenantShare, heavy: boolean): void {
    this.running += 1;
    share.running += 1;
    if (heavy) {
      this.heavyRunning += 1;
      share.heavyRunning += 1;
    }
  }

  private release(tenantId: string, share: TenantShare, heavy: boolean): void {
    this.running -= 1;
    share.running -= 1;
    if (heavy) {
      this.heavyRunning -= 1;
      share.heavyRunning -= 1;
    }
    // The tenant that just had a turn goes behind the others.
    const queued = this.queue.indexOf(tenantId);
    if (queued >= 0) this.queue.push(...this.queue.splice(queued, 1));
    this.admit();
    this.forgetIfIdle(tenantId, share);
  }

  /** An idle tenant with a full allowance is forgotten: it would start the same way again. */
  private forgetIfIdle(tenantId: string, share: TenantShare): void {
    if (share.running > 0 || share.light.length > 0 || share.heavy.length > 0) return;
    if (!this.overBudget(share) && share.balance >= this.settings.tenantCpuMsPerMinute) {
      this.tenants.delete(tenantId);
    }
  }

  /** Starts waiting hooks while there is room, one tenant after another. */
  private admit(): void {
    let passed = 0;
    while (this.running < this.settings.perProcess && passed < this.queue.length) {
      const tenantId = this.queue.shift() as string;
      const share = this.tenants.get(tenantId);
      const started = share ? this.startOne(share) : false;
      passed = started ? 0 : passed + 1;
      if (share && share.light.length + share.heavy.length > 0) this.queue.push(tenantId);
    }
  }

  /** Starts the tenant's next light hook, or else its next heavy one, if either has room. */
  private startOne(share: TenantShare): boolean {
    for (const heavy of [false, true]) {
      const waiting = heavy ? share.heavy : share.light;
      if (waiting.length > 0 && this.hasRoom(share, heavy)) {
        this.take(share, heavy);
        (waiting.shift() as () => void)();
        return true;
      }
    }
    return false;
  }
}
