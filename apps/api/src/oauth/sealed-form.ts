import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '#core';

/**
 * Records that a seal was used; true on its first use, false when it was used before (on any
 * replica). `OAuthStore.useFormSeal` in the app.
 */
export type SealLedger = (sealHash: string, expiresAt: Date) => Promise<boolean>;

interface Unsealed {
  /** The signed part, which names the seal: its signature is a function of it. */
  readonly body: string;
  readonly value: unknown;
  readonly expiresAt: Date;
}

/**
 * Values a page hands to the browser and gets back in a form post, signed so they cannot be
 * altered: the validated authorization request on the login page, and the signed-in principal on
 * the consent page. Each seal expires; the key is a server secret shared by every replica. A seal
 * that leads to an authorization code is spent when it does (`spend`), so the same form posted
 * again, or replayed by whoever saw it, gets no second code.
 */
export class FormSealer {
  constructor(
    private readonly key: () => Promise<string>,
    private readonly ledger: SealLedger,
  ) {}

  /** Seals a value; a random nonce makes every seal distinct, so spending one spends no other. */
  async seal(purpose: string, value: unknown, ttlSeconds: number): Promise<string> {
    const body = Buffer.from(
      JSON.stringify({
        p: purpose,
        v: value,
        e: Math.floor(Date.now() / 1000) + ttlSeconds,
        n: randomBytes(12).toString('base64url'),
      }),
    ).toString('base64url');
    return `${body}.${await this.sign(body)}`;
  }

  /** The sealed value, or null when it was altered, has expired, or was sealed for another use. */
  async open(purpose: string, sealed: string | undefined): Promise<unknown> {
    return (await this.unseal(purpose, sealed))?.value ?? null;
  }

  /**
   * Spends a valid seal: true the first time, false when it was spent before, by any replica, or
   * is not valid. Call it before acting on the seal, so that of two posts of one form only one acts.
   */
  async spend(purpose: string, sealed: string | undefined): Promise<boolean> {
    const unsealed = await this.unseal(purpose, sealed);
    if (!unsealed) return false;
    return this.ledger(sha256Hex(unsealed.body), unsealed.expiresAt);
  }

  private async unseal(purpose: string, sealed: string | undefined): Promise<Unsealed | null> {
    if (!sealed) return null;
    const parts = sealed.split('.');
    const [body, signature] = parts;
    if (parts.length !== 2 || !body || !signature) return null;
    const expected = Buffer.from(await this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    try {
      const { p, v, e } = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as {
        p: unknown;
        v: unknown;
        e: unknown;
      };
      if (p !== purpose || typeof e !== 'number' || e < Date.now() / 1000) return null;
      return { body, value: v, expiresAt: new Date(e * 1000) };
    } catch {
      return null;
    }
  }

  private async sign(body: string): Promise<string> {
    return createHmac('sha256', await this.key())
      .update(body)
      .digest('base64url');
  }
}
