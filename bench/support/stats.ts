import { availableParallelism, loadavg } from 'node:os';

/** Small helpers to summarise and print benchmark numbers the same way in every benchmark. */

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

/** Nearest-rank percentiles (no interpolation), so p99 is a latency that was actually observed. */
export function summarize(samplesMs: readonly number[]): LatencySummary {
  if (samplesMs.length === 0) throw new Error('no samples to summarise');
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { count: sorted.length, p50: at(50), p99: at(99), mean };
}

/** Milliseconds with the precision that matters at that size (microseconds below 0.01 ms). */
export function ms(value: number): string {
  if (Math.abs(value) < 0.01) return `${(value * 1000).toFixed(1)} µs`;
  return `${value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 1)} ms`;
}

export function perSecond(value: number): string {
  return `${Math.round(value)}/s`;
}

export function ratio(measured: number, baseline: number): string {
  return (measured / baseline).toFixed(2);
}

/**
 * A benchmark's heading, with the machine's load when it starts: on a shared 2-core machine
 * another process's work shows up in every number, and the load says when to distrust a run.
 */
export function heading(title: string): void {
  const [load] = loadavg();
  console.log(`\n== ${title} ==`);
  console.log(
    `(load average ${load?.toFixed(2)} on ${availableParallelism()} cores before the run)`,
  );
}

/** One result line: a fixed-width label, then the numbers. */
export function report(label: string, numbers: string): void {
  console.log(`${label.padEnd(38)} ${numbers}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
