import { useEffect } from 'react';
import { prepareLabeller, useEngine, whatIsThis } from '../state/engine';
import { Camera } from './Camera';
import { DropZone } from './DropZone';
import { percent, prettyLabel } from './format';

/** "What is this?": the extractor's own ImageNet classifier on a dropped, picked or pasted image. */
export function WhatIsThis({ active = true }: { active?: boolean }) {
  const { status, results, busy, extractor } = useEngine();
  const ready = status === 'ready';

  useEffect(() => {
    if (active && ready) prepareLabeller();
  }, [active, ready]);

  useEffect(() => {
    if (!active) return;
    const onPaste = (e: ClipboardEvent) => {
      const file = Array.from(e.clipboardData?.files ?? []).find((f) =>
        f.type.startsWith('image/'),
      );
      if (file) void whatIsThis(file);
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [active]);

  return (
    <section className="panel" aria-labelledby="what-title">
      <h2 id="what-title">What is this?</h2>
      <p className="muted">
        Drop, pick or paste a photo — or point the webcam — to see what the network recognises.
        Nothing leaves your device.
      </p>
      {extractor && !extractor.hasClassifier && (
        <p className="muted small" data-testid="labeller-note">
          Names come from the bundled ResNet-50 (1,000 ImageNet classes). It loads when this view is
          first opened; teaching never waits for it.
        </p>
      )}
      <div className="two-col">
        <DropZone
          label="Choose an image…"
          multiple={false}
          onFiles={(f) => void whatIsThis(f[0]!)}
          testId="what-drop"
          disabled={!ready}
        >
          {ready ? 'Drop an image here' : 'Waiting for the model…'}
        </DropZone>
        <Camera onFrame={(f) => whatIsThis(f)} captureLabel="What is this?" />
      </div>
      {busy && (
        <p role="status" className="muted">
          Looking…
        </p>
      )}
      <ol className="results" aria-live="polite" data-testid="what-results">
        {results.map((r) => (
          <li key={r.id} className="result" data-testid="what-result">
            <img src={r.previewUrl} alt={`Your image ${r.name}`} className="result-img" />
            <div className="result-body">
              <div className="muted small">
                {r.name} · {r.ms.toFixed(0)} ms
              </div>
              <ol className="top5">
                {r.top.map((c) => (
                  <li key={c.index} data-testid="top-label" data-index={c.index}>
                    <span className="top-label">{prettyLabel(c.label)}</span>
                    <span className="bar" aria-hidden="true">
                      <span
                        className="bar-fill"
                        style={{ width: `${Math.max(1, c.score * 100)}%` }}
                      />
                    </span>
                    <span className="score">{percent(c.score)}</span>
                  </li>
                ))}
              </ol>
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}
