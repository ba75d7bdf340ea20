import type { Agent } from '../support/mcp-client.js';

export interface Message {
  id: number;
  channel_id: string;
  sender: string;
  kind: string;
  body: Record<string, unknown>;
  ts: string;
  to_slot: string | null;
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
