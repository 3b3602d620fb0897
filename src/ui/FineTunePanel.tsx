// "Fine-tune the network": the optional second stage after the head, with per-epoch progress,
// cancel, and what the project's fine-tuned model scored. Graph-model extractors say plainly that
// they cannot be fine-tuned.
import { useEngine } from '../state/engine';
import { canKeepAnyway, cancelFineTune, discardFineTune, fineTuneProject, fineTuneSupport, keepFineTunedAnyway, setFineTuneEpochs, useFineTune } from '../state/finetune';
import { useTraining } from '../state/training';
import { percent } from './format';
import { LineChart } from './LineChart';

/** Validation accuracy as shown: one decimal, so that a change of one image in a few hundred shows. */
function accuracyText(a: number | null): string {
  return a === null ? 'n/a (no validation samples)' : percent(a, 1);
}

export function FineTunePanel({ projectId }: { projectId: string }) {
  const { phase, projectId: runningFor, progress, history, epochs, error, active, outcome } = useFineTune();
  const extractor = useEngine((s) => s.extractor);
  const ready = useEngine((s) => s.status === 'ready');
  const loaded = useTraining((s) => s.loadedHead);
  const training = useTraining((s) => s.phase === 'waiting' || s.phase === 'preparing' || s.phase === 'training' || s.phase === 'embedding' || s.phase === 'augmenting');
  const support = fineTuneSupport(extractor?.id);
  const mine = runningFor === projectId;
  const busy = mine && (phase === 'waiting' || phase === 'preparing' || phase === 'activations' || phase === 'training' || phase === 'saving');
  const tuned = active && active.projectId === projectId && loaded?.projectId === projectId && active.headId === loaded.headId ? active : null;
  const last = history[history.length - 1];
  const shown = busy || (mine && history.length > 0) ? history : (tuned?.history ?? []);
  return (
    <section className="settings-box" aria-labelledby="finetune-title" data-testid="finetune-panel" data-phase={mine ? phase : 'idle'} data-tuned={tuned ? 'yes' : 'no'}>
      <h4 id="finetune-title">Fine-tune the network</h4>
      {!support.ok ? (
        <p className="muted" data-testid="finetune-unsupported">
          {support.reason}
        </p>
      ) : (
        <>
          <p className="muted small">
            Optional second stage: {support.reason} It trains at a low learning rate with early stopping on the validation samples, on at most a few hundred
            images (their activations are kept in memory), and keeps the fine-tuned network only if it beats the head alone on them. Slow without a GPU:
            minutes per epoch.
          </p>
          <div className="row">
            <label>
              Epochs <input type="number" min={1} max={50} value={epochs} disabled={busy} onChange={(e) => setFineTuneEpochs(Number(e.target.value))} data-testid="finetune-epochs" />
            </label>
            <button
              type="button"
              className="button"
              data-testid="finetune-button"
              disabled={busy || training || !ready || !loaded || loaded.projectId !== projectId}
              title={!loaded || loaded.projectId !== projectId ? 'Train the head first' : undefined}
              onClick={() => void fineTuneProject(projectId)}
            >
              {tuned ? 'Fine-tune again' : 'Fine-tune the network'}
            </button>
            {busy && (
              <button type="button" className="button" onClick={cancelFineTune} data-testid="finetune-cancel">
                Cancel
              </button>
            )}
            {tuned && !busy && (
              <button type="button" className="button" onClick={() => void discardFineTune(projectId)}>
                Use the head alone
              </button>
            )}
            <span role="status" aria-live="polite" className="muted" data-testid="finetune-status">
              {mine && phase === 'waiting' && <span data-testid="finetune-waiting">Another tab is training this project. Fine-tuning starts here as soon as it finishes (or press Cancel).</span>}
              {mine && phase === 'preparing' && 'Fitting the starting head…'}
              {mine && phase === 'activations' && progress && `Running ${progress.done}/${progress.total} images through the frozen layers…`}
              {mine && phase === 'training' && (last ? `Epoch ${last.epoch}/${epochs} · loss ${last.loss.toFixed(3)}${last.valAccuracy !== undefined ? ` · validation ${percent(last.valAccuracy, 0)}` : ''}` : `Epoch 1/${epochs}…`)}
              {mine && phase === 'saving' && 'Saving the fine-tuned model…'}
              {mine && phase === 'cancelled' && 'Fine-tuning cancelled; predictions use the head alone.'}
              {mine && phase === 'done' && 'Fine-tuning finished.'}
            </span>
          </div>
          {busy && (
            <p className="small" data-testid="finetune-wait">
              While fine-tuning runs, predictions and imports wait until it ends (or you cancel it).
            </p>
          )}
          {busy && progress && <progress max={progress.total} value={progress.done} aria-label="Fine-tuning progress" />}
          {mine && error && (
            <p className="error-text" role="alert" data-testid="finetune-error">
              {error.message}
            </p>
          )}
          {shown.length > 1 && (
            <div className="charts">
              <LineChart title="Fine-tuning loss" yLabel="loss (nats)" series={[{ name: 'train', values: shown.map((h) => h.loss), colour: 1 }, { name: 'validation', values: shown.map((h) => h.valLoss), colour: 2 }]} />
            </div>
          )}
          {shown.length > 0 && (
            <ol className="small" data-testid="finetune-epochs-list" aria-label="Fine-tuning epochs">
              {shown.map((h) => (
                <li key={h.epoch}>
                  epoch {h.epoch}: loss {h.loss.toFixed(3)}
                  {h.valLoss !== undefined && ` · validation loss ${h.valLoss.toFixed(3)}`}
                  {h.valAccuracy !== undefined && ` · validation accuracy ${percent(h.valAccuracy, 1)}`}
                </li>
              ))}
            </ol>
          )}
          {mine && phase === 'done' && outcome && outcome.projectId === projectId && (
            <p data-testid="finetune-outcome" data-kept={outcome.kept} data-before={outcome.before ?? ''} data-after={outcome.after ?? ''}>
              {outcome.kept === 'fine-tuned' ? (
                <>
                  Validation accuracy: <span data-testid="finetune-before">{accuracyText(outcome.before)}</span> with the head alone,{' '}
                  <span data-testid="finetune-after">{accuracyText(outcome.after)}</span> fine-tuned (epoch {outcome.bestEpoch} of {outcome.epochs}).{' '}
                  <strong>Kept: the fine-tuned network{outcome.byUser ? ' (your choice: it did not beat the head alone)' : ''}.</strong>
                </>
              ) : (
                <>
                  Fine-tuning did not help: validation accuracy <span data-testid="finetune-before">{accuracyText(outcome.before)}</span> with the head alone,{' '}
                  <span data-testid="finetune-after">{accuracyText(outcome.after)}</span> at best fine-tuned (epoch {outcome.bestEpoch} of {outcome.epochs}).{' '}
                  <strong>Kept: {outcome.stillTuned ? 'the fine-tuned network from before' : 'the head alone'}</strong>; nothing new was saved.{' '}
                  {canKeepAnyway(projectId, loaded?.headId) && (
                    <button type="button" className="button" onClick={() => void keepFineTunedAnyway(projectId)} data-testid="finetune-keep-anyway">
                      Use the fine-tuned network anyway
                    </button>
                  )}
                </>
              )}
            </p>
          )}
          {tuned && (
            <p data-testid="finetune-result" data-after={tuned.after ?? ''}>
              Predictions use this project’s fine-tuned network (from {tuned.fromLayer}): validation accuracy {accuracyText(tuned.before)} with the head alone,{' '}
              <strong>{accuracyText(tuned.after)}</strong> fine-tuned (best epoch {tuned.bestEpoch} of {tuned.epochs}; {tuned.nTrain} training and {tuned.nValidation} validation images).
            </p>
          )}
        </>
      )}
    </section>
  );
}
