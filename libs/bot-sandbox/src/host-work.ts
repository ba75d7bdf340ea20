/**
 * What one hook may make the host do through its callbacks (issue 11, item 2). Hashing,
 * randomness and workspace I/O run on the host's thread, outside the isolate's heap and CPU
 * accounting, so each call is bounded in size and every hook in total.
 */
export interface HostWorkLimits {
  /** Characters `ctx.sha256` hashes in one call. */
  readonly hashChars: number;
  /** Bytes one draw of randomness may take. */
  readonly randomBytes: number;
  /** Work units one hook may spend: bytes hashed, drawn, read or written, plus a cost per call. */
  readonly units: number;
  /** Units every call costs, however small, so a loop of tiny calls is bounded too. */
  readonly unitsPerCall: number;
  /** `ctx.fetch` requests one hook may make. */
  readonly fetches: number;
}

export const HOST_WORK_LIMITS: HostWorkLimits = {
  hashChars: 1024 * 1024,
  randomBytes: 1024,
  units: 4 * 1024 * 1024,
  unitsPerCall: 4 * 1024,
  fetches: 16,
};

/**
 * One hook's account of host work. Once a limit is passed it stays passed: the hook fails even if
 * the bot catches the error, as with the output limit.
 */
export class HostWork {
  private units = 0;
  private fetches = 0;
  private elapsedMs = 0;
  /** Why the hook broke a limit; null while it has not. */
  exceeded: string | null = null;

  constructor(readonly limits: HostWorkLimits = HOST_WORK_LIMITS) {}

  /** Host time spent in this hook's callbacks, ms (it counts as the hook's CPU time). */
  get hostMs(): number {
    return this.elapsedMs;
  }

  /**
   * Runs one callback: charges its size, times it, and turns any failure into an error for the
   * bot that says what was wrong and carries no host stack.
   */
  call<T>(size: number, work: () => T): T {
    this.charge(size);
    const started = performance.now();
    try {
      return work();
    } catch (error) {
      throw toBotError(error);
    } finally {
      this.elapsedMs += performance.now() - started;
    }
  }

  /** Counts one `ctx.fetch` against the hook's allowance. */
  fetch(): void {
    this.fetches += 1;
    if (this.fetches > this.limits.fetches) {
      this.fail(`host work limit exceeded: a hook may make at most ${this.limits.fetches} fetches`);
    }
  }

  /** Charges work a call did beyond what it was asked (e.g. the bytes a read returned). */
  charge(size: number): void {
    if (this.exceeded !== null) throw botError(this.exceeded, RangeError);
    this.units += this.limits.unitsPerCall + size;
    if (this.units > this.limits.units) {
      this.fail(
        'host work limit exceeded: a hook may hash, draw, read and write at most ' +
          `${this.limits.units} bytes through ctx`,
      );
    }
  }

  private fail(reason: string): never {
    this.exceeded ??= reason;
    throw botError(reason, RangeError);
  }
}

/** A refusal meant for the bot: its message is what the bot sees, and nothing of the host. */
export class BotFacingError extends Error {
  constructor(
    message: string,
    readonly kind: 'Error' | 'RangeError' | 'TypeError' = 'Error',
  ) {
    super(message);
  }
}

const KINDS = { Error, RangeError, TypeError } as const;

/**
 * An error to hand into the isolate: its stack is only its first line, so no host file path or
 * frame reaches bot code (item 8).
 */
export function botError(message: string, kind: new (message: string) => Error = Error): Error {
  const error = new kind(message);
  error.stack = `${error.name}: ${message}`;
  clean.add(error);
  return error;
}

/** Errors made by botError, which may go to the bot as they are. */
const clean = new WeakSet<Error>();

/** Any failure of a host callback as the bot may see it: our sentence, or a generic one. */
export function toBotError(
  error: unknown,
  otherwise = 'the host could not complete this call',
): Error {
  if (error instanceof Error && clean.has(error)) return error;
  if (error instanceof BotFacingError) return botError(error.message, KINDS[error.kind]);
  return botError(otherwise);
}
