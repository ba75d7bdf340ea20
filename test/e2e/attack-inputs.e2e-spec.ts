import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { testNats } from '../support/nats.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { readAll } from './game-helpers.js';
import type { Created, Info, Joined, Message, SyncResult } from './game-helpers.js';

/**
 * Bad input over MCP (DESIGN §11, spec/compat.md "Error codes"): every tool answers a stable code and
 * a sentence, leaks nothing of the server, and leaves no trace of a failed call.
 */

const ECHO_BOT = `export default class Echo {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(m) { this.ctx.post('bot', { echo: m.body.text ?? null }); }
  onPrivateMessage(member, m) { this.ctx.dm(member.slot_id, 'bot', { secret: m.text }); }
}`;

const SQL = "'; DROP TABLE messages; --";
const PATH = '../../etc/passwd';
const NUL = 'a\u0000b';
const LONE_SURROGATE = 'x\uD800y';
const EMOJI_100 = '😀'.repeat(100); // 100 characters (code points, as zod counts them): the longest name
const KIB16 = 16 * 1024;
const ID_65 = `chn_${'x'.repeat(61)}`;
const UNKNOWN_CHANNEL = 'chn_AAAAAAAAAAA';
const UNKNOWN_REJOIN = `rejoin_${'A'.repeat(22)}`;
const UNKNOWN_INVITE = `inv_${'A'.repeat(22)}`;
const PYTHON_BOT = 'class Bot:\n    def on_init(self):\n        pass';

