import { createHash } from 'node:crypto';
import { expect } from '@jest/globals';
import type { MessageView } from '#channels';
import type { Agent } from '../support/mcp-client.js';

/** A message as sync_messages returns it (the wire shape of spec/compat.md). */
export type Message = MessageView;

/** create_channel's result, as tests read it. */
export interface Created {
  channel_id: string;
  invites: string[];
  bot_errors?: string[];
}

/** join_channel's result, as tests read it. */
export interface Joined {
  channel_id: string;
  slot_id: string;
  rejoin_token: string;
  bots: { bot_id: string }[];
}

/** get_channel_info's result, as tests read it. */
export interface Info {
  view: {
    name: string;
    slots: { slot_id: string; label: string; filled_by: string | null; admin: boolean }[];
  };
  bots: { bot_id: string; state_version: number }[];
}

export interface SyncResult {
  messages: Message[];
  cursor: number;
  view: Record<string, unknown> | null;
}

/** Every message the agent may see, from the start, without waiting. */
export async function readAll(
  agent: Agent,
  channelId: string,
  memberToken?: string,
): Promise<Message[]> {
  const all: Message[] = [];
  let cursor = 0;
  for (;;) {
    const page = await agent.call<SyncResult>('sync_messages', {
      channel_id: channelId,
      cursor,
      timeout_ms: 0,
      ...(memberToken ? { member_token: memberToken } : {}),
    });
    if (page.messages.length === 0) return all;
    all.push(...page.messages);
    cursor = page.cursor;
  }
}

/**
 * Plays GuessBot by binary search, the players taking turns, until the bot judges a guess correct
 * (at most 20 moves). Returns its `game_end` message, and each judge as it came.
 */
export async function playGuessBot(
  players: readonly Agent[],
  channelId: string,
): Promise<{ end: Message | undefined; judges: Message[] }> {
  let lo = 1;
  let hi = 100;
  let end: Message | undefined;
  const judges: Message[] = [];
  for (let move = 0; move < 20 && !end; move++) {
    const guess = Math.floor((lo + hi) / 2);
    const player = players[move % players.length] as Agent;
    await player.call('post_message', { channel_id: channelId, body: `my guess is ${guess}` });
    const messages = await readAll(player, channelId);
    const judge = [...messages]
      .reverse()
      .find((m) => m.body['type'] === 'judge' && m.body['guess'] === guess);
    if (!judge) return { end, judges };
    judges.push(judge);
    if (judge.body['result'] === 'high') hi = guess - 1;
    else if (judge.body['result'] === 'low') lo = guess + 1;
    end = messages.find((m) => m.body['type'] === 'game_end');
  }
  return { end, judges };
}

/**
 * Plays GuessBot to the end with two players and checks what every player can check: the turns
 * alternate as announced, the game ends on a correct guess, and the revealed target and nonce
 * hash to the commitment posted before the first guess. Returns the channel as the second player
 * sees it at the end.
 */
export async function playToVerifiedEnd(
  [first, second]: readonly [Agent, Agent],
  channelId: string,
  commit: unknown,
): Promise<Message[]> {
  const { end, judges } = await playGuessBot([first, second], channelId);
  expect(judges.map((j) => j.body['player'])).toEqual(
    judges.map((_, move) => (move % 2 === 0 ? 's1' : 's2')),
  );
  expect(end?.body).toMatchObject({ reason: 'correct', players: ['s1', 's2'] });
  const final = await readAll(second, channelId);
  const reveal = final.find((m) => m.body['type'] === 'bot:reveal');
  expect(reveal?.body['verified']).toBe(true);
  const revealed = `${String(reveal?.body['target'])}|${String(reveal?.body['nonce'])}`;
  expect(createHash('sha256').update(revealed).digest('hex')).toBe(commit);
  return final;
}
