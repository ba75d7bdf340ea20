import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { freePort } from './free-port.js';

/** Debian's chromium, which .ci/run installs. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Launches chromium headless (playwright-core); fails plainly when it is not installed. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** A client's loopback redirect URI served for real, as a native client serves its own. */
export interface CallbackServer {
  readonly url: string;
  /** Every visit to the callback, oldest first. */
  readonly visits: URL[];
  close(): Promise<void>;
}

/** Serves `/callback` with a page whose heading is "Back in the app", recording each visit. */
export async function startCallbackServer(): Promise<CallbackServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/callback`;
  const visits: URL[] = [];
  const server = createServer((req, res) => {
    const visited = new URL(req.url ?? '/', url);
    if (visited.pathname === '/callback') visits.push(visited);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Back in the app</h1>');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url,
    visits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
