import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { BotWorkspace, WORKSPACE_MAX_FILES, wipeWorkspace } from './workspace.js';

describe('BotWorkspace', () => {
  let root: string;
  let dir: string;
  let files: BotWorkspace;

  const call = (op: string, name?: unknown, text?: unknown): unknown =>
    JSON.parse(files.call(op, name ?? null, text ?? null));

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'mp-workspace-'));
    dir = join(root, 'ten', 'chn', 'bot');
    files = new BotWorkspace(dir, 100);
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes, reads, lists and removes files, starting empty', () => {
    expect(call('list')).toEqual({ value: [] });
    expect(call('read', 'a.txt')).toEqual({ value: null });
    expect(call('write', 'a.txt', 'héllo')).toEqual({ value: null });
    expect(call('read', 'a.txt')).toEqual({ value: 'héllo' });
    expect(call('list')).toEqual({ value: [{ name: 'a.txt', size: 6 }] });
    expect(call('remove', 'a.txt')).toEqual({ value: null });
    expect(call('list')).toEqual({ value: [] });
  });

  it('counts every file against the limit, a rewrite only once', () => {
    expect(call('write', 'a', 'x'.repeat(60))).toEqual({ value: null });
    expect(call('write', 'a', 'x'.repeat(90))).toEqual({ value: null });
    expect(call('write', 'b', 'x'.repeat(11))).toEqual({
      error: 'ctx.workspace: full: 90 of 100 bytes used, 11 more do not fit',
    });
    expect(call('read', 'b')).toEqual({ value: null });
  });

  it('holds a bounded number of files', () => {
    const many = new BotWorkspace(dir, 1_000_000);
    for (let i = 0; i < WORKSPACE_MAX_FILES; i++) many.call('write', `f${i}`, '');
    expect(JSON.parse(many.call('write', 'one-more', ''))).toEqual({
      error: `ctx.workspace: a workspace holds at most ${WORKSPACE_MAX_FILES} files`,
    });
  });

  it.each([['../x'], ['/etc/passwd'], ['..'], ['.'], ['a/b'], [''], ['x'.repeat(65)], [42]])(
    'refuses the name %p',
    (name) => {
      expect(call('write', name, 'x')).toEqual({
        error:
          'ctx.workspace: file names are 1 to 64 letters, digits, ".", "_" or "-" (no slashes)',
      });
    },
  );

  it('refuses text that is not a string and unknown operations', () => {
    expect(call('write', 'a', { not: 'text' })).toEqual({
      error: 'ctx.workspace: write(name, text) needs text',
    });
    expect(call('chmod', 'a')).toEqual({ error: 'ctx.workspace: unknown operation chmod' });
  });

  it('does not follow a link planted in the directory out of it', () => {
    call('write', 'a', 'x');
    const outside = join(root, 'outside.txt');
    writeFileSync(outside, 'secret');
    symlinkSync(outside, join(dir, 'link'));
    const refused = { error: 'ctx.workspace: the workspace could not be used' };
    expect(call('write', 'link', 'overwrite')).toEqual(refused);
    expect(call('read', 'link')).toEqual(refused);
    expect(readFileSync(outside, 'utf8')).toBe('secret');
  });

  it('is gone after a wipe', async () => {
    call('write', 'a', 'x');
    await wipeWorkspace(dir);
    expect(call('list')).toEqual({ value: [] });
  });
});
