import { AccountService, AuthorizationService } from '#auth';
import { DomainError } from '#core';
import type { TenantId } from '#core';

/** What the admin commands need; built by the CLI from the configuration, or by a test. */
export interface AdminServices {
  readonly accounts: AccountService;
  readonly authorization: AuthorizationService;
}

export const ADMIN_USAGE = `Usage: npm run admin -- <command>
  tenant create <tenant-id> [name]           create a tenant (ids look like ten_acme)
  account create <tenant-id> <username>      create a local account; the password is read from stdin
  client create <tenant-id> <name> [scope]   create a client-credentials client for scripts;
                                             prints its client_id and client_secret once`;

/**
 * Runs one admin command and returns what to print. Errors the operator can fix come back as
 * `{ ok: false }` with a sentence; nothing here throws for bad input.
 */
export async function runAdmin(
  args: readonly string[],
  services: AdminServices,
  readPassword: () => Promise<string>,
): Promise<{ ok: boolean; output: string }> {
  const [noun, verb, ...rest] = args;
  try {
    if (noun === 'tenant' && verb === 'create' && rest[0]) {
      const tenant = await services.accounts.createTenant(rest[0], rest.slice(1).join(' '));
      return { ok: true, output: `created tenant ${tenant.id} (${tenant.name})` };
    }
    if (noun === 'account' && verb === 'create' && rest[0] && rest[1]) {
      const principal = await services.accounts.createAccount(
        rest[0] as TenantId,
        rest[1],
        await readPassword(),
      );
      return { ok: true, output: `created account ${rest[1]} (principal ${principal.id})` };
    }
    if (noun === 'client' && verb === 'create' && rest[0] && rest[1]) {
      const created = await services.authorization.createServiceClient(
        rest[0] as TenantId,
        rest[1],
        rest[2],
      );
      return {
        ok: true,
        output: [
          `client_id=${created.clientId}`,
          `client_secret=${created.clientSecret}`,
          '# The secret is shown only now; store it safely.',
        ].join('\n'),
      };
    }
    return { ok: false, output: ADMIN_USAGE };
  } catch (error) {
    if (error instanceof DomainError) return { ok: false, output: error.message };
    throw error;
  }
}
