export default function globalTeardown() {
  globalThis.__mpPostgres?.stop();
  globalThis.__mpPostgres = undefined;
}