/** Anything of the server that must never reach a caller: stacks, SQL, paths, internals. */
const LEAKS = [
  /\n\s*at /,
  /\bat \S+ \(/,
  /node_modules|file:\/\/|\/work\/|\/home\/|\/usr\/|\/tmp\//,
  /\.[cm]?[jt]s:\d+/,
  /\b(SELECT|INSERT INTO|DELETE FROM)\b|UPDATE \w+ SET|tenant_id|last_msg_id/,
  /QueryFailedError|TypeORM|relation "|syntax error at or near|violates|duplicate key/,
  /invalid byte sequence|Unicode escape|out of range for type|invalid input syntax/,
  /INTERNAL_ERROR|ZodError|\[object Object\]/,
];

interface Listing {
  channels: { channel_id: string; name: string; message_count: number; bots: string[] }[];
  total_channels: number;
}

/** The fixtures every case may refer to. */
interface World {
  channelId: string;
  botId: string;
  memberToken: string;
  usedInvite: string;
  /** A real token, but for another channel. */
  foreignToken: string;
}

type Who = 'owner' | 'member' | 'outsider';

interface Case {
  tool: string;
  what: string;
  as: Who;
  args: (w: World) => Record<string, unknown>;
  /** The compat code the text must start with (a RegExp where two codes are fair). */
  code: string | RegExp;
  /** What the sentence must mention, so an agent knows what to fix. */
  says?: RegExp;
}

const c = (
  tool: string,
  what: string,
  as: Who,
  args: (w: World) => Record<string, unknown>,
  code: string | RegExp,
  says?: RegExp,
): Case => (says ? { tool, what, as, args, code, says } : { tool, what, as, args, code });

const INVALID = 'INVALID_REQUEST';
const NOT_FOUND_OR_INVALID = /^(CHANNEL_NOT_FOUND|INVALID_REQUEST)$/;

const slots = ['bot:echo', 'invite:a'];

// Tables read best one case a line, so prettier leaves them alone.
// prettier-ignore
const CREATE: Case[] = [
  c('create_channel', 'no name', 'owner', () => ({ slots }), INVALID, /name is required/),
  c('create_channel', 'no slots', 'owner', () => ({ name: 'x' }), INVALID, /slots is required/),
  c('create_channel', 'a number for name', 'owner', () => ({ name: 42, slots }), INVALID, /name/),
  c('create_channel', 'null for name', 'owner', () => ({ name: null, slots }), INVALID, /name/),
  c('create_channel', 'an array for name', 'owner', () => ({ name: ['x'], slots }), INVALID, /name/),
  c('create_channel', 'a blank name', 'owner', () => ({ name: '   ', slots }), INVALID, /name must not be empty/),
  c('create_channel', 'a 101-character name', 'owner', () => ({ name: 'n'.repeat(101), slots }), INVALID, /name.*100/),
  c('create_channel', 'a name of 101 emoji', 'owner', () => ({ name: `${EMOJI_100}😀`, slots }), INVALID, /100/),
  c('create_channel', 'an object for slots', 'owner', () => ({ name: 'x', slots: { 0: 'bot:a' } }), INVALID, /slots/),
  c('create_channel', 'a string for slots', 'owner', () => ({ name: 'x', slots: 'invite:a' }), INVALID, /slots/),
  c('create_channel', 'null for slots', 'owner', () => ({ name: 'x', slots: null }), INVALID, /slots/),
  c('create_channel', 'no slots at all', 'owner', () => ({ name: 'x', slots: [] }), INVALID, /at least one/),
  c('create_channel', '33 slots', 'owner', () => ({ name: 'x', slots: Array(33).fill('invite:p') }), INVALID, /32/),
  c('create_channel', 'a number in slots', 'owner', () => ({ name: 'x', slots: [42] }), INVALID, /slots/),
  c('create_channel', 'null in slots', 'owner', () => ({ name: 'x', slots: [null] }), INVALID, /slots/),
  c('create_channel', 'a 65-character label', 'owner', () => ({ name: 'x', slots: [`invite:${'l'.repeat(65)}`] }), INVALID, /64/),
  c('create_channel', 'a NUL in a label', 'owner', () => ({ name: 'x', slots: [`invite:${NUL}`] }), INVALID, /control/),
  c('create_channel', 'the unknown slot kind "player"', 'owner', () => ({ name: 'x', slots: ['player:x'] }), INVALID, /bot.*invite/),
  c('create_channel', 'a SQL slot kind', 'owner', () => ({ name: 'x', slots: [`${SQL}:x`] }), INVALID, /bot.*invite/),
  c('create_channel', 'a number for bot_code', 'owner', () => ({ name: 'x', slots, bot_code: 42 }), INVALID, /bot_code/),
  c('create_channel', 'an object for bot_code', 'owner', () => ({ name: 'x', slots, bot_code: { src: ECHO_BOT } }), INVALID, /bot_code/),
  c('create_channel', 'bot_code over 256 KiB', 'owner', () => ({ name: 'x', slots, bot_code: `${ECHO_BOT}\n//${'x'.repeat(256 * 1024)}` }), INVALID, /bot_code.*262144/),
  c('create_channel', 'an array for bot_preset', 'owner', () => ({ name: 'x', slots, bot_preset: ['GuessBot'] }), INVALID, /bot_preset/),
  c('create_channel', 'a 65-character bot_preset', 'owner', () => ({ name: 'x', slots, bot_preset: 'G'.repeat(65) }), INVALID, /bot_preset/),
];

// prettier-ignore
const JOIN: Case[] = [
  c('join_channel', 'no invite_code', 'outsider', () => ({}), INVALID, /invite_code is required/),
  c('join_channel', 'a number', 'outsider', () => ({ invite_code: 7 }), INVALID, /invite_code/),
  c('join_channel', 'an object', 'outsider', () => ({ invite_code: { code: 'inv_x' } }), INVALID, /invite_code/),
  c('join_channel', 'null', 'outsider', () => ({ invite_code: null }), INVALID, /invite_code/),
  c('join_channel', 'an empty code', 'outsider', () => ({ invite_code: '' }), INVALID, /invite_code must not be empty/),
  c('join_channel', 'a 65-character code', 'outsider', () => ({ invite_code: `inv_${'x'.repeat(61)}` }), INVALID, /64/),
  c('join_channel', 'an unknown invite', 'outsider', () => ({ invite_code: UNKNOWN_INVITE }), 'INVITE_INVALID'),
  c('join_channel', 'a used invite', 'outsider', (w) => ({ invite_code: w.usedInvite }), 'INVITE_INVALID'),
  c('join_channel', 'SQL', 'outsider', () => ({ invite_code: SQL }), 'INVITE_INVALID'),
  c('join_channel', 'a path', 'outsider', () => ({ invite_code: PATH }), 'INVITE_INVALID'),
  c('join_channel', 'a NUL', 'outsider', () => ({ invite_code: NUL }), INVALID),
  c('join_channel', 'an unknown rejoin token', 'outsider', () => ({ invite_code: UNKNOWN_REJOIN }), 'REJOIN_TOKEN_INVALID'),
];

// prettier-ignore
const POST: Case[] = [
  c('post_message', 'no channel_id', 'member', () => ({ body: 'hi' }), INVALID, /channel_id is required/),
  c('post_message', 'a number for channel_id', 'member', () => ({ channel_id: 12, body: 'hi' }), INVALID, /channel_id/),
  c('post_message', 'null for channel_id', 'member', () => ({ channel_id: null, body: 'hi' }), INVALID, /channel_id/),
  c('post_message', 'an array for channel_id', 'member', (w) => ({ channel_id: [w.channelId], body: 'hi' }), INVALID, /channel_id/),
  c('post_message', 'a 65-character channel_id', 'member', () => ({ channel_id: ID_65, body: 'hi' }), INVALID, /channel_id.*64/),
  c('post_message', 'an unknown channel', 'member', () => ({ channel_id: UNKNOWN_CHANNEL, body: 'hi' }), 'CHANNEL_NOT_FOUND'),
  c('post_message', 'a SQL channel_id', 'member', () => ({ channel_id: SQL, body: 'hi' }), INVALID, /channel_id must be "chn_"/),
  c('post_message', 'a path channel_id', 'member', () => ({ channel_id: PATH, body: 'hi' }), INVALID, /channel_id must be "chn_"/),
  c('post_message', 'a NUL in channel_id', 'member', () => ({ channel_id: `chn_${NUL}`, body: 'hi' }), NOT_FOUND_OR_INVALID),
  c('post_message', 'a number body', 'member', (w) => ({ channel_id: w.channelId, body: 42 }), INVALID, /body/),
  c('post_message', 'an array body', 'member', (w) => ({ channel_id: w.channelId, body: ['a'] }), INVALID, /body/),
  c('post_message', 'a null body', 'member', (w) => ({ channel_id: w.channelId, body: null }), INVALID, /body/),
  c('post_message', 'a body over 16 KiB', 'member', (w) => ({ channel_id: w.channelId, body: 'b'.repeat(KIB16) }), INVALID, /16384/),
  c('post_message', 'an object body over 16 KiB', 'member', (w) => ({ channel_id: w.channelId, body: { blob: 'b'.repeat(KIB16) } }), INVALID, /16384/),
  c('post_message', 'a body only JSON escaping makes too big', 'member', (w) => ({ channel_id: w.channelId, body: '"'.repeat(9000) }), INVALID, /16384/),
  c('post_message', 'a body over 16 KiB in UTF-8 bytes', 'member', (w) => ({ channel_id: w.channelId, body: 'é'.repeat(8200) }), INVALID, /16384/),
  c('post_message', 'kind "system"', 'member', (w) => ({ channel_id: w.channelId, body: 'x', kind: 'system' }), INVALID, /reserved/),
  c('post_message', 'kind "control"', 'member', (w) => ({ channel_id: w.channelId, body: 'x', kind: 'control' }), INVALID, /reserved/),
  c('post_message', 'kind "bot"', 'member', (w) => ({ channel_id: w.channelId, body: 'x', kind: 'bot' }), INVALID, /reserved/),
  c('post_message', 'an empty kind', 'member', (w) => ({ channel_id: w.channelId, body: 'x', kind: '' }), INVALID, /kind/),
  c('post_message', 'a SQL kind', 'member', (w) => ({ channel_id: w.channelId, body: 'x', kind: SQL }), INVALID, /kind/),
  c('post_message', 'a 33-character kind', 'member', (w) => ({ channel_id: w.channelId, body: 'x', kind: 'k'.repeat(33) }), INVALID, /kind/),
  c('post_message', 'a number kind', 'member', (w) => ({ channel_id: w.channelId, body: 'x', kind: 1 }), INVALID, /kind/),
  c('post_message', 'a number member_token', 'member', (w) => ({ channel_id: w.channelId, body: 'x', member_token: 5 }), INVALID, /member_token/),
  c('post_message', 'a 65-character member_token', 'member', (w) => ({ channel_id: w.channelId, body: 'x', member_token: `rejoin_${'x'.repeat(58)}` }), INVALID, /member_token/),
  c('post_message', 'an unknown member_token', 'member', (w) => ({ channel_id: w.channelId, body: 'x', member_token: UNKNOWN_REJOIN }), 'REJOIN_TOKEN_INVALID'),
  c('post_message', 'another channel’s member_token', 'outsider', (w) => ({ channel_id: w.channelId, body: 'x', member_token: w.foreignToken }), 'REJOIN_TOKEN_INVALID'),
  c('post_message', 'a caller who never joined', 'outsider', (w) => ({ channel_id: w.channelId, body: 'x' }), 'NOT_MEMBER', /rejoin_token/),
];

// prettier-ignore
const DM: Case[] = [
  c('dm_bot', 'no bot_id', 'member', (w) => ({ channel_id: w.channelId, message: 'hi' }), INVALID, /bot_id is required/),
  c('dm_bot', 'no message', 'member', (w) => ({ channel_id: w.channelId, bot_id: w.botId }), INVALID, /message is required/),
  c('dm_bot', 'an empty message', 'member', (w) => ({ channel_id: w.channelId, bot_id: w.botId, message: '' }), INVALID, /message must not be empty/),
  c('dm_bot', 'a number message', 'member', (w) => ({ channel_id: w.channelId, bot_id: w.botId, message: 1 }), INVALID, /message/),
  c('dm_bot', 'an object message', 'member', (w) => ({ channel_id: w.channelId, bot_id: w.botId, message: { text: 'x' } }), INVALID, /message/),
  c('dm_bot', 'a message over 16 KiB', 'member', (w) => ({ channel_id: w.channelId, bot_id: w.botId, message: 'm'.repeat(KIB16 + 1) }), INVALID, /message/),
  c('dm_bot', 'a 65-character bot_id', 'member', (w) => ({ channel_id: w.channelId, bot_id: `bot_${'x'.repeat(61)}`, message: 'x' }), INVALID, /bot_id.*64/),
  c('dm_bot', 'an unknown bot', 'member', (w) => ({ channel_id: w.channelId, bot_id: 'bot_Nope_0', message: 'x' }), 'BOT_NOT_FOUND'),
  c('dm_bot', 'bot_id "__proto__"', 'member', (w) => ({ channel_id: w.channelId, bot_id: '__proto__', message: 'x' }), 'BOT_NOT_FOUND'),
  c('dm_bot', 'a SQL bot_id', 'member', (w) => ({ channel_id: w.channelId, bot_id: SQL, message: 'x' }), 'BOT_NOT_FOUND'),
  c('dm_bot', 'an unknown channel', 'member', (w) => ({ channel_id: UNKNOWN_CHANNEL, bot_id: w.botId, message: 'x' }), 'CHANNEL_NOT_FOUND'),
  c('dm_bot', 'a caller who never joined', 'outsider', (w) => ({ channel_id: w.channelId, bot_id: w.botId, message: 'x' }), 'NOT_MEMBER', /rejoin_token/),
];

// prettier-ignore
const SYNC: Case[] = [
  c('sync_messages', 'no channel_id', 'member', () => ({ timeout_ms: 0 }), INVALID, /channel_id is required/),
  c('sync_messages', 'a negative cursor', 'member', (w) => ({ channel_id: w.channelId, cursor: -1, timeout_ms: 0 }), INVALID, /cursor must not be negative/),
  c('sync_messages', 'a fractional cursor', 'member', (w) => ({ channel_id: w.channelId, cursor: 1.5, timeout_ms: 0 }), INVALID, /cursor must be a whole number/),
  c('sync_messages', 'a string cursor', 'member', (w) => ({ channel_id: w.channelId, cursor: '3', timeout_ms: 0 }), INVALID, /cursor/),
  c('sync_messages', 'a cursor of 1e300', 'member', (w) => ({ channel_id: w.channelId, cursor: 1e300, timeout_ms: 0 }), INVALID, /cursor/),
  c('sync_messages', 'a negative timeout_ms', 'member', (w) => ({ channel_id: w.channelId, timeout_ms: -5 }), INVALID, /timeout_ms must not be negative/),
  c('sync_messages', 'a fractional timeout_ms', 'member', (w) => ({ channel_id: w.channelId, timeout_ms: 0.5 }), INVALID, /timeout_ms/),
  c('sync_messages', 'a string timeout_ms', 'member', (w) => ({ channel_id: w.channelId, timeout_ms: 'soon' }), INVALID, /timeout_ms/),
  c('sync_messages', 'an object channel_id', 'member', () => ({ channel_id: { $ne: null }, timeout_ms: 0 }), INVALID, /channel_id/),
  c('sync_messages', 'an unknown channel', 'member', () => ({ channel_id: UNKNOWN_CHANNEL, timeout_ms: 0 }), 'CHANNEL_NOT_FOUND'),
  c('sync_messages', 'an unknown member_token', 'member', (w) => ({ channel_id: w.channelId, timeout_ms: 0, member_token: UNKNOWN_REJOIN }), 'REJOIN_TOKEN_INVALID'),
  c('sync_messages', 'a caller who never joined', 'outsider', (w) => ({ channel_id: w.channelId, timeout_ms: 0 }), 'NOT_MEMBER', /rejoin_token/),
];

// prettier-ignore
const INFO: Case[] = [
  c('get_channel_info', 'no channel_id', 'member', () => ({}), INVALID, /channel_id is required/),
  c('get_channel_info', 'a number channel_id', 'member', () => ({ channel_id: 5 }), INVALID, /channel_id/),
  c('get_channel_info', 'a 65-character channel_id', 'member', () => ({ channel_id: ID_65 }), INVALID, /channel_id/),
  c('get_channel_info', 'an unknown channel', 'member', () => ({ channel_id: UNKNOWN_CHANNEL }), 'CHANNEL_NOT_FOUND'),
  c('get_channel_info', 'a path channel_id', 'member', () => ({ channel_id: PATH }), INVALID, /channel_id must be "chn_"/),
  c('get_channel_info', 'an unknown member_token', 'member', (w) => ({ channel_id: w.channelId, member_token: UNKNOWN_REJOIN }), 'REJOIN_TOKEN_INVALID'),
  c('get_bot_code', 'no bot_id', 'member', (w) => ({ channel_id: w.channelId }), INVALID, /bot_id is required/),
  c('get_bot_code', 'an array bot_id', 'member', (w) => ({ channel_id: w.channelId, bot_id: [w.botId] }), INVALID, /bot_id/),
  c('get_bot_code', 'an unknown bot', 'member', (w) => ({ channel_id: w.channelId, bot_id: 'bot_Nope_0' }), 'BOT_NOT_FOUND'),
  c('get_bot_code', 'bot_id "constructor"', 'member', (w) => ({ channel_id: w.channelId, bot_id: 'constructor' }), 'BOT_NOT_FOUND'),
  c('get_bot_code', 'a path bot_id', 'member', (w) => ({ channel_id: w.channelId, bot_id: PATH }), 'BOT_NOT_FOUND'),
  c('get_bot_code', 'an unknown channel', 'member', (w) => ({ channel_id: UNKNOWN_CHANNEL, bot_id: w.botId }), 'CHANNEL_NOT_FOUND'),
];

const rename = { type: 'rename', name: 'renamed by a failed call' };
// prettier-ignore
const UPDATE: Case[] = [
  c('update_channel', 'no ops', 'owner', (w) => ({ channel_id: w.channelId }), INVALID, /ops is required/),
  c('update_channel', 'an object for ops', 'owner', (w) => ({ channel_id: w.channelId, ops: rename }), INVALID, /ops/),
  c('update_channel', 'no operations', 'owner', (w) => ({ channel_id: w.channelId, ops: [] }), INVALID, /at least one/),
  c('update_channel', 'a string op', 'owner', (w) => ({ channel_id: w.channelId, ops: ['rename'] }), INVALID, /ops/),
  c('update_channel', 'an op without type', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ name: 'x' }] }), INVALID, /type/),
  c('update_channel', 'a number type', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: 3 }] }), INVALID, /type/),
  c('update_channel', '21 operations', 'owner', (w) => ({ channel_id: w.channelId, ops: Array(21).fill(rename) }), INVALID, /ops/),
  c('update_channel', 'an unknown op', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: 'explode' }] }), 'BAD_OP: explode', /rename, set_admin and remove_bot/),
  c('update_channel', 'op type "__proto__"', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: '__proto__' }] }), 'BAD_OP: __proto__'),
  c('update_channel', 'op type "constructor"', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: 'constructor' }] }), 'BAD_OP: constructor'),
  c('update_channel', 'op type "toString"', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: 'toString' }] }), 'BAD_OP: toString'),
  c('update_channel', 'a 65-character op type', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: 't'.repeat(65) }] }), INVALID, /64/),
  c('update_channel', 'a good rename then an unknown op', 'owner', (w) => ({ channel_id: w.channelId, ops: [rename, { type: 'explode' }] }), 'BAD_OP: explode'),
  c('update_channel', 'a good rename then an unknown slot', 'owner', (w) => ({ channel_id: w.channelId, ops: [rename, { type: 'set_admin', slot_id: 's99', admin: true }] }), 'SLOT_NOT_FOUND', /s99/),
  c('update_channel', 'a good rename then an unknown bot', 'owner', (w) => ({ channel_id: w.channelId, ops: [rename, { type: 'remove_bot', bot_id: 'bot_Nope_0' }] }), 'BOT_NOT_FOUND'),
  c('update_channel', 'a good remove_bot then a bad rename', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: 'remove_bot', bot_id: w.botId }, { type: 'rename', name: '' }] }), INVALID, /ops\[1\]/),
  c('update_channel', 'a rename over 100 characters', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: 'rename', name: 'r'.repeat(101) }] }), INVALID, /ops\[0\]/),
  c('update_channel', 'a number name', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: 'rename', name: 9 }] }), INVALID, /ops\[0\]/),
  c('update_channel', 'a rename whose name hides in __proto__', 'owner', (w) => ({ channel_id: w.channelId, ops: [JSON.parse('{"type":"rename","__proto__":{"name":"sneaky"}}')] }), INVALID, /ops\[0\]/),
  c('update_channel', 'set_admin with a string flag', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: 'set_admin', slot_id: 's1', admin: 'yes' }] }), INVALID, /admin/),
  c('update_channel', 'a bot slot made non-admin', 'owner', (w) => ({ channel_id: w.channelId, ops: [{ type: 'set_admin', slot_id: 's0', admin: false }] }), INVALID, /bot slots are always admin/),
  c('update_channel', 'a member who is not admin', 'member', (w) => ({ channel_id: w.channelId, ops: [rename] }), 'NOT_ADMIN'),
  c('update_channel', 'an outsider', 'outsider', (w) => ({ channel_id: w.channelId, ops: [rename] }), 'NOT_ADMIN'),
  c('update_channel', 'an unknown channel', 'owner', () => ({ channel_id: UNKNOWN_CHANNEL, ops: [rename] }), 'CHANNEL_NOT_FOUND'),
  c('update_channel', 'an unknown member_token', 'owner', (w) => ({ channel_id: w.channelId, ops: [rename], member_token: UNKNOWN_REJOIN }), 'REJOIN_TOKEN_INVALID'),
];

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Checks the compat error shape and that the text gives nothing of the server away. */
function expectCleanError(
  result: CallToolResult,
  tool: string,
  code: string | RegExp,
  says?: RegExp,
): void {
  const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
  expect({ isError: result.isError, text }).toMatchObject({
    isError: true,
    text: expect.any(String),
  });
  const prefix = `Error calling tool '${tool}': `;
  const rest = text.startsWith(prefix) ? text.slice(prefix.length) : '';
  const actualCode = typeof code === 'string' ? code : (rest.match(/^[A-Z_]+/)?.[0] ?? '');
  if (typeof code !== 'string') expect(actualCode).toMatch(code);
  expect(text).toMatch(new RegExp(`^${escapeRegExp(`${prefix}${actualCode}: `)}`));
  const sentence = rest.slice(actualCode.length + 2);
  expect(sentence).toMatch(/^\S.{8,}[.)]$/s);
  if (says) expect(sentence).toMatch(says);
  for (const leak of LEAKS) expect(text).not.toMatch(leak);
  expect(text.length).toBeLessThan(600);
}

