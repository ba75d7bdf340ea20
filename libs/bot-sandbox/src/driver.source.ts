/**
 * Evaluated before the bot's module (imports evaluate in order): it takes the host callbacks
 * off the global object and keeps the built-ins the driver relies on, before bot code could
 * replace them. Only the driver may import it; the bot module imports nothing.
 *
 * It also removes WebAssembly: a WebAssembly memory is allocated outside the V8 heap and its
 * limit, so one bot could take gigabytes of the host's memory (issue 11, item 3).
 */
export const PRELUDE_SOURCE = String.raw`
export const randomHex = globalThis.__mpRandomHex;
export const sha256Hex = globalThis.__mpSha256;
export const fetchHost = globalThis.__mpFetch;
export const workspaceHost = globalThis.__mpWorkspace;
export const hookCall = globalThis.__mpHook;
delete globalThis.__mpWorkspace;
delete globalThis.__mpHook;
delete globalThis.__mpRandomHex;
delete globalThis.__mpSha256;
delete globalThis.__mpFetch;
delete globalThis.WebAssembly;
export const freeze = Object.freeze;
export const stringify = JSON.stringify;
export const parse = JSON.parse;
`;

/**
 * The module the sandbox runs around a bot: it builds `ctx`, constructs the bot with
 * `(ctx, params)`, calls one hook and returns the effects as JSON. It runs inside the isolate and
 * reaches nothing but the prelude's host callbacks. Effects are accounted as they are
 * produced; once a hook breaks the output limit it fails, even if the bot catches the error.
 */
export const DRIVER_SOURCE = String.raw`
import { randomHex, sha256Hex, fetchHost, workspaceHost, hookCall, freeze, stringify, parse } from 'mp:prelude';
import * as botModule from 'bot:main';

const HOOKS = {
  init: ['onInit', 'on_init'],
  join: ['onJoin', 'on_join'],
  message: ['onMessage', 'on_message'],
  private_message: ['onPrivateMessage', 'on_private_message'],
};

// The original's hooks (on_join(player_id), on_private_message(slot_id, msg)) take the slot id
// where ours take the member, so a bot ported with its snake_case names runs as written.
function originalArgs(args) {
  const [first, ...rest] = args;
  const isMember = typeof first === 'object' && first !== null && typeof first.slot_id === 'string';
  return isMember ? [first.slot_id, ...rest] : args;
}

function botClass() {
  const candidate = botModule.default;
  if (typeof candidate !== 'function') {
    throw new TypeError('the bot module has no default export class');
  }
  return candidate;
}

async function run(requestJson, maxOutputBytes) {
  const request = parse(requestJson);
  const posts = [];
  const logs = [];
  let state = request.state;
  let stateSet = false;
  let outputBytes = 0;
  let overLimit = false;
  const limitError = () =>
    new RangeError('output limit exceeded: a hook may produce at most ' + maxOutputBytes + ' bytes');

  const account = (value, what) => {
    const json = stringify(value);
    if (json === undefined) throw new TypeError(what + ' must be JSON');
    outputBytes += json.length;
    if (outputBytes > maxOutputBytes) {
      overLimit = true;
      throw limitError();
    }
    return parse(json);
  };
  const asBody = (body) => {
    if (body === undefined || body === null) return {};
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new TypeError('a message body must be a plain object');
    }
    return body;
  };
  const kindOf = (kind) => {
    if (typeof kind !== 'string' || !/^[A-Za-z0-9_.:-]{1,32}$/.test(kind)) {
      throw new TypeError('a message kind must be 1-32 letters, digits or _ . : -');
    }
    return kind;
  };
  const randomUint = () => parseInt(randomHex(6), 16);

  const random = Object.freeze({
    hex(bytes = 16) {
      if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) throw new RangeError('hex(bytes): 1..1024');
      return randomHex(bytes);
    },
    int(min, max) {
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min) {
        throw new RangeError('int(min, max) needs whole numbers with min <= max');
      }
      const span = max - min + 1;
      if (span > 2 ** 48) throw new RangeError('int(min, max): the range is too wide');
      const limit = 2 ** 48 - (2 ** 48 % span);
      for (;;) {
        const value = randomUint();
        if (value < limit) return min + (value % span);
      }
    },
    float() {
      return randomUint() / 2 ** 48;
    },
  });

  const useWorkspace = (op, name, text) => {
    if (!workspaceHost) throw new Error('ctx.workspace is not available here');
    const answer = parse(workspaceHost(op, name === undefined ? null : name, text === undefined ? null : text));
    if (answer.error) throw new Error(answer.error);
    return answer.value;
  };
  const workspace = freeze({
    list: () => useWorkspace('list'),
    read: (name) => useWorkspace('read', name),
    write: (name, text) => useWorkspace('write', name, text),
    remove: (name) => useWorkspace('remove', name),
  });

  const ctx = Object.freeze({
    channelId: request.channelId,
    botId: request.botId,
    post(kind, body) {
      posts.push(account({ kind: kindOf(kind), body: asBody(body), to_slot: null }, 'a post'));
    },
    dm(to, kind, body) {
      // A slot id, as the original's bots pass it, or the member object a hook received.
      const slotId = typeof to === 'object' && to !== null ? to.slot_id : to;
      if (typeof slotId !== 'string' || slotId.length === 0) {
        throw new TypeError('dm needs a slot id ("s1") or the member a hook received');
      }
      posts.push(account({ kind: kindOf(kind), body: asBody(body), to_slot: slotId }, 'a DM'));
    },
    getState() {
      return parse(stringify(state));
    },
    setState(next) {
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        throw new TypeError('setState needs a plain object');
      }
      state = account(next, 'the state');
      stateSet = true;
    },
    random,
    workspace,
    sha256(text) {
      return sha256Hex(String(text));
    },
    now() {
      return request.now;
    },
    log(...parts) {
      const line = parts.map((p) => (typeof p === 'string' ? p : stringify(p))).join(' ');
      logs.push(account(line.slice(0, 2000), 'a log line'));
    },
    fetch(url, init = {}) {
      if (!fetchHost) {
        throw new Error('ctx.fetch is not available: this bot has no egress allowlist');
      }
      const request = stringify({
        url: String(url),
        method: String(init.method ?? 'GET'),
        headers: init.headers ?? {},
        body: init.body === undefined || init.body === null ? null : String(init.body),
      });
      return fetchHost
        .apply(undefined, [request], {
          arguments: { copy: true },
          result: { promise: true, copy: true },
        })
        .then((json) => {
          const answer = parse(json);
          if (answer.error !== undefined) throw new Error(answer.error);
          const response = answer.value;
          return freeze({
            status: response.status,
            ok: response.status >= 200 && response.status < 300,
            headers: freeze(response.headers),
            text: () => response.body,
            json: () => parse(response.body),
          });
        });
    },
  });

  const Bot = botClass();
  const bot = new Bot(ctx, request.params);
  const [camel, snake] = HOOKS[request.hook];
  if (typeof bot[camel] === 'function') await bot[camel](...request.args);
  else if (typeof bot[snake] === 'function') await bot[snake](...originalArgs(request.args));
  if (overLimit) throw limitError();
  return stringify({ posts, state: stateSet ? state : undefined, logs });
}

// The hook the host asked for starts as this module evaluates. One that finishes within that
// turn, as every synchronous hook does, has its output here by the time the evaluation returns;
// for the others the host waits on settle().
const running = run(hookCall[0], hookCall[1]);
export let output;
running.then(
  (json) => {
    output = json;
  },
  () => {},
);
export function settle() {
  return running;
}
`;
