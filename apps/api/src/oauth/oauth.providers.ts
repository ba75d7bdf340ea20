import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Provider } from '@nestjs/common';
import {
  AccessTokens,
  AccountService,
  AccountStore,
  AuthorizationService,
  OAuthStore,
  PasswordHasher,
  PrincipalStore,
} from '#auth';
import { Database, TypeOrmAccountStore, TypeOrmOAuthStore } from '#persistence';
import type { AppConfig } from '../config/app.config.js';
import { BearerStrategy } from '../auth/bearer.strategy.js';
import { accessTokenSettings, authorizationSettings } from './oauth.settings.js';
import { HttpsClientMetadataSource } from './https-client-metadata.source.js';
import { FormSealer } from './sealed-form.js';
import { UpstreamOidc } from './upstream-oidc.js';

/** Limits on fetching a Client ID Metadata Document (a few hundred bytes in practice). */
const METADATA_TIMEOUT_MS = 5_000;
const METADATA_MAX_BYTES = 16 * 1024;

/** The authorization and resource server's parts, wired from the configuration. */
export function oauthProviders(config: AppConfig): Provider[] {
  return [
    {
      provide: OAuthStore,
      useFactory: (db: Database) => new TypeOrmOAuthStore(db),
      inject: [Database],
    },
    {
      provide: AccountStore,
      useFactory: (db: Database) => new TypeOrmAccountStore(db),
      inject: [Database],
    },
    {
      provide: AccessTokens,
      useFactory: (store: OAuthStore) => new AccessTokens(store, accessTokenSettings(config)),
      inject: [OAuthStore],
    },
    {
      provide: AuthorizationService,
      useFactory: (store: OAuthStore, principals: PrincipalStore, tokens: AccessTokens) =>
        new AuthorizationService(
          store,
          principals,
          tokens,
          authorizationSettings(config),
          new HttpsClientMetadataSource({
            allowLoopback: config.clientMetadataAllowLoopback,
            timeoutMs: METADATA_TIMEOUT_MS,
            maxBytes: METADATA_MAX_BYTES,
            ca: config.oauthExtraCaFile ? readFileSync(config.oauthExtraCaFile, 'utf8') : undefined,
          }),
        ),
      inject: [OAuthStore, PrincipalStore, AccessTokens],
    },
    {
      provide: AccountService,
      useFactory: (accounts: AccountStore) => new AccountService(accounts, new PasswordHasher()),
      inject: [AccountStore],
    },
    {
      provide: FormSealer,
      useFactory: (store: OAuthStore) => {
        let key: Promise<string> | null = null;
        return new FormSealer(
          () => {
            key ??= store.serverSecret('page-seal', () => randomBytes(32).toString('base64url'));
            return key;
          },
          (sealHash, expiresAt) => store.useFormSeal(sealHash, expiresAt),
        );
      },
      inject: [OAuthStore],
    },
    {
      provide: UpstreamOidc,
      useFactory: (accounts: AccountService) =>
        config.oidc
          ? new UpstreamOidc(config.oidc, `${config.publicUrl}/oauth/oidc/callback`, accounts)
          : null,
      inject: [AccountService],
    },
    BearerStrategy,
  ];
}
