import { describe, expect, it } from '@jest/globals';
import { readDeclaredManifest } from './declared-manifest.js';

describe('readDeclaredManifest', () => {
  it('reads a literal static manifest of the default export class', () => {
    const source = `export default class Dice {
      static manifest = { name: 'Dice', version: "2.0", summary: \`Rolls\`, params: { sides: 6, range: [-1, 1.5] }, flags: [true, false, null] };
      onMessage() {}
    }`;
    expect(readDeclaredManifest(source)).toEqual({
      ok: true,
      manifest: {
        name: 'Dice',
        version: '2.0',
        summary: 'Rolls',
        params: { sides: 6, range: [-1, 1.5] },
        flags: [true, false, null],
      },
    });
  });

  it.each([
    ['export default Dice', 'class Dice { static manifest = { n: 1 }; }\nexport default Dice;'],
    [
      'export { X as default }',
      'const X = class { static manifest = { n: 1 }; };\nexport { X as default };',
    ],
    ['the only class of a module with no exports', 'class Dice { static manifest = { n: 1 }; }'],
    ['an anonymous default class', 'export default class { static manifest = { n: 1 }; }'],
  ])('finds the bot class: %s', (_what, source) => {
    expect(readDeclaredManifest(source)).toEqual({ ok: true, manifest: { n: 1 } });
  });

  it('answers null for a class without a manifest', () => {
    expect(readDeclaredManifest('export default class A { onInit() {} }')).toEqual({
      ok: true,
      manifest: null,
    });
  });

  it('keeps a __proto__ key as an ordinary key', () => {
    const read = readDeclaredManifest(
      'export default class A { static manifest = { "__proto__": { polluted: 1 } }; }',
    );
    expect(read.ok && Object.keys(read.manifest ?? {})).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each([
    ['a call', 'static manifest = { n: compute() };'],
    ['a loop in a getter', 'static get manifest() { for (;;) {} }'],
    ['a spread', 'static manifest = { ...base };'],
    ['a template with expressions', 'static manifest = { s: `${1}` };'],
    ['a computed key', 'static manifest = { [k]: 1 };'],
    ['a method', 'static manifest = { f() {} };'],
    ['a regular expression', 'static manifest = { r: /x/ };'],
  ])('refuses a manifest that is not a literal: %s', (_what, member) => {
    const read = readDeclaredManifest(`export default class A { ${member} }`);
    if (member.startsWith('static get')) {
      // A getter is not a declared manifest: none is read, and nothing runs.
      expect(read).toEqual({ ok: true, manifest: null });
      return;
    }
    expect(read).toMatchObject({ ok: false, error: expect.stringMatching(/must be a literal/) });
  });

  it('runs nothing: a module that would loop or throw at its top level is only parsed', () => {
    const source =
      'for (;;) {}\nthrow new Error("boom");\nexport default class A { static manifest = { n: 1 }; }';
    expect(readDeclaredManifest(source)).toEqual({ ok: true, manifest: { n: 1 } });
  });

  it('refuses a source that does not parse, saying where', () => {
    expect(readDeclaredManifest('export default class {')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^SyntaxError: .*\(1:\d+\)/),
    });
  });

  it.each([
    ["import fs from 'node:fs';", 'node:fs'],
    ["import { fetchHost } from 'mp:prelude';", 'mp:prelude'],
    ["export * from 'bot:main';", 'bot:main'],
    ["export { x } from './other.js';", './other.js'],
  ])('refuses a module that imports: %s', (line, from) => {
    expect(readDeclaredManifest(`${line}\nexport default class A {}`)).toEqual({
      ok: false,
      error: `imports are not available to bots (tried "${from}")`,
    });
  });

  it('refuses a module without a bot class', () => {
    expect(readDeclaredManifest('export const x = 1;')).toEqual({
      ok: false,
      error: 'the bot module has no default export class',
    });
    expect(readDeclaredManifest('export default 42;')).toEqual({
      ok: false,
      error: 'the default export must be the bot class',
    });
  });

  it('refuses a manifest nested too deeply', () => {
    const deep = `${'['.repeat(40)}${']'.repeat(40)}`;
    expect(
      readDeclaredManifest(`export default class A { static manifest = { d: ${deep} }; }`),
    ).toMatchObject({ ok: false, error: 'static manifest is nested too deeply' });
  });
});
