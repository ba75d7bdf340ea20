/**
 * The authorization pages: plain server-rendered HTML that works without JavaScript, with labels
 * on every field, one heading, and the client and its redirect host named before anything is
 * shared. Every value is escaped. The pages' Content-Security-Policy allows no script, so what
 * needs behaviour (focus after an error) is done with HTML attributes alone.
 */

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.5rem}label{display:block;margin-top:1rem;font-weight:600}
input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1.25rem;margin-right:.5rem;padding:.5rem 1.25rem;font-size:1rem}
.error{color:#a00000;border-left:4px solid #a00000;padding-left:.75rem}
.client{background:#f3f3f3;padding:.75rem;border-radius:4px}
.unverified{color:#555}
`;

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · MCP Multiplayer</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

export interface ClientSummary {
  /** The name the client gave itself at registration or in its metadata document: anyone's. */
  readonly name: string;
  /** The host of the redirect URI the code goes to: the part of the request that is checked. */
  readonly redirectHost: string;
}

/**
 * Who is asking. A client names itself (RFC 7591 §5: its metadata is self-asserted, and a rogue
 * client may take a trusted one's name), so the name is quoted and marked as not verified; where
 * the person is sent back to is the registered redirect URI, and its host identifies the client.
 */
function clientBlock(client: ClientSummary): string {
  return `<p class="client"><strong>“${escapeHtml(client.name)}”</strong> <span class="unverified">(name not verified)</span>
wants to use MCP Multiplayer on your behalf. After you approve, you will be sent back to
<strong>${escapeHtml(client.redirectHost)}</strong>; continue only if that is the app you came from.</p>`;
}

export function loginPage(options: {
  client: ClientSummary;
  request: string;
  error?: string;
  username?: string;
}): string {
  // WCAG 3.3.1: after a failed sign-in the error takes the focus (autofocus on a focusable
  // container: no script is allowed here), and both fields say they are invalid and point to it.
  const error = options.error
    ? `<p class="error" role="alert" id="login-error" tabindex="-1" autofocus>${escapeHtml(options.error)}</p>`
    : '';
  const invalid = options.error ? ' aria-invalid="true" aria-describedby="login-error"' : '';
  // Accounts are named by their username, which is usually an e-mail address but need not be
  // (AccountService: 3-254 of letters, digits and . _ @ + -), so the field takes any text.
  return page(
    'Sign in',
    `<h1>Sign in</h1>${clientBlock(options.client)}${error}
<form method="post" action="/oauth/login">
<input type="hidden" name="request" value="${escapeHtml(options.request)}">
<label for="username">E-mail or username</label>
<input type="text" id="username" name="username" autocomplete="username" inputmode="email" autocapitalize="none" spellcheck="false" required value="${escapeHtml(options.username ?? '')}"${invalid}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${invalid}>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function consentPage(options: {
  client: ClientSummary;
  grant: string;
  username: string;
  scopes: readonly string[];
}): string {
  const scopes = options.scopes.map((s) => `<li>${escapeHtml(describeScope(s))}</li>`).join('');
  return page(
    'Allow access',
    `<h1>Allow access?</h1>${clientBlock(options.client)}
<p>Signed in as <strong>${escapeHtml(options.username)}</strong>. It will be able to:</p><ul>${scopes}</ul>
<form method="post" action="/oauth/consent">
<input type="hidden" name="grant" value="${escapeHtml(options.grant)}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

export function errorPage(title: string, message: string): string {
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1><p class="error" role="alert">${escapeHtml(message)}</p>`,
  );
}

function describeScope(scope: string): string {
  switch (scope) {
    case 'channels:read':
      return 'read the channels you are a member of';
    case 'channels:write':
      return 'create and join channels, and post in them as you';
    default:
      return scope;
  }
}
