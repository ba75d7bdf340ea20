import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const guards = fileURLToPath(new URL('./process-guards.ts', import.meta.url));

/** Runs a small ES module in a fresh Node process (Node 24 runs the .ts module as it is). */
function run(script: string): { status: number | null; stdout: string } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout };
}

const STRAY = `Promise.reject(new Error('stray')); setTimeout(() => console.log('alive'), 100);`;

describe('keepAliveOnUnhandledRejection', () => {
  it('logs a rejection nobody observed, and the process goes on', () => {
    const { status, stdout } = run(
      `import { keepAliveOnUnhandledRejection } from ${JSON.stringify(guards)};
       keepAliveOnUnhandledRejection((line) => console.log(line));
       ${STRAY}`,
    );
    expect(stdout).toContain('unhandled promise rejection (the process goes on): Error: stray');
    expect(stdout).toContain('alive');
    expect(status).toBe(0);
  });

  it('is needed: without it, Node ends the process', () => {
    const { status, stdout } = run(STRAY);
    expect(stdout).not.toContain('alive');
    expect(status).not.toBe(0);
  });
});
