import { useState } from 'react';
import {
  setInsightSettings,
  suggestFromValidation,
  thresholdStats,
  useAugmentCount,
  useInsightSettings,
  VARIANTS_PER_SAMPLE,
} from '../state/insight';
import { useClassCounts } from '../state/classes';
import type { TrainingOutcome } from '../state/training';
import { percent } from './format';

/** Augmentation on/off (with what it adds) and the "not sure" threshold (with a suggestion from validation). */
export function ReviewSettings({
  projectId,
  outcome,
}: {
  projectId: string;
  outcome: TrainingOutcome | null;
}) {
  const { threshold, augment } = useInsightSettings(projectId);
  const counts = useClassCounts(projectId);
  const cached = useAugmentCount(projectId);
  const [draft, setDraft] = useState<string | null>(null);
  const nSamples = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : 0;
  const suggestion = outcome ? suggestFromValidation(outcome.reviewed) : null;
  const stats =
    outcome && outcome.reviewed.length > 0
      ? thresholdStats(
          outcome.reviewed.map((r) => r.confidence),
          outcome.reviewed.map((r) => r.trueIndex === r.predIndex),
          threshold,
        )
      : null;
  const commit = (value: number) => {
    if (Number.isFinite(value) && value >= 0 && value <= 1)
      void setInsightSettings(projectId, { threshold: value });
  };
  return (
    <div className="form-grid insight-settings" data-testid="insight-settings">
      <label className="check">
        <input
          type="checkbox"
          checked={augment}
          data-testid="augment-toggle"
          onChange={(e) => void setInsightSettings(projectId, { augment: e.target.checked })}
        />{' '}
        Augment: train on {VARIANTS_PER_SAMPLE} variants of each image too (mirror, 2 crops, zoom,
        brighter)
      </label>
      <p className="muted small" data-testid="augment-info">
        Adds {VARIANTS_PER_SAMPLE * nSamples} embeddings to training ({VARIANTS_PER_SAMPLE} ×{' '}
        {nSamples} images; computed once, {VARIANTS_PER_SAMPLE * (cached ?? 0)} cached). Never used
        for validation.
      </p>
      <label>
        “Not sure” below this confidence (0 = always name a class)
        <input
          type="number"
          min={0}
          max={1}
          step={0.01}
          data-testid="threshold-input"
          value={draft ?? String(threshold)}
          onChange={(e) => setDraft(e.target.value)}
          onBlur={() => {
            if (draft !== null) commit(Number(draft));
            setDraft(null);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
          }}
        />
      </label>
      <p className="muted small">
        {suggestion ? (
          <>
            Suggested from validation:{' '}
            <strong data-testid="threshold-suggested">{suggestion.threshold.toFixed(2)}</strong>: it
            names a class for {percent(suggestion.coverage, 0)} of the validation images, and{' '}
            {percent(suggestion.precision, 0)} of those are right.{' '}
            <button
              type="button"
              className="button small"
              data-testid="threshold-use"
              onClick={() => commit(Number(suggestion.threshold.toFixed(2)))}
            >
              Use it
            </button>
          </>
        ) : (
          'Train with a validation set to get a suggested value.'
        )}
        {stats && threshold > 0 && (
          <>
            <br />
            At {threshold.toFixed(2)}: {stats.kept} of {stats.n} validation images named,{' '}
            {percent(stats.precision, 0)} of them right.
          </>
        )}
      </p>
    </div>
  );
}
