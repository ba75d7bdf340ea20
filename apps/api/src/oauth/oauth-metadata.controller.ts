import { Controller, Get, Header, Headers } from '@nestjs/common';
import { AccessTokens, SCOPES } from '#auth';
import { AppConfig } from '../config/app.config.js';
import { publicUrlFor } from './loopback-spellings.js';

/**
 * Discovery documents: RFC 8414 authorization-server metadata, RFC 9728 protected-resource
 * metadata (at the root and path-inserted for `/mcp`) and the JWKS the tokens are signed with.
 */
@Controller('.well-known')
export class OAuthMetadataController {
  constructor(
    private readonly config: AppConfig,
    private readonly tokens: AccessTokens,
  ) {}

  @Get('oauth-authorization-server')
  @Header('Cache-Control', 'public, max-age=300')
  authorizationServer(): Record<string, unknown> {
    const base = this.config.publicUrl;
    return {
      issuer: base,
      authorization_endpoint: `${base}/oauth/authorize`,
      token_endpoint: `${base}/oauth/token`,
      registration_endpoint: `${base}/register`,
      revocation_endpoint: `${base}/oauth/revoke`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      scopes_supported: [...SCOPES],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: [
        'none',
        'client_secret_basic',
        'client_secret_post',
      ],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
      service_documentation: `${base}/`,
    };
  }

  /**
   * RFC 9728 §3: for `/mcp` (path-inserted) and for the root, which serves MCP too. The resource
   * is named as the client addressed it when that is a loopback spelling of PUBLIC_URL (§3.3: the
   * client checks it against the URL it was given); the authorization server is always PUBLIC_URL.
   */
  @Get(['oauth-protected-resource', 'oauth-protected-resource/mcp'])
  @Header('Cache-Control', 'public, max-age=300')
  @Header('Vary', 'Host')
  protectedResource(@Headers('host') host: string | undefined): Record<string, unknown> {
    const base = publicUrlFor(this.config.publicUrl, host);
    return {
      resource: `${base}/mcp`,
      authorization_servers: [this.config.publicUrl],
      scopes_supported: [...SCOPES],
      bearer_methods_supported: ['header'],
      resource_name: 'MCP Multiplayer',
      resource_documentation: `${this.config.publicUrl}/`,
    };
  }

  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks(): Promise<unknown> {
    return this.tokens.publicKeys();
  }
}
