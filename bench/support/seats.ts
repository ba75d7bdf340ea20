import { connectAgent } from '../../test/support/mcp-client.js';
import type { Agent } from '../../test/support/mcp-client.js';

/** Replies to every message in the same hook: the smallest bot that commits an effect. */
export const ECHO_BOT = `export default class Echo {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(m) { this.ctx.post('bot', { echo: m.body.text }); }
}`;

/** An agent seated in a channel, with the member token it posts with. */
export interface Seat {
  readonly agent: Agent;
  readonly channelId: string;
  readonly memberToken: string;
}

/** A new channel with `slots`, and one agent (named `name`) seated in its first invite slot. */
export async function seatIn(
  url: string,
  slots: string[],
  botCode?: string,
  name = 'bench-poster',
): Promise<Seat> {
  const agent = await connectAgent(url, name);
  const created = await agent.call<{
    channel_id: string;
    invites: string[];
    bot_errors?: string[];
  }>('create_channel', { name: 'bench', slots, ...(botCode ? { bot_code: botCode } : {}) });
  if (created.bot_errors) {
    throw new Error(`the bot did not load: ${created.bot_errors.join('; ')}`);
  }
  const joined = await agent.call<{ rejoin_token: string }>('join_channel', {
    invite_code: created.invites[0],
  });
  return { agent, channelId: created.channel_id, memberToken: joined.rejoin_token };
}

/** Posts `text` from the seat; post_message returns once its bots' effects are committed. */
export function post(seat: Seat, text: string): Promise<{ msg_id: number }> {
  return seat.agent.call<{ msg_id: number }>('post_message', {
    channel_id: seat.channelId,
    body: text,
    member_token: seat.memberToken,
  });
}

/** A message as sync_messages returns it, as the benchmarks read it. */
export interface SeenMessage {
  readonly id: number;
  readonly sender: string;
  readonly kind: string;
  readonly body: Record<string, unknown>;
}

/** Every message the seat can see in its channel, oldest first (read outside any timing). */
export async function readChannel(seat: Seat): Promise<SeenMessage[]> {
  const messages: SeenMessage[] = [];
  for (let cursor = 0; ;) {
    const page = await seat.agent.call<{ messages: SeenMessage[]; cursor: number }>(
      'sync_messages',
      { channel_id: seat.channelId, cursor, timeout_ms: 0, member_token: seat.memberToken },
    );
    if (page.messages.length === 0) return messages;
    messages.push(...page.messages);
    cursor = page.cursor;
  }
}

/** The `bot:error` messages among `messages`, counted by reason (cut to `width` characters). */
export function botErrorReasons(
  messages: readonly SeenMessage[],
  width = Infinity,
): Map<string, number> {
  const reasons = new Map<string, number>();
  for (const { body } of messages) {
    if (body['type'] !== 'bot:error') continue;
    const reason = String(body['error']).slice(0, width);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  return reasons;
}
