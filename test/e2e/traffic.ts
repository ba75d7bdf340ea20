import { expect } from '@jest/globals';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { eventually } from '../support/eventually.js';
import type { Agent } from '../support/mcp-client.js';
import { readAll } from './game-helpers.js';
import type { Message } from './game-helpers.js';

/**
 * Traffic for the fault tests: agents posting while something breaks, and the checks that what
 * they were told matches what was stored.
 */

/** Counts the players' messages in its state and answers each with its text and the count. */
export const COUNTER = `export default class Counter {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(msg) {
    if (!msg || !msg.sender.startsWith('member:')) return;
    const count = (this.ctx.getState().count ?? 0) + 1;
    this.ctx.setState({ count });
    this.ctx.post('bot', { echo: msg.body.text ?? null, count });
  }
}`;

/** One post an agent tried. */
export interface Attempt {
  readonly body: string;
  readonly sender: string;
  /** What post_message answered; null when the call failed (the post may be stored or not). */
  readonly msgId: number | null;
  readonly error?: string;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Longer than a post may wait for its bot (BOT_SETTLE_TIMEOUT_MS, 5 s) while NATS is away. */
const POST_TIMEOUT_MS = 20_000;

/**
 * Posts `tag#0`, `tag#1`, … in sequence while `more(n)`, through the agent `via(n)` picks, and
 * records each attempt in `attempts` as it ends (so a scenario can watch the traffic). A failed
 * call is recorded, reported to `failed`, and followed by the next post. `abort(agent)` ends a
 * call in flight: the SDK client leaves a call whose response stream broke pending until its own
 * 60 s timeout, where a real agent would see the connection reset.
 */
export async function postWhile(options: {
  channelId: string;
  sender: string;
  tag: string;
  more: (n: number) => boolean;
  via: (n: number) => Agent;
  attempts: Attempt[];
  failed?: (agent: Agent) => void;
  abort?: (agent: Agent) => AbortSignal;
}): Promise<void> {
  for (let n = 0; options.more(n); n++) {
    const body = `${options.tag}#${n}`;
    const agent = options.via(n);
    try {
      const result = (await agent.client.callTool(
        { name: 'post_message', arguments: { channel_id: options.channelId, body } },
        undefined,
        { timeout: POST_TIMEOUT_MS, signal: options.abort?.(agent) },
      )) as CallToolResult;
      if (result.isError) throw new Error(JSON.stringify(result.content));
      const posted = result.structuredContent as { msg_id: number };
      options.attempts.push({ body, sender: options.sender, msgId: posted.msg_id });
    } catch (error) {
      options.attempts.push({ body, sender: options.sender, msgId: null, error: String(error) });
      options.failed?.(agent);
      await sleep(50);
    }
  }
}

/**
 * Each agent posting to the channel under its sender, `tag-<i>#0`, `tag-<i>#1`, …, until the
 * returned stop(), which ends the traffic and waits for the last posts.
 */
export function startTraffic(options: {
  channelId: string;
  agents: readonly Agent[];
  senders: readonly string[];
  tag: string;
  attempts: Attempt[];
}): () => Promise<void> {
  let running = true;
  const traffic = Promise.all(
    options.agents.map((agent, i) =>
      postWhile({
        channelId: options.channelId,
        sender: options.senders[i] ?? '',
        tag: `${options.tag}-${i}`,
        more: () => running,
        via: () => agent,
        attempts: options.attempts,
      }),
    ),
  );
  return async () => {
    running = false;
    await traffic;
  };
}

export const acked = (attempts: readonly Attempt[]) =>
  attempts.filter((a) => a.msgId !== null).length;

export const playerMessages = (log: readonly Message[]) =>
  log.filter((m) => m.sender.startsWith('member:'));

export const botReplies = (log: readonly Message[]) =>
  log.filter((m) => m.sender.startsWith('bot:') && m.kind === 'bot');

/**
 * The log against what the agents tried: ids strictly increase; every acknowledged post is stored
 * once, under the id and sender it was acknowledged with; nothing is stored that nobody posted, or
 * twice; each agent's acknowledged ids increase in the order it posted. Returns the players' messages.
 */
export function expectConsistentLog(
  log: readonly Message[],
  attempts: readonly Attempt[],
): Message[] {
  const ids = log.map((m) => m.id);
  expect(ids.filter((id, i) => i > 0 && id <= (ids[i - 1] ?? 0))).toEqual([]);
  const players = playerMessages(log);
  const bodies = players.map((m) => String(m.body['text']));
  expect(bodies.filter((body, i) => bodies.indexOf(body) !== i)).toEqual([]);
  const tried = new Set(attempts.map((a) => a.body));
  expect(bodies.filter((body) => !tried.has(body))).toEqual([]);
  const stored = new Map(players.map((m) => [String(m.body['text']), m]));
  const wrong = attempts
    .filter((a) => a.msgId !== null)
    .filter((a) => stored.get(a.body)?.id !== a.msgId || stored.get(a.body)?.sender !== a.sender)
    .map((a) => ({ ...a, stored: stored.get(a.body) ?? null }));
  expect(wrong).toEqual([]);
  for (const sender of new Set(attempts.map((a) => a.sender))) {
    const mine = attempts.filter((a) => a.sender === sender && a.msgId !== null);
    const order = mine.map((a) => a.msgId ?? 0);
    expect(order.filter((id, i) => i > 0 && id <= (order[i - 1] ?? 0))).toEqual([]);
  }
  return players;
}

/**
 * The counting bot answered each player message once, in the log's order, after it, and counted
 * 1..N: it saw every message event once and in order, and no hook failed.
 */
export function expectOneReplyEach(log: readonly Message[], players: readonly Message[]): void {
  const replies = botReplies(log);
  expect(replies.map((r) => r.body['echo'])).toEqual(players.map((p) => p.body['text']));
  expect(replies.map((r) => r.body['count'])).toEqual(players.map((_, i) => i + 1));
  expect(replies.filter((r, i) => r.id <= (players[i]?.id ?? 0))).toEqual([]);
  expect(log.filter((m) => m.body['type'] === 'bot:error')).toEqual([]);
}

/** Waits until the bot has answered every player message in the log, then reads it once more. */
export async function settledLog(
  agent: Agent,
  channelId: string,
  timeoutMs = 30_000,
): Promise<Message[]> {
  await eventually(
    async () => {
      const log = await readAll(agent, channelId);
      return botReplies(log).length >= playerMessages(log).length;
    },
    'a bot reply to every stored player message',
    timeoutMs,
  );
  // A late duplicate reply would show up now.
  await sleep(500);
  return readAll(agent, channelId);
}
