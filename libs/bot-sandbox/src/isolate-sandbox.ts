import { createHash, randomBytes } from 'node:crypto';
import ivm from 'isolated-vm';
import { z } from 'zod';
import { toBotModule } from './bot-source.js';
import { DRIVER_SOURCE } from './driver.source.js';
import type { BotInspection, HookOutcome, HookRequest, SandboxLimits } from './hook.types.js';

const effectsSchema = z.object({
  posts: z.array(
    z.object({
      kind: z.string(),
      body: z.record(z.string(), z.unknown()),
      to_slot: z.string().nullable(),
    }),
  ),
  state: z.record(z.string(), z.unknown()).optional(),
  logs: z.array(z.string()),
});

const inspectionSchema = z.object({ className: z.string(), manifest: z.string().nullable() });

interface Loaded {
  readonly context: ivm.Context;
  readonly driver: ivm.Module;
}

/**
 * Runs bot hooks in V8 isolates (isolated-vm): no Node APIs inside, a heap limit, and one wall
 * deadline over module evaluation, constructor and hook. Every hook gets a fresh context, so
 * nothing a bot leaves on its globals survives to the next call. Isolates are kept warm per
 * code hash (a small LRU) and thrown away after any limit breach.
 */
export class IsolateSandbox {
  private readonly isolates = new Map<string, ivm.Isolate>();

  constructor(
    private readonly limits: SandboxLimits,
    private readonly maxWarmIsolates = 32,
  ) {}

  /** Evaluates the module and reads its class and static manifest, within the same limits. */
  async inspect(
    code: string,
  ): Promise<{ ok: true; inspection: BotInspection } | { ok: false; error: string }> {
    const outcome = await this.withContext(code, async (loaded, deadline) => {
      const inspect = await exported(loaded.driver, 'inspect');
      const json = (await inspect.apply(undefined, [], {
        result: { copy: true },
        timeout: remaining(deadline),
      })) as string;
      const raw = inspectionSchema.parse(JSON.parse(json));
      const manifest: unknown = raw.manifest === null ? null : JSON.parse(raw.manifest);
      if (manifest !== null && (typeof manifest !== 'object' || Array.isArray(manifest))) {
        throw new BotCodeError('static manifest must be a plain object');
      }
      return { className: raw.className, manifest: manifest as Record<string, unknown> | null };
    });
    return outcome.ok ? { ok: true, inspection: outcome.value } : outcome;
  }

  /** Runs one hook and returns its effects, or the reason it failed (never throws for bot faults). */
  async run(request: HookRequest): Promise<HookOutcome> {
    const outcome = await this.withContext(request.code, async (loaded, deadline) => {
      const run = await exported(loaded.driver, 'run');
      const json = (await run.apply(
        undefined,
        [JSON.stringify(request), this.limits.maxOutputBytes],
        {
          arguments: { copy: true },
          result: { promise: true, copy: true },
          timeout: remaining(deadline),
        },
      )) as string;
      if (json.length > this.limits.maxOutputBytes * 2) {
        throw new BotCodeError('output limit exceeded');
      }
      return effectsSchema.parse(JSON.parse(json));
    });
    return outcome.ok ? { ok: true, effects: outcome.value } : outcome;
  }

  /** Frees every isolate. */
  dispose(): void {
    for (const isolate of this.isolates.values()) if (!isolate.isDisposed) isolate.dispose();
    this.isolates.clear();
  }

  private async withContext<T>(
    code: string,
    work: (loaded: Loaded, deadline: number) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
    const prepared = toBotModule(code);
    if ('error' in prepared) return { ok: false, error: prepared.error };
    const key = createHash('sha256').update(code).digest('hex');
    const isolate = this.isolateFor(key);
    const deadline = Date.now() + this.limits.timeoutMs;
    const watch = { timedOut: false };
    // The isolate's own timeouts cover synchronous runs; this watchdog also ends a hook stuck in
    // promise jobs, by disposing the isolate.
    const watchdog = setTimeout(() => {
      watch.timedOut = true;
      this.discard(key, isolate);
    }, this.limits.timeoutMs + 50);
    let context: ivm.Context | undefined;
    try {
      context = await isolate.createContext();
      await context.global.set(
        '__mpRandomHex',
        new ivm.Callback((n: number) => randomBytes(n).toString('hex')),
      );
      await context.global.set(
        '__mpSha256',
        new ivm.Callback((text: string) => createHash('sha256').update(text, 'utf8').digest('hex')),
      );
      const bot = await isolate.compileModule(prepared.module, { filename: 'bot.js' });
      const driver = await isolate.compileModule(DRIVER_SOURCE, { filename: 'driver.js' });
      await driver.instantiate(context, (specifier) => {
        if (specifier === 'bot:main') return bot;
        throw new BotCodeError(`imports are not available to bots (tried "${specifier}")`);
      });
      await driver.evaluate({ timeout: remaining(deadline) });
      const value = await work({ context, driver }, deadline);
      return { ok: true, value };
    } catch (error) {
      const reason = describeFailure(error, isolate, watch.timedOut, this.limits);
      if (isolate.isDisposed || watch.timedOut) this.discard(key, isolate);
      return { ok: false, error: reason };
    } finally {
      clearTimeout(watchdog);
      if (context && !isolate.isDisposed) context.release();
    }
  }

  private isolateFor(key: string): ivm.Isolate {
    const warm = this.isolates.get(key);
    if (warm && !warm.isDisposed) {
      this.isolates.delete(key);
      this.isolates.set(key, warm);
      return warm;
    }
    const isolate = new ivm.Isolate({ memoryLimit: this.limits.memoryMb });
    this.isolates.set(key, isolate);
    while (this.isolates.size > this.maxWarmIsolates) {
      const [oldestKey, oldest] = this.isolates.entries().next().value as [string, ivm.Isolate];
      this.discard(oldestKey, oldest);
    }
    return isolate;
  }

  private discard(key: string, isolate: ivm.Isolate): void {
    if (this.isolates.get(key) === isolate) this.isolates.delete(key);
    if (!isolate.isDisposed) isolate.dispose();
  }
}

/** A fault of the bot's code, reported to the channel as it is. */
class BotCodeError extends Error {}

/** A function the driver module exports, as a reference callable from the host. */
async function exported(module: ivm.Module, name: 'inspect' | 'run'): Promise<ivm.Reference> {
  return module.namespace.get(name, { reference: true });
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
  if (/memory limit/i.test(message) || isolate.isDisposed) {
    return `memory limit exceeded (${limits.memoryMb} MiB)`;
  }
  if (error instanceof z.ZodError) return 'the hook returned malformed effects';
  const name =
    error instanceof Error && error.name && error.name !== 'Error' ? `${error.name}: ` : '';
  return `${name}${message}`.slice(0, 500);
}
