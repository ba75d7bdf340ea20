import { describe, expect, it } from '@jest/globals';
import type { BotId, ChannelId, TenantId } from '#core';
import {
  formatReport,
  parseReport,
  readRunnerEnvironment,
  runnerEnvironmentOf,
} from './runner-contract.js';
import type { RunnerSettings } from './runner-contract.js';

const settings: RunnerSettings = {
  natsUrl: 'nats://127.0.0.1:4222',
  address: {
    tenantId: 'ten_a' as TenantId,
    channelId: 'chn_abcdefghijk' as ChannelId,
    botId: 'bot_GuessBot_0' as BotId,
  },
  memoryMb: 64,
  hookTimeoutMs: 5000,
  outputMaxBytes: 262144,
  idleSeconds: 300,
  egress: { timeoutMs: 5000, maxBytes: 1048576, allowLoopback: false, ca: undefined },
  workspace: { path: '/workspace', maxBytes: 1048576 },
  credentialsFile: '/var/run/mcp-multiplayer/credentials',
};

describe('the runner contract', () => {
  it('reads back the settings a launcher wrote, and nothing else of the environment', () => {
    const env = runnerEnvironmentOf(settings);
    expect(Object.keys(env).every((name) => name.startsWith('RUNNER_'))).toBe(true);
    expect(readRunnerEnvironment({ ...env, DATABASE_URL: 'postgres://secret' })).toEqual({
      ok: true,
      settings,
    });
  });

  it('takes credentials on standard input when no file is named', () => {
    const env = runnerEnvironmentOf({ ...settings, credentialsFile: undefined, workspace: null });
    expect(env).not.toHaveProperty('RUNNER_CREDENTIALS_FILE');
    const read = readRunnerEnvironment(env);
    expect(read.ok && read.settings.credentialsFile).toBeUndefined();
    expect(read.ok && read.settings.workspace).toBeNull();
  });

  it('names the first setting that is wrong', () => {
    const env = { ...runnerEnvironmentOf(settings), RUNNER_BOT: 'bot.*' };
    expect(readRunnerEnvironment(env)).toEqual({
      ok: false,
      error: expect.stringContaining('RUNNER_BOT'),
    });
  });

  it('reads the reports it formats, and no other line', () => {
    expect(parseReport(formatReport({ event: 'holding', seq: 7 }))).toEqual({
      event: 'holding',
      seq: 7,
    });
    expect(parseReport(formatReport({ event: 'released', seq: 7 }))).toEqual({
      event: 'released',
      seq: 7,
    });
    expect(parseReport('{"event":"ready"}')).toBeNull();
    expect(parseReport('{"event":"holding","seq":"7"}')).toBeNull();
    expect(parseReport('{"event":"holding"')).toBeNull();
  });
});
