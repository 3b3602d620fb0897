import { cancelTraining, LARGE_SET_PATIENCE, LARGE_SET_ROWS, setHeadSettings, trainProject, useTraining } from '../state/training';
import { useClassCounts, useClasses } from '../state/classes';
import { useEngine } from '../state/engine';
import { percent } from './format';
import { LineChart } from './LineChart';
import { ReviewSettings } from './ReviewSettings';
import { FineTunePanel } from './FineTunePanel';
import { TrainResults } from './TrainResults';

/** Train: one button, its progress, the curves and the results; the knobs one click away. */

export function TrainPanel({ projectId }: { projectId: string }) {
  const t = useTraining();
  const { settings, maxEpochs, embedProgress, quarantined, subsampled } = t;
  // Phase, curves and results are shown only for the project they belong to.
  const mine = t.projectId === projectId;
  const phase = mine ? t.phase : 'idle';
  const history = mine ? t.history : [];
  const outcome = mine ? t.outcome : null;
  const error = mine ? t.error : null;
  const classes = useClasses(projectId) ?? [];
  const counts = useClassCounts(projectId) ?? {};
  const filled = classes.filter((c) => (counts[c.id] ?? 0) > 0);
  const images = filled.reduce((n, c) => n + (counts[c.id] ?? 0), 0);
  const ready = useEngine((s) => s.status === 'ready');
  const busy = phase === 'waiting' || phase === 'preparing' || phase === 'training' || phase === 'embedding' || phase === 'augmenting';
  const last = history[history.length - 1];
  const num = (key: keyof typeof settings, value: string) => {
    const n = Number(value);
    if (Number.isFinite(n)) setHeadSettings({ [key]: n } as Partial<typeof settings>);
  };
  return (
    <section className="panel" aria-labelledby="train-title" data-testid="train-panel" data-phase={phase}>
      <h2 id="train-title" className="column-title" tabIndex={-1}>
        <span className="step">2</span> Train
      </h2>
      <div className="row">
        <button type="button" className="button primary" data-testid="train-button" disabled={busy || !ready} onClick={() => void trainProject(projectId)}>
          {outcome ? 'Train again' : 'Train'}
        </button>
        {busy && (
          <button type="button" className="button" onClick={cancelTraining}>
            Cancel
          </button>
        )}
      </div>
      <p role="status" aria-live="polite" className="muted small train-status">
        {phase === 'waiting' && (
          <span data-testid="train-waiting">Another tab is training this project. Training starts here as soon as it finishes (or press Cancel).</span>
        )}
        {phase === 'preparing' && 'Gathering embeddings…'}
        {phase === 'embedding' && embedProgress && `Embedding ${embedProgress.done}/${embedProgress.total} images for the current extractor…`}
        {phase === 'augmenting' && `Computing augmentation variants${embedProgress ? ` ${embedProgress.done}/${embedProgress.total} images` : ''}…`}
        {phase === 'training' && last && `Epoch ${last.epoch}/${maxEpochs} · loss ${last.loss.toFixed(3)} · accuracy ${percent(last.accuracy, 0)}${last.valAccuracy !== undefined ? ` · validation ${percent(last.valAccuracy, 0)}` : ''}`}
        {phase === 'cancelled' && 'Training cancelled.'}
        {phase === 'done' && 'Training finished.'}
        {phase === 'idle' && !outcome && (!ready ? 'Training starts once the model is loaded.' : filled.length >= 2 ? `Ready to train on ${images} images in ${filled.length} classes.` : 'Add images to at least two classes, then train.')}
      </p>
      {phase === 'training' && <progress max={maxEpochs} value={last?.epoch ?? 0} aria-label="Training progress" />}
      <details className="settings-box" data-testid="train-settings">
        <summary>Training settings</summary>
        <div className="form-grid" role="group" aria-label="Training settings">
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
        <FineTunePanel projectId={projectId} />
      </details>
      {quarantined > 0 && <p className="muted">{quarantined} damaged records were set aside and not used.</p>}
      {subsampled && mine && (
        <p className="muted" data-testid="train-subsample">
          Trained on a class-balanced sample of {subsampled.used.toLocaleString('en')} of {subsampled.of.toLocaleString('en')} images.
        </p>
      )}
      {outcome && phase !== 'training' && outcome.nTrain + outcome.reviewed.length > LARGE_SET_ROWS && (
        <p className="muted" data-testid="train-large">
          Large project: {outcome.reviewed.length.toLocaleString('en')} images were held out to validate, and the head kept is
          the iteration with the best validation loss (training stops {LARGE_SET_PATIENCE} iterations after it).
        </p>
      )}
      {error && (
        <p className="error-text" role="alert" data-testid="train-error">
          {error.message}
        </p>
      )}
      {history.length > 1 && (
        <div className="charts" data-testid="train-charts">
          <LineChart title="Loss" yLabel="loss (nats)" testId="chart-loss" series={[{ name: 'train', values: history.map((h) => h.loss), colour: 1 }, { name: 'validation', values: history.map((h) => h.valLoss), colour: 2 }]} />
          <LineChart title="Accuracy" yLabel="accuracy (%)" percent testId="chart-accuracy" series={[{ name: 'train', values: history.map((h) => h.accuracy), colour: 1 }, { name: 'validation', values: history.map((h) => h.valAccuracy), colour: 2 }]} />
        </div>
      )}
      {outcome && phase !== 'training' && <TrainResults key={outcome.headId} outcome={outcome} classes={classes} />}
    </section>
  );
}
