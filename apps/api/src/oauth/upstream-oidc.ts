import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import * as oidc from 'openid-client';
import { Strategy } from 'openid-client/passport';
import type { VerifyFunction } from 'openid-client/passport';
import passport from 'passport';
import { AccountService, OAuthError, displayNameOf } from '#auth';
import type { Principal, TenantMapping, UpstreamClaims } from '#auth';
import type { TenantId } from '#core';
import type { OidcSettings } from '../config/app.config.js';

/** The authorization request parameters kept while the person is at the upstream provider. */
type Params = Readonly<Record<string, string | undefined>>;

/** A request with the cookie session (cookie-session) the upstream flow keeps its state in. */
type SessionRequest = Request & { session?: Record<string, unknown> | null };

/** Express middleware, as passport.authenticate returns it. */
type Middleware = (req: Request, res: Response, next: (error?: unknown) => void) => void;

/** Who came back from the upstream provider, and the request they were authorizing. */
export interface UpstreamSignIn {
  readonly principal: Principal;
  readonly displayName: string;
  readonly params: Params;
}

/**
 * Sign-in through an upstream OpenID Connect provider (AUTH_MODE=oidc), with openid-client's
 * passport strategy: authorization code with PKCE, the ID token checked by openid-client. The
 * state of the round trip (our client's request, the PKCE verifier) lives in a signed, short-lived
 * cookie, so any replica can take the person back.
 */
export class UpstreamOidc {
  /** Unique per application: passport keeps strategies in one registry per process. */
  private readonly strategyName = `oidc-${randomBytes(6).toString('hex')}`;
  private ready: Promise<void> | null = null;
  private readonly mapping: TenantMapping;

  constructor(
    private readonly settings: OidcSettings,
    private readonly callbackUrl: string,
    private readonly accounts: AccountService,
  ) {
    this.mapping = {
      claim: settings.tenantClaim,
      domains: new Map(
        [...settings.tenantDomains].map(([domain, tenant]) => [domain, tenant as TenantId]),
      ),
    };
  }

  /** Sends the person to the provider; the client's request waits in the cookie. */
  async start(req: SessionRequest, res: Response, params: Params): Promise<void> {
    await this.strategy();
    session(req)['authorize'] = params;
    const authenticate = passport.authenticate(this.strategyName, {
      session: false,
    }) as Middleware;
    await new Promise<void>((resolve, reject) => {
      res.once('finish', resolve);
      authenticate(req, res, (error: unknown) => {
        reject(error instanceof Error ? error : new Error('the upstream sign-in did not start'));
      });
    });
  }

  /** Completes the sign-in on the provider's redirect back. */
  async finish(req: SessionRequest, res: Response): Promise<UpstreamSignIn> {
    await this.strategy();
    const params = session(req)['authorize'] as Params | undefined;
    delete session(req)['authorize'];
    const signedIn = await new Promise<{ principal: Principal; displayName: string }>(
      (resolve, reject) => {
        const failed = (error: unknown) =>
          reject(
            error instanceof Error
              ? error
              : new OAuthError(
                  'access_denied',
                  'The sign-in at your provider did not complete; start again from the application.',
                ),
          );
        const authenticate = passport.authenticate(
          this.strategyName,
          { session: false },
          (error: unknown, user: { principal: Principal; displayName: string } | false) => {
            if (error || !user) failed(error);
            else resolve(user);
          },
        ) as Middleware;
        authenticate(req, res, failed);
      },
    );
    if (!params) {
      throw new OAuthError(
        'invalid_request',
        'This sign-in took too long or started elsewhere; start again from the application.',
      );
    }
    return { ...signedIn, params };
  }

  /** Discovers the provider and registers the strategy once, on first use. */
  private strategy(): Promise<void> {
    this.ready ??= (async () => {
      // Plain http to the provider only when a test asks for it (OIDC_ALLOW_INSECURE_HTTP).
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated to stand out, as here
      const execute = this.settings.allowInsecureHttp ? [oidc.allowInsecureRequests] : [];
      const config = await oidc.discovery(
        new URL(this.settings.issuer),
        this.settings.clientId,
        this.settings.clientSecret,
        undefined,
        { execute },
      );
      const verify: VerifyFunction = (tokens, done) => {
        const idToken = tokens.claims() as UpstreamClaims | undefined;
        if (!idToken) {
          done(new OAuthError('access_denied', 'The provider sent no ID token.'));
          return;
        }
        // Many providers put email and profile claims only in the UserInfo response; the ID
        // token's own claims win, and openid-client checks that both name the same subject.
        oidc
          .fetchUserInfo(config, tokens.access_token, idToken.sub)
          .then((info) => {
            const claims: UpstreamClaims = { ...info, ...idToken };
            return this.accounts.signInUpstream(claims, this.mapping).then((principal) => {
              done(null, { principal, displayName: displayNameOf(claims) });
            });
          })
          .catch(done);
      };
      passport.use(
        this.strategyName,
        new Strategy(
          {
            config,
            scope: this.settings.scopes,
            callbackURL: this.callbackUrl,
            sessionKey: 'upstream',
          },
          verify,
        ),
      );
    })();
    this.ready.catch(() => (this.ready = null));
    return this.ready;
  }
}

function session(req: SessionRequest): Record<string, unknown> {
  if (!req.session) throw new Error('the sign-in cookie session is missing');
  return req.session;
}
