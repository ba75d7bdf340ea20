import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

/** The API server refused the log: 400 once the container has ended, 404 once the pod is gone. */
export class PodLogRefusedError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`HTTP ${status}: ${body}`);
  }
}

/** A container log being read: it ends when the container does, or when stopped. */
export interface PodLogStream {
  /** Resolves when the log has ended, however it ended (never rejects). */
  readonly ended: Promise<void>;
  stop(): void;
}

/**
 * Reads one container's log line by line (`GET …/pods/{name}/log`), following it while the
 * container runs unless `follow` is false.
 *
 * Not client-node's `Log`: it pipes the response into the caller's stream without listening for
 * the response's errors, so a connection that resets (an API server restart) or an abort raises an
 * unhandled 'error' event, which ends the whole API process. Here every failure ends the log, and
 * `onError` says why.
 */
export async function readPodLog(
  kubeConfig: KubeConfig,
  target: {
    namespace: string;
    pod: string;
    container: string;
    follow: boolean;
    /** Each line starts with its RFC 3339 time and a space. */
    timestamps?: boolean;
    /** Only lines from this second on (RFC 3339). */
    sinceTime?: string;
  },
  onLine: (line: string) => void,
  onError: (error: Error) => void,
): Promise<PodLogStream> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig names no current cluster');
  const url = new URL(
    `${cluster.server}/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/log`,
  );
  url.searchParams.set('container', target.container);
  url.searchParams.set('follow', String(target.follow));
  if (target.timestamps) url.searchParams.set('timestamps', 'true');
  if (target.sinceTime) url.searchParams.set('sinceTime', target.sinceTime);
  const options: RequestOptions = { method: 'GET' };
  // CA, client certificate or token, and the agent, as the API clients use them.
  await kubeConfig.applyToHTTPSOptions(options);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  let stopped = false;
  let req: ClientRequest | null = null;
  const ended = new Promise<void>((resolve) => {
    let done = false;
    const end = (error?: Error): void => {
      if (done) return;
      done = true;
      if (error && !stopped) onError(error);
      resolve();
    };
    req = send(url, options, (response: IncomingMessage) => {
      response.on('error', (error) => end(error));
      if (response.statusCode !== 200) {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < 1024) body += chunk;
        });
        response.on('end', () =>
          end(new PodLogRefusedError(response.statusCode ?? 0, body.slice(0, 1024))),
        );
        return;
      }
      const lines = createInterface({ input: response, crlfDelay: Infinity });
      lines.on('line', onLine);
      // readline passes the response's errors on: unheard, they would end the process.
      lines.on('error', (error) => end(error));
      lines.on('close', () => end());
      // Cut off (stopped, or the connection dropped) rather than ended: no 'end' comes.
      response.on('close', () => end());
    });
    req.on('error', (error) => end(error));
    req.end();
  });
  return {
    ended,
    stop: () => {
      stopped = true;
      req?.destroy();
    },
  };
}
