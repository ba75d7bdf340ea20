import { Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DomainError, TokenBucketLimiter } from '#core';
import { AppConfig } from '../config/app.config.js';

/** Which endpoint group a route's calls count against. */
export const RateLimitGroup = Reflector.createDecorator<'register' | 'token' | 'authorize'>();

/** Too many calls to an OAuth endpoint from one address or for one client. */
export class OAuthRateLimitedError extends DomainError {
  readonly kind = 'rate-limited';
  readonly code = 'RATE_LIMITED';

  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests; try again in ${retryAfterSeconds} s.`);
  }
}

/**
 * Rate limits on the authorization server (DESIGN §8 hardening): each endpoint group has a token
 * bucket per client address and, when the request names one, per client id, so neither a flood
 * of registrations nor password guessing against one client gets far.
 */
@Injectable()
export class OAuthRateLimitGuard implements CanActivate {
  private readonly buckets: TokenBucketLimiter;

  constructor(
    private readonly reflector: Reflector,
    config: AppConfig,
  ) {
    this.buckets = new TokenBucketLimiter(config.oauthRatePerMinute, config.oauthRateBurst);
  }

  canActivate(context: ExecutionContext): boolean {
    const group: unknown = this.reflector.get(RateLimitGroup, context.getHandler());
    if (typeof group !== 'string') return true;
    const req = context.switchToHttp().getRequest<Request>();
    const keys = [`${group}:ip:${req.ip ?? 'unknown'}`];
    const clientId = clientIdOf(req);
    if (clientId) keys.push(`${group}:client:${clientId}`);
    for (const key of keys) {
      const wait = this.buckets.take(key);
      if (wait > 0) throw new OAuthRateLimitedError(wait);
    }
    return true;
  }
}

/** The client a request names: in the query, the form, or HTTP Basic credentials. */
function clientIdOf(req: Request): string | null {
  const fromParams = (source: unknown): unknown =>
    typeof source === 'object' && source !== null && 'client_id' in source
      ? source.client_id
      : undefined;
  const named = fromParams(req.query) ?? fromParams(req.body);
  if (typeof named === 'string') return named.slice(0, 200);
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (!basic) return null;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  return decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')).slice(0, 200) : null;
}
