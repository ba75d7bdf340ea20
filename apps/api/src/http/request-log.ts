import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AccessGrant } from '#auth';

/**
 * One request as the log shows it. Never its query string (a member token may ride in it), its
 * headers (tokens, cookies) or its body.
 */
export interface RequestRecord {
  readonly method: string;
  /** The path only, without the query string. */
  readonly path: string;
  /** Null when the client went away before a response was started. */
  readonly status: number | null;
  readonly durationMs: number;
  /** The tenant of the access token the bearer guard accepted; null for anonymous requests. */
  readonly tenantId: string | null;
  /** The connection closed before the response was complete. */
  readonly aborted: boolean;
}

export interface RequestLogger {
  log(message: string): void;
  debug(message: string): void;
}

/** Probes call every few seconds: their lines go to the debug level, so they do not flood. */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/** A path longer than this is cut: a log line stays a line. */
const MAX_PATH_LENGTH = 512;

/**
 * The access log: one line per request, written when its response has ended (a long poll or an
 * SSE stream when it ends), e.g. `POST /api/v1/channels 201 12.4ms tenant=ten_acme`.
 */
export class RequestLog {
  constructor(private readonly logger: RequestLogger) {}

  /** Express middleware; register it first, so every answer is timed and logged. */
  readonly middleware: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    // 'close' comes once per response, after 'finish' or when the connection drops first.
    res.once('close', () =>
      this.record({
        method: req.method,
        path: pathOf(req.originalUrl),
        status: res.headersSent ? res.statusCode : null,
        durationMs: performance.now() - started,
        tenantId: tenantOf(req),
        aborted: !res.writableFinished,
      }),
    );
    next();
  };

  record(record: RequestRecord): void {
    const line = formatRequest(record);
    if (PROBE_PATHS.has(record.path)) this.logger.debug(line);
    else this.logger.log(line);
  }
}

export function formatRequest(record: RequestRecord): string {
  return [
    record.method,
    record.path,
    record.status ?? '-',
    `${record.durationMs.toFixed(1)}ms`,
    ...(record.tenantId ? [`tenant=${record.tenantId}`] : []),
    ...(record.aborted ? ['aborted'] : []),
  ].join(' ');
}

/** The request target up to its query string or fragment, cut to a sane length. */
export function pathOf(target: string | undefined): string {
  const path = (target ?? '/').split(/[?#]/, 1)[0] ?? '/';
  return path.length > MAX_PATH_LENGTH ? `${path.slice(0, MAX_PATH_LENGTH)}…` : path;
}

/** Set on the request by BearerAuthGuard (Passport's `req.user`) once a token is accepted. */
function tenantOf(req: IncomingMessage): string | null {
  return (req as IncomingMessage & { user?: AccessGrant }).user?.principal.tenantId ?? null;
}
