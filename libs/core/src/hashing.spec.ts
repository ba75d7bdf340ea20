import { describe, expect, it } from '@jest/globals';
import { pythonJsonDumps, taggedSha256 } from './hashing.js';

describe('pythonJsonDumps', () => {
  it('matches the compat test vectors for manifest hashes', () => {
    expect(taggedSha256(pythonJsonDumps({}))).toBe(
      'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
    const manifest = {
      summary: 'Custom inline bot',
      hooks: ['on_init', 'on_join', 'on_message'],
      emits: ['system'],
      params: {},
    };
    expect(taggedSha256(pythonJsonDumps(manifest))).toBe(
      'sha256:b215ce9e7332de6dcd2412a6e9d55cd88eb3ee16cc2b65adb6a24fd99a91afce',
    );
  });

  it('sorts keys, uses Python separators and escapes non-ASCII', () => {
    expect(pythonJsonDumps({ b: [1, 2.5, true, null], a: 'é"\n😀' })).toBe(
      '{"a": "\\u00e9\\"\\n\\ud83d\\ude00", "b": [1, 2.5, true, null]}',
    );
  });

  it('matches hashes computed with Python json.dumps(sort_keys=True)', () => {
    // Vectors computed with CPython 3.11 on this machine.
    const guessBot = {
      summary: 'Number guessing referee',
      hooks: ['on_init', 'on_join', 'on_message'],
      emits: ['prompt', 'state', 'turn', 'judge'],
      params: { mode: 'number', range: [1, 100] },
    };
    expect(taggedSha256(pythonJsonDumps(guessBot))).toBe(
      'sha256:c82f5b7d61fd4bd5687054d4ad3b7e1a3cffc242d58fce2ab7fa5730ceccdd08',
    );
    const mixed = { name: 'Zoë ☃', n: [1.5, 1e21, true, null], '😀': 'x' };
    expect(taggedSha256(pythonJsonDumps(mixed))).toBe(
      'sha256:c7e0b1bf148a141eed6074d8c2792227683e9f83eea49c9af26e69e9fbeef698',
    );
  });

  it('writes floats the way Python repr does', () => {
    expect(pythonJsonDumps([1e21, 1.5e-7, 0.1])).toBe('[1e+21, 1.5e-07, 0.1]');
  });
});
