import { describe, expect, it } from '@jest/globals';
import { SerialLanes } from './serial-lanes.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SerialLanes', () => {
  it('runs one key at a time and folds requests made while a run waits into that run', async () => {
    const lanes = new SerialLanes();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    const catchUp = async () => {
      runs += 1;
      log.push(`a${runs} start`);
      if (runs === 1) await gate;
      log.push(`a${runs} end`);
    };
    const first = lanes.schedule('a', catchUp);
    await tick();
    const second = lanes.schedule('a', catchUp);
    const third = lanes.schedule('a', catchUp);
    await lanes.schedule('b', () => Promise.resolve(void log.push('b')));
    expect(second).toBe(third);
    release();
    await Promise.all([first, second, third]);
    expect(log).toEqual(['a1 start', 'b', 'a1 end', 'a2 start', 'a2 end']);
    expect(runs).toBe(2);
  });

  it('keeps running a lane after a run fails', async () => {
    const lanes = new SerialLanes();
    await expect(lanes.schedule('a', () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    let ran = false;
    await lanes.schedule('a', () => Promise.resolve(void (ran = true)));
    expect(ran).toBe(true);
  });
});
