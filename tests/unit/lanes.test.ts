import { afterEach, describe, expect, it } from 'vitest';
import { planLanes, setLaneOverride } from '../../src/embed/lanes';

describe('planLanes: how the cores are split between embedding workers on WASM', () => {
  afterEach(() => setLaneOverride(null));

  it('two cores, isolated: two workers of one thread each', () => {
    expect(planLanes({ cores: 2, isolated: true, memoryGb: 8 })).toEqual({ lanes: 2, mainThreads: 1, helperThreads: 1 });
  });

  it('eight cores: two workers of four threads; an odd count gives the main worker the extra one', () => {
    expect(planLanes({ cores: 8, isolated: true, memoryGb: undefined })).toEqual({ lanes: 2, mainThreads: 4, helperThreads: 4 });
    expect(planLanes({ cores: 3, isolated: true, memoryGb: 8 })).toEqual({ lanes: 2, mainThreads: 2, helperThreads: 1 });
  });

  it('one core, or little memory: one worker with every core', () => {
    expect(planLanes({ cores: 1, isolated: true, memoryGb: 8 })).toEqual({ lanes: 1, mainThreads: 1, helperThreads: 1 });
    expect(planLanes({ cores: 4, isolated: true, memoryGb: 2 })).toEqual({ lanes: 1, mainThreads: 4, helperThreads: 4 });
  });

  it('not cross-origin isolated: no threads, but still two workers', () => {
    expect(planLanes({ cores: 8, isolated: false, memoryGb: 8 })).toEqual({ lanes: 2, mainThreads: 1, helperThreads: 1 });
  });

  it('?lanes=1 keeps one worker with every core; values above the maximum are capped', () => {
    setLaneOverride(1);
    expect(planLanes({ cores: 2, isolated: true, memoryGb: 8 })).toEqual({ lanes: 1, mainThreads: 2, helperThreads: 2 });
    setLaneOverride(7);
    expect(planLanes({ cores: 2, isolated: true, memoryGb: 8 }).lanes).toBe(2);
    setLaneOverride(1);
    setLaneOverride(0); // ignored, as is undefined: the last valid override stays
    setLaneOverride(undefined);
    expect(planLanes({ cores: 2, isolated: true, memoryGb: 8 }).lanes).toBe(1);
    setLaneOverride(null);
    expect(planLanes({ cores: 2, isolated: true, memoryGb: 8 }).lanes).toBe(2);
  });
});
