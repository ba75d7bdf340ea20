export default function globalTeardown() {
  globalThis.__mpPostgres?.stop();
  globalThis.__mpPostgres = undefined;
  globalThis.__mpNats?.stop();
  globalThis.__mpNats = undefined;
}
