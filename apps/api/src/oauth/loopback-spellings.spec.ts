import { describe, expect, it } from '@jest/globals';
import { loopbackSpellings, publicUrlFor, underEverySpelling } from './loopback-spellings.js';

describe('loopback spellings of PUBLIC_URL', () => {
  it('are the three loopback names with the same scheme, port and path, PUBLIC_URL first', () => {
    expect(loopbackSpellings('http://127.0.0.1:3000')).toEqual([
      'http://127.0.0.1:3000',
      'http://localhost:3000',
      'http://[::1]:3000',
    ]);
    expect(loopbackSpellings('http://[::1]:8080/mp')).toEqual([
      'http://[::1]:8080/mp',
      'http://localhost:8080/mp',
      'http://127.0.0.1:8080/mp',
    ]);
  });

  it('are PUBLIC_URL alone when its host is not a loopback name', () => {
    expect(loopbackSpellings('https://mcp.example.com')).toEqual(['https://mcp.example.com']);
    expect(loopbackSpellings('http://10.0.0.5:8080')).toEqual(['http://10.0.0.5:8080']);
    expect(loopbackSpellings('http://localhost.example.com:8080')).toEqual([
      'http://localhost.example.com:8080',
    ]);
  });

  it('answer a request under the loopback spelling its Host header used', () => {
    const base = 'http://127.0.0.1:3000';
    expect(publicUrlFor(base, 'localhost:3000')).toBe('http://localhost:3000');
    expect(publicUrlFor(base, 'LOCALHOST:3000')).toBe('http://localhost:3000');
    expect(publicUrlFor(base, '[::1]:3000')).toBe('http://[::1]:3000');
    expect(publicUrlFor(base, '127.0.0.1:3000')).toBe(base);
    expect(publicUrlFor('http://localhost', 'localhost:80')).toBe('http://localhost');
    expect(publicUrlFor('http://localhost', '127.0.0.1')).toBe('http://127.0.0.1');
  });

  it('answer PUBLIC_URL for any other Host: another port, another name, none, or garbage', () => {
    const base = 'http://127.0.0.1:3000';
    expect(publicUrlFor(base, 'localhost:3001')).toBe(base);
    expect(publicUrlFor(base, 'localhost')).toBe(base);
    expect(publicUrlFor(base, 'evil.example:3000')).toBe(base);
    expect(publicUrlFor(base, undefined)).toBe(base);
    expect(publicUrlFor(base, 'a b/c')).toBe(base);
    expect(publicUrlFor('https://mcp.example.com', 'localhost:443')).toBe(
      'https://mcp.example.com',
    );
  });

  it('put each resource under every spelling, the given ones first', () => {
    expect(
      underEverySpelling('http://localhost:8080', [
        'http://localhost:8080/mcp',
        'http://localhost:8080',
      ]),
    ).toEqual([
      'http://localhost:8080/mcp',
      'http://localhost:8080',
      'http://127.0.0.1:8080/mcp',
      'http://127.0.0.1:8080',
      'http://[::1]:8080/mcp',
      'http://[::1]:8080',
    ]);
    expect(underEverySpelling('https://a.example', ['https://a.example/mcp'])).toEqual([
      'https://a.example/mcp',
    ]);
  });
});
