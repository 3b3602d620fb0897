// selectClasses is the one way the app picks rows of chosen classes (training, fine-tuning, the
// review queue): rows of other classes are dropped, labels follow the given class order, and the
// kept rows keep their embeddings.
import { describe, expect, it } from 'vitest';
import { selectClasses } from '../../src/dataset/labelled-set';

const rows = {
  ids: ['a', 'b', 'c', 'd'],
  classIds: ['cat', 'dog', 'cow', 'cat'],
  x: Float32Array.from([1, 1, 2, 2, 3, 3, 4, 4]),
  dim: 2,
};

describe('selectClasses', () => {
  it('keeps rows of the chosen classes in stored order, labelled by the class order given', () => {
    const set = selectClasses(rows, ['dog', 'cat']);
    expect(set.ids).toEqual(['a', 'b', 'd']);
    expect(set.classIds).toEqual(['cat', 'dog', 'cat']);
    expect(Array.from(set.labels)).toEqual([1, 0, 1]);
    expect(Array.from(set.x)).toEqual([1, 1, 2, 2, 4, 4]);
    expect(set.dim).toBe(2);
    expect(set.numClasses).toBe(2);
  });

  it('returns a fresh x (the caller may transfer it) and counts classes without rows', () => {
    const set = selectClasses(rows, ['cow', 'horse']);
    expect(set.ids).toEqual(['c']);
    expect(Array.from(set.labels)).toEqual([0]);
    expect(set.numClasses).toBe(2);
    set.x[0] = 99;
    expect(rows.x[4]).toBe(3);
  });

  it('with reuse, hands back the caller\'s own x when every row is kept, and copies otherwise', () => {
    const all = selectClasses(rows, ['cat', 'dog', 'cow'], { reuse: true });
    expect(all.x).toBe(rows.x);
    expect(all.ids).toEqual(['a', 'b', 'c', 'd']);
    const some = selectClasses(rows, ['cat'], { reuse: true });
    expect(some.x).not.toBe(rows.x);
    expect(Array.from(some.x)).toEqual([1, 1, 4, 4]);
    expect(selectClasses(rows, ['cat', 'dog', 'cow']).x).not.toBe(rows.x);
  });
});
