import { describe, expect, it } from '@jest/globals';
import type { HookOutcome } from '#bot-sandbox';
import { HookScheduler } from './hook-scheduler.js';
import type { FairShareSettings } from './hook-scheduler.js';

const SHARE: FairShareSettings = {
  perProcess: 16,
  perTenant: 8,
  newPerTenant: 8,
  heavyPerProcess: 2,
  heavyPerTenant: 1,
  heavyHookMs: 50,
  tenantCpuMsPerMinute: 1e9,
  tenantCpuBurstMs: 1e9,
};

/** A hook the test finishes when it likes, having used `cpuMs`. */
function controlled(log: string[], name: string, cpuMs = 1) {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const hook = async (): Promise<HookOutcome> => {
    log.push(`start ${name}`);
    await done;
    return { ok: true, effects: { posts: [], logs: [] }, cpuMs };
  };
  return { hook, finish: () => finish() };
}

const quick = (cpuMs: number) => () =>
  Promise.resolve<HookOutcome>({ ok: true, effects: { posts: [], logs: [] }, cpuMs });

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Makes each bot heavy: one costly hook. */
async function makeHeavy(scheduler: HookScheduler, tenant: string, bots: string[]) {
  for (const bot of bots) await scheduler.run(tenant, bot, quick(500));
}

/** Makes each bot light: one quick hook. */
async function makeLight(scheduler: HookScheduler, tenant: string, bots: string[]) {
  for (const bot of bots) await scheduler.run(tenant, bot, quick(1));
}

