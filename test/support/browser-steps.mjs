// Plain JavaScript (types in browser-steps.d.mts): the scripted browser that mcp-remote opens runs
// it directly with Node, and the TypeScript tests import it too.

/**
 * What a person does in the browser during authorization, done with plain HTTP as a browser
 * without JavaScript would: follow the authorization URL, fill the login form, press Allow.
 * Returns the final redirect to the client (its `code`, `state` and `iss`) or the last page shown,
 * and every page on the way.
 */
export async function signInThroughPages(authorizationUrl, credentials, decision = 'allow') {
  const origin = new URL(authorizationUrl).origin;
  const pages = [];
  let response = await fetch(authorizationUrl, { redirect: 'manual' });
  if (credentials && response.status === 200) {
    const login = await response.text();
    pages.push(login);
    response = await postForm(`${origin}/oauth/login`, {
      request: hiddenInput(login, 'request'),
      username: credentials.username,
      password: credentials.password,
    });
  }
  if (response.status === 200) {
    const page = await response.text();
    pages.push(page);
    if (!page.includes('action="/oauth/consent"')) {
      return { redirect: null, status: 200, html: page, pages };
    }
    response = await postForm(`${origin}/oauth/consent`, {
      grant: hiddenInput(page, 'grant'),
      decision,
    });
  }
  const location = response.headers.get('location');
  if (response.status === 302 && location)
    return { redirect: new URL(location), status: 302, html: '', pages };
  const html = await response.text();
  return { redirect: null, status: response.status, html, pages: [...pages, html] };
}

export function postForm(url, fields) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
}

/** The value of a page's hidden input, HTML entities undone. */
export function hiddenInput(html, name) {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match?.[1]) throw new Error(`no hidden input ${name} in the page`);
  return match[1]
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
