import { createHash, randomBytes } from 'node:crypto';
import ivm from 'isolated-vm';
import { z } from 'zod';
import { toBotModule } from './bot-source.js';
import { DRIVER_SOURCE, PRELUDE_SOURCE } from './driver.source.js';
import { EgressDeniedError } from './egress.js';
import type { EgressFetcher } from './egress.js';
import type { HookEffects, HookOutcome, HookRequest, SandboxLimits } from './hook.types.js';
import { BotFacingError, HostWork, toBotError } from './host-work.js';
import { BotWorkspace } from './workspace.js';

/** A plain JSON object, kept as it is (a rebuilt object would drop keys such as `__proto__`). */
const jsonObject = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
);

const effectsSchema = z.object({
  posts: z.array(z.object({ kind: z.string(), body: jsonObject, to_slot: z.string().nullable() })),
  state: jsonObject.optional(),
  logs: z.array(z.string()),
});

const egressRequest = z.object({
  url: z.string().max(4096),
  method: z.string().max(16),
  headers: z.record(z.string().max(256), z.string().max(8192)),
  body: z.string().nullable(),
});

/** How often a hook's CPU time is read against its CPU limit, ms. */
const CPU_CHECK_MS = 20;

/** Room for the JSON punctuation around the accounted items of a hook's output. */
const OUTPUT_ENVELOPE_BYTES = 16 * 1024;

/** What the driver module offers the host once evaluated. */
interface Loaded {
  /** The hook's output, if it finished as the module evaluated (a string unless tampered with). */
  readonly output: unknown;
  /** Settles with the hook's output or its failure. */
  readonly settle: ivm.Reference;
  /** The host work the hook's callbacks did. */
  readonly work: HostWork;
}

/**
 * A fresh context with the three modules compiled for it, and nothing run in it yet: what every
 * hook starts from. Made ahead on the isolate's thread for a warm isolate's next hook.
 */
interface FreshContext {
  /** The bot module source compiled into `bot`. */
  readonly source: string;
  readonly context: ivm.Context;
  readonly prelude: ivm.Module;
  readonly bot: ivm.Module;
  readonly driver: ivm.Module;
  /** The account of host work of the one hook that will run in this context. */
  readonly work: HostWork;
}

interface WarmIsolate {
  readonly isolate: ivm.Isolate;
  busy: boolean;
  /**
   * The next hook's context, being made while the isolate is idle; null when none is under way.
   * It resolves to null if making it failed (the hook then makes its own).
   */
  next: Promise<FreshContext | null> | null;
}

/**
 * Runs bot hooks in V8 isolates (isolated-vm): no Node APIs inside, a heap limit, and one wall
 * deadline over module evaluation, constructor and hook. Every hook gets a fresh context, so
 * nothing a bot leaves on its globals survives to the next call. Each isolation key (one bot) keeps
 * a warm isolate of its own, used by one hook at a time; idle ones are dropped past a small cap,
 * and an isolate is thrown away after any limit breach. A warm isolate makes its next hook's
 * context as soon as a hook ends, on its own thread: creating a context is most of a hook's cost,
 * and this takes it off the event loop and out of the next hook's latency.
 */
export class IsolateSandbox {
  private readonly warm = new Map<string, WarmIsolate>();

  constructor(
    private readonly limits: SandboxLimits,
    private readonly maxWarmIsolates = 64,
    /** How `ctx.fetch` reaches out; null: bots have no network at all. */
    private readonly egress: EgressFetcher | null = null,
  ) {}

  /** Runs one hook and returns its effects, or the reason it failed (never throws for bot faults). */
  async run(request: HookRequest): Promise<HookOutcome> {
    // The driver needs neither the key nor the code (it runs the module it was given).
    const { isolationKey, code, egress, workspace, cpuLimitMs, ...forBot } = request;
    const fetcher = this.egress && egress.length > 0 ? this.fetchFor(egress) : null;
    const files =
      workspace && this.limits.workspaceBytes
        ? new BotWorkspace(workspace, this.limits.workspaceBytes)
        : null;
    const hook = [JSON.stringify(forBot), this.limits.maxOutputBytes] as const;
    return this.withContext(
      isolationKey,
      code,
      { fetcher, files, hook, cpuLimitMs: cpuLimitMs ?? null },
      async (loaded, deadline) => {
        const json: unknown =
          loaded.output ??
          (await loaded.settle.apply(undefined, [], {
            result: { promise: true, copy: true },
            timeout: remaining(deadline),
          }));
        // The driver accounts output as it goes; this host-side check holds even if bot code
        // tampered with the isolate's built-ins.
        if (
          typeof json !== 'string' ||
          json.length > this.limits.maxOutputBytes + OUTPUT_ENVELOPE_BYTES
        ) {
          throw new BotCodeError(
            `output limit exceeded: a hook may produce at most ${this.limits.maxOutputBytes} bytes`,
          );
        }
        // A host work limit breached holds even if the bot caught its error.
        if (loaded.work.exceeded !== null) throw new BotCodeError(loaded.work.exceeded);
        return effectsSchema.parse(JSON.parse(json));
      },
    );
  }

