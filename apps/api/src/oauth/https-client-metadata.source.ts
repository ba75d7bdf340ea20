import { request } from 'node:https';
import { isIP } from 'node:net';
import { ClientMetadataFetchError, ClientMetadataSource } from '#auth';
import type { FetchedClientMetadata } from '#auth';
import { NotPublicAddressError, isPublicAddress, publicOnlyLookup } from '#core';

export interface MetadataFetchSettings {
  /** Loopback addresses are refused unless this is set (tests serve documents locally). */
  readonly allowLoopback: boolean;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Extra trusted certificate authorities (PEM), e.g. a company's own. */
  readonly ca?: string | undefined;
}

/**
 * Fetches Client ID Metadata Documents over https with SSRF guards: the host must resolve only to
 * public addresses, and the connection goes to the address that was checked (so a second DNS
 * answer cannot point it elsewhere); no redirects; a size and a time limit; JSON only.
 */
export class HttpsClientMetadataSource extends ClientMetadataSource {
  constructor(private readonly settings: MetadataFetchSettings) {
    super();
  }

  fetch(url: URL): Promise<FetchedClientMetadata> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !isPublicAddress(host, this.settings.allowLoopback)) {
      return Promise.reject(new ClientMetadataFetchError('its host is not a public address'));
    }
    return new Promise((resolve, reject) => {
      const fail = (reason: string) => reject(new ClientMetadataFetchError(reason));
      const req = request(
        url,
        {
          method: 'GET',
          headers: { accept: 'application/json' },
          // A fresh connection every time: a pooled one would skip the address check below.
          agent: false,
          lookup: publicOnlyLookup(this.settings.allowLoopback),
          ca: this.settings.ca,
          timeout: this.settings.timeoutMs,
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            fail(`it answered HTTP ${res.statusCode ?? 0} (redirects are not followed)`);
            return;
          }
          if (!/\bjson\b/i.test(res.headers['content-type'] ?? '')) {
            res.resume();
            fail('it is not served as JSON');
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.settings.maxBytes) {
              req.destroy();
              fail(`it is larger than ${this.settings.maxBytes} bytes`);
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            try {
              resolve({
                document: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
                maxAgeSeconds: maxAge(res.headers['cache-control']),
              });
            } catch {
              fail('it is not valid JSON');
            }
          });
          res.on('error', () => fail('the connection failed'));
        },
      );
      const deadline = setTimeout(() => {
        req.destroy();
        fail(`it took longer than ${this.settings.timeoutMs} ms`);
      }, this.settings.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
      req.on('timeout', () => req.destroy());
      req.on('error', (error) => {
        fail(
          error instanceof ClientMetadataFetchError || error instanceof NotPublicAddressError
            ? error.message
            : 'the connection failed',
        );
      });
      req.end();
    });
  }
}

/** Seconds from `Cache-Control: max-age`; 0 for no-store or no-cache; null when absent. */
function maxAge(header: string | undefined): number | null {
  if (!header) return null;
  if (/\b(no-store|no-cache)\b/i.test(header)) return 0;
  const seconds = /\bmax-age=(\d+)/i.exec(header)?.[1];
  return seconds === undefined ? null : Number(seconds);
}
