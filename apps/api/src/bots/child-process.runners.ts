import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseReport } from '#bots';
import type { RunnerExit, RunnerHandle, RunnerMechanism, RunnerReport } from '#bots';
import type { BotAddress } from '#events';

/** After a runner exits, how long its last output lines may take to arrive. */
const OUTPUT_GRACE_MS = 2_000;
/** How long a runner has to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 5_000;

/** How one runner process is started: the command, and what to tidy once it has exited. */
export interface RunnerCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  cleanup(): Promise<void>;
}

export interface ChildProcessRunnersOptions {
  /** Builds the command for a bot's runner (plain node, or node inside gVisor). */
  readonly command: (address: BotAddress) => Promise<RunnerCommand>;
  readonly logger: { log(message: string): void; warn(message: string): void };
}

/**
 * The `process` mechanism (issue 4 item 4): a bot's runner as a child process of the API. The
 * credentials go on standard input, and the pipe then stays open: the API's death, however it
 * dies, ends it, and the runner exits (ADR 0006). The runner's reports come on its standard
 * output; its other lines are passed on to the log, tagged with its bot. RunnerFleet decides when
 * runners start and stop.
 */
export class ChildProcessRunners implements RunnerMechanism {
  constructor(private readonly options: ChildProcessRunnersOptions) {}

  async start(
    address: BotAddress,
    credentials: string,
    onReport: (report: RunnerReport) => void,
  ): Promise<RunnerHandle> {
    const { logger } = this.options;
    const command = await this.options.command(address);
    // Only what the runner needs: never the API's environment (database URL, secrets).
    const child = spawn(command.command, [...command.args], {
      env: { ...command.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // A runner that dies before reading its credentials must not take the API down with EPIPE.
    child.stdin.on('error', () => undefined);
    // The credentials, then nothing: the pipe stays open until this process ends (ADR 0006).
    child.stdin.write(`${credentials}\0`);

    const tag = `runner ${address.botId}`;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const report = parseReport(line);
      if (report) onReport(report);
      else logger.log(`${tag}: ${line.slice(0, 2048)}`);
    });
    createInterface({ input: child.stderr }).on('line', (line) =>
      logger.warn(`${tag}: ${line.slice(0, 2048)}`),
    );

    const exited = new Promise<RunnerExit>((resolve) => {
      let ended = false;
      // A child that could not start reports 'error' and may never report 'exit'.
      const end = (code: number | null, signal: string | null, neverRan = false) => {
        if (ended) return;
        ended = true;
        command
          .cleanup()
          .catch((error: unknown) => logger.warn(`runner cleanup failed: ${String(error)}`));
        resolve({ code, signal, neverRan });
      };
      // 'close' comes once its output is read too (the last `holding` line counts); a grandchild
      // that keeps the output open must not keep the runner from being seen to exit.
      child.once('close', end);
      child.once('exit', (code, signal) => {
        setTimeout(() => end(code, signal), OUTPUT_GRACE_MS).unref();
      });
      child.once('error', (error) => {
        logger.warn(`${tag} failed: ${error.message}`);
        if (child.pid === undefined) end(null, null, true);
      });
    });

    return {
      id: String(child.pid ?? '-'),
      exited,
      stop: async () => {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(killer);
      },
      kill: () => child.kill('SIGKILL'),
    };
  }
}