describe('HookScheduler', () => {
  it('never holds back a light hook, whatever heavy hooks run', async () => {
    const scheduler = new HookScheduler(SHARE);
    await makeHeavy(scheduler, 'ten_a', ['a1', 'a2', 'a3']);
    const log: string[] = [];
    const burners = ['a1', 'a2', 'a3'].map((bot) => controlled(log, bot, 500));
    const runs = burners.map((b, i) => scheduler.run('ten_a', `a${i + 1}`, b.hook));
    await tick();
    expect(log).toEqual(['start a1']);
    // A light bot of the same tenant, and one of another tenant, start at once.
    const light = [controlled(log, 'light-a'), controlled(log, 'light-b')];
    const lightRuns = [
      scheduler.run('ten_a', 'a-light', light[0]!.hook),
      scheduler.run('ten_b', 'b-light', light[1]!.hook),
    ];
    await tick();
    expect(log).toEqual(['start a1', 'start light-a', 'start light-b']);
    for (const hook of [...burners, ...light]) hook.finish();
    await Promise.all([...runs, ...lightRuns]);
    expect(scheduler.runningHooks()).toEqual({ all: 0, heavy: 0 });
  });

  it("bounds every tenant's hooks at once, and serves the others meanwhile", async () => {
    const scheduler = new HookScheduler({ ...SHARE, perTenant: 2 });
    const log: string[] = [];
    const hooks = ['a1', 'a2', 'a3', 'b1'].map((name) => controlled(log, name));
    const runs = hooks.map((h, i) => scheduler.run(i < 3 ? 'ten_a' : 'ten_b', `bot${i}`, h.hook));
    await tick();
    expect(log).toEqual(['start a1', 'start a2', 'start b1']);
    expect(scheduler.runningHooks()).toEqual({ all: 3, heavy: 0 });
    hooks[0]!.finish();
    await tick();
    expect(log).toEqual(['start a1', 'start a2', 'start b1', 'start a3']);
    for (const h of hooks) h.finish();
    await Promise.all(runs);
  });

  it("gives a tenant's new bots few places, and its known quick bots go on meanwhile", async () => {
    const scheduler = new HookScheduler({ ...SHARE, newPerTenant: 1 });
    await makeLight(scheduler, 'ten_a', ['a-quick']);
    const log: string[] = [];
    const fresh = ['n1', 'n2'].map((name) => controlled(log, name, 500));
    const quickOne = controlled(log, 'a-quick');
    const other = controlled(log, 'b-new');
    const runs = [
      ...fresh.map((h, i) => scheduler.run('ten_a', `n${i + 1}`, h.hook)),
      scheduler.run('ten_a', 'a-quick', quickOne.hook),
      scheduler.run('ten_b', 'b-new', other.hook),
    ];
    await tick();
    expect(log).toEqual(['start n1', 'start a-quick', 'start b-new']);
    fresh[0]!.finish();
    await tick();
    expect(log).toContain('start n2');
    for (const h of [...fresh, quickOne, other]) h.finish();
    await Promise.all(runs);
  });

  it('serves heavy hooks tenant by tenant in turn', async () => {
    const scheduler = new HookScheduler({ ...SHARE, heavyPerProcess: 1 });
    await makeHeavy(scheduler, 'ten_a', ['a1', 'a2', 'a3']);
    await makeHeavy(scheduler, 'ten_b', ['b1']);
    const log: string[] = [];
    const hooks = ['a1', 'a2', 'a3', 'b1'].map((name) => controlled(log, name, 500));
    const runs = hooks.map((h, i) =>
      scheduler.run(i < 3 ? 'ten_a' : 'ten_b', ['a1', 'a2', 'a3', 'b1'][i]!, h.hook),
    );
    await tick();
    expect(log).toEqual(['start a1']);
    hooks[0]!.finish();
    await tick();
    // b1 was queued last, but ten_b's turn comes before ten_a's second hook.
    expect(log).toEqual(['start a1', 'start b1']);
    for (const h of hooks) h.finish();
    await Promise.all(runs);
    expect(log).toEqual(['start a1', 'start b1', 'start a2', 'start a3']);
  });

  it('makes a bot light again after a cheap hook', async () => {
    const scheduler = new HookScheduler({ ...SHARE, heavyPerProcess: 1 });
    await makeHeavy(scheduler, 'ten_a', ['a1', 'a2']);
    await scheduler.run('ten_a', 'a2', quick(1));
    const log: string[] = [];
    const a1 = controlled(log, 'a1', 1);
    const a2 = controlled(log, 'a2', 1);
    const runs = [scheduler.run('ten_a', 'a1', a1.hook), scheduler.run('ten_a', 'a2', a2.hook)];
    await tick();
    // Both run at once: only a1 is heavy.
    expect(log.sort()).toEqual(['start a1', 'start a2']);
    a1.finish();
    a2.finish();
    await Promise.all(runs);
  });

  it("skips a tenant's hooks once its CPU budget is spent, and runs them again as it refills", async () => {
    let now = 0;
    const scheduler = new HookScheduler(
      { ...SHARE, tenantCpuMsPerMinute: 1_000, tenantCpuBurstMs: 1_000 },
      () => now,
    );
    expect((await scheduler.run('ten_a', 'a1', quick(1_500))).ok).toBe(true);
    expect(await scheduler.run('ten_a', 'a2', quick(1))).toEqual({
      ok: false,
      error:
        "skipped: this tenant's bots used up their hook CPU time on this server (1000 ms a minute); later events run as it refills",
      cpuMs: 0,
    });
    // Another tenant is not held back.
    expect((await scheduler.run('ten_b', 'b1', quick(1))).ok).toBe(true);
    // 31 s later ten_a is back above zero (-500 + 516).
    now += 31_000;
    expect((await scheduler.run('ten_a', 'a2', quick(1))).ok).toBe(true);
  });

  it('gives a hook only the CPU time its tenant has left, and says why it stopped', async () => {
    let now = 0;
    const scheduler = new HookScheduler(
      { ...SHARE, tenantCpuMsPerMinute: 1_000, tenantCpuBurstMs: 1_000 },
      () => now,
    );
    await scheduler.run('ten_a', 'a1', quick(600));
    let given = 0;
    const cut = await scheduler.run('ten_a', 'a2', (budgetMs) => {
      given = budgetMs;
      now += budgetMs;
      return Promise.resolve({
        ok: false,
        error: `CPU limit reached (${budgetMs} ms)`,
        cpuLimitReached: true,
        cpuMs: budgetMs,
      });
    });
    expect(given).toBe(400);
    expect(cut).toEqual({
      ok: false,
      error:
        "stopped: this tenant's bots used up their hook CPU time on this server (1000 ms a minute); later events run as it refills",
      cpuMs: 400,
    });
  });

  it('charges the wall time of a hook that reports no CPU time', async () => {
    let now = 0;
    const scheduler = new HookScheduler(
      { ...SHARE, tenantCpuMsPerMinute: 1_000, tenantCpuBurstMs: 1_000 },
      () => now,
    );
    await scheduler.run('ten_a', 'a1', () => {
      now += 2_000;
      return Promise.resolve({ ok: false, error: 'time limit exceeded (2000 ms)' });
    });
    expect((await scheduler.run('ten_a', 'a1', quick(1))).ok).toBe(false);
  });
});
