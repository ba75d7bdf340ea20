import {
  Controller,
  Get,
  Inject,
  Logger,
  Optional,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  AccountService,
  AuthorizationService,
  AuthorizeRequestError,
  DEFAULT_TENANT_ID,
  OAuthError,
  OAuthStore,
  PrincipalStore,
  UpstreamIdentityError,
} from '#auth';
import type { AuthorizeRequest, Principal } from '#auth';
import type { PrincipalId, TenantId } from '#core';
import { AppConfig } from '../config/app.config.js';
import { formParams } from './form-params.js';
import { OAuthRateLimitGuard, RateLimitGroup } from './oauth-rate-limit.guard.js';
import { consentPage, errorPage, loginPage } from './pages.js';
import type { ClientSummary } from './pages.js';
import { FormSealer } from './sealed-form.js';
import { UpstreamOidc } from './upstream-oidc.js';

/** How long a login or consent page stays usable. */
const PAGE_TTL_SECONDS = 600;

/** The authorization request parameters a page carries through to its form post. */
const REQUEST_PARAMS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
  'scope',
  'resource',
] as const;

type Params = Readonly<Record<string, string | undefined>>;

/**
 * What a step answers: a redirect (to the client), a page (to the person), or a trip to the
 * upstream identity provider carrying the client's request.
 */
type Reply = { redirect: string } | { status: number; html: string } | { upstream: Params };

/**
 * The authorization endpoint (RFC 6749 §3.1) and the pages behind it. In the `open` mode every
 * valid request is approved for a fresh anonymous principal; in the `local` mode the person signs
 * in with a password, in the `oidc` mode at the upstream provider; then they consent once per
 * client (remembered). Errors the client can handle go back to it on
 * its redirect URI; others are shown to the person.
 */
@Controller('oauth')
@UseGuards(OAuthRateLimitGuard)
export class AuthorizeController {
  private readonly logger = new Logger('OAuth');

  constructor(
    private readonly config: AppConfig,
    private readonly authorization: AuthorizationService,
    private readonly principals: PrincipalStore,
    private readonly accounts: AccountService,
    private readonly store: OAuthStore,
    private readonly sealer: FormSealer,
    @Optional() @Inject(UpstreamOidc) private readonly oidc: UpstreamOidc | null,
  ) {}

  @Get('authorize')
  @RateLimitGroup('authorize')
  authorizeByGet(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.answer(req, res, () => this.authorize(req.query));
  }

  @Post('authorize')
  @RateLimitGroup('authorize')
  authorizeByPost(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.answer(req, res, () => this.authorize(req.body));
  }

  @Post('login')
  @RateLimitGroup('authorize')
  login(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.answer(req, res, () => this.signIn(req.body, req.ip));
  }

  @Post('consent')
  @RateLimitGroup('authorize')
  consent(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.answer(req, res, () => this.decide(req.body));
  }

  /** The upstream identity provider sends the person back here (AUTH_MODE=oidc). */
  @Get('oidc/callback')
  @RateLimitGroup('authorize')
  upstreamCallback(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.answer(req, res, async () => {
      if (!this.oidc) throw new OAuthError('invalid_request', 'Upstream sign-in is not enabled.');
      const { principal, displayName, params } = await this.oidc.finish(req, res);
      const request = await this.authorization.checkAuthorizeRequest(params);
      return this.consentOrApprove(request, params, principal, displayName);
    });
  }

  private async authorize(source: unknown): Promise<Reply> {
    const all = formParams(source);
    const params = Object.fromEntries(REQUEST_PARAMS.map((name) => [name, all[name]]));
    const request = await this.authorization.checkAuthorizeRequest(params);
    if (this.config.authMode === 'open') {
      const principal: Principal = await this.principals.create(DEFAULT_TENANT_ID, 'anonymous');
      return { redirect: await this.authorization.approve(request, principal) };
    }
    if (this.config.authMode === 'oidc') return { upstream: params };
    const sealed = await this.sealer.seal('authorize', params, PAGE_TTL_SECONDS);
    return { status: 200, html: loginPage({ client: summary(request), request: sealed }) };
  }

  /** `from` is the client address (`req.ip`: behind TRUST_PROXY hops, the forwarded one). */
  private async signIn(body: unknown, from: string | undefined): Promise<Reply> {
    const form = formParams(body);
    const params = (await this.sealer.open('authorize', form['request'])) as Params | null;
    if (!params) return expired();
    const request = await this.authorization.checkAuthorizeRequest(params);
    const username = form['username'] ?? '';
    const principal = await this.accounts.signIn(username, form['password'] ?? '');
    if (!principal) {
      // For whoever watches for password guessing: who was tried, from where. Never the password;
      // the name is quoted as JSON so that one with line breaks cannot forge a log line.
      this.logger.warn(
        `failed sign-in as ${JSON.stringify(username.slice(0, 254))} from ${from ?? 'unknown address'} (client ${request.client.id})`,
      );
      return {
        status: 401,
        html: loginPage({
          client: summary(request),
          request: form['request'] ?? '',
          error: 'The e-mail or username and the password do not match an account. Try again.',
          username,
        }),
      };
    }
    // Spent only now: after a wrong password the same form is posted again.
    if (!(await this.sealer.spend('authorize', form['request']))) return expired();
    return this.consentOrApprove(request, params, principal, username);
  }

