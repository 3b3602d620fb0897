import { useMemo, useState } from 'react';
import { openExportTools } from '../state/export';
import type { ClassRow } from '../state/repo';
import type { TrainingOutcome } from '../state/training';
import { percent } from './format';
import { ReviewList, type ReviewRowData } from './ReviewList';

/** Above this many classes the matrix (n² buttons) gives way to a list of its largest off-diagonal cells. */
const MATRIX_MAX_CLASSES = 20;
const PAIRS_SHOWN = 40;

/** The largest off-diagonal cells, [true, predicted, count], largest first (ties in row order). */
function topConfusions(confusion: readonly (readonly number[])[], limit: number): [number, number, number][] {
  const cells: [number, number, number][] = [];
  confusion.forEach((row, i) => row.forEach((count, j) => {
    if (i !== j && count > 0) cells.push([i, j, count]);
  }));
  return cells.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]).slice(0, limit);
}

/** Validation accuracy, recall per class, the confusion matrix (cells open their samples) and
 * the misclassified validation samples, which can be relabelled or deleted from the keyboard. */
export function TrainResults({ outcome, classes }: { outcome: TrainingOutcome; classes: ClassRow[] }) {
  const [cell, setCell] = useState<[number, number] | null>(null);
  const [done, setDone] = useState<ReadonlySet<string>>(new Set());
  const v = outcome.validation;
  const rowsOf = (pick: (r: TrainingOutcome['reviewed'][number]) => boolean): ReviewRowData[] =>
    outcome.reviewed
      .filter((r) => pick(r) && !done.has(r.sampleId))
      .map((r) => ({
        sampleId: r.sampleId,
        labelledId: outcome.classIds[r.trueIndex] ?? null,
        predictedId: outcome.classIds[r.predIndex] ?? null,
        confidence: r.confidence,
      }));
  const misclassified = useMemo(() => rowsOf((r) => r.trueIndex !== r.predIndex), [outcome, done]); // eslint-disable-line react-hooks/exhaustive-deps
  const cellRows = cell ? rowsOf((r) => r.trueIndex === cell[0] && r.predIndex === cell[1]) : [];
  const markDone = (id: string) => setDone((d) => new Set(d).add(id));
  const drillable = outcome.reviewed.length > 0;
  /** A count of the matrix (or of the list of confusions): selecting it opens its samples. */
  const cellButton = (i: number, j: number, count: number) => (
    <button
      type="button"
      className="cell"
      aria-label={`${count} samples of ${outcome.classNames[i]} predicted as ${outcome.classNames[j]}`}
      aria-pressed={cell?.[0] === i && cell[1] === j}
      data-testid="confusion-cell"
      onClick={() => setCell(cell?.[0] === i && cell[1] === j ? null : [i, j])}
      disabled={count === 0 || !drillable}
    >
      {count}
    </button>
  );

  if (!v) return <p className="muted">Trained without a validation set (too few samples to hold some back).</p>;
  return (
    <div className="results-grid">
      <p data-testid="val-accuracy" data-value={v.accuracy}>
        Validation accuracy: <strong>{percent(v.accuracy)}</strong> on {v.n} held-out samples · trained in {outcome.trainMs.toFixed(0)} ms (best epoch {outcome.bestEpoch}){outcome.nAugmented > 0 && <> · {outcome.nAugmented} augmentation embeddings added to training</>}
      </p>
      <p className="small">
        <button type="button" className="link-button" data-testid="export-nudge" onClick={openExportTools}>
          Export this model…
        </button>{' '}
        to use it in another web page or in Node, without Glimpse.
      </p>
      {/* Focusable scroll regions: long class names may make a table scroll sideways. */}
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Recall per class">
        <table className="per-class">
          <caption>Recall per class (share of its validation samples recognised)</caption>
          <tbody>
            {outcome.classNames.map((name, i) => (
              <tr key={outcome.classIds[i]}>
                <th scope="row">{name}</th>
                <td>{v.perClass[i] === null || v.perClass[i] === undefined ? '—' : percent(v.perClass[i]!)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {outcome.classNames.length > MATRIX_MAX_CLASSES ? (
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Most frequent confusions">
          <table className="per-class" data-testid="confusion-pairs" data-drillable={drillable}>
            <caption>
              Most frequent confusions (the full {outcome.classNames.length} × {outcome.classNames.length} matrix is not drawn above {MATRIX_MAX_CLASSES} classes).{' '}
              {drillable ? 'Select a count to see its samples.' : 'Train again to see the samples behind each count.'}
            </caption>
            <thead>
              <tr>
                <th scope="col">True class</th>
                <th scope="col">Predicted as</th>
                <th scope="col">Samples</th>
              </tr>
            </thead>
            <tbody>
              {topConfusions(v.confusion, PAIRS_SHOWN).map(([i, j, count]) => (
                <tr key={`${i}-${j}`}>
                  <th scope="row">{outcome.classNames[i]}</th>
                  <td>{outcome.classNames[j]}</td>
                  <td>
                    {cellButton(i, j, count)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Confusion matrix">
          <table className="confusion" data-testid="confusion" data-drillable={drillable}>
            <caption>
              Confusion matrix (rows: true class, columns: predicted).{' '}
              {drillable ? 'Select a cell to see its samples.' : 'Train again to see the samples behind each cell.'}
            </caption>
            <thead>
              <tr>
                <td />
                {outcome.classNames.map((n, j) => (
                  <th key={j} scope="col" title={n}>
                    {n}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {v.confusion.map((row, i) => (
                <tr key={i}>
                  <th scope="row" title={outcome.classNames[i]}>{outcome.classNames[i]}</th>
                  {row.map((count, j) => (
                    <td key={j} className={i === j ? 'diag' : count > 0 ? 'off' : ''}>
                      {cellButton(i, j, count)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cell && (
        <section aria-label={`Samples of ${outcome.classNames[cell[0]]} predicted as ${outcome.classNames[cell[1]]}`}>
          <h3>
            {outcome.classNames[cell[0]]} predicted as {outcome.classNames[cell[1]]}
          </h3>
          <ReviewList label={`Samples of ${outcome.classNames[cell[0]]} predicted as ${outcome.classNames[cell[1]]}`} rows={cellRows} classes={classes} onDone={markDone} onEscape={() => setCell(null)} testId="drill-samples" itemTestId="drill-item" />
        </section>
      )}
      {drillable && (
        <section aria-labelledby="misclassified-title">
          <h3 id="misclassified-title">Misclassified ({misclassified.length})</h3>
          <ReviewList label="Misclassified validation samples" rows={misclassified} classes={classes} onDone={markDone} testId="misclassified" itemTestId="misclassified-item" />
        </section>
      )}
    </div>
  );
}
