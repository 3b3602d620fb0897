// Class weights for training a head on an unbalanced dataset (40 photos of one class, 8 of
// another): each class contributes the same total weight to the loss, as scikit-learn's
// class_weight='balanced' does.

import { GlimpseError } from '../shared/errors';

/**
 * weight[c] = n / (kPresent * count[c]), where n is the number of labels and kPresent the number
 * of classes that occur at least once. Classes with no labels get 0 (they add nothing to the loss
 * and must not inflate the others). A balanced dataset gives 1 for every present class.
 */
export function balancedClassWeights(labels: ArrayLike<number>, numClasses: number): Float32Array {
  if (!Number.isInteger(numClasses) || numClasses < 0) {
    throw new GlimpseError('invalid-input', `Invalid number of classes: ${numClasses}.`);
  }
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new GlimpseError(
        'invalid-input',
        `Label ${label} at position ${i} is outside 0..${numClasses - 1}.`,
      );
    }
    counts[label] = (counts[label] as number) + 1;
  }

  const present = counts.filter((c) => c > 0).length;
  const weights = new Float32Array(numClasses);
  counts.forEach((count, c) => {
    if (count > 0) weights[c] = labels.length / (present * count);
  });
  return weights;
}
