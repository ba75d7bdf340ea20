import type { HookOutcome } from '#bot-sandbox';

export interface FairShareSettings {
  /** Hooks running at once in this process, all tenants together. */
  readonly perProcess: number;
  /** Hooks of one tenant running at once in this process. */
  readonly perTenant: number;
  /** Of those, hooks of bots not yet known to be quick (new, or not seen lately). */
  readonly newPerTenant: number;
  /** Hooks of heavy bots running at once in this process. */
  readonly heavyPerProcess: number;
  /** Of those, hooks of one tenant's heavy bots. */
  readonly heavyPerTenant: number;
  /** A hook that used this much CPU time, ms, makes its bot heavy until a hook of it does not. */
  readonly heavyHookMs: number;
  /** CPU time one tenant's hooks may use per minute in this process, ms: the refill rate. */
  readonly tenantCpuMsPerMinute: number;
  /** CPU time one tenant's hooks may spend at once, ms: the bucket's size. */
  readonly tenantCpuBurstMs: number;
}

/** What a bot's last hook says of its next: quick, costly, or nothing yet. */
type HookClass = 'light' | 'new' | 'heavy';

const MINUTE_MS = 60_000;
/** Bots whose class is remembered; past this the longest-known are forgotten (they start new). */
const BOTS_KEPT = 10_000;

/** One tenant's place: its hooks running and waiting, and its CPU allowance. */
interface TenantShare {
  readonly running: Record<HookClass, number>;
  /** Hooks waiting for a place, by class: a light one never waits behind the others. */
  readonly waiting: Record<HookClass, (() => void)[]>;
  /** CPU ms the tenant may still spend (a token bucket); at or below zero it must wait. */
  balance: number;
  /** When `balance` was last brought up to date, ms on the monotonic clock. */
  updatedAt: number;
}

/** The order in which a tenant's waiting hooks are started. */
const CLASSES: readonly HookClass[] = ['light', 'new', 'heavy'];

/**
 * Shares this process's hooks between tenants (issue 11, item 5):
 * - every tenant has a budget of hook CPU time (a token bucket: `tenantCpuMsPerMinute`, at most
 *   `tenantCpuBurstMs` at once); past it, its hooks are skipped with a visible `bot:error` until it
 *   refills;
 * - hooks run at most `perProcess` at once, and `perTenant` of one tenant, so a burst of events
 *   cannot start an isolate for every bot at once; waiting tenants are served in turn;
 * - what a bot's last hook cost decides its next one's place. A bot whose last hook was quick is
 *   light: it waits only for the caps above. A bot not known yet (new, or not seen lately) waits
 *   for one of `newPerTenant` places, so a tenant's new bots cannot all burn the cores at once. A
 *   bot whose last hook used `heavyHookMs` of CPU time is heavy, with fewer places still
 *   (`heavyPerTenant`, `heavyPerProcess`). A light hook, what honest bots run, never waits behind
 *   a new or heavy one.
 * Hooks of one bot already run one at a time.
 */
export class HookScheduler {
  private running = 0;
  private heavyRunning = 0;
  private readonly tenants = new Map<string, TenantShare>();
  /** Tenants with hooks waiting, served in this order (round robin). */
  private readonly queue: string[] = [];
  /** What each bot's last hook cost, most recently run last. */
  private readonly known = new Map<string, 'light' | 'heavy'>();

