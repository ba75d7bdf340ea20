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
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { count: sorted.length, p50: at(50), p99: at(99), mean };
}

/** Milliseconds with the precision that matters at that size. */
export function ms(value: number): string {
  return `${value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 1)} ms`;
}

export function perSecond(value: number): string {
  return `${Math.round(value)}/s`;
}

export function ratio(measured: number, baseline: number): string {
  return (measured / baseline).toFixed(2);
}

/** A benchmark's heading, so the blocks stand apart in one long output. */
export function heading(title: string): void {
  console.log(`\n== ${title} ==`);
}

/** One result line: a fixed-width label, then the numbers. */
export function report(label: string, numbers: string): void {
  console.log(`${label.padEnd(38)} ${numbers}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
