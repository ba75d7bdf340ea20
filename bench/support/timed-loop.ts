import { sleep } from './stats.js';

export interface LoopOptions {
  /** Time given to JIT, connection pools and caches before counting starts. */
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The server under test, whose CPU is read over the same window as the clients'. */
  readonly server?: { cpuSeconds(): number };
}

export const DEFAULT_LOOP: LoopOptions = { warmupMs: 1_000, durationMs: 5_000 };

export interface LoopResult {
  readonly calls: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** CPU seconds this process (the clients) used in the measured window, all threads. */
  readonly clientCpuSeconds: number;
  /** CPU seconds the server used in the measured window; NaN when none was given. */
  readonly serverCpuSeconds: number;
}

/**
 * Runs `workers` closed loops of `op` at once (each waits for its previous call, as an agent
 * does) and counts the calls that finish inside the measured window. The first failure stops
 * every loop and is rethrown: a benchmark that measures errors measures nothing.
 */
export async function runClosedLoops(
  workers: number,
  op: (worker: number) => Promise<void>,
  options: LoopOptions = DEFAULT_LOOP,
): Promise<LoopResult> {
  // Shared with the loops, which change it from their own callbacks.
  const run: { phase: 'warmup' | 'measure' | 'stop'; calls: number; failure: Error | null } = {
    phase: 'warmup',
    calls: 0,
    failure: null,
  };
  const stopped = () => run.phase === 'stop';
  const loops = Array.from({ length: workers }, async (_, worker) => {
    try {
      while (!stopped()) {
        await op(worker);
        if (run.phase === 'measure') run.calls += 1;
      }
    } catch (error) {
      run.failure ??= error instanceof Error ? error : new Error(String(error));
      run.phase = 'stop';
    }
  });
  await sleepUnlessStopped(options.warmupMs, stopped);
  if (!stopped()) run.phase = 'measure';
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const serverStart = options.server?.cpuSeconds() ?? NaN;
  await sleepUnlessStopped(options.durationMs, stopped);
  const calls = run.calls;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const serverCpuSeconds = (options.server?.cpuSeconds() ?? NaN) - serverStart;
  run.phase = 'stop';
  await Promise.all(loops);
  if (run.failure !== null) throw run.failure;
  return {
    calls,
    seconds,
    perSecond: calls / seconds,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    serverCpuSeconds,
  };
}

async function sleepUnlessStopped(ms: number, stopped: () => boolean): Promise<void> {
  const end = performance.now() + ms;
  while (!stopped() && performance.now() < end) await sleep(Math.min(50, end - performance.now()));
}
