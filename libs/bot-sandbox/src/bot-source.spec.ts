import { describe, expect, it } from '@jest/globals';
import { looksLikePython, toBotModule } from './bot-source.js';

describe('toBotModule', () => {
  it('keeps a module that exports', () => {
    const source = 'export default class A {}';
    expect(toBotModule(source)).toEqual({ module: source });
  });

  it('exports the single top-level class of a source without exports', () => {
    expect(toBotModule('class Echo {}')).toEqual({
      module: 'class Echo {}\nexport default Echo;\n',
    });
  });

  it('refuses a source with no export and no single class', () => {
    expect(toBotModule('class A {}\nclass B {}')).toHaveProperty('error');
    expect(toBotModule('const x = 1;')).toHaveProperty('error');
  });
});

describe('looksLikePython', () => {
  it('recognises Python bots and leaves JavaScript alone', () => {
    expect(looksLikePython('class Bot:\n    def on_init(self):\n        pass\n')).toBe(true);
    expect(looksLikePython('from x import y\n')).toBe(true);
    expect(looksLikePython('export default class Bot { onInit() {} }')).toBe(false);
  });
});
