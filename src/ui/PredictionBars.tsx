import { decide } from '../state/insight';
import type { Prediction } from '../state/training';
import { percent } from './format';

/** The verdict ("Looks like X" or "Not sure") and one bar per class. */
export function PredictionBars({ prediction, colors, threshold }: { prediction: Prediction; colors: Record<string, string>; threshold: number }) {
  const d = decide(prediction.scores.map((s) => s.score), threshold);
  const best = prediction.scores[d.index]!;
  return (
    <div>
      {d.sure ? (
        <p className="prediction-top" data-testid="prediction-top" data-class-id={best.classId} data-sure="true">
          Looks like <strong>{best.name}</strong> ({percent(best.score, 0)})
        </p>
      ) : (
        <p className="prediction-top not-sure" data-testid="prediction-top" data-class-id="" data-sure="false" data-best-class-id={best.classId}>
          <strong>Not sure</strong> — none of the classes reaches {percent(threshold, 0)} (closest: {best.name}, {percent(best.score, 0)})
        </p>
      )}
      <ul className="bars" aria-label="Scores per class">
        {prediction.scores.map((s) => (
          <li key={s.classId} data-testid="prediction-bar" data-class-id={s.classId} data-score={s.score}>
            <span className="top-label">{s.name}</span>
            <span className="bar" aria-hidden="true">
              <span className="bar-fill" style={{ width: `${Math.max(1, s.score * 100)}%`, background: colors[s.classId] ?? undefined }} />
            </span>
            <span className="score">{percent(s.score, 0)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
