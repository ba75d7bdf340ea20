/** Types of nats-server.mjs (plain JavaScript, so Jest's global setup can load it untransformed). */
export interface RunningNats {
  readonly url: string;
  stop(): void;
}
export function startNats(): Promise<RunningNats>;
