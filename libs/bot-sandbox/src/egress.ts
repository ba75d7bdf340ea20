import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { NotPublicAddressError, isPublicAddress, publicOnlyLookup } from '#core';

/** What a bot asks `ctx.fetch` for. */
export interface EgressRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
}

/** What `ctx.fetch` answers: the response as plain data (text body). */
export interface EgressResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface EgressSettings {
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  /** Tests only: loopback addresses count as allowed (never other private ones). */
  readonly allowLoopback: boolean;
  /** Extra certificate authorities (PEM) trusted for bots' https requests. */
  readonly ca?: string | undefined;
}

/** A request the egress rules refuse; its message goes to the channel's `bot:error`. */
export class EgressDeniedError extends Error {}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const MAX_REDIRECTS = 3;
const MAX_REQUEST_BODY = 64 * 1024;

/** Whether `host` is on the allowlist: an exact host, or `*.domain` for any subdomain of it. */
export function hostAllowed(host: string, allowlist: readonly string[]): boolean {
  const name = host.toLowerCase();
  return allowlist.some((entry) => {
    const pattern = entry.toLowerCase();
    return pattern.startsWith('*.')
      ? name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1
      : name === pattern;
  });
}

/**
 * `ctx.fetch` for bots (DESIGN §6, issue 4 item 5): https only, to hosts on the bot manifest's
 * `egress` list, never to a private or loopback address (checked on the resolved address, which the
 * connection then uses), redirects followed only while they stay on the list, with a time and a
 * size limit. Everything else is refused with a sentence for the channel.
 */
export class EgressFetcher {
  constructor(private readonly settings: EgressSettings) {}

  async fetch(allowlist: readonly string[], request: EgressRequest): Promise<EgressResponse> {
    const method = request.method.toUpperCase();
    if (!METHODS.has(method))
      throw new EgressDeniedError(`method ${method.slice(0, 16)} is not allowed`);
    if (request.body !== null && request.body.length > MAX_REQUEST_BODY) {
      throw new EgressDeniedError(`a request body may be at most ${MAX_REQUEST_BODY} bytes`);
    }
    let url = this.check(request.url, allowlist);
    for (let hop = 0; ; hop++) {
      const response = await this.send(url, method, request);
      const location = response.headers['location'];
      if (response.status < 300 || response.status >= 400 || !location) return response;
      if (hop >= MAX_REDIRECTS) throw new EgressDeniedError('too many redirects');
      url = this.check(new URL(location, url).toString(), allowlist);
    }
  }

  private check(raw: string, allowlist: readonly string[]): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new EgressDeniedError('ctx.fetch needs an absolute URL');
    }
    if (url.protocol !== 'https:') throw new EgressDeniedError('ctx.fetch reaches https URLs only');
    if (url.username || url.password)
      throw new EgressDeniedError('URLs with credentials are refused');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!hostAllowed(host, allowlist)) {
      throw new EgressDeniedError(`host ${host.slice(0, 100)} is not in this bot's egress list`);
    }
    if (isIP(host) && !isPublicAddress(host, this.settings.allowLoopback)) {
      throw new EgressDeniedError(`host ${host} is not a public address`);
    }
    return url;
  }

  private send(url: URL, method: string, request: EgressRequest): Promise<EgressResponse> {
    return new Promise((resolve, reject) => {
      const fail = (reason: string) => reject(new EgressDeniedError(reason));
      const req = httpsRequest(
        url,
        {
          method,
          headers: { ...request.headers, 'user-agent': 'mcp-multiplayer-bot' },
          agent: false,
          lookup: publicOnlyLookup(this.settings.allowLoopback),
          ca: this.settings.ca,
          timeout: this.settings.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.settings.maxResponseBytes) {
              req.destroy();
              fail(`the response is larger than ${this.settings.maxResponseBytes} bytes`);
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === 'string') headers[name] = value;
              else if (Array.isArray(value)) headers[name] = value.join(', ');
            }
            resolve({
              status: res.statusCode ?? 0,
              headers,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
          res.on('error', () => fail('the connection failed'));
        },
      );
      const deadline = setTimeout(() => {
        req.destroy();
        fail(`no answer within ${this.settings.timeoutMs} ms`);
      }, this.settings.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
      req.on('timeout', () => req.destroy());
      req.on('error', (error) => {
        fail(
          error instanceof NotPublicAddressError
            ? `host ${url.hostname} is not a public address`
            : 'the connection failed',
        );
      });
      if (request.body !== null) req.write(request.body);
      req.end();
    });
  }
}
