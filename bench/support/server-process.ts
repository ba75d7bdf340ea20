import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A server under test, running in a process of its own. */
export interface ServerProcess {
  readonly url: string;
  /** Whether MCP requests need an access token (our API does; the bare SDK server does not). */
  readonly authorized: boolean;
  /** The child's pid, e.g. to attach a profiler. */
  readonly pid: number;
  /** CPU seconds the server has used so far (user + system); NaN where /proc is missing. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** What a child entry sends its parent once it listens. */
export interface ReadyMessage {
  readonly ready: string;
}

/**
 * Starts one of the server entries next to this file (`app-server` or `bare-mcp-server`) in a
 * child process. Every server gets a process to itself, as the API does in production, so the
 * benchmark's clients never share its event loop and each server is measured the same way.
 * BENCH_SERVER_NODE_OPTIONS adds Node flags to the child, e.g. `--cpu-prof` to profile it.
 */
export async function startServerProcess(
  entry: 'app-server' | 'bare-mcp-server',
  env: Record<string, string>,
): Promise<ServerProcess> {
  const extra = (process.env['BENCH_SERVER_NODE_OPTIONS'] ?? '').split(' ').filter(Boolean);
  const child = fork(new URL(`./${entry}.js`, import.meta.url), [], {
    env: { ...process.env, ...env },
    execArgv: ['--no-node-snapshot', '--enable-source-maps', ...extra],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: ReadyMessage) => resolve(message.ready));
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`${entry} exited with code ${code} before listening`)),
    );
  });
  const pid = child.pid ?? 0;
  // A server that dies under load would leave its clients waiting out their 60 s timeouts: a
  // benchmark stops at once and says so instead.
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`bench: ${entry} (pid ${pid}) died: ${signal ?? `exit code ${code}`}`);
    process.exit(1);
  });
  return {
    url,
    authorized: entry === 'app-server',
    pid,
    cpuSeconds: () => processCpuSeconds(pid),
    stop: () => {
      stopping = true;
      return stopChild(child);
    },
  };
}

/** utime + stime of a Linux process, fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 1/100 s. */
function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Asks the child to close its server and waits; kills it if it has not gone within 10 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send('stop');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * The child's side: reports the URL once listening, and closes on the parent's `stop` or when
 * the parent goes away, so no server outlives a benchmark.
 */
export function serveUntilStopped(url: string, close: () => Promise<void>): void {
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('message', (message) => message === 'stop' && shutdown());
  process.on('disconnect', shutdown);
  process.send?.({ ready: url } satisfies ReadyMessage);
}
