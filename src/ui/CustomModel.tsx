import { useRef, useState } from 'react';
import { addCustomModel, removeCustomModel, useCustomModels, type Preprocessing } from '../state/custom-models';
import { savePreferences, startEngine, useEngine } from '../state/engine';
import { serializeError } from '../shared/errors';

const PREPROCESSING: { value: Preprocessing; label: string }[] = [
  { value: 'unit', label: 'Pixels 0 to 1 (TF Hub image models)' },
  { value: 'signed', label: 'Pixels −1 to 1 (Inception, MobileNet)' },
  { value: 'caffe', label: 'BGR minus ImageNet mean (Caffe ResNet)' },
];

/** Settings: load a TF.js model from files the user picks; it is kept and works offline. */
export function CustomModel() {
  const specs = useCustomModels((s) => s.specs);
  const forcedBackend = useEngine((s) => s.forcedBackend);
  const loading = useEngine((s) => s.status === 'loading');
  const [preprocessing, setPreprocessing] = useState<Preprocessing>('unit');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const onFiles = async (files: File[]) => {
    if (files.length === 0) return;
    setBusy(true);
    setMessage(null);
    try {
      const spec = await addCustomModel(files, { preprocessing });
      setMessage({ error: false, text: `${spec.name} is stored on this device. Loading it…` });
      savePreferences({ extractor: spec.id });
      await startEngine({ backend: forcedBackend, extractor: spec.id });
      const now = useEngine.getState();
      setMessage(now.extractor?.id === spec.id ? { error: false, text: `${spec.name} is in use (${now.extractor.dim}-d embeddings).` } : { error: true, text: `${spec.name} is stored but could not be used: ${now.notice ?? now.error?.message ?? 'unknown error'}` });
    } catch (err) {
      setMessage({ error: true, text: serializeError(err).message });
    } finally {
      setBusy(false);
      if (input.current) input.current.value = '';
    }
  };

  return (
    <fieldset className="settings-box" data-testid="custom-model">
      <legend>Your own model</legend>
      <p className="muted small">
        A TF.js image feature model from files (model.json and its .bin weight files), e.g. TF Hub’s Inception-v3 downloaded by hand. It is checked, kept on this device and works offline.
      </p>
      <label className="small">
        Input pixels{' '}
        <select value={preprocessing} onChange={(e) => setPreprocessing(e.target.value as Preprocessing)} disabled={busy}>
          {PREPROCESSING.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
        </select>
      </label>
      <div className="row small">
        <button type="button" className="button small-button" data-testid="custom-model-pick" disabled={busy || loading} onClick={() => input.current?.click()}>
          {busy ? 'Checking…' : 'Use a model from files…'}
        </button>
        <input ref={input} type="file" multiple accept=".json,.bin,application/json,application/octet-stream" hidden data-testid="custom-model-input" onChange={(e) => void onFiles(Array.from(e.target.files ?? []))} />
      </div>
      {message && (
        <p className={`small wrap-anywhere ${message.error ? 'error-text' : ''}`} role={message.error ? 'alert' : 'status'} data-testid="custom-model-message">
          {message.text}
        </p>
      )}
      {specs.length > 0 && (
        <ul className="bars small" aria-label="Your models">
          {specs.map((s) => (
            <li key={s.id} className="row" data-testid="custom-model-item">
              <span className="wrap-anywhere">{s.name}</span>
              <button
                type="button"
                className="link-button"
                disabled={busy || loading}
                onClick={() =>
                  void removeCustomModel(s.id).then(() => {
                    // The model in use is gone: back to the saved choice (unknown now, so the default).
                    if (useEngine.getState().extractor?.id === s.id) void startEngine({ backend: forcedBackend });
                  })
                }
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}
