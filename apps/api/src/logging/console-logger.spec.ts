import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { consoleLogger, wantsColours } from './console-logger.js';

const TERMINAL = { noColor: undefined, stdoutIsTty: true, stderrIsTty: true };

describe('the API console logger', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('colours only for a terminal on both streams and without NO_COLOR', () => {
    expect(wantsColours(TERMINAL)).toBe(true);
    expect(wantsColours({ ...TERMINAL, noColor: '1' })).toBe(false);
    expect(wantsColours({ ...TERMINAL, noColor: 'false' })).toBe(false);
    // no-color.org: only a non-empty value counts.
    expect(wantsColours({ ...TERMINAL, noColor: '' })).toBe(true);
    expect(wantsColours({ ...TERMINAL, stdoutIsTty: false })).toBe(false);
    expect(wantsColours({ ...TERMINAL, stderrIsTty: false })).toBe(false);
  });

  it('writes no escape codes when colours are not wanted, whatever the level', () => {
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    const logger = consoleLogger('verbose', { ...TERMINAL, stdoutIsTty: false });
    logger.log('a line', 'Http');
    logger.warn('a warning', 'Http');
    logger.error('an error', 'at somewhere (file.ts:1:1)', 'Http');
    logger.debug({ an: 'object' }, 'Http');
    expect(written.join('')).toContain('[Http] a line');
    expect(written.join('')).not.toContain('\x1b[');
  });

  it('keeps its level and those above it', () => {
    const logger = consoleLogger('warn', TERMINAL);
    expect(logger.isLevelEnabled('error')).toBe(true);
    expect(logger.isLevelEnabled('warn')).toBe(true);
    expect(logger.isLevelEnabled('log')).toBe(false);
  });
});
