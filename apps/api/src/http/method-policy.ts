import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Application, NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * What this module reads of Express 5's router (the `router` package, 2.x): each route layer's
 * route with its methods, and the layer's own path matcher, so "does this path exist" is answered
 * by the same matching (case, trailing slash, parameters) that routes the request. Neither is in
 * Express's typings.
 */
interface RouteLayer {
  readonly route?: { readonly methods: Readonly<Record<string, boolean | undefined>> };
  match(path: string): unknown;
}

/** The order methods are listed in an Allow header; others follow alphabetically. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** How many paths' allowed methods are remembered. */
const CACHED_PATHS = 1024;

/** The MCP endpoints answer in JSON-RPC, as the SDK's transport does for a method it refuses. */
const MCP_PATHS = new Set(['/', '/mcp']);

/**
 * Refuses a method the target path has no route for with 405 and an Allow header listing the
 * methods it has (RFC 9110 §15.5.6), before any body parser or handler sees the request. TRACE,
 * CONNECT, PROPFIND, OPTIONS and any other method no route serves are refused on every path; a
 * method some route serves, asked of a path that has no route at all, stays a 404.
 *
 * The answer never echoes the request: TRACE (RFC 9110 §9.3.8) would reflect its headers,
 * Authorization and cookies included, to whatever script sent it. Bodies: problem+json (RFC
 * 9457) with code METHOD_NOT_ALLOWED; at the MCP endpoints a JSON-RPC error.
 *
 * The routes are read from the application's router at the first request, once Nest has
 * registered them all. Matching a path against every route costs about 10 µs, so what each path
 * allows is remembered (up to CACHED_PATHS paths; the memory is emptied when full).
 */
export function methodPolicy(app: Application): RequestHandler {
  let routes: RouteLayer[] = [];
  let served: ReadonlySet<string> = new Set();
  const known = new Map<string, ReadonlySet<string>>();
  const allowedFor = (path: string): ReadonlySet<string> => {
    let allowed = known.get(path);
    if (allowed === undefined) {
      allowed = allowedAt(routes, path);
      if (known.size >= CACHED_PATHS) known.clear();
      known.set(path, allowed);
    }
    return allowed;
  };
  return (req: Request, res: Response, next: NextFunction) => {
    if (routes.length === 0) {
      routes = routeLayers(app);
      served = new Set(routes.flatMap((layer) => methodsOf(layer)));
      // No routes yet (a request before Nest's init): nothing to judge by.
      if (routes.length === 0) {
        next();
        return;
      }
    }
    const allowed = allowedFor(req.path);
    const routed = allowed.has(req.method) || allowed.has('*');
    // A method some route serves, asked of a path no route has: the usual 404.
    const unknownPath = allowed.size === 0 && served.has(req.method);
    if (routed || unknownPath) next();
    else refuse(res, req.path, allowed);
  };
}

/**
 * Answers CONNECT (RFC 9110 §9.3.6) with 405: this server is no proxy. Node hands CONNECT to the
 * server's `connect` listeners, not to Express, and closes the connection when there is none.
 */
export function refuseConnect(server: Server, onRefused: (req: IncomingMessage) => void): void {
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    const body = problem('This server does not accept CONNECT: it is not a proxy.');
    socket.end(
      [
        'HTTP/1.1 405 Method Not Allowed',
        'Allow: ',
        'Content-Type: application/problem+json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
    );
    onRefused(req);
  });
}

function refuse(res: Response, path: string, allowed: ReadonlySet<string>): void {
  res.status(405).setHeader('Allow', [...allowed].sort(byMethodOrder).join(', '));
  if (MCP_PATHS.has(path.toLowerCase().replace(/(.)\/+$/, '$1'))) {
    res.type('application/json').send(
      JSON.stringify({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Method not allowed.' },
        id: null,
      }),
    );
    return;
  }
  res
    .type('application/problem+json')
    .send(
      problem(
        allowed.size === 0
          ? 'This server does not accept this method.'
          : 'This endpoint does not accept this method; the Allow header lists those it does.',
      ),
    );
}

function problem(detail: string): string {
  return JSON.stringify({
    type: 'about:blank',
    title: 'METHOD_NOT_ALLOWED',
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    detail,
  });
}

function routeLayers(app: Application): RouteLayer[] {
  const stack = (app as unknown as { router?: { stack?: RouteLayer[] } }).router?.stack ?? [];
  return stack.filter((layer) => layer.route !== undefined);
}

/** The methods a path has routes for (HEAD with GET, as Express serves it); '*' for any. */
function allowedAt(routes: readonly RouteLayer[], path: string): Set<string> {
  const allowed = new Set<string>();
  for (const layer of routes) {
    if (matches(layer, path)) for (const method of methodsOf(layer)) allowed.add(method);
  }
  return allowed;
}

function matches(layer: RouteLayer, path: string): boolean {
  try {
    return Boolean(layer.match(path));
  } catch {
    // A parameter that does not decode: the router answers that request itself.
    return false;
  }
}

function methodsOf(layer: RouteLayer): string[] {
  const methods = Object.entries(layer.route?.methods ?? {})
    .filter(([, on]) => on === true)
    .map(([method]) => (method === '_all' ? '*' : method.toUpperCase()));
  return methods.includes('GET') ? [...methods, 'HEAD'] : methods;
}

function byMethodOrder(a: string, b: string): number {
  const rank = (method: string) => {
    const index = METHOD_ORDER.indexOf(method);
    return index === -1 ? METHOD_ORDER.length : index;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}
