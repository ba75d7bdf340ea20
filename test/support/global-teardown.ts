export default function globalTeardown(): void {
  (globalThis as { __mpPostgres?: { stop(): void } }).__mpPostgres?.stop();
}
