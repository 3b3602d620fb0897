import { useMemo, useState } from 'react';
import { cancelTraining, setHeadSettings, trainProject, useSamplesByIds, useTraining, type TrainingOutcome } from '../state/training';
import { useEngine } from '../state/engine';
import { percent } from './format';
import { LineChart } from './LineChart';
import { useBlobSrc } from './useObjectUrl';
import { ReviewSettings } from './ReviewSettings';
import { FineTunePanel } from './FineTunePanel';

function Thumb({ blob, alt }: { blob: Blob | null | undefined; alt: string }) {
  const ref = useBlobSrc(blob);
  return <img ref={ref} alt={alt} className="thumb" loading="lazy" width={64} height={64} />;
}

function SampleList({ ids, outcome, label }: { ids: string[]; outcome: TrainingOutcome; label: string }) {
  const rows = useSamplesByIds(ids);
  const info = new Map(outcome.reviewed.map((r) => [r.sampleId, r]));
  if (!rows) return null;
  if (rows.length === 0) return <p className="muted">No samples here.</p>;
  return (
    <ul className="sample-list" aria-label={label} data-testid="drill-samples">
      {rows.map((s) => {
        const r = info.get(s.id);
        return (
          <li key={s.id}>
            <Thumb blob={s.thumb} alt={s.name} />
            <span className="small">
              {s.name}
              {r && (
                <>
                  <br />
                  labelled <strong>{outcome.classNames[r.trueIndex]}</strong>, predicted <strong>{outcome.classNames[r.predIndex]}</strong> ({percent(r.confidence, 0)})
                </>
              )}
            </span>
          </li>
        );
      })}
    </ul>
  );
}

