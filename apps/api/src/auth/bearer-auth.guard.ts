import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { AccessTokens } from '#auth';
import type { AccessGrant } from '#auth';
import { AppConfig } from '../config/app.config.js';
import { publicUrlFor } from '../oauth/loopback-spellings.js';
import { BearerChallengeError } from './bearer-challenge.error.js';
import { bearerToken, bindVerifier } from './bearer.strategy.js';

/** The scopes a route needs (all of them). */
export const RequireScopes = Reflector.createDecorator<string[]>();

/**
 * Lets a request through only with a valid access token that has the route's scopes. Without one,
 * it answers with the challenge MCP clients start the authorization flow from (RFC 6750 §3, RFC
 * 9728 §5.1): 401, or 403 `insufficient_scope`.
 */
@Injectable()
export class BearerAuthGuard extends AuthGuard('bearer') {
  constructor(
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
    private readonly tokens: AccessTokens,
  ) {
    super();
  }

  /**
   * A token is verified by the passport strategy the first time it is seen; after that it is
   * recalled from the verifier's memory without running passport again, which costs about a sixth
   * of a small request's throughput (`npm run bench -- mcp-throughput`, health_check 0.80× against
   * 0.97× the bare SDK server).
   */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<IncomingMessage & { user?: AccessGrant }>();
    const token = bearerToken(req);
    const known = token ? this.tokens.recall(token) : null;
    if (known) {
      req.user = this.handleRequest(null, known, null, context);
      return true;
    }
    bindVerifier(req, this.tokens);
    return (await super.canActivate(context)) as boolean;
  }

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- AuthGuard's signature
  override handleRequest<TUser = AccessGrant>(
    error: unknown,
    user: unknown,
    _info: unknown,
    context: ExecutionContext,
  ): TUser {
    if (error instanceof Error) throw error;
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    // Undefined at run time on a route that names no scopes, whatever the decorator's type says.
    const named: unknown = this.reflector.getAllAndOverride(RequireScopes, [
      context.getHandler(),
      context.getClass(),
    ]);
    const required = Array.isArray(named) ? (named as string[]) : [];
    const metadata = this.resourceMetadataUrl(req);
    if (!user) {
      throw new BearerChallengeError(
        401,
        bearerToken(req) ? 'invalid_token' : null,
        required,
        metadata,
      );
    }
    const grant = user as AccessGrant;
    if (!required.every((scope) => grant.scopes.has(scope))) {
      throw new BearerChallengeError(403, 'insufficient_scope', required, metadata);
    }
    return grant as TUser;
  }

  /**
   * The metadata for the resource asked: path-inserted for `/mcp` (RFC 9728 §3.1), under the
   * loopback spelling the request used (loopback-spellings.ts), else under PUBLIC_URL.
   */
  private resourceMetadataUrl(req: IncomingMessage): string {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const suffix = path === '/mcp' || path.startsWith('/mcp/') ? '/mcp' : '';
    const base = publicUrlFor(this.config.publicUrl, req.headers.host);
    return `${base}/.well-known/oauth-protected-resource${suffix}`;
  }
}
