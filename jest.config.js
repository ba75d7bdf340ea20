/**
 * Three tiers (STYLE "Tests"): unit specs next to the code, integration specs against real
 * PostgreSQL (and NATS) next to the adapters, e2e specs through HTTP under test/e2e.
 * ESM needs `--experimental-vm-modules`; isolated-vm needs `--no-node-snapshot` (scripts/jest.mjs).
 */
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^#(core|auth|channels|bots|bot-sandbox|events|persistence)$': '<rootDir>/libs/$1/src/index.ts',
    '^#test-support$': '<rootDir>/test/support/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
  // Servers start inside hooks (PGlite's WASM start alone takes seconds on a loaded 2-core
  // machine); timing is the benchmarks' business, not the tests'.
  testTimeout: 30_000,
};

export default {
  // Also here: Jest reads testTimeout from the root configuration, not from each project.
  testTimeout: shared.testTimeout,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs}/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
    },
  ],
};