function Results({ outcome }: { outcome: TrainingOutcome }) {
  const [cell, setCell] = useState<[number, number] | null>(null);
  const v = outcome.validation;
  const misclassified = useMemo(() => outcome.reviewed.filter((r) => r.trueIndex !== r.predIndex).map((r) => r.sampleId), [outcome]);
  const cellIds = useMemo(
    () => (cell ? outcome.reviewed.filter((r) => r.trueIndex === cell[0] && r.predIndex === cell[1]).map((r) => r.sampleId) : []),
    [cell, outcome],
  );
  if (!v) return <p className="muted">Trained without a validation set (too few samples to hold some back).</p>;
  return (
    <div className="results-grid">
      <p data-testid="val-accuracy" data-value={v.accuracy}>
        Validation accuracy: <strong>{percent(v.accuracy)}</strong> on {v.n} held-out samples · trained in {outcome.trainMs.toFixed(0)} ms (best epoch {outcome.bestEpoch}){outcome.nAugmented > 0 && <> · {outcome.nAugmented} augmentation embeddings added to training</>}
      </p>
      <table className="per-class">
        <caption>Per class (recall)</caption>
        <tbody>
          {outcome.classNames.map((name, i) => (
            <tr key={outcome.classIds[i]}>
              <th scope="row">{name}</th>
              <td>{v.perClass[i] === null || v.perClass[i] === undefined ? '—' : percent(v.perClass[i]!)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="confusion" data-testid="confusion">
        <caption>Confusion matrix (rows: true class, columns: predicted). Select a cell to see its samples.</caption>
        <thead>
          <tr>
            <td />
            {outcome.classNames.map((n, j) => (
              <th key={j} scope="col">
                {n}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {v.confusion.map((row, i) => (
            <tr key={i}>
              <th scope="row">{outcome.classNames[i]}</th>
              {row.map((count, j) => (
                <td key={j} className={i === j ? 'diag' : count > 0 ? 'off' : ''}>
                  <button type="button" className="cell" aria-label={`${count} samples of ${outcome.classNames[i]} predicted as ${outcome.classNames[j]}`} onClick={() => setCell([i, j])} disabled={count === 0 || outcome.reviewed.length === 0}>
                    {count}
                  </button>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {cell && <SampleList ids={cellIds} outcome={outcome} label={`Samples of ${outcome.classNames[cell[0]]} predicted as ${outcome.classNames[cell[1]]}`} />}
      {outcome.reviewed.length > 0 && (
        <section>
          <h4>Misclassified ({misclassified.length})</h4>
          <SampleList ids={misclassified} outcome={outcome} label="Misclassified validation samples" />
        </section>
      )}
    </div>
  );
}

export function TrainPanel({ projectId }: { projectId: string }) {
  const { phase, history, settings, maxEpochs, outcome, error, embedProgress, quarantined } = useTraining();
  const ready = useEngine((s) => s.status === 'ready');
  const busy = phase === 'preparing' || phase === 'training' || phase === 'embedding' || phase === 'augmenting';
  const last = history[history.length - 1];
  const num = (key: keyof typeof settings, value: string) => {
    const n = Number(value);
    if (Number.isFinite(n)) setHeadSettings({ [key]: n } as Partial<typeof settings>);
  };
  return (
    <section className="panel" aria-labelledby="train-title" data-testid="train-panel" data-phase={phase}>
      <h3 id="train-title">Train</h3>
      <details className="settings-box">
        <summary>Training settings</summary>
        <div className="form-grid">
          <label>
            Head
            <select value={settings.kind} onChange={(e) => setHeadSettings({ kind: e.target.value as 'softmax' | 'mlp' })}>
              <option value="softmax">Softmax regression (default)</option>
              <option value="mlp">One hidden layer (ReLU, dropout)</option>
            </select>
          </label>
          <label>
            Epochs <input type="number" min={1} max={2000} value={settings.epochs} onChange={(e) => num('epochs', e.target.value)} />
          </label>
          <label>
            Batch size (0 = all) <input type="number" min={0} value={settings.batchSize} onChange={(e) => num('batchSize', e.target.value)} />
          </label>
          <label>
            Learning rate <input type="number" step="0.001" min={0.00001} value={settings.learningRate} onChange={(e) => num('learningRate', e.target.value)} />
          </label>
          {settings.kind === 'mlp' && (
            <>
              <label>
                Hidden units <input type="number" min={1} max={2048} value={settings.hiddenUnits} onChange={(e) => num('hiddenUnits', e.target.value)} />
              </label>
              <label>
                Dropout <input type="number" step="0.05" min={0} max={0.9} value={settings.dropout} onChange={(e) => num('dropout', e.target.value)} />
              </label>
            </>
          )}
          <label>
            Validation share <input type="number" step="0.05" min={0} max={0.5} value={settings.validationShare} onChange={(e) => num('validationShare', e.target.value)} />
          </label>
          <label>
            Early-stopping patience (0 = off) <input type="number" min={0} value={settings.earlyStoppingPatience} onChange={(e) => num('earlyStoppingPatience', e.target.value)} />
          </label>
          <label className="check">
            <input type="checkbox" checked={settings.classWeighting} onChange={(e) => setHeadSettings({ classWeighting: e.target.checked })} /> Balance classes (class weights)
          </label>
        </div>
        <ReviewSettings projectId={projectId} outcome={outcome} />
      </details>
      <div className="row">
        <button type="button" className="button primary" data-testid="train-button" disabled={busy || !ready} onClick={() => void trainProject(projectId)}>
          {outcome ? 'Train again' : 'Train'}
        </button>
        {busy && (
          <button type="button" className="button" onClick={cancelTraining}>
            Cancel
          </button>
        )}
        <span role="status" aria-live="polite" className="muted">
          {phase === 'preparing' && 'Gathering embeddings…'}
          {phase === 'embedding' && embedProgress && `Embedding ${embedProgress.done}/${embedProgress.total} images for the current extractor…`}
          {phase === 'augmenting' && `Computing augmentation variants${embedProgress ? ` ${embedProgress.done}/${embedProgress.total} images` : ''}…`}
          {phase === 'training' && last && `Epoch ${last.epoch}/${maxEpochs} · loss ${last.loss.toFixed(3)} · accuracy ${percent(last.accuracy, 0)}${last.valAccuracy !== undefined ? ` · validation ${percent(last.valAccuracy, 0)}` : ''}`}
          {phase === 'cancelled' && 'Training cancelled.'}
          {phase === 'done' && 'Training finished.'}
        </span>
      </div>
      {phase === 'training' && <progress max={maxEpochs} value={last?.epoch ?? 0} aria-label="Training progress" />}
      {quarantined > 0 && <p className="muted">{quarantined} damaged records were set aside and not used.</p>}
      {error && (
        <p className="error-text" role="alert" data-testid="train-error">
          {error.message}
        </p>
      )}
      {history.length > 1 && (
        <div className="charts">
          <LineChart title="Loss" maxX={Math.max(history.length, 2)} series={[{ name: 'train', values: history.map((h) => h.loss), className: 's-train' }, { name: 'validation', values: history.map((h) => h.valLoss), className: 's-val' }]} />
          <LineChart title="Accuracy" yMax={1} maxX={Math.max(history.length, 2)} series={[{ name: 'train', values: history.map((h) => h.accuracy), className: 's-train' }, { name: 'validation', values: history.map((h) => h.valAccuracy), className: 's-val' }]} />
        </div>
      )}
      {outcome && phase !== 'training' && <Results outcome={outcome} />}
      <FineTunePanel projectId={projectId} />
    </section>
  );
}
