import { randomBytes } from 'node:crypto';

/** A string id of one kind; the brand stops a channel id from being passed as a slot id. */
export type Brand<T, B extends string> = T & { readonly __brand: B };

export type TenantId = Brand<string, 'TenantId'>;
export type PrincipalId = Brand<string, 'PrincipalId'>;
export type ChannelId = Brand<string, 'ChannelId'>;
export type SlotId = Brand<string, 'SlotId'>;
export type BotId = Brand<string, 'BotId'>;

/**
 * `prefix` followed by `length` random URL-safe characters (base64url alphabet, 6 bits each,
 * from the OS CSPRNG). Formats follow spec/compat.md: `chn_` + 11, `inv_` + 22, `rejoin_` + 22.
 */
export function randomId(prefix: string, length: number): string {
  return (
    prefix +
    randomBytes(Math.ceil((length * 3) / 4) + 1)
      .toString('base64url')
      .slice(0, length)
  );
}
