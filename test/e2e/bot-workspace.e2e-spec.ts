import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { BotLauncher } from '#bots';
import type { RunnerFleet } from '#bots';
import type { BotId, ChannelId, TenantId } from '#core';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { testNats } from '../support/nats.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

interface Message {
  sender: string;
  kind: string;
  body: Record<string, unknown>;
}

/** Appends each message to a file in its workspace and reports what the workspace holds. */
const NOTE_TAKER = `export default class Notes {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(msg) {
    if (!msg || msg.sender.startsWith('bot:')) return;
    const text = msg.body.text;
    if (text.startsWith('name:')) { this.ctx.workspace.write(text.slice(5), 'x'); return; }
    if (text.startsWith('big:')) { this.ctx.workspace.write('big', 'x'.repeat(Number(text.slice(4)))); return; }
    const notes = (this.ctx.workspace.read('notes.txt') ?? '') + text + '\\n';
    this.ctx.workspace.write('notes.txt', notes);
    this.ctx.post('bot', { notes, files: this.ctx.workspace.list() });
  }
}`;

const WORKSPACE_BYTES = 4096;

/** `ctx.workspace` (issue 4 item 5): a per-bot scratch area with a size limit, wiped on removal. */
describe.each([
  ['inline', {}],
  ['process', { BOT_LAUNCHER: 'process' }],
  ['process under gVisor', { BOT_LAUNCHER: 'process', BOT_SANDBOX: 'gvisor' }],
])('bot workspaces with %s bots', (launcher, env: Record<string, string>) => {
  let app: TestApp;
  let agent: Agent;

  afterAll(async () => {
    await agent?.close();
    await app?.close();
  });

  async function start(): Promise<void> {
    app = await startTestApp({
      env: { ...testNats().env, BOT_WORKSPACE_MAX_BYTES: String(WORKSPACE_BYTES), ...env },
    });
    agent = await connectAgent(app.url);
  }

  async function channel(): Promise<{ id: string; botId: string }> {
    const created = await agent.call<{ channel_id: string; invites: string[] }>('create_channel', {
      name: `notes ${launcher}`,
      slots: ['bot:notes', 'invite:a'],
      bot_code: NOTE_TAKER,
    });
    await agent.call('join_channel', { invite_code: created.invites[0] });
    const info = await agent.call<{ bots: { bot_id: string }[] }>('get_channel_info', {
      channel_id: created.channel_id,
    });
    return { id: created.channel_id, botId: info.bots[0]?.bot_id ?? '' };
  }

  async function say(channelId: string, text: string): Promise<Message[]> {
    const posted = await agent.call<{ msg_id: number }>('post_message', {
      channel_id: channelId,
      body: text,
    });
    const synced = await agent.call<{ messages: Message[] }>('sync_messages', {
      channel_id: channelId,
      cursor: posted.msg_id,
      timeout_ms: 0,
    });
    return synced.messages;
  }

  it('keeps files between hooks, refuses bad names and writes past the limit', async () => {
    await start();
    const { id, botId } = await channel();
    await say(id, 'first');
    const [reply] = await say(id, 'second');
    expect(reply?.body).toMatchObject({
      notes: 'first\nsecond\n',
      files: [{ name: 'notes.txt', size: 13 }],
    });
    const traversal = await say(id, 'name:../../escape');
    expect(traversal[0]?.body['error']).toMatch(/ctx\.workspace: file names are/);
    const full = await say(id, `big:${WORKSPACE_BYTES}`);
    expect(full[0]?.body['error']).toMatch(/ctx\.workspace: full: 13 of 4096 bytes used/);
    if (launcher !== 'process under gVisor') {
      // Outside gVisor the workspace is a directory on this machine, under DATA_DIR.
      const dir = join(app.database.dataDir, 'workspaces', 'ten_default', id, botId);
      await expect(readFile(join(dir, 'notes.txt'), 'utf8')).resolves.toBe('first\nsecond\n');
      expect(readdirSync(dir)).toEqual(['notes.txt']);
      await agent.call('update_channel', {
        channel_id: id,
        ops: [{ type: 'remove_bot', bot_id: botId }],
      });
      expect(existsSync(dir)).toBe(false);
    } else {
      const runners = app.nest.get<BotLauncher, RunnerFleet>(BotLauncher);
      const pid = runners.runnerOf({
        tenantId: 'ten_default' as TenantId,
        channelId: id as ChannelId,
        botId: botId as BotId,
      });
      const command = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      expect(command.split('\0')[0]).toBe('runsc');
    }
  });
});
