import { ArgumentsHost, Catch, HttpException, Logger } from '@nestjs/common';
import type { ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { BearerChallengeError } from '../auth/bearer-challenge.error.js';
import { STATUS_BY_KIND, retryAfterOf, toDomainError } from '../errors/error-mapping.js';
import { OAuthRateLimitedError } from '../oauth/oauth-rate-limit.guard.js';

/**
 * Maps every failure on the HTTP edge (REST, and MCP before it reaches the SDK) to RFC 9457
 * problem+json with the compat `code`, never a stack trace or SQL. Framework errors (a malformed JSON body, an unknown route) keep their status.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Rest');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    if (exception instanceof BearerChallengeError) {
      res.setHeader('WWW-Authenticate', exception.header);
      const code = exception.status === 401 ? 'UNAUTHORIZED' : 'INSUFFICIENT_SCOPE';
      return send(res, exception.status, code, exception.description);
    }
    if (exception instanceof HttpException || isBodyParserError(exception)) {
      const status = exception instanceof HttpException ? exception.getStatus() : exception.status;
      const code =
        status === 404 ? 'NOT_FOUND' : status === 413 ? 'INVALID_REQUEST' : 'INVALID_REQUEST';
      const detail =
        status === 404
          ? 'No such endpoint. See /api/v1/openapi.json.'
          : status === 413
            ? 'The request body is too large.'
            : 'The request body is not valid JSON.';
      return send(res, status >= 500 ? 500 : status, code, detail);
    }
    if (exception instanceof OAuthRateLimitedError) {
      res.setHeader('Retry-After', String(exception.retryAfterSeconds));
    }
    const { error, unexpected } = toDomainError(exception);
    if (unexpected)
      this.logger.error(
        'request failed',
        exception instanceof Error ? exception.stack : String(exception),
      );
    // An outage (the database restarting) is retryable: say when (RFC 9110 §10.2.3).
    const retryAfter = retryAfterOf(error);
    if (retryAfter !== null) res.setHeader('Retry-After', String(retryAfter));
    send(res, STATUS_BY_KIND[error.kind], error.code, error.message);
  }
}

function isBodyParserError(error: unknown): error is { status: number; type: string } {
  return (
    typeof error === 'object' &&
    error !== null &&
    'type' in error &&
    'status' in error &&
    typeof error.status === 'number'
  );
}

function send(res: Response, status: number, code: string, detail: string): void {
  res
    .status(status)
    .type('application/problem+json')
    .json({ type: 'about:blank', title: code.split(':')[0], status, code, detail });
}
