// Eviction marker (issue 21, part 4): which projects count as lost, from the names kept in
// localStorage or, when localStorage went too, from the cookie's count alone.
import { describe, expect, it } from 'vitest';
import { keptProjects, missingFrom } from '../../src/state/eviction';
import type { ProjectRow } from '../../src/state/repo';

function project(id: string, name: string, classes: number): ProjectRow {
  return { id, name, createdAt: 0, updatedAt: 0, extractorId: 'x', extractorKey: 'x@1/unit/224', classOrder: Array.from({ length: classes }, (_, i) => `c${i}`), settings: {} };
}

describe('eviction marker', () => {
  it('keeps only projects with classes (an empty default project is nothing to lose)', () => {
    expect(keptProjects([project('a', 'A', 2), project('b', 'B', 0)])).toEqual([{ id: 'a', name: 'A' }]);
  });

  it('reports the named projects the database lacks, and nothing when all are there', () => {
    const marker = [
      { id: 'a', name: 'Birds' },
      { id: 'b', name: 'Cats' },
    ];
    expect(missingFrom(marker, 2, [project('a', 'Birds', 1), project('b', 'Cats', 3)])).toBeNull();
    // After an eviction the app created a fresh, empty default project.
    expect(missingFrom(marker, 2, [project('new', 'My first project', 0)])).toEqual({ count: 2, names: ['Birds', 'Cats'] });
    expect(missingFrom(marker, 2, [project('b', 'Cats', 3)])).toEqual({ count: 1, names: ['Birds'] });
  });

  it('without the localStorage names, the cookie count still reports a loss (and only a loss)', () => {
    expect(missingFrom(null, 2, [])).toEqual({ count: 2, names: [] });
    expect(missingFrom(null, 2, [project('a', 'A', 1)])).toEqual({ count: 1, names: [] });
    expect(missingFrom(null, 1, [project('a', 'A', 1)])).toBeNull();
    expect(missingFrom(null, 0, [])).toBeNull();
  });
});
