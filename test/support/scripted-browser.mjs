// A browser for tests: the command a client such as mcp-remote "opens" the authorization URL
// with (BROWSER=...). It signs in as MP_BROWSER_USERNAME / MP_BROWSER_PASSWORD (or, with none, just
// follows the open mode's redirect), allows access, and delivers the final redirect to the
// client's loopback callback, as a person's browser would.
import { signInThroughPages } from './browser-steps.mjs';

const [url] = process.argv.slice(2);
const username = process.env.MP_BROWSER_USERNAME;
const password = process.env.MP_BROWSER_PASSWORD ?? '';
const outcome = await signInThroughPages(url, username ? { username, password } : null);
if (!outcome.redirect) {
  process.stderr.write(`scripted browser: no redirect (HTTP ${outcome.status})\n`);
  process.exit(1);
}
await fetch(outcome.redirect);
