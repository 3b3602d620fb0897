import { useEffect, useRef, useState } from 'react';
import { grabFrame, openCamera, stopCamera } from '../capture/webcam';
import { useEngine } from '../state/engine';
import type { ClassRow } from '../state/repo';
import { followLatestHead, isTrainingBusy, predictImage, useLatestHeadId, useTraining, type Prediction } from '../state/training';
import { useInsightSettings } from '../state/insight';
import { teachFrame, useTeachLive } from '../state/teach-live';
import { DropZone } from './DropZone';
import { PredictionBars } from './PredictionBars';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The image being classified: its preview, name, and whether the model is still on it. */
interface Shown {
  url: string;
  name: string;
  /** Counts classifications, so picking the same photo again visibly starts a new one. */
  n: number;
}

/**
 * Preview: live webcam prediction (never two frames in flight) or a dropped/picked image, with a
 * bar per class. While live, a digit key or a class button adds the current frame to that class
 * and the head retrains in the background (teach-live.ts). Keyed by project: a prediction
 * belongs to the project it was made in.
 */
export function PredictPanel({ projectId, classes }: { projectId: string; classes: ClassRow[] }) {
  const loaded = useTraining((s) => s.loadedHead);
  const engineKey = useEngine((s) => s.extractor?.key ?? null);
  const { threshold } = useInsightSettings(projectId);
  const teach = useTeachLive();
  const [prediction, setPrediction] = useState<Prediction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const [fps, setFps] = useState<number | null>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  const [busy, setBusy] = useState(false);
  const video = useRef<HTMLVideoElement>(null);
  const stream = useRef<MediaStream | null>(null);
  const lastFrame = useRef<Blob | null>(null);
  const mine = loaded?.projectId === projectId;
  const colors = Object.fromEntries(classes.map((c) => [c.id, c.color]));

  // The newest head of this project (a live query: also when another tab trained it) is loaded
  // unless it already is, or this tab is training (then once it stops).
  const latestHeadId = useLatestHeadId(projectId, engineKey);
  const training = useTraining((s) => s.projectId === projectId && isTrainingBusy(s.phase));
  useEffect(() => {
    if (engineKey && latestHeadId !== undefined && !training) {
      void followLatestHead(projectId, latestHeadId).catch(() => undefined);
    }
  }, [projectId, engineKey, latestHeadId, training]);
  useEffect(() => () => {
    if (shown) URL.revokeObjectURL(shown.url);
  }, [shown]);

  useEffect(() => {
    if (!live) return;
    let stopped = false;
    const times: number[] = [];
    void (async () => {
      try {
        stream.current = await openCamera();
        if (video.current) {
          video.current.srcObject = stream.current;
          await video.current.play().catch(() => undefined);
        }
        while (!stopped) {
          if (!video.current || video.current.readyState < 2) {
            await new Promise((r) => setTimeout(r, 50));
            continue;
          }
          const frame = await grabFrame(video.current);
          const p = await predictImage(frame, 'webcam frame');
          if (stopped) break;
          lastFrame.current = frame;
          setPrediction(p);
          const now = performance.now();
          times.push(now);
          while (times.length > 10) times.shift();
          if (times.length > 1) setFps(((times.length - 1) * 1000) / (now - times[0]!));
        }
      } catch (err) {
        if (!stopped) setError(message(err));
        setLive(false);
      }
    })();
    return () => {
      stopped = true;
      lastFrame.current = null;
      stopCamera(stream.current);
      stream.current = null;
    };
  }, [live]);

  const teachAs = (c: ClassRow) => {
    const frame = lastFrame.current;
    if (!frame) return;
    void teachFrame(projectId, c.id, c.name, frame);
  };

  // Digits 1-9 teach the current frame as class N, unless the user is typing somewhere.
  useEffect(() => {
    if (!live) return;
    const onKey = (e: KeyboardEvent) => {
      // defaultPrevented: a review list (or another widget) already used the key.
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || !/^[1-9]$/.test(e.key)) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
      const c = classes[Number(e.key) - 1];
      if (!c) return;
      e.preventDefault();
      const frame = lastFrame.current;
      if (frame) void teachFrame(projectId, c.id, c.name, frame);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [live, classes, projectId]);

  const classify = async (files: File[]) => {
    const file = files[0]!;
    setError(null);
    setLive(false);
    setShown((s) => ({ url: URL.createObjectURL(file), name: file.name || 'pasted image', n: (s?.n ?? 0) + 1 }));
    setBusy(true);
    setPrediction(null);
    try {
      setPrediction(await predictImage(file, file.name));
    } catch (err) {
      setError(`${file.name || 'The image'} could not be classified: ${message(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="preview-title" data-testid="predict-panel" data-head-id={mine ? loaded.headId : ''}>
      <h2 id="preview-title" className="column-title" tabIndex={-1}>
        <span className="step">3</span> Preview
      </h2>
      {!mine ? (
        <p className="muted">Train the model, then drop an image here or start the webcam to see live predictions.</p>
      ) : (
        <div className="teach-live">
          <div className="row">
            <button type="button" className="button primary" aria-pressed={live} onClick={() => {
                setShown(null);
                setLive((l) => !l);
              }} data-testid="live-toggle">
              {live ? 'Stop live prediction' : 'Live webcam prediction'}
            </button>
            {live && fps !== null && <span className="muted small" data-testid="fps">{fps.toFixed(1)} frames/s</span>}
          </div>
          {live && <video ref={video} className="camera-video mirrored" autoPlay playsInline muted aria-label="Webcam preview (mirrored)" />}
          {live && (
            <div role="group" aria-labelledby="teach-live-title" data-testid="teach-live">
              <p id="teach-live-title" className="hint">
                Wrong? Add this frame to the right class (key 1–{Math.min(9, classes.length)} or tap); the model retrains in the background.
              </p>
              <div className="teach-live-buttons">
                {classes.map((c, i) => (
                  <button key={c.id} type="button" className="button small" style={{ borderLeftColor: c.color }} data-testid="teach-live-class" data-class-id={c.id} onClick={() => teachAs(c)} aria-keyshortcuts={i < 9 ? String(i + 1) : undefined}>
                    {i < 9 && <kbd>{i + 1}</kbd>} It is {c.name}
                  </button>
                ))}
              </div>
              <p className="small" role="status" aria-live="polite" data-testid="teach-live-status" data-status={teach.status} data-added={teach.added}>
                {teach.status === 'saving' && `Adding the frame to “${teach.lastClassName}”…`}
                {teach.status === 'training' && `Added to “${teach.lastClassName}”; retraining…`}
                {teach.status === 'done' && `Added to “${teach.lastClassName}”; the preview uses the retrained model.`}
                {teach.status === 'error' && <span className="error-text">{teach.message}</span>}
              </p>
            </div>
          )}
          {!live && (
            <DropZone label="Classify an image…" multiple={false} onFiles={(f) => void classify(f)} testId="predict-drop" ariaLabel="Classify an image">
              Drop an image to classify it
            </DropZone>
          )}
          {!live && shown && (
            <figure className={busy ? 'preview-busy' : ''} data-testid="predict-image" data-n={shown.n} aria-busy={busy}>
              <img src={shown.url} alt={`Image being classified: ${shown.name}`} className="preview-image" />
              <figcaption className="small">
                {shown.name} {busy ? '· classifying…' : ''}
              </figcaption>
            </figure>
          )}
          <div aria-live="polite">{prediction ? <PredictionBars prediction={prediction} colors={colors} threshold={threshold} /> : !busy && <p className="muted">No prediction yet.</p>}</div>
        </div>
      )}
      {error && (
        <p className="error-text" role="alert" data-testid="predict-error">
          {error}
        </p>
      )}
    </section>
  );
}