  /** Approves at once when the person consented to this client before, else asks. */
  private async consentOrApprove(
    request: AuthorizeRequest,
    params: Params,
    principal: Principal,
    displayName: string,
  ): Promise<Reply> {
    const consented = await this.store.findConsent(
      principal.tenantId,
      principal.id,
      request.client.id,
    );
    if (consented !== null && covers(consented, request.scope)) {
      return { redirect: await this.authorization.approve(request, principal) };
    }
    const grant = await this.sealer.seal(
      'consent',
      { params, tenantId: principal.tenantId, principalId: principal.id },
      PAGE_TTL_SECONDS,
    );
    return {
      status: 200,
      html: consentPage({
        client: summary(request),
        grant,
        username: displayName,
        scopes: request.scope.split(' '),
      }),
    };
  }

  private async decide(body: unknown): Promise<Reply> {
    const form = formParams(body);
    const grant = (await this.sealer.open('consent', form['grant'])) as {
      params: Params;
      tenantId: TenantId;
      principalId: PrincipalId;
    } | null;
    if (!grant) return expired();
    const request = await this.authorization.checkAuthorizeRequest(grant.params);
    // One decision per form, allow or deny, on whichever replica it reaches first.
    if (!(await this.sealer.spend('consent', form['grant']))) return expired();
    const target = { uri: request.redirectUri, state: request.state };
    if (form['decision'] !== 'allow') {
      return {
        redirect: this.authorization.errorRedirect(
          target,
          'access_denied',
          'The user denied access.',
        ),
      };
    }
    const principal = await this.principals.find(grant.tenantId, grant.principalId);
    if (!principal) return expired();
    await this.store.saveConsent(
      principal.tenantId,
      principal.id,
      request.client.id,
      request.scope,
    );
    return { redirect: await this.authorization.approve(request, principal) };
  }

  /** Runs a step; an error goes to the client's redirect URI when known, else onto a page. */
  private async answer(req: Request, res: Response, step: () => Promise<Reply>): Promise<void> {
    let reply: Reply;
    try {
      reply = await step();
      if ('upstream' in reply && this.oidc) {
        await this.oidc.start(req, res, reply.upstream);
        return;
      }
    } catch (error) {
      reply = this.failure(error);
    }
    if (res.headersSent) return;
    if ('redirect' in reply) res.redirect(302, reply.redirect);
    else if ('html' in reply) sendPage(res, reply.status, reply.html);
    else sendPage(res, 503, errorPage('Something went wrong', 'Try again in a moment.'));
  }

  private failure(error: unknown): Reply {
    if (error instanceof AuthorizeRequestError && error.redirect) {
      return {
        redirect: this.authorization.errorRedirect(error.redirect, error.code, error.message),
      };
    }
    if (error instanceof OAuthError) {
      return { status: 400, html: errorPage('This sign-in link does not work', error.message) };
    }
    if (error instanceof UpstreamIdentityError) {
      return { status: 403, html: errorPage('You cannot sign in here', error.message) };
    }
    this.logger.error('authorization failed', error instanceof Error ? error.stack : String(error));
    return { status: 503, html: errorPage('Something went wrong', 'Try again in a moment.') };
  }
}

/** A form past its time, altered, or already posted once (a second post gets no second code). */
function expired(): Reply {
  return {
    status: 400,
    html: errorPage(
      'This page has expired or was already used',
      'Go back to the application and start signing in again.',
    ),
  };
}

function summary(request: AuthorizeRequest): ClientSummary {
  let redirectHost: string;
  try {
    const url = new URL(request.redirectUri);
    redirectHost = url.host || `${url.protocol}//`;
  } catch {
    redirectHost = request.redirectUri;
  }
  return { name: request.client.name, redirectHost };
}

/** Whether a remembered consent covers every scope now asked for. */
function covers(consented: string, requested: string): boolean {
  const granted = new Set(consented.split(' '));
  return requested.split(' ').every((scope) => granted.has(scope));
}

/** Pages are never cached or framed (clickjacking), and send no referrer to the client. */
function sendPage(res: Response, status: number, html: string): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy':
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
    })
    .send(html);
}
