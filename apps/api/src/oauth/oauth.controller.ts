import type { IncomingMessage } from 'node:http';
import {
  Body,
  Controller,
  Header,
  HttpCode,
  Post,
  Req,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { AuthorizationService } from '#auth';
import type { ClientCredentials, TokenResponse } from '#auth';
import { OAuthErrorFilter } from './oauth-error.filter.js';
import { formParams } from './form-params.js';
import { OAuthRateLimitGuard, RateLimitGroup } from './oauth-rate-limit.guard.js';

/**
 * The authorization server's machine endpoints: RFC 7591 registration, the RFC 6749 token
 * endpoint (also at `/token`, where the original's clients post) and RFC 7009 revocation.
 */
@Controller()
@UseFilters(OAuthErrorFilter)
@UseGuards(OAuthRateLimitGuard)
export class OAuthController {
  constructor(private readonly authorization: AuthorizationService) {}

  @Post('register')
  @RateLimitGroup('register')
  @HttpCode(201)
  @Header('Cache-Control', 'no-store')
  register(@Body() body: unknown): Promise<Record<string, unknown>> {
    return this.authorization.register(body ?? {});
  }

  @Post(['oauth/token', 'token'])
  @RateLimitGroup('token')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  token(@Req() req: IncomingMessage, @Body() body: unknown): Promise<TokenResponse> {
    const params = formParams(body);
    return this.authorization.token(params, clientCredentials(req, params));
  }

  @Post('oauth/revoke')
  @RateLimitGroup('token')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async revoke(@Req() req: IncomingMessage, @Body() body: unknown): Promise<Record<string, never>> {
    const params = formParams(body);
    await this.authorization.revoke(params, clientCredentials(req, params));
    return {};
  }
}

/**
 * RFC 6749 §2.3.1: HTTP Basic (id and secret form-urlencoded, then base64) or `client_id` and
 * `client_secret` in the body; a public client sends only `client_id`.
 */
function clientCredentials(
  req: IncomingMessage,
  params: Readonly<Record<string, string | undefined>>,
): ClientCredentials {
  const authorization = req.headers.authorization;
  if (authorization?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      return {
        clientId: safeDecode(decoded.slice(0, colon)),
        secret: safeDecode(decoded.slice(colon + 1)),
        via: 'basic',
      };
    }
    return { clientId: undefined, secret: undefined, via: 'basic' };
  }
  const secret = params['client_secret'];
  return { clientId: params['client_id'], secret, via: secret ? 'post' : 'none' };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
