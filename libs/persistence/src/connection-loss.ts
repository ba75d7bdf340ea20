import { DomainError } from '#core';

/**
 * The database cannot be reached right now (it restarts, shuts down or is not accepting
 * connections): nothing was changed, and the same call may succeed in a few seconds. The edges
 * answer 503 with Retry-After (REST) or an `isError` result with this code (MCP).
 */
export class DatabaseUnavailableError extends DomainError {
  readonly kind = 'unavailable';
  readonly code = 'UNAVAILABLE';
  /** A hint for Retry-After: about how long a PostgreSQL restart takes. */
  readonly retryAfterSeconds = 5;
  constructor() {
    super('The database is unavailable right now; retry in a few seconds.');
  }
}

/**
 * SQLSTATEs that mean the server went away or will not take work yet (PostgreSQL, Appendix A):
 * class 08 (connection exception), 57P01 admin_shutdown (`pg_ctl stop -m fast`), 57P02
 * crash_shutdown (`-m immediate`, or another backend crashed), 57P03 cannot_connect_now (starting
 * up, shutting down, in recovery), 53300 too_many_connections.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** Socket and DNS failures on the way to the server (Node's system error codes). */
const UNREACHABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * node-postgres's own words for a connection it lost or could not get (pg/lib/client.js,
 * pg-pool/index.js); these errors carry no code.
 */
const LOST_CONNECTION_MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
  /^timeout exceeded when trying to connect$/,
];

/**
 * Whether a failure means the database connection is lost or cannot be had, rather than a
 * problem with the statement. The one place that knows: errors from `pg`, from `pg-pool`, and
 * TypeORM's QueryFailedError around them (its `driverError`); an AggregateError (a host name
 * with several addresses) counts when every attempt failed that way.
 */
export function isConnectionLoss(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 3) return false;
  if (error instanceof DatabaseUnavailableError) return true;
  const { code, message, driverError, errors } = error as {
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    errors?: unknown;
  };
  if (driverError !== undefined && isConnectionLoss(driverError, depth + 1)) return true;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors.every((inner) => isConnectionLoss(inner, depth + 1));
  }
  if (typeof code === 'string') {
    if (UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
    if (UNREACHABLE_ERRNOS.has(code)) return true;
  }
  return (
    typeof message === 'string' && LOST_CONNECTION_MESSAGES.some((pattern) => pattern.test(message))
  );
}

/**
 * A few words on a database error for the log: its code (with the server's own sentence for a
 * SQLSTATE), or pg's message; never the statement, its parameters or the connection string (a
 * QueryFailedError's `query` and `parameters` are not read; a socket error's message names the
 * address, so only its code is given).
 */
export function describeDatabaseError(error: unknown): string {
  const inner =
    typeof error === 'object' && error !== null && 'driverError' in error
      ? error.driverError
      : error;
  if (typeof inner !== 'object' || inner === null) return 'unknown cause';
  const { code, message, errors } = inner as {
    code?: unknown;
    message?: unknown;
    errors?: unknown;
  };
  if (Array.isArray(errors) && errors.length > 0) return describeDatabaseError(errors[0]);
  if (typeof code === 'string') {
    // A server message is its own sentence ("terminating connection due to administrator command").
    const said = typeof message === 'string' && /^[0-9A-Z]{5}$/.test(code) ? `: ${message}` : '';
    return `${code}${said}`.slice(0, 160);
  }
  return typeof message === 'string' ? message.slice(0, 160) : 'unknown cause';
}
