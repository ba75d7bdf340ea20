import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import { AccessTokens } from '#auth';
import type { AccessGrant } from '#auth';

/** The verifier of the application a request reached (see BearerStrategy). */
const verifiers = new WeakMap<IncomingMessage, AccessTokens>();

/** Hands a request the verifier of the application serving it, before passport runs. */
export function bindVerifier(req: IncomingMessage, tokens: AccessTokens): void {
  verifiers.set(req, tokens);
}

/**
 * The resource server's passport strategy: a bearer access token (RFC 6750 §2.1, header only)
 * verified as one of our JWTs for one of our audiences. Failing is not an error: the guard turns
 * it into the challenge. Passport keeps strategies in one registry per process, so the strategy
 * holds no keys of its own: it verifies with those of the application the request reached (tests
 * run several applications in one process).
 */
@Injectable()
export class BearerStrategy extends PassportStrategy(Strategy, 'bearer') {
  async validate(req: IncomingMessage): Promise<AccessGrant | false> {
    const token = bearerToken(req);
    const tokens = verifiers.get(req);
    if (!token || !tokens) return false;
    return (await tokens.verify(token)) ?? false;
  }
}

/** The token of an `Authorization: Bearer …` header, if there is one. */
export function bearerToken(req: IncomingMessage): string | null {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(req.headers.authorization ?? '');
  return match?.[1] ?? null;
}
