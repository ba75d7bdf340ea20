/**
 * The module the sandbox runs around a bot: it builds `ctx`, constructs the bot with
 * `(ctx, params)`, calls one hook and returns the effects as JSON. It runs inside the isolate,
 * so it can reach nothing but the two host callbacks it takes and then deletes from the global.
 * Effects are accounted as they are produced, so a bot that posts megabytes fails at the limit.
 */
export const DRIVER_SOURCE = String.raw`
import * as botModule from 'bot:main';

const randomHex = globalThis.__mpRandomHex;
const sha256Hex = globalThis.__mpSha256;
delete globalThis.__mpRandomHex;
delete globalThis.__mpSha256;

const HOOKS = {
  init: ['onInit', 'on_init'],
  join: ['onJoin', 'on_join'],
  message: ['onMessage', 'on_message'],
  private_message: ['onPrivateMessage', 'on_private_message'],
};

function botClass() {
  const candidate = botModule.default;
  if (typeof candidate !== 'function') {
    throw new TypeError('the bot module has no default export class');
  }
  return candidate;
}

export function inspect() {
  const Bot = botClass();
  const manifest = Bot.manifest === undefined ? null : JSON.stringify(Bot.manifest);
  return JSON.stringify({ className: Bot.name || 'Bot', manifest });
}

export async function run(requestJson, maxOutputBytes) {
  const request = JSON.parse(requestJson);
  const posts = [];
  const logs = [];
  let state = request.state;
  let stateSet = false;
  let outputBytes = 0;

  const account = (value, what) => {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(what + ' must be JSON');
    outputBytes += json.length;
    if (outputBytes > maxOutputBytes) {
      throw new RangeError('output limit exceeded: a hook may produce at most ' + maxOutputBytes + ' bytes');
    }
    return JSON.parse(json);
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

  const ctx = Object.freeze({
    channelId: request.channelId,
    botId: request.botId,
    post(kind, body) {
      posts.push(account({ kind: kindOf(kind), body: asBody(body), to_slot: null }, 'a post'));
    },
    dm(slotId, kind, body) {
      if (typeof slotId !== 'string' || slotId.length === 0) throw new TypeError('dm needs a slot id');
      posts.push(account({ kind: kindOf(kind), body: asBody(body), to_slot: slotId }, 'a DM'));
    },
    getState() {
      return JSON.parse(JSON.stringify(state));
    },
    setState(next) {
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        throw new TypeError('setState needs a plain object');
      }
      state = account(next, 'the state');
      stateSet = true;
    },
    random,
    sha256(text) {
      return sha256Hex(String(text));
    },
    now() {
      return request.now;
    },
    log(...parts) {
      const line = parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
      logs.push(account(line.slice(0, 2000), 'a log line'));
    },
    fetch() {
      throw new Error('ctx.fetch is not available: this bot has no egress allowlist');
    },
  });

  const Bot = botClass();
  const bot = new Bot(ctx, request.params);
  const [camel, snake] = HOOKS[request.hook];
  const hook = typeof bot[camel] === 'function' ? bot[camel] : bot[snake];
  if (typeof hook === 'function') await hook.apply(bot, request.args);
  return JSON.stringify({ posts, state: stateSet ? state : undefined, logs });
}
`;