  /** Frees every isolate. */
  dispose(): void {
    for (const { isolate } of this.warm.values()) if (!isolate.isDisposed) isolate.dispose();
    this.warm.clear();
  }

  /**
   * The host side of `ctx.fetch` for one hook: the bot's request, checked, through the egress
   * rules. It always resolves, to JSON `{value}` with the response or `{error}` with the reason
   * it was refused, which the driver throws inside the isolate: a host promise that rejected
   * would be one more the host must be sure to observe.
   */
  private fetchFor(
    allowlist: readonly string[],
  ): (work: HostWork, json: unknown) => Promise<string> {
    const fetcher = this.egress;
    return async (work, json) => {
      try {
        work.fetch();
        work.charge(typeof json === 'string' ? json.length : 0);
        if (!fetcher) throw new BotFacingError('ctx.fetch is not available');
        const parsed = typeof json === 'string' ? egressRequest.safeParse(JSON.parse(json)) : null;
        if (!parsed?.success) {
          throw new BotFacingError('ctx.fetch(url, { method, headers, body }): bad arguments');
        }
        return JSON.stringify({ value: await fetcher.fetch(allowlist, parsed.data) });
      } catch (error) {
        const refused =
          error instanceof EgressDeniedError
            ? `ctx.fetch refused: ${error.message}`
            : toBotError(error, 'ctx.fetch failed').message;
        return JSON.stringify({ error: refused });
      }
    };
  }

  /**
   * Runs the hook in a fresh context of the key's isolate and reads its effects with `finish`.
   * The outcome carries the CPU time the hook cost: the isolate's, plus the host's time in its
   * callbacks (issue 11, item 5 charges it to the tenant).
   */
  private async withContext(
    key: string,
    code: string,
    host: HostServices,
    finish: (loaded: Loaded, deadline: number) => Promise<HookEffects>,
  ): Promise<HookOutcome> {
    const prepared = toBotModule(code);
    if ('error' in prepared) return { ok: false, error: prepared.error, cpuMs: 0 };
    const lease = this.lease(key);
    const { isolate } = lease;
    const started = performance.now();
    const cpuBefore = isolate.cpuTime;
    let hostWork: HostWork | null = null;
    const { timeoutMs } = this.limits;
    const deadline = Date.now() + timeoutMs;
    const watch = { timedOut: false, cpuSpent: false };
    // The isolate's own timeouts cover synchronous runs; this watchdog also ends a hook stuck in
    // promise jobs, by disposing the isolate (it is this hook's alone).
    const watchdog = setTimeout(() => {
      watch.timedOut = true;
      if (!isolate.isDisposed) isolate.dispose();
    }, timeoutMs + 50);
    // The CPU limit: the isolate's CPU time, read while it runs, ends a hook that burns it.
    const { cpuLimitMs } = host;
    const cpuWatch =
      cpuLimitMs === null
        ? null
        : setInterval(() => {
            if (isolate.isDisposed) return;
            if (Number(isolate.cpuTime - cpuBefore) / 1e6 <= cpuLimitMs) return;
            watch.cpuSpent = true;
            isolate.dispose();
          }, CPU_CHECK_MS);
    // Every handle into the isolate is released at the end: an unreleased module or reference keeps
    // its context alive, and a warm isolate's heap would grow hook by hook to its limit.
    const handles = new Handles();
    const cpuMs = () =>
      (isolate.isDisposed
        ? performance.now() - started
        : Number(isolate.cpuTime - cpuBefore) / 1e6) + (hostWork?.hostMs ?? 0);
    try {
      // Anything that runs bot code (module evaluation, constructor, hook) is async and under the
      // deadline; what comes before it runs only our code.
      const fresh = await this.freshContext(lease, prepared.module);
      const { context, prelude, bot, driver, work } = fresh;
      hostWork = work;
      for (const handle of [context, prelude, bot, driver]) handles.keep(handle);
      setHookServices(context, host, work, handles);
      prelude.instantiateSync(context, () => {
        throw new BotCodeError('the prelude imports nothing');
      });
      // The bot's module is linked on its own first, so whatever it imports is refused: the
      // prelude holds the host's callbacks, and bot code reaches them only through ctx.
      bot.instantiateSync(context, (specifier) => {
        throw new BotCodeError(
          `imports are not available to bots (tried "${specifier.slice(0, 64)}")`,
        );
      });
      driver.instantiateSync(context, (specifier) => {
        if (specifier === 'mp:prelude') return prelude;
        if (specifier === 'bot:main') return bot;
        throw new BotCodeError('the driver imports only the prelude and the bot');
      });
      await driver.evaluate({ timeout: remaining(deadline) });
      const namespace = handles.keep(driver.namespace);
      const output: unknown = namespace.getSync('output', { copy: true });
      const settle = handles.keep(exported(namespace, 'settle'));
      const effects = await finish({ output, settle, work }, deadline);
      return { ok: true, effects, cpuMs: cpuMs() };
    } catch (error) {
      if (watch.cpuSpent) {
        const error = `CPU limit reached (${cpuLimitMs} ms)`;
        return { ok: false, error, cpuMs: cpuMs(), cpuLimitReached: true };
      }
      const reason = describeFailure(error, isolate, watch.timedOut, this.limits);
      return { ok: false, error: reason, cpuMs: cpuMs() };
    } finally {
      clearTimeout(watchdog);
      clearInterval(cpuWatch ?? undefined);
      if (!isolate.isDisposed) handles.releaseAll();
      this.release(key, lease, prepared.module);
    }
  }

