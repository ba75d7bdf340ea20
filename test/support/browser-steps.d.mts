/** Types of browser-steps.mjs. */
export interface BrowserOutcome {
  /** The final redirect to the client, with its `code` (or `error`), `state` and `iss`. */
  readonly redirect: URL | null;
  readonly status: number;
  /** The last page shown, when the flow ended on a page. */
  readonly html: string;
  /** Every page on the way. */
  readonly pages: string[];
}
export function signInThroughPages(
  authorizationUrl: string | URL,
  credentials: { username: string; password: string } | null,
  decision?: 'allow' | 'deny',
): Promise<BrowserOutcome>;
export function postForm(url: string, fields: Record<string, string>): Promise<Response>;
export function hiddenInput(html: string, name: string): string;