  constructor(
    private readonly settings: FairShareSettings,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Runs one hook of `botKey` for the tenant, in its turn, unless the tenant is out of CPU time.
   * `hook` gets what is left of the tenant's budget, ms: the CPU time it may use, so a hook that
   * burns the CPU stops when its tenant's budget runs out rather than at its own time limit.
   */
  async run(
    tenantId: string,
    botKey: string,
    hook: (budgetMs: number) => Promise<HookOutcome>,
  ): Promise<HookOutcome> {
    const share = this.shareOf(tenantId);
    if (this.overBudget(share)) return this.refusal();
    const kind = this.known.get(botKey) ?? 'new';
    await this.turn(tenantId, share, kind);
    // The budget may have run out while the hook waited for its turn.
    if (this.overBudget(share)) {
      this.release(tenantId, share, kind);
      return this.refusal();
    }
    const started = this.now();
    const budgetMs = Math.max(1, Math.floor(share.balance));
    let outcome: HookOutcome | null = null;
    try {
      outcome = await hook(budgetMs);
      // Stopped at the CPU limit it was given, the tenant's budget: say so.
      if (!outcome.ok && outcome.cpuLimitReached) {
        outcome = { ok: false, error: this.refusal('stopped').error, cpuMs: outcome.cpuMs };
      }
      return outcome;
    } finally {
      const spent = outcome?.cpuMs ?? this.now() - started;
      share.balance -= spent;
      this.remember(botKey, spent >= this.settings.heavyHookMs ? 'heavy' : 'light');
      this.release(tenantId, share, kind);
    }
  }

  /** Hooks running now, and of them the heavy ones (for tests and benchmarks). */
  runningHooks(): { all: number; heavy: number } {
    return { all: this.running, heavy: this.heavyRunning };
  }

  private refusal(what: 'skipped' | 'stopped' = 'skipped'): HookOutcome & { ok: false } {
    return {
      ok: false,
      error:
        `${what}: this tenant's bots used up their hook CPU time on this server ` +
        `(${this.settings.tenantCpuMsPerMinute} ms a minute); later events run as it refills`,
      cpuMs: 0,
    };
  }

  private remember(botKey: string, kind: 'light' | 'heavy'): void {
    this.known.delete(botKey);
    this.known.set(botKey, kind);
    if (this.known.size > BOTS_KEPT) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }

  private shareOf(tenantId: string): TenantShare {
    let share = this.tenants.get(tenantId);
    if (!share) {
      share = {
        running: { light: 0, new: 0, heavy: 0 },
        waiting: { light: [], new: [], heavy: [] },
        balance: this.settings.tenantCpuBurstMs,
        updatedAt: this.now(),
      };
      this.tenants.set(tenantId, share);
    }
    return share;
  }

  /** Refills the tenant's allowance for the time passed; true while it is spent. */
  private overBudget(share: TenantShare): boolean {
    const now = this.now();
    const { tenantCpuMsPerMinute: rate, tenantCpuBurstMs: burst } = this.settings;
    share.balance = Math.min(burst, share.balance + ((now - share.updatedAt) * rate) / MINUTE_MS);
    share.updatedAt = now;
    return share.balance <= 0;
  }

  private turn(tenantId: string, share: TenantShare, kind: HookClass): Promise<void> {
    const waiting = share.waiting[kind];
    if (waiting.length === 0 && this.hasRoom(share, kind)) {
      this.take(share, kind, 1);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      waiting.push(resolve);
      if (!this.queue.includes(tenantId)) this.queue.push(tenantId);
    });
  }

  private hasRoom(share: TenantShare, kind: HookClass): boolean {
    const { perProcess, perTenant, newPerTenant, heavyPerProcess, heavyPerTenant } = this.settings;
    const { light, heavy } = share.running;
    if (this.running >= perProcess || light + share.running.new + heavy >= perTenant) return false;
    if (kind === 'new') return share.running.new < newPerTenant;
    if (kind === 'heavy') return this.heavyRunning < heavyPerProcess && heavy < heavyPerTenant;
    return true;
  }

  /** Counts a hook of `kind` in (`by` 1) or out (-1). */
  private take(share: TenantShare, kind: HookClass, by: 1 | -1): void {
    this.running += by;
    share.running[kind] += by;
    if (kind === 'heavy') this.heavyRunning += by;
  }

  private release(tenantId: string, share: TenantShare, kind: HookClass): void {
    this.take(share, kind, -1);
    // The tenant that just had a turn goes behind the others.
    const queued = this.queue.indexOf(tenantId);
    if (queued >= 0) this.queue.push(...this.queue.splice(queued, 1));
    this.admit();
    this.forgetIfIdle(tenantId, share);
  }

  /** An idle tenant with a full allowance is forgotten: it would start the same way again. */
  private forgetIfIdle(tenantId: string, share: TenantShare): void {
    if (CLASSES.some((kind) => share.running[kind] > 0 || share.waiting[kind].length > 0)) return;
    if (!this.overBudget(share) && share.balance >= this.settings.tenantCpuBurstMs) {
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
      if (share && CLASSES.some((kind) => share.waiting[kind].length > 0)) {
        this.queue.push(tenantId);
      }
    }
  }

  /** Starts the tenant's next waiting hook that has room, light ones first. */
  private startOne(share: TenantShare): boolean {
    for (const kind of CLASSES) {
      const waiting = share.waiting[kind];
      if (waiting.length > 0 && this.hasRoom(share, kind)) {
        this.take(share, kind, 1);
        (waiting.shift() as () => void)();
        return true;
      }
    }
    return false;
  }
}