  /**
   * The context made ahead for this hook when there is one for the same source, otherwise one
   * made now, synchronously: each async call would cost a hop to the isolate's thread.
   */
  private async freshContext(lease: WarmIsolate, source: string): Promise<FreshContext> {
    const next = lease.next;
    lease.next = null;
    const made = next ? await next : null;
    if (made?.source === source) return made;
    const { isolate } = lease;
    if (made && !isolate.isDisposed) releaseFresh(made);
    return prepareContext(isolate, isolate.createContextSync(), source);
  }

  /**
   * The same, made ahead: the context, most of the cost, on the isolate's thread while the event
   * loop goes on. Null if the isolate was disposed meanwhile (evicted, or a limit breach) or the
   * source does not compile (the hook then reports why).
   */
  private async makeAhead(isolate: ivm.Isolate, source: string): Promise<FreshContext | null> {
    try {
      return prepareContext(isolate, await isolate.createContext(), source);
    } catch {
      return null;
    }
  }

  /** The key's warm isolate, or a new one; a throw-away one when it is busy. */
  private lease(key: string): WarmIsolate {
    const warm = this.warm.get(key);
    if (warm && !warm.busy && !warm.isolate.isDisposed) {
      warm.busy = true;
      return warm;
    }
    const fresh: WarmIsolate = {
      isolate: new ivm.Isolate({ memoryLimit: this.limits.memoryMb }),
      busy: true,
      next: null,
    };
    if (!warm?.busy) this.warm.set(key, fresh);
    return fresh;
  }

  private release(key: string, lease: WarmIsolate, source: string): void {
    lease.busy = false;
    const kept = this.warm.get(key) === lease;
    if (!kept || lease.isolate.isDisposed) {
      if (kept) this.warm.delete(key);
      if (!lease.isolate.isDisposed) lease.isolate.dispose();
      return;
    }
    lease.next = this.makeAhead(lease.isolate, source);
    // Most recently used last; drop the oldest idle isolates past the cap.
    this.warm.delete(key);
    this.warm.set(key, lease);
    for (const [oldKey, entry] of this.warm) {
      if (this.warm.size <= this.maxWarmIsolates) break;
      if (entry.busy) continue;
      this.warm.delete(oldKey);
      if (!entry.isolate.isDisposed) entry.isolate.dispose();
    }
  }
}

/** What the host offers one hook besides randomness and hashing, and the hook to run. */
interface HostServices {
  readonly fetcher: ((work: HostWork, json: unknown) => Promise<string>) | null;
  readonly files: BotWorkspace | null;
  /** The request the driver hands the bot, and the output limit. */
  readonly hook: readonly [string, number];
  /** The CPU time the hook may use, ms; null: no limit but the sandbox's own. */
  readonly cpuLimitMs: number | null;
}

/**
 * Hands one hook what it may use besides the basics: `ctx.fetch`, `ctx.workspace` and the hook
 * to run. The prelude takes them off the global before the bot's module evaluates.
 */
