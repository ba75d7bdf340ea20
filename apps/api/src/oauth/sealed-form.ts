import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Values a page hands to the browser and gets back in a form post, signed so they cannot be
 * altered: the validated authorization request on the login page, and the signed-in principal on
 * the consent page. Each seal expires; the key is a server secret shared by every replica.
 */
export class FormSealer {
  constructor(private readonly key: () => Promise<string>) {}

  async seal(purpose: string, value: unknown, ttlSeconds: number): Promise<string> {
    const body = Buffer.from(
      JSON.stringify({ p: purpose, v: value, e: Math.floor(Date.now() / 1000) + ttlSeconds }),
    ).toString('base64url');
    return `${body}.${await this.sign(body)}`;
  }

  /** The sealed value, or null when it was altered, has expired, or was sealed for another use. */
  async open(purpose: string, sealed: string | undefined): Promise<unknown> {
    if (!sealed) return null;
    const [body, signature] = sealed.split('.');
    if (!body || !signature) return null;
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
      return v;
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
