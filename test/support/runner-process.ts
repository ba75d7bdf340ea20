import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/**
 * A bot runner started as the process launcher starts it: its credentials on standard input
 * (ended by a NUL, the pipe then kept open), its standard output collected for the test to read.
 */
export function startRunnerProcess(
  command: { command: string; args: readonly string[]; env: Readonly<Record<string, string>> },
  credentials: string,
): { child: ChildProcessByStdio<Writable, Readable, null>; output: () => string } {
  const child = spawn(command.command, [...command.args], {
    env: command.env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.write(`${credentials}\0`);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}
