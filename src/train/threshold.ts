// "None of these": a prediction whose top score is below the user's confidence threshold shows as
// "not sure" instead of forcing a class. The suggested threshold comes from the validation set:
// the lowest cut-off at which the predictions kept (score >= cut-off) reach a target precision,
// so as many predictions as possible stay confident while the confident ones are rarely wrong.

export interface Decision {
  /** Index of the top class (also when not sure, for display). */
  index: number;
  score: number;
  /** False when the top score is below the threshold: show "not sure". */
  sure: boolean;
}

/** Top class of one probability row, and whether it clears `threshold` (0 = always sure). */
export function decide(probs: ArrayLike<number>, threshold: number): Decision {
  let index = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[index]!) index = i;
  const score = probs.length > 0 ? probs[index]! : 0;
  return { index, score, sure: probs.length > 0 && score >= threshold };
}

export interface ThresholdSuggestion {
  threshold: number;
  /** Share of the validation predictions kept at this threshold that are right. */
  precision: number;
  /** Share of validation predictions at or above the threshold. */
  coverage: number;
}

/**
 * Lowest threshold whose kept predictions reach `targetPrecision` on validation. If no cut-off
 * reaches it, the one with the best precision (ties: more coverage). Null without validation data.
 */
export function suggestThreshold(
  confidence: ArrayLike<number>,
  correct: ArrayLike<boolean>,
  targetPrecision = 0.95,
): ThresholdSuggestion | null {
  const n = confidence.length;
  if (n === 0 || correct.length !== n) return null;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => confidence[b]! - confidence[a]!,
  );
  let right = 0;
  let best: ThresholdSuggestion | null = null;
  let fallback: ThresholdSuggestion | null = null;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (correct[i]) right++;
    // Only cut between distinct scores: equal scores are kept or dropped together.
    const next = order[k + 1];
    if (next !== undefined && confidence[next] === confidence[i]) continue;
    const s = { threshold: confidence[i]!, precision: right / (k + 1), coverage: (k + 1) / n };
    if (s.precision >= targetPrecision) best = s;
    if (
      !fallback ||
      s.precision > fallback.precision ||
      (s.precision === fallback.precision && s.coverage > fallback.coverage)
    )
      fallback = s;
  }
  return best ?? fallback;
}

/** Validation predictions at or above `threshold` and their precision (for the settings text). */
export function thresholdStats(
  confidence: ArrayLike<number>,
  correct: ArrayLike<boolean>,
  threshold: number,
): { kept: number; precision: number; n: number } {
  let kept = 0;
  let right = 0;
  for (let i = 0; i < confidence.length; i++) {
    if (confidence[i]! >= threshold) {
      kept++;
      if (correct[i]) right++;
    }
  }
  return { kept, precision: kept > 0 ? right / kept : 1, n: confidence.length };
}
