import { lookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { request } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { ClientMetadataFetchError, ClientMetadataSource } from '#auth';
import type { FetchedClientMetadata } from '#auth';

export interface MetadataFetchSettings {
  /** Loopback addresses are refused unless this is set (tests serve documents locally). */
  readonly allowLoopback: boolean;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Extra trusted certificate authorities (PEM), e.g. a company's own. */
  readonly ca?: string | undefined;
}

/**
 * Addresses a metadata fetch must never reach (server-side request forgery): private, shared,
 * link-local (cloud metadata services), documentation, multicast and reserved ranges.
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

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
    if (isIP(host) && !this.allowed(host)) {
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
          lookup: this.lookup,
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
        fail(error instanceof ClientMetadataFetchError ? error.message : 'the connection failed');
      });
      req.end();
    });
  }

  private allowed(address: string): boolean {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped) return this.allowed(mapped);
    if (LOOPBACK.check(address, family)) return this.settings.allowLoopback;
    return !NOT_PUBLIC.check(address, family);
  }

  /** dns.lookup, refusing the host when any address it resolves to is not public. */
  private readonly lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (
      error: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      if (addresses.length === 0 || !addresses.every((a) => this.allowed(a.address))) {
        return callback(new ClientMetadataFetchError('its host is not a public address'), []);
      }
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      callback(null, first?.address ?? '', first?.family);
    });
  };
}

/** Seconds from `Cache-Control: max-age`; 0 for no-store or no-cache; null when absent. */
function maxAge(header: string | undefined): number | null {
  if (!header) return null;
  if (/\b(no-store|no-cache)\b/i.test(header)) return 0;
  const seconds = /\bmax-age=(\d+)/i.exec(header)?.[1];
  return seconds === undefined ? null : Number(seconds);
}