describe('bad input over MCP', () => {
  let app: TestApp;
  let owner: Agent;
  let member: Agent;
  let outsider: Agent;
  let world: World;
  const as = (who: Who): Agent => ({ owner, member, outsider })[who];

  beforeAll(async () => {
    app = await startTestApp();
    [owner, member, outsider] = await Promise.all([
      connectAgent(app.url, 'owner'),
      connectAgent(app.url, 'member'),
      connectAgent(app.url, 'outsider'),
    ]);
    const created = await owner.call<Created>('create_channel', {
      name: 'arena',
      slots: ['bot:echo', 'invite:m', 'invite:spare'],
      bot_code: ECHO_BOT,
    });
    const joined = await member.call<Joined>('join_channel', { invite_code: created.invites[0] });
    await member.call('post_message', { channel_id: created.channel_id, body: 'before the abuse' });
    const other = await owner.call<Created>('create_channel', {
      name: 'elsewhere',
      slots: ['invite:x'],
    });
    const foreign = await owner.call<Joined>('join_channel', { invite_code: other.invites[0] });
    world = {
      channelId: created.channel_id,
      botId: 'bot_CustomBot_0',
      memberToken: joined.rejoin_token,
      usedInvite: created.invites[0] ?? '',
      foreignToken: foreign.rejoin_token,
    };
  });

  afterAll(async () => {
    await Promise.all([owner, member, outsider].map((agent) => agent?.close()));
    await app?.close();
  });

  /** Everything a failed call could have touched, as the agents see it. */
  async function snapshot() {
    const [ownerChannels, memberChannels, outsiderChannels, info, messages] = await Promise.all([
      owner.call<Listing>('list_channels'),
      member.call<Listing>('list_channels'),
      outsider.call<Listing>('list_channels'),
      owner.call<Info>('get_channel_info', { channel_id: world.channelId }),
      readAll(member, world.channelId),
    ]);
    return { ownerChannels, memberChannels, outsiderChannels, info, messages };
  }

  describe.each([
    ['create_channel', CREATE],
    ['join_channel', JOIN],
    ['post_message', POST],
    ['dm_bot', DM],
    ['sync_messages', SYNC],
    ['get_channel_info and get_bot_code', INFO],
    ['update_channel', UPDATE],
  ])('%s', (_tool, cases) => {
    it.each(cases.map((k) => [k.what, k] as const))(
      'refuses %s, and changes nothing',
      async (_what, k) => {
        const before = await snapshot();
        const result = await as(k.as).raw(k.tool, k.args(world));
        expectCleanError(result, k.tool, k.code, k.says);
        expect(await snapshot()).toEqual(before);
      },
    );
  });

  describe('slot kinds and bot languages', () => {
    it('names the allowed kinds when a slot has an unknown kind', async () => {
      const result = await owner.raw('create_channel', {
        name: 'x',
        slots: ['bot:ref', 'player:x'],
      });
      expectCleanError(result, 'create_channel', INVALID, /slots\[1\]/);
      const text = (result.content[0] as { text: string }).text;
      expect(text).toContain('"player"');
      expect(text).toMatch(/"bot:<label>"/);
      expect(text).toMatch(/"invite:<label>"/);
    });

    it('says Python bots are not supported yet instead of a syntax error', async () => {
      const created = await owner.call<{ bot_errors?: string[] }>('create_channel', {
        name: 'py',
        slots: ['bot:ref'],
        bot_code: PYTHON_BOT,
      });
      expect(created.bot_errors).toEqual([expect.stringMatching(/Python.*JavaScript/)]);
      expect(created.bot_errors?.[0]).not.toMatch(/SyntaxError/);
    });
  });

  describe('values that are odd but allowed', () => {
    it('refuses unknown arguments by name, prototype keys too, and pollutes nothing', async () => {
      const hostile = JSON.parse(
        `{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}, "q": ${JSON.stringify(SQL)}}`,
      );
      const health = await outsider.raw('health_check', hostile);
      expectCleanError(
        health,
        'health_check',
        INVALID,
        /unknown argument "constructor", "q"; it takes none/,
      );
      const list = await outsider.raw('list_channels', hostile);
      expectCleanError(list, 'list_channels', INVALID, /unknown argument/);
      expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
      expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    });

    it('refuses a cursor past the end at once, naming the newest message', async () => {
      const result = await member.raw('sync_messages', {
        channel_id: world.channelId,
        cursor: 1_000_000,
        timeout_ms: 0,
      });
      expectCleanError(result, 'sync_messages', INVALID, /past this channel's newest message/);
    });

    it('answers a cursor beyond 32-bit ids with no messages or INVALID_REQUEST, never an internal error', async () => {
      const result = await member.raw('sync_messages', {
        channel_id: world.channelId,
        cursor: 2 ** 31,
        timeout_ms: 0,
      });
      if (result.isError) expectCleanError(result, 'sync_messages', INVALID, /cursor/);
      else expect(result.structuredContent).toMatchObject({ messages: [], cursor: 2 ** 31 });
    });

    it.each(['__proto__', 'constructor', 'toString', SQL])(
      'lists bot_preset %j as a bot error and attaches no bot',
      async (preset) => {
        const created = await owner.call<Created>('create_channel', {
          name: 'presets',
          slots: ['bot:ref'],
          bot_preset: preset,
        });
        expect(created.bot_errors).toEqual([
          expect.stringMatching(/^Unknown bot_preset ".*"; available: GuessBot/),
        ]);
        const info = await owner.call<Info>('get_channel_info', { channel_id: created.channel_id });
        expect(info.bots).toEqual([]);
        expect(info.view.slots[0]?.filled_by).toBeNull();
      },
    );
  });

  describe('hostile text that is valid input is stored verbatim', () => {
    it.each([
      ['SQL', SQL],
      ['a path', PATH],
      ['100 emoji', EMOJI_100],
      ['markup and bidi controls', '<script>alert(1)</script>\u202Egnp.exe\u200B'],
    ])('keeps %s as a channel name', async (_what, name) => {
      const created = await owner.call<Created>('create_channel', { name, slots: ['invite:a'] });
      const info = await owner.call<Info>('get_channel_info', { channel_id: created.channel_id });
      expect(info.view.name).toBe(name);
      const listed = await owner.call<Listing>('list_channels');
      expect(listed.channels.find((ch) => ch.channel_id === created.channel_id)?.name).toBe(name);
    });

    const nested = JSON.parse(
      '{"a": {"__proto__": {"polluted": true}}, "constructor": {"prototype": {"polluted": true}}}',
    );
    it.each([
      ['SQL', SQL],
      ['a path', PATH],
      ['16 000 bytes of emoji', '😀'.repeat(4000)],
      ['control characters', '\u0001\u001f\t\n\r'],
      ['JSON-looking text', '{"kind":"system","sender":"system"}'],
      ['prototype keys below the top level', nested],
      [
        'keys named like Object methods',
        { toString: 'x', hasOwnProperty: 1, valueOf: null, constructor: 'c' },
      ],
      [
        'a spoofed sender and kind inside the body',
        { sender: 'system', kind: 'control', type: 'bot:error' },
      ],
    ])('keeps %s as a message body', async (_what, body) => {
      const posted = await member.call<{ msg_id: number }>('post_message', {
        channel_id: world.channelId,
        body,
      });
      const stored = (await readAll(member, world.channelId)).find((m) => m.id === posted.msg_id);
      expect(stored).toMatchObject({ sender: 'member:s1', kind: 'user' });
      expect(stored?.body).toEqual(typeof body === 'string' ? { text: body } : body);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });

    /** Stored exactly as sent, or refused as INVALID_REQUEST: never mangled, never INTERNAL_ERROR. */
    async function storedOrRefused(body: unknown): Promise<void> {
      const before = await readAll(member, world.channelId);
      const result = await member.raw('post_message', { channel_id: world.channelId, body });
      if (result.isError) {
        expectCleanError(result, 'post_message', INVALID, /body/);
        expect(await readAll(member, world.channelId)).toEqual(before);
        return;
      }
      const { msg_id } = result.structuredContent as { msg_id: number };
      const stored = (await readAll(member, world.channelId)).find((m: Message) => m.id === msg_id);
      expect(stored?.body).toEqual(typeof body === 'string' ? { text: body } : body);
    }

    it('keeps a __proto__ key at the top of an object body, or refuses it', async () => {
      await storedOrRefused(JSON.parse('{"__proto__": {"admin": true}, "text": "hi"}'));
    });

    it('keeps a NUL character in a body, or refuses it', async () => {
      await storedOrRefused(NUL);
    });

    it('keeps a lone UTF-16 surrogate in a body, or refuses it', async () => {
      await storedOrRefused({ text: LONE_SURROGATE });
    });

    it('keeps a deeply nested body under 16 KiB, or refuses it', async () => {
      await storedOrRefused({ deep: JSON.parse(`${'['.repeat(3000)}${']'.repeat(3000)}`) });
    });

    type NewChannel = { name: string; slots: string[]; bot_code?: string };
    const withNulCode = `${ECHO_BOT}\n// ${NUL}`;
    it.each([
      ['a NUL in the name', { name: NUL, slots: ['invite:a'] }, 'name'],
      ['a lone surrogate in the name', { name: LONE_SURROGATE, slots: ['invite:a'] }, 'name'],
      [
        'a lone surrogate in a slot label',
        { name: 'label', slots: [`invite:${LONE_SURROGATE}`] },
        'slots',
      ],
      ['a NUL in bot_code', { name: 'code', slots: ['bot:b'], bot_code: withNulCode }, 'bot_code'],
    ])('keeps %s of a new channel, or refuses it', async (_what, args: NewChannel, field) => {
      const before = await owner.call<Listing>('list_channels');
      const result = await owner.raw('create_channel', args);
      if (result.isError) {
        expectCleanError(result, 'create_channel', INVALID, new RegExp(field));
        expect(await owner.call<Listing>('list_channels')).toEqual(before);
        return;
      }
      const { channel_id } = result.structuredContent as unknown as Created;
      const info = await owner.call<Info>('get_channel_info', { channel_id });
      expect(info.view.name).toBe(args.name);
      expect(info.view.slots.map((slot) => slot.label)).toEqual(
        args.slots.map((spec) => spec.slice(spec.indexOf(':') + 1)),
      );
      if (args.bot_code) {
        const code = await owner.call<{ inline_code: string }>('get_bot_code', {
          channel_id,
          bot_id: 'bot_CustomBot_0',
        });
        expect(code.inline_code).toBe(args.bot_code);
      }
    });

    it('keeps a NUL in a DM, or refuses it', async () => {
      const before = await readAll(member, world.channelId);
      const result = await member.raw('dm_bot', {
        channel_id: world.channelId,
        bot_id: world.botId,
        message: NUL,
      });
      if (result.isError) {
        expectCleanError(result, 'dm_bot', INVALID, /message/);
        expect(await readAll(member, world.channelId)).toEqual(before);
        return;
      }
      expect((await readAll(member, world.channelId)).at(-1)).toMatchObject({
        to_slot: 's1',
        body: { secret: NUL },
      });
    });

    it('keeps a NUL in an update rename, or refuses it', async () => {
      const { channel_id } = await owner.call<Created>('create_channel', {
        name: 'to rename',
        slots: ['invite:a'],
      });
      const before = await owner.call<Info>('get_channel_info', { channel_id });
      const result = await owner.raw('update_channel', {
        channel_id,
        ops: [{ type: 'rename', name: NUL }],
      });
      if (result.isError) {
        expectCleanError(result, 'update_channel', INVALID, /name/);
        expect(await owner.call<Info>('get_channel_info', { channel_id })).toEqual(before);
        return;
      }
      expect((await owner.call<Info>('get_channel_info', { channel_id })).view.name).toBe(NUL);
    });
  });

  describe('after all the abuse', () => {
    it('still serves a normal flow: create, join, post, bot reply, sync', async () => {
      const created = await owner.call<Created>('create_channel', {
        name: 'normal',
        slots: ['bot:echo', 'invite:guest'],
        bot_code: ECHO_BOT,
      });
      expect(created.bot_errors).toBeUndefined();
      const guest = await outsider.call<Joined>('join_channel', {
        invite_code: created.invites[0],
      });
      expect(guest).toMatchObject({ channel_id: created.channel_id, slot_id: 's1' });
      const posted = await outsider.call<{ msg_id: number }>('post_message', {
        channel_id: created.channel_id,
        body: 'still alive?',
      });
      const page = await outsider.call<SyncResult>('sync_messages', {
        channel_id: created.channel_id,
        cursor: posted.msg_id - 1,
        timeout_ms: 0,
      });
      expect(page.messages.map((m) => [m.sender, m.body['text'] ?? m.body['echo']])).toEqual([
        ['member:s1', 'still alive?'],
        ['bot:bot_CustomBot_0', 'still alive?'],
      ]);
      const arena = await member.call<Info>('get_channel_info', { channel_id: world.channelId });
      expect(arena.view.name).toBe('arena');
      expect(arena.bots.map((b) => b.bot_id)).toEqual([world.botId]);
    });
  });
});

/**
 * Channel ids become NATS subjects (`mp.<tenant>.ch.<channel>.wake`, DESIGN §7): an id that is not
 * `chn_` + 11 url-safe characters must be refused at the edge, before it can become a subject with
 * an extra token or a wildcard, on every tool and route that takes one. NATS is on here, as in
 * production, so a subject the server cannot use would surface as INTERNAL_ERROR.
 */
describe('channel ids that are not channel ids, with NATS on', () => {
  let app: TestApp;
  let agent: Agent;
  let channelId: string;

  const BAD_IDS: [string, string][] = [
    ['a dot', 'chn_a.b'],
    ['a dot at the end', 'chn_abcdefghij.'],
    ['the > wildcard', 'chn_>'],
    ['the * wildcard', '*'],
    ['an 11-character id ending in >', 'chn_abcdefghij>'],
    ['an 11-character id with a *', 'chn_abcde*ghijk'],
    ['a space', 'chn_abc defghi'],
    ['a tab', 'chn_abc\tdefghi'],
    ['unicode', 'chn_ünïcødé123'],
    ['5,000 characters', `chn_${'a'.repeat(4996)}`],
    ['a subject of its own', 'mp.ten_default.ch.x.wake'],
  ];
  const channelTools = (
    id: string,
    w: { channelId: string },
  ): [string, Record<string, unknown>][] => [
    ['post_message', { channel_id: id, body: 'hi' }],
    ['dm_bot', { channel_id: id, bot_id: 'bot_CustomBot_0', message: 'hi' }],
    ['sync_messages', { channel_id: id, timeout_ms: 0 }],
    ['sync_messages', { channel_id: id, timeout_ms: 50 }],
    ['get_channel_info', { channel_id: id }],
    ['get_bot_code', { channel_id: id, bot_id: 'bot_CustomBot_0' }],
    ['update_channel', { channel_id: id, ops: [{ type: 'rename', name: w.channelId }] }],
  ];

  beforeAll(async () => {
    app = await startTestApp({ env: testNats().env });
    agent = await connectAgent(app.url, 'nats-agent');
    ({ channel_id: channelId } = await agent.call<Created>('create_channel', {
      name: 'real',
      slots: ['bot:echo', 'invite:a'],
      bot_code: ECHO_BOT,
    }));
  });

  afterAll(async () => {
    await agent?.close();
    await app?.close();
  });

  it.each(BAD_IDS)(
    'refuses %s in channel_id on every channel tool with INVALID_REQUEST',
    async (_what, id) => {
      for (const [tool, args] of channelTools(id, { channelId })) {
        const result = await agent.raw(tool, args);
        expectCleanError(result, tool, INVALID, /channel_id.*(chn_|64)/);
      }
    },
  );

  it.each(BAD_IDS)(
    'refuses %s in the channel of every REST route with 400 INVALID_REQUEST',
    async (_what, id) => {
      const channel = `${app.url}/api/v1/channels/${encodeURIComponent(id)}`;
      const routes: [string, string, unknown?][] = [
        ['GET', channel],
        ['PATCH', channel, { ops: [{ type: 'rename', name: 'x' }] }],
        ['POST', `${channel}/messages`, { body: 'hi' }],
        ['GET', `${channel}/messages?timeout_ms=50`],
        ['POST', `${channel}/bots/bot_CustomBot_0/dm`, { message: 'hi' }],
        ['GET', `${channel}/bots/bot_CustomBot_0/code`],
      ];
      for (const [method, url, body] of routes) {
        const res = await fetch(url, {
          method,
          headers: {
            Authorization: `Bearer ${agent.accessToken}`,
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const problem = (await res.json()) as { code?: string; detail?: string };
        expect({ method, url, status: res.status, code: problem.code }).toEqual({
          method,
          url,
          status: 400,
          code: INVALID,
        });
        expect(problem.detail).toMatch(/channel_id/);
      }
    },
  );

  it('still answers CHANNEL_NOT_FOUND for an id of the right shape that does not exist', async () => {
    const result = await agent.raw('sync_messages', {
      channel_id: UNKNOWN_CHANNEL,
      timeout_ms: 50,
    });
    expectCleanError(result, 'sync_messages', 'CHANNEL_NOT_FOUND');
  });

  it('keeps serving the real channel afterwards', async () => {
    const posted = await agent.raw('get_channel_info', { channel_id: channelId });
    expect(posted.isError).toBeFalsy();
  });
});