function setHookServices(
  context: ivm.Context,
  host: HostServices,
  work: HostWork,
  handles: Handles,
): void {
  const { fetcher, files } = host;
  if (fetcher) {
    const bound = (json: unknown) => fetcher(work, json);
    context.global.setSync('__mpFetch', handles.keep(new ivm.Reference(bound)));
  }
  if (files) {
    context.global.setSync(
      '__mpWorkspace',
      new ivm.Callback((op: unknown, name: unknown, text: unknown) => {
        const answer = work.call(typeof text === 'string' ? text.length : 0, () =>
          files.call(String(op), name, text),
        );
        work.charge(answer.length);
        return answer;
      }),
    );
  }
  context.global.setSync('__mpHook', [...host.hook], { copy: true });
}

/**
 * A new context with the host callbacks every hook gets and the three modules compiled for it;
 * all released if a step fails. Compiling is synchronous on purpose: isolated-vm keeps an
 * isolate's modules in a table that an async compile (on the isolate's thread) and a module
 * released on this thread can change at once, and that crashes the process.
 */
function prepareContext(isolate: ivm.Isolate, context: ivm.Context, source: string): FreshContext {
  const handles = new Handles();
  handles.keep(context);
  try {
    const work = new HostWork();
    setHostBasics(context, work);
    const compile = (code: string, filename: string) =>
      handles.keep(isolate.compileModuleSync(code, { filename }));
    return {
      source,
      context,
      prelude: compile(PRELUDE_SOURCE, 'prelude.js'),
      bot: compile(source, 'bot.js'),
      driver: compile(DRIVER_SOURCE, 'driver.js'),
      work,
    };
  } catch (error) {
    if (!isolate.isDisposed) handles.releaseAll();
    throw error;
  }
}

/**
 * The host callbacks every hook gets: randomness and hashing, which hold no state. Each call is
 * bounded and charged to the hook's host work (issue 11, item 2).
 */
function setHostBasics(context: ivm.Context, work: HostWork): void {
  const { hashChars, randomBytes: maxRandom } = work.limits;
  context.global.setSync(
    '__mpRandomHex',
    new ivm.Callback((n: unknown) =>
      work.call(typeof n === 'number' ? n : 0, () => {
        if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > maxRandom) {
          throw new BotFacingError(`random draws take 1 to ${maxRandom} bytes`, 'RangeError');
        }
        return randomBytes(n as number).toString('hex');
      }),
    ),
  );
  context.global.setSync(
    '__mpSha256',
    new ivm.Callback((text: unknown) =>
      work.call(typeof text === 'string' ? text.length : 0, () => {
        if (typeof text !== 'string') {
          throw new BotFacingError('ctx.sha256(text) hashes a string', 'TypeError');
        }
        if (text.length > hashChars) {
          throw new BotFacingError(
            `ctx.sha256(text) hashes at most ${hashChars} characters at once`,
            'RangeError',
          );
        }
        return createHash('sha256').update(text, 'utf8').digest('hex');
      }),
    ),
  );
}

function releaseFresh(fresh: FreshContext): void {
  for (const handle of [fresh.driver, fresh.bot, fresh.prelude, fresh.context]) handle.release();
}

/** Handles into an isolate, released together, the last taken first. */
class Handles {
  private readonly taken: { release(): void }[] = [];

  keep<H extends { release(): void }>(handle: H): H {
    this.taken.push(handle);
    return handle;
  }

  releaseAll(): void {
    for (const handle of this.taken.reverse()) handle.release();
    this.taken.length = 0;
  }
}

/** A fault of the bot's code, reported to the channel as it is. */
class BotCodeError extends Error {}

/** A function the driver module exports, as a reference callable from the host. */
function exported(namespace: ivm.Reference, name: 'settle'): ivm.Reference {
  return namespace.getSync(name, { reference: true });
}

function remaining(deadline: number): number {
  return Math.max(1, deadline - Date.now());
}

/** One line for the channel's `bot:error`: what the bot did wrong, never our internals. */
function describeFailure(
  error: unknown,
  isolate: ivm.Isolate,
  timedOut: boolean,
  limits: SandboxLimits,
): string {
  const message = error instanceof Error ? error.message : String(error);
  if (timedOut || /timed out/i.test(message)) return `time limit exceeded (${limits.timeoutMs} ms)`;
  if (/memory limit/i.test(message) || isolate.isDisposed)
    return `memory limit exceeded (${limits.memoryMb} MiB)`;
  if (error instanceof z.ZodError) return 'the hook returned malformed effects';
  if (/^(Error: )?Not supported$/.test(message))
    return 'imports are not available to bots (dynamic import())';
  const name =
    error instanceof Error && error.name && error.name !== 'Error' ? `${error.name}: ` : '';
  return `${name}${message}`.slice(0, 500);
}
