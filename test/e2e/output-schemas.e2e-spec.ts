import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import type { Created, Joined, SyncResult } from './game-helpers.js';

// ajv-formats is CommonJS: its default export arrives as the module object under ESM.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const ECHO_BOT = `export default class Echo {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(msg) { this.ctx.post('bot', { echo: msg.body.text ?? null }); }
  onPrivateMessage(member, msg) { this.ctx.dm(member.slot_id, 'bot', { secret: msg.text }); }
}`;

/**
 * Every tool lists an outputSchema (MCP 2025-11-25, "Output Schema"), and every answer matches it:
 * the SDK client checks each call against the schemas tools/list gave it, and Ajv checks again
 * with the 2020-12 dialect that MCP names as the default.
 */
describe('tool output schemas', () => {
  let app: TestApp;
  let host: Agent;
  let player: Agent;
  let tools: Tool[];
  const validators = new Map<string, ValidateFunction>();

  beforeAll(async () => {
    app = await startTestApp();
    [host, player] = await Promise.all([connectAgent(app.url), connectAgent(app.url)]);
    // tools/list is what makes the SDK client validate structured content on every call.
    [{ tools }] = await Promise.all([host.client.listTools(), player.client.listTools()]);
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    for (const tool of tools) {
      if (tool.outputSchema) validators.set(tool.name, ajv.compile(tool.outputSchema));
    }
  });

  afterAll(async () => {
    await Promise.all([host, player].map((agent) => agent?.close()));
    await app?.close();
  });

  /** Calls a tool that must succeed, checks its answer against its outputSchema, returns it. */
  async function succeed<T>(agent: Agent, tool: string, args: Record<string, unknown> = {}) {
    const result: CallToolResult = await agent.raw(tool, args);
    const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
    expect({ tool, isError: result.isError ?? false, text: result.isError ? text : '' }).toEqual({
      tool,
      isError: false,
      text: '',
    });
    expect(result.structuredContent).not.toHaveProperty('error');
    expectValid(tool, result.structuredContent);
    return result.structuredContent as T;
  }

  function expectValid(tool: string, content: unknown): void {
    const validate = validators.get(tool);
    if (!validate) throw new Error(`${tool} lists no outputSchema`);
    expect({ tool, errors: validate(content) ? null : validate.errors }).toEqual({
      tool,
      errors: null,
    });
  }

  it('lists an object outputSchema for every tool', () => {
    expect(tools.map((tool) => tool.name)).toHaveLength(10);
    for (const tool of tools) {
      expect({ tool: tool.name, type: tool.outputSchema?.type }).toEqual({
        tool: tool.name,
        type: 'object',
      });
      expect(tool.outputSchema).not.toHaveProperty('$schema');
    }
  });

  it('answers every tool with structured content its outputSchema accepts', async () => {
    await succeed(host, 'health_check');

    const created = await succeed<Created>(host, 'create_channel', {
      name: 'schemas',
      slots: ['bot:echo', 'invite:p', 'invite:q'],
      bot_code: ECHO_BOT,
    });
    const preset = await succeed<Created>(host, 'create_channel', {
      name: 'preset',
      slots: ['bot:referee', 'invite:p'],
      bot_preset: 'GuessBot',
    });
    const broken = await succeed<Created>(host, 'create_channel', {
      name: 'no bot',
      slots: ['bot:referee', 'invite:p'],
      bot_preset: 'NoSuchBot',
    });
    expect(broken.bot_errors).toEqual([expect.any(String)]);

    const joined = await succeed<Joined>(player, 'join_channel', {
      invite_code: created.invites[0],
    });
    await succeed(player, 'join_channel', { invite_code: preset.invites[0] });
    const seat = { channel_id: joined.channel_id, member_token: joined.rejoin_token };
    await succeed(player, 'join_channel', { invite_code: joined.rejoin_token });

    const posted = await succeed<{ msg_id: number }>(player, 'post_message', {
      ...seat,
      body: 'hello',
    });
    await succeed(player, 'post_message', { ...seat, body: { move: [1, 2], note: null } });
    await succeed(player, 'dm_bot', { ...seat, bot_id: 'bot_CustomBot_0', message: '!status' });

    const page = await succeed<SyncResult>(player, 'sync_messages', {
      ...seat,
      cursor: posted.msg_id - 1,
      timeout_ms: 0,
    });
    expect(page.messages.length).toBeGreaterThan(0);
    expect(page.messages.some((message) => message.to_slot !== null)).toBe(true);
    const quiet = await succeed<SyncResult>(player, 'sync_messages', {
      ...seat,
      cursor: page.cursor,
      timeout_ms: 0,
    });
    expect(quiet.view).not.toBeNull();

    await succeed(player, 'get_channel_info', seat);
    await succeed(player, 'get_bot_code', { ...seat, bot_id: 'bot_CustomBot_0' });
    await succeed(player, 'get_bot_code', {
      channel_id: preset.channel_id,
      bot_id: 'bot_GuessBot_0',
    });
    await succeed(host, 'list_channels');
    await succeed(player, 'list_channels');
    await succeed(host, 'update_channel', {
      channel_id: created.channel_id,
      ops: [
        { type: 'rename', name: 'renamed' },
        { type: 'set_admin', slot_id: 's1', admin: true },
      ],
    });
  });

  it('answers errors with their code in the text and no structured content to check', async () => {
    // The SDK client checks structured content against the outputSchema even on errors, and
    // throws instead of returning the error if it does not match: errors carry none.
    const result = await host.raw('get_channel_info', { channel_id: 'chn_AAAAAAAAAAA' });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    expect(result.content[0]).toMatchObject({
      text: expect.stringMatching(/^Error calling tool 'get_channel_info': CHANNEL_NOT_FOUND/),
    });
  });
});
