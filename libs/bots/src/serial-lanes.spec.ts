import { describe, expect, it } from '@jest/globals';
import { SerialLanes } from './serial-lanes.js';

describe('SerialLanes', () => {
  it('runs work of one key in order and coalesces runs that have not started', async () => {
    const lanes = new SerialLanes();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = lanes.schedule('a', async () => {
      log.push('first');
      await gate;
    });
    const second = lanes.schedule('a', () => Promise.resolve(void log.push('second')));
    const third = lanes.schedule('a', () => Promise.resolve(void log.push('third')));
    const other = lanes.schedule('b', () => Promise.resolve(void log.push('other')));
    await other;
    expect(second).toBe(third);
    release();
    await Promise.all([first, second, third]);
    expect(log).toEqual(['first', 'other', 'second']);
  });
});
