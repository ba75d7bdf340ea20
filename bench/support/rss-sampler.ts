import { treeRssMb } from './process-memory.js';

/** Peak and mean of a process tree's resident memory over the samples of one phase, MiB. */
export interface RssPhase {
  readonly peakMb: number;
  readonly meanMb: number;
  readonly samples: number;
}

/**
 * Samples the resident memory of `pid` and its descendants every `everyMs` for as long as it runs,
 * and keeps a peak and a mean per phase (the phase is whatever `phase()` was last set to). It runs
 * through every phase of a benchmark, so its own cost is the same in each.
 */
export class RssSampler {
  private readonly phases = new Map<string, { peak: number; sum: number; count: number }>();
  private current = 'start';
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    everyMs = 100,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }

  /** Samples from now on count towards `name`. */
  phase(name: string): void {
    this.current = name;
    this.sample();
  }

  get(name: string): RssPhase {
    const phase = this.phases.get(name);
    if (!phase) return { peakMb: NaN, meanMb: NaN, samples: 0 };
    return { peakMb: phase.peak, meanMb: phase.sum / phase.count, samples: phase.count };
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const mb = treeRssMb(this.pid);
    if (mb === 0) return; // The process is gone; the server's own exit handler reports it.
    const phase = this.phases.get(this.current) ?? { peak: 0, sum: 0, count: 0 };
    phase.peak = Math.max(phase.peak, mb);
    phase.sum += mb;
    phase.count += 1;
    this.phases.set(this.current, phase);
  }
}
