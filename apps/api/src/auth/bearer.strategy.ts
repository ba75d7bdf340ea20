import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import { AccessTokens } from '#auth';
import type { AccessGrant } from '#auth';

/**
 * The resource server's passport strategy: a bearer access token (RFC 6750 §2.1, header only)
 * verified as one of our JWTs for one of our audiences. Failing is not an error: the guard turns
 * it into the challenge.
 */
@Injectable()
export class BearerStrategy extends PassportStrategy(Strategy, 'bearer') {
  constructor(private readonly tokens: AccessTokens) {
    super();
  }

  async validate(req: IncomingMessage): Promise<AccessGrant | false> {
    const token = bearerToken(req);
    if (!token) return false;
    return (await this.tokens.verify(token)) ?? false;
  }
}

/** The token of an `Authorization: Bearer …` header, if there is one. */
export function bearerToken(req: IncomingMessage): string | null {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(req.headers.authorization ?? '');
  return match?.[1] ?? null;
}
