import { ConsoleLogger } from '@nestjs/common';
import type { LogLevel } from '@nestjs/common';

const LEVELS: LogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];

/** What decides whether log lines may carry colours. */
export interface LogTerminal {
  /** The NO_COLOR convention (https://no-color.org): any non-empty value turns colours off. */
  readonly noColor: string | undefined;
  readonly stdoutIsTty: boolean;
  readonly stderrIsTty: boolean;
}

/**
 * The terminal of this process. NO_COLOR is read here, beside the TTY checks, rather than in
 * AppConfig: it is the terminal's convention, the one Nest's own logger reads, not a setting of
 * the application.
 */
export function processTerminal(): LogTerminal {
  return {
    noColor: process.env['NO_COLOR'],
    stdoutIsTty: isTerminal(process.stdout),
    stderrIsTty: isTerminal(process.stderr),
  };
}

/** `isTTY` is true on a terminal and absent (not false, whatever the typings say) elsewhere. */
function isTerminal(stream: { readonly isTTY?: unknown }): boolean {
  return stream.isTTY === true;
}

/**
 * Colours only for a person at a terminal: never with NO_COLOR set, and never when either stream
 * goes to a file, a pipe or a log collector, where escape codes are noise in every line.
 */
export function wantsColours(terminal: LogTerminal): boolean {
  return !terminal.noColor && terminal.stdoutIsTty && terminal.stderrIsTty;
}

/** Nest's console logger at `level` and the levels above it, coloured only when wanted. */
export function consoleLogger(level: LogLevel, terminal: LogTerminal): ConsoleLogger {
  return new ConsoleLogger({
    logLevels: LEVELS.slice(0, LEVELS.indexOf(level) + 1),
    colors: wantsColours(terminal),
  });
}
