import { ArgumentsHost, Catch, Logger } from '@nestjs/common';
import type { ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { OAuthError } from '#auth';
import { STATUS_BY_KIND } from '../errors/error-mapping.js';
import { OAuthRateLimitedError } from './oauth-rate-limit.guard.js';

/**
 * Errors of the OAuth endpoints in the shape RFC 6749 §5.2 and RFC 7591 §3.2.2 require:
 * `{error, error_description}` and `Cache-Control: no-store`. Anything unexpected is a generic
 * `temporarily_unavailable`: no internals reach the client.
 */
@Catch()
export class OAuthErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('OAuth');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    if (exception instanceof OAuthError) {
      const status = STATUS_BY_KIND[exception.kind];
      if (status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="oauth"');
      sendOAuthError(res, status, exception.code, exception.message);
      return;
    }
    if (exception instanceof OAuthRateLimitedError) {
      res.setHeader('Retry-After', String(exception.retryAfterSeconds));
      sendOAuthError(res, 429, 'temporarily_unavailable', exception.message);
      return;
    }
    if (isBodyParserError(exception)) {
      sendOAuthError(res, 400, 'invalid_request', 'The request body could not be read.');
      return;
    }
    this.logger.error(
      'OAuth request failed',
      exception instanceof Error ? exception.stack : String(exception),
    );
    sendOAuthError(res, 503, 'temporarily_unavailable', 'Try again in a moment.');
  }
}

export function sendOAuthError(
  res: Response,
  status: number,
  error: string,
  description: string,
): void {
  res
    .status(status)
    .set('Cache-Control', 'no-store')
    .json({ error, error_description: description });
}

function isBodyParserError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'type' in error && 'status' in error;
}
