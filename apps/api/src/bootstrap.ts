import { Logger } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'node:crypto';
import cookieSession from 'cookie-session';
import express from 'express';
import { OAuthStore } from '#auth';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/app.config.js';
import { methodPolicy, refuseConnect } from './http/method-policy.js';
import { RequestLog, pathOf } from './http/request-log.js';
import { consoleLogger, processTerminal } from './logging/console-logger.js';
import { sendOAuthError } from './oauth/oauth-error.filter.js';

/** REST bodies: bot code is at most 256 KiB, so 1 MiB leaves room for JSON escaping. */
const REST_BODY_LIMIT = '1mb';
const OAUTH_BODY_LIMIT = '16kb';

/**
 * Builds the HTTP application for a configuration. Every request is logged once it is answered,
 * and a method its path has no route for is refused with 405 before anything reads it. MCP reads
 * its own bodies (its errors must be JSON-RPC); REST gets Express's JSON parser.
 */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: consoleLogger(config.logLevel, processTerminal()),
  });
  app.disable('x-powered-by');
  // req.ip, which the OAuth rate limits key on, is the client's only behind trusted proxies.
  app.set('trust proxy', config.trustProxyHops);
  const requests = new RequestLog(new Logger('Http'));
  app.use(requests.middleware);
  app.use(methodPolicy(app.getHttpAdapter().getInstance()));
  refuseConnect(app.getHttpServer(), (req) =>
    requests.record({
      method: 'CONNECT',
      path: pathOf(req.url),
      status: 405,
      durationMs: 0,
      tenantId: null,
      aborted: false,
    }),
  );
  app.use('/api', express.json({ limit: REST_BODY_LIMIT }));
  // OAuth: forms (RFC 6749 §3.2) and JSON registration requests (RFC 7591 §3.1).
  app.use(['/oauth', '/token'], express.urlencoded({ extended: false, limit: OAUTH_BODY_LIMIT }));
  app.use(['/oauth', '/token', '/register'], express.json({ limit: OAUTH_BODY_LIMIT }));
  app.use(['/oauth', '/token', '/register'], oauthBodyError);
  if (config.authMode === 'oidc') app.use('/oauth', upstreamSignInCookie(app, config));
  app.enableShutdownHooks();
  return app;
}

/**
 * The signed cookie the upstream sign-in keeps its round trip in (the client's request, the PKCE
 * verifier): only under /oauth, HttpOnly, SameSite=Lax (the provider's redirect back is a top-level
 * navigation), Secure on https, ten minutes.
 */
function upstreamSignInCookie(app: INestApplication, config: AppConfig): express.RequestHandler {
  let handler: Promise<express.RequestHandler> | null = null;
  return (req, res, next) => {
    handler ??= app
      .get(OAuthStore)
      .serverSecret('signin-cookie', () => randomBytes(32).toString('base64url'))
      .then((key) =>
        cookieSession({
          name: 'mp_signin',
          keys: [key],
          path: '/oauth',
          httpOnly: true,
          sameSite: 'lax',
          // Behind a TLS-terminating proxy the request is known to be https only when the proxy is
          // trusted (TRUST_PROXY); without that, the cookie cannot be marked Secure.
          secure: config.publicUrl.startsWith('https:') && config.trustProxyHops > 0,
          maxAge: 10 * 60 * 1000,
        }),
      );
    handler.then((run) => run(req, res, next), next);
  };
}

/** A body the OAuth parsers could not read gets the RFC 6749 error shape, like every OAuth error. */
function oauthBodyError(
  error: unknown,
  _req: express.Request,
  res: express.Response,
  next: express.NextFunction,
): void {
  if (res.headersSent) return next(error);
  const tooLarge =
    typeof error === 'object' && error !== null && 'status' in error && error.status === 413;
  sendOAuthError(
    res,
    tooLarge ? 413 : 400,
    'invalid_request',
    tooLarge ? 'The request body is too large.' : 'The request body could not be read.',
  );
}

export async function startServer(config: AppConfig): Promise<INestApplication> {
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  const where = config.databaseUrl ? 'PostgreSQL' : `PGlite in ${config.dataDir}`;
  new Logger('App').log(
    `listening on ${config.host}:${config.port} (${config.publicUrl}/mcp), data in ${where}`,
  );
  return app;
}
